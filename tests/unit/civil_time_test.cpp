// Dates in 64 bits, also past 2038 where time_t has 32 bits (armhf).
#include <doctest/doctest.h>

#include "detail/civil_time.hpp"

using namespace acme::detail;

TEST_CASE("calendar dates map to epoch seconds and back past 2038")
{
    CHECK(seconds_from_civil(1970, 1, 1, 0, 0, 0) == 0);
    CHECK(days_from_civil(2000, 2, 29) == 11016);
    CHECK(days_from_civil(2000, 3, 1) == 11017);
    CHECK(seconds_from_civil(2038, 1, 19, 3, 14, 8) == 2147483648LL);
    CHECK(seconds_from_civil(9999, 12, 31, 23, 59, 59) == 253402300799LL);
    CHECK(seconds_from_civil(1969, 12, 31, 23, 59, 59) == -1);

    CHECK(utc_timestamp(0) == "1970-01-01T00:00:00Z");
    CHECK(utc_timestamp(-1) == "1969-12-31T23:59:59Z");
    CHECK(utc_timestamp(2147483648LL) == "2038-01-19T03:14:08Z");
    CHECK(utc_timestamp(253402300799LL) == "9999-12-31T23:59:59Z");
    CHECK(utc_timestamp(951782400) == "2000-02-29T00:00:00Z");

    // Every day over four centuries and back.
    for (std::int64_t day = -200000; day < 200000; day += 97) {
        std::string text = utc_timestamp(day * 86400);
        std::int64_t year = std::stoll(text.substr(0, text.size() - 16));
        int month = std::stoi(text.substr(text.size() - 15, 2));
        int mday = std::stoi(text.substr(text.size() - 12, 2));
        CHECK(days_from_civil(year, month, mday) == day);
    }
}
