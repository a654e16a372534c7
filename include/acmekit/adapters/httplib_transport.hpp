// The default transport over cpp-httplib, with TLS verification always on.
// It keeps one connection per host open across requests.
#pragma once

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
};

class httplib_transport final : public transport {
public:
    explicit httplib_transport(httplib_transport_options options = {});
    ~httplib_transport() override;

    http_response send(const http_request& request) override;

private:
    struct state;
    std::unique_ptr<state> state_;
};

} // namespace acme
