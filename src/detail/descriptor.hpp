// File descriptors for the adapters that speak to the network: one owner
// that closes them, and waits that end at their deadline, also when
// signals interrupt them.
#pragma once

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <utility>

namespace acme::detail {

/// Owns one file descriptor and closes it; -1 is none.
class unique_fd {
public:
    unique_fd() = default;
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    unique_fd(unique_fd&& other) noexcept : fd_(other.release()) {}
    unique_fd& operator=(unique_fd&& other) noexcept
    {
        reset(other.release());
        return *this;
    }
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() { reset(); }

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    int release() noexcept { return std::exchange(fd_, -1); }
    void reset(int fd = -1) noexcept
    {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

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
