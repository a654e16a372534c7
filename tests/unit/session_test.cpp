#include <doctest/doctest.h>

#include <acmekit/adapters/mbedtls_crypto.hpp>
#include <acmekit/client.hpp>

#include "detail/base64url.hpp"
#include "detail/jws.hpp"
#include "detail/session.hpp"
#include "scripted_transport.hpp"

using namespace acme;

namespace {

struct fixture : test::ca_fixture {

    client make(retry_policy policy = {})
    {
        return client(std::string(test::fake_ca::base) + "/dir",
                      {&http, &crypto, &time, nullptr}, policy);
    }

    int count(const std::string& method)
    {
        int n = 0;
        for (const auto& r : http.requests)
            n += r.method == method;
        return n;
    }
};

} // namespace

TEST_CASE_FIXTURE(fixture, "the directory gives every endpoint")
{
    client c = make();
    const directory& dir = c.get_directory();
    CHECK(dir.new_order == "https://ca.test/order");
    CHECK(dir.terms_of_service == "https://ca.test/tos");
    c.get_directory();
    CHECK(count("GET") == 1);
}

TEST_CASE_FIXTURE(fixture, "newNonce is asked only once: replies refill")
{
    client c = make();
    account acct = c.new_account(*key, test::agreed({"mailto:a@b.test"}));
    CHECK(acct.url == "https://ca.test/acct/1");
    c.new_order({{"dns", "a.example.com"}});
    c.fetch_order("https://ca.test/order/1");
    c.fetch_authorization("https://ca.test/authz/0");
    CHECK(ca.new_nonce_requests == 1);
    CHECK(count("HEAD") == 1);
}

TEST_CASE_FIXTURE(fixture, "badNonce is retried with the error's nonce")
{
    client c = make();
    ca.reject_nonces = 3;
    c.new_account(*key, test::agreed());
    CHECK(ca.bad_nonces_sent == 3);
    CHECK(ca.new_nonce_requests == 1);
    CHECK(ca.posted_urls.size() == 4);
}

TEST_CASE_FIXTURE(fixture, "endless badNonce ends after the retry budget")
{
    retry_policy policy;
    policy.bad_nonce_retries = 2;
    client c = make(policy);
    ca.reject_nonces = 100;
    try {
        c.new_account(*key, test::agreed());
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == status::nonce_retries_exhausted);
    }
    CHECK(ca.bad_nonces_sent == 3);
}

TEST_CASE_FIXTURE(fixture, "a server problem becomes a typed error")
{
    client c = make();
    c.new_account(*key, test::agreed());
    try {
        c.fetch_order("https://ca.test/nowhere");
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == status::server_malformed);
        REQUIRE(e.server_problem());
        CHECK(e.server_problem()->detail == "no such resource");
        CHECK(e.server_problem()->http_status == 404);
        CHECK(std::string(e.what()).find("no such resource") !=
              std::string::npos);
    }
}

TEST_CASE_FIXTURE(fixture, "problems carry Retry-After and hostile text")
{
    test::scripted_transport limited([](const http_request& r) {
        http_response resp;
        if (r.method == "GET") {
            resp.status = 200;
            resp.body = R"({"newNonce":"https://x.test/n",
                "newAccount":"https://x.test/a",
                "newOrder":"https://x.test/o"})";
            return resp;
        }
        resp.status = r.method == "HEAD" ? 200 : 429;
        resp.headers = {{"Replay-Nonce", "n"},
                        {"Content-Type", "application/problem+json"},
                        {"Retry-After", "3600"}};
        resp.body = R"({"type":"urn:ietf:params:acme:error:rateLimited",
                        "detail":"too many\nnew\u001b[31m orders"})";
        return resp;
    });
    client c("https://x.test/dir", {&limited, &crypto, &time, nullptr});
    try {
        c.new_account(*key, test::agreed());
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == status::server_rate_limited);
        REQUIRE(e.retry_after());
        CHECK(*e.retry_after() == time.now() + std::chrono::hours(1));
        std::string message = e.what();
        CHECK(message.find('\n') == std::string::npos);
        CHECK(message.find('\x1b') == std::string::npos);
    }
}

TEST_CASE_FIXTURE(fixture, "a directory that is not JSON is a bad response")
{
    test::scripted_transport broken([](const http_request&) {
        http_response resp;
        resp.status = 200;
        resp.body = "<html>hello</html>";
        return resp;
    });
    client c("https://x.test/dir", {&broken, &crypto, &time, nullptr});
    CHECK_THROWS_AS(c.get_directory(), error);
    try {
        c.get_directory();
    } catch (const error& e) {
        CHECK(e.code() == status::bad_response);
    }
}

TEST_CASE_FIXTURE(fixture, "a missing directory names the URL")
{
    test::scripted_transport missing([](const http_request&) {
        http_response resp;
        resp.status = 404;
        return resp;
    });
    client c("https://x.test/nope", {&missing, &crypto, &time, nullptr});
    try {
        c.get_directory();
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == status::http_error);
        CHECK(std::string(e.what()) ==
              "directory: HTTP 404 from https://x.test/nope");
    }
}

TEST_CASE("a directory URL must be https")
{
    mbedtls_crypto crypto;
    test::fake_clock time;
    test::scripted_transport none(
        [](const http_request&) { return http_response{}; });
    CHECK_THROWS_AS(client("ftp://x.test/dir", {&none, &crypto, &time}), error);
    CHECK_THROWS_AS(client("http://x.test/dir", {&none, &crypto, &time}),
                    error);
    CHECK_THROWS_AS(client("https://x.test/dir", {nullptr, &crypto, &time}),
                    error);
}

TEST_CASE_FIXTURE(fixture, "URLs off the directory's origin are refused")
{
    for (std::string endpoint :
         {"http://x.test/a", "https://evil.test/a", "https://x.test.evil/a",
          "https://x.test:8443/a"}) {
        test::scripted_transport hostile([&](const http_request& r) {
            http_response resp;
            resp.status = 200;
            resp.headers = {{"Replay-Nonce", "n"}};
            if (r.method == "GET")
                resp.body = R"({"newNonce":"https://x.test/n",
                    "newOrder":"https://x.test/o",
                    "newAccount":")" +
                            endpoint + "\"}";
            return resp;
        });
        client c("https://x.test/dir", {&hostile, &crypto, &time, nullptr});
        try {
            c.new_account(*key, test::agreed());
            FAIL("accepted " << endpoint);
        } catch (const error& e) {
            CHECK(e.code() == status::bad_response);
            CHECK(std::string(e.what()).find("outside https://x.test") !=
                  std::string::npos);
        }
        for (const auto& r : hostile.requests)
            CHECK(r.url.rfind("https://x.test/", 0) == 0);
    }
}

TEST_CASE("server text is made safe for one line of a terminal")
{
    using acme::detail::printable;
    CHECK(printable("plain text") == "plain text");
    CHECK(printable("a\nb\x1b[2Jc\x7f") == "a b [2Jc ");
    CHECK(printable("caf\xc3\xa9") == "caf\xc3\xa9");
    CHECK(printable("csi\xc2\x9b"
                    "31m") == "csi 31m");
    CHECK(printable("bad\xff\xc3") == "bad??");
    std::string long_text(398, 'a');
    long_text += "\xc3\xa9\xc3\xa9";
    std::string cut = printable(long_text);
    CHECK(cut == std::string(398, 'a') + "\xc3\xa9...");
}

TEST_CASE_FIXTURE(fixture, "external account binding is an HMAC JWS over "
                           "the account key")
{
    namespace json = boost::json;
    client c = make();
    new_account_options options;
    options.terms_of_service_agreed = true;
    options.binding = make_external_account_binding("kid-1", "c2VjcmV0", "");
    c.new_account(*key, options);

    json::object payload = json::parse(ca.new_account_payload).as_object();
    const json::object& eab = payload.at("externalAccountBinding").as_object();
    auto text = [&](const char* member) {
        return std::string(eab.at(member).as_string());
    };
    auto header_bytes = detail::base64url_decode(text("protected")).value();
    json::object header =
        json::parse(std::string(header_bytes.begin(), header_bytes.end()))
            .as_object();
    CHECK(header.at("alg") == "HS256");
    CHECK(header.at("kid") == "kid-1");
    CHECK(header.at("url") == "https://ca.test/acct");
    CHECK_FALSE(header.contains("nonce"));

    auto jwk_bytes = detail::base64url_decode(text("payload")).value();
    CHECK(std::string(jwk_bytes.begin(), jwk_bytes.end()) ==
          json::serialize(detail::jwk_to_json(crypto.jwk(*key))));
    bytes mac = crypto.hmac(hmac_algorithm::sha256,
                            secret_bytes(std::string_view("secret")),
                            text("protected") + "." + text("payload"));
    CHECK(text("signature") == detail::base64url_encode(mac));
}

TEST_CASE_FIXTURE(fixture, "EAB keys are read in every base64 spelling")
{
    auto a = make_external_account_binding("k", "-_-_AQ", "HS384");
    auto b = make_external_account_binding("k", "+/+/AQ==", "HS384");
    CHECK(a.hmac_key.view() == b.hmac_key.view());
    CHECK(a.algorithm == hmac_algorithm::sha384);
    CHECK_THROWS_AS(make_external_account_binding("k", "!!", ""), error);
    CHECK_THROWS_AS(make_external_account_binding("", "AQ", ""), error);
    CHECK_THROWS_AS(make_external_account_binding("k", "AQ", "HS1"), error);
}
