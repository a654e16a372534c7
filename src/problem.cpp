#include <acmekit/problem.hpp>

#include <string_view>

namespace acme {

namespace {

constexpr std::string_view acme_urn = "urn:ietf:params:acme:error:";

struct type_entry {
    std::string_view name;
    status code;
};

// RFC 8555 section 6.7, table of error types.
constexpr type_entry problem_types[] = {
    {"accountDoesNotExist", status::server_account_does_not_exist},
    {"alreadyRevoked", status::server_already_revoked},
    {"badCSR", status::server_bad_csr},
    {"badNonce", status::server_bad_nonce},
    {"badPublicKey", status::server_bad_public_key},
    {"badRevocationReason", status::server_bad_revocation_reason},
    {"badSignatureAlgorithm", status::server_bad_signature_algorithm},
    {"caa", status::server_caa},
    {"compound", status::server_compound},
    {"connection", status::server_connection},
    {"dns", status::server_dns},
    {"externalAccountRequired", status::server_external_account_required},
    {"incorrectResponse", status::server_incorrect_response},
    {"invalidContact", status::server_invalid_contact},
    {"malformed", status::server_malformed},
    {"orderNotReady", status::server_order_not_ready},
    {"rateLimited", status::server_rate_limited},
    {"rejectedIdentifier", status::server_rejected_identifier},
    {"serverInternal", status::server_internal},
    {"tls", status::server_tls},
    {"unauthorized", status::server_unauthorized},
    {"unsupportedContact", status::server_unsupported_contact},
    {"unsupportedIdentifier", status::server_unsupported_identifier},
    {"userActionRequired", status::server_user_action_required},
};

} // namespace

std::string problem::short_type() const
{
    std::string_view view(type);
    if (view.substr(0, acme_urn.size()) == acme_urn)
        view.remove_prefix(acme_urn.size());
    return std::string(view);
}

status status_for_problem_type(const std::string& type)
{
    std::string_view view(type);
    if (view.substr(0, acme_urn.size()) != acme_urn)
        return status::server_other;
    view.remove_prefix(acme_urn.size());

    for (const type_entry& entry : problem_types)
        if (entry.name == view)
            return entry.code;
    return status::server_other;
}

error::error(status code, const std::string& message)
    : std::runtime_error(message), code_(code)
{
}

error::error(status code, const std::string& message,
             std::optional<problem> server_problem,
             std::optional<time_point> retry_after)
    : std::runtime_error(message), code_(code),
      problem_(std::move(server_problem)), retry_after_(retry_after)
{
}

} // namespace acme
