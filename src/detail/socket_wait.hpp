// Bounded waits on a socket for the adapters that speak to the network:
// every wait ends at its deadline, also when signals interrupt it.
#pragma once

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

namespace acme::detail {

/// What is left until `deadline`, as poll() takes it: rounded up, so that
/// a wait never ends before its deadline and blames the wrong limit; 0
/// once the deadline has passed.
inline int poll_timeout_ms(std::chrono::steady_clock::time_point deadline)
{
    auto left = std::chrono::ceil<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::clamp<long long>(left.count(), 0, 1 << 30));
}

/// Waits for `events` on fd until `deadline`; false on timeout. EINTR is
/// retried against the same deadline. On an error it returns true: the
/// next call on fd reports that error with its own context.
inline bool wait_ready(int fd, short events,
                       std::chrono::steady_clock::time_point deadline)
{
    for (;;) {
        pollfd watch{fd, events, 0};
        int ready = ::poll(&watch, 1, poll_timeout_ms(deadline));
        if (ready > 0)
            return true;
        if (ready == 0)
            return false;
        if (errno != EINTR)
            return true;
    }
}

} // namespace acme::detail
