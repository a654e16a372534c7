// The C ABI's bridges from a host's callback tables to the C++ core's
// interfaces: transport, clock, storage and crypto.
#pragma once

#include "acmekit.h"

#include <acmekit/clock.hpp>
#include <acmekit/crypto.hpp>
#include <acmekit/storage.hpp>
#include <acmekit/transport.hpp>

#include <memory>
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

struct acme_bytes {
    acme::secret_bytes value;
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

/// Keys and digests through the host's table where it has them, the
/// built-in provider for the rest (and always for parsing certificates
/// and CSRs).
class host_crypto final : public crypto {
public:
    /// Throws status::invalid_argument for a table whose key callbacks
    /// are only partly set.
    host_crypto(const acme_crypto& table, std::unique_ptr<crypto> builtin);

    std::unique_ptr<private_key> generate_key(key_type type) override;
    std::unique_ptr<private_key> load_key_pem(std::string_view pem) override;
    secret_bytes export_key_pem(const private_key& key) override;
    public_jwk jwk(const private_key& key) override;
    bytes sign(const private_key& key, std::string_view data) override;
    bytes sha256(std::string_view data) override;
    bytes hmac(hmac_algorithm algorithm, const secret_bytes& key,
               std::string_view data) override;
    bytes make_csr(const private_key& key,
                   const std::vector<std::string>& names) override;
    csr_info parse_csr(const bytes& pem_or_der) override;
    std::vector<certificate_info> parse_chain(std::string_view pem) override;

private:
    bool host_keys() const noexcept { return table_.load_key != nullptr; }

    acme_crypto table_;
    std::unique_ptr<crypto> builtin_;
};

} // namespace acme::capi
