// Building blocks for a crypto provider whose keys live outside mbedTLS: in
// a secure element, an HSM, or the host's own crypto library. Such a key
// is known by its public half (a DER SubjectPublicKeyInfo, which every
// key store can produce) and by a function that signs with it; from those
// two this header reads the JWK, converts ECDSA signatures between their
// DER and JWS forms, and builds the PKCS#10 request an order is finalized
// with. None of it needs mbedTLS.
#pragma once

#include <acmekit/crypto.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace acme {

/// What a SubjectPublicKeyInfo says about a key acmekit can sign with.
struct public_key_info {
    key_type type = key_type::ec_p256;
    public_jwk jwk;
};

/// Reads a DER SubjectPublicKeyInfo (RFC 5280 section 4.1.2.7) holding an
/// EC P-256 or P-384 point (uncompressed) or an RSA key of 2048, 3072 or
/// 4096 bits. Throws acme::error with status::invalid_argument for bytes
/// that are not exactly one such structure, status::unsupported for any
/// other key.
public_key_info read_public_key(const bytes& spki_der);

/// The bytes a signature over one coordinate half takes for an EC key
/// type (32 or 48); 0 for RSA types.
std::size_t ecdsa_half_size(key_type type) noexcept;

/// An ECDSA-Sig-Value (RFC 3279: SEQUENCE of two INTEGERs) as the fixed
/// width r||s of JWS (RFC 7518 section 3.4), each half `half` bytes.
/// Throws acme::error with status::crypto_error when der is not one such
/// value or a number does not fit.
bytes ecdsa_raw_from_der(const bytes& der, std::size_t half);

/// The other way: r||s (even length) as a DER ECDSA-Sig-Value.
bytes ecdsa_der_from_raw(const bytes& raw);

/// Signs data with the request's key in the JWS form of its algorithm
/// (jws_algorithm()): ECDSA as r||s, RSA as PKCS#1 v1.5 over SHA-256.
using csr_signer = std::function<bytes(std::string_view data)>;

/// A DER PKCS#10 request (RFC 2986) for the key whose SubjectPublicKeyInfo
/// is spki_der: the first name as subject CN (left out past 64 characters,
/// as RFC 5280 bounds it), every name as a subjectAltName dNSName, signed
/// through sign. Throws acme::error with status::invalid_argument for no
/// names, a name with characters DNS does not allow, or a key that is not
/// of the given type.
bytes build_csr(const bytes& spki_der, key_type type,
                const std::vector<std::string>& names, const csr_signer& sign);

} // namespace acme
