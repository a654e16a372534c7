#include <acmekit/csr.hpp>

#include <acmekit/problem.hpp>

#include "detail/base64url.hpp"
#include "detail/names.hpp"

#include <algorithm>
#include <cstdint>

namespace acme {

namespace {

// DER tags used here (X.690).
constexpr std::uint8_t tag_integer = 0x02;
constexpr std::uint8_t tag_bit_string = 0x03;
constexpr std::uint8_t tag_octet_string = 0x04;
constexpr std::uint8_t tag_null = 0x05;
constexpr std::uint8_t tag_oid = 0x06;
constexpr std::uint8_t tag_utf8_string = 0x0c;
constexpr std::uint8_t tag_sequence = 0x30;
constexpr std::uint8_t tag_set = 0x31;
constexpr std::uint8_t tag_attributes = 0xa0; // [0] IMPLICIT SET OF
constexpr std::uint8_t tag_dns_name = 0x82;   // [2] IMPLICIT IA5String

// Object identifiers, as the content bytes of their DER encoding.
const bytes oid_ec_public_key = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
const bytes oid_p256 = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
const bytes oid_p384 = {0x2b, 0x81, 0x04, 0x00, 0x22};
const bytes oid_rsa_encryption = {0x2a, 0x86, 0x48, 0x86, 0xf7,
                                  0x0d, 0x01, 0x01, 0x01};
const bytes oid_ecdsa_sha256 = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
const bytes oid_ecdsa_sha384 = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03};
const bytes oid_rsa_sha256 = {0x2a, 0x86, 0x48, 0x86, 0xf7,
                              0x0d, 0x01, 0x01, 0x0b};
const bytes oid_common_name = {0x55, 0x04, 0x03};
const bytes oid_extension_request = {0x2a, 0x86, 0x48, 0x86, 0xf7,
                                     0x0d, 0x01, 0x09, 0x0e};
const bytes oid_subject_alt_name = {0x55, 0x1d, 0x11};

constexpr std::size_t max_common_name = 64;

// --- Writing --------------------------------------------------------------

void append(bytes& out, const bytes& more)
{
    out.insert(out.end(), more.begin(), more.end());
}

bytes tlv(std::uint8_t tag, const bytes& content)
{
    bytes out{tag};
    std::size_t length = content.size();
    if (length < 0x80) {
        out.push_back(static_cast<std::uint8_t>(length));
    } else {
        // Long form: a count of length bytes, then the length big-endian.
        bytes digits;
        for (std::size_t rest = length; rest != 0; rest >>= 8)
            digits.insert(digits.begin(), static_cast<std::uint8_t>(rest));
        out.push_back(static_cast<std::uint8_t>(0x80 | digits.size()));
        append(out, digits);
    }
    append(out, content);
    return out;
}

bytes tlv(std::uint8_t tag, std::string_view text)
{
    return tlv(tag, bytes(text.begin(), text.end()));
}

// A non-negative INTEGER from big-endian magnitude bytes: leading zeros go,
// and a zero byte is put back where the top bit would read as a sign.
bytes unsigned_integer(const std::uint8_t* data, std::size_t size)
{
    while (size > 1 && data[0] == 0) {
        ++data;
        --size;
    }
    bytes content;
    if (size == 0 || (data[0] & 0x80) != 0)
        content.push_back(0);
    content.insert(content.end(), data, data + size);
    return tlv(tag_integer, content);
}

bytes sequence(std::initializer_list<bytes> parts)
{
    bytes content;
    for (const bytes& part : parts)
        append(content, part);
    return tlv(tag_sequence, content);
}

// --- Reading --------------------------------------------------------------

// Reads DER from a buffer, failing with one status and message prefix.
class der_reader {
public:
    der_reader(const std::uint8_t* begin, const std::uint8_t* end, status code,
               const char* what)
        : p_(begin), end_(end), code_(code), what_(what)
    {
    }

    bool at_end() const noexcept { return p_ == end_; }

    // The content of the next element, which must carry the tag.
    der_reader read(std::uint8_t tag)
    {
        if (end_ - p_ < 2 || *p_ != tag)
            fail("unexpected element");
        ++p_;

        std::size_t length = *p_++;
        if (length >= 0x80) {
            std::size_t count = length & 0x7f;
            if (count == 0 || count > 3 ||
                static_cast<std::size_t>(end_ - p_) < count)
                fail("bad length");
            length = 0;
            for (std::size_t i = 0; i < count; ++i)
                length = (length << 8) | *p_++;
            if (length < 0x80)
                fail("length not in its shortest form");
        }

        if (static_cast<std::size_t>(end_ - p_) < length)
            fail("element runs past its end");
        der_reader inner(p_, p_ + length, code_, what_);
        p_ += length;
        return inner;
    }

    bytes rest() const { return bytes(p_, end_); }

    void expect_end() const
    {
        if (!at_end())
            fail("trailing bytes");
    }

    // The magnitude of a non-negative INTEGER, without its leading zeros.
    bytes unsigned_number()
    {
        der_reader number = read(tag_integer);
        if (number.at_end() || (*number.p_ & 0x80) != 0)
            fail("negative or empty number");
        while (number.end_ - number.p_ > 1 && *number.p_ == 0)
            ++number.p_;
        return number.rest();
    }

    [[noreturn]] void fail(const char* why) const
    {
        throw error(code_, std::string(what_) + ": " + why);
    }

private:
    const std::uint8_t* p_;
    const std::uint8_t* end_;
    status code_;
    const char* what_;
};

[[noreturn]] void unsupported_key(const char* why)
{
    throw error(status::unsupported, std::string("public key: ") + why);
}

public_key_info read_ec_point(der_reader& params, der_reader& bits)
{
    bytes curve = params.read(tag_oid).rest();
    params.expect_end();

    public_key_info info;
    std::size_t half = 0;
    if (curve == oid_p256) {
        info.type = key_type::ec_p256;
        info.jwk.crv = "P-256";
        half = 32;
    } else if (curve == oid_p384) {
        info.type = key_type::ec_p384;
        info.jwk.crv = "P-384";
        half = 48;
    } else {
        unsupported_key("EC keys must be on P-256 or P-384");
    }

    // No unused bits, then the uncompressed point 04 || X || Y.
    bytes point = bits.rest();
    if (point.size() != 2 + 2 * half || point[0] != 0 || point[1] != 0x04)
        bits.fail("not an uncompressed point on the named curve");
    info.jwk.kty = "EC";
    info.jwk.x = detail::base64url_encode(point.data() + 2, half);
    info.jwk.y = detail::base64url_encode(point.data() + 2 + half, half);
    return info;
}

public_key_info read_rsa_key(der_reader& params, der_reader& bits)
{
    params.read(tag_null).expect_end();
    params.expect_end();

    // The bit string holds no unused bits, then RSAPublicKey (RFC 8017).
    bytes content = bits.rest();
    if (content.empty() || content[0] != 0)
        bits.fail("RSA key with unused bits");
    der_reader outer(content.data() + 1, content.data() + content.size(),
                     status::invalid_argument, "public key");
    der_reader key = outer.read(tag_sequence);
    outer.expect_end();
    bytes n = key.unsigned_number();
    bytes e = key.unsigned_number();
    key.expect_end();

    public_key_info info;
    std::size_t bits_count = 8 * n.size();
    for (std::uint8_t top = n[0]; (top & 0x80) == 0 && bits_count > 0;
         top = static_cast<std::uint8_t>(top << 1))
        --bits_count;
    if (bits_count == 2048)
        info.type = key_type::rsa_2048;
    else if (bits_count == 3072)
        info.type = key_type::rsa_3072;
    else if (bits_count == 4096)
        info.type = key_type::rsa_4096;
    else
        unsupported_key("RSA keys must have 2048, 3072 or 4096 bits");
    info.jwk.kty = "RSA";
    info.jwk.n = detail::base64url_encode(n);
    info.jwk.e = detail::base64url_encode(e);
    return info;
}

struct signature_algorithm {
    const bytes* oid;
    bool null_parameters; // RSA names its parameters as NULL, ECDSA omits
};

signature_algorithm signature_algorithm_for(key_type type)
{
    switch (type) {
    case key_type::ec_p256: return {&oid_ecdsa_sha256, false};
    case key_type::ec_p384: return {&oid_ecdsa_sha384, false};
    case key_type::rsa_2048:
    case key_type::rsa_3072:
    case key_type::rsa_4096: return {&oid_rsa_sha256, true};
    }
    throw error(status::invalid_argument, "unknown key type");
}

} // namespace

public_key_info read_public_key(const bytes& spki_der)
{
    der_reader whole(spki_der.data(), spki_der.data() + spki_der.size(),
                     status::invalid_argument, "public key");
    der_reader spki = whole.read(tag_sequence);
    whole.expect_end();
    der_reader algorithm = spki.read(tag_sequence);
    der_reader bits = spki.read(tag_bit_string);
    spki.expect_end();

    bytes kind = algorithm.read(tag_oid).rest();
    if (kind == oid_ec_public_key)
        return read_ec_point(algorithm, bits);
    if (kind == oid_rsa_encryption)
        return read_rsa_key(algorithm, bits);
    unsupported_key("only EC and RSA keys are supported");
}

std::size_t ecdsa_half_size(key_type type) noexcept
{
    switch (type) {
    case key_type::ec_p256: return 32;
    case key_type::ec_p384: return 48;
    default: return 0;
    }
}

bytes ecdsa_raw_from_der(const bytes& der, std::size_t half)
{
    der_reader whole(der.data(), der.data() + der.size(), status::crypto_error,
                     "ECDSA signature");
    der_reader value = whole.read(tag_sequence);
    whole.expect_end();
    bytes r = value.unsigned_number();
    bytes s = value.unsigned_number();
    value.expect_end();
    if (r.size() > half || s.size() > half)
        value.fail("a number is wider than the curve");

    bytes raw(2 * half, 0);
    std::copy(r.begin(), r.end(), raw.begin() + (half - r.size()));
    std::copy(s.begin(), s.end(), raw.end() - s.size());
    return raw;
}

bytes ecdsa_der_from_raw(const bytes& raw)
{
    if (raw.empty() || raw.size() % 2 != 0)
        throw error(status::crypto_error,
                    "ECDSA signature: r||s must have an even length");
    std::size_t half = raw.size() / 2;
    return sequence({unsigned_integer(raw.data(), half),
                     unsigned_integer(raw.data() + half, half)});
}

bytes build_csr(const bytes& spki_der, key_type type,
                const std::vector<std::string>& names, const csr_signer& sign)
{
    detail::check_csr_names(names);
    if (read_public_key(spki_der).type != type)
        throw error(status::invalid_argument,
                    "the public key is not of the request's key type");

    bytes subject_content;
    if (names.front().size() <= max_common_name)
        subject_content =
            tlv(tag_set, sequence({tlv(tag_oid, oid_common_name),
                                   tlv(tag_utf8_string, names.front())}));
    bytes subject = tlv(tag_sequence, subject_content);

    bytes general_names;
    for (const std::string& name : names)
        append(general_names, tlv(tag_dns_name, name));
    bytes extensions = sequence(
        {sequence({tlv(tag_oid, oid_subject_alt_name),
                   tlv(tag_octet_string, tlv(tag_sequence, general_names))})});
    bytes attributes =
        tlv(tag_attributes, sequence({tlv(tag_oid, oid_extension_request),
                                      tlv(tag_set, extensions)}));

    bytes version = tlv(tag_integer, bytes{0});
    bytes info = sequence({version, subject, spki_der, attributes});

    bytes signature = sign(std::string_view(
        reinterpret_cast<const char*>(info.data()), info.size()));
    std::size_t half = ecdsa_half_size(type);
    if (half != 0) {
        if (signature.size() != 2 * half)
            throw error(status::crypto_error,
                        "the CSR signature has the wrong size");
        signature = ecdsa_der_from_raw(signature);
    }

    signature_algorithm algorithm = signature_algorithm_for(type);
    bytes algorithm_id =
        algorithm.null_parameters
            ? sequence({tlv(tag_oid, *algorithm.oid), tlv(tag_null, bytes{})})
            : sequence({tlv(tag_oid, *algorithm.oid)});
    bytes signature_bits{0};
    append(signature_bits, signature);
    return sequence({info, algorithm_id, tlv(tag_bit_string, signature_bits)});
}

} // namespace acme
