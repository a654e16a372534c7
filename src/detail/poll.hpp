// Polling a resource until it leaves a transient state (RFC 8555 section
// 7.5.1 and 7.4): the first poll comes soon, later ones back off, a
// Retry-After from the server wins, and an overall deadline ends it.
#pragma once

#include <acmekit/client.hpp>

#include <fmt/format.h>

namespace acme::detail {

/// A hard bound on polls, whatever the clock says, so that a clock that
/// never advances cannot make the loop endless.
constexpr int max_polls = 10000;

/// Calls fetch() until done(resource) holds. fetch returns polled<R>.
template <typename Fetch, typename Done>
auto poll_until(clock& time, const retry_policy& policy, std::string_view what,
                std::optional<clock::time_point> retry_after, Fetch fetch,
                Done done) -> decltype(fetch().resource)
{
    const clock::time_point deadline = time.now() + policy.poll_deadline;
    milliseconds wait = policy.first_poll;

    for (int polls = 0; polls < max_polls; ++polls) {
        // Retry-After may only lengthen the wait: a server asking for 0
        // must not turn the loop into a flood of signed requests.
        clock::time_point next = time.now() + wait;
        if (retry_after && *retry_after > next)
            next = *retry_after;
        if (next > deadline)
            throw error(status::timeout,
                        retry_after && *retry_after == next
                            ? fmt::format("{}: the server asks to wait past "
                                          "the {} ms deadline",
                                          what, policy.poll_deadline.count())
                            : fmt::format("{}: still not done after {} ms",
                                          what, policy.poll_deadline.count()),
                        std::nullopt, retry_after);
        time.sleep_until(next);

        auto result = fetch();
        if (done(result.resource))
            return std::move(result.resource);
        retry_after = result.retry_after;
        wait = policy.next_delay(wait);
    }
    throw error(
        status::timeout,
        fmt::format("{}: still not done after {} polls", what, max_polls));
}

} // namespace acme::detail
