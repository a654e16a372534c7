// Retry-After (RFC 9110 section 10.2.3): delay-seconds or an HTTP-date.
#pragma once

#include <acmekit/clock.hpp>

#include <optional>
#include <string_view>

namespace acme::detail {

/// The time the header asks for, or nothing when the value is neither a
/// non-negative integer nor an IMF-fixdate. A date in the past gives now.
std::optional<clock::time_point> parse_retry_after(std::string_view value,
                                                   clock::time_point now);

/// Parses an IMF-fixdate such as "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<clock::time_point> parse_http_date(std::string_view value);

} // namespace acme::detail
