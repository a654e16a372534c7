#include <acmekit/client.hpp>
#include <acmekit/dns.hpp>

#include "detail/jws.hpp"
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

namespace {

// One challenge to answer: where to tell the CA, and what the solver got.
struct pending_challenge {
    std::string url;
    challenge_task task;
};

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

class issuance {
public:
    issuance(client& acme_client, const issue_request& request,
             challenge_solver& solver)
        : client_(acme_client), request_(request), solver_(solver)
    {
    }

    issued_certificate run();

private:
    void report(issue_step step, const std::string& text)
    {
        if (request_.progress)
            request_.progress(step, text);
    }

    void check_names() const;
    void check_order(const order& placed) const;
    void check_authorization(const authorization& authz) const;
    bool requested(const std::string& name) const;
    std::vector<pending_challenge> collect_challenges(const order& placed);
    void validate(order& placed);
    [[noreturn]] void explain_invalid(const order& failed);
    issued_certificate finalize(const order& ready);
    void check_chain(const issued_certificate& issued) const;
    void prepare_key();

    client& client_;
    const issue_request& request_;
    challenge_solver& solver_;
    std::unique_ptr<private_key> key_; // null when the caller sent a CSR
    bytes csr_der_;                    // the caller's CSR
    public_jwk certified_key_;         // what the leaf must be for
};

std::string lowercase(std::string text)
{
    for (char& c : text)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

void issuance::check_names() const
{
    if (request_.names.empty())
        throw error(status::invalid_argument, "no domain name given");

    std::vector<std::string> seen;
    for (const std::string& name : request_.names) {
        validate_dns_name(name);
        // RFC 8555 section 7.1.3: only DNS-01 can prove a wildcard.
        if (name.rfind("*.", 0) == 0 && !solver_.handles("dns-01"))
            throw error(status::unsupported,
                        fmt::format("{} is a wildcard: it needs the dns-01 "
                                    "challenge",
                                    name));
        std::string folded = lowercase(name);
        if (std::find(seen.begin(), seen.end(), folded) != seen.end())
            throw error(status::invalid_argument,
                        fmt::format("domain name \"{}\" given twice", name));
        seen.push_back(std::move(folded));
    }
}

bool issuance::requested(const std::string& name) const
{
    std::string folded = lowercase(name);
    for (const std::string& wanted : request_.names)
        if (lowercase(wanted) == folded)
            return true;
    return false;
}

void issuance::check_order(const order& placed) const
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

void issuance::check_authorization(const authorization& authz) const
{
    std::string name = authz.wildcard ? "*." + authz.id.value : authz.id.value;
    if (authz.id.type != "dns" || !requested(name))
        throw error(status::bad_response,
                    fmt::format("authorization is for \"{}\", a name not "
                                "requested",
                                detail::printable(name)));
}

std::vector<pending_challenge> issuance::collect_challenges(const order& placed)
{
    std::vector<pending_challenge> result;
    std::string thumbprint = client_.account_thumbprint();

    for (const std::string& url : placed.authorizations) {
        authorization authz = client_.fetch_authorization(url).resource;
        check_authorization(authz);
        if (authz.status == authorization_status::valid)
            continue;
        if (authz.status != authorization_status::pending)
            throw error(status::authorization_invalid,
                        fmt::format("authorization for {} is {}",
                                    detail::printable(authz.id.value),
                                    to_string(authz.status)));

        const challenge* chosen = nullptr;
        for (const challenge& offered : authz.challenges)
            if (chosen == nullptr && solver_.handles(offered.type))
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
            task.dns_value = dns01_txt_value(*client_.used_services().keys,
                                             task.key_authorization);
        result.push_back({chosen->url, std::move(task)});
    }
    return result;
}

void issuance::validate(order& placed)
{
    std::vector<pending_challenge> pending = collect_challenges(placed);
    if (pending.empty())
        return;

    // Every challenge is presented before the CA hears of any, so the
    // validations run in parallel on the CA's side.
    presented_challenges presented(solver_);
    for (const pending_challenge& p : pending) {
        report(issue_step::challenge,
               fmt::format("{} for {}{}", p.task.type,
                           p.task.wildcard ? "*." : "", p.task.identifier));
        presented.present(p.task);
    }
    for (const pending_challenge& p : pending)
        solver_.wait_ready(p.task);
    for (const pending_challenge& p : pending)
        client_.respond_challenge(p.url);

    report(issue_step::validation,
           fmt::format("waiting for {} authorization(s)", pending.size()));
    placed = detail::poll_until(
        *client_.used_services().time, client_.policy(), "validation",
        std::nullopt, [&] { return client_.fetch_order(placed.url); },
        [](const order& o) { return o.status != order_status::pending; });
    presented.cleanup_all();
}

void issuance::explain_invalid(const order& failed)
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

// The key the certificate will be for, settled before any request so
// that an unusable key or CSR costs no order.
void issuance::prepare_key()
{
    crypto& keys = *client_.used_services().keys;
    bool has_key = !request_.existing_key_pem.empty();
    bool has_csr = !request_.csr.empty();
    if (has_key && has_csr)
        throw error(status::invalid_argument,
                    "give an existing key or a CSR, not both");

    if (has_csr) {
        csr_info csr = keys.parse_csr(request_.csr);
        csr_der_ = std::move(csr.der);
        certified_key_ = std::move(csr.key);
    } else {
        key_ = has_key ? keys.load_key_pem(std::string_view(
                             reinterpret_cast<const char*>(
                                 request_.existing_key_pem.data()),
                             request_.existing_key_pem.size()))
                       : keys.generate_key(request_.certificate_key);
        certified_key_ = keys.jwk(*key_);
    }

    // A certificate key that signs for the account too would let anyone
    // holding the web server's key act for the account.
    if (detail::jwk_thumbprint(keys, certified_key_) ==
        client_.account_thumbprint())
        throw error(status::invalid_argument,
                    "the certificate key is the account key: use another");
}

issued_certificate issuance::finalize(const order& ready)
{
    report(issue_step::finalize,
           fmt::format("CSR for {} name(s)", request_.names.size()));
    crypto& keys = *client_.used_services().keys;
    issued_certificate result;
    bytes csr = csr_der_;
    if (key_) {
        csr = keys.make_csr(*key_, request_.names);
        result.key = std::move(key_);
    }

    auto submitted = client_.finalize_order(ready, csr);
    order done = submitted.resource;
    if (done.status == order_status::processing)
        done = detail::poll_until(
            *client_.used_services().time, client_.policy(), "finalize",
            submitted.retry_after,
            [&] { return client_.fetch_order(ready.url); },
            [](const order& o) {
                return o.status != order_status::processing;
            });
    if (done.status == order_status::invalid)
        explain_invalid(done);
    if (done.status != order_status::valid)
        throw error(status::bad_response,
                    fmt::format("order is {} after finalize, not valid",
                                to_string(done.status)));
    if (done.certificate.empty())
        throw error(status::bad_response,
                    "order is valid but names no certificate URL");

    report(issue_step::download, detail::printable(done.certificate));
    result.chain_pem = client_.download_certificate(done.certificate);
    check_chain(result);
    if (result.key)
        result.key_pem = keys.export_key_pem(*result.key);
    result.order_url = ready.url;
    result.certificate_url = done.certificate;
    return result;
}

void issuance::check_chain(const issued_certificate& issued) const
{
    // Nothing is handed back (and so nothing stored) unless the leaf is
    // for the new key and exactly the names requested.
    crypto& keys = *client_.used_services().keys;
    std::vector<certificate_info> chain = keys.parse_chain(issued.chain_pem);
    const certificate_info& leaf = chain.front();
    if (leaf.key != certified_key_)
        throw error(status::bad_response,
                    "certificate: the leaf is not for the key in the CSR");

    std::vector<std::string> got, wanted;
    for (const std::string& name : leaf.dns_names)
        got.push_back(lowercase(name));
    for (const std::string& name : request_.names)
        wanted.push_back(lowercase(name));
    std::sort(got.begin(), got.end());
    std::sort(wanted.begin(), wanted.end());
    if (got != wanted)
        throw error(status::bad_response,
                    "certificate: the leaf's names differ from those "
                    "requested");
}

issued_certificate issuance::run()
{
    check_names();
    prepare_key();

    std::vector<identifier> ids;
    for (const std::string& name : request_.names)
        ids.push_back({"dns", name});
    order placed = client_.new_order(ids);
    check_order(placed);
    report(issue_step::order,
           fmt::format("{} name(s), {} authorization(s)", ids.size(),
                       placed.authorizations.size()));

    if (placed.status == order_status::pending)
        validate(placed);
    if (placed.status == order_status::invalid)
        explain_invalid(placed);
    if (placed.status != order_status::ready)
        throw error(status::bad_response,
                    fmt::format("order is {} after validation, not ready",
                                to_string(placed.status)));

    issued_certificate result = finalize(placed);
    report(issue_step::done, detail::printable(result.certificate_url));
    return result;
}

} // namespace

issued_certificate issue_certificate(client& acme_client,
                                     const issue_request& request,
                                     challenge_solver& solver)
{
    return issuance(acme_client, request, solver).run();
}

} // namespace acme
