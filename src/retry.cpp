#include "detail/retry.hpp"
#include "detail/civil_time.hpp"

#include <acmekit/policy.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>
#include <string>

namespace acme {

milliseconds retry_policy::next_delay(milliseconds wait) const
{
    auto grown = milliseconds(
        static_cast<milliseconds::rep>(wait.count() * backoff_factor));
    if (grown <= wait)
        grown = wait + milliseconds(1);
    return grown < max_poll ? grown : max_poll;
}

namespace detail {

namespace {

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// Reads exactly `digits` decimal digits at s[pos].
bool read_number(std::string_view s, std::size_t pos, std::size_t digits,
                 int& out)
{
    if (pos + digits > s.size())
        return false;
    out = 0;
    for (std::size_t i = pos; i < pos + digits; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(s[i])))
            return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

int month_index(std::string_view name)
{
    static const char* const months[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};
    for (int i = 0; i < 12; ++i)
        if (name == months[i])
            return i;
    return -1;
}

} // namespace

std::optional<std::int64_t> parse_http_date(std::string_view value)
{
    // "Sun, 06 Nov 1994 08:49:37 GMT": fixed width, 29 characters.
    value = trim(value);
    if (value.size() != 29 || value[3] != ',' || value[4] != ' ' ||
        value[7] != ' ' || value[11] != ' ' || value[16] != ' ' ||
        value[19] != ':' || value[22] != ':' || value.substr(25) != " GMT")
        return std::nullopt;

    std::tm tm{};
    int month = month_index(value.substr(8, 3));
    if (month < 0 || !read_number(value, 5, 2, tm.tm_mday) ||
        !read_number(value, 12, 4, tm.tm_year) ||
        !read_number(value, 17, 2, tm.tm_hour) ||
        !read_number(value, 20, 2, tm.tm_min) ||
        !read_number(value, 23, 2, tm.tm_sec))
        return std::nullopt;
    if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return std::nullopt;
    // In 64 bits: timegm() fails past 2038 where time_t has 32 bits.
    return detail::seconds_from_civil(tm.tm_year, month + 1, tm.tm_mday,
                                      tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::optional<clock::time_point> parse_retry_after(std::string_view value,
                                                   clock::time_point now)
{
    value = trim(value);
    if (value.empty())
        return std::nullopt;

    const std::int64_t limit =
        std::chrono::duration_cast<std::chrono::seconds>(max_retry_after)
            .count();
    bool all_digits = true;
    for (char c : value)
        all_digits = all_digits && std::isdigit(static_cast<unsigned char>(c));
    if (all_digits) {
        // Anything longer than ten digits is far past the limit anyway,
        // and skipping it keeps stoll from overflowing.
        std::int64_t seconds =
            value.size() > 10 ? limit : std::stoll(std::string(value));
        return now + std::chrono::seconds(std::min(seconds, limit));
    }

    auto date = parse_http_date(value);
    if (!date)
        return std::nullopt;
    std::int64_t now_seconds =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch())
            .count();
    std::int64_t wait = std::clamp<std::int64_t>(*date - now_seconds, 0, limit);
    return now + std::chrono::seconds(wait);
}

} // namespace detail
} // namespace acme
