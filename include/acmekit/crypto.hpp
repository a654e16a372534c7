// The crypto provider: keys, signatures, digests and CSRs. The default
// adapter over mbedTLS is in acmekit/adapters/mbedtls_crypto.hpp.
#pragma once

#include <acmekit/secret.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace acme {

using bytes = std::vector<std::uint8_t>;

enum class key_type {
    ec_p256,
    ec_p384,
    rsa_2048,
    rsa_3072,
    rsa_4096,
};

/// Digests for HMAC: TSIG signatures for DNS updates (RFC 8945) and
/// external account binding (RFC 8555 section 7.3.4, HS256/384/512).
enum class hmac_algorithm { sha256, sha384, sha512 };

/// The JWS "alg" for signatures made with a key of this type.
const char* jws_algorithm(key_type type) noexcept;

/// The public members of a key's JWK (RFC 7517), each base64url without
/// padding. EC keys fill crv, x and y; RSA keys fill n and e.
struct public_jwk {
    std::string kty;
    std::string crv;
    std::string x;
    std::string y;
    std::string n;
    std::string e;
};

inline bool operator==(const public_jwk& a, const public_jwk& b)
{
    return a.kty == b.kty && a.crv == b.crv && a.x == b.x && a.y == b.y &&
           a.n == b.n && a.e == b.e;
}

inline bool operator!=(const public_jwk& a, const public_jwk& b)
{
    return !(a == b);
}

/// What acmekit reads from an issued certificate.
struct certificate_info {
    std::string subject; ///< RFC 4514-like text, e.g. "CN=device.example"
    std::string issuer;
    std::vector<std::string> dns_names; ///< subjectAltName dNSName entries
    std::int64_t not_before = 0;        ///< seconds since the Unix epoch
    std::int64_t not_after = 0;
    bytes serial; ///< the serial number's DER content bytes, sign byte kept
    bytes authority_key_id; ///< keyIdentifier of the AKI extension; empty
                            ///< when absent
    public_jwk key;         ///< empty kty when the key type is not supported
    bytes der;              ///< the whole certificate, DER
};

/// What acmekit reads from a certificate signing request.
struct csr_info {
    bytes der;      ///< the whole request, DER
    public_jwk key; ///< the key it asks to certify
};

/// A private key owned by a crypto provider. Only the provider that made it
/// may use it.
class private_key {
public:
    virtual ~private_key() = default;
    virtual key_type type() const noexcept = 0;
};

/// Every call throws acme::error with status::crypto_error (or
/// status::invalid_argument for unusable input) on failure.
class crypto {
public:
    virtual ~crypto() = default;

    virtual std::unique_ptr<private_key> generate_key(key_type type) = 0;

    /// Loads a PEM private key (PKCS#8, SEC1 or PKCS#1).
    virtual std::unique_ptr<private_key> load_key_pem(std::string_view pem) = 0;

    /// The key as PEM text.
    virtual secret_bytes export_key_pem(const private_key& key) = 0;

    virtual public_jwk jwk(const private_key& key) = 0;

    /// Signs data the way JWS needs for the key's algorithm: for ECDSA the
    /// raw r||s, each left-padded to the curve size (RFC 7518 section 3.4);
    /// for RSA a PKCS#1 v1.5 signature over SHA-256.
    virtual bytes sign(const private_key& key, std::string_view data) = 0;

    virtual bytes sha256(std::string_view data) = 0;

    virtual bytes hmac(hmac_algorithm algorithm, const secret_bytes& key,
                       std::string_view data) = 0;

    /// A DER PKCS#10 request signed by key, with the first name as the
    /// subject CN and every name in subjectAltName.
    virtual bytes make_csr(const private_key& key,
                           const std::vector<std::string>& names) = 0;

    /// Parses a PKCS#10 request given as PEM or DER and checks its
    /// signature. Throws status::invalid_argument for anything else, a bad
    /// signature, or a key type acmekit cannot sign with.
    virtual csr_info parse_csr(const bytes& pem_or_der) = 0;

    /// Parses a PEM chain, leaf first. Throws acme::error with
    /// status::bad_response when any block fails to parse, the text holds
    /// anything but PEM certificates, or there is no certificate at all.
    virtual std::vector<certificate_info> parse_chain(std::string_view pem) = 0;
};

} // namespace acme
