// Replay nonces (RFC 8555 section 7.2). Every response carries a fresh
// Replay-Nonce; keeping them means newNonce is asked only when the pool is
// empty.
#pragma once

#include <acmekit/transport.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace acme::detail {

class nonce_pool {
public:
    /// Nonces kept at most; older ones are dropped first, since a server
    /// may expire them.
    static constexpr std::size_t capacity = 8;

    /// Keeps the response's Replay-Nonce, if it has a well-formed one.
    void add_from(const http_response& response);

    /// The newest nonce, removed from the pool.
    std::optional<std::string> take();

    std::size_t size() const noexcept { return nonces_.size(); }

    /// A nonce is base64url text (section 6.5.1); anything else is dropped.
    static bool well_formed(const std::string& nonce);

private:
    std::vector<std::string> nonces_;
};

} // namespace acme::detail
