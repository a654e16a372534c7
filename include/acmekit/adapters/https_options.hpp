// The settings both built-in HTTPS transports take: the one over
// cpp-httplib and OpenSSL, and the one over mbedTLS for builds without
// them. A host switching builds keeps its settings.
#pragma once

#include <acmekit/secret.hpp>

#include <chrono>
#include <string>

namespace acme {

struct https_transport_options {
    /// PEM file of the CAs to trust; empty uses the system's store
    /// (/etc/ssl/certs/ca-certificates.crt on Debian).
    std::string ca_file;
    /// Bounds reaching the server: name lookup excluded, TCP connect and
    /// a proxy's answer to CONNECT included.
    std::chrono::milliseconds connect_timeout{10000};
    /// The longest silence while the TLS handshake, the request or the
    /// response is under way.
    std::chrono::milliseconds read_timeout{30000};
    /// The longest a whole request may take, however slowly the server
    /// trickles its answer; the read timeout only bounds each silence.
    std::chrono::milliseconds request_timeout{60000};
    std::string user_agent = "acmekit";

    /// An HTTP proxy for every request: "http://host[:port]" (port 80 when
    /// left out), an IPv6 literal in brackets, optionally with
    /// percent-encoded "user:password@". Only http:// proxies; requests
    /// reach the CA through a CONNECT tunnel, and the CA's certificate is
    /// verified exactly as without a proxy. Empty: no explicit proxy.
    std::string proxy_url;
    /// Basic credentials for the proxy; a non-empty user replaces any in
    /// the URL. They go to the proxy only, never through the tunnel, and
    /// appear in no message.
    std::string proxy_user;
    secret_bytes proxy_password;
    /// When proxy_url is empty: take the proxy from https_proxy (else
    /// HTTPS_PROXY), for https:// URLs only, and skip the hosts that
    /// no_proxy (else NO_PROXY) lists. Off: the environment is not read.
    bool proxy_from_environment = false;
    /// Hosts reached directly although a proxy is set, comma-separated:
    /// a name covers itself and its subdomains (".example.com" alike),
    /// an IP literal the same address, "*" every host; case and ports are
    /// ignored.
    std::string no_proxy;
};

} // namespace acme
