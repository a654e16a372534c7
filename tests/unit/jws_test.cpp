#include <doctest/doctest.h>

#include <acmekit/adapters/mbedtls_crypto.hpp>

#include "detail/base64url.hpp"
#include "detail/jws.hpp"
#include "scripted_transport.hpp"

namespace json = boost::json;
using namespace acme;

TEST_CASE("a jwk-signed JWS has the ACME shape and verifies")
{
    mbedtls_crypto crypto;
    auto key = crypto.generate_key(key_type::ec_p256);
    detail::jws_header header{"", "abc-nonce", "https://ca.test/new-acct"};
    std::string body =
        detail::sign_jws(crypto, *key, header, std::string(R"({"a":1})"));

    test::verified_jws jws = test::verify_jws(body, nullptr);
    CHECK(json::value_to<std::string>(jws.header.at("alg")) == "ES256");
    CHECK(json::value_to<std::string>(jws.header.at("nonce")) == "abc-nonce");
    CHECK(json::value_to<std::string>(jws.header.at("url")) ==
          "https://ca.test/new-acct");
    CHECK_FALSE(jws.header.contains("kid"));
    const json::object& jwk = jws.header.at("jwk").as_object();
    CHECK(jwk.size() == 4);
    CHECK(json::value_to<std::string>(jwk.at("kty")) == "EC");
    CHECK(jws.payload == R"({"a":1})");
}

TEST_CASE("a kid-signed POST-as-GET has an empty payload")
{
    mbedtls_crypto crypto;
    auto key = crypto.generate_key(key_type::ec_p256);
    public_jwk jwk = crypto.jwk(*key);
    detail::jws_header header{"https://ca.test/acct/1", "n1",
                              "https://ca.test/order/1"};
    std::string body = detail::sign_jws(crypto, *key, header, std::nullopt);

    json::object raw = json::parse(body).as_object();
    CHECK(json::value_to<std::string>(raw.at("payload")).empty());
    test::verified_jws jws = test::verify_jws(body, &jwk);
    CHECK(json::value_to<std::string>(jws.header.at("kid")) ==
          "https://ca.test/acct/1");
    CHECK_FALSE(jws.header.contains("jwk"));
    CHECK(jws.payload.empty());
}

TEST_CASE("a signature made by another key does not verify")
{
    mbedtls_crypto crypto;
    auto key = crypto.generate_key(key_type::ec_p256);
    auto other = crypto.generate_key(key_type::ec_p256);
    public_jwk other_jwk = crypto.jwk(*other);
    detail::jws_header header{"kid", "n", "https://ca.test/x"};
    std::string body = detail::sign_jws(crypto, *key, header, std::nullopt);
    CHECK_THROWS(test::verify_jws(body, &other_jwk));
}

TEST_CASE("the thumbprint follows RFC 7638")
{
    mbedtls_crypto crypto;

    // RFC 7638 section 3.1 gives this RSA key and its thumbprint.
    public_jwk rsa;
    rsa.kty = "RSA";
    rsa.e = "AQAB";
    rsa.n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAt"
            "VT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn6"
            "4tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FD"
            "W2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n9"
            "1CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINH"
            "aQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
    CHECK(detail::jwk_thumbprint(crypto, rsa) ==
          "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");

    // For EC keys the members are crv, kty, x, y in that order.
    public_jwk ec{"EC", "P-256", "xx", "yy", "", ""};
    std::string canonical = R"({"crv":"P-256","kty":"EC","x":"xx","y":"yy"})";
    CHECK(detail::jwk_thumbprint(crypto, ec) ==
          detail::base64url_encode(crypto.sha256(canonical)));
}
