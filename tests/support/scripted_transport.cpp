#include "scripted_transport.hpp"

#include "detail/base64url.hpp"

#include <mbedtls/asn1write.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/entropy.h>
#include <mbedtls/oid.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/x509_csr.h>

#include <stdexcept>

namespace acme::test {

namespace json = boost::json;
using detail::base64url_decode;
using detail::base64url_encode;

namespace {

std::string decode_text(const json::object& obj, const char* member)
{
    const json::value* v = obj.if_contains(member);
    if (v == nullptr || !v->is_string())
        throw std::runtime_error(std::string("JWS lacks ") + member);
    auto decoded = base64url_decode(v->as_string());
    if (!decoded)
        throw std::runtime_error(std::string("JWS ") + member +
                                 " is not base64url");
    return {decoded->begin(), decoded->end()};
}

public_jwk jwk_from_json(const json::object& obj)
{
    public_jwk jwk;
    jwk.kty = json::value_to<std::string>(obj.at("kty"));
    jwk.crv = json::value_to<std::string>(obj.at("crv"));
    jwk.x = json::value_to<std::string>(obj.at("x"));
    jwk.y = json::value_to<std::string>(obj.at("y"));
    return jwk;
}

// Verifies an ES256 signature from first principles (the public point and
// the raw r||s), independent of how the library produced it.
bool es256_valid(const public_jwk& jwk, const std::string& input,
                 const std::string& signature)
{
    auto x = base64url_decode(jwk.x);
    auto y = base64url_decode(jwk.y);
    if (jwk.crv != "P-256" || !x || !y || x->size() != 32 || y->size() != 32 ||
        signature.size() != 64)
        return false;

    unsigned char hash[32];
    mbedtls_sha256_ret(reinterpret_cast<const unsigned char*>(input.data()),
                       input.size(), hash, 0);

    mbedtls_ecp_group group;
    mbedtls_ecp_point q;
    mbedtls_mpi r, s;
    mbedtls_ecp_group_init(&group);
    mbedtls_ecp_point_init(&q);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    auto sig = reinterpret_cast<const unsigned char*>(signature.data());
    bool ok = mbedtls_ecp_group_load(&group, MBEDTLS_ECP_DP_SECP256R1) == 0 &&
              mbedtls_mpi_read_binary(&q.X, x->data(), 32) == 0 &&
              mbedtls_mpi_read_binary(&q.Y, y->data(), 32) == 0 &&
              mbedtls_mpi_lset(&q.Z, 1) == 0 &&
              mbedtls_mpi_read_binary(&r, sig, 32) == 0 &&
              mbedtls_mpi_read_binary(&s, sig + 32, 32) == 0 &&
              mbedtls_ecdsa_verify(&group, hash, 32, &q, &r, &s) == 0;
    mbedtls_mpi_free(&s);
    mbedtls_mpi_free(&r);
    mbedtls_ecp_point_free(&q);
    mbedtls_ecp_group_free(&group);
    return ok;
}

void must(int ret, const char* what)
{
    if (ret < 0)
        throw std::runtime_error(std::string("fake CA: ") + what);
}

std::vector<unsigned char> san_extension(const std::vector<std::string>& names)
{
    std::vector<unsigned char> buf(64 + 8 * names.size() + [&] {
        std::size_t n = 0;
        for (const auto& name : names)
            n += name.size();
        return n;
    }());
    unsigned char* start = buf.data();
    unsigned char* p = start + buf.size();
    int len = 0;
    for (auto it = names.rbegin(); it != names.rend(); ++it) {
        int one = mbedtls_asn1_write_raw_buffer(
            &p, start, reinterpret_cast<const unsigned char*>(it->data()),
            it->size());
        one += mbedtls_asn1_write_len(&p, start, one);
        one += mbedtls_asn1_write_tag(&p, start,
                                      MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2);
        len += one;
    }
    len += mbedtls_asn1_write_len(&p, start, len);
    len += mbedtls_asn1_write_tag(
        &p, start, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE);
    return {p, p + len};
}

// A real certificate for the CSR's key and the given names, signed by a
// throwaway CA key, so that the client's chain checks have work to do.
std::string issue_certificate_pem(const std::string& csr_b64,
                                  const std::vector<std::string>& names,
                                  const std::string& issuer,
                                  const std::string& not_before,
                                  const std::string& not_after)
{
    auto der = base64url_decode(csr_b64);
    if (!der)
        throw std::runtime_error("fake CA: CSR is not base64url");

    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_csr csr;
    mbedtls_pk_context ca_key;
    mbedtls_x509write_cert crt;
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_x509_csr_init(&csr);
    mbedtls_pk_init(&ca_key);
    mbedtls_x509write_crt_init(&crt);

    std::string pem(4096, '\0');
    try {
        must(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
                                   nullptr, 0),
             "seed");
        must(mbedtls_x509_csr_parse_der(&csr, der->data(), der->size()),
             "CSR does not parse");
        must(mbedtls_pk_setup(&ca_key,
                              mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)),
             "pk setup");
        must(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1,
                                 mbedtls_pk_ec(ca_key), mbedtls_ctr_drbg_random,
                                 &drbg),
             "CA key");

        mbedtls_mpi serial;
        mbedtls_mpi_init(&serial);
        mbedtls_mpi_lset(&serial, 4242);
        mbedtls_x509write_crt_set_serial(&crt, &serial);
        mbedtls_mpi_free(&serial);
        mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
        mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
        mbedtls_x509write_crt_set_subject_key(&crt, &csr.pk);
        mbedtls_x509write_crt_set_issuer_key(&crt, &ca_key);
        must(mbedtls_x509write_crt_set_subject_name(&crt, "CN=fake leaf"),
             "subject");
        must(mbedtls_x509write_crt_set_issuer_name(&crt,
                                                   ("CN=" + issuer).c_str()),
             "issuer");
        must(mbedtls_x509write_crt_set_validity(&crt, not_before.c_str(),
                                                not_after.c_str()),
             "validity");
        // ARI identifies a certificate by its issuer's key id.
        must(mbedtls_x509write_crt_set_authority_key_identifier(&crt),
             "authority key identifier");
        auto san = san_extension(names);
        must(mbedtls_x509write_crt_set_extension(
                 &crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
                 MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, san.data(),
                 san.size()),
             "SAN");
        must(mbedtls_x509write_crt_pem(
                 &crt, reinterpret_cast<unsigned char*>(pem.data()), pem.size(),
                 mbedtls_ctr_drbg_random, &drbg),
             "write");
    } catch (...) {
        mbedtls_x509write_crt_free(&crt);
        mbedtls_pk_free(&ca_key);
        mbedtls_x509_csr_free(&csr);
        mbedtls_ctr_drbg_free(&drbg);
        mbedtls_entropy_free(&entropy);
        throw;
    }
    mbedtls_x509write_crt_free(&crt);
    mbedtls_pk_free(&ca_key);
    mbedtls_x509_csr_free(&csr);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    pem.resize(pem.find('\0'));
    return pem;
}

} // namespace

verified_jws verify_jws(const std::string& body, const public_jwk* jwk)
{
    json::value parsed = json::parse(body);
    if (!parsed.is_object())
        throw std::runtime_error("JWS is not a JSON object");
    const json::object& jws = parsed.as_object();
    if (jws.size() != 3)
        throw std::runtime_error("flattened JWS has extra members");

    verified_jws out;
    std::string header_text = decode_text(jws, "protected");
    out.header = json::parse(header_text).as_object();
    out.payload = decode_text(jws, "payload");
    std::string signature = decode_text(jws, "signature");

    if (json::value_to<std::string>(out.header.at("alg")) != "ES256")
        throw std::runtime_error("alg is not ES256");
    bool has_jwk = out.header.contains("jwk");
    if (has_jwk == out.header.contains("kid"))
        throw std::runtime_error("header needs exactly one of jwk and kid");

    public_jwk key = has_jwk ? jwk_from_json(out.header.at("jwk").as_object())
                             : (jwk ? *jwk : public_jwk{});
    std::string input =
        std::string(json::value_to<std::string>(jws.at("protected"))) + "." +
        json::value_to<std::string>(jws.at("payload"));
    if (!es256_valid(key, input, signature))
        throw std::runtime_error("signature does not verify");
    return out;
}

fake_ca::fake_ca() = default;

std::string fake_ca::nonce()
{
    std::string n = "nonce" + std::to_string(++next_nonce_);
    issued_nonces_.insert(n);
    return n;
}

http_response fake_ca::reply(int status, const json::value& body,
                             std::vector<http_header> extra)
{
    http_response r;
    r.status = status;
    r.headers = std::move(extra);
    r.headers.push_back({"Replay-Nonce", nonce()});
    r.headers.push_back({"Content-Type", "application/json"});
    r.body = json::serialize(body);
    return r;
}

http_response fake_ca::problem(int status, const std::string& type,
                               const std::string& detail)
{
    http_response r = reply(status, json::object{
                                        {"type", type},
                                        {"detail", detail},
                                        {"status", status},
                                    });
    r.headers.back().value = "application/problem+json";
    return r;
}

json::object fake_ca::authz_json(std::size_t index)
{
    const authz_state& a = authzs_[index];
    std::string base_url =
        std::string(base) + "/authz/" + std::to_string(index);
    json::object challenge{
        {"type", "http-01"},
        {"url", std::string(base) + "/chall/" + std::to_string(index)},
        {"token", a.token},
        {"status", a.status == "pending" && challenge_answers > 0 ? "processing"
                                                                  : a.status},
    };
    if (a.status == "invalid")
        challenge["error"] = json::object{
            {"type", "urn:ietf:params:acme:error:connection"},
            {"detail", "could not connect to " + a.name},
        };
    json::array challenges{
        json::object{{"type", "dns-01"},
                     {"url", std::string(base) + "/chall/" +
                                 std::to_string(index) + "d"},
                     {"token", a.token + "d"},
                     {"status", "pending"}},
        challenge,
    };
    return {{"identifier", json::object{{"type", "dns"}, {"value", a.name}}},
            {"status", a.status},
            {"challenges", challenges}};
}

json::object fake_ca::order_json()
{
    json::array ids, authz_urls;
    for (std::size_t i = 0; i < names_.size(); ++i) {
        ids.push_back(json::object{{"type", "dns"}, {"value", names_[i]}});
        authz_urls.push_back(
            json::string(std::string(base) + "/authz/" + std::to_string(i)));
    }
    json::object o{{"status", order_status_},
                   {"identifiers", ids},
                   {"authorizations", authz_urls},
                   {"finalize", std::string(base) + "/finalize"}};
    if (order_status_ == "valid")
        o["certificate"] = std::string(base) + "/cert";
    return o;
}

http_response fake_ca::handle(const http_request& request)
{
    const std::string& url = request.url;
    if (request.method == "GET" && url == std::string(base) + "/dir") {
        json::object meta{{"termsOfService", "https://ca.test/tos"}};
        if (!profiles.empty()) {
            json::object offered;
            for (const auto& [name, description] : profiles)
                offered[name] = description;
            meta["profiles"] = std::move(offered);
        }
        // No Replay-Nonce here, as RFC 8555 does not promise one: the
        // client must then ask newNonce exactly once.
        http_response r =
            reply(200, json::object{
                           {"newNonce", std::string(base) + "/nonce"},
                           {"newAccount", std::string(base) + "/acct"},
                           {"newOrder", std::string(base) + "/order"},
                           {"keyChange", std::string(base) + "/key-change"},
                           {"meta", meta},
                       });
        if (offer_ari)
            r.body = r.body.substr(0, r.body.size() - 1) +
                     ",\"renewalInfo\":\"" + std::string(base) +
                     "/renewal-info\"}";
        r.headers.erase(r.headers.begin());
        return r;
    }
    if (request.method == "GET" &&
        url.rfind(std::string(base) + "/renewal-info/", 0) == 0) {
        ++renewal_info_requests;
        renewal_info_ids.push_back(url.substr(url.rfind('/') + 1));
        http_response r;
        r.status = 200;
        r.headers.push_back({"Content-Type", "application/json"});
        if (!renewal_info_retry_after.empty())
            r.headers.push_back({"Retry-After", renewal_info_retry_after});
        r.body = renewal_info_body;
        return r;
    }
    if (request.method == "HEAD" && url == std::string(base) + "/nonce") {
        ++new_nonce_requests;
        http_response r;
        r.status = 200;
        r.headers.push_back({"Replay-Nonce", nonce()});
        return r;
    }
    if (request.method == "POST")
        return signed_request(request);
    http_response missing;
    missing.status = 404;
    return missing;
}

http_response fake_ca::signed_request(const http_request& request)
{
    const std::string& url = request.url;
    verified_jws jws =
        verify_jws(request.body, has_account_ ? &account_jwk_ : nullptr);
    if (json::value_to<std::string>(jws.header.at("url")) != url)
        throw std::runtime_error("JWS url differs from the request URL");
    std::string n = json::value_to<std::string>(jws.header.at("nonce"));
    if (issued_nonces_.erase(n) == 0)
        throw std::runtime_error("nonce was never issued or reused: " + n);
    posted_urls.push_back(url);

    if (reject_nonces > 0) {
        --reject_nonces;
        ++bad_nonces_sent;
        return problem(400, "urn:ietf:params:acme:error:badNonce",
                       "JWS has an invalid anti-replay nonce");
    }

    if (url == std::string(base) + "/acct") {
        ++new_account_requests;
        new_account_payload = jws.payload;
        public_jwk jwk = jwk_from_json(jws.header.at("jwk").as_object());
        bool known = has_account_ && jwk == account_jwk_;
        if (jws.payload.find("onlyReturnExisting") != std::string::npos &&
            !known)
            return problem(400,
                           "urn:ietf:params:acme:error:accountDoesNotExist",
                           "no account for this key");
        account_jwk_ = jwk;
        has_account_ = true;
        return reply(known ? 200 : 201, json::object{{"status", "valid"}},
                     {{"Location", std::string(base) + "/acct/1"}});
    }
    if (json::value_to<std::string>(jws.header.at("kid")) !=
        std::string(base) + "/acct/1")
        throw std::runtime_error("wrong kid");

    if (url == std::string(base) + "/acct/1")
        return reply(200, json::object{{"status", "valid"}});
    if (url == std::string(base) + "/key-change") {
        // Section 7.3.5: the inner JWS, signed by the new key, names it.
        verified_jws inner = verify_jws(jws.payload, nullptr);
        account_jwk_ = jwk_from_json(inner.header.at("jwk").as_object());
        return reply(200, json::object{{"status", "valid"}});
    }

    if (url == std::string(base) + "/order") {
        ++new_order_requests;
        order_payloads.push_back(jws.payload);
        json::object payload = json::parse(jws.payload).as_object();
        if (reject_replaces && payload.contains("replaces"))
            return problem(409, "urn:ietf:params:acme:error:alreadyReplaced",
                           "the certificate was replaced already");
        std::vector<std::string> asked;
        for (const auto& id : payload.at("identifiers").as_array())
            asked.push_back(
                json::value_to<std::string>(id.as_object().at("value")));
        if (!extra_name.empty())
            asked.push_back(extra_name);
        // One order at a time: a new order replaces the last one.
        names_.clear();
        authzs_.clear();
        for (const std::string& name : asked) {
            names_.push_back(name);
            authz_state a;
            a.name = name;
            a.token =
                token.empty() ? "tok" + std::to_string(authzs_.size()) : token;
            if (static_cast<int>(authzs_.size()) < already_valid)
                a.status = "valid";
            authzs_.push_back(a);
        }
        bool all_valid = true;
        for (const auto& a : authzs_)
            all_valid = all_valid && a.status == "valid";
        order_status_ = all_valid ? "ready" : "pending";
        return reply(201, order_json(),
                     {{"Location", std::string(base) + "/order/1"}});
    }
    if (url.rfind(std::string(base) + "/authz/", 0) == 0) {
        if (!jws.payload.empty())
            throw std::runtime_error("authorization fetch is not "
                                     "POST-as-GET");
        std::size_t index = std::stoul(url.substr(url.rfind('/') + 1));
        return reply(200, authz_json(index));
    }
    if (url.rfind(std::string(base) + "/chall/", 0) == 0) {
        if (jws.payload != "{}")
            throw std::runtime_error("challenge answer is not {}");
        ++challenge_answers;
        std::size_t index = std::stoul(url.substr(url.rfind('/') + 1));
        return reply(200, authz_json(index).at("challenges").as_array()[1]);
    }
    if (url == std::string(base) + "/order/1") {
        std::vector<http_header> extra;
        if (!retry_after.empty())
            extra.push_back({"Retry-After", retry_after});
        ++polls_seen_;
        if (order_status_ == "pending" && polls_seen_ > pending_polls) {
            bool valid = !fail_validation;
            for (auto& a : authzs_)
                if (a.status == "pending")
                    a.status = valid ? "valid" : "invalid";
            order_status_ = valid ? "ready" : "invalid";
            polls_seen_ = 0;
        } else if (order_status_ == "processing" &&
                   polls_seen_ > processing_polls) {
            order_status_ = "valid";
        }
        return reply(200, order_json(), extra);
    }
    if (url == std::string(base) + "/finalize") {
        if (order_status_ != "ready")
            return problem(403, "urn:ietf:params:acme:error:orderNotReady",
                           "order is not ready");
        csr = json::value_to<std::string>(
            json::parse(jws.payload).as_object().at("csr"));
        order_status_ = processing_polls > 0 ? "processing" : "valid";
        polls_seen_ = 0;
        return reply(200, order_json());
    }
    if (url == std::string(base) + "/cert") {
        http_response r = reply(200, json::object{});
        r.headers.back().value = "application/pem-certificate-chain";
        std::vector<std::string> leaf_names = names_;
        if (!cert_extra_name.empty())
            leaf_names.push_back(cert_extra_name);
        r.body = cert_body.empty()
                     ? issue_certificate_pem(csr, leaf_names, "fake CA",
                                             not_before, not_after)
                     : cert_body;
        if (!alternate_issuer.empty())
            r.headers.push_back({"Link", "<" + std::string(base) +
                                             "/cert/alt>;rel=\"alternate\", <" +
                                             std::string(base) +
                                             "/dir>;rel=\"index\""});
        return r;
    }
    if (url == std::string(base) + "/cert/alt") {
        http_response r = reply(200, json::object{});
        r.headers.back().value = "application/pem-certificate-chain";
        r.body = issue_certificate_pem(csr, names_, alternate_issuer,
                                       not_before, not_after);
        return r;
    }
    return problem(404, "urn:ietf:params:acme:error:malformed",
                   "no such resource");
}

} // namespace acme::test
