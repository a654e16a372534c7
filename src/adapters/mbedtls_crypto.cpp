#include <acmekit/adapters/mbedtls_crypto.hpp>

#include <acmekit/problem.hpp>
#include <acmekit/secret.hpp>

#include "detail/base64url.hpp"
#include "detail/civil_time.hpp"
#include "detail/names.hpp"

#include <mbedtls/asn1.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/x509_csr.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>

// The calls below follow the 2.28 API (no sig_size on mbedtls_pk_sign, no RNG
// on mbedtls_pk_parse_key, public struct fields). Failing here is clearer
// than the compile errors a 3.x build would give.
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#error "acmekit's mbedTLS adapter supports mbedTLS 2.28 only"
#endif

namespace acme {

namespace {

constexpr char personalisation[] = "acmekit mbedtls_crypto";

// RFC 5280 ub-common-name.
constexpr std::size_t max_common_name = 64;

std::string describe_error(int ret)
{
    char text[160];
    mbedtls_strerror(ret, text, sizeof text);
    char code[24];
    std::snprintf(code, sizeof code, " (-0x%04x)", static_cast<unsigned>(-ret));
    return std::string(text) + code;
}

[[noreturn]] void fail(const char* what, int ret)
{
    throw error(status::crypto_error,
                std::string(what) + ": " + describe_error(ret));
}

// Returns ret so that the ASN.1 writers' lengths can be summed.
int check(int ret, const char* what)
{
    if (ret < 0)
        fail(what, ret);
    return ret;
}

// Scratch space that may hold key material: zeroed before it is freed,
// including when an exception unwinds through its owner.
class wiped_buffer {
public:
    explicit wiped_buffer(std::size_t size) : bytes_(size) {}
    ~wiped_buffer() { secure_wipe(bytes_.data(), bytes_.size()); }
    wiped_buffer(const wiped_buffer&) = delete;
    wiped_buffer& operator=(const wiped_buffer&) = delete;

    unsigned char* data() noexcept { return bytes_.data(); }
    std::size_t size() const noexcept { return bytes_.size(); }

private:
    std::vector<unsigned char> bytes_;
};

class mpi {
public:
    mpi() { mbedtls_mpi_init(&value_); }
    ~mpi() { mbedtls_mpi_free(&value_); }
    mpi(const mpi&) = delete;
    mpi& operator=(const mpi&) = delete;

    mbedtls_mpi* get() noexcept { return &value_; }

private:
    mbedtls_mpi value_;
};

class csr_writer {
public:
    csr_writer() { mbedtls_x509write_csr_init(&ctx_); }
    ~csr_writer() { mbedtls_x509write_csr_free(&ctx_); }
    csr_writer(const csr_writer&) = delete;
    csr_writer& operator=(const csr_writer&) = delete;

    mbedtls_x509write_csr* get() noexcept { return &ctx_; }

private:
    mbedtls_x509write_csr ctx_;
};

struct curve_info {
    key_type type;
    mbedtls_ecp_group_id group;
    const char* crv;
    std::size_t size; // bytes per coordinate and per signature half
    mbedtls_md_type_t md;
};

constexpr curve_info curves[] = {
    {key_type::ec_p256, MBEDTLS_ECP_DP_SECP256R1, "P-256", 32,
     MBEDTLS_MD_SHA256},
    {key_type::ec_p384, MBEDTLS_ECP_DP_SECP384R1, "P-384", 48,
     MBEDTLS_MD_SHA384},
};

struct rsa_info {
    key_type type;
    unsigned bits;
};

constexpr rsa_info rsa_sizes[] = {
    {key_type::rsa_2048, 2048},
    {key_type::rsa_3072, 3072},
    {key_type::rsa_4096, 4096},
};

constexpr int rsa_exponent = 65537;

const curve_info* curve_for(key_type type)
{
    for (const auto& c : curves)
        if (c.type == type)
            return &c;
    return nullptr;
}

const rsa_info* rsa_for(key_type type)
{
    for (const auto& r : rsa_sizes)
        if (r.type == type)
            return &r;
    return nullptr;
}

class mbedtls_key final : public private_key {
public:
    mbedtls_key() { mbedtls_pk_init(&pk_); }
    // mbedtls_pk_free zeroes the key material as it releases it.
    ~mbedtls_key() override { mbedtls_pk_free(&pk_); }
    mbedtls_key(const mbedtls_key&) = delete;
    mbedtls_key& operator=(const mbedtls_key&) = delete;

    key_type type() const noexcept override { return type_; }
    void set_type(key_type type) noexcept { type_ = type; }

    // mbedTLS takes non-const contexts even for operations that only read
    // the key, such as signing.
    mbedtls_pk_context* pk() const noexcept { return &pk_; }

private:
    mutable mbedtls_pk_context pk_;
    key_type type_ = key_type::ec_p256;
};

const mbedtls_key& own_key(const private_key& key)
{
    const auto* own = dynamic_cast<const mbedtls_key*>(&key);
    if (own == nullptr)
        throw error(status::invalid_argument,
                    "the key was not made by the mbedTLS crypto provider");
    return *own;
}

// Only secp256r1 and secp384r1 keys are accepted, so a parsed EC key is one
// of the curves table's entries or unsupported.
const curve_info* curve_of(const mbedtls_pk_context* pk)
{
    mbedtls_ecp_group_id group = mbedtls_pk_ec(*pk)->grp.id;
    for (const auto& c : curves)
        if (c.group == group)
            return &c;
    return nullptr;
}

key_type detect_type(const mbedtls_pk_context* pk)
{
    mbedtls_pk_type_t type = mbedtls_pk_get_type(pk);
    if (type == MBEDTLS_PK_ECKEY || type == MBEDTLS_PK_ECDSA) {
        if (const curve_info* c = curve_of(pk))
            return c->type;
        throw error(status::unsupported, "EC keys must be on P-256 or P-384");
    }

    if (type == MBEDTLS_PK_RSA) {
        std::size_t bits = mbedtls_pk_get_bitlen(pk);
        for (const auto& r : rsa_sizes)
            if (r.bits == bits)
                return r.type;
        throw error(status::unsupported,
                    "RSA keys must have 2048, 3072 or 4096 bits");
    }

    throw error(status::unsupported, "only EC and RSA keys are supported");
}

std::string encode_mpi(const mbedtls_mpi* value, std::size_t size)
{
    bytes out(size);
    check(mbedtls_mpi_write_binary(value, out.data(), out.size()),
          "writing a number failed");
    return detail::base64url_encode(out);
}

public_jwk ec_jwk(const mbedtls_pk_context* pk)
{
    const curve_info* c = curve_of(pk);
    if (c == nullptr)
        throw error(status::internal_error, "EC key on an unknown curve");

    const mbedtls_ecp_keypair* ec = mbedtls_pk_ec(*pk);
    public_jwk jwk;
    jwk.kty = "EC";
    jwk.crv = c->crv;
    jwk.x = encode_mpi(&ec->Q.X, c->size);
    jwk.y = encode_mpi(&ec->Q.Y, c->size);
    return jwk;
}

public_jwk rsa_jwk(const mbedtls_pk_context* pk)
{
    mpi n;
    mpi e;
    check(mbedtls_rsa_export(mbedtls_pk_rsa(*pk), n.get(), nullptr, nullptr,
                             nullptr, e.get()),
          "reading the RSA public key failed");

    public_jwk jwk;
    jwk.kty = "RSA";
    jwk.n = encode_mpi(n.get(), mbedtls_mpi_size(n.get()));
    jwk.e = encode_mpi(e.get(), mbedtls_mpi_size(e.get()));
    return jwk;
}

bytes digest(mbedtls_md_type_t md, std::string_view data)
{
    const mbedtls_md_info_t* info = mbedtls_md_info_from_type(md);
    if (info == nullptr)
        throw error(status::crypto_error, "digest not available in mbedTLS");

    bytes out(mbedtls_md_get_size(info));
    check(mbedtls_md(info, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size(), out.data()),
          "hashing failed");
    return out;
}

[[noreturn]] void bad_ecdsa_der()
{
    throw error(status::crypto_error,
                "mbedTLS returned a malformed ECDSA signature");
}

// JWS wants r||s at fixed width (RFC 7518 section 3.4), mbedTLS gives the
// DER ECDSA-Sig-Value of RFC 3279.
bytes ecdsa_der_to_raw(unsigned char* der, std::size_t der_len,
                       std::size_t size)
{
    unsigned char* p = der;
    const unsigned char* end = der + der_len;
    std::size_t seq_len = 0;
    check(
        mbedtls_asn1_get_tag(&p, end, &seq_len,
                             MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE),
        "reading the ECDSA signature failed");
    if (seq_len != static_cast<std::size_t>(end - p))
        bad_ecdsa_der();

    mpi r;
    mpi s;
    check(mbedtls_asn1_get_mpi(&p, end, r.get()),
          "reading the ECDSA signature failed");
    check(mbedtls_asn1_get_mpi(&p, end, s.get()),
          "reading the ECDSA signature failed");
    if (p != end)
        bad_ecdsa_der();

    bytes raw(2 * size);
    check(mbedtls_mpi_write_binary(r.get(), raw.data(), size),
          "writing the ECDSA signature failed");
    check(mbedtls_mpi_write_binary(s.get(), raw.data() + size, size),
          "writing the ECDSA signature failed");
    return raw;
}

// The ASN.1 writers return the byte count written, or a negative error.
std::size_t written(int ret)
{
    return static_cast<std::size_t>(
        check(ret, "writing subjectAltName failed"));
}

// A dNSName GeneralName: [2] IMPLICIT IA5String.
std::size_t write_dns_name(unsigned char** p, unsigned char* start,
                           const std::string& name)
{
    const auto* text = reinterpret_cast<const unsigned char*>(name.data());
    std::size_t len =
        written(mbedtls_asn1_write_raw_buffer(p, start, text, name.size()));
    len += written(mbedtls_asn1_write_len(p, start, len));
    len += written(
        mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2));
    return len;
}

// GeneralNames ::= SEQUENCE OF GeneralName. The ASN.1 writers fill the
// buffer from its end, so the names go in backwards to come out in order.
bytes subject_alt_names(const std::vector<std::string>& names)
{
    // Per name: one tag byte and at most five length bytes.
    std::size_t capacity = 6;
    for (const auto& name : names)
        capacity += name.size() + 6;
    bytes buf(capacity);
    unsigned char* start = buf.data();
    unsigned char* p = start + buf.size();

    std::size_t len = 0;
    for (auto it = names.rbegin(); it != names.rend(); ++it)
        len += write_dns_name(&p, start, *it);

    len += written(mbedtls_asn1_write_len(&p, start, len));
    len += written(mbedtls_asn1_write_tag(
        &p, start, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
    return bytes(p, p + len);
}

// An mbedtls_x509_crt chain that frees itself.
class crt_chain {
public:
    crt_chain() { mbedtls_x509_crt_init(&chain_); }
    ~crt_chain() { mbedtls_x509_crt_free(&chain_); }
    crt_chain(const crt_chain&) = delete;
    crt_chain& operator=(const crt_chain&) = delete;

    mbedtls_x509_crt* get() noexcept { return &chain_; }

private:
    mbedtls_x509_crt chain_;
};

[[noreturn]] void bad_chain(const std::string& why)
{
    throw error(status::bad_response, "certificate chain: " + why);
}

// A chain from the server is PEM text only: a NUL would cut it short for
// C readers, other control bytes are not PEM at all.
void check_pem_text(std::string_view pem)
{
    for (char c : pem) {
        auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\n' && c != '\r' && c != '\t') || u >= 0x7f)
            bad_chain("holds bytes that are not PEM text");
    }
}

std::size_t count_blocks(std::string_view pem)
{
    constexpr std::string_view begin = "-----BEGIN ";
    std::size_t count = 0;
    for (std::size_t at = pem.find(begin); at != std::string_view::npos;
         at = pem.find(begin, at + 1))
        ++count;
    return count;
}

std::string dn_text(const mbedtls_x509_name* name)
{
    char buf[1024];
    int len = mbedtls_x509_dn_gets(buf, sizeof buf, name);
    return len < 0 ? std::string() : std::string(buf, len);
}

// In 64 bits: timegm() fails past 2038 where time_t has 32 bits.
std::int64_t epoch_seconds(const mbedtls_x509_time& t)
{
    return detail::seconds_from_civil(t.year, t.mon, t.day, t.hour, t.min,
                                      t.sec);
}

public_jwk jwk_or_empty(const mbedtls_pk_context* pk)
{
    try {
        detect_type(pk);
        if (mbedtls_pk_get_type(pk) == MBEDTLS_PK_RSA)
            return rsa_jwk(pk);
        return ec_jwk(pk);
    } catch (const error&) {
        // Intermediates may use keys acmekit never signs with.
        return {};
    }
}

[[noreturn]] void bad_aki(const char* why)
{
    bad_chain(std::string("authorityKeyIdentifier ") + why);
}

constexpr int der_sequence = MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE;

// Reads one TLV with the given tag inside [*p, end); afterwards *p is at its
// content and the returned length stays within end.
std::size_t read_tag(unsigned char** p, const unsigned char* end, int tag,
                     const char* what)
{
    std::size_t len = 0;
    if (mbedtls_asn1_get_tag(p, end, &len, tag) != 0)
        bad_chain(std::string("malformed ") + what);
    return len;
}

// AuthorityKeyIdentifier ::= SEQUENCE {
//     keyIdentifier             [0] IMPLICIT OCTET STRING OPTIONAL,
//     authorityCertIssuer       [1] IMPLICIT GeneralNames OPTIONAL,
//     authorityCertSerialNumber [2] IMPLICIT INTEGER OPTIONAL }
bytes parse_aki(unsigned char* p, const unsigned char* end)
{
    constexpr int key_id_tag = MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0;
    constexpr int issuer_tag =
        MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 1;
    constexpr int serial_tag = MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2;
    const char* what = "authorityKeyIdentifier";

    std::size_t len = read_tag(&p, end, der_sequence, what);
    if (len != static_cast<std::size_t>(end - p))
        bad_aki("has bytes after its SEQUENCE");

    bytes key_id;
    if (p < end && *p == key_id_tag) {
        len = read_tag(&p, end, key_id_tag, what);
        // An empty identifier names no key; passing it on would only make
        // an ARI certificate ID that no server can match.
        if (len == 0)
            bad_aki("has an empty keyIdentifier");
        key_id.assign(p, p + len);
        p += len;
    }

    // The other members are not needed, but they must still be the ones
    // the syntax allows, in order and within the SEQUENCE.
    for (int tag : {issuer_tag, serial_tag}) {
        if (p < end && *p == tag) {
            len = read_tag(&p, end, tag, what);
            p += len;
        }
    }
    if (p != end)
        bad_aki("has an unknown member");
    return key_id;
}

// mbedTLS 2.28 skips the Authority Key Identifier like any extension it
// does not know, so it is read here from the raw extensions. v3_ext starts
// at Extensions ::= SEQUENCE OF Extension, where
// Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE,
// extnValue OCTET STRING }.
bytes authority_key_id(const mbedtls_x509_crt& crt)
{
    if (crt.v3_ext.p == nullptr || crt.v3_ext.len == 0)
        return {};

    unsigned char* p = crt.v3_ext.p;
    const unsigned char* const end = p + crt.v3_ext.len;
    std::size_t len = read_tag(&p, end, der_sequence, "extensions");
    if (len != static_cast<std::size_t>(end - p))
        bad_chain("malformed extensions");

    bytes key_id;
    bool seen = false;
    while (p < end) {
        len = read_tag(&p, end, der_sequence, "extension");
        const unsigned char* const ext_end = p + len;

        len = read_tag(&p, ext_end, MBEDTLS_ASN1_OID, "extension ID");
        bool is_aki = MBEDTLS_OID_CMP_RAW(MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER,
                                          p, len) == 0;
        p += len;

        if (p < ext_end && *p == MBEDTLS_ASN1_BOOLEAN) {
            int critical = 0;
            if (mbedtls_asn1_get_bool(&p, ext_end, &critical) != 0)
                bad_chain("malformed extension critical flag");
        }

        len = read_tag(&p, ext_end, MBEDTLS_ASN1_OCTET_STRING, "extnValue");
        if (len != static_cast<std::size_t>(ext_end - p))
            bad_chain("malformed extension");

        if (is_aki) {
            // RFC 5280 section 4.2: an extension appears at most once.
            if (seen)
                bad_aki("appears twice");
            seen = true;
            key_id = parse_aki(p, ext_end);
        }
        p += len;
    }
    return key_id;
}

certificate_info describe(const mbedtls_x509_crt& crt)
{
    certificate_info info;
    info.subject = dn_text(&crt.subject);
    info.issuer = dn_text(&crt.issuer);
    info.not_before = epoch_seconds(crt.valid_from);
    info.not_after = epoch_seconds(crt.valid_to);
    // mbedTLS points at the INTEGER's content, so a leading 0x00 sign byte
    // stays, as RFC 9773's certificate ID needs.
    info.serial.assign(crt.serial.p, crt.serial.p + crt.serial.len);
    info.authority_key_id = authority_key_id(crt);
    info.key = jwk_or_empty(&crt.pk);
    info.der.assign(crt.raw.p, crt.raw.p + crt.raw.len);

    // mbedTLS 2.28 keeps each GeneralName's raw content with its tag.
    for (const mbedtls_x509_sequence* san = &crt.subject_alt_names;
         san != nullptr && san->buf.p != nullptr; san = san->next)
        if (san->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2))
            info.dns_names.emplace_back(
                reinterpret_cast<const char*>(san->buf.p), san->buf.len);
    return info;
}

} // namespace

std::vector<certificate_info> mbedtls_crypto::parse_chain(std::string_view pem)
{
    check_pem_text(pem);
    std::size_t blocks = count_blocks(pem);
    if (blocks == 0)
        bad_chain("no certificate in it");

    // mbedTLS reads PEM only from NUL-terminated text.
    std::string text(pem);
    crt_chain chain;
    int ret = mbedtls_x509_crt_parse(
        chain.get(), reinterpret_cast<const unsigned char*>(text.c_str()),
        text.size() + 1);
    if (ret != 0)
        bad_chain(ret > 0 ? std::to_string(ret) + " certificate(s) unreadable"
                          : "unreadable (" + describe_error(ret) + ")");

    std::vector<certificate_info> out;
    for (const mbedtls_x509_crt* crt = chain.get();
         crt != nullptr && crt->raw.p != nullptr; crt = crt->next)
        out.push_back(describe(*crt));
    if (out.size() != blocks)
        bad_chain("holds PEM blocks that are not certificates");
    return out;
}

struct mbedtls_crypto::state {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    // The DRBG is shared by every call; locking here keeps the provider safe
    // to share between threads even in mbedTLS builds without threading.
    std::mutex drbg_mutex;

    state()
    {
        mbedtls_entropy_init(&entropy);
        mbedtls_ctr_drbg_init(&drbg);
    }

    // Both free functions zero the contexts, so no DRBG state outlives us.
    ~state()
    {
        mbedtls_ctr_drbg_free(&drbg);
        mbedtls_entropy_free(&entropy);
    }

    state(const state&) = delete;
    state& operator=(const state&) = delete;

    static int random(void* self, unsigned char* out, std::size_t size)
    {
        auto* s = static_cast<state*>(self);
        std::lock_guard<std::mutex> lock(s->drbg_mutex);
        return mbedtls_ctr_drbg_random(&s->drbg, out, size);
    }
};

mbedtls_crypto::mbedtls_crypto() : state_(std::make_unique<state>())
{
    check(mbedtls_ctr_drbg_seed(
              &state_->drbg, mbedtls_entropy_func, &state_->entropy,
              reinterpret_cast<const unsigned char*>(personalisation),
              sizeof personalisation - 1),
          "seeding the random generator failed");
}

mbedtls_crypto::~mbedtls_crypto() = default;

std::unique_ptr<private_key> mbedtls_crypto::generate_key(key_type type)
{
    auto key = std::make_unique<mbedtls_key>();
    key->set_type(type);

    if (const curve_info* c = curve_for(type)) {
        check(mbedtls_pk_setup(key->pk(),
                               mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)),
              "setting up an EC key failed");
        check(mbedtls_ecp_gen_key(c->group, mbedtls_pk_ec(*key->pk()),
                                  &state::random, state_.get()),
              "generating an EC key failed");
        return key;
    }

    if (const rsa_info* r = rsa_for(type)) {
        check(mbedtls_pk_setup(key->pk(),
                               mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)),
              "setting up an RSA key failed");
        check(mbedtls_rsa_gen_key(mbedtls_pk_rsa(*key->pk()), &state::random,
                                  state_.get(), r->bits, rsa_exponent),
              "generating an RSA key failed");
        return key;
    }

    throw error(status::invalid_argument, "unknown key type");
}

std::unique_ptr<private_key> mbedtls_crypto::load_key_pem(std::string_view pem)
{
    if (pem.empty())
        throw error(status::invalid_argument, "empty private key PEM");

    // mbedTLS only takes the PEM path when the input ends in a NUL.
    wiped_buffer text(pem.size() + 1);
    std::memcpy(text.data(), pem.data(), pem.size());
    text.data()[pem.size()] = '\0';

    auto key = std::make_unique<mbedtls_key>();
    check(mbedtls_pk_parse_key(key->pk(), text.data(), text.size(), nullptr, 0),
          "parsing the private key failed");

    key->set_type(detect_type(key->pk()));
    return key;
}

secret_bytes mbedtls_crypto::export_key_pem(const private_key& key)
{
    const mbedtls_key& own = own_key(key);

    // An RSA-4096 key is about 3.3 kB of PEM.
    wiped_buffer text(16 * 1024);
    check(mbedtls_pk_write_key_pem(own.pk(), text.data(), text.size()),
          "writing the private key failed");

    // The writer NUL-terminates the text it puts at the buffer's start.
    const void* nul = std::memchr(text.data(), '\0', text.size());
    if (nul == nullptr)
        throw error(status::crypto_error, "unterminated private key PEM");
    auto len = static_cast<const unsigned char*>(nul) - text.data();
    return secret_bytes(text.data(), static_cast<std::size_t>(len));
}

public_jwk mbedtls_crypto::jwk(const private_key& key)
{
    const mbedtls_key& own = own_key(key);
    if (curve_for(own.type()) != nullptr)
        return ec_jwk(own.pk());
    return rsa_jwk(own.pk());
}

bytes mbedtls_crypto::sign(const private_key& key, std::string_view data)
{
    const mbedtls_key& own = own_key(key);
    const curve_info* c = curve_for(own.type());
    mbedtls_md_type_t md = c != nullptr ? c->md : MBEDTLS_MD_SHA256;
    bytes hash = digest(md, data);

    unsigned char sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    std::size_t sig_len = 0;
    check(mbedtls_pk_sign(own.pk(), md, hash.data(), hash.size(), sig, &sig_len,
                          &state::random, state_.get()),
          "signing failed");

    if (c != nullptr)
        return ecdsa_der_to_raw(sig, sig_len, c->size);
    return bytes(sig, sig + sig_len);
}

bytes mbedtls_crypto::sha256(std::string_view data)
{
    return digest(MBEDTLS_MD_SHA256, data);
}

bytes mbedtls_crypto::hmac(hmac_algorithm algorithm, const secret_bytes& key,
                           std::string_view data)
{
    mbedtls_md_type_t md =
        algorithm == hmac_algorithm::sha256   ? MBEDTLS_MD_SHA256
        : algorithm == hmac_algorithm::sha384 ? MBEDTLS_MD_SHA384
                                              : MBEDTLS_MD_SHA512;
    const mbedtls_md_info_t* info = mbedtls_md_info_from_type(md);
    if (info == nullptr)
        throw error(status::crypto_error, "HMAC digest not available");

    bytes mac(mbedtls_md_get_size(info));
    check(mbedtls_md_hmac(info, key.data(), key.size(),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          data.size(), mac.data()),
          "HMAC failed");
    return mac;
}

bytes mbedtls_crypto::make_csr(const private_key& key,
                               const std::vector<std::string>& names)
{
    const mbedtls_key& own = own_key(key);
    detail::check_csr_names(names);
    bytes san = subject_alt_names(names);

    csr_writer csr;
    mbedtls_x509write_csr_set_md_alg(csr.get(), MBEDTLS_MD_SHA256);
    mbedtls_x509write_csr_set_key(csr.get(), own.pk());

    // A longer CN is invalid (RFC 5280); the names are all in the SAN anyway
    // and an unset subject is written as the empty Name.
    if (names.front().size() <= max_common_name) {
        std::string subject = "CN=" + names.front();
        check(
            mbedtls_x509write_csr_set_subject_name(csr.get(), subject.c_str()),
            "setting the CSR subject failed");
    }

    check(mbedtls_x509write_csr_set_extension(
              csr.get(), MBEDTLS_OID_SUBJECT_ALT_NAME,
              MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), san.data(),
              san.size()),
          "adding subjectAltName failed");

    // Key, signature and fixed fields take under 2 kB even for RSA-4096.
    bytes buf(4096 + 2 * san.size());
    int len = check(mbedtls_x509write_csr_der(csr.get(), buf.data(), buf.size(),
                                              &state::random, state_.get()),
                    "writing the CSR failed");

    // The DER ends where the buffer ends.
    return bytes(buf.end() - len, buf.end());
}

namespace {

class csr_reader {
public:
    csr_reader() { mbedtls_x509_csr_init(&csr_); }
    ~csr_reader() { mbedtls_x509_csr_free(&csr_); }
    csr_reader(const csr_reader&) = delete;
    csr_reader& operator=(const csr_reader&) = delete;
    mbedtls_x509_csr* get() { return &csr_; }

private:
    mbedtls_x509_csr csr_;
};

[[noreturn]] void bad_csr(const std::string& why)
{
    throw error(status::invalid_argument, "certificate request: " + why);
}

} // namespace

csr_info mbedtls_crypto::parse_csr(const bytes& pem_or_der)
{
    // PEM must reach mbedTLS with its terminating NUL counted.
    bytes input = pem_or_der;
    static constexpr char pem_start[] = "-----BEGIN";
    bool pem = input.size() > sizeof pem_start &&
               std::memcmp(input.data(), pem_start, sizeof pem_start - 1) == 0;
    if (pem)
        input.push_back(0);

    csr_reader csr;
    int ret = mbedtls_x509_csr_parse(csr.get(), input.data(), input.size());
    if (ret != 0)
        bad_csr("not a PKCS#10 request (" + describe_error(ret) + ")");
    mbedtls_x509_csr* parsed = csr.get();

    // mbedTLS parses the request without checking who signed it; a request
    // the key did not sign would only be refused later by the CA.
    const mbedtls_md_info_t* md = mbedtls_md_info_from_type(parsed->sig_md);
    if (md == nullptr)
        bad_csr("unsupported signature digest");
    unsigned char hash[MBEDTLS_MD_MAX_SIZE];
    check(mbedtls_md(md, parsed->cri.p, parsed->cri.len, hash),
          "hashing the request failed");
    if (mbedtls_pk_verify_ext(parsed->sig_pk, parsed->sig_opts, &parsed->pk,
                              parsed->sig_md, hash, mbedtls_md_get_size(md),
                              parsed->sig.p, parsed->sig.len) != 0)
        bad_csr("its signature does not verify");

    csr_info info;
    info.key = jwk_or_empty(&parsed->pk);
    if (info.key.kty.empty())
        bad_csr("the key is not ECDSA P-256/P-384 or RSA 2048-4096");
    info.der.assign(parsed->raw.p, parsed->raw.p + parsed->raw.len);
    return info;
}

const char* jws_algorithm(key_type type) noexcept
{
    switch (type) {
    case key_type::ec_p256: return "ES256";
    case key_type::ec_p384: return "ES384";
    case key_type::rsa_2048:
    case key_type::rsa_3072:
    case key_type::rsa_4096: return "RS256";
    }
    return "";
}

} // namespace acme
