#include "detail/base64url.hpp"

#include <acmekit/secret.hpp>

namespace acme::detail {

namespace {

constexpr char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int decode_char(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

} // namespace

std::string base64url_encode(const void* data, std::size_t size)
{
    const auto* in = static_cast<const std::uint8_t*>(data);
    std::string out;
    out.reserve((size * 4 + 2) / 3);

    std::size_t i = 0;
    for (; i + 3 <= size; i += 3) {
        std::uint32_t v = (in[i] << 16) | (in[i + 1] << 8) | in[i + 2];
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }

    std::size_t rest = size - i;
    if (rest == 1) {
        std::uint32_t v = in[i] << 16;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
    } else if (rest == 2) {
        std::uint32_t v = (in[i] << 16) | (in[i + 1] << 8);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
    }
    return out;
}

std::optional<std::vector<std::uint8_t>> base64url_decode(std::string_view text)
{
    while (!text.empty() && text.back() == '=')
        text.remove_suffix(1);
    if (text.size() % 4 == 1)
        return std::nullopt;

    std::vector<std::uint8_t> out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t bits = 0;
    int bit_count = 0;
    for (char c : text) {
        int v = decode_char(c);
        if (v < 0)
            return std::nullopt;
        bits = (bits << 6) | static_cast<std::uint32_t>(v);
        bit_count += 6;
        if (bit_count >= 8) {
            bit_count -= 8;
            out.push_back(
                static_cast<std::uint8_t>((bits >> bit_count) & 0xff));
        }
    }
    return out;
}

std::optional<std::vector<std::uint8_t>>
base64_decode_any(std::string_view text)
{
    auto space = [](char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
    };
    while (!text.empty() && space(text.front()))
        text.remove_prefix(1);
    while (!text.empty() && space(text.back()))
        text.remove_suffix(1);

    std::string url_form(text);
    for (char& c : url_form)
        c = c == '+' ? '-' : c == '/' ? '_' : c;
    auto decoded = base64url_decode(url_form);
    secure_wipe(url_form.data(), url_form.size());
    return decoded;
}

} // namespace acme::detail
