#include <acmekit/dns.hpp>
#include <acmekit/problem.hpp>

#include "detail/base64url.hpp"
#include "detail/session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <string_view>

namespace acme {

namespace {

// CNAME chains longer than this are refused rather than followed; real
// delegations use one hop.
constexpr int max_cname_hops = 8;

// A CNAME target comes from a DNS server and goes to hooks and updates:
// letters, digits, '-' and '_' only, no label starting with '-', at least
// two labels, so that it can be neither an option nor shell syntax.
bool usable_record_name(std::string name)
{
    if (!name.empty() && name.back() == '.')
        name.pop_back();
    if (name.empty() || name.size() > 253 ||
        name.find('.') == std::string::npos)
        return false;
    std::size_t start = 0;
    while (start <= name.size()) {
        std::size_t dot = std::min(name.find('.', start), name.size());
        std::string_view label(name.data() + start, dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-')
            return false;
        for (char c : label)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' &&
                c != '_')
                return false;
        start = dot + 1;
    }
    return true;
}

// A bound on propagation checks that holds whatever the clock does.
constexpr int max_checks = 100000;

std::string describe(const dns_server& server)
{
    return server.address.find(':') == std::string::npos
               ? fmt::format("{}:{}", server.address, server.port)
               : fmt::format("[{}]:{}", server.address, server.port);
}

} // namespace

std::string dns01_txt_value(crypto& keys, const std::string& key_authorization)
{
    return detail::base64url_encode(keys.sha256(key_authorization));
}

tsig_key make_tsig_key(std::string name, std::string algorithm,
                       std::string_view secret_base64)
{
    if (name.empty())
        throw error(status::invalid_argument, "the TSIG key has no name");
    auto secret = detail::base64_decode_any(secret_base64);
    if (!secret || secret->empty())
        throw error(status::invalid_argument, "the TSIG secret is not base64");

    tsig_key key;
    key.name = std::move(name);
    key.algorithm = std::move(algorithm);
    key.secret = secret_bytes(secret->data(), secret->size());
    secure_wipe(secret->data(), secret->size());
    return key;
}

callback_publisher::callback_publisher(fn add, fn remove)
    : add_(std::move(add)), remove_(std::move(remove))
{
    if (!add_ || !remove_)
        throw error(status::invalid_argument,
                    "a DNS callback publisher needs both functions");
}

void callback_publisher::add_txt(const std::string& fqdn,
                                 const std::string& value)
{
    add_(fqdn, value);
}

void callback_publisher::remove_txt(const std::string& fqdn,
                                    const std::string& value)
{
    remove_(fqdn, value);
}

dns01_solver::dns01_solver(dns_publisher& publisher, clock& time,
                           propagation_options propagation,
                           dns_lookup& resolver)
    : publisher_(publisher), time_(time), propagation_(std::move(propagation)),
      resolver_(resolver)
{
    if (propagation_.enabled && propagation_.servers.empty())
        throw error(status::invalid_argument,
                    "the DNS propagation check needs a server to ask: "
                    "name a resolver or turn the check off");
}

bool dns01_solver::handles(const std::string& challenge_type) const
{
    return challenge_type == "dns-01";
}

std::string dns01_solver::resolve_name(const std::string& identifier)
{
    // RFC 8555 section 8.4; a CNAME here delegates the record to another
    // zone, where it must then be written.
    std::string name = "_acme-challenge." + identifier;
    if (propagation_.servers.empty())
        return name;
    for (int hop = 0; hop < max_cname_hops; ++hop) {
        std::string target =
            resolver_.cname(propagation_.servers.front(), name);
        if (target.empty())
            return name;
        if (!usable_record_name(target))
            throw error(status::bad_response,
                        fmt::format("the CNAME at {} points to \"{}\", not "
                                    "a name a record can be written at",
                                    name, detail::printable(target)));
        name = target;
    }
    throw error(status::bad_response,
                fmt::format("more than {} CNAMEs from _acme-challenge.{}",
                            max_cname_hops, identifier));
}

std::string dns01_solver::record_name(const challenge_task& task) const
{
    for (const record& r : records_)
        if (r.token == task.token)
            return r.fqdn;
    return "_acme-challenge." + task.identifier;
}

void dns01_solver::present(const challenge_task& task)
{
    if (task.dns_value.empty())
        throw error(status::invalid_argument, "dns-01 task without a value");
    std::string fqdn = resolve_name(task.identifier);
    records_.push_back({task.token, fqdn, task.dns_value});
    publisher_.add_txt(fqdn, task.dns_value);
}

bool dns01_solver::visible_everywhere(const std::string& fqdn,
                                      const std::vector<std::string>& values)
{
    for (const dns_server& server : propagation_.servers) {
        std::vector<std::string> seen;
        try {
            seen = resolver_.txt(server, fqdn);
        } catch (const error&) {
            return false; // a server that does not answer has not got it
        }
        for (const std::string& value : values)
            if (std::find(seen.begin(), seen.end(), value) == seen.end())
                return false;
    }
    return true;
}

void dns01_solver::wait_ready(const challenge_task& task)
{
    if (!propagation_.enabled)
        return;

    // Every value presented at the same name must be visible together:
    // the CA may check the wildcard's and the base name's at once.
    std::string fqdn = record_name(task);
    std::vector<std::string> values;
    for (const record& r : records_)
        if (r.fqdn == fqdn)
            values.push_back(r.value);

    const clock::time_point deadline = time_.now() + propagation_.timeout;
    for (int checks = 0; !visible_everywhere(fqdn, values); ++checks) {
        clock::time_point now = time_.now();
        if (now >= deadline || checks >= max_checks)
            throw error(
                status::timeout,
                fmt::format("TXT record at {} not visible at {} after {} ms",
                            detail::printable(fqdn),
                            describe(propagation_.servers.front()),
                            propagation_.timeout.count()));
        time_.sleep_until(std::min(now + propagation_.interval, deadline));
    }
}

void dns01_solver::cleanup(const challenge_task& task) noexcept
{
    auto found =
        std::find_if(records_.begin(), records_.end(),
                     [&](const record& r) { return r.token == task.token; });
    if (found == records_.end())
        return; // present() failed before anything was published
    record gone = *found;
    records_.erase(found);
    try {
        publisher_.remove_txt(gone.fqdn, gone.value);
    } catch (...) {
        // The contract forbids failing here; a record left behind is
        // harmless to the CA and the publisher reports its own trouble.
    }
}

} // namespace acme
