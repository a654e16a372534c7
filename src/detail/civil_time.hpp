// Calendar dates to seconds since the Unix epoch and back, in 64 bits, so
// that dates after 2038 work where time_t has 32 (armhf). Proleptic
// Gregorian calendar, UTC, no leap seconds.
#pragma once

#include <cstdint>
#include <string>

namespace acme::detail {

/// Days from 1970-01-01 to the date (month 1-12, day 1-31).
std::int64_t days_from_civil(std::int64_t year, int month, int day) noexcept;

/// Seconds since the epoch for a UTC date and time.
std::int64_t seconds_from_civil(std::int64_t year, int month, int day, int hour,
                                int minute, int second) noexcept;

/// "YYYY-MM-DDTHH:MM:SSZ" for seconds since the epoch.
std::string utc_timestamp(std::int64_t seconds);

} // namespace acme::detail
