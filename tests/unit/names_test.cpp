#include <doctest/doctest.h>

#include <acmekit/client.hpp>

using acme::validate_dns_name;

TEST_CASE("ordinary and wildcard names are accepted")
{
    CHECK_NOTHROW(validate_dns_name("example.com"));
    CHECK_NOTHROW(validate_dns_name("a-b.c1.example.com"));
    CHECK_NOTHROW(validate_dns_name("*.example.com"));
    CHECK_NOTHROW(validate_dns_name("xn--bcher-kva.example"));
    CHECK_NOTHROW(validate_dns_name("123.example.com"));
    CHECK_NOTHROW(validate_dns_name("1.2.3.example"));
}

TEST_CASE("names that no CA would issue for are refused locally")
{
    for (std::string bad : std::vector<std::string>{
             "", "*.", "localhost", "bad_name..example", "a..b", "-a.com",
             "a-.com", "a.com.", "*.*.example.com", "a b.com", "exa/mple.com",
             "127.0.0.1", "10.1.2.3", "*.1.2.3.4", "example.123",
             std::string(64, 'a') + ".com", std::string(250, 'a') + ".com"}) {
        try {
            validate_dns_name(bad);
            FAIL("accepted " << bad);
        } catch (const acme::error& e) {
            CHECK(e.code() == acme::status::invalid_argument);
            CHECK(std::string(e.what()).find("invalid domain name") == 0);
        }
    }
}
