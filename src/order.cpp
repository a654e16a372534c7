#include <acmekit/client.hpp>

#include "detail/base64url.hpp"
#include "detail/parse.hpp"
#include "detail/session.hpp"

#include <fmt/format.h>

namespace acme {

const char* to_string(order_status value) noexcept
{
    switch (value) {
    case order_status::pending: return "pending";
    case order_status::ready: return "ready";
    case order_status::processing: return "processing";
    case order_status::valid: return "valid";
    case order_status::invalid: return "invalid";
    }
    return "unknown";
}

namespace detail {

order_status parse_order_status(const std::string& text)
{
    for (auto value :
         {order_status::pending, order_status::ready, order_status::processing,
          order_status::valid, order_status::invalid})
        if (text == to_string(value))
            return value;
    throw error(status::bad_response,
                fmt::format("order: unknown status \"{}\"", printable(text)));
}

namespace {

std::vector<identifier> parse_identifiers(const json::object& obj)
{
    std::vector<identifier> out;
    const json::value* list = obj.if_contains("identifiers");
    if (list == nullptr || !list->is_array())
        throw error(status::bad_response, "order: missing \"identifiers\"");

    for (const json::value& item : list->as_array()) {
        if (!item.is_object())
            throw error(status::bad_response,
                        "order: identifier is not an object");
        const json::object& id = item.as_object();
        out.push_back({get_string(id, "type", "order identifier"),
                       get_string(id, "value", "order identifier")});
    }
    return out;
}

} // namespace

order parse_order(const json::object& obj, std::string url)
{
    constexpr std::string_view what = "order";
    order result;
    result.url = std::move(url);
    result.status = parse_order_status(get_string(obj, "status", what));
    result.expires = get_optional_string(obj, "expires", what);
    result.identifiers = parse_identifiers(obj);
    result.authorizations = get_string_array(obj, "authorizations", what);
    result.finalize = get_string(obj, "finalize", what);
    result.certificate = get_optional_string(obj, "certificate", what);
    result.error = get_optional_problem(obj, what);
    return result;
}

} // namespace detail

order client::new_order(const std::vector<identifier>& identifiers)
{
    return place_order(new_order_options{identifiers, {}, {}});
}

order client::place_order(const new_order_options& options)
{
    if (options.identifiers.empty())
        throw error(status::invalid_argument, "an order needs a name");

    boost::json::array list;
    for (const identifier& id : options.identifiers)
        list.push_back(
            boost::json::object{{"type", id.type}, {"value", id.value}});
    boost::json::object payload{{"identifiers", std::move(list)}};
    if (!options.profile.empty())
        payload["profile"] = options.profile;
    if (!options.replaces.empty())
        payload["replaces"] = options.replaces;

    http_response response = session_->post(
        session_->dir().new_order, boost::json::serialize(payload), "newOrder");
    detail::expect_status(response, {201}, "newOrder");

    auto location = response.header("Location");
    if (!location || location->empty())
        throw error(status::bad_response,
                    "newOrder: no Location header with the order URL");
    return detail::parse_order(detail::parse_object(response.body, "newOrder"),
                               *location);
}

polled<order> client::fetch_order(const std::string& url)
{
    http_response response = session_->post(url, std::nullopt, "order");
    detail::expect_status(response, {200}, "order");
    return {
        detail::parse_order(detail::parse_object(response.body, "order"), url),
        session_->retry_after(response)};
}

polled<order> client::finalize_order(const order& current, const bytes& csr_der)
{
    boost::json::object payload{{"csr", detail::base64url_encode(csr_der)}};
    http_response response = session_->post(
        current.finalize, boost::json::serialize(payload), "finalize");
    detail::expect_status(response, {200}, "finalize");
    return {detail::parse_order(detail::parse_object(response.body, "finalize"),
                                current.url),
            session_->retry_after(response)};
}

} // namespace acme
