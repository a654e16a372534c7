// Compile-time proof that the C and C++ status lists agree, value by
// value. Included only by the C ABI implementation.
#pragma once

#include <acmekit/status.hpp>

#define ACMEKIT_SAME_STATUS(c_name, cpp_name)                                  \
    static_assert(static_cast<int>(c_name) ==                                  \
                      static_cast<int>(acme::status::cpp_name),                \
                  #c_name " differs from acme::status::" #cpp_name)

ACMEKIT_SAME_STATUS(ACME_OK, ok);
ACMEKIT_SAME_STATUS(ACME_E_INVALID_ARGUMENT, invalid_argument);
ACMEKIT_SAME_STATUS(ACME_E_OUT_OF_MEMORY, out_of_memory);
ACMEKIT_SAME_STATUS(ACME_E_IO, io_error);
ACMEKIT_SAME_STATUS(ACME_E_CRYPTO, crypto_error);
ACMEKIT_SAME_STATUS(ACME_E_UNSUPPORTED, unsupported);
ACMEKIT_SAME_STATUS(ACME_E_INTERNAL, internal_error);
ACMEKIT_SAME_STATUS(ACME_E_CONNECT, connect_failed);
ACMEKIT_SAME_STATUS(ACME_E_TLS_VERIFY, tls_verify_failed);
ACMEKIT_SAME_STATUS(ACME_E_TLS, tls_failed);
ACMEKIT_SAME_STATUS(ACME_E_HTTP, http_error);
ACMEKIT_SAME_STATUS(ACME_E_BAD_RESPONSE, bad_response);
ACMEKIT_SAME_STATUS(ACME_E_TIMEOUT, timeout);
ACMEKIT_SAME_STATUS(ACME_E_ORDER_INVALID, order_invalid);
ACMEKIT_SAME_STATUS(ACME_E_AUTHORIZATION_INVALID, authorization_invalid);
ACMEKIT_SAME_STATUS(ACME_E_NO_SUPPORTED_CHALLENGE, no_supported_challenge);
ACMEKIT_SAME_STATUS(ACME_E_SOLVER, solver_failed);
ACMEKIT_SAME_STATUS(ACME_E_NONCE_RETRIES, nonce_retries_exhausted);
ACMEKIT_SAME_STATUS(ACME_E_CANCELLED, cancelled);
ACMEKIT_SAME_STATUS(ACME_E_TERMS_NOT_AGREED, terms_not_agreed);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_ACCOUNT_DOES_NOT_EXIST,
                    server_account_does_not_exist);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_ALREADY_REVOKED, server_already_revoked);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_BAD_CSR, server_bad_csr);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_BAD_NONCE, server_bad_nonce);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_BAD_PUBLIC_KEY, server_bad_public_key);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_BAD_REVOCATION_REASON,
                    server_bad_revocation_reason);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_BAD_SIGNATURE_ALGORITHM,
                    server_bad_signature_algorithm);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_CAA, server_caa);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_COMPOUND, server_compound);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_CONNECTION, server_connection);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_DNS, server_dns);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_EXTERNAL_ACCOUNT_REQUIRED,
                    server_external_account_required);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_INCORRECT_RESPONSE,
                    server_incorrect_response);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_INVALID_CONTACT, server_invalid_contact);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_MALFORMED, server_malformed);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_ORDER_NOT_READY, server_order_not_ready);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_RATE_LIMITED, server_rate_limited);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_REJECTED_IDENTIFIER,
                    server_rejected_identifier);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_INTERNAL, server_internal);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_TLS, server_tls);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_UNAUTHORIZED, server_unauthorized);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_UNSUPPORTED_CONTACT,
                    server_unsupported_contact);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_UNSUPPORTED_IDENTIFIER,
                    server_unsupported_identifier);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_USER_ACTION_REQUIRED,
                    server_user_action_required);
ACMEKIT_SAME_STATUS(ACME_E_SERVER_OTHER, server_other);

#undef ACMEKIT_SAME_STATUS
