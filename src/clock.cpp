#include <acmekit/clock.hpp>

#include <thread>

namespace acme {

clock::time_point system_clock::now()
{
    return std::chrono::system_clock::now();
}

void system_clock::sleep_until(time_point when)
{
    std::this_thread::sleep_until(when);
}

} // namespace acme
