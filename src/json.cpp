#include "detail/json.hpp"

#include <fmt/format.h>

namespace acme::detail {

namespace {

[[noreturn]] void bad(std::string_view what, std::string_view why)
{
    throw error(status::bad_response, fmt::format("{}: {}", what, why));
}

} // namespace

json::object parse_object(std::string_view body, std::string_view what)
{
    boost::system::error_code ec;
    json::value value = json::parse(body, ec);
    if (ec)
        bad(what, fmt::format("invalid JSON ({})", ec.message()));
    if (!value.is_object())
        bad(what, "JSON is not an object");
    return std::move(value.as_object());
}

std::string get_string(const json::object& obj, std::string_view key,
                       std::string_view what)
{
    const json::value* value = obj.if_contains(key);
    if (value == nullptr)
        bad(what, fmt::format("missing \"{}\"", key));
    if (!value->is_string())
        bad(what, fmt::format("\"{}\" is not a string", key));
    return std::string(value->as_string());
}

std::string get_optional_string(const json::object& obj, std::string_view key,
                                std::string_view what)
{
    const json::value* value = obj.if_contains(key);
    if (value == nullptr || value->is_null())
        return {};
    if (!value->is_string())
        bad(what, fmt::format("\"{}\" is not a string", key));
    return std::string(value->as_string());
}

std::vector<std::string> get_string_array(const json::object& obj,
                                          std::string_view key,
                                          std::string_view what)
{
    std::vector<std::string> out;
    const json::value* value = obj.if_contains(key);
    if (value == nullptr || value->is_null())
        return out;
    if (!value->is_array())
        bad(what, fmt::format("\"{}\" is not an array", key));

    for (const json::value& item : value->as_array()) {
        if (!item.is_string())
            bad(what, fmt::format("\"{}\" holds a non-string", key));
        out.emplace_back(item.as_string());
    }
    return out;
}

namespace {

std::optional<identifier> parse_identifier(const json::value* value)
{
    if (value == nullptr || !value->is_object())
        return std::nullopt;
    const json::object& obj = value->as_object();
    identifier id;
    id.type = get_optional_string(obj, "type", "identifier");
    id.value = get_optional_string(obj, "value", "identifier");
    return id;
}

// Problem documents come from servers in every state of repair, so every
// member is optional and a mistyped one is ignored rather than fatal: the
// HTTP status alone still tells the caller what happened.
std::string lenient_string(const json::object& obj, std::string_view key)
{
    const json::value* value = obj.if_contains(key);
    if (value == nullptr || !value->is_string())
        return {};
    return std::string(value->as_string());
}

} // namespace

problem parse_problem(const json::object& obj, int http_status)
{
    problem result;
    result.type = lenient_string(obj, "type");
    result.detail = lenient_string(obj, "detail");
    result.instance = lenient_string(obj, "instance");
    result.http_status = http_status;
    if (const json::value* s = obj.if_contains("status"); s && s->is_int64())
        result.http_status = static_cast<int>(s->as_int64());

    const json::value* subs = obj.if_contains("subproblems");
    if (subs == nullptr || !subs->is_array())
        return result;
    for (const json::value& item : subs->as_array()) {
        if (!item.is_object())
            continue;
        const json::object& sub_obj = item.as_object();
        subproblem sub;
        sub.type = lenient_string(sub_obj, "type");
        sub.detail = lenient_string(sub_obj, "detail");
        sub.id = parse_identifier(sub_obj.if_contains("identifier"));
        result.subproblems.push_back(std::move(sub));
    }
    return result;
}

std::optional<problem> get_optional_problem(const json::object& obj,
                                            std::string_view what)
{
    const json::value* value = obj.if_contains("error");
    if (value == nullptr || value->is_null())
        return std::nullopt;
    if (!value->is_object())
        bad(what, "\"error\" is not an object");
    return parse_problem(value->as_object(), 0);
}

} // namespace acme::detail
