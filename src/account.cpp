#include <acmekit/client.hpp>

#include "detail/parse.hpp"
#include "detail/session.hpp"

#include <fmt/format.h>

namespace acme {

namespace detail {

account parse_account(const json::object& obj, std::string url)
{
    constexpr std::string_view what = "account";
    account result;
    result.url = std::move(url);
    result.status = get_optional_string(obj, "status", what);
    result.contact = get_string_array(obj, "contact", what);
    result.orders = get_optional_string(obj, "orders", what);
    return result;
}

} // namespace detail

account client::new_account(const private_key& key,
                            const new_account_options& options)
{
    const directory& dir = session_->dir();

    // Section 7.3: the request is signed with the jwk; the account URL
    // comes back in Location and is the kid from then on.
    boost::json::object payload;
    if (options.terms_of_service_agreed)
        payload["termsOfServiceAgreed"] = true;
    if (!options.contact.empty()) {
        boost::json::array contact;
        for (const std::string& uri : options.contact)
            contact.emplace_back(uri);
        payload["contact"] = std::move(contact);
    }

    session_->set_account(key, {});
    http_response response =
        session_->post(dir.new_account, boost::json::serialize(payload),
                       "newAccount", detail::key_id::jwk);
    detail::expect_status(response, {200, 201}, "newAccount");

    auto location = response.header("Location");
    if (!location || location->empty())
        throw error(status::bad_response,
                    "newAccount: no Location header with the account URL");
    session_->set_kid(*location);
    session_->log(log_level::info, "account",
                  response.status == 201 ? "account created"
                                         : "existing account found");
    return detail::parse_account(
        detail::parse_object(response.body, "newAccount"), *location);
}

void client::use_account(const private_key& key, std::string url)
{
    session_->set_account(key, std::move(url));
}

} // namespace acme
