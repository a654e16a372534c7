// Typed ACME resources as the server describes them (RFC 8555 section 7.1).
#pragma once

#include <acmekit/problem.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace acme {

/// The directory (section 7.1.1): every endpoint comes from here.
struct directory {
    std::string new_nonce;
    std::string new_account;
    std::string new_order;
    std::string new_authz; ///< empty: pre-authorization is not offered
    std::string revoke_cert;
    std::string key_change;
    std::string renewal_info; ///< empty: no ACME Renewal Information

    std::string terms_of_service;
    std::string website;
    std::vector<std::string> caa_identities;
    bool external_account_required = false;
    /// Certificate profiles the CA offers (meta.profiles): name and
    /// description, in the CA's order.
    std::vector<std::pair<std::string, std::string>> profiles;
};

/// Section 7.1.2.
struct account {
    std::string url; ///< the key id ("kid") for later requests
    std::string status;
    std::vector<std::string> contact;
    std::string orders;
};

enum class order_status { pending, ready, processing, valid, invalid };
enum class authorization_status {
    pending,
    valid,
    invalid,
    deactivated,
    expired,
    revoked,
};
enum class challenge_status { pending, processing, valid, invalid };

const char* to_string(order_status value) noexcept;
const char* to_string(authorization_status value) noexcept;
const char* to_string(challenge_status value) noexcept;

/// Section 7.1.3.
struct order {
    std::string url;
    order_status status = order_status::pending;
    std::string expires;
    std::vector<identifier> identifiers;
    std::vector<std::string> authorizations;
    std::string finalize;
    std::string certificate;
    std::optional<problem> error;
};

/// Section 7.1.5.
struct challenge {
    std::string type;
    std::string url;
    std::string token;
    challenge_status status = challenge_status::pending;
    std::optional<problem> error;
};

/// Section 7.1.4.
struct authorization {
    std::string url;
    identifier id;
    authorization_status status = authorization_status::pending;
    std::string expires;
    bool wildcard = false;
    std::vector<challenge> challenges;

    /// The first challenge of the given type, or nullptr.
    const challenge* find_challenge(const std::string& type) const;
};

} // namespace acme
