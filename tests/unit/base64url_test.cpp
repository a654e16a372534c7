#include <doctest/doctest.h>

#include "detail/base64url.hpp"

using acme::detail::base64url_decode;
using acme::detail::base64url_encode;

TEST_CASE("base64url encodes the RFC 4648 test vectors without padding")
{
    CHECK(base64url_encode("") == "");
    CHECK(base64url_encode("f") == "Zg");
    CHECK(base64url_encode("fo") == "Zm8");
    CHECK(base64url_encode("foo") == "Zm9v");
    CHECK(base64url_encode("foob") == "Zm9vYg");
    CHECK(base64url_encode("fooba") == "Zm9vYmE");
    CHECK(base64url_encode("foobar") == "Zm9vYmFy");
}

TEST_CASE("base64url uses - and _ instead of + and /")
{
    const unsigned char bytes[] = {0xfb, 0xff, 0xbf};
    CHECK(base64url_encode(bytes, sizeof bytes) == "-_-_");
}

TEST_CASE("base64url decoding round-trips and rejects foreign characters")
{
    for (std::string text : {"", "a", "ab", "abc", "abcd", "hello world!"}) {
        auto decoded = base64url_decode(base64url_encode(text));
        REQUIRE(decoded);
        CHECK(std::string(decoded->begin(), decoded->end()) == text);
    }
    CHECK(base64url_decode("Zm9vYg==").value().size() == 4);
    CHECK_FALSE(base64url_decode("Zm9v+g"));
    CHECK_FALSE(base64url_decode("Zm9v/g"));
    CHECK_FALSE(base64url_decode("Z"));
    CHECK_FALSE(base64url_decode("Zm 9v"));
}

TEST_CASE("key material is accepted in either alphabet, padded or not")
{
    using acme::detail::base64_decode_any;
    const std::vector<std::uint8_t> bytes = {0xfb, 0xff, 0xbf, 0x01};
    CHECK(base64_decode_any("+/+/AQ==") == bytes);
    CHECK(base64_decode_any("-_-_AQ") == bytes);
    CHECK(base64_decode_any("  -_-_AQ==\n") == bytes);
    CHECK_FALSE(base64_decode_any("+/+/A!=="));
}
