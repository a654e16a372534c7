// Test doubles: a transport whose answers a test scripts, a clock that
// only moves when the code under test sleeps, and a small scripted ACME
// server for flows Pebble cannot produce (Retry-After, faults, exact
// request counts). End-to-end tests use the real Pebble instead.
#pragma once

#include <acmekit/adapters/mbedtls_crypto.hpp>
#include <acmekit/client.hpp>
#include <acmekit/clock.hpp>
#include <acmekit/crypto.hpp>
#include <acmekit/problem.hpp>
#include <acmekit/storage.hpp>
#include <acmekit/transport.hpp>

#include <boost/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace acme::test {

class scripted_transport final : public transport {
public:
    using handler_fn = std::function<http_response(const http_request&)>;

    explicit scripted_transport(handler_fn handler)
        : handler_(std::move(handler))
    {
    }

    http_response send(const http_request& request) override
    {
        requests.push_back(request);
        return handler_(request);
    }

    std::vector<http_request> requests;

private:
    handler_fn handler_;
};

class fake_clock final : public clock {
public:
    time_point now() override { return now_; }
    void sleep_until(time_point when) override
    {
        sleeps.push_back(when);
        if (when > now_)
            now_ = when;
    }

    time_point now_ = std::chrono::system_clock::from_time_t(1700000000);
    std::vector<time_point> sleeps;
};

/// A decoded and verified flattened JWS.
struct verified_jws {
    boost::json::object header;
    std::string payload; ///< decoded; empty for POST-as-GET
};

/// Checks the JWS shape and its ES256 signature against the jwk in its
/// header, or against jwk when the header has a kid. Throws
/// std::runtime_error describing the first defect.
verified_jws verify_jws(const std::string& body, const public_jwk* jwk);

/// A minimal ACME server following RFC 8555, scripted by its fields.
class fake_ca {
public:
    static constexpr const char* base = "https://ca.test";

    fake_ca();
    http_response handle(const http_request& request);

    // Behaviour knobs.
    int reject_nonces = 0;        ///< next N signed requests get badNonce
    int pending_polls = 0;        ///< order polls still pending after answer
    int processing_polls = 0;     ///< order polls still processing
    std::string retry_after;      ///< sent on order polls when not empty
    bool fail_validation = false; ///< challenges become invalid
    int already_valid = 0;        ///< first N authorizations start valid
    std::string extra_name;       ///< slipped into every new order
    std::string token;            ///< replaces every challenge token
    std::string cert_body;        ///< replaces the issued chain
    std::string cert_extra_name;  ///< added to the issued leaf's SANs
    std::string not_before = "20250101000000"; ///< of issued leaves
    std::string not_after = "20300101000000";
    std::string alternate_issuer;         ///< offer an alternate chain by it
    bool offer_ari = false;               ///< the directory names renewalInfo
    std::string renewal_info_body;        ///< what renewalInfo answers
    std::string renewal_info_retry_after; ///< its Retry-After, if any
    bool reject_replaces = false; ///< newOrder with "replaces" is refused
    /// meta.profiles: name and description.
    std::vector<std::pair<std::string, std::string>> profiles;

    // What happened.
    int new_nonce_requests = 0;
    int new_account_requests = 0;
    int new_order_requests = 0;
    int renewal_info_requests = 0;
    std::vector<std::string> order_payloads; ///< newOrder payloads, JSON
    std::vector<std::string> renewal_info_ids;
    int bad_nonces_sent = 0;
    int challenge_answers = 0;
    std::vector<std::string> posted_urls;
    std::string csr;
    std::string new_account_payload;

private:
    struct authz_state {
        std::string name;
        std::string token;
        std::string status = "pending";
    };

    http_response reply(int status, const boost::json::value& body,
                        std::vector<http_header> extra = {});
    http_response problem(int status, const std::string& type,
                          const std::string& detail);
    std::string nonce();
    boost::json::object order_json();
    boost::json::object authz_json(std::size_t index);
    http_response signed_request(const http_request& request);

    int next_nonce_ = 0;
    std::set<std::string> issued_nonces_;
    public_jwk account_jwk_;
    bool has_account_ = false;
    std::vector<std::string> names_;
    std::vector<authz_state> authzs_;
    std::string order_status_ = "pending";
    int polls_seen_ = 0;
};

/// A storage in memory that counts writes and can fail the n-th one, as a
/// full disk or a power cut would.
class memory_storage final : public storage {
public:
    std::optional<secret_bytes> get(const std::string& name) override
    {
        auto found = values.find(name);
        if (found == values.end())
            return std::nullopt;
        return secret_bytes(found->second);
    }

    void put(const std::string& name, const secret_bytes& value, bool) override
    {
        if (fail_after >= 0 && puts >= fail_after)
            throw error(status::io_error, "disk full");
        ++puts;
        values[name] = std::string(value.view());
    }

    void remove(const std::string& name) override { values.erase(name); }

    std::vector<std::string> list(const std::string& folder) override
    {
        std::vector<std::string> names;
        std::string prefix = folder + "/";
        for (const auto& [name, value] : values) {
            if (name.rfind(prefix, 0) != 0)
                continue;
            std::string child =
                prefix +
                name.substr(prefix.size(),
                            name.find('/', prefix.size()) - prefix.size());
            if (names.empty() || names.back() != child)
                names.push_back(child);
        }
        return names;
    }

    std::map<std::string, std::string> values;
    int puts = 0;
    int fail_after = -1;
};

/// Account options with the terms agreed, as every test account needs.
inline new_account_options agreed(std::vector<std::string> contact = {})
{
    new_account_options options;
    options.contact = std::move(contact);
    options.terms_of_service_agreed = true;
    return options;
}

/// The scripted CA behind a scripted transport, with a crypto provider, a
/// fake clock and an account key: what most client tests start from.
struct ca_fixture {
    fake_ca ca;
    scripted_transport http{
        [this](const http_request& r) { return ca.handle(r); }};
    mbedtls_crypto crypto;
    fake_clock time;
    std::unique_ptr<private_key> key = crypto.generate_key(key_type::ec_p256);
};

} // namespace acme::test
