#include <doctest/doctest.h>

#include "detail/json.hpp"

using acme::status;

TEST_CASE("every RFC 8555 problem type has its own status")
{
    const char* types[] = {"accountDoesNotExist",
                           "alreadyRevoked",
                           "badCSR",
                           "badNonce",
                           "badPublicKey",
                           "badRevocationReason",
                           "badSignatureAlgorithm",
                           "caa",
                           "compound",
                           "connection",
                           "dns",
                           "externalAccountRequired",
                           "incorrectResponse",
                           "invalidContact",
                           "malformed",
                           "orderNotReady",
                           "rateLimited",
                           "rejectedIdentifier",
                           "serverInternal",
                           "tls",
                           "unauthorized",
                           "unsupportedContact",
                           "unsupportedIdentifier",
                           "userActionRequired"};
    std::vector<status> seen;
    for (const char* t : types) {
        status s = acme::status_for_problem_type(
            std::string("urn:ietf:params:acme:error:") + t);
        CHECK_MESSAGE(s != status::server_other, t);
        CHECK(std::find(seen.begin(), seen.end(), s) == seen.end());
        seen.push_back(s);
    }
    CHECK(acme::status_for_problem_type("urn:ietf:params:acme:error:bogus") ==
          status::server_other);
    CHECK(acme::status_for_problem_type("about:blank") == status::server_other);
}

TEST_CASE("a problem document is parsed with its subproblems")
{
    auto obj = acme::detail::parse_object(R"({
        "type": "urn:ietf:params:acme:error:rejectedIdentifier",
        "detail": "Some of the identifiers are unacceptable",
        "status": 403,
        "subproblems": [
            {"type": "urn:ietf:params:acme:error:malformed",
             "detail": "Invalid underscore in DNS name \"_example.org\"",
             "identifier": {"type": "dns", "value": "_example.org"}},
            {"type": "urn:ietf:params:acme:error:rejectedIdentifier",
             "detail": "This CA will not issue for \"example.net\"",
             "identifier": {"type": "dns", "value": "example.net"}},
            "not an object"
        ]})",
                                          "test");
    acme::problem p = acme::detail::parse_problem(obj, 400);
    CHECK(p.short_type() == "rejectedIdentifier");
    CHECK(p.http_status == 403);
    CHECK(p.detail == "Some of the identifiers are unacceptable");
    REQUIRE(p.subproblems.size() == 2);
    CHECK(p.subproblems[0].type == "urn:ietf:params:acme:error:malformed");
    REQUIRE(p.subproblems[1].id);
    CHECK(p.subproblems[1].id->value == "example.net");
}

TEST_CASE("a broken problem document still yields a problem")
{
    auto obj = acme::detail::parse_object(
        R"({"type": 7, "detail": ["x"], "subproblems": "none"})", "test");
    acme::problem p = acme::detail::parse_problem(obj, 500);
    CHECK(p.type.empty());
    CHECK(p.detail.empty());
    CHECK(p.http_status == 500);
    CHECK(p.subproblems.empty());
}

TEST_CASE("every status has a description")
{
    for (int code = 0; code <= 124; ++code) {
        const char* text = acme::status_string(static_cast<status>(code));
        REQUIRE(text != nullptr);
        CHECK(std::string(text).size() > 0);
    }
    CHECK(std::string(acme::status_string(status::server_rate_limited)) ==
          "rate limited");
}
