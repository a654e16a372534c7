// The default transport over cpp-httplib, with TLS verification always on.
// It keeps one connection per host open across requests, through an HTTP
// proxy when one is configured.
#pragma once

#include <acmekit/adapters/https_options.hpp>
#include <acmekit/transport.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace acme {

/// The same settings in every build.
using httplib_transport_options = https_transport_options;

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
    /// (...)"; never the proxy's reason phrase, which may echo the
    /// credentials), whatever its status code:
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
