// The C ABI's bridges from a host's callback tables to the C++ core's
// interfaces: transport, clock and storage.
#pragma once

#include "acmekit.h"

#include <acmekit/clock.hpp>
#include <acmekit/storage.hpp>
#include <acmekit/transport.hpp>

#include <string>
#include <vector>

struct acme_http_response {
    acme::http_response value;
    std::string error;
};

struct acme_storage_value {
    std::optional<acme::secret_bytes> value;
};

struct acme_storage_names {
    std::vector<std::string> names;
};

namespace acme::capi {

/// Sends through the host's callback; a failure status becomes an
/// acme::error with the host's message.
class host_transport final : public transport {
public:
    explicit host_transport(const acme_transport& table) : table_(table) {}
    http_response send(const http_request& request) override;

private:
    acme_transport table_;
};

class host_clock final : public clock {
public:
    explicit host_clock(const acme_clock& table) : table_(table) {}
    time_point now() override;
    void sleep_until(time_point when) override;

private:
    acme_clock table_;
};

class host_storage final : public storage {
public:
    explicit host_storage(const acme_storage_callbacks& table) : table_(table)
    {
    }
    std::optional<secret_bytes> get(const std::string& name) override;
    void put(const std::string& name, const secret_bytes& value,
             bool secret) override;
    void remove(const std::string& name) override;
    std::vector<std::string> list(const std::string& folder) override;

private:
    acme_storage_callbacks table_;
};

} // namespace acme::capi
