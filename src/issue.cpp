#include <acmekit/client.hpp>
#include <acmekit/dns.hpp>
#include <acmekit/issuance.hpp>
#include <acmekit/stored.hpp>

#include "detail/jws.hpp"
#include "detail/names.hpp"
#include "detail/order_state.hpp"
#include "detail/poll.hpp"
#include "detail/session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace acme {

const char* to_string(issue_step step) noexcept
{
    switch (step) {
    case issue_step::directory: return "directory";
    case issue_step::account: return "account";
    case issue_step::order: return "order";
    case issue_step::challenge: return "challenge";
    case issue_step::validation: return "validation";
    case issue_step::finalize: return "finalize";
    case issue_step::download: return "download";
    case issue_step::done: return "done";
    }
    return "unknown";
}

const char* to_string(next_step step) noexcept
{
    switch (step) {
    case next_step::solve: return "solve";
    case next_step::wait: return "wait";
    case next_step::done: return "done";
    case next_step::failed: return "failed";
    }
    return "unknown";
}

namespace {

// Where the driver is. Each phase either moves on at once or returns an
// outcome that tells the host what to do before the next step().
enum class phase {
    start,
    solving,    // waiting for the host to present the challenges
    answering,  // telling the CA the challenges are ready
    validating, // polling the order until it leaves pending
    finalizing,
    processing, // polling the order until the CA has issued
    downloading,
    done,
    failed,
};

// One challenge to answer: where to tell the CA, and what the solver got.
struct pending_challenge {
    std::string url;
    challenge_task task;
    bool answered = false; // the CA was told before (a resumed order)
};

// The common name in an RFC 4514-like text such as "O=x, CN=y", or "".
std::string common_name(const std::string& dn)
{
    std::size_t at = 0;
    while ((at = dn.find("CN=", at)) != std::string::npos) {
        if (at == 0 || dn[at - 1] == ' ' || dn[at - 1] == ',') {
            std::size_t end = dn.find(',', at);
            return dn.substr(at + 3,
                             end == std::string::npos ? end : end - at - 3);
        }
        at += 3;
    }
    return {};
}

// Failures worth trying the same stored order again for: the CA or the
// network is down for now. Anything else (a refused key, a chain that
// does not fit, a failed validation) would fail the same way next time,
// so the order is forgotten and the next attempt places a new one.
bool transient(status code)
{
    switch (code) {
    case status::connect_failed:
    case status::tls_verify_failed:
    case status::tls_failed:
    case status::timeout:
    case status::nonce_retries_exhausted:
    case status::cancelled:
    case status::io_error:
    case status::out_of_memory:
    case status::server_rate_limited:
    case status::server_internal: return true;
    default: return false;
    }
}

// Errors that say the stored order cannot be resumed at all (gone,
// refused, not an order), as opposed to the CA being unreachable or
// overloaded now (5xx, rate limits), when the order is kept.
bool order_is_unusable(const error& failure)
{
    if (transient(failure.code()))
        return false;
    const auto& problem = failure.server_problem();
    int http = problem ? problem->http_status : 0;
    if (failure.code() == status::http_error &&
        std::string(failure.what()).find("HTTP 5") != std::string::npos)
        return false;
    return http < 500;
}
} // namespace

class issuance_driver::impl {
public:
    impl(client& acme_client, issue_request request,
         std::vector<std::string> challenge_types, storage* store)
        : client_(acme_client), request_(std::move(request)),
          types_(std::move(challenge_types)), store_(store)
    {
    }

    step_outcome step();
    void challenges_presented();
    issued_certificate take_certificate();

    std::string order_url_;
    bool resumed_ = false;

private:
    void report(issue_step step, const std::string& text)
    {
        if (request_.progress)
            request_.progress(step, text);
    }

    bool handles(const std::string& type) const
    {
        return std::find(types_.begin(), types_.end(), type) != types_.end();
    }

    clock& time() { return *client_.used_services().time; }
    crypto& keys() { return *client_.used_services().keys; }

    std::optional<step_outcome> advance();
    void start();
    void check_names() const;
    void prepare_key();
    std::string chosen_profile();
    bool resume();
    void place_order();
    void check_order(const order& placed) const;
    void check_authorization(const authorization& authz) const;
    bool requested(const std::string& name) const;
    void enter_order_state();
    void collect_challenges();
    void answer_challenges();
    void begin_polling(std::optional<clock::time_point> retry_after);
    std::optional<step_outcome> wait_for_poll(std::string_view what);
    void schedule_next_poll(std::optional<clock::time_point> retry_after,
                            std::string_view what);
    [[noreturn]] void explain_invalid(const order& failed);
    void finalize();
    void download();
    std::string pick_chain(certificate_chain chain);
    void check_chain(const std::string& chain_pem) const;
    void release_challenges(step_outcome& outcome);

    client& client_;
    const issue_request request_;
    const std::vector<std::string> types_;
    storage* const store_;

    phase phase_ = phase::start;
    std::unique_ptr<private_key> key_; // null when the caller sent a CSR
    bytes csr_der_;                    // the caller's CSR
    public_jwk certified_key_;         // what the leaf must be for
    bool key_from_store_ = false;
    order order_;
    std::vector<pending_challenge> pending_;
    bool release_due_ = false;

    // Polling (RFC 8555 section 7.5.1): the first poll comes soon, later
    // ones back off, a Retry-After may only lengthen the wait, and a
    // deadline ends it.
    clock::time_point next_poll_{};
    clock::time_point deadline_{};
    milliseconds wait_{};
    int polls_ = 0;

    std::optional<error> failure_;
    std::optional<issued_certificate> result_;
    bool taken_ = false;
};

void issuance_driver::impl::check_names() const
{
    if (request_.names.empty())
        throw error(status::invalid_argument, "no domain name given");

    std::vector<std::string> seen;
    for (const std::string& name : request_.names) {
        validate_dns_name(name);
        // RFC 8555 section 7.1.3: only DNS-01 can prove a wildcard.
        if (name.rfind("*.", 0) == 0 && !handles("dns-01"))
            throw error(status::unsupported,
                        fmt::format("{} is a wildcard: it needs the dns-01 "
                                    "challenge",
                                    name));
        std::string folded = detail::lowercase(name);
        if (std::find(seen.begin(), seen.end(), folded) != seen.end())
            throw error(status::invalid_argument,
                        fmt::format("domain name \"{}\" given twice", name));
        seen.push_back(std::move(folded));
    }
}

// The key the certificate will be for, settled before any request so
// that an unusable key or CSR costs no order.
void issuance_driver::impl::prepare_key()
{
    bool has_key = !request_.existing_key_pem.empty();
    bool has_csr = !request_.csr.empty();
    if (has_key && has_csr)
        throw error(status::invalid_argument,
                    "give an existing key or a CSR, not both");

    if (has_csr) {
        csr_info csr = keys().parse_csr(request_.csr);
        csr_der_ = std::move(csr.der);
        certified_key_ = std::move(csr.key);
    } else {
        key_ = has_key ? keys().load_key_pem(request_.existing_key_pem.view())
                       : keys().generate_key(request_.certificate_key);
        certified_key_ = keys().jwk(*key_);
    }

    // A certificate key that signs for the account too would let anyone
    // holding the web server's key act for the account.
    if (detail::jwk_thumbprint(keys(), certified_key_) ==
        client_.account_thumbprint())
        throw error(status::invalid_argument,
                    "the certificate key is the account key: use another");
}

std::string issuance_driver::impl::chosen_profile()
{
    if (request_.profile.empty())
        return {};
    const directory& dir = client_.get_directory();
    for (const auto& [name, description] : dir.profiles)
        if (name == request_.profile)
            return name;
    if (!request_.profile_required)
        return {};

    std::string offered;
    for (const auto& [name, description] : dir.profiles)
        offered += (offered.empty() ? "" : ", ") + name;
    throw error(status::unsupported,
                fmt::format("the CA offers no profile \"{}\" ({})",
                            detail::printable(request_.profile),
                            offered.empty()
                                ? "it offers none"
                                : "it offers " + detail::printable(offered)));
}

bool issuance_driver::impl::requested(const std::string& name) const
{
    std::string folded = detail::lowercase(name);
    for (const std::string& wanted : request_.names)
        if (detail::lowercase(wanted) == folded)
            return true;
    return false;
}

void issuance_driver::impl::check_order(const order& placed) const
{
    // The server must order what was asked, no more: a name slipped in
    // would have the device prove control of it.
    bool same = placed.identifiers.size() == request_.names.size();
    for (const identifier& id : placed.identifiers)
        same = same && id.type == "dns" &&
               (requested(id.value) || requested("*." + id.value));
    if (!same)
        throw error(status::bad_response,
                    "newOrder: the order's identifiers differ from the "
                    "names requested");
    if (placed.authorizations.size() > request_.names.size())
        throw error(status::bad_response,
                    fmt::format("newOrder: {} authorizations for {} names",
                                placed.authorizations.size(),
                                request_.names.size()));
}

void issuance_driver::impl::check_authorization(
    const authorization& authz) const
{
    std::string name = authz.wildcard ? "*." + authz.id.value : authz.id.value;
    if (authz.id.type != "dns" || !requested(name))
        throw error(status::bad_response,
                    fmt::format("authorization is for \"{}\", a name not "
                                "requested",
                                detail::printable(name)));
}

// Continues the stored order when it is for the same names and still
// usable. A CA that is unreachable is an error; an order it no longer
// knows, or one that failed, is forgotten.
bool issuance_driver::impl::resume()
{
    const std::string& name = request_.names.front();
    std::optional<detail::order_state> state =
        detail::load_order_state(*store_, name);
    if (!state)
        return false;
    if (detail::folded_sorted(state->names) !=
        detail::folded_sorted(request_.names)) {
        detail::clear_order_state(*store_, name);
        return false;
    }

    try {
        order_ = client_.fetch_order(state->url).resource;
        check_order(order_);
    } catch (const error& failure) {
        if (!order_is_unusable(failure))
            throw;
        detail::clear_order_state(*store_, name);
        return false;
    }
    if (order_.status == order_status::invalid) {
        detail::clear_order_state(*store_, name);
        return false;
    }

    // From finalize on, the CA certifies the key stored before it. A
    // processing or valid order without that key was finished and stored
    // already (the key goes first when the order is forgotten), or was
    // made for a CSR, or for another key than the caller now gives: a new
    // order is placed for those.
    std::optional<secret_bytes> stored = detail::load_order_key(*store_, name);
    bool finalized = order_.status == order_status::processing ||
                     order_.status == order_status::valid;
    if (stored) {
        std::unique_ptr<private_key> stored_key;
        try {
            stored_key = keys().load_key_pem(stored->view());
        } catch (const error&) {
        }
        bool fits = stored_key != nullptr &&
                    (request_.existing_key_pem.empty() ||
                     keys().jwk(*stored_key) == certified_key_) &&
                    request_.csr.empty();
        if (fits) {
            key_ = std::move(stored_key);
            certified_key_ = keys().jwk(*key_);
            key_from_store_ = true;
        } else if (finalized) {
            detail::clear_order_state(*store_, name);
            return false;
        }
    } else if (finalized && request_.csr.empty()) {
        detail::clear_order_state(*store_, name);
        return false;
    }
    if (detail::jwk_thumbprint(keys(), certified_key_) ==
        client_.account_thumbprint()) {
        detail::clear_order_state(*store_, name);
        throw error(status::invalid_argument,
                    "the stored order's key is the account key: the order "
                    "is dropped");
    }
    resumed_ = true;
    order_url_ = order_.url;
    report(issue_step::order,
           fmt::format("resumed {}: {}", detail::printable(order_.url),
                       to_string(order_.status)));
    return true;
}

void issuance_driver::impl::place_order()
{
    new_order_options options;
    for (const std::string& name : request_.names)
        options.identifiers.push_back({"dns", name});
    options.profile = chosen_profile();
    options.replaces = request_.replaces;

    // RFC 9773 section 5: a CA may refuse "replaces" (the old certificate
    // was replaced already, or it is not the CA's); the order is then
    // placed once more without it. A rate limit is not retried.
    try {
        order_ = client_.place_order(options);
    } catch (const error& failure) {
        if (options.replaces.empty() || !failure.server_problem() ||
            failure.code() == status::server_rate_limited)
            throw;
        options.replaces.clear();
        order_ = client_.place_order(options);
    }
    check_order(order_);
    order_url_ = order_.url;
    if (store_ != nullptr)
        detail::save_order_state(*store_, request_.names.front(),
                                 {order_.url, request_.names});
    report(issue_step::order,
           fmt::format("placed {}: {} name(s), {} authorization(s)",
                       detail::printable(order_.url), request_.names.size(),
                       order_.authorizations.size()));
}

void issuance_driver::impl::start()
{
    check_names();
    prepare_key();
    if (store_ == nullptr || !resume())
        place_order();
    enter_order_state();
}

// Moves to the phase the order's status calls for.
void issuance_driver::impl::enter_order_state()
{
    switch (order_.status) {
    case order_status::pending: collect_challenges(); break;
    case order_status::ready: phase_ = phase::finalizing; break;
    case order_status::processing:
        phase_ = phase::processing;
        begin_polling(std::nullopt);
        break;
    case order_status::valid: phase_ = phase::downloading; break;
    case order_status::invalid: explain_invalid(order_);
    }
}

void issuance_driver::impl::collect_challenges()
{
    pending_.clear();
    std::string thumbprint = client_.account_thumbprint();

    for (const std::string& url : order_.authorizations) {
        authorization authz = client_.fetch_authorization(url).resource;
        check_authorization(authz);
        if (authz.status == authorization_status::valid)
            continue;
        if (authz.status != authorization_status::pending)
            throw error(status::authorization_invalid,
                        fmt::format("authorization for {} is {}",
                                    detail::printable(authz.id.value),
                                    to_string(authz.status)));

        // A challenge answered before a restart is processing: it is
        // presented again (the CA may still be fetching it), not answered.
        const challenge* chosen = nullptr;
        for (const challenge& offered : authz.challenges)
            if (handles(offered.type) &&
                (chosen == nullptr ||
                 (chosen->status == challenge_status::pending &&
                  offered.status == challenge_status::processing)))
                chosen = &offered;
        if (chosen == nullptr)
            throw error(status::no_supported_challenge,
                        fmt::format("no challenge for {} that the solver "
                                    "can answer",
                                    detail::printable(authz.id.value)));
        if (!valid_challenge_token(chosen->token))
            throw error(status::bad_response,
                        fmt::format("challenge for {} has a malformed token",
                                    detail::printable(authz.id.value)));

        challenge_task task{chosen->type,
                            authz.id.value,
                            authz.wildcard,
                            chosen->token,
                            chosen->token + "." + thumbprint,
                            {}};
        if (task.type == "dns-01")
            task.dns_value = dns01_txt_value(keys(), task.key_authorization);
        pending_.push_back({chosen->url, std::move(task),
                            chosen->status == challenge_status::processing});
    }

    if (pending_.empty()) {
        phase_ = phase::validating;
        begin_polling(std::nullopt);
        return;
    }
    for (const pending_challenge& p : pending_)
        report(issue_step::challenge,
               fmt::format("{} for {}{}", p.task.type,
                           p.task.wildcard ? "*." : "", p.task.identifier));
    phase_ = phase::solving;
}

void issuance_driver::impl::answer_challenges()
{
    // Every challenge is presented before the CA hears of any, so the
    // validations run in parallel on the CA's side.
    for (pending_challenge& p : pending_)
        if (!p.answered) {
            client_.respond_challenge(p.url);
            p.answered = true;
        }
    release_due_ = true;
    report(issue_step::validation,
           fmt::format("waiting for {} authorization(s)", pending_.size()));
    phase_ = phase::validating;
    begin_polling(std::nullopt);
}

void issuance_driver::impl::begin_polling(
    std::optional<clock::time_point> retry_after)
{
    polls_ = 0;
    wait_ = client_.policy().first_poll;
    deadline_ = time().now() + client_.policy().poll_deadline;
    schedule_next_poll(retry_after,
                       phase_ == phase::validating ? "validation" : "finalize");
}

void issuance_driver::impl::schedule_next_poll(
    std::optional<clock::time_point> retry_after, std::string_view what)
{
    const retry_policy& policy = client_.policy();
    if (++polls_ > detail::max_polls)
        throw error(status::timeout,
                    fmt::format("{}: still not done after {} polls", what,
                                detail::max_polls));

    // Retry-After may only lengthen the wait: a server asking for 0 must
    // not turn polling into a flood of signed requests.
    clock::time_point next = time().now() + wait_;
    if (retry_after && *retry_after > next)
        next = *retry_after;
    if (next > deadline_)
        throw error(status::timeout,
                    retry_after && *retry_after == next
                        ? fmt::format("{}: the server asks to wait past the "
                                      "{} ms deadline",
                                      what, policy.poll_deadline.count())
                        : fmt::format("{}: still not done after {} ms", what,
                                      policy.poll_deadline.count()),
                    std::nullopt, retry_after);
    next_poll_ = next;
    wait_ = policy.next_delay(wait_);
}

// Nothing when the poll is due now; otherwise the wait to report.
std::optional<step_outcome>
issuance_driver::impl::wait_for_poll(std::string_view)
{
    if (time().now() >= next_poll_)
        return std::nullopt;
    step_outcome outcome;
    outcome.what = next_step::wait;
    outcome.when = next_poll_;
    return outcome;
}

void issuance_driver::impl::explain_invalid(const order& failed)
{
    // The order only says "invalid"; the reason is on the challenge.
    for (const std::string& url : failed.authorizations) {
        authorization authz = client_.fetch_authorization(url).resource;
        for (const challenge& c : authz.challenges) {
            if (c.status != challenge_status::invalid || !c.error)
                continue;
            std::string message =
                fmt::format("validation of {} failed: {} ({})",
                            detail::printable(authz.id.value),
                            detail::printable(c.error->detail),
                            detail::printable(c.error->short_type()));
            throw error(status::authorization_invalid, message, *c.error);
        }
    }
    if (failed.error)
        throw error(status::order_invalid,
                    fmt::format("order is invalid: {}",
                                detail::printable(failed.error->detail)),
                    *failed.error);
    throw error(status::order_invalid, "order is invalid");
}

void issuance_driver::impl::finalize()
{
    report(issue_step::finalize,
           fmt::format("CSR for {} name(s)", request_.names.size()));
    bytes csr = csr_der_;
    if (key_) {
        csr = keys().make_csr(*key_, request_.names);
        // Stored before the CA can issue for it: a restart after finalize
        // must still hold the key the certificate is for.
        if (store_ != nullptr && !key_from_store_)
            detail::save_order_key(*store_, request_.names.front(),
                                   keys().export_key_pem(*key_));
    }

    auto submitted = client_.finalize_order(order_, csr);
    order_ = submitted.resource;
    if (order_.status == order_status::processing) {
        phase_ = phase::processing;
        begin_polling(submitted.retry_after);
        return;
    }
    if (order_.status == order_status::invalid)
        explain_invalid(order_);
    if (order_.status != order_status::valid)
        throw error(status::bad_response,
                    fmt::format("order is {} after finalize, not valid",
                                to_string(order_.status)));
    phase_ = phase::downloading;
}

void issuance_driver::impl::check_chain(const std::string& chain_pem) const
{
    // Nothing is handed back (and so nothing stored) unless the leaf is
    // for the certified key and exactly the names requested.
    crypto& provider = *client_.used_services().keys;
    std::vector<certificate_info> chain = provider.parse_chain(chain_pem);
    const certificate_info& leaf = chain.front();
    if (leaf.key != certified_key_)
        throw error(status::bad_response,
                    "certificate: the leaf is not for the key in the CSR");
    if (detail::folded_sorted(leaf.dns_names) !=
        detail::folded_sorted(request_.names))
        throw error(status::bad_response,
                    "certificate: the leaf's names differ from those "
                    "requested");
}

// The default chain unless the caller prefers another issuer and the CA
// offers a chain whose top certificate it issued. Intermediates are never
// pinned: only the issuer's name is compared.
std::string issuance_driver::impl::pick_chain(certificate_chain chain)
{
    if (request_.preferred_chain.empty())
        return std::move(chain.pem);

    auto top_issuer = [&](const std::string& pem) {
        return common_name(keys().parse_chain(pem).back().issuer);
    };
    if (top_issuer(chain.pem) == request_.preferred_chain)
        return std::move(chain.pem);
    // An alternate that cannot be fetched, does not parse or is not for
    // this certificate is skipped: the default chain is always there.
    for (const std::string& url : chain.alternates) {
        try {
            std::string alternate = client_.download_certificate(url);
            if (top_issuer(alternate) != request_.preferred_chain)
                continue;
            check_chain(alternate);
            return alternate;
        } catch (const error&) {
        }
    }
    return std::move(chain.pem);
}

void issuance_driver::impl::download()
{
    if (order_.certificate.empty())
        throw error(status::bad_response,
                    "order is valid but names no certificate URL");
    report(issue_step::download, detail::printable(order_.certificate));
    std::string chain_pem =
        pick_chain(client_.download_certificate_chain(order_.certificate));
    check_chain(chain_pem);

    issued_certificate result;
    result.chain_pem = std::move(chain_pem);
    result.order_url = order_.url;
    result.certificate_url = order_.certificate;
    result.profile = request_.profile;
    if (key_) {
        result.key_pem = keys().export_key_pem(*key_);
        result.key = std::move(key_);
    }

    // The certificate is stored before the order is forgotten: a restart
    // in between downloads it again rather than ordering anew.
    if (store_ != nullptr) {
        const std::string& name = request_.names.front();
        if (result.key)
            result.storage_folder = save_certificate(
                *store_, name, result.key_pem, result.chain_pem);
        detail::clear_order_state(*store_, name);
    }
    result_ = std::move(result);
    phase_ = phase::done;
    report(issue_step::done, detail::printable(order_.certificate));
}

void issuance_driver::impl::release_challenges(step_outcome& outcome)
{
    if (!release_due_)
        return;
    release_due_ = false;
    for (const pending_challenge& p : pending_)
        outcome.release.push_back(p.task);
}

// One state transition; an outcome when the host has something to do.
std::optional<step_outcome> issuance_driver::impl::advance()
{
    switch (phase_) {
    case phase::start: start(); return std::nullopt;
    case phase::solving: {
        step_outcome outcome;
        outcome.what = next_step::solve;
        for (const pending_challenge& p : pending_)
            outcome.solve.push_back(p.task);
        return outcome;
    }
    case phase::answering: {
        answer_challenges();
        return wait_for_poll("validation");
    }
    case phase::validating: {
        if (auto waiting = wait_for_poll("validation"))
            return waiting;
        auto polled = client_.fetch_order(order_.url);
        if (polled.resource.status == order_status::pending) {
            schedule_next_poll(polled.retry_after, "validation");
            return wait_for_poll("validation");
        }
        order_ = polled.resource;
        step_outcome released;
        release_challenges(released);
        if (order_.status == order_status::invalid)
            explain_invalid(order_);
        if (order_.status != order_status::ready)
            throw error(status::bad_response,
                        fmt::format("order is {} after validation, not ready",
                                    to_string(order_.status)));
        phase_ = phase::finalizing;
        if (released.release.empty())
            return std::nullopt;
        released.what = next_step::wait; // and go on at once
        released.when = time().now();
        return released;
    }
    case phase::finalizing: finalize(); return std::nullopt;
    case phase::processing: {
        if (auto waiting = wait_for_poll("finalize"))
            return waiting;
        auto polled = client_.fetch_order(order_.url);
        if (polled.resource.status == order_status::processing) {
            schedule_next_poll(polled.retry_after, "finalize");
            return wait_for_poll("finalize");
        }
        order_ = polled.resource;
        if (order_.status == order_status::invalid)
            explain_invalid(order_);
        if (order_.status != order_status::valid)
            throw error(status::bad_response,
                        fmt::format("order is {} after finalize, not valid",
                                    to_string(order_.status)));
        phase_ = phase::downloading;
        return std::nullopt;
    }
    case phase::downloading: download(); return std::nullopt;
    case phase::done: {
        step_outcome outcome;
        outcome.what = next_step::done;
        return outcome;
    }
    case phase::failed: break;
    }
    step_outcome outcome;
    outcome.what = next_step::failed;
    outcome.failure = failure_;
    return outcome;
}

step_outcome issuance_driver::impl::step()
{
    // Phases only move forward, so a handful of transitions reach the
    // next outcome; the bound guards against a logic slip looping.
    try {
        for (int transitions = 0; transitions < 32; ++transitions)
            if (std::optional<step_outcome> outcome = advance())
                return *outcome;
        throw error(status::internal_error, "issuance made no progress");
    } catch (const error& failure) {
        failure_ = failure;
    } catch (const std::bad_alloc&) {
        throw;
    } catch (const std::exception& other) {
        failure_ = error(status::internal_error, other.what());
    }

    phase_ = phase::failed;
    if (store_ != nullptr && !order_url_.empty() &&
        !transient(failure_->code()))
        detail::clear_order_state(*store_, request_.names.front());
    step_outcome outcome;
    outcome.what = next_step::failed;
    outcome.failure = failure_;
    release_challenges(outcome);
    return outcome;
}

void issuance_driver::impl::challenges_presented()
{
    if (phase_ != phase::solving)
        throw error(status::invalid_argument,
                    "no challenges were asked to be presented");
    phase_ = phase::answering;
}

issued_certificate issuance_driver::impl::take_certificate()
{
    if (phase_ != phase::done || taken_)
        throw error(status::invalid_argument,
                    "the issuance is not done, or its result was taken");
    taken_ = true;
    return std::move(*result_);
}

issuance_driver::issuance_driver(client& acme_client, issue_request request,
                                 std::vector<std::string> challenge_types,
                                 storage* store)
    : impl_(std::make_unique<impl>(acme_client, std::move(request),
                                   std::move(challenge_types), store))
{
}

issuance_driver::~issuance_driver() = default;

step_outcome issuance_driver::step()
{
    return impl_->step();
}

void issuance_driver::challenges_presented()
{
    impl_->challenges_presented();
}

issued_certificate issuance_driver::take_certificate()
{
    return impl_->take_certificate();
}

const std::string& issuance_driver::order_url() const noexcept
{
    return impl_->order_url_;
}

bool issuance_driver::resumed() const noexcept
{
    return impl_->resumed_;
}

namespace {

// Cleans up every challenge whose present() was attempted, exactly once,
// when validation ends or when the issuance unwinds.
class presented_challenges {
public:
    explicit presented_challenges(challenge_solver& solver) : solver_(solver) {}
    ~presented_challenges() { cleanup_all(); }
    presented_challenges(const presented_challenges&) = delete;
    presented_challenges& operator=(const presented_challenges&) = delete;

    void present(const challenge_task& task)
    {
        attempted_.push_back(task);
        solver_.present(task);
    }

    void cleanup(const std::vector<challenge_task>& tasks) noexcept
    {
        for (const challenge_task& task : tasks) {
            auto found =
                std::find_if(attempted_.begin(), attempted_.end(),
                             [&](const challenge_task& t) {
                                 return t.token == task.token &&
                                        t.type == task.type &&
                                        t.identifier == task.identifier;
                             });
            if (found == attempted_.end())
                continue;
            solver_.cleanup(*found);
            attempted_.erase(found);
        }
    }

    void cleanup_all() noexcept
    {
        for (const challenge_task& task : attempted_)
            solver_.cleanup(task);
        attempted_.clear();
    }

private:
    challenge_solver& solver_;
    std::vector<challenge_task> attempted_;
};

std::vector<std::string> types_of(const challenge_solver& solver)
{
    std::vector<std::string> types;
    for (const char* type : {"http-01", "dns-01", "tls-alpn-01"})
        if (solver.handles(type))
            types.emplace_back(type);
    return types;
}

} // namespace

issued_certificate issue_certificate(client& acme_client,
                                     const issue_request& request,
                                     challenge_solver& solver, storage* store)
{
    issuance_driver driver(acme_client, request, types_of(solver), store);
    presented_challenges presented(solver);
    clock& time = *acme_client.used_services().time;

    // Each round either sleeps until a poll is due or hands the solver
    // work; the driver's own deadline and poll bound end every wait.
    while (true) {
        step_outcome outcome = driver.step();
        presented.cleanup(outcome.release);
        switch (outcome.what) {
        case next_step::solve:
            for (const challenge_task& task : outcome.solve)
                presented.present(task);
            for (const challenge_task& task : outcome.solve)
                solver.wait_ready(task);
            driver.challenges_presented();
            break;
        case next_step::wait: time.sleep_until(outcome.when); break;
        case next_step::done: return driver.take_certificate();
        case next_step::failed: throw *outcome.failure;
        }
    }
}

} // namespace acme
