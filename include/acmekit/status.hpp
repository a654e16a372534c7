// Status codes shared by the C++ core and the C ABI.
//
// The numbers are part of the ABI: capi/acmekit.h declares the same values
// and a compile-time check keeps the two lists equal. New codes are only
// ever appended; a code is never renumbered or reused.
#pragma once

namespace acme {

enum class status : int {
    ok = 0,

    // Caller and local failures.
    invalid_argument = 1,
    out_of_memory = 2,
    io_error = 3,
    crypto_error = 4,
    unsupported = 5,
    internal_error = 6,

    // Reaching the server.
    connect_failed = 20,
    tls_verify_failed = 21,
    tls_failed = 22,
    http_error = 23,
    bad_response = 24,
    timeout = 25,

    // Outcomes of the protocol that are not server problem documents.
    order_invalid = 40,
    authorization_invalid = 41,
    no_supported_challenge = 42,
    solver_failed = 43,
    nonce_retries_exhausted = 44,
    cancelled = 45,
    /// A new account needs the CA's terms of service agreed to first.
    terms_not_agreed = 46,

    // ACME problem types (RFC 8555 section 6.7), one code each.
    server_account_does_not_exist = 100,
    server_already_revoked = 101,
    server_bad_csr = 102,
    server_bad_nonce = 103,
    server_bad_public_key = 104,
    server_bad_revocation_reason = 105,
    server_bad_signature_algorithm = 106,
    server_caa = 107,
    server_compound = 108,
    server_connection = 109,
    server_dns = 110,
    server_external_account_required = 111,
    server_incorrect_response = 112,
    server_invalid_contact = 113,
    server_malformed = 114,
    server_order_not_ready = 115,
    server_rate_limited = 116,
    server_rejected_identifier = 117,
    server_internal = 118,
    server_tls = 119,
    server_unauthorized = 120,
    server_unsupported_contact = 121,
    server_unsupported_identifier = 122,
    server_user_action_required = 123,
    server_other = 124,
};

/// A static, never-null English description of a status code.
const char* status_string(status code) noexcept;

} // namespace acme
