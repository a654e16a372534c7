// How long and how often acmekit waits and retries. Defaults are named
// constants so that the documentation and the tests can refer to them.
#pragma once

#include <chrono>

namespace acme {

using std::chrono::milliseconds;

struct retry_policy {
    /// Delay before the first poll after a challenge is answered or an
    /// order is finalized.
    static constexpr milliseconds default_first_poll{20};
    /// Each further poll waits this many times longer...
    static constexpr double default_backoff_factor = 2.0;
    /// ...up to this delay between polls.
    static constexpr milliseconds default_max_poll{5000};
    /// How long validation or certificate processing may take in all.
    static constexpr milliseconds default_poll_deadline{300000};
    /// How many times a request refused with badNonce is sent again.
    static constexpr int default_bad_nonce_retries = 5;

    milliseconds first_poll = default_first_poll;
    double backoff_factor = default_backoff_factor;
    milliseconds max_poll = default_max_poll;
    milliseconds poll_deadline = default_poll_deadline;
    int bad_nonce_retries = default_bad_nonce_retries;

    /// The delay after wait, grown by the backoff factor and capped.
    milliseconds next_delay(milliseconds wait) const;
};

} // namespace acme
