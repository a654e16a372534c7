// The character rules of HTTP/1.1 messages (RFC 9110 section 5), shared by
// the transport that writes requests and the responder that reads them.
#pragma once

#include <string_view>

namespace acme::detail {

/// A character allowed in a method or a field name (RFC 9110 section
/// 5.6.2). NUL is not one, whatever a C string search would say.
constexpr bool is_tchar(char c) noexcept
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
        (c >= 'A' && c <= 'Z'))
        return true;
    for (char allowed : std::string_view("!#$%&'*+-.^_`|~"))
        if (c == allowed)
            return true;
    return false;
}

constexpr bool is_token(std::string_view text) noexcept
{
    if (text.empty())
        return false;
    for (char c : text)
        if (!is_tchar(c))
            return false;
    return true;
}

/// A field value holds no control character but tab (RFC 9110 section
/// 5.5): CR or LF would end the field early, and NUL is read differently
/// by each party.
constexpr bool is_field_value(std::string_view value) noexcept
{
    for (char c : value) {
        auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f)
            return false;
    }
    return true;
}

/// Text without the optional whitespace, spaces and tabs, around it
/// (RFC 9110 section 5.6.3), as field values and list items are compared.
constexpr std::string_view trim_ows(std::string_view text) noexcept
{
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

} // namespace acme::detail
