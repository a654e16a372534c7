#include <acmekit/client.hpp>

#include "detail/base64url.hpp"
#include "detail/jws.hpp"
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

namespace {

const char* hmac_jws_algorithm(hmac_algorithm algorithm)
{
    switch (algorithm) {
    case hmac_algorithm::sha256: return "HS256";
    case hmac_algorithm::sha384: return "HS384";
    case hmac_algorithm::sha512: return "HS512";
    }
    return "HS256";
}

// Section 7.3.4: a JWS over the account's public key, MACed with the key
// the CA issued, so that the CA can tie the new account to a customer.
boost::json::object binding_jws(crypto& keys, const private_key& account_key,
                                const external_account_binding& binding,
                                const std::string& new_account_url)
{
    boost::json::object header{
        {"alg", hmac_jws_algorithm(binding.algorithm)},
        {"kid", binding.key_id},
        {"url", new_account_url},
    };
    std::string encoded_header =
        detail::base64url_encode(boost::json::serialize(header));
    std::string encoded_payload = detail::base64url_encode(
        boost::json::serialize(detail::jwk_to_json(keys.jwk(account_key))));
    bytes mac = keys.hmac(binding.algorithm, binding.hmac_key,
                          encoded_header + "." + encoded_payload);
    return {{"protected", encoded_header},
            {"payload", encoded_payload},
            {"signature", detail::base64url_encode(mac)}};
}

} // namespace

external_account_binding
make_external_account_binding(std::string key_id,
                              std::string_view hmac_key_base64,
                              std::string_view algorithm)
{
    if (key_id.empty())
        throw error(status::invalid_argument,
                    "external account binding needs a key id");
    external_account_binding binding;
    if (algorithm == "HS384")
        binding.algorithm = hmac_algorithm::sha384;
    else if (algorithm == "HS512")
        binding.algorithm = hmac_algorithm::sha512;
    else if (!algorithm.empty() && algorithm != "HS256")
        throw error(status::invalid_argument,
                    "external account binding: HS256, HS384 or HS512");

    auto key = detail::base64_decode_any(hmac_key_base64);
    if (!key || key->empty())
        throw error(status::invalid_argument,
                    "the external account HMAC key is not base64");
    binding.key_id = std::move(key_id);
    binding.hmac_key = secret_bytes(key->data(), key->size());
    secure_wipe(key->data(), key->size());
    return binding;
}

account client::new_account(const private_key& key,
                            const new_account_options& options)
{
    const directory& dir = session_->dir();
    if (dir.external_account_required && !options.binding &&
        !options.only_return_existing)
        throw error(status::server_external_account_required,
                    "this CA requires external account binding: give the "
                    "key id and HMAC key it issued");

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

    if (options.only_return_existing)
        payload["onlyReturnExisting"] = true;
    if (options.binding)
        payload["externalAccountBinding"] = binding_jws(
            *session_->svc.keys, key, *options.binding, dir.new_account);

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

namespace {

account post_to_account(detail::session& session,
                        const std::optional<std::string>& payload,
                        std::string_view what)
{
    std::string url = session.kid();
    if (url.empty())
        throw error(status::invalid_argument,
                    fmt::format("{}: no account in use", what));
    http_response response = session.post(url, payload, what);
    detail::expect_status(response, {200}, what);
    return detail::parse_account(detail::parse_object(response.body, what),
                                 url);
}

} // namespace

account client::fetch_account()
{
    return post_to_account(*session_, std::nullopt, "account");
}

account client::update_account(const std::vector<std::string>& contact)
{
    boost::json::array list;
    for (const std::string& uri : contact)
        list.emplace_back(uri);
    boost::json::object payload{{"contact", std::move(list)}};
    return post_to_account(*session_, boost::json::serialize(payload),
                           "account update");
}

account client::deactivate_account()
{
    boost::json::object payload{{"status", "deactivated"}};
    return post_to_account(*session_, boost::json::serialize(payload),
                           "account deactivation");
}

void client::change_account_key(const private_key& new_key)
{
    const directory& dir = session_->dir();
    if (dir.key_change.empty())
        throw error(status::unsupported, "this CA offers no keyChange");
    if (session_->kid().empty())
        throw error(status::invalid_argument, "keyChange: no account in use");

    // Section 7.3.5: the new key signs an inner JWS (jwk, no nonce) naming
    // the account and the old key; the old key signs the outer request.
    crypto& keys = *session_->svc.keys;
    boost::json::object inner_payload{
        {"account", session_->kid()},
        {"oldKey", detail::jwk_to_json(keys.jwk(session_->account_key()))},
    };
    std::string inner =
        detail::sign_jws(keys, new_key, {"", "", dir.key_change},
                         boost::json::serialize(inner_payload));

    http_response response = session_->post(dir.key_change, inner, "keyChange");
    detail::expect_status(response, {200}, "keyChange");
    session_->set_account(new_key, session_->kid());
    session_->log(log_level::info, "account", "account key changed");
}

void client::revoke_certificate(const std::string& certificate_pem,
                                std::optional<revocation_reason> reason,
                                const private_key* certificate_key)
{
    const directory& dir = session_->dir();
    if (dir.revoke_cert.empty())
        throw error(status::unsupported, "this CA offers no revokeCert");

    std::vector<certificate_info> chain =
        session_->svc.keys->parse_chain(certificate_pem);
    // Section 7.6: only the certificate's own key may sign for it; a
    // mismatch is told here rather than by the CA's "unauthorized".
    if (certificate_key != nullptr &&
        session_->svc.keys->jwk(*certificate_key) != chain.front().key)
        throw error(status::invalid_argument,
                    "revokeCert: the key given is not the certificate's "
                    "own key");
    boost::json::object payload{
        {"certificate", detail::base64url_encode(chain.front().der)}};
    if (reason)
        payload["reason"] = static_cast<int>(*reason);

    std::string body = boost::json::serialize(payload);
    http_response response =
        certificate_key != nullptr
            ? session_->post_signed_by(*certificate_key, dir.revoke_cert, body,
                                       "revokeCert")
            : session_->post(dir.revoke_cert, body, "revokeCert");
    detail::expect_status(response, {200}, "revokeCert");
}

} // namespace acme
