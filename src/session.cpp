#include "detail/session.hpp"

#include "detail/directory.hpp"
#include "detail/json.hpp"
#include "detail/jws.hpp"
#include "detail/retry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace acme::detail {

namespace {

// Long enough for any useful server explanation, short enough for a log
// line or a device UI.
constexpr std::size_t max_message_text = 400;

bool is_problem_document(const http_response& response)
{
    auto type = response.header("Content-Type");
    return type && type->find("json") != std::string::npos;
}

} // namespace

namespace {

// Length of the well-formed UTF-8 sequence at text[at], or 0.
std::size_t utf8_length(std::string_view text, std::size_t at)
{
    auto lead = static_cast<unsigned char>(text[at]);
    std::size_t length = lead < 0x80   ? 1
                         : lead < 0xc2 ? 0
                         : lead < 0xe0 ? 2
                         : lead < 0xf0 ? 3
                         : lead < 0xf5 ? 4
                                       : 0;
    if (length == 0 || at + length > text.size())
        return 0;
    for (std::size_t i = 1; i < length; ++i)
        if ((static_cast<unsigned char>(text[at + i]) & 0xc0) != 0x80)
            return 0;
    return length;
}

// C0 controls, DEL and the C1 controls (U+0080 to U+009F, which some
// terminals obey as escape sequences).
bool is_control(std::string_view text, std::size_t at, std::size_t length)
{
    auto first = static_cast<unsigned char>(text[at]);
    if (length == 1)
        return first < 0x20 || first == 0x7f;
    auto second = static_cast<unsigned char>(text[at + 1]);
    return length == 2 && first == 0xc2 && second < 0xa0;
}

} // namespace

std::string printable(std::string_view server_text)
{
    std::string out;
    out.reserve(std::min(server_text.size(), max_message_text));
    for (std::size_t at = 0; at < server_text.size();) {
        std::size_t length = utf8_length(server_text, at);
        if (out.size() + std::max<std::size_t>(length, 1) > max_message_text) {
            out += "...";
            break;
        }
        if (length == 0)
            out += '?';
        else if (is_control(server_text, at, length))
            out += ' ';
        else
            out.append(server_text, at, length);
        at += std::max<std::size_t>(length, 1);
    }
    return out;
}

void expect_status(const http_response& response,
                   std::initializer_list<int> expected, std::string_view what)
{
    if (std::find(expected.begin(), expected.end(), response.status) !=
        expected.end())
        return;
    throw error(
        status::bad_response,
        fmt::format("{}: unexpected HTTP status {}", what, response.status));
}

session::session(std::string directory_url, services services_used,
                 retry_policy retry)
    : svc(services_used), policy(retry),
      directory_url_(std::move(directory_url))
{
    if (svc.http == nullptr || svc.keys == nullptr || svc.time == nullptr)
        throw error(status::invalid_argument,
                    "client needs a transport, a crypto provider and a clock");
    // RFC 8555 section 6.1: ACME runs over HTTPS only.
    if (directory_url_.rfind("https://", 0) != 0)
        throw error(status::invalid_argument,
                    fmt::format("directory URL must start with https:// "
                                "(got \"{}\")",
                                printable(directory_url_)));
    std::size_t path = directory_url_.find('/', std::strlen("https://"));
    origin_ = directory_url_.substr(0, path);
    if (origin_.size() <= std::strlen("https://"))
        throw error(status::invalid_argument,
                    fmt::format("directory URL has no host: \"{}\"",
                                printable(directory_url_)));
}

void session::check_url(const std::string& url, std::string_view what) const
{
    // Every URL the server hands out must stay on the directory's own
    // HTTPS origin: otherwise a server could send the device's signed
    // requests in the clear or to any other host.
    if (url.size() > origin_.size() &&
        url.compare(0, origin_.size(), origin_) == 0 &&
        url[origin_.size()] == '/')
        return;
    throw error(status::bad_response,
                fmt::format("{}: server sent a URL outside {}: \"{}\"", what,
                            origin_, printable(url)));
}

void session::log(log_level level, std::string_view category,
                  std::string_view message)
{
    if (svc.log != nullptr)
        svc.log->log(level, category, message);
}

http_response session::send(http_request request, std::string_view what)
{
    check_url(request.url, what);
    log(log_level::debug, "http",
        fmt::format("{} {}", request.method, request.url));
    http_response response;
    try {
        response = svc.http->send(request);
    } catch (const error& e) {
        throw error(e.code(), fmt::format("{}: {}", what, e.what()));
    }
    log(log_level::debug, "http",
        fmt::format("{} {} -> {}", request.method, request.url,
                    response.status));
    nonces_.add_from(response);
    return response;
}

http_response session::get(const std::string& url, std::string_view what)
{
    http_response response = send({"GET", url, {}, {}}, what);
    if (response.status >= 400)
        throw refusal(response, url, what);
    return response;
}

const directory& session::dir()
{
    if (dir_)
        return *dir_;

    http_request request{"GET", directory_url_, {}, {}};
    http_response response = send(std::move(request), "directory");
    if (response.status != 200)
        throw error(status::http_error,
                    fmt::format("directory: HTTP {} from {}", response.status,
                                printable(directory_url_)));
    dir_ = parse_directory(parse_object(response.body, "directory"));
    return *dir_;
}

std::string session::fresh_nonce()
{
    if (auto nonce = nonces_.take())
        return *nonce;

    log(log_level::debug, "nonce", "pool empty, asking newNonce");
    http_request request{"HEAD", dir().new_nonce, {}, {}};
    http_response response = send(std::move(request), "newNonce");
    if (response.status != 200 && response.status != 204)
        throw error(status::http_error,
                    fmt::format("newNonce: HTTP {}", response.status));
    if (auto nonce = nonces_.take())
        return *nonce;
    throw error(status::bad_response, "newNonce: no Replay-Nonce header");
}

void session::set_account(const private_key& key, std::string kid)
{
    key_ = &key;
    kid_ = std::move(kid);
    thumbprint_.clear();
}

const private_key& session::account_key() const
{
    if (key_ == nullptr)
        throw error(status::invalid_argument, "no account key in use");
    return *key_;
}

std::string session::thumbprint()
{
    if (thumbprint_.empty())
        thumbprint_ = jwk_thumbprint(*svc.keys, svc.keys->jwk(account_key()));
    return thumbprint_;
}

std::optional<clock::time_point> session::retry_after(const http_response& r)
{
    auto value = r.header("Retry-After");
    if (!value)
        return std::nullopt;
    return parse_retry_after(*value, svc.time->now());
}

http_response session::post(const std::string& url,
                            const std::optional<std::string>& payload,
                            std::string_view what, key_id how,
                            std::string_view accept)
{
    const private_key& key = account_key();
    if (how == key_id::kid && kid_.empty())
        throw error(status::invalid_argument,
                    fmt::format("{}: no account registered", what));
    return signed_post(key, how == key_id::kid ? kid_ : std::string(), url,
                       payload, what, accept);
}

http_response session::post_signed_by(const private_key& key,
                                      const std::string& url,
                                      const std::string& payload,
                                      std::string_view what)
{
    return signed_post(key, {}, url, payload, what, {});
}

http_response session::signed_post(const private_key& key,
                                   const std::string& kid,
                                   const std::string& url,
                                   const std::optional<std::string>& payload,
                                   std::string_view what,
                                   std::string_view accept)
{
    for (int attempt = 0;; ++attempt) {
        jws_header header{kid, fresh_nonce(), url};
        http_request request{"POST", url, {}, {}};
        request.headers.push_back({"Content-Type", "application/jose+json"});
        if (!accept.empty())
            request.headers.push_back({"Accept", std::string(accept)});
        request.body = sign_jws(*svc.keys, key, header, payload);

        http_response response = send(std::move(request), what);
        if (response.status < 400)
            return response;

        // RFC 8555 section 6.5: a badNonce answer usually carries a fresh
        // nonce, already in the pool; without one, newNonce is asked.
        error refused = refusal(response, url, what);
        if (refused.code() != status::server_bad_nonce)
            throw refused;
        if (attempt >= policy.bad_nonce_retries)
            throw error(status::nonce_retries_exhausted,
                        fmt::format("{}: server refused {} fresh nonces in a "
                                    "row",
                                    what, policy.bad_nonce_retries + 1),
                        refused.server_problem());
        log(log_level::debug, "nonce", "server refused the nonce, retrying");
    }
}

error session::refusal(const http_response& response, const std::string& url,
                       std::string_view what)
{
    auto retry = retry_after(response);
    if (!is_problem_document(response))
        return error(status::http_error,
                     fmt::format("{}: HTTP {} from {}", what, response.status,
                                 printable(url)),
                     std::nullopt, retry);

    boost::system::error_code ec;
    auto value = json::parse(response.body, ec);
    if (ec || !value.is_object())
        return error(status::bad_response,
                     fmt::format("{}: HTTP {} with an unreadable problem "
                                 "document",
                                 what, response.status),
                     std::nullopt, retry);

    problem found = parse_problem(value.as_object(), response.status);
    status code = status_for_problem_type(found.type);
    std::string detail = found.detail.empty() ? std::string(status_string(code))
                                              : printable(found.detail);
    std::string message =
        fmt::format("{}: {} ({})", what, detail, printable(found.short_type()));
    return error(code, message, std::move(found), retry);
}

} // namespace acme::detail
