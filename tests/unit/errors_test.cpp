// Error answers Pebble never gives, forced through the scripted CA: rate
// limits with Retry-After, userActionRequired, subproblems, a badNonce
// without a fresh nonce, and a server error in the middle of an order.
#include <doctest/doctest.h>

#include <acmekit/client.hpp>

#include "scripted_transport.hpp"

#include <functional>

using namespace acme;
using namespace std::chrono;

namespace {

http_response problem_reply(int status, const std::string& body,
                            std::vector<http_header> extra = {})
{
    http_response r;
    r.status = status;
    r.headers = std::move(extra);
    r.headers.push_back({"Content-Type", "application/problem+json"});
    r.body = body;
    return r;
}

// The scripted CA, except where `fault` returns an answer of its own.
struct faulty : test::ca_fixture {
    std::function<std::optional<http_response>(const http_request&)> fault;
    test::scripted_transport faulty_http{[this](const http_request& r) {
        if (fault)
            if (auto answer = fault(r))
                return *answer;
        return ca.handle(r);
    }};
    client acme_client{std::string(test::fake_ca::base) + "/dir",
                       {&faulty_http, &crypto, &time, nullptr}};

    error order_error()
    {
        acme_client.new_account(*key, test::agreed());
        try {
            acme_client.new_order({{"dns", "a.example.com"}});
        } catch (const error& e) {
            return e;
        }
        FAIL("no error");
        return error(status::ok, "");
    }
};

bool is_new_order(const http_request& r)
{
    return r.method == "POST" && r.url == "https://ca.test/order";
}

} // namespace

TEST_CASE_FIXTURE(faulty, "rateLimited with Retry-After in seconds")
{
    fault = [](const http_request& r) -> std::optional<http_response> {
        if (!is_new_order(r))
            return std::nullopt;
        return problem_reply(
            429,
            R"({"type":"urn:ietf:params:acme:error:rateLimited",)"
            R"("detail":"too many new orders"})",
            {{"Retry-After", "120"}, {"Replay-Nonce", "n429"}});
    };
    error e = order_error();
    CHECK(e.code() == status::server_rate_limited);
    REQUIRE(e.retry_after());
    CHECK(*e.retry_after() == time.now() + seconds(120));
}

TEST_CASE_FIXTURE(faulty, "rateLimited with Retry-After as an HTTP date")
{
    // The fake clock stands at 2023-11-14 22:13:20 UTC.
    fault = [](const http_request& r) -> std::optional<http_response> {
        if (!is_new_order(r))
            return std::nullopt;
        return problem_reply(
            429, R"({"type":"urn:ietf:params:acme:error:rateLimited"})",
            {{"Retry-After", "Tue, 14 Nov 2023 23:13:20 GMT"}});
    };
    error e = order_error();
    CHECK(e.code() == status::server_rate_limited);
    REQUIRE(e.retry_after());
    CHECK(*e.retry_after() == time.now() + hours(1));
    // Told when to come back, not retried: one newOrder only.
    int orders = 0;
    for (const auto& r : faulty_http.requests)
        orders += is_new_order(r);
    CHECK(orders == 1);
}

TEST_CASE_FIXTURE(faulty, "userActionRequired carries the page to visit")
{
    fault = [](const http_request& r) -> std::optional<http_response> {
        if (!is_new_order(r))
            return std::nullopt;
        return problem_reply(
            403, R"({"type":"urn:ietf:params:acme:error:userActionRequired",)"
                 R"("detail":"Terms of service have changed",)"
                 R"("instance":"https://ca.test/agree-again"})");
    };
    error e = order_error();
    CHECK(e.code() == status::server_user_action_required);
    REQUIRE(e.server_problem());
    CHECK(e.server_problem()->instance == "https://ca.test/agree-again");
}

TEST_CASE_FIXTURE(faulty, "subproblems arrive per identifier")
{
    fault = [](const http_request& r) -> std::optional<http_response> {
        if (!is_new_order(r))
            return std::nullopt;
        return problem_reply(400, R"({
            "type": "urn:ietf:params:acme:error:rejectedIdentifier",
            "detail": "Some identifiers were rejected",
            "subproblems": [{
                "type": "urn:ietf:params:acme:error:caa",
                "detail": "CAA forbids issuance",
                "identifier": {"type": "dns", "value": "a.example.com"}}]})");
    };
    error e = order_error();
    CHECK(e.code() == status::server_rejected_identifier);
    REQUIRE(e.server_problem());
    REQUIRE(e.server_problem()->subproblems.size() == 1);
    const subproblem& sub = e.server_problem()->subproblems[0];
    CHECK(status_for_problem_type(sub.type) == status::server_caa);
    CHECK(sub.id->value == "a.example.com");
}

TEST_CASE_FIXTURE(faulty, "badNonce without a fresh nonce asks newNonce")
{
    int rejected = 0;
    fault = [&](const http_request& r) -> std::optional<http_response> {
        if (!is_new_order(r) || rejected++ > 0)
            return std::nullopt;
        return problem_reply(
            400, R"({"type":"urn:ietf:params:acme:error:badNonce"})");
    };
    acme_client.new_account(*key, test::agreed());
    int heads_before = ca.new_nonce_requests;
    CHECK_NOTHROW(acme_client.new_order({{"dns", "a.example.com"}}));
    CHECK(rejected == 2);
    CHECK(ca.new_nonce_requests == heads_before + 1);
}

TEST_CASE_FIXTURE(faulty, "a 503 in the middle of an order ends it cleanly")
{
    fault = [](const http_request& r) -> std::optional<http_response> {
        if (r.url != "https://ca.test/order/1")
            return std::nullopt;
        http_response busy;
        busy.status = 503;
        busy.headers = {{"Retry-After", "30"}};
        busy.body = "Service Unavailable";
        return busy;
    };
    struct counting final : challenge_solver {
        int presented = 0, cleaned = 0;
        bool handles(const std::string& t) const override
        {
            return t == "http-01";
        }
        void present(const challenge_task&) override { ++presented; }
        void cleanup(const challenge_task&) noexcept override { ++cleaned; }
    } solver;
    acme_client.new_account(*key, test::agreed());
    issue_request request;
    request.names = {"a.example.com"};
    try {
        issue_certificate(acme_client, request, solver);
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == status::http_error);
        REQUIRE(e.retry_after());
        CHECK(*e.retry_after() == time.now() + seconds(30));
        CHECK(std::string(e.what()).find("503") != std::string::npos);
    }
    CHECK(solver.presented == 1);
    CHECK(solver.cleaned == 1);
}
