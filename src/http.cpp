#include <acmekit/transport.hpp>

#include <strings.h>

namespace acme {

namespace {

bool same_name(std::string_view a, std::string_view b)
{
    return a.size() == b.size() &&
           strncasecmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace

std::optional<std::string> http_response::header(std::string_view name) const
{
    for (const http_header& h : headers)
        if (same_name(h.name, name))
            return h.value;
    return std::nullopt;
}

std::vector<std::string>
http_response::headers_named(std::string_view name) const
{
    std::vector<std::string> values;
    for (const http_header& h : headers)
        if (same_name(h.name, name))
            values.push_back(h.value);
    return values;
}

} // namespace acme
