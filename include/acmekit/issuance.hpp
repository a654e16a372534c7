// An issuance driven step by step, for firmware that runs its own event
// loop: step() never sleeps. It makes the requests the current state needs
// and says what the host does next: present challenges, call again at a
// time, or take the certificate. acme::issue_certificate() is the
// blocking loop over it.
#pragma once

#include <acmekit/client.hpp>
#include <acmekit/storage.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace acme {

enum class next_step {
    solve, ///< present outcome.solve, then call challenges_presented()
    wait,  ///< call step() again at or after outcome.when
    done,  ///< take_certificate() hands the result over
    failed ///< outcome.failure says why; withdraw every presented task
};

const char* to_string(next_step step) noexcept;

struct step_outcome {
    next_step what = next_step::wait;
    clock::time_point when{};
    /// solve: the challenges to present (and wait until visible).
    std::vector<challenge_task> solve;
    /// Challenges whose validation is over: the host may withdraw them
    /// now. Reported once.
    std::vector<challenge_task> release;
    std::optional<error> failure;
};

class issuance_driver {
public:
    /// Prepares an issuance of request on acme_client, which must have an
    /// account in use. challenge_types are the types the host can answer
    /// ("http-01", "dns-01"). With store, the order in flight is kept in
    /// it (certificates/<name>/order.json, and the key as order.key
    /// before finalize) and resumed by a later driver for the same names,
    /// and the certificate is saved there when done. The client and store
    /// are borrowed.
    issuance_driver(client& acme_client, issue_request request,
                    std::vector<std::string> challenge_types,
                    storage* store = nullptr);
    ~issuance_driver();
    issuance_driver(const issuance_driver&) = delete;
    issuance_driver& operator=(const issuance_driver&) = delete;

    /// Advances as far as possible without waiting. After failed or done,
    /// returns the same outcome again.
    step_outcome step();

    /// The host presented every challenge of the last solve outcome.
    void challenges_presented();

    /// The certificate, once step() said done; throws otherwise.
    issued_certificate take_certificate();

    /// The order's URL once placed or resumed; empty before.
    const std::string& order_url() const noexcept;

    /// Whether the order was resumed from storage rather than placed.
    bool resumed() const noexcept;

    class impl;

private:
    std::unique_ptr<impl> impl_;
};

} // namespace acme
