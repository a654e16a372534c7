#include "detail/civil_time.hpp"

#include <fmt/format.h>

namespace acme::detail {

namespace {

constexpr std::int64_t seconds_per_day = 86400;
// Days in a 400-year cycle, and from 0000-03-01 to 1970-01-01.
constexpr std::int64_t days_per_era = 146097;
constexpr std::int64_t epoch_shift = 719468;

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

} // namespace

std::int64_t days_from_civil(std::int64_t year, int month, int day) noexcept
{
    // Years counted from March, so that the leap day ends the year.
    year -= month <= 2;
    std::int64_t era = floor_div(year, 400);
    std::int64_t year_of_era = year - era * 400;
    std::int64_t day_of_year =
        (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    std::int64_t day_of_era =
        year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * days_per_era + day_of_era - epoch_shift;
}

std::int64_t seconds_from_civil(std::int64_t year, int month, int day, int hour,
                                int minute, int second) noexcept
{
    return days_from_civil(year, month, day) * seconds_per_day + hour * 3600 +
           minute * 60 + second;
}

std::string utc_timestamp(std::int64_t seconds)
{
    std::int64_t days = floor_div(seconds, seconds_per_day);
    std::int64_t rest = seconds - days * seconds_per_day;

    // The inverse of days_from_civil.
    std::int64_t shifted = days + epoch_shift;
    std::int64_t era = floor_div(shifted, days_per_era);
    std::int64_t day_of_era = shifted - era * days_per_era;
    std::int64_t year_of_era = (day_of_era - day_of_era / 1460 +
                                day_of_era / 36524 - day_of_era / 146096) /
                               365;
    std::int64_t day_of_year =
        day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    std::int64_t month_index = (5 * day_of_year + 2) / 153;
    std::int64_t day = day_of_year - (153 * month_index + 2) / 5 + 1;
    std::int64_t month = month_index < 10 ? month_index + 3 : month_index - 9;
    std::int64_t year = year_of_era + era * 400 + (month <= 2);

    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", year, month, day,
                       rest / 3600, rest % 3600 / 60, rest % 60);
}

} // namespace acme::detail
