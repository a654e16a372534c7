#include "detail/jws.hpp"

#include "detail/base64url.hpp"

namespace acme::detail {

namespace json = boost::json;

json::object jwk_to_json(const public_jwk& jwk)
{
    json::object obj;
    if (jwk.kty == "EC") {
        obj["crv"] = jwk.crv;
        obj["kty"] = jwk.kty;
        obj["x"] = jwk.x;
        obj["y"] = jwk.y;
    } else {
        obj["e"] = jwk.e;
        obj["kty"] = jwk.kty;
        obj["n"] = jwk.n;
    }
    return obj;
}

std::string jwk_thumbprint(crypto& provider, const public_jwk& jwk)
{
    // Boost.JSON keeps insertion order, and jwk_to_json inserts the
    // members in the lexicographic order RFC 7638 section 3.2 requires.
    std::string canonical = json::serialize(jwk_to_json(jwk));
    return base64url_encode(provider.sha256(canonical));
}

std::string sign_jws(crypto& provider, const private_key& key,
                     const jws_header& header,
                     const std::optional<std::string>& payload)
{
    json::object protected_header;
    protected_header["alg"] = jws_algorithm(key.type());
    if (header.kid.empty())
        protected_header["jwk"] = jwk_to_json(provider.jwk(key));
    else
        protected_header["kid"] = header.kid;
    if (!header.nonce.empty())
        protected_header["nonce"] = header.nonce;
    protected_header["url"] = header.url;

    std::string encoded_header =
        base64url_encode(json::serialize(protected_header));
    std::string encoded_payload =
        payload ? base64url_encode(*payload) : std::string();

    std::string signing_input = encoded_header + "." + encoded_payload;
    bytes signature = provider.sign(key, signing_input);

    json::object jws;
    jws["protected"] = encoded_header;
    jws["payload"] = encoded_payload;
    jws["signature"] = base64url_encode(signature);
    return json::serialize(jws);
}

} // namespace acme::detail
