// Base64url without padding (RFC 4648 section 5), as JOSE and ACME use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace acme::detail {

std::string base64url_encode(const void* data, std::size_t size);

inline std::string base64url_encode(std::string_view text)
{
    return base64url_encode(text.data(), text.size());
}

inline std::string base64url_encode(const std::vector<std::uint8_t>& data)
{
    return base64url_encode(data.data(), data.size());
}

/// Decodes base64url; trailing "=" padding is accepted. Returns nothing for
/// any character outside the alphabet or an impossible length.
std::optional<std::vector<std::uint8_t>>
base64url_decode(std::string_view text);

/// Decodes key material as people paste it: standard base64 or base64url,
/// with or without padding, surrounding whitespace ignored.
std::optional<std::vector<std::uint8_t>>
base64_decode_any(std::string_view text);

} // namespace acme::detail
