#include <acmekit/status.hpp>

namespace acme {

const char* status_string(status code) noexcept
{
    switch (code) {
    case status::ok: return "success";
    case status::invalid_argument: return "invalid argument";
    case status::out_of_memory: return "out of memory";
    case status::io_error: return "input/output error";
    case status::crypto_error: return "cryptographic operation failed";
    case status::unsupported: return "not supported";
    case status::internal_error: return "internal error";
    case status::connect_failed: return "could not connect to the server";
    case status::tls_verify_failed:
        return "server certificate verification failed";
    case status::tls_failed: return "TLS handshake failed";
    case status::http_error: return "unexpected HTTP status";
    case status::bad_response: return "malformed response from the server";
    case status::timeout: return "timed out";
    case status::order_invalid: return "order became invalid";
    case status::authorization_invalid: return "authorization failed";
    case status::no_supported_challenge:
        return "no challenge of a supported type offered";
    case status::solver_failed: return "challenge solver failed";
    case status::nonce_retries_exhausted: return "server kept rejecting nonces";
    case status::cancelled: return "cancelled";
    case status::terms_not_agreed:
        return "the CA's terms of service were not agreed to";
    case status::server_account_does_not_exist: return "account does not exist";
    case status::server_already_revoked: return "certificate already revoked";
    case status::server_bad_csr: return "CSR refused by the server";
    case status::server_bad_nonce: return "nonce refused by the server";
    case status::server_bad_public_key:
        return "public key refused by the server";
    case status::server_bad_revocation_reason:
        return "revocation reason refused";
    case status::server_bad_signature_algorithm:
        return "signature algorithm refused";
    case status::server_caa: return "CAA records forbid issuance";
    case status::server_compound: return "several problems";
    case status::server_connection:
        return "server could not connect for validation";
    case status::server_dns: return "DNS problem during validation";
    case status::server_external_account_required:
        return "external account binding required";
    case status::server_incorrect_response:
        return "challenge response did not match";
    case status::server_invalid_contact: return "contact URL refused";
    case status::server_malformed: return "request malformed";
    case status::server_order_not_ready: return "order not ready";
    case status::server_rate_limited: return "rate limited";
    case status::server_rejected_identifier:
        return "server will not issue for this identifier";
    case status::server_internal: return "server internal error";
    case status::server_tls: return "TLS problem during validation";
    case status::server_unauthorized: return "unauthorized";
    case status::server_unsupported_contact:
        return "contact URL scheme not supported";
    case status::server_unsupported_identifier:
        return "identifier type not supported";
    case status::server_user_action_required: return "user action required";
    case status::server_other: return "server problem";
    }
    return "unknown status";
}

} // namespace acme
