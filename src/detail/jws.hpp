// JSON Web Signatures as ACME uses them (RFC 8555 section 6.2): flattened
// JSON serialization, protected header with alg, nonce, url and either jwk
// (newAccount) or kid (everything else).
#pragma once

#include <acmekit/crypto.hpp>

#include <boost/json.hpp>

#include <optional>
#include <string>

namespace acme::detail {

/// The JWK as a JSON object with only its required public members.
boost::json::object jwk_to_json(const public_jwk& jwk);

/// RFC 7638: base64url(SHA-256) of the required members serialized in
/// lexicographic order without whitespace.
std::string jwk_thumbprint(crypto& provider, const public_jwk& jwk);

struct jws_header {
    /// Empty: identify the key by its jwk instead of a kid.
    std::string kid;
    /// Empty: no nonce member (the inner JWS of a key change).
    std::string nonce;
    std::string url;
};

/// Signs payload (JSON text; std::nullopt gives the empty payload of
/// POST-as-GET) and returns the serialized flattened JWS.
std::string sign_jws(crypto& provider, const private_key& key,
                     const jws_header& header,
                     const std::optional<std::string>& payload);

} // namespace acme::detail
