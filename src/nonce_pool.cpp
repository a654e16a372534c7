#include "detail/nonce_pool.hpp"

#include <algorithm>

namespace acme::detail {

namespace {

// Longer than any real nonce by far; a bound keeps a hostile server from
// filling memory through headers.
constexpr std::size_t max_nonce_length = 512;

bool base64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_';
}

} // namespace

bool nonce_pool::well_formed(const std::string& nonce)
{
    return !nonce.empty() && nonce.size() <= max_nonce_length &&
           std::all_of(nonce.begin(), nonce.end(), base64url_char);
}

void nonce_pool::add_from(const http_response& response)
{
    auto nonce = response.header("Replay-Nonce");
    if (!nonce || !well_formed(*nonce))
        return;

    if (nonces_.size() >= capacity)
        nonces_.erase(nonces_.begin());
    nonces_.push_back(std::move(*nonce));
}

std::optional<std::string> nonce_pool::take()
{
    if (nonces_.empty())
        return std::nullopt;
    std::string nonce = std::move(nonces_.back());
    nonces_.pop_back();
    return nonce;
}

} // namespace acme::detail
