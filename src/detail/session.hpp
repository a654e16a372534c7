// The state one client keeps: directory, nonce pool, account key and kid.
// Every signed request goes through post(), which owns nonce handling,
// badNonce retries and turning error responses into acme::error.
#pragma once

#include <acmekit/client.hpp>

#include "nonce_pool.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace acme::detail {

/// How a signed request names its key (RFC 8555 section 6.2).
enum class key_id { jwk, kid };

class session {
public:
    session(std::string directory_url, services svc, retry_policy policy);

    const directory& dir();

    /// A signed POST; payload nullopt is POST-as-GET (section 6.3). Error
    /// responses throw; what names the request in messages.
    http_response post(const std::string& url,
                       const std::optional<std::string>& payload,
                       std::string_view what, key_id how = key_id::kid,
                       std::string_view accept = {});

    /// An unsigned GET (RFC 9773 renewalInfo); error responses throw.
    http_response get(const std::string& url, std::string_view what);

    /// A POST signed by another key than the account's, named by its jwk
    /// (revocation with the certificate's own key, section 7.6).
    http_response post_signed_by(const private_key& key, const std::string& url,
                                 const std::string& payload,
                                 std::string_view what);

    const std::string& kid() const noexcept { return kid_; }
    const std::string& directory_url() const noexcept { return directory_url_; }

    void set_account(const private_key& key, std::string kid);
    void set_kid(std::string kid) { kid_ = std::move(kid); }
    const private_key& account_key() const;
    std::string thumbprint();

    void log(log_level level, std::string_view category,
             std::string_view message);

    /// When the response's Retry-After asks to come back, if it does.
    std::optional<clock::time_point> retry_after(const http_response& r);

    const services svc;
    const retry_policy policy;

private:
    http_response send(http_request request, std::string_view what);
    http_response signed_post(const private_key& key, const std::string& kid,
                              const std::string& url,
                              const std::optional<std::string>& payload,
                              std::string_view what, std::string_view accept);
    std::string fresh_nonce();
    /// The error an error response stands for: its problem document
    /// typed, or the bare HTTP status, with any Retry-After.
    error refusal(const http_response& response, const std::string& url,
                  std::string_view what);

    void check_url(const std::string& url, std::string_view what) const;

    std::string directory_url_;
    std::string origin_; // "https://host[:port]" of the directory
    std::optional<directory> dir_;
    nonce_pool nonces_;
    const private_key* key_ = nullptr;
    std::string kid_;
    std::string thumbprint_;
};

/// Server text made safe for a one-line message: control characters become
/// spaces and the length is bounded.
std::string printable(std::string_view server_text);

/// Throws bad_response unless the HTTP status is one of those expected.
void expect_status(const http_response& response,
                   std::initializer_list<int> expected, std::string_view what);

} // namespace acme::detail
