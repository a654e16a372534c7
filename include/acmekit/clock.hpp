// Time, injected so that tests control it. The core never reads the system
// clock or sleeps on its own.
#pragma once

#include <chrono>

namespace acme {

class clock {
public:
    using time_point = std::chrono::system_clock::time_point;

    virtual ~clock() = default;
    virtual time_point now() = 0;
    virtual void sleep_until(time_point when) = 0;
};

/// The wall clock and a real sleep.
class system_clock final : public clock {
public:
    time_point now() override;
    void sleep_until(time_point when) override;
};

} // namespace acme
