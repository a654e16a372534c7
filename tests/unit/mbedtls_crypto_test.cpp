#include <acmekit/adapters/mbedtls_crypto.hpp>
#include <acmekit/csr.hpp>
#include <acmekit/problem.hpp>

#include "detail/base64url.hpp"

#include <doctest/doctest.h>

#include <mbedtls/asn1.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ecp.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/x509_csr.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

using acme::bytes;
using acme::key_type;

namespace fs = std::filesystem;

constexpr key_type all_types[] = {
    key_type::ec_p256,  key_type::ec_p384,  key_type::rsa_2048,
    key_type::rsa_3072, key_type::rsa_4096,
};

bool is_ec(key_type type)
{
    return type == key_type::ec_p256 || type == key_type::ec_p384;
}

std::size_t rsa_bytes(key_type type)
{
    switch (type) {
    case key_type::rsa_2048: return 256;
    case key_type::rsa_3072: return 384;
    case key_type::rsa_4096: return 512;
    default: return 0;
    }
}

std::size_t ec_bytes(key_type type)
{
    return type == key_type::ec_p384 ? 48 : 32;
}

const char* type_name(key_type type)
{
    switch (type) {
    case key_type::ec_p256: return "ec_p256";
    case key_type::ec_p384: return "ec_p384";
    case key_type::rsa_2048: return "rsa_2048";
    case key_type::rsa_3072: return "rsa_3072";
    case key_type::rsa_4096: return "rsa_4096";
    }
    return "?";
}

acme::mbedtls_crypto& provider()
{
    static acme::mbedtls_crypto crypto;
    return crypto;
}

// RSA-4096 generation takes seconds: make each type once for all tests.
const acme::private_key& shared_key(key_type type)
{
    static std::map<key_type, std::unique_ptr<acme::private_key>> keys;
    auto& key = keys[type];
    if (!key)
        key = provider().generate_key(type);
    return *key;
}

bytes decode(const std::string& text)
{
    auto out = acme::detail::base64url_decode(text);
    REQUIRE(out.has_value());
    return *out;
}

bool same_jwk(const acme::public_jwk& a, const acme::public_jwk& b)
{
    return a.kty == b.kty && a.crv == b.crv && a.x == b.x && a.y == b.y &&
           a.n == b.n && a.e == b.e;
}

// A public key rebuilt from nothing but the JWK, so that verifying with it
// proves the JWK belongs to the signing key.
class public_key {
public:
    explicit public_key(const acme::public_jwk& jwk)
    {
        mbedtls_pk_init(&pk_);
        if (jwk.kty == "EC")
            load_ec(jwk);
        else
            load_rsa(jwk);
    }
    ~public_key() { mbedtls_pk_free(&pk_); }
    public_key(const public_key&) = delete;
    public_key& operator=(const public_key&) = delete;

    mbedtls_pk_context* get() { return &pk_; }

    bytes der()
    {
        bytes buf(4096);
        int len = mbedtls_pk_write_pubkey_der(&pk_, buf.data(), buf.size());
        REQUIRE(len > 0);
        return bytes(buf.end() - len, buf.end());
    }

private:
    void load_ec(const acme::public_jwk& jwk)
    {
        REQUIRE(mbedtls_pk_setup(
                    &pk_, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) == 0);
        mbedtls_ecp_keypair* ec = mbedtls_pk_ec(pk_);
        auto group = jwk.crv == "P-384" ? MBEDTLS_ECP_DP_SECP384R1
                                        : MBEDTLS_ECP_DP_SECP256R1;
        REQUIRE(mbedtls_ecp_group_load(&ec->grp, group) == 0);

        bytes point{0x04};
        bytes x = decode(jwk.x);
        bytes y = decode(jwk.y);
        point.insert(point.end(), x.begin(), x.end());
        point.insert(point.end(), y.begin(), y.end());
        REQUIRE(mbedtls_ecp_point_read_binary(&ec->grp, &ec->Q, point.data(),
                                              point.size()) == 0);
        REQUIRE(mbedtls_ecp_check_pubkey(&ec->grp, &ec->Q) == 0);
    }

    void load_rsa(const acme::public_jwk& jwk)
    {
        REQUIRE(mbedtls_pk_setup(
                    &pk_, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)) == 0);
        mbedtls_rsa_context* rsa = mbedtls_pk_rsa(pk_);
        bytes n = decode(jwk.n);
        bytes e = decode(jwk.e);
        REQUIRE(mbedtls_rsa_import_raw(rsa, n.data(), n.size(), nullptr, 0,
                                       nullptr, 0, nullptr, 0, e.data(),
                                       e.size()) == 0);
        REQUIRE(mbedtls_rsa_complete(rsa) == 0);
        REQUIRE(mbedtls_rsa_check_pubkey(rsa) == 0);
    }

    mbedtls_pk_context pk_;
};

// The inverse of what the provider does: raw r||s back to ECDSA-Sig-Value.
bytes raw_to_der(const bytes& raw)
{
    std::size_t half = raw.size() / 2;
    mbedtls_mpi r;
    mbedtls_mpi s;
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    REQUIRE(mbedtls_mpi_read_binary(&r, raw.data(), half) == 0);
    REQUIRE(mbedtls_mpi_read_binary(&s, raw.data() + half, half) == 0);

    bytes buf(256);
    unsigned char* start = buf.data();
    unsigned char* p = start + buf.size();
    int len = 0;
    len += mbedtls_asn1_write_mpi(&p, start, &s);
    len += mbedtls_asn1_write_mpi(&p, start, &r);
    len += mbedtls_asn1_write_len(&p, start, static_cast<std::size_t>(len));
    len += mbedtls_asn1_write_tag(
        &p, start, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE);
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    REQUIRE(len > 0);
    return bytes(p, p + len);
}

mbedtls_md_type_t md_for(key_type type)
{
    return type == key_type::ec_p384 ? MBEDTLS_MD_SHA384 : MBEDTLS_MD_SHA256;
}

bool verifies(const acme::private_key& key, std::string_view data,
              const bytes& sig)
{
    public_key pub(provider().jwk(key));
    mbedtls_md_type_t md = md_for(key.type());
    const mbedtls_md_info_t* info = mbedtls_md_info_from_type(md);
    bytes hash(mbedtls_md_get_size(info));
    REQUIRE(mbedtls_md(info,
                       reinterpret_cast<const unsigned char*>(data.data()),
                       data.size(), hash.data()) == 0);

    bytes wire = is_ec(key.type()) ? raw_to_der(sig) : sig;
    return mbedtls_pk_verify(pub.get(), md, hash.data(), hash.size(),
                             wire.data(), wire.size()) == 0;
}

std::string hex(const bytes& data)
{
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (auto b : data) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

class temp_dir {
public:
    temp_dir()
    {
        std::string pattern =
            (fs::temp_directory_path() / "acmekit-crypto-XXXXXX").string();
        REQUIRE(mkdtemp(pattern.data()) != nullptr);
        path_ = pattern;
    }
    ~temp_dir()
    {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    std::string file(const std::string& name) const
    {
        return (path_ / name).string();
    }

private:
    fs::path path_;
};

void write_file(const std::string& path, const void* data, std::size_t size)
{
    std::ofstream out(path, std::ios::binary);
    out.write(static_cast<const char*>(data),
              static_cast<std::streamsize>(size));
    REQUIRE(out.good());
}

std::string read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    return std::string(std::istreambuf_iterator<char>(in), {});
}

struct command_result {
    int exit_status;
    std::string output;
};

// The paths come from mkdtemp and hold no quotes.
command_result run(const std::string& command)
{
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string output;
    char chunk[4096];
    std::size_t got;
    while ((got = std::fread(chunk, 1, sizeof chunk, pipe)) > 0)
        output.append(chunk, got);
    int raw = pclose(pipe);
    int code = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    return {code, output};
}

command_result openssl_verify_csr(const temp_dir& dir, const bytes& der)
{
    std::string path = dir.file("request.der");
    write_file(path, der.data(), der.size());
    return run("openssl req -inform DER -in '" + path +
               "' -noout -text -verify");
}

// The names after "X509v3 Subject Alternative Name:" in openssl's text.
std::vector<std::string> san_names(const std::string& text)
{
    std::vector<std::string> names;
    auto at = text.find("X509v3 Subject Alternative Name:");
    if (at == std::string::npos)
        return names;
    auto line_start = text.find('\n', at) + 1;
    auto line_end = text.find('\n', line_start);
    std::istringstream line(text.substr(line_start, line_end - line_start));
    std::string entry;
    while (std::getline(line, entry, ',')) {
        auto first = entry.find_first_not_of(' ');
        names.push_back(entry.substr(first));
    }
    return names;
}

std::vector<std::string> with_dns_prefix(const std::vector<std::string>& in)
{
    std::vector<std::string> out;
    for (const auto& name : in)
        out.push_back("DNS:" + name);
    return out;
}

// The encoded subject Name of a DER CertificationRequest.
bytes subject_of(bytes der)
{
    const int seq = MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE;
    unsigned char* p = der.data();
    const unsigned char* end = p + der.size();
    std::size_t len = 0;
    REQUIRE(mbedtls_asn1_get_tag(&p, end, &len, seq) == 0);
    REQUIRE(mbedtls_asn1_get_tag(&p, end, &len, seq) == 0);
    int version = -1;
    REQUIRE(mbedtls_asn1_get_int(&p, end, &version) == 0);
    REQUIRE(version == 0);
    unsigned char* name = p;
    REQUIRE(mbedtls_asn1_get_tag(&p, end, &len, seq) == 0);
    return bytes(name, p + len);
}

void check_load_fails(std::string_view pem)
{
    try {
        provider().load_key_pem(pem);
        FAIL("loading did not throw");
    } catch (const acme::error& e) {
        CHECK((e.code() == acme::status::crypto_error ||
               e.code() == acme::status::invalid_argument));
    }
}

class foreign_key final : public acme::private_key {
public:
    key_type type() const noexcept override { return key_type::ec_p256; }
};

} // namespace

TEST_CASE("jws_algorithm names the JWS alg of each key type")
{
    CHECK(std::string(acme::jws_algorithm(key_type::ec_p256)) == "ES256");
    CHECK(std::string(acme::jws_algorithm(key_type::ec_p384)) == "ES384");
    CHECK(std::string(acme::jws_algorithm(key_type::rsa_2048)) == "RS256");
    CHECK(std::string(acme::jws_algorithm(key_type::rsa_3072)) == "RS256");
    CHECK(std::string(acme::jws_algorithm(key_type::rsa_4096)) == "RS256");
}

TEST_CASE("every key type generates, exports PEM and reloads the same key")
{
    for (key_type type : all_types) {
        CAPTURE(type_name(type));
        const auto& key = shared_key(type);
        CHECK(key.type() == type);

        acme::secret_bytes pem = provider().export_key_pem(key);
        std::string_view text = pem.view();
        CHECK(text.substr(0, 11) == "-----BEGIN ");
        CHECK(text.find("PRIVATE KEY-----") != std::string_view::npos);
        CHECK(text.find('\0') == std::string_view::npos);
        CHECK(text.find("-----END ") != std::string_view::npos);

        auto reloaded = provider().load_key_pem(text);
        CHECK(reloaded->type() == type);
        CHECK(same_jwk(provider().jwk(*reloaded), provider().jwk(key)));
        CHECK(provider().export_key_pem(*reloaded).view() == text);
    }
}

TEST_CASE("two generated keys differ")
{
    auto a = provider().generate_key(key_type::ec_p256);
    auto b = provider().generate_key(key_type::ec_p256);
    CHECK_FALSE(same_jwk(provider().jwk(*a), provider().jwk(*b)));
}

TEST_CASE("EC JWKs carry fixed-size coordinates")
{
    for (key_type type : {key_type::ec_p256, key_type::ec_p384}) {
        CAPTURE(type_name(type));
        acme::public_jwk jwk = provider().jwk(shared_key(type));
        CHECK(jwk.kty == "EC");
        CHECK(jwk.crv == (type == key_type::ec_p256 ? "P-256" : "P-384"));
        std::size_t chars = type == key_type::ec_p256 ? 43 : 64;
        CHECK(jwk.x.size() == chars);
        CHECK(jwk.y.size() == chars);
        CHECK(decode(jwk.x).size() == ec_bytes(type));
        CHECK(decode(jwk.y).size() == ec_bytes(type));
        CHECK(jwk.n.empty());
        CHECK(jwk.e.empty());
    }
}

TEST_CASE("EC coordinates keep their leading zero bytes")
{
    // About one coordinate in 256 is below 2^248: look for a short x and a
    // short y, so that left-padding is exercised rather than assumed.
    bool short_x = false;
    bool short_y = false;
    for (int i = 0; i < 6000 && !(short_x && short_y); ++i) {
        auto key = provider().generate_key(key_type::ec_p256);
        acme::public_jwk jwk = provider().jwk(*key);
        REQUIRE(jwk.x.size() == 43);
        REQUIRE(jwk.y.size() == 43);
        bytes x = decode(jwk.x);
        bytes y = decode(jwk.y);
        if (x[0] != 0 && y[0] != 0)
            continue;
        short_x = short_x || x[0] == 0;
        short_y = short_y || y[0] == 0;
        auto sig = provider().sign(*key, "padded");
        CHECK(verifies(*key, "padded", sig));
    }
    CHECK(short_x);
    CHECK(short_y);
}

TEST_CASE("ECDSA signature halves keep their leading zero bytes")
{
    // As with the coordinates, r and s are each short once in 256 or so.
    const auto& key = shared_key(key_type::ec_p256);
    bool short_r = false;
    bool short_s = false;
    for (int i = 0; i < 6000 && !(short_r && short_s); ++i) {
        std::string message = "message " + std::to_string(i);
        bytes sig = provider().sign(key, message);
        REQUIRE(sig.size() == 64);
        if (sig[0] != 0 && sig[32] != 0)
            continue;
        short_r = short_r || sig[0] == 0;
        short_s = short_s || sig[32] == 0;
        CHECK(verifies(key, message, sig));
    }
    CHECK(short_r);
    CHECK(short_s);
}

TEST_CASE("RSA JWKs carry minimal n and e")
{
    for (key_type type :
         {key_type::rsa_2048, key_type::rsa_3072, key_type::rsa_4096}) {
        CAPTURE(type_name(type));
        acme::public_jwk jwk = provider().jwk(shared_key(type));
        CHECK(jwk.kty == "RSA");
        CHECK(jwk.e == "AQAB");
        bytes n = decode(jwk.n);
        CHECK(n.size() == rsa_bytes(type));
        CHECK(n.front() != 0);
        CHECK((n.back() & 1) == 1);
        CHECK(jwk.crv.empty());
        CHECK(jwk.x.empty());
        CHECK(jwk.y.empty());
    }
}

TEST_CASE("signatures have the JWS size and verify")
{
    const std::string message = "eyJhbGciOiJFUzI1NiJ9.eyJmb28iOiJiYXIifQ";
    for (key_type type : all_types) {
        CAPTURE(type_name(type));
        const auto& key = shared_key(type);
        bytes sig = provider().sign(key, message);
        std::size_t expected =
            is_ec(type) ? 2 * ec_bytes(type) : rsa_bytes(type);
        CHECK(sig.size() == expected);
        CHECK(verifies(key, message, sig));

        std::string tampered = message;
        tampered[5] ^= 1;
        CHECK_FALSE(verifies(key, tampered, sig));

        bytes bad_sig = sig;
        bad_sig[bad_sig.size() / 2] ^= 0x40;
        CHECK_FALSE(verifies(key, message, bad_sig));

        bytes empty_sig = provider().sign(key, "");
        CHECK(verifies(key, "", empty_sig));
        CHECK_FALSE(verifies(key, "x", empty_sig));
    }
}

TEST_CASE("a signature does not verify under another key of the same type")
{
    auto other = provider().generate_key(key_type::ec_p384);
    bytes sig = provider().sign(shared_key(key_type::ec_p384), "data");
    CHECK_FALSE(verifies(*other, "data", sig));
}

TEST_CASE("openssl agrees with the signatures")
{
    temp_dir dir;
    for (key_type type :
         {key_type::ec_p256, key_type::ec_p384, key_type::rsa_2048}) {
        CAPTURE(type_name(type));
        const auto& key = shared_key(type);
        acme::secret_bytes pem = provider().export_key_pem(key);
        std::string key_path = dir.file("key.pem");
        write_file(key_path, pem.data(), pem.size());
        std::string data_path = dir.file("data");
        write_file(data_path, "openssl check", 13);
        std::string dgst = type == key_type::ec_p384 ? "-sha384" : "-sha256";
        bytes sig = provider().sign(key, "openssl check");

        if (!is_ec(type)) {
            // PKCS#1 v1.5 is deterministic: openssl must give the same bytes.
            std::string out_path = dir.file("openssl.sig");
            auto made = run("openssl dgst " + dgst + " -sign '" + key_path +
                            "' -out '" + out_path + "' '" + data_path + "'");
            REQUIRE(made.exit_status == 0);
            std::string theirs = read_file(out_path);
            CHECK(bytes(theirs.begin(), theirs.end()) == sig);
            continue;
        }

        std::string pub_path = dir.file("pub.pem");
        REQUIRE(run("openssl pkey -in '" + key_path + "' -pubout -out '" +
                    pub_path + "'")
                    .exit_status == 0);
        bytes der = raw_to_der(sig);
        std::string sig_path = dir.file("sig.der");
        write_file(sig_path, der.data(), der.size());
        auto checked =
            run("openssl dgst " + dgst + " -verify '" + pub_path +
                "' -signature '" + sig_path + "' '" + data_path + "'");
        CHECK(checked.exit_status == 0);
        CHECK(checked.output.find("Verified OK") != std::string::npos);
    }
}

TEST_CASE("sha256 matches the FIPS 180-2 test vectors")
{
    CHECK(hex(provider().sha256("abc")) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(hex(provider().sha256("")) ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(hex(provider().sha256(
              "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("make_csr writes a request mbedTLS and openssl accept")
{
    const std::vector<std::string> names = {"example.com", "www.example.com",
                                            "*.example.org"};
    temp_dir dir;
    for (key_type type : all_types) {
        CAPTURE(type_name(type));
        const auto& key = shared_key(type);
        bytes der = provider().make_csr(key, names);

        mbedtls_x509_csr csr;
        mbedtls_x509_csr_init(&csr);
        CHECK(mbedtls_x509_csr_parse_der(&csr, der.data(), der.size()) == 0);
        CHECK(csr.version == 1);
        CHECK(csr.sig_md == MBEDTLS_MD_SHA256);
        char subject[256];
        CHECK(mbedtls_x509_dn_gets(subject, sizeof subject, &csr.subject) > 0);
        CHECK(std::string(subject) == "CN=example.com");

        // The request must carry this key's public half.
        public_key expected(provider().jwk(key));
        bytes pub(4096);
        int len = mbedtls_pk_write_pubkey_der(&csr.pk, pub.data(), pub.size());
        REQUIRE(len > 0);
        CHECK(bytes(pub.end() - len, pub.end()) == expected.der());
        mbedtls_x509_csr_free(&csr);

        auto result = openssl_verify_csr(dir, der);
        CHECK(result.exit_status == 0);
        CHECK(result.output.find("verify OK") != std::string::npos);
        CHECK(result.output.find("Subject: CN = example.com\n") !=
              std::string::npos);
        CHECK(san_names(result.output) == with_dns_prefix(names));
        std::string alg =
            is_ec(type) ? "ecdsa-with-SHA256" : "sha256WithRSAEncryption";
        CHECK(result.output.find("Signature Algorithm: " + alg) !=
              std::string::npos);
    }
}

TEST_CASE("make_csr puts a 64-character first name in the CN")
{
    std::string name(60, 'a');
    name += ".com";
    REQUIRE(name.size() == 64);
    bytes der = provider().make_csr(shared_key(key_type::ec_p256), {name});

    temp_dir dir;
    auto result = openssl_verify_csr(dir, der);
    CHECK(result.exit_status == 0);
    CHECK(result.output.find("Subject: CN = " + name + "\n") !=
          std::string::npos);
    CHECK(san_names(result.output) == with_dns_prefix({name}));
}

TEST_CASE("make_csr leaves the subject empty for a first name over 64")
{
    std::string long_name = std::string(61, 'b') + ".com";
    REQUIRE(long_name.size() == 65);
    const std::vector<std::string> names = {long_name, "short.example"};
    bytes der = provider().make_csr(shared_key(key_type::ec_p256), names);

    // mbedTLS 2.28 cannot parse an empty Name, so walk the DER by hand.
    CHECK(subject_of(der) == bytes{0x30, 0x00});

    temp_dir dir;
    auto result = openssl_verify_csr(dir, der);
    CHECK(result.exit_status == 0);
    CHECK(result.output.find("verify OK") != std::string::npos);
    CHECK(result.output.find("CN =") == std::string::npos);
    CHECK(san_names(result.output) == with_dns_prefix(names));
}

TEST_CASE("openssl rejects a CSR whose signature was altered")
{
    bytes der =
        provider().make_csr(shared_key(key_type::rsa_2048), {"tamper.example"});
    der[der.size() - 10] ^= 0x01;

    temp_dir dir;
    auto result = openssl_verify_csr(dir, der);
    CHECK(result.output.find("verify OK") == std::string::npos);
    CHECK(result.output.find("verify fail") != std::string::npos);
}

TEST_CASE("make_csr rejects unusable name lists")
{
    const auto& key = shared_key(key_type::ec_p256);
    auto rejects = [&](const std::vector<std::string>& names) {
        try {
            provider().make_csr(key, names);
            return false;
        } catch (const acme::error& e) {
            return e.code() == acme::status::invalid_argument;
        }
    };
    CHECK(rejects({}));
    CHECK(rejects({""}));
    CHECK(rejects({"example.com", ""}));
    CHECK(rejects({"a.example,O=Evil"}));
    CHECK(rejects({"caf\xc3\xa9.example"}));
    CHECK(rejects({"bad name.example"}));
    CHECK_FALSE(rejects({"ok-name_1.example", "*.example"}));
}

TEST_CASE("loading garbage PEM throws")
{
    std::string good(
        provider().export_key_pem(shared_key(key_type::ec_p256)).view());
    check_load_fails("");
    check_load_fails("not a key at all");
    check_load_fails("-----BEGIN PRIVATE KEY-----\n"
                     "bm90IGEga2V5IGF0IGFsbA==\n"
                     "-----END PRIVATE KEY-----\n");
    check_load_fails(good.substr(0, good.size() / 2));
    check_load_fails(std::string(good.size(), '\0'));

    // "AAAA" turns the outer SEQUENCE tag of the DER into a zero byte.
    std::string corrupted = good;
    corrupted.replace(good.find('\n') + 1, 4, "AAAA");
    check_load_fails(corrupted);
}

TEST_CASE("a failed load does not echo the key text")
{
    std::string good(
        provider().export_key_pem(shared_key(key_type::ec_p256)).view());
    std::string truncated = good.substr(0, good.size() - 40);
    try {
        provider().load_key_pem(truncated);
        FAIL("loading did not throw");
    } catch (const acme::error& e) {
        std::string what = e.what();
        std::string body_piece = good.substr(40, 16);
        CHECK(what.find(body_piece) == std::string::npos);
        CHECK(what.find("BEGIN") == std::string::npos);
    }
}

TEST_CASE("keys in PKCS#8, SEC1 and PKCS#1 from openssl load")
{
    struct sample {
        const char* genpkey;
        key_type type;
    };
    const sample samples[] = {
        {"-algorithm EC -pkeyopt ec_paramgen_curve:P-256", key_type::ec_p256},
        {"-algorithm EC -pkeyopt ec_paramgen_curve:P-384", key_type::ec_p384},
        {"-algorithm RSA -pkeyopt rsa_keygen_bits:2048", key_type::rsa_2048},
    };

    temp_dir dir;
    std::string pkcs8 = dir.file("pkcs8.pem");
    std::string traditional = dir.file("traditional.pem");
    std::string pub_der = dir.file("pub.der");
    for (const auto& s : samples) {
        CAPTURE(s.genpkey);
        REQUIRE(run(std::string("openssl genpkey ") + s.genpkey + " -out '" +
                    pkcs8 + "'")
                    .exit_status == 0);
        REQUIRE(run("openssl pkey -in '" + pkcs8 + "' -traditional -out '" +
                    traditional + "'")
                    .exit_status == 0);
        REQUIRE(run("openssl pkey -in '" + pkcs8 +
                    "' -pubout -outform DER -out '" + pub_der + "'")
                    .exit_status == 0);
        std::string theirs_pub = read_file(pub_der);

        for (const auto& path : {pkcs8, traditional}) {
            CAPTURE(path);
            std::string text = read_file(path);
            auto key = provider().load_key_pem(text);
            CHECK(key->type() == s.type);

            // The JWK must describe openssl's public key exactly.
            public_key from_jwk(provider().jwk(*key));
            CHECK(from_jwk.der() ==
                  bytes(theirs_pub.begin(), theirs_pub.end()));
            bytes sig = provider().sign(*key, "imported");
            CHECK(verifies(*key, "imported", sig));
        }
    }
}

TEST_CASE("keys outside the supported types are unsupported")
{
    const char* options[] = {
        "-algorithm EC -pkeyopt ec_paramgen_curve:secp256k1",
        "-algorithm EC -pkeyopt ec_paramgen_curve:P-521",
        "-algorithm RSA -pkeyopt rsa_keygen_bits:1024",
        "-algorithm RSA -pkeyopt rsa_keygen_bits:2056",
    };

    temp_dir dir;
    std::string path = dir.file("key.pem");
    for (const char* option : options) {
        CAPTURE(option);
        REQUIRE(run(std::string("openssl genpkey ") + option + " -out '" +
                    path + "'")
                    .exit_status == 0);
        std::string text = read_file(path);
        try {
            provider().load_key_pem(text);
            FAIL("loading did not throw");
        } catch (const acme::error& e) {
            CHECK(e.code() == acme::status::unsupported);
        }
    }
}

TEST_CASE("keys from another provider are refused")
{
    foreign_key key;
    auto refuses = [](auto&& call) {
        try {
            call();
            return false;
        } catch (const acme::error& e) {
            return e.code() == acme::status::invalid_argument;
        }
    };
    CHECK(refuses([&] { provider().sign(key, "x"); }));
    CHECK(refuses([&] { provider().jwk(key); }));
    CHECK(refuses([&] { provider().export_key_pem(key); }));
    CHECK(refuses([&] { provider().make_csr(key, {"example.com"}); }));
}

TEST_CASE("a key made by one provider instance works with another")
{
    acme::mbedtls_crypto second;
    auto key = second.generate_key(key_type::ec_p256);
    bytes sig = provider().sign(*key, "shared");
    CHECK(verifies(*key, "shared", sig));
}

TEST_CASE("HMAC matches the RFC 4231 test case 2")
{
    acme::mbedtls_crypto crypto;
    acme::secret_bytes key(std::string_view("Jefe"));
    std::string data = "what do ya want for nothing?";
    auto hex = [](const acme::bytes& b) {
        std::string out;
        char two[3];
        for (auto c : b) {
            std::snprintf(two, sizeof two, "%02x", c);
            out += two;
        }
        return out;
    };
    CHECK(hex(crypto.hmac(acme::hmac_algorithm::sha256, key, data)) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK(hex(crypto.hmac(acme::hmac_algorithm::sha384, key, data)) ==
          "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
          "8e2240ca5e69e2c78b3239ecfab21649");
    CHECK(crypto.hmac(acme::hmac_algorithm::sha512, key, data).size() == 64);
}

// --- Keys held elsewhere: acmekit/csr.hpp -----------------------------------

bytes spki_of(key_type type)
{
    public_key pub(provider().jwk(shared_key(type)));
    return pub.der();
}

acme::csr_signer signer_for(key_type type)
{
    return [type](std::string_view data) {
        return provider().sign(shared_key(type), data);
    };
}

template <typename Call>
acme::status status_of(Call&& call)
{
    try {
        call();
    } catch (const acme::error& e) {
        return e.code();
    }
    return acme::status::ok;
}

TEST_CASE("read_public_key reads what mbedTLS writes, for every key type")
{
    for (key_type type : all_types) {
        CAPTURE(type_name(type));
        acme::public_key_info info = acme::read_public_key(spki_of(type));
        CHECK(info.type == type);
        CHECK(same_jwk(info.jwk, provider().jwk(shared_key(type))));
    }
}

TEST_CASE("read_public_key refuses every truncation and trailing bytes")
{
    for (key_type type : {key_type::ec_p256, key_type::rsa_2048}) {
        CAPTURE(type_name(type));
        bytes spki = spki_of(type);
        for (std::size_t length = 0; length < spki.size(); ++length) {
            CAPTURE(length);
            bytes cut(spki.begin(), spki.begin() + length);
            CHECK(status_of([&] { acme::read_public_key(cut); }) ==
                  acme::status::invalid_argument);
        }
        bytes longer = spki;
        longer.push_back(0);
        CHECK(status_of([&] { acme::read_public_key(longer); }) ==
              acme::status::invalid_argument);
    }

    // A compressed point (02 || X) is not accepted.
    bytes spki = spki_of(key_type::ec_p256);
    bytes point_start = {0x03, 0x42, 0x00, 0x04};
    auto at = std::search(spki.begin(), spki.end(), point_start.begin(),
                          point_start.end());
    REQUIRE(at != spki.end());
    at[3] = 0x02;
    CHECK(status_of([&] { acme::read_public_key(spki); }) ==
          acme::status::invalid_argument);
}

TEST_CASE("read_public_key finds keys outside the supported types unsupported")
{
    const char* options[] = {
        "-algorithm EC -pkeyopt ec_paramgen_curve:secp256k1",
        "-algorithm EC -pkeyopt ec_paramgen_curve:P-521",
        "-algorithm RSA -pkeyopt rsa_keygen_bits:1024",
        "-algorithm ED25519",
    };

    temp_dir dir;
    std::string key_path = dir.file("key.pem");
    std::string pub_path = dir.file("key.der");
    for (const char* option : options) {
        CAPTURE(option);
        REQUIRE(run(std::string("openssl genpkey ") + option + " -out '" +
                    key_path + "'")
                    .exit_status == 0);
        REQUIRE(run("openssl pkey -in '" + key_path +
                    "' -pubout -outform DER -out '" + pub_path + "'")
                    .exit_status == 0);
        std::string der = read_file(pub_path);
        bytes spki(der.begin(), der.end());
        CHECK(status_of([&] { acme::read_public_key(spki); }) ==
              acme::status::unsupported);
    }
}

TEST_CASE("ECDSA signatures convert between DER and r||s both ways")
{
    // Halves with a leading zero byte and with the top bit set are the
    // cases where DER's minimal INTEGERs differ from fixed width.
    bytes raw(64, 0x11);
    raw[0] = 0x00;
    raw[1] = 0x00;
    raw[2] = 0x7f;
    raw[32] = 0x80;
    bytes der = acme::ecdsa_der_from_raw(raw);
    CHECK(der == raw_to_der(raw));
    CHECK(acme::ecdsa_raw_from_der(der, 32) == raw);

    // Every real signature survives the trip, for both curves.
    for (key_type type : {key_type::ec_p256, key_type::ec_p384}) {
        bytes sig = provider().sign(shared_key(type), "round trip");
        std::size_t half = acme::ecdsa_half_size(type);
        CHECK(acme::ecdsa_raw_from_der(acme::ecdsa_der_from_raw(sig), half) ==
              sig);
    }
    CHECK(acme::ecdsa_half_size(key_type::rsa_2048) == 0);
}

TEST_CASE("malformed ECDSA DER signatures are refused")
{
    bytes raw(64, 0x22);
    bytes der = acme::ecdsa_der_from_raw(raw);
    auto refused = [](const bytes& input, std::size_t half) {
        return status_of([&] { acme::ecdsa_raw_from_der(input, half); }) ==
               acme::status::crypto_error;
    };
    CHECK_FALSE(refused(der, 32));
    CHECK(refused(der, 31)); // wider than the curve

    bytes trailing = der;
    trailing.push_back(0);
    CHECK(refused(trailing, 32));

    bytes wrong_tag = der;
    wrong_tag[0] = 0x31;
    CHECK(refused(wrong_tag, 32));

    // r = 0x80 without the zero byte that keeps it positive.
    CHECK(refused(bytes{0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01}, 32));
    CHECK(refused(bytes{}, 32));
    CHECK(refused(bytes{0x30, 0x00}, 32));

    CHECK(status_of([] { acme::ecdsa_der_from_raw(bytes(63, 1)); }) ==
          acme::status::crypto_error);
}

TEST_CASE("build_csr signs through a callback; openssl and parse_csr agree")
{
    const std::vector<std::string> names = {"example.com", "www.example.com",
                                            "*.example.org"};
    temp_dir dir;
    for (key_type type : all_types) {
        CAPTURE(type_name(type));
        int calls = 0;
        acme::csr_signer counted = [&](std::string_view data) {
            ++calls;
            return signer_for(type)(data);
        };
        bytes der = acme::build_csr(spki_of(type), type, names, counted);
        CHECK(calls == 1);

        acme::csr_info parsed = provider().parse_csr(der);
        CHECK(same_jwk(parsed.key, provider().jwk(shared_key(type))));
        CHECK(parsed.der == der);

        auto result = openssl_verify_csr(dir, der);
        CHECK(result.exit_status == 0);
        CHECK(result.output.find("verify OK") != std::string::npos);
        CHECK(result.output.find("Subject: CN = example.com\n") !=
              std::string::npos);
        CHECK(san_names(result.output) == with_dns_prefix(names));
        std::string alg = type == key_type::ec_p384 ? "ecdsa-with-SHA384"
                          : is_ec(type)             ? "ecdsa-with-SHA256"
                                                    : "sha256WithRSAEncryption";
        CHECK(result.output.find("Signature Algorithm: " + alg) !=
              std::string::npos);
    }
}

TEST_CASE("build_csr leaves the subject empty for a first name over 64")
{
    std::string long_name = std::string(61, 'c') + ".com";
    const std::vector<std::string> names = {long_name, "short.example"};
    bytes der = acme::build_csr(spki_of(key_type::ec_p256), key_type::ec_p256,
                                names, signer_for(key_type::ec_p256));
    CHECK(subject_of(der) == bytes{0x30, 0x00});

    temp_dir dir;
    auto result = openssl_verify_csr(dir, der);
    CHECK(result.output.find("verify OK") != std::string::npos);
    CHECK(san_names(result.output) == with_dns_prefix(names));
}

TEST_CASE("build_csr refuses bad names, a key of another type, bad signatures")
{
    bytes spki = spki_of(key_type::ec_p256);
    auto signer = signer_for(key_type::ec_p256);
    auto status_for = [&](const bytes& key, key_type type,
                          const std::vector<std::string>& names,
                          const acme::csr_signer& sign) {
        return status_of([&] { acme::build_csr(key, type, names, sign); });
    };
    CHECK(status_for(spki, key_type::ec_p256, {}, signer) ==
          acme::status::invalid_argument);
    CHECK(status_for(spki, key_type::ec_p256, {"a.example,O=Evil"}, signer) ==
          acme::status::invalid_argument);
    CHECK(status_for(spki, key_type::ec_p384, {"x.example"}, signer) ==
          acme::status::invalid_argument);
    CHECK(status_for(bytes{0x30, 0x00}, key_type::ec_p256, {"x.example"},
                     signer) == acme::status::invalid_argument);

    acme::csr_signer short_signature = [](std::string_view) {
        return bytes(10, 1);
    };
    CHECK(status_for(spki, key_type::ec_p256, {"x.example"}, short_signature) ==
          acme::status::crypto_error);

    // A signature by another key yields a request parse_csr refuses.
    auto other = provider().generate_key(key_type::ec_p256);
    acme::csr_signer wrong_key = [&](std::string_view data) {
        return provider().sign(*other, data);
    };
    bytes der =
        acme::build_csr(spki, key_type::ec_p256, {"x.example"}, wrong_key);
    CHECK(status_of([&] { provider().parse_csr(der); }) ==
          acme::status::invalid_argument);
}
