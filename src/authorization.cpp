#include <acmekit/client.hpp>

#include "detail/parse.hpp"
#include "detail/session.hpp"

#include <fmt/format.h>

namespace acme {

const char* to_string(authorization_status value) noexcept
{
    switch (value) {
    case authorization_status::pending: return "pending";
    case authorization_status::valid: return "valid";
    case authorization_status::invalid: return "invalid";
    case authorization_status::deactivated: return "deactivated";
    case authorization_status::expired: return "expired";
    case authorization_status::revoked: return "revoked";
    }
    return "unknown";
}

const char* to_string(challenge_status value) noexcept
{
    switch (value) {
    case challenge_status::pending: return "pending";
    case challenge_status::processing: return "processing";
    case challenge_status::valid: return "valid";
    case challenge_status::invalid: return "invalid";
    }
    return "unknown";
}

const challenge* authorization::find_challenge(const std::string& type) const
{
    for (const challenge& c : challenges)
        if (c.type == type)
            return &c;
    return nullptr;
}

namespace detail {

authorization_status parse_authorization_status(const std::string& text)
{
    for (auto value :
         {authorization_status::pending, authorization_status::valid,
          authorization_status::invalid, authorization_status::deactivated,
          authorization_status::expired, authorization_status::revoked})
        if (text == to_string(value))
            return value;
    throw error(
        status::bad_response,
        fmt::format("authorization: unknown status \"{}\"", printable(text)));
}

challenge_status parse_challenge_status(const std::string& text)
{
    for (auto value : {challenge_status::pending, challenge_status::processing,
                       challenge_status::valid, challenge_status::invalid})
        if (text == to_string(value))
            return value;
    throw error(
        status::bad_response,
        fmt::format("challenge: unknown status \"{}\"", printable(text)));
}

challenge parse_challenge(const json::object& obj)
{
    constexpr std::string_view what = "challenge";
    challenge result;
    result.type = get_string(obj, "type", what);
    result.url = get_string(obj, "url", what);
    result.token = get_optional_string(obj, "token", what);
    result.status = parse_challenge_status(get_string(obj, "status", what));
    result.error = get_optional_problem(obj, what);
    return result;
}

authorization parse_authorization(const json::object& obj, std::string url)
{
    constexpr std::string_view what = "authorization";
    authorization result;
    result.url = std::move(url);
    result.status = parse_authorization_status(get_string(obj, "status", what));
    result.expires = get_optional_string(obj, "expires", what);

    const json::value* id = obj.if_contains("identifier");
    if (id == nullptr || !id->is_object())
        throw error(status::bad_response,
                    "authorization: missing \"identifier\"");
    result.id = {get_string(id->as_object(), "type", what),
                 get_string(id->as_object(), "value", what)};

    if (const json::value* w = obj.if_contains("wildcard");
        w != nullptr && w->is_bool())
        result.wildcard = w->as_bool();

    const json::value* list = obj.if_contains("challenges");
    if (list == nullptr || !list->is_array())
        throw error(status::bad_response,
                    "authorization: missing \"challenges\"");
    for (const json::value& item : list->as_array()) {
        if (!item.is_object())
            throw error(status::bad_response,
                        "authorization: challenge is not an object");
        result.challenges.push_back(parse_challenge(item.as_object()));
    }
    return result;
}

} // namespace detail

polled<authorization> client::fetch_authorization(const std::string& url)
{
    http_response response = session_->post(url, std::nullopt, "authorization");
    detail::expect_status(response, {200}, "authorization");
    return {detail::parse_authorization(
                detail::parse_object(response.body, "authorization"), url),
            session_->retry_after(response)};
}

challenge client::respond_challenge(const std::string& url)
{
    // Section 7.5.1: the empty object says "ready", unlike POST-as-GET.
    http_response response = session_->post(url, "{}", "challenge");
    detail::expect_status(response, {200}, "challenge");
    return detail::parse_challenge(
        detail::parse_object(response.body, "challenge"));
}

} // namespace acme
