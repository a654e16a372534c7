#include <acmekit/renewal.hpp>

#include <acmekit/problem.hpp>

#include "detail/base64url.hpp"
#include "detail/json.hpp"

#include <fmt/format.h>

#include <cctype>
#include <optional>

namespace acme {

namespace {

constexpr std::string_view what = "renewal info";
constexpr std::int64_t seconds_per_day = 86400;

// Certificates living shorter than this renew halfway through rather than
// at two thirds, so that a failed renewal still leaves days to try again.
constexpr std::int64_t short_lifetime = 10 * seconds_per_day;

[[noreturn]] void bad(std::string_view why)
{
    throw error(status::bad_response, fmt::format("{}: {}", what, why));
}

// Reads exactly `digits` decimal digits at text[pos].
bool read_digits(std::string_view text, std::size_t pos, std::size_t digits,
                 int& out)
{
    if (pos + digits > text.size())
        return false;
    out = 0;
    for (std::size_t i = pos; i < pos + digits; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(text[i])))
            return false;
        out = out * 10 + (text[i] - '0');
    }
    return true;
}

int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

// Days from 1970-01-01 to a date of the proleptic Gregorian calendar.
// Counting years from March puts the leap day last, so a year's leap day
// never shifts the months before it; the extra 400 years (146097 days)
// keep every division on non-negative numbers even for year 0.
std::int64_t days_from_epoch(int year, int month, int day)
{
    std::int64_t y = (month <= 2 ? year - 1 : year) + 400;
    std::int64_t m = month <= 2 ? month + 9 : month - 3;
    std::int64_t days =
        365 * y + y / 4 - y / 100 + y / 400 + (153 * m + 2) / 5 + day - 1;

    // 0000-03-01 is day 0 of that count, 719468 days before 1970-01-01.
    return days - 146097 - 719468;
}

// RFC 3339 section 5.6 date-time: "YYYY-MM-DDTHH:MM:SS", an optional
// fraction, then "Z" or a "+HH:MM"/"-HH:MM" offset. The fraction is
// dropped: ARI windows are hours wide, and renewal runs on whole seconds.
std::optional<std::int64_t> parse_rfc3339(std::string_view text)
{
    int year = 0;
    int month = 0;
    int day = 0;
    int hour = 0;
    int minute = 0;
    int second = 0;
    if (text.size() < 20 || text[4] != '-' || text[7] != '-' ||
        (text[10] != 'T' && text[10] != 't') || text[13] != ':' ||
        text[16] != ':' || !read_digits(text, 0, 4, year) ||
        !read_digits(text, 5, 2, month) || !read_digits(text, 8, 2, day) ||
        !read_digits(text, 11, 2, hour) || !read_digits(text, 14, 2, minute) ||
        !read_digits(text, 17, 2, second))
        return std::nullopt;
    // Second 60 is a leap second; it counts as the next minute's first, the
    // way POSIX time has no room for it.
    if (month < 1 || month > 12 || day < 1 ||
        day > days_in_month(year, month) || hour > 23 || minute > 59 ||
        second > 60)
        return std::nullopt;

    std::size_t pos = 19;
    if (text[pos] == '.') {
        std::size_t first = ++pos;
        while (pos < text.size() &&
               std::isdigit(static_cast<unsigned char>(text[pos])))
            ++pos;
        if (pos == first)
            return std::nullopt;
    }

    std::int64_t offset = 0;
    std::string_view zone = text.substr(pos);
    if (zone != "Z" && zone != "z") {
        int offset_hour = 0;
        int offset_minute = 0;
        if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') ||
            zone[3] != ':' || !read_digits(zone, 1, 2, offset_hour) ||
            !read_digits(zone, 4, 2, offset_minute) || offset_hour > 23 ||
            offset_minute > 59)
            return std::nullopt;
        offset = (offset_hour * 60 + offset_minute) * 60;
        if (zone[0] == '-')
            offset = -offset;
    }

    std::int64_t local = days_from_epoch(year, month, day) * seconds_per_day +
                         hour * 3600 + minute * 60 + second;
    return local - offset;
}

std::int64_t get_timestamp(const boost::json::object& obj, std::string_view key)
{
    std::string text = detail::get_string(obj, key, what);
    std::optional<std::int64_t> seconds = parse_rfc3339(text);
    if (!seconds)
        bad(fmt::format("\"{}\" is not an RFC 3339 timestamp", key));
    return *seconds;
}

// The high 64 bits of a * b, from 32-bit halves: 32-bit targets have no
// 128-bit integer type.
std::uint64_t multiply_high(std::uint64_t a, std::uint64_t b)
{
    constexpr std::uint64_t low_mask = 0xffffffffu;
    std::uint64_t a_low = a & low_mask;
    std::uint64_t a_high = a >> 32;
    std::uint64_t b_low = b & low_mask;
    std::uint64_t b_high = b >> 32;

    std::uint64_t low_low = a_low * b_low;
    std::uint64_t high_low = a_high * b_low;
    std::uint64_t low_high = a_low * b_high;
    std::uint64_t high_high = a_high * b_high;

    // At most 2^64 - 1, so the carry into the high half is never lost.
    std::uint64_t middle = (low_low >> 32) + (high_low & low_mask) + low_high;
    return high_high + (high_low >> 32) + (middle >> 32);
}

} // namespace

std::string ari_certificate_id(const certificate_info& cert)
{
    if (cert.authority_key_id.empty())
        throw error(status::invalid_argument,
                    "ARI certificate ID: the certificate has no authority "
                    "key identifier");
    if (cert.serial.empty())
        throw error(status::invalid_argument,
                    "ARI certificate ID: the certificate has no serial number");

    return detail::base64url_encode(cert.authority_key_id) + "." +
           detail::base64url_encode(cert.serial);
}

renewal_window parse_renewal_info(std::string_view json)
{
    boost::json::object body = detail::parse_object(json, what);
    const boost::json::value* suggested = body.if_contains("suggestedWindow");
    if (suggested == nullptr)
        bad("missing \"suggestedWindow\"");
    if (!suggested->is_object())
        bad("\"suggestedWindow\" is not an object");

    renewal_window window;
    window.start = get_timestamp(suggested->as_object(), "start");
    window.end = get_timestamp(suggested->as_object(), "end");
    if (window.end < window.start)
        bad("the suggested window ends before it starts");

    window.explanation_url =
        detail::get_optional_string(body, "explanationURL", what);
    return window;
}

std::int64_t default_renewal_time(const certificate_info& cert)
{
    if (cert.not_after <= cert.not_before)
        return cert.not_after;

    // Unsigned, the difference cannot overflow even for extreme times, and
    // a third or a half of it fits back into the signed range.
    std::uint64_t lifetime = static_cast<std::uint64_t>(cert.not_after) -
                             static_cast<std::uint64_t>(cert.not_before);
    std::uint64_t left = lifetime < static_cast<std::uint64_t>(short_lifetime)
                             ? lifetime / 2
                             : lifetime / 3;
    return cert.not_after - static_cast<std::int64_t>(left);
}

std::int64_t pick_renewal_time(const renewal_window& window,
                               std::uint64_t random)
{
    if (window.end < window.start)
        throw error(status::invalid_argument,
                    "renewal window: the end is before the start");

    // Scaling random by the number of times in the window, rather than
    // taking a remainder, maps 0 to start and the largest value to end and
    // spreads the values evenly. Only the window of every int64_t has more
    // times than a 64-bit count holds; there random is the offset itself.
    std::uint64_t width = static_cast<std::uint64_t>(window.end) -
                          static_cast<std::uint64_t>(window.start);
    std::uint64_t count = width + 1;
    std::uint64_t offset = count == 0 ? random : multiply_high(random, count);
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(window.start) +
                                     offset);
}

} // namespace acme
