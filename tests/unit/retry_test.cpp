#include <doctest/doctest.h>

#include <acmekit/policy.hpp>

#include "detail/retry.hpp"

using namespace std::chrono;
using acme::detail::parse_http_date;
using acme::detail::parse_retry_after;

namespace {
const system_clock::time_point now = system_clock::from_time_t(1700000000);
}

TEST_CASE("Retry-After in seconds is counted from now")
{
    CHECK(parse_retry_after("0", now) == now);
    CHECK(parse_retry_after("120", now) == now + seconds(120));
    CHECK(parse_retry_after("  7 ", now) == now + seconds(7));
}

TEST_CASE("Retry-After as an HTTP date")
{
    // 1994-11-06 08:49:37 UTC is 784111777 seconds after the epoch.
    auto date = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT");
    REQUIRE(date);
    CHECK(*date == 784111777);

    auto later = parse_retry_after("Wed, 15 Nov 2023 00:00:00 GMT", now);
    REQUIRE(later);
    CHECK(system_clock::to_time_t(*later) == 1700006400);

    // A date already past means "now", not a negative wait.
    CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now) == now);
}

TEST_CASE("malformed Retry-After values are ignored")
{
    CHECK_FALSE(parse_retry_after("", now));
    CHECK_FALSE(parse_retry_after("-5", now));
    CHECK_FALSE(parse_retry_after("1.5", now));
    CHECK_FALSE(parse_retry_after("soon", now));
    CHECK_FALSE(parse_retry_after("Sun, 06 Nov 1994 08:49:37 UTC", now));
    CHECK_FALSE(parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT", now));
    CHECK_FALSE(parse_retry_after("Sun, 36 Nov 1994 08:49:37 GMT", now));
    CHECK_FALSE(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now));
}

TEST_CASE("absurd Retry-After values are cut to the limit")
{
    using acme::detail::max_retry_after;
    CHECK(parse_retry_after("9999999999", now) == now + max_retry_after);
    CHECK(parse_retry_after("99999999999999999999", now) ==
          now + max_retry_after);
    CHECK(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now) ==
          now + max_retry_after);
    CHECK(parse_retry_after("86400", now) == now + hours(24));
}

TEST_CASE("poll delays grow by the backoff factor up to the cap")
{
    acme::retry_policy policy;
    CHECK(policy.first_poll == acme::retry_policy::default_first_poll);
    CHECK(policy.next_delay(milliseconds(20)) == milliseconds(40));
    CHECK(policy.next_delay(milliseconds(40)) == milliseconds(80));
    CHECK(policy.next_delay(milliseconds(4000)) == policy.max_poll);
    CHECK(policy.next_delay(policy.max_poll) == policy.max_poll);

    policy.backoff_factor = 1.0;
    CHECK(policy.next_delay(milliseconds(10)) == milliseconds(11));
}
