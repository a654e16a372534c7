#include "detail/proxy.hpp"

#include <acmekit/problem.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fmt/format.h>

#include <array>
#include <cstdlib>
#include <cstring>

namespace acme::detail {

namespace {

char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view text)
{
    std::string out(text);
    for (char& c : out)
        c = ascii_lower(c);
    return out;
}

bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

bool is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_control_or_space(char c)
{
    auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
}

int hex_value(char c)
{
    if (is_digit(c))
        return c - '0';
    c = ascii_lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

// 1 to 65535 in decimal digits only; "+1", " 1" and "0" are not ports.
std::optional<std::uint16_t> parse_port(std::string_view text)
{
    if (text.empty() || text.size() > 5)
        return std::nullopt;
    unsigned value = 0;
    for (char c : text) {
        if (!is_digit(c))
            return std::nullopt;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535)
        return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

bool is_ipv6(const std::string& text)
{
    in6_addr addr{};
    return inet_pton(AF_INET6, text.c_str(), &addr) == 1;
}

// An IP literal as family and bytes, so that two spellings of one address
// compare equal ("::1" and "0:0::1").
struct ip_bytes {
    int family = 0;
    std::array<unsigned char, 16> bytes{};

    bool operator==(const ip_bytes& other) const
    {
        return family == other.family && bytes == other.bytes;
    }
};

std::optional<ip_bytes> parse_ip(const std::string& text)
{
    ip_bytes ip;
    if (inet_pton(AF_INET, text.c_str(), ip.bytes.data()) == 1) {
        ip.family = AF_INET;
        return ip;
    }
    if (inet_pton(AF_INET6, text.c_str(), ip.bytes.data()) == 1) {
        ip.family = AF_INET6;
        return ip;
    }
    return std::nullopt;
}

// Percent-decodes userinfo; nothing for a broken escape.
std::optional<std::string> percent_decode(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out.push_back(text[i]);
            continue;
        }
        if (i + 2 >= text.size())
            return std::nullopt;
        int high = hex_value(text[i + 1]);
        int low = hex_value(text[i + 2]);
        if (high < 0 || low < 0)
            return std::nullopt;
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
    }
    return out;
}

// Letters, digits, '-', '.' and '_' (common in internal names, although
// not in public DNS).
bool is_host_name(std::string_view host)
{
    for (char c : host)
        if (!is_alnum(c) && c != '-' && c != '.' && c != '_')
            return false;
    return !host.empty();
}

bool has_control(std::string_view text)
{
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f)
            return true;
    }
    return false;
}

std::string_view trimmed(std::string_view text)
{
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

// The host of one no_proxy entry, lower-cased, its port dropped; nothing
// for an entry that cannot name a host.
std::optional<std::string> no_proxy_host(std::string_view entry)
{
    // Two colons without brackets can only be a bare IPv6 literal, which
    // has no room for a port.
    std::string host;
    if (entry.front() != '[' && entry.find(':') != entry.rfind(':')) {
        host = std::string(entry);
    } else {
        auto split = split_host_port(entry);
        if (!split)
            return std::nullopt;
        host = split->host;
    }
    host = lowered(host);
    if (host.compare(0, 2, "*.") == 0)
        host.erase(0, 1);
    while (!host.empty() && host.front() == '.')
        host.erase(0, 1);
    while (!host.empty() && host.back() == '.')
        host.pop_back();
    if (host.empty())
        return std::nullopt;
    return host;
}

bool ends_with_label(const std::string& host, const std::string& suffix)
{
    return host.size() > suffix.size() &&
           host.compare(host.size() - suffix.size(), suffix.size(), suffix) ==
               0 &&
           host[host.size() - suffix.size() - 1] == '.';
}

// Standard base64 with padding (RFC 4648 section 4), as Basic wants it.
// Appends in place: `out` has room reserved, so no copy of the secret is
// left behind in a freed buffer.
void base64_append(std::string& out, std::string_view in)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16 |
                     static_cast<unsigned char>(in[i + 1]) << 8 |
                     static_cast<unsigned char>(in[i + 2]);
        out.push_back(alphabet[v >> 18 & 63]);
        out.push_back(alphabet[v >> 12 & 63]);
        out.push_back(alphabet[v >> 6 & 63]);
        out.push_back(alphabet[v & 63]);
    }
    if (i < in.size()) {
        bool two = i + 1 < in.size();
        unsigned v = static_cast<unsigned char>(in[i]) << 16;
        if (two)
            v |= static_cast<unsigned char>(in[i + 1]) << 8;
        out.push_back(alphabet[v >> 18 & 63]);
        out.push_back(alphabet[v >> 12 & 63]);
        out.push_back(two ? alphabet[v >> 6 & 63] : '=');
        out.push_back('=');
    }
}

[[noreturn]] void bad_url(std::string_view source, std::string_view why)
{
    throw error(status::invalid_argument,
                fmt::format("invalid {}: {}", source, why));
}

} // namespace

std::optional<host_port> split_host_port(std::string_view authority)
{
    host_port out;
    std::string_view rest;
    if (!authority.empty() && authority.front() == '[') {
        std::size_t close = authority.find(']');
        if (close == std::string_view::npos)
            return std::nullopt;
        out.host = std::string(authority.substr(1, close - 1));
        if (!is_ipv6(out.host))
            return std::nullopt;
        rest = authority.substr(close + 1);
    } else {
        std::size_t colon = authority.find(':');
        if (colon != std::string_view::npos &&
            authority.find(':', colon + 1) != std::string_view::npos)
            return std::nullopt;
        out.host = std::string(authority.substr(0, colon));
        if (out.host.find_first_of("[]") != std::string::npos)
            return std::nullopt;
        rest = colon == std::string_view::npos ? std::string_view()
                                               : authority.substr(colon);
    }
    if (out.host.empty())
        return std::nullopt;
    if (rest.empty())
        return out;
    if (rest.front() != ':')
        return std::nullopt;
    out.port = parse_port(rest.substr(1));
    if (!out.port)
        return std::nullopt;
    return out;
}

std::string join_host_port(std::string_view host, std::uint16_t port)
{
    if (host.find(':') != std::string_view::npos)
        return fmt::format("[{}]:{}", host, port);
    return fmt::format("{}:{}", host, port);
}

proxy_config parse_proxy_url(std::string_view url, std::string_view source)
{
    for (char c : url)
        if (is_control_or_space(c))
            bad_url(source, "it contains spaces or control characters");

    std::size_t scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos)
        bad_url(source, "it must start with http://");
    std::string scheme = lowered(url.substr(0, scheme_end));
    if (scheme != "http") {
        // Only a well-known scheme is quoted: whatever else stands before
        // "://" may be a password typed in the wrong place.
        for (const char* known :
             {"https", "socks4", "socks4a", "socks5", "socks5h", "ftp"})
            if (scheme == known)
                bad_url(source, fmt::format("unsupported scheme \"{}\": "
                                            "only http:// proxies are "
                                            "supported",
                                            scheme));
        bad_url(source, "it must start with http://");
    }

    std::string_view rest = url.substr(scheme_end + 3);
    std::size_t authority_end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, authority_end);
    if (authority_end != std::string_view::npos &&
        rest.substr(authority_end) != "/")
        bad_url(source, "it must not have a path, query or fragment");

    proxy_config out;
    std::size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
        std::string_view userinfo = authority.substr(0, at);
        authority = authority.substr(at + 1);
        std::size_t colon = userinfo.find(':');
        auto user = percent_decode(userinfo.substr(0, colon));
        auto password = percent_decode(colon == std::string_view::npos
                                           ? std::string_view()
                                           : userinfo.substr(colon + 1));
        if (!user || !password) {
            if (user)
                secure_wipe(user->data(), user->size());
            if (password)
                secure_wipe(password->data(), password->size());
            bad_url(source, "its credentials have a malformed %-escape");
        }
        out.password = secret_bytes(*password);
        secure_wipe(password->data(), password->size());
        bool control = has_control(*user) || has_control(out.password.view());
        bool colon_in_user = user->find(':') != std::string::npos;
        out.user = std::move(*user);
        if (out.user.empty())
            bad_url(source, "its user name is empty");
        if (control)
            bad_url(source, "its credentials contain control characters");
        if (colon_in_user)
            bad_url(source, "its user name contains a colon");
    }

    if (authority.empty())
        bad_url(source, "it has no host");
    std::string_view port_text;
    bool has_port = false;
    if (authority.front() == '[') {
        std::size_t close = authority.find(']');
        if (close == std::string_view::npos)
            bad_url(source, "an IPv6 address lacks its closing bracket");
        out.host = std::string(authority.substr(1, close - 1));
        if (!is_ipv6(out.host))
            bad_url(source, "the bracketed host is not an IPv6 address");
        std::string_view after = authority.substr(close + 1);
        if (!after.empty() && after.front() != ':')
            bad_url(source, "only a port may follow the IPv6 address");
        has_port = !after.empty();
        port_text = has_port ? after.substr(1) : std::string_view();
    } else {
        std::size_t colon = authority.find(':');
        if (colon != std::string_view::npos &&
            authority.find(':', colon + 1) != std::string_view::npos)
            bad_url(source, "an IPv6 address must be in brackets");
        out.host = std::string(authority.substr(0, colon));
        if (out.host.empty())
            bad_url(source, "it has no host");
        if (!is_host_name(out.host))
            bad_url(source, "the host has characters not allowed in a "
                            "host name");
        has_port = colon != std::string_view::npos;
        port_text = has_port ? authority.substr(colon + 1) : std::string_view();
    }
    if (has_port) {
        auto port = parse_port(port_text);
        if (!port)
            bad_url(source, "the port is not a number from 1 to 65535");
        out.port = *port;
    } else {
        out.port = 80;
    }
    return out;
}

bool no_proxy_matches(std::string_view list, std::string_view host)
{
    std::string want = lowered(host);
    if (want.size() >= 2 && want.front() == '[' && want.back() == ']')
        want = want.substr(1, want.size() - 2);
    while (!want.empty() && want.back() == '.')
        want.pop_back();
    if (want.empty())
        return false;
    auto want_ip = parse_ip(want);

    while (!list.empty()) {
        std::size_t comma = list.find(',');
        std::string_view entry = trimmed(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view()
                                               : list.substr(comma + 1);
        if (entry.empty())
            continue;
        if (entry == "*")
            return true;
        auto name = no_proxy_host(entry);
        if (!name)
            continue;
        if (auto entry_ip = parse_ip(*name)) {
            if (want_ip && *want_ip == *entry_ip)
                return true;
            continue;
        }
        // A name never matches an address by suffix: "1.1" would
        // otherwise cover 10.1.1.1.
        if (*name == want || (!want_ip && ends_with_label(want, *name)))
            return true;
    }
    return false;
}

const proxy_config* proxy_plan::for_host(std::string_view host,
                                         bool https) const
{
    if (!proxy || (https_only && !https))
        return nullptr;
    if (no_proxy_matches(no_proxy, host))
        return nullptr;
    return &*proxy;
}

proxy_plan make_proxy_plan(std::string_view proxy_url, std::string_view user,
                           const secret_bytes& password, bool from_environment,
                           std::string_view no_proxy, const env_lookup& env)
{
    if (user.empty() && !password.empty())
        throw error(status::invalid_argument,
                    "a proxy password needs a proxy user name");
    if (user.find(':') != std::string_view::npos)
        throw error(status::invalid_argument,
                    "the proxy user name contains a colon, which Basic "
                    "authentication cannot carry");
    if (has_control(user) || has_control(password.view()))
        throw error(status::invalid_argument,
                    "the proxy credentials contain control characters");

    // The lower-case spelling wins, as in curl; an empty value is unset.
    auto pick =
        [&env](const char* lower,
               const char* upper) -> std::pair<const char*, const char*> {
        for (const char* name : {lower, upper}) {
            const char* value = env ? env(name) : nullptr;
            if (value != nullptr && *value != '\0')
                return {name, value};
        }
        return {nullptr, nullptr};
    };

    proxy_plan plan;
    plan.no_proxy = std::string(no_proxy);
    if (!proxy_url.empty()) {
        plan.proxy = parse_proxy_url(proxy_url, "proxy URL");
    } else if (from_environment) {
        auto [name, value] = pick("https_proxy", "HTTPS_PROXY");
        if (value != nullptr) {
            plan.proxy = parse_proxy_url(value, name);
            plan.https_only = true;
            auto [skip_name, skip] = pick("no_proxy", "NO_PROXY");
            (void)skip_name;
            if (skip != nullptr) {
                if (!plan.no_proxy.empty())
                    plan.no_proxy += ',';
                plan.no_proxy += skip;
            }
        }
    }
    if (plan.proxy && !user.empty()) {
        plan.proxy->user = std::string(user);
        plan.proxy->password = password;
    }
    return plan;
}

const char* process_env(const char* name)
{
    return std::getenv(name);
}

secret_bytes connect_request(const proxy_config& proxy, std::string_view target,
                             std::string_view user_agent)
{
    std::string pair;
    std::string head;
    // Room for everything up front: growing would free buffers that still
    // hold the credentials.
    std::size_t credentials = proxy.user.size() + proxy.password.size() + 1;
    pair.reserve(credentials);
    head.reserve(2 * target.size() + user_agent.size() + 128 +
                 (credentials + 2) / 3 * 4);
    head.append("CONNECT ").append(target).append(" HTTP/1.1\r\nHost: ");
    head.append(target).append("\r\nUser-Agent: ").append(user_agent);
    head.append("\r\n");
    if (!proxy.user.empty()) {
        pair.append(proxy.user).append(":").append(proxy.password.view());
        head.append("Proxy-Authorization: Basic ");
        base64_append(head, pair);
        head.append("\r\n");
        secure_wipe(pair.data(), pair.size());
    }
    head.append("\r\n");
    secret_bytes out(head);
    secure_wipe(head.data(), head.size());
    return out;
}

bool connect_reply_ended(std::string_view head)
{
    auto ends_with = [head](std::string_view tail) {
        return head.size() >= tail.size() &&
               head.substr(head.size() - tail.size()) == tail;
    };
    return ends_with("\r\n\r\n") || ends_with("\n\n");
}

std::optional<connect_reply> parse_connect_reply(std::string_view head)
{
    if (!connect_reply_ended(head))
        return std::nullopt;
    std::size_t end = head.find_first_of("\r\n");
    std::string_view line = head.substr(0, end);
    if (line.size() < 12 || line.compare(0, 7, "HTTP/1.") != 0 ||
        !is_digit(line[7]) || line[8] != ' ')
        return std::nullopt;
    if (!is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]))
        return std::nullopt;
    if (line.size() > 12 && line[12] != ' ')
        return std::nullopt;
    connect_reply reply;
    reply.status =
        (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    if (reply.status < 100)
        return std::nullopt;
    return reply;
}

std::string connect_refused(const proxy_config& proxy, std::string_view target,
                            const connect_reply& reply)
{
    const char* hint = "";
    if (reply.status == 407)
        hint = proxy.user.empty()
                   ? " (no proxy credentials were configured)"
                   : " (the proxy did not accept the credentials)";
    return fmt::format("proxy {} refused CONNECT {}: HTTP {}{}",
                       proxy.address(), target, reply.status, hint);
}

} // namespace acme::detail
