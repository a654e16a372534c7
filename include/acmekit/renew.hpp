// Staying certified: when a stored certificate is due, and renewing it.
// The decision follows the CA's ACME Renewal Information (RFC 9773) when
// the directory offers it, and a share of the lifetime otherwise; failed
// renewals back off; everything the decision needs survives a reboot in
// certificates/<name>/renewal.json.
#pragma once

#include <acmekit/client.hpp>
#include <acmekit/renewal.hpp>
#include <acmekit/storage.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace acme {

/// How long a CA's Retry-After on renewalInfo may put the next check off;
/// a longer one is cut to this, so a hostile value cannot stop renewals.
constexpr std::chrono::seconds max_ari_recheck{7 * 86400};
/// The next check when renewalInfo sends no Retry-After (RFC 9773 section
/// 4.3 suggests checking about twice a day).
constexpr std::chrono::seconds default_ari_recheck{6 * 3600};
/// The next check after renewalInfo could not be read.
constexpr std::chrono::seconds ari_failure_recheck{3600};

/// The wait before the next attempt after `failures` failed renewals in a
/// row: 1 minute, 10 minutes, 100 minutes, then a day.
std::chrono::seconds renewal_backoff(int failures) noexcept;

/// What is remembered between checks of one certificate. Times are
/// seconds since the Unix epoch; 0 means unset.
struct renewal_state {
    std::string profile;          ///< asked for at the last issuance
    std::int64_t next_check = 0;  ///< renewalInfo is not asked before this
    renewal_window window;        ///< the last window the CA suggested
    std::int64_t chosen_time = 0; ///< the random time picked inside it
    int failures = 0;             ///< failed renewals in a row
    std::int64_t retry_at = 0;    ///< no attempt before this after one
    std::string last_error;       ///< the last failure's message
    std::string serial;           ///< the certificate this is about (base64url)
};

/// The state stored for name, or a default one when none is (or what is
/// stored does not parse).
renewal_state load_renewal_state(storage& store, const std::string& name);
void save_renewal_state(storage& store, const std::string& name,
                        const renewal_state& state);

/// Whether and when a stored certificate should be renewed.
struct renewal_plan {
    bool stored = false;         ///< a certificate is stored for the name
    bool due = false;            ///< renew now
    std::int64_t renew_at = 0;   ///< when renewal is (or was) due
    std::int64_t next_check = 0; ///< when to ask again
    std::string reason;          ///< one line for an operator
    std::string explanation_url; ///< from the CA's renewalInfo, if any
    std::string ari_id;          ///< empty when the CA offers no ARI
    certificate_info leaf;       ///< the stored certificate
    renewal_state state;
};

/// Decides for the certificate stored under name (its first domain name),
/// at the client's clock's time. With the CA offering renewalInfo and its
/// window not known or its Retry-After passed, asks it (an unsigned GET)
/// and picks a time in the window from random (a uniform 64-bit number);
/// the state is stored again when it changed. A failed renewalInfo
/// request falls back to the last window, or to the lifetime rule, and is
/// retried after ari_failure_recheck. Throws acme::error for an
/// unreadable stored certificate.
renewal_plan plan_renewal(client& acme_client, storage& store,
                          const std::string& name, std::uint64_t random);

/// The same decision from what is stored alone, asking the CA nothing:
/// for a device offline, or a status display. A window the CA suggested
/// earlier still counts.
renewal_plan plan_renewal_offline(storage& store, crypto& keys, clock& time,
                                  const std::string& name);

/// Renews the certificate for request.names when plan_renewal() says it
/// is due, or always with force: the order replaces the stored
/// certificate (ARI "replaces"), asks for the profile used last time when
/// request.profile is empty, resumes an order a restart left, and stores
/// the result. Nothing when not due. A failure is counted and backed off
/// (renewal_backoff), then thrown; force ignores the backoff. A stored
/// certificate for other names than requested is due at once.
std::optional<issued_certificate>
renew_certificate(client& acme_client, storage& store, issue_request request,
                  challenge_solver& solver, bool force, std::uint64_t random);

/// The first domain names of every certificate stored, sorted.
std::vector<std::string> stored_certificate_names(storage& store);

} // namespace acme
