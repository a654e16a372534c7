// The challenge solver contract: present, wait until visible, clean up.
//
// The core calls present() for every challenge of an order before telling
// the CA about any, so all are validated together. cleanup() runs for every
// challenge whose present() was attempted, also when present() threw or the
// order failed, so it must not assume that present() succeeded.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace acme {

/// The longest challenge token acmekit accepts. RFC 8555 section 8.3 asks
/// for at least 128 bits of entropy (22 characters) and sets no maximum;
/// real CAs send 43.
constexpr std::size_t max_challenge_token = 256;

/// Whether a token is 1 to max_challenge_token base64url characters, the
/// only tokens that are safe to put in a URL path or a file name.
bool valid_challenge_token(const std::string& token) noexcept;

struct challenge_task {
    std::string type;       ///< "http-01" or "dns-01"
    std::string identifier; ///< the name being validated
    bool wildcard = false;
    std::string token;
    /// token "." thumbprint (RFC 8555 section 8.1). Not to be logged.
    std::string key_authorization;
    /// For dns-01 only: base64url(SHA-256(key_authorization)), the TXT
    /// value to publish (section 8.4). Public once published.
    std::string dns_value;
};

class challenge_solver {
public:
    virtual ~challenge_solver() = default;

    /// Whether this solver can answer a challenge of the given type.
    virtual bool handles(const std::string& challenge_type) const = 0;

    virtual void present(const challenge_task& task) = 0;

    /// Blocks until the answer is visible to the CA; most solvers return at
    /// once.
    virtual void wait_ready(const challenge_task&) {}

    /// Must not throw: failures here are logged, never raised.
    virtual void cleanup(const challenge_task& task) noexcept = 0;
};

/// An HTTP-01 solver for a device whose own web server serves the token:
/// the host's functions publish and withdraw
/// /.well-known/acme-challenge/<token>.
class http01_callback_solver final : public challenge_solver {
public:
    using present_fn = std::function<void(const challenge_task&)>;
    using cleanup_fn = std::function<void(const challenge_task&)>;

    http01_callback_solver(present_fn present, cleanup_fn cleanup);

    bool handles(const std::string& challenge_type) const override;
    void present(const challenge_task& task) override;
    void cleanup(const challenge_task& task) noexcept override;

private:
    present_fn present_;
    cleanup_fn cleanup_;
};

} // namespace acme
