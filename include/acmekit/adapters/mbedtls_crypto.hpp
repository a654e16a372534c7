// The crypto provider over mbedTLS: keys, JWS signatures, SHA-256, CSRs.
#pragma once

#include <acmekit/crypto.hpp>

#include <memory>

namespace acme {

class mbedtls_crypto final : public crypto {
public:
    /// Seeds a CTR-DRBG from the platform entropy source. Throws
    /// acme::error with status::crypto_error when seeding fails.
    mbedtls_crypto();
    ~mbedtls_crypto() override;

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
    struct state;
    std::unique_ptr<state> state_;
};

} // namespace acme
