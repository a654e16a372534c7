// The whole issuance against the scripted CA: the states Pebble reaches
// only by chance (Retry-After, long processing, failed validation, exact
// request counts) are forced here.
#include <doctest/doctest.h>

#include <acmekit/adapters/mbedtls_crypto.hpp>
#include <acmekit/client.hpp>
#include <acmekit/dns.hpp>

#include "scripted_transport.hpp"

using namespace acme;
using namespace std::chrono;

namespace {

class recording_solver final : public challenge_solver {
public:
    bool handles(const std::string& type) const override
    {
        return type == "http-01";
    }
    void present(const challenge_task& task) override
    {
        presented.push_back(task);
        if (fail_present)
            throw error(status::solver_failed, "cannot publish");
    }
    void cleanup(const challenge_task& task) noexcept override
    {
        cleaned.push_back(task.token);
    }

    bool fail_present = false;
    std::vector<challenge_task> presented;
    std::vector<std::string> cleaned;
};

struct fixture : test::ca_fixture {
    recording_solver solver;
    client acme_client{std::string(test::fake_ca::base) + "/dir",
                       {&http, &crypto, &time, nullptr}};

    fixture() { acme_client.new_account(*key, test::agreed()); }

    issued_certificate issue(std::vector<std::string> names)
    {
        issue_request request;
        request.names = std::move(names);
        return issue_certificate(acme_client, request, solver);
    }

    int posts_to(const std::string& url)
    {
        int n = 0;
        for (const auto& u : ca.posted_urls)
            n += u == url;
        return n;
    }
};

} // namespace

TEST_CASE_FIXTURE(fixture, "two names are issued, solved together")
{
    issued_certificate cert = issue({"a.example.com", "b.example.com"});
    CHECK(cert.chain_pem.rfind("-----BEGIN CERTIFICATE-----", 0) == 0);
    CHECK(cert.certificate_url == "https://ca.test/cert");
    CHECK(cert.key_pem.view().find("PRIVATE KEY") != std::string_view::npos);
    CHECK_FALSE(ca.csr.empty());

    REQUIRE(solver.presented.size() == 2);
    CHECK(solver.presented[0].type == "http-01");
    CHECK(solver.presented[0].key_authorization ==
          "tok0." + acme_client.account_thumbprint());
    CHECK(solver.cleaned == std::vector<std::string>{"tok0", "tok1"});
    CHECK(ca.challenge_answers == 2);

    // The order is polled, not each authorization: two fetches to find the
    // challenges, then one order poll is enough here.
    CHECK(posts_to("https://ca.test/authz/0") == 1);
    CHECK(posts_to("https://ca.test/order/1") == 1);
    CHECK(ca.new_nonce_requests == 1);
}

TEST_CASE_FIXTURE(fixture, "the first poll comes soon, then backs off")
{
    ca.pending_polls = 3;
    clock::time_point start = time.now();
    issue({"a.example.com"});
    REQUIRE(time.sleeps.size() >= 4);
    CHECK(time.sleeps[0] - start == retry_policy::default_first_poll);
    auto gap1 = time.sleeps[1] - time.sleeps[0];
    auto gap2 = time.sleeps[2] - time.sleeps[1];
    CHECK(gap2 > gap1);
}

TEST_CASE_FIXTURE(fixture, "Retry-After sets the next poll time")
{
    ca.pending_polls = 1;
    ca.retry_after = "7";
    issue({"a.example.com"});
    REQUIRE(time.sleeps.size() >= 2);
    CHECK(time.sleeps[1] - time.sleeps[0] == seconds(7));
}

TEST_CASE_FIXTURE(fixture, "Retry-After: 0 does not shorten the backoff")
{
    ca.pending_polls = 12;
    ca.retry_after = "0";
    issue({"a.example.com"});
    REQUIRE(time.sleeps.size() >= 12);
    for (std::size_t i = 2; i < 12; ++i)
        CHECK(time.sleeps[i] - time.sleeps[i - 1] >=
              time.sleeps[i - 1] - time.sleeps[i - 2]);
}

TEST_CASE_FIXTURE(fixture, "a Retry-After past the deadline ends the wait")
{
    ca.pending_polls = 5;
    ca.retry_after = "3600";
    try {
        issue({"a.example.com"});
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == status::timeout);
        REQUIRE(e.retry_after());
        CHECK(std::string(e.what()).find("asks to wait") != std::string::npos);
        CHECK_FALSE(e.server_problem());
    }
    CHECK(time.sleeps.size() == 1);
}

TEST_CASE_FIXTURE(fixture, "processing orders are polled until valid")
{
    ca.processing_polls = 4;
    issued_certificate cert = issue({"a.example.com"});
    CHECK_FALSE(cert.chain_pem.empty());
    CHECK(posts_to("https://ca.test/order/1") >= 5);
}

TEST_CASE_FIXTURE(fixture, "valid authorizations are not solved again")
{
    ca.already_valid = 1;
    issue({"a.example.com", "b.example.com"});
    REQUIRE(solver.presented.size() == 1);
    CHECK(solver.presented[0].identifier == "b.example.com");
    CHECK(ca.challenge_answers == 1);
}

TEST_CASE_FIXTURE(fixture, "an order with nothing to solve goes to finalize")
{
    ca.already_valid = 2;
    issue({"a.example.com", "b.example.com"});
    CHECK(solver.presented.empty());
    CHECK(ca.challenge_answers == 0);
}

TEST_CASE_FIXTURE(fixture, "failed validation reports the challenge problem")
{
    ca.fail_validation = true;
    try {
        issue({"a.example.com"});
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == status::authorization_invalid);
        REQUIRE(e.server_problem());
        CHECK(e.server_problem()->short_type() == "connection");
        CHECK(std::string(e.what()).find("a.example.com") != std::string::npos);
    }
    CHECK(solver.cleaned == std::vector<std::string>{"tok0"});
}

TEST_CASE_FIXTURE(fixture, "cleanup runs even when present fails")
{
    solver.fail_present = true;
    CHECK_THROWS_AS(issue({"a.example.com", "b.example.com"}), error);
    CHECK(solver.cleaned == std::vector<std::string>{"tok0"});
    CHECK(ca.challenge_answers == 0);
}

TEST_CASE_FIXTURE(fixture, "a CA that never finishes hits the deadline")
{
    ca.pending_polls = 1000000;
    clock::time_point start = time.now();
    try {
        issue({"a.example.com"});
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == status::timeout);
    }
    CHECK(time.now() - start <= retry_policy::default_poll_deadline);
    CHECK(solver.cleaned.size() == 1);
}

TEST_CASE_FIXTURE(fixture, "bad names fail before any request")
{
    std::size_t before = http.requests.size();
    CHECK_THROWS_AS(issue({"ok.example.com", "bad_name..example"}), error);
    CHECK_THROWS_AS(issue({"a.example.com", "A.example.com"}), error);
    CHECK_THROWS_AS(issue({}), error);
    CHECK(http.requests.size() == before);
}

TEST_CASE_FIXTURE(fixture, "badNonce during the flow is absorbed")
{
    ca.reject_nonces = 2;
    CHECK_NOTHROW(issue({"a.example.com"}));
    CHECK(ca.bad_nonces_sent == 2);
}

TEST_CASE_FIXTURE(fixture, "an order for names not requested is refused")
{
    ca.extra_name = "victim.example";
    try {
        issue({"a.example.com"});
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == status::bad_response);
    }
    CHECK(solver.presented.empty());
}

TEST_CASE_FIXTURE(fixture, "tokens unsafe for a URL or a file are refused")
{
    for (std::string token :
         {std::string("../../x"), std::string("a/b"), std::string("a%2fb"),
          std::string("a\0b", 3), std::string(257, 'a')}) {
        test::fake_ca fresh;
        fresh.token = token;
        test::scripted_transport http2(
            [&](const http_request& r) { return fresh.handle(r); });
        client c(std::string(test::fake_ca::base) + "/dir",
                 {&http2, &crypto, &time, nullptr});
        c.new_account(*key, test::agreed());
        issue_request request;
        request.names = {"a.example.com"};
        recording_solver local;
        CHECK_THROWS_AS(issue_certificate(c, request, local), error);
        CHECK(local.presented.empty());
    }
    CHECK(valid_challenge_token(std::string(256, 'a')));
    CHECK(valid_challenge_token("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"));
}

TEST_CASE_FIXTURE(fixture, "a chain that does not match the order is refused")
{
    SUBCASE("names differ")
    {
        ca.cert_extra_name = "victim.example";
    }
    SUBCASE("not PEM")
    {
        ca.cert_body = "-----BEGIN CERTIFICATE-----\nxx\n";
    }
    SUBCASE("binary")
    {
        ca.cert_body = std::string("-----BEGIN CERTIFICATE-----\n\0", 29);
    }
    SUBCASE("another key")
    {
        // A valid certificate, but for a key the client never made.
        fixture other;
        ca.cert_body = other.issue({"a.example.com"}).chain_pem;
    }
    try {
        issue({"a.example.com"});
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == status::bad_response);
        CHECK(std::string(e.what()).find("certificate") != std::string::npos);
    }
}

TEST_CASE_FIXTURE(fixture, "the issued chain is read back")
{
    issued_certificate cert = issue({"a.example.com", "b.example.com"});
    auto chain = crypto.parse_chain(cert.chain_pem);
    REQUIRE(chain.size() == 1);
    CHECK(chain[0].dns_names ==
          std::vector<std::string>{"a.example.com", "b.example.com"});
    CHECK(chain[0].issuer == "CN=fake CA");
    CHECK(chain[0].not_after == 1893456000);
    CHECK(chain[0].serial == bytes{0x10, 0x92});
}

TEST_CASE_FIXTURE(fixture, "a wildcard with an HTTP-01 solver fails first")
{
    std::size_t before = http.requests.size();
    try {
        issue({"test.example.com", "*.test.example.com"});
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == status::unsupported);
        CHECK(std::string(e.what()).find("dns-01") != std::string::npos);
    }
    CHECK(http.requests.size() == before);
}

namespace {

class recording_dns_solver final : public challenge_solver {
public:
    bool handles(const std::string& type) const override
    {
        return type == "dns-01";
    }
    void present(const challenge_task& task) override
    {
        presented.push_back(task);
    }
    void cleanup(const challenge_task&) noexcept override {}

    std::vector<challenge_task> presented;
};

} // namespace

TEST_CASE_FIXTURE(fixture, "DNS-01 tasks carry the TXT value")
{
    recording_dns_solver dns;
    issue_request request;
    request.names = {"a.example.com"};
    issue_certificate(acme_client, request, dns);
    REQUIRE(dns.presented.size() == 1);
    const challenge_task& task = dns.presented[0];
    CHECK(task.type == "dns-01");
    CHECK(task.token == "tok0d");
    CHECK(task.dns_value == dns01_txt_value(crypto, task.key_authorization));
}

TEST_CASE("the TXT value of a known key authorization")
{
    mbedtls_crypto crypto;
    CHECK(dns01_txt_value(crypto,
                          "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA."
                          "9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI") ==
          "lCM7cZyQXcVHK2nnW3jjAhNT3Fvm18UN-kWZZknKoYM");
}

TEST_CASE_FIXTURE(fixture, "the callback form of HTTP-01 publishes and "
                           "withdraws every token")
{
    std::vector<std::string> published, withdrawn;
    http01_callback_solver callbacks(
        [&](const challenge_task& t) {
            published.push_back(t.identifier + " " + t.token + " " +
                                t.key_authorization);
        },
        [&](const challenge_task& t) { withdrawn.push_back(t.token); });
    issue_request request;
    request.names = {"a.example.com", "b.example.com"};
    issue_certificate(acme_client, request, callbacks);
    std::string thumbprint = acme_client.account_thumbprint();
    CHECK(published ==
          std::vector<std::string>{"a.example.com tok0 tok0." + thumbprint,
                                   "b.example.com tok1 tok1." + thumbprint});
    CHECK(withdrawn == std::vector<std::string>{"tok0", "tok1"});
}
