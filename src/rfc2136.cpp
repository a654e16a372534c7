#include <acmekit/dns.hpp>
#include <acmekit/problem.hpp>

#include "detail/dns_socket.hpp"
#include "detail/dns_wire.hpp"

#include <fmt/format.h>

namespace acme {

namespace {

using detail::tsig_outcome;

// Challenge records live for minutes, so a short TTL keeps caches from
// holding a stale value when a retry publishes a new one.
constexpr std::uint32_t challenge_ttl = 60;

// What one update is about, for messages. It names the key, never its
// secret, and leaves out the TXT value.
struct update_context {
    const dns_server& server;
    const tsig_key& key;
    crypto& keys;
    std::chrono::milliseconds timeout;
    std::string zone;
    std::string fqdn;
    const char* action; // "adding" or "removing"

    std::string text() const
    {
        return fmt::format("DNS update {} a TXT value at {} in zone {} at {}",
                           action, fqdn, zone, detail::dns_server_text(server));
    }
};

// The wire code gets the HMAC as a function, so the secret stays here.
detail::tsig_signer signer_for(const tsig_key& key, crypto& keys)
{
    detail::tsig_signer signer;
    signer.key_name = key.name;
    signer.algorithm = *detail::tsig_algorithm(key.algorithm);
    signer.mac = [&key, &keys,
                  algorithm = signer.algorithm](std::string_view data) {
        return keys.hmac(algorithm, key.secret, data);
    };
    return signer;
}

// TSIG's time is wall-clock time that the server compares with its own
// (RFC 8945 section 5.2.3), so it cannot come from an injected clock.
std::uint64_t seconds_now()
{
    auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    auto seconds =
        std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    return static_cast<std::uint64_t>(seconds.count());
}

// Worded to fit both sides: the server refusing our TSIG and ours
// refusing the reply's.
const char* explain(tsig_outcome outcome)
{
    switch (outcome) {
    case tsig_outcome::bad_key: return "the key name or algorithm differs";
    case tsig_outcome::bad_sig:
        return "the MAC does not verify, so the secret differs";
    case tsig_outcome::bad_time:
        return "the clocks differ by more than the allowed 300 seconds";
    case tsig_outcome::bad_trunc: return "the MAC is truncated";
    case tsig_outcome::unsigned_reply: return "there is no TSIG";
    default: return "the TSIG record is malformed";
    }
}

[[noreturn]] void refuse(const update_context& update, const std::string& why)
{
    throw error(status::solver_failed,
                fmt::format("{}: {}", update.text(), why));
}

// RFC 8945 section 5.3: the reply's rcode counts only when its TSIG
// verifies, except for the unsigned errors a server sends when it rejects
// the request's key or MAC.
void check_reply(const update_context& update, const detail::dns_message& reply,
                 const detail::tsig_result& tsig)
{
    std::string rcode = detail::dns_rcode_name(reply.rcode());
    const char* name = detail::tsig_outcome_name(tsig.outcome);
    if (tsig.from_server)
        refuse(update, fmt::format("the server answered {} with TSIG error "
                                   "{} for key {}: {}",
                                   rcode, name, update.key.name,
                                   explain(tsig.outcome)));
    if (tsig.outcome == tsig_outcome::unsigned_reply &&
        reply.rcode() != detail::dns_rcode::noerror)
        refuse(update, fmt::format("the server answered {} (unsigned)", rcode));
    if (tsig.outcome != tsig_outcome::ok)
        refuse(update, fmt::format("the reply's TSIG fails the check ({}: "
                                   "{}), so its {} cannot be trusted",
                                   name, explain(tsig.outcome), rcode));
    if (reply.rcode() != detail::dns_rcode::noerror)
        refuse(update, fmt::format("the server answered {}", rcode));
}

bytes exchange(const update_context& update, const bytes& message)
{
    try {
        return detail::dns_exchange(update.server, message, update.timeout);
    } catch (const error& e) {
        throw error(e.code(), fmt::format("{}: {}", update.text(), e.what()));
    }
}

detail::dns_message parse(const update_context& update, const bytes& reply)
{
    try {
        detail::dns_message message = detail::parse_dns_message(reply);
        if (message.response() && message.opcode() == detail::dns_opcode_update)
            return message;
    } catch (const detail::dns_format_error& e) {
        throw error(status::bad_response, fmt::format("{}: malformed reply: {}",
                                                      update.text(), e.what()));
    }
    throw error(
        status::bad_response,
        fmt::format("{}: the reply is not an UPDATE response", update.text()));
}

void send_update(const update_context& update, bytes message)
{
    detail::tsig_signer signer = signer_for(update.key, update.keys);
    bytes request_mac = detail::tsig_sign(message, signer, seconds_now());

    bytes reply = exchange(update, message);
    detail::dns_message parsed = parse(update, reply);

    detail::tsig_result tsig =
        detail::tsig_verify(reply, parsed, signer, request_mac, seconds_now());
    check_reply(update, parsed, tsig);
}

void check_key(const tsig_key& key)
{
    if (!detail::tsig_algorithm(key.algorithm))
        throw error(status::invalid_argument,
                    fmt::format("unsupported TSIG algorithm \"{}\" (use "
                                "hmac-sha256, hmac-sha384 or hmac-sha512)",
                                key.algorithm));
    if (!detail::valid_dns_name(key.name))
        throw error(status::invalid_argument,
                    fmt::format("invalid TSIG key name \"{}\"", key.name));
    if (key.secret.empty())
        throw error(status::invalid_argument,
                    fmt::format("TSIG key {} has an empty secret", key.name));
}

// The zone given, or the one the primary says holds fqdn; fqdn must lie
// in it, or the server would only answer NOTZONE.
std::string zone_for(const std::string& configured, const dns_server& primary,
                     const std::string& fqdn, std::chrono::milliseconds timeout)
{
    std::string zone = configured.empty()
                           ? dns_resolver(timeout).zone_of(primary, fqdn)
                           : configured;
    if (!detail::dns_name_within(fqdn, zone))
        throw error(status::invalid_argument,
                    fmt::format("{} is not in zone {}", fqdn, zone));
    return zone;
}

} // namespace

rfc2136_publisher::rfc2136_publisher(dns_server primary, tsig_key key,
                                     crypto& keys, std::string zone,
                                     std::chrono::milliseconds timeout)
    : primary_(std::move(primary)), key_(std::move(key)), keys_(keys),
      zone_(std::move(zone)), timeout_(timeout)
{
    check_key(key_);
    if (!zone_.empty() && !detail::valid_dns_name(zone_))
        throw error(status::invalid_argument,
                    fmt::format("invalid zone name \"{}\"", zone_));
}

void rfc2136_publisher::add_txt(const std::string& fqdn,
                                const std::string& value)
{
    update(fqdn, value, true);
}

void rfc2136_publisher::remove_txt(const std::string& fqdn,
                                   const std::string& value)
{
    update(fqdn, value, false);
}

void rfc2136_publisher::update(const std::string& fqdn,
                               const std::string& value, bool add)
{
    update_context context{primary_,
                           key_,
                           keys_,
                           timeout_,
                           zone_for(zone_, primary_, fqdn, timeout_),
                           fqdn,
                           add ? "adding" : "removing"};
    std::uint16_t id = detail::random_dns_id();
    send_update(context,
                add ? detail::build_txt_add(id, context.zone, fqdn, value,
                                            challenge_ttl)
                    : detail::build_txt_delete(id, context.zone, fqdn, value));
}

} // namespace acme
