// Outbound HTTP proxy settings: the proxy URL, the no_proxy list and the
// environment variables that carry them. Nothing here opens a socket; the
// transport that tunnels through the proxy uses what these return.
#pragma once

#include <acmekit/secret.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace acme::detail {

/// A host and port as they appear in a URL's authority or a no_proxy
/// entry; the host is without the brackets of an IPv6 literal.
struct host_port {
    std::string host;
    std::optional<std::uint16_t> port;
};

/// Splits "host", "host:port", "[v6]" or "[v6]:port". Returns nothing for
/// an empty host, a bad port, an unbracketed IPv6 literal with a port or
/// a stray bracket. The host is returned as written (no case folding).
std::optional<host_port> split_host_port(std::string_view authority);

/// "host:port", with brackets around an IPv6 literal.
std::string join_host_port(std::string_view host, std::uint16_t port);

struct proxy_config {
    /// Name or IP literal, without brackets.
    std::string host;
    std::uint16_t port = 0;
    /// Basic credentials; no credentials when the user is empty.
    std::string user;
    secret_bytes password;

    /// host:port for messages; never includes the credentials.
    std::string address() const { return join_host_port(host, port); }
};

/// Parses "http://[user[:password]@]host[:port][/]" strictly: the scheme
/// must be http (only plain-HTTP proxies are supported; the tunnel inside
/// carries TLS), the port defaults to 80, user and password may be
/// percent-encoded, and nothing may follow the authority but one "/".
/// Throws error(status::invalid_argument) naming the problem; the message
/// never quotes the URL, since any part of a malformed one may be a
/// password. `source` names where the URL came from, for that message.
proxy_config parse_proxy_url(std::string_view url,
                             std::string_view source = "proxy URL");

/// True when `host` (no port, no brackets) is covered by a no_proxy list:
/// comma-separated entries, each a host name that matches itself and its
/// subdomains ("example.com" and ".example.com" alike, a leading "*." too),
/// an IP literal that matches the same address however it is written, or
/// "*" for every host. Case and any ":port" on an entry are ignored.
bool no_proxy_matches(std::string_view list, std::string_view host);

/// Reads an environment variable; nullptr when unset. Tests pass their own.
using env_lookup = std::function<const char*(const char* name)>;

/// The proxy of a transport, decided once when it is made.
struct proxy_plan {
    std::optional<proxy_config> proxy;
    /// Hosts reached directly although a proxy is set.
    std::string no_proxy;
    /// A proxy from https_proxy is for https:// URLs only; an explicit
    /// one takes every request.
    bool https_only = false;

    /// The proxy for a request to `host`, or nullptr to connect directly.
    const proxy_config* for_host(std::string_view host, bool https) const;
};

/// The plan for a transport's options. An explicit `proxy_url` wins and
/// the environment is then not read at all; otherwise, when
/// `from_environment` is set, https_proxy (else HTTPS_PROXY) names the
/// proxy and no_proxy (else NO_PROXY) is added to `no_proxy`. A non-empty
/// `user` replaces any credentials in the URL. Throws like parse_proxy_url.
proxy_plan make_proxy_plan(std::string_view proxy_url, std::string_view user,
                           const secret_bytes& password, bool from_environment,
                           std::string_view no_proxy, const env_lookup& env);

/// The process environment, for make_proxy_plan.
const char* process_env(const char* name);

/// The CONNECT request that opens a tunnel to `target` ("host:port"),
/// with Basic credentials when the proxy has a user. Secret because of
/// them; the caller sends it and lets it wipe itself.
secret_bytes connect_request(const proxy_config& proxy, std::string_view target,
                             std::string_view user_agent);

/// The status of a proxy's answer to CONNECT. Its reason phrase is not
/// kept: a proxy may echo the request there, credentials included.
struct connect_reply {
    int status = 0;
};

/// Whether `head` holds a proxy's whole answer head: it ends with the
/// blank line (CRLF, or leniently a bare LF, line endings).
bool connect_reply_ended(std::string_view head);

/// Parses a proxy's whole answer head, blank line included; nothing when
/// it is not an HTTP status line or the head never ended.
std::optional<connect_reply> parse_connect_reply(std::string_view head);

/// The message for a CONNECT the proxy refused: its address, the target
/// and the status, with a hint for 407.
std::string connect_refused(const proxy_config& proxy, std::string_view target,
                            const connect_reply& reply);

} // namespace acme::detail
