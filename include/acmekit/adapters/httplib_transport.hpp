// The default transport over cpp-httplib, with TLS verification always on.
// It keeps one connection per host open across requests, through an HTTP
// proxy when one is configured.
#pragma once

#include <acmekit/secret.hpp>
#include <acmekit/transport.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace acme {

struct httplib_transport_options {
    /// PEM file of the CAs to trust; empty uses the system's store.
    std::string ca_file;
    std::chrono::milliseconds connect_timeout{10000};
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

class httplib_transport final : public transport {
public:
    /// Throws error(status::invalid_argument) for a malformed proxy URL,
    /// in the options or the environment, and status::io_error for an
    /// unreadable CA file.
    explicit httplib_transport(httplib_transport_options options = {});
    ~httplib_transport() override;

    /// Through a proxy, a failure of the hop to the proxy names the proxy:
    /// status::connect_failed when it cannot be reached ("cannot reach
    /// proxy 127.0.0.1:3128: Connection refused") or refuses the tunnel
    /// ("proxy 127.0.0.1:3128 refused CONNECT ca.example:443: HTTP 407
    /// Proxy Authentication Required (...)"), whatever its status code:
    /// the CA was never reached, so this is not the CA's http_error;
    /// status::timeout when it does not connect or answer in time.
    /// Failures past the tunnel keep their usual codes and name the CA
    /// "via proxy ...".
    http_response send(const http_request& request) override;

private:
    struct state;
    std::unique_ptr<state> state_;
};

} // namespace acme
