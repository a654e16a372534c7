#include "detail/link.hpp"
#include "detail/http_syntax.hpp"

#include <cctype>
#include <strings.h>

namespace acme::detail {

namespace {

bool same_text(std::string_view a, std::string_view b)
{
    return a.size() == b.size() &&
           strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Whether the space-separated relation list names relation.
bool lists_relation(std::string_view list, std::string_view relation)
{
    while (!list.empty()) {
        std::size_t space = list.find(' ');
        if (same_text(list.substr(0, space), relation))
            return true;
        if (space == std::string_view::npos)
            break;
        list.remove_prefix(space + 1);
    }
    return false;
}

// The value of the rel parameter in "; a=b; rel=\"x y\"", or nothing.
std::string_view rel_of(std::string_view params)
{
    while (!params.empty()) {
        std::size_t semicolon = params.find(';');
        std::string_view param = trim_ows(params.substr(0, semicolon));
        std::size_t equals = param.find('=');
        if (equals != std::string_view::npos &&
            same_text(trim_ows(param.substr(0, equals)), "rel")) {
            std::string_view value = trim_ows(param.substr(equals + 1));
            if (value.size() >= 2 && value.front() == '"' &&
                value.back() == '"')
                value = value.substr(1, value.size() - 2);
            return value;
        }
        if (semicolon == std::string_view::npos)
            break;
        params.remove_prefix(semicolon + 1);
    }
    return {};
}

} // namespace

std::vector<std::string> link_targets(std::string_view header,
                                      std::string_view relation)
{
    std::vector<std::string> targets;
    while (true) {
        std::size_t open = header.find('<');
        if (open == std::string_view::npos)
            break;
        std::size_t close = header.find('>', open);
        if (close == std::string_view::npos)
            break;
        std::string_view target = header.substr(open + 1, close - open - 1);

        // The parameters run to the next link, which starts after a
        // comma outside quotes.
        std::size_t end = close + 1;
        bool quoted = false;
        while (end < header.size() && (quoted || header[end] != ',')) {
            if (header[end] == '"')
                quoted = !quoted;
            ++end;
        }
        if (lists_relation(rel_of(header.substr(close + 1, end - close - 1)),
                           relation) &&
            !target.empty())
            targets.emplace_back(target);
        if (end >= header.size())
            break;
        header.remove_prefix(end + 1);
    }
    return targets;
}

} // namespace acme::detail
