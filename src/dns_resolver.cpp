#include <acmekit/dns.hpp>
#include <acmekit/problem.hpp>

#include "detail/dns_socket.hpp"
#include "detail/dns_wire.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace acme {

namespace {

using detail::dns_message;
using detail::dns_record;

// A chain of CNAMEs inside one answer longer than this is treated as a
// loop.
constexpr int max_cname_hops = 8;

constexpr int max_port = 65535;

[[noreturn]] void refuse_server(const std::string& text)
{
    throw error(status::invalid_argument,
                fmt::format("invalid DNS server \"{}\": expected ADDR, "
                            "ADDR:PORT, [IPV6] or [IPV6]:PORT with an IP "
                            "address literal",
                            text));
}

int parse_port(const std::string& digits, const std::string& text)
{
    if (digits.empty() || digits.size() > 5 ||
        !std::all_of(digits.begin(), digits.end(),
                     [](char c) { return c >= '0' && c <= '9'; }))
        refuse_server(text);
    int port = std::stoi(digits);
    if (port < 1 || port > max_port)
        refuse_server(text);
    return port;
}

const char* type_name(std::uint16_t type)
{
    switch (type) {
    case detail::dns_type::txt: return "TXT";
    case detail::dns_type::cname: return "CNAME";
    case detail::dns_type::soa: return "SOA";
    default: return "?";
    }
}

// What a failed query was, for the start of its message.
std::string query_text(const dns_server& server, const std::string& name,
                       std::uint16_t type)
{
    return fmt::format("DNS query {} {} at {}", type_name(type), name,
                       detail::dns_server_text(server));
}

bool answers_question(const dns_message& reply, const std::string& name,
                      std::uint16_t type)
{
    if (!reply.response() || reply.opcode() != 0)
        return false;
    // An error reply may leave the question out (FORMERR, NOTIMP); an
    // answer, negative or not, may not.
    if (reply.questions.empty())
        return reply.rcode() != detail::dns_rcode::noerror &&
               reply.rcode() != detail::dns_rcode::nxdomain;
    return reply.questions.size() == 1 &&
           detail::dns_name_equal(reply.questions[0].name, name) &&
           reply.questions[0].type == type &&
           reply.questions[0].qclass == detail::dns_class::in;
}

dns_message parse_reply(const bytes& reply, const std::string& context)
{
    try {
        return detail::parse_dns_message(reply);
    } catch (const detail::dns_format_error& e) {
        throw error(status::bad_response,
                    fmt::format("{}: malformed reply: {}", context, e.what()));
    }
}

// One query and its reply, checked to answer that very question. Errors
// from the socket keep their status and gain the name asked about.
dns_message ask(const dns_server& server, const std::string& name,
                std::uint16_t type, std::chrono::milliseconds timeout)
{
    std::string context = query_text(server, name, type);
    bytes query = detail::build_dns_query(detail::random_dns_id(), name, type);

    bytes reply;
    try {
        reply = detail::dns_exchange(server, query, timeout);
    } catch (const error& e) {
        throw error(e.code(), fmt::format("{}: {}", context, e.what()));
    }

    dns_message message = parse_reply(reply, context);
    if (!answers_question(message, name, type))
        throw error(
            status::bad_response,
            fmt::format("{}: the reply is for another question", context));
    return message;
}

// NXDOMAIN means the name has no records at all, an answer in itself.
bool name_missing(const dns_message& reply, const dns_server& server,
                  const std::string& name, std::uint16_t type)
{
    int rcode = reply.rcode();
    if (rcode == detail::dns_rcode::nxdomain)
        return true;
    if (rcode != detail::dns_rcode::noerror)
        throw error(status::bad_response,
                    fmt::format("{}: the server answered {}",
                                query_text(server, name, type),
                                detail::dns_rcode_name(rcode)));
    return false;
}

bool is_at(const dns_record& rr, std::uint16_t type, const std::string& name)
{
    return rr.type == type && rr.rclass == detail::dns_class::in &&
           detail::dns_name_equal(rr.name, name);
}

std::string cname_target(const std::vector<dns_record>& answers,
                         const std::string& name)
{
    for (const auto& rr : answers)
        if (is_at(rr, detail::dns_type::cname, name))
            return rr.target;
    return {};
}

std::string joined(const std::vector<std::string>& strings)
{
    std::string value;
    for (const auto& piece : strings)
        value += piece;
    return value;
}

} // namespace

dns_server parse_dns_server(const std::string& text)
{
    if (text.empty())
        refuse_server(text);

    dns_server server;
    std::string port;
    if (text.front() == '[') {
        std::size_t close = text.find(']');
        if (close == std::string::npos)
            refuse_server(text);
        server.address = text.substr(1, close - 1);
        std::string rest = text.substr(close + 1);
        if (!rest.empty() && rest.front() != ':')
            refuse_server(text);
        if (!rest.empty())
            port = rest.substr(1);
        if (detail::ip_literal_family(server.address) != detail::ip_family::v6)
            refuse_server(text);
    } else if (std::count(text.begin(), text.end(), ':') == 1) {
        std::size_t colon = text.find(':');
        server.address = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (port.empty())
            refuse_server(text);
    } else if (text.find(':') == std::string::npos) {
        server.address = text;
    } else {
        // "::1:53" is both an address and an address with a port: IPv6
        // literals must be bracketed, so that neither is guessed.
        refuse_server(text);
    }

    if (detail::ip_literal_family(server.address) == detail::ip_family::none)
        refuse_server(text);
    if (!port.empty() || text.back() == ':')
        server.port = parse_port(port, text);
    return server;
}

dns_resolver::dns_resolver(std::chrono::milliseconds timeout)
    : timeout_(timeout)
{
}

std::vector<std::string> dns_resolver::txt(const dns_server& server,
                                           const std::string& fqdn)
{
    dns_message reply = ask(server, fqdn, detail::dns_type::txt, timeout_);
    if (name_missing(reply, server, fqdn, detail::dns_type::txt))
        return {};

    // A resolver that follows a CNAME puts the chain first, then the TXT
    // records at its end (RFC 1034 section 4.3.2).
    std::vector<std::string> values;
    std::string owner = fqdn;
    for (int hop = 0; hop <= max_cname_hops && !owner.empty(); ++hop) {
        for (const auto& rr : reply.answers)
            if (is_at(rr, detail::dns_type::txt, owner))
                values.push_back(joined(rr.strings));
        owner = cname_target(reply.answers, owner);
    }
    return values;
}

std::string dns_resolver::cname(const dns_server& server,
                                const std::string& fqdn)
{
    dns_message reply = ask(server, fqdn, detail::dns_type::cname, timeout_);
    if (name_missing(reply, server, fqdn, detail::dns_type::cname))
        return {};
    return cname_target(reply.answers, fqdn);
}

std::string dns_resolver::zone_of(const dns_server& server,
                                  const std::string& fqdn)
{
    dns_message reply = ask(server, fqdn, detail::dns_type::soa, timeout_);
    name_missing(reply, server, fqdn, detail::dns_type::soa);

    // At a zone apex the SOA is the answer; below it, the negative answer
    // carries the zone's SOA in the authority section (RFC 2308 section 3).
    for (const auto& rr : reply.answers)
        if (is_at(rr, detail::dns_type::soa, fqdn))
            return rr.name;
    for (const auto& rr : reply.authority)
        if (rr.type == detail::dns_type::soa &&
            rr.rclass == detail::dns_class::in &&
            detail::dns_name_within(fqdn, rr.name))
            return rr.name;

    throw error(status::bad_response,
                fmt::format("{}: no SOA for the name in the reply (is the "
                            "server authoritative for it?)",
                            query_text(server, fqdn, detail::dns_type::soa)));
}

} // namespace acme
