#include <acmekit/client.hpp>

#include "detail/names.hpp"
#include "detail/session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace acme {

namespace {

constexpr std::size_t max_name_length = 253;
constexpr std::size_t max_label_length = 63;

bool ldh_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-';
}

// Returns why the label is unusable, or nullptr.
const char* label_problem(std::string_view label)
{
    if (label.empty())
        return "empty label";
    if (label.size() > max_label_length)
        return "label longer than 63 characters";
    for (char c : label)
        if (!ldh_char(c))
            return "only letters, digits and '-' are allowed";
    if (label.front() == '-' || label.back() == '-')
        return "a label may not start or end with '-'";
    return nullptr;
}

[[noreturn]] void refuse(const std::string& name, const char* why)
{
    throw error(status::invalid_argument,
                fmt::format("invalid domain name \"{}\": {}",
                            detail::printable(name), why));
}

} // namespace

void validate_dns_name(const std::string& name)
{
    std::string_view rest(name);
    if (rest.substr(0, 2) == "*.")
        rest.remove_prefix(2);
    if (rest.empty())
        refuse(name, "empty");
    if (name.size() > max_name_length)
        refuse(name, "longer than 253 characters");
    if (rest.find('.') == std::string_view::npos)
        refuse(name, "a certificate name needs at least two labels");

    while (true) {
        std::size_t dot = rest.find('.');
        if (const char* why = label_problem(rest.substr(0, dot)))
            refuse(name, why);
        if (dot == std::string_view::npos)
            break;
        rest.remove_prefix(dot + 1);
    }

    // No top-level domain is all digits (RFC 3696 section 2): such a name
    // is an IPv4 address, which needs an IP identifier (RFC 8738).
    if (rest.find_first_not_of("0123456789") == std::string_view::npos)
        refuse(name, "an IP address, not a DNS name (IP identifiers are not "
                     "supported)");
}

namespace detail {

std::string lowercase(std::string text)
{
    for (char& c : text)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

std::vector<std::string> folded_sorted(const std::vector<std::string>& names)
{
    std::vector<std::string> out;
    for (const std::string& name : names)
        out.push_back(lowercase(name));
    std::sort(out.begin(), out.end());
    return out;
}

// Anything else could not be an IA5String dNSName, or would be read as
// syntax by mbedTLS's "CN=..." subject parser.
void check_csr_names(const std::vector<std::string>& names)
{
    if (names.empty())
        throw error(status::invalid_argument, "a CSR needs at least one name");

    for (const std::string& name : names) {
        if (name.empty())
            throw error(status::invalid_argument, "empty name for the CSR");
        for (char c : name)
            if (!ldh_char(c) && c != '.' && c != '*' && c != '_')
                throw error(status::invalid_argument,
                            "CSR name has a character not allowed in DNS: " +
                                name);
    }
}

} // namespace detail

} // namespace acme
