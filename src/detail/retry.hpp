// Retry-After (RFC 9110 section 10.2.3): delay-seconds or an HTTP-date.
#pragma once

#include <acmekit/clock.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace acme::detail {

/// The longest wait a Retry-After may ask for; longer requests are cut to
/// this, which also keeps the time arithmetic far from overflow.
constexpr std::chrono::hours max_retry_after{24 * 366};

/// The time the header asks for, or nothing when the value is neither a
/// non-negative integer nor an IMF-fixdate. A date in the past gives now;
/// anything beyond max_retry_after gives now + max_retry_after.
std::optional<clock::time_point> parse_retry_after(std::string_view value,
                                                   clock::time_point now);

/// Parses an IMF-fixdate such as "Sun, 06 Nov 1994 08:49:37 GMT" into
/// seconds since the Unix epoch.
std::optional<std::int64_t> parse_http_date(std::string_view value);

} // namespace acme::detail
