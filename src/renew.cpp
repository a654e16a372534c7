#include <acmekit/renew.hpp>
#include <acmekit/stored.hpp>

#include "detail/base64url.hpp"
#include "detail/civil_time.hpp"
#include "detail/names.hpp"
#include "detail/session.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <ctime>

namespace acme {

namespace {

std::int64_t seconds_of(clock::time_point t)
{
    return std::chrono::duration_cast<std::chrono::seconds>(
               t.time_since_epoch())
        .count();
}

std::int64_t get_int(const boost::json::object& obj, const char* key)
{
    const boost::json::value* v = obj.if_contains(key);
    return v != nullptr && v->is_int64() ? v->as_int64() : 0;
}

std::string get_text(const boost::json::object& obj, const char* key)
{
    const boost::json::value* v = obj.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : "";
}

std::string renewal_path(const std::string& name)
{
    return certificate_folder(name) + "/renewal.json";
}

// Asks the CA for the window when it is unknown or the CA's Retry-After
// has passed; keeps the random time picked in it while it stays the
// same, so that repeated checks do not move the renewal around.
void consult_ari(client& acme_client, renewal_plan& plan, std::uint64_t random,
                 std::int64_t now)
{
    renewal_state& state = plan.state;
    if (state.next_check > now && state.chosen_time != 0)
        return;

    try {
        polled<renewal_window> info =
            acme_client.fetch_renewal_info(plan.ari_id);
        std::int64_t next = now + default_ari_recheck.count();
        if (info.retry_after)
            next = std::max(now, seconds_of(*info.retry_after));
        state.next_check = std::min(next, now + max_ari_recheck.count());
        bool moved = info.resource.start != state.window.start ||
                     info.resource.end != state.window.end ||
                     state.chosen_time == 0;
        state.window = info.resource;
        if (moved)
            state.chosen_time = pick_renewal_time(state.window, random);
    } catch (const error& failure) {
        // The renewal must not hinge on renewalInfo: without it the last
        // window, or the lifetime rule, still decides.
        state.next_check = now + ari_failure_recheck.count();
        plan.reason =
            fmt::format("renewalInfo unavailable ({}); ", failure.what());
    }
}

} // namespace

std::chrono::seconds renewal_backoff(int failures) noexcept
{
    switch (failures) {
    case 0: return std::chrono::seconds(0);
    case 1: return std::chrono::seconds(60);
    case 2: return std::chrono::seconds(600);
    case 3: return std::chrono::seconds(6000);
    default: return std::chrono::seconds(86400);
    }
}

polled<renewal_window> client::fetch_renewal_info(const std::string& ari_id)
{
    const directory& dir = session_->dir();
    if (dir.renewal_info.empty())
        throw error(status::unsupported, "this CA offers no renewalInfo");
    std::string url = dir.renewal_info;
    if (url.back() != '/')
        url += '/';
    url += ari_id;

    http_response response = session_->get(url, "renewalInfo");
    if (response.status != 200)
        throw error(status::http_error,
                    fmt::format("renewalInfo: HTTP {}", response.status));
    return {parse_renewal_info(response.body), session_->retry_after(response)};
}

renewal_state load_renewal_state(storage& store, const std::string& name)
{
    renewal_state state;
    try {
        std::optional<secret_bytes> stored = store.get(renewal_path(name));
        if (!stored)
            return state;
        boost::json::value parsed = boost::json::parse(stored->view());
        const boost::json::object& obj = parsed.as_object();
        state.profile = get_text(obj, "profile");
        state.next_check = get_int(obj, "next_check");
        state.window.start = get_int(obj, "window_start");
        state.window.end = get_int(obj, "window_end");
        state.window.explanation_url = get_text(obj, "explanation_url");
        state.chosen_time = get_int(obj, "chosen_time");
        state.failures = static_cast<int>(
            std::clamp<std::int64_t>(get_int(obj, "failures"), 0, 1000));
        state.retry_at = get_int(obj, "retry_at");
        state.last_error = get_text(obj, "last_error");
        state.serial = get_text(obj, "serial");
    } catch (const std::exception&) {
        return renewal_state{};
    }
    return state;
}

void save_renewal_state(storage& store, const std::string& name,
                        const renewal_state& state)
{
    boost::json::object obj{
        {"profile", state.profile},
        {"next_check", state.next_check},
        {"window_start", state.window.start},
        {"window_end", state.window.end},
        {"explanation_url", state.window.explanation_url},
        {"chosen_time", state.chosen_time},
        {"failures", state.failures},
        {"retry_at", state.retry_at},
        {"last_error", state.last_error},
        {"serial", state.serial},
    };
    std::string text = boost::json::serialize(obj);
    store.put(renewal_path(name),
              secret_bytes(reinterpret_cast<const std::uint8_t*>(text.data()),
                           text.size()),
              false);
}

namespace {

// The decision; with a client, the CA's renewalInfo is consulted too.
renewal_plan decide(client* acme_client, crypto& keys, clock& time,
                    storage& store, const std::string& name,
                    std::uint64_t random)
{
    std::int64_t now = seconds_of(time.now());
    renewal_plan plan;
    plan.state = load_renewal_state(store, name);

    // A stored pair that cannot be used is reported, and renewing it is
    // due: a damaged generation must never stop the next one.
    std::optional<stored_certificate> stored;
    try {
        stored = load_certificate(store, keys, name);
    } catch (const error& failure) {
        plan.due = true;
        plan.renew_at = now;
        plan.next_check = now;
        plan.reason = fmt::format("the stored certificate is unusable: {}",
                                  failure.what());
        return plan;
    }
    if (!stored) {
        plan.due = true;
        plan.renew_at = now;
        plan.next_check = now;
        plan.reason = "no certificate is stored";
        return plan;
    }
    plan.stored = true;
    plan.leaf = keys.parse_chain(stored->chain_pem).front();

    // What is remembered belongs to one certificate; a new one starts
    // afresh, whoever stored it. Times from a clock that was once far
    // ahead are pulled back, so that they cannot hold a renewal off.
    std::string serial = detail::base64url_encode(plan.leaf.serial);
    if (plan.state.serial != serial) {
        std::string profile = plan.state.profile;
        plan.state = renewal_state{};
        plan.state.profile = profile;
        plan.state.serial = serial;
    }
    renewal_state& kept = plan.state;
    kept.retry_at =
        std::min(kept.retry_at, now + renewal_backoff(kept.failures).count());
    if (kept.next_check > now + max_ari_recheck.count())
        kept.next_check = now;
    if (kept.chosen_time > plan.leaf.not_after)
        kept.chosen_time = 0;

    renewal_state before = plan.state;
    before.serial.clear(); // so that a first check stores the state
    if (acme_client != nullptr) {
        // An unreachable CA leaves the decision to what is stored: a
        // certificate that is not due stays not due, offline or not.
        try {
            const directory& dir = acme_client->get_directory();
            if (!dir.renewal_info.empty() &&
                !plan.leaf.authority_key_id.empty()) {
                plan.ari_id = ari_certificate_id(plan.leaf);
                consult_ari(*acme_client, plan, random, now);
            }
        } catch (const error& failure) {
            plan.reason = fmt::format("CA unreachable ({}); ", failure.what());
        }
        // A window the CA moved past the certificate's end is not kept.
        if (plan.state.chosen_time > plan.leaf.not_after)
            plan.state.chosen_time = 0;
    }

    const renewal_state& state = plan.state;
    if (state.chosen_time != 0) {
        plan.renew_at = state.chosen_time;
        plan.next_check = std::min(state.next_check, state.chosen_time);
        plan.explanation_url = state.window.explanation_url;
        plan.reason += fmt::format("the CA suggests {} to {}",
                                   detail::utc_timestamp(state.window.start),
                                   detail::utc_timestamp(state.window.end));
    } else {
        plan.renew_at = default_renewal_time(plan.leaf);
        plan.next_check = plan.renew_at;
        bool short_lived =
            plan.leaf.not_after - plan.leaf.not_before < 10 * 86400;
        plan.reason += short_lived ? "half of the lifetime left"
                                   : "a third of the lifetime left";
    }
    plan.due = now >= plan.renew_at;

    // After failures, the next attempt waits for its backoff.
    if (state.failures > 0 && now < state.retry_at) {
        plan.due = false;
        plan.next_check = state.retry_at;
        plan.reason = fmt::format("retrying after {} failed renewal(s): {}",
                                  state.failures, state.last_error);
    }

    if (state.serial != before.serial ||
        state.next_check != before.next_check ||
        state.chosen_time != before.chosen_time ||
        state.window.start != before.window.start ||
        state.window.end != before.window.end)
        save_renewal_state(store, name, state);
    return plan;
}

} // namespace

renewal_plan plan_renewal(client& acme_client, storage& store,
                          const std::string& name, std::uint64_t random)
{
    const services& svc = acme_client.used_services();
    return decide(&acme_client, *svc.keys, *svc.time, store, name, random);
}

renewal_plan plan_renewal_offline(storage& store, crypto& keys, clock& time,
                                  const std::string& name)
{
    return decide(nullptr, keys, time, store, name, 0);
}

std::optional<issued_certificate>
renew_certificate(client& acme_client, storage& store, issue_request request,
                  challenge_solver& solver, bool force, std::uint64_t random)
{
    if (request.names.empty())
        throw error(status::invalid_argument, "no domain name given");
    const std::string name = request.names.front();
    renewal_plan plan = plan_renewal(acme_client, store, name, random);
    bool same_names =
        !plan.stored || detail::folded_sorted(plan.leaf.dns_names) ==
                            detail::folded_sorted(request.names);
    if (!plan.due && !force && same_names)
        return std::nullopt;

    // RFC 9773 section 5: the new order names the certificate it replaces,
    // so that the CA can keep its renewal promises.
    if (same_names)
        request.replaces = plan.ari_id;
    if (request.profile.empty())
        request.profile = plan.state.profile;

    renewal_state state = plan.state;
    std::int64_t now = seconds_of(acme_client.used_services().time->now());
    try {
        issued_certificate issued =
            issue_certificate(acme_client, request, solver, &store);
        renewal_state fresh;
        fresh.profile = request.profile;
        save_renewal_state(store, name, fresh);
        return issued;
    } catch (const error& failure) {
        state.failures = std::min(state.failures + 1, 1000);
        state.retry_at = now + renewal_backoff(state.failures).count();
        state.last_error = failure.what();
        save_renewal_state(store, name, state);
        throw;
    }
}

std::vector<std::string> stored_certificate_names(storage& store)
{
    std::vector<std::string> names;
    for (const std::string& folder : store.list("certificates")) {
        std::string segment = folder.substr(folder.rfind('/') + 1);
        if (segment.rfind("_.", 0) == 0)
            segment = "*." + segment.substr(2);
        // A stray file or a broken folder is skipped, not fatal: one bad
        // entry must not hide every other certificate.
        try {
            if (store.get(folder + "/current"))
                names.push_back(segment);
        } catch (const error&) {
        }
    }
    return names;
}

} // namespace acme
