#include <acmekit/adapters/mbedtls_crypto.hpp>
#include <acmekit/problem.hpp>
#include <acmekit/renewal.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace {

using acme::bytes;
using acme::certificate_info;
using acme::renewal_window;
using acme::status;

/*
The fixtures were made with OpenSSL 3.0 (bash):

  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -keyout ca.key -out ca.pem -subj /CN=ari-test-ca -days 3650 \
      -set_serial 0x01
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -keyout leaf.key -out leaf.csr -subj /CN=ari.example
  sign() {
      openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -days 90 \
          -set_serial "$1" -out "$2" -extfile <(printf '%s\n' "${@:3}")
  }
  sign 0x87ab3c19d2e04f56 leaf.pem subjectAltName=DNS:ari.example \
      authorityKeyIdentifier=keyid:always
  sign 0x0a1b2c no_aki.pem subjectAltName=DNS:ari.example \
      authorityKeyIdentifier=none subjectKeyIdentifier=none
  sign 0x0a1b2d issuer_only.pem subjectKeyIdentifier=none \
      2.5.29.35=DER:3003820101
  sign 0x0a1b2e truncated.pem subjectKeyIdentifier=none \
      2.5.29.35=DER:3005800301
  sign 0x0a1b2f twice_src.pem subjectAltName=DNS:ari.example \
      authorityKeyIdentifier=keyid:always \
      subjectKeyIdentifier=DER:30038001aa
  {
      echo '-----BEGIN CERTIFICATE-----'
      openssl x509 -in twice_src.pem -outform der | xxd -p | tr -d '\n' |
          sed 's/0603551d0e/0603551d23/' | xxd -r -p | base64 -w64
      echo '-----END CERTIFICATE-----'
  } > twice.pem

issuer_only.pem has an AKI with only authorityCertSerialNumber,
truncated.pem one whose SEQUENCE claims more bytes than it holds, and
twice.pem (the subjectKeyIdentifier's OID rewritten to the AKI's; its
signature no longer verifies, which parsing does not check) two AKIs.
The serial 0x87ab... has its high bit set, so DER prefixes a 0x00 byte.
The expected ARI certificate ID comes from openssl alone:

  b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
  aki=$(openssl x509 -in leaf.pem -noout -ext authorityKeyIdentifier |
      sed -n 2p | tr -d ' :')
  serial=$(openssl x509 -in leaf.pem -noout -serial | cut -d= -f2)
  echo "$(echo $aki | xxd -r -p | b64url).$(echo 00$serial |
      xxd -r -p | b64url)"

Here aki is EE31B67A56F5196936620D388388CCFF82E6D329, serial is
87AB3C19D2E04F56, and the echo prints leaf_ari_id below. "00" is
prepended by hand because -serial prints the number, not its DER content
bytes.
*/
constexpr std::string_view leaf_pem = R"(-----BEGIN CERTIFICATE-----
MIIBfDCCASOgAwIBAgIJAIerPBnS4E9WMAoGCCqGSM49BAMCMBYxFDASBgNVBAMM
C2FyaS10ZXN0LWNhMB4XDTI2MTIwNDAxNTIwOVoXDTI3MDMwNDAxNTIwOVowFjEU
MBIGA1UEAwwLYXJpLmV4YW1wbGUwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATh
IOu/C6BMe3xiihfdo38CsJu9jxk9/3n7iRL1KqPoGI/qPtvnosUrKCzhWNGP3Cx5
sOlGvXueCOccGjP/rKXEo1owWDAWBgNVHREEDzANggthcmkuZXhhbXBsZTAfBgNV
HSMEGDAWgBTuMbZ6VvUZaTZiDTiDiMz/gubTKTAdBgNVHQ4EFgQUq5tOA6H4rtQY
iGZ3zqUfo2kT47wwCgYIKoZIzj0EAwIDRwAwRAIgKP19osC4PTDHhsbz33a+IvsY
3L6FXNqJLufkUdiKjFcCIFO1HqiePiAeKFYXoF/ahSh8OPhKp5NwAK4f33I1MhOj
-----END CERTIFICATE-----
)";

constexpr std::string_view leaf_ari_id =
    "7jG2elb1GWk2Yg04g4jM_4Lm0yk.AIerPBnS4E9W";
constexpr std::string_view ca_key_id =
    "EE31B67A56F5196936620D388388CCFF82E6D329";

// Self-signed, with an AKI naming its own key and a critical
// basicConstraints, so the extension walk also meets a critical flag.
constexpr std::string_view ca_pem = R"(-----BEGIN CERTIFICATE-----
MIIBbzCCARSgAwIBAgIBATAKBggqhkjOPQQDAjAWMRQwEgYDVQQDDAthcmktdGVz
dC1jYTAeFw0yNjEyMDQwMTUyMDlaFw0zNjEyMDEwMTUyMDlaMBYxFDASBgNVBAMM
C2FyaS10ZXN0LWNhMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEvMVyP7AxYhyY
YxEZItsS8TN51K/tHBKwrf1iGwQhKnT4aNYm+PtAsdwGRjofpnlfZ3yjSPSiCG4L
tS9wVD8sGqNTMFEwHQYDVR0OBBYEFO4xtnpW9RlpNmINOIOIzP+C5tMpMB8GA1Ud
IwQYMBaAFO4xtnpW9RlpNmINOIOIzP+C5tMpMA8GA1UdEwEB/wQFMAMBAf8wCgYI
KoZIzj0EAwIDSQAwRgIhAOmcHW3Cr+qrXZm1IEt1jnLe5U4zqypf4nDA1+AeIgkt
AiEAmBmSCqgNoWXMzUiMdr8f0bOXxLbGaGL9VZhfC/AKeGk=
-----END CERTIFICATE-----
)";

constexpr std::string_view no_aki_pem = R"(-----BEGIN CERTIFICATE-----
MIIBNjCB3aADAgECAgMKGywwCgYIKoZIzj0EAwIwFjEUMBIGA1UEAwwLYXJpLXRl
c3QtY2EwHhcNMjYxMjA0MDE1MjA5WhcNMjcwMzA0MDE1MjA5WjAWMRQwEgYDVQQD
DAthcmkuZXhhbXBsZTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABOEg678LoEx7
fGKKF92jfwKwm72PGT3/efuJEvUqo+gYj+o+2+eixSsoLOFY0Y/cLHmw6Ua9e54I
5xwaM/+spcSjGjAYMBYGA1UdEQQPMA2CC2FyaS5leGFtcGxlMAoGCCqGSM49BAMC
A0gAMEUCIHH4C3gl+3zbHsj4axzXpvgNKPUTVFlQsUfaH8plpMYTAiEAuSxtVcGr
eH0lQrvOOe/a2x8RIdL8pe/tgPkrXTpRGkE=
-----END CERTIFICATE-----
)";

constexpr std::string_view issuer_only_pem = R"(-----BEGIN CERTIFICATE-----
MIIBLDCB06ADAgECAgMKGy0wCgYIKoZIzj0EAwIwFjEUMBIGA1UEAwwLYXJpLXRl
c3QtY2EwHhcNMjYxMjA0MDE1MjA5WhcNMjcwMzA0MDE1MjA5WjAWMRQwEgYDVQQD
DAthcmkuZXhhbXBsZTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABOEg678LoEx7
fGKKF92jfwKwm72PGT3/efuJEvUqo+gYj+o+2+eixSsoLOFY0Y/cLHmw6Ua9e54I
5xwaM/+spcSjEDAOMAwGA1UdIwQFMAOCAQEwCgYIKoZIzj0EAwIDSAAwRQIhAI7Y
yEj/8D11W3ionffBGoPdaRr+kljwEJO//wh+PsDYAiAVxL1ScVem3CbhiUTfHwxr
AGcuk0Fgr4EoW0A4FUTGsQ==
-----END CERTIFICATE-----
)";

constexpr std::string_view truncated_pem = R"(-----BEGIN CERTIFICATE-----
MIIBLDCB06ADAgECAgMKGy4wCgYIKoZIzj0EAwIwFjEUMBIGA1UEAwwLYXJpLXRl
c3QtY2EwHhcNMjYxMjA0MDE1MjA5WhcNMjcwMzA0MDE1MjA5WjAWMRQwEgYDVQQD
DAthcmkuZXhhbXBsZTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABOEg678LoEx7
fGKKF92jfwKwm72PGT3/efuJEvUqo+gYj+o+2+eixSsoLOFY0Y/cLHmw6Ua9e54I
5xwaM/+spcSjEDAOMAwGA1UdIwQFMAWAAwEwCgYIKoZIzj0EAwIDSAAwRQIhAJyc
rVc9H1CSPWqucoZ/G6SuymMQOxtP9vyQWVJZelgxAiBG4L6efDNUrRKKxQFj5PZq
hriWgOQGhrNHZl5UtFgv5Q==
-----END CERTIFICATE-----
)";

constexpr std::string_view twice_pem = R"(-----BEGIN CERTIFICATE-----
MIIBZjCCAQygAwIBAgIDChsvMAoGCCqGSM49BAMCMBYxFDASBgNVBAMMC2FyaS10
ZXN0LWNhMB4XDTI2MTIwNDAxNTIwOVoXDTI3MDMwNDAxNTIwOVowFjEUMBIGA1UE
AwwLYXJpLmV4YW1wbGUwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAThIOu/C6BM
e3xiihfdo38CsJu9jxk9/3n7iRL1KqPoGI/qPtvnosUrKCzhWNGP3Cx5sOlGvXue
COccGjP/rKXEo0kwRzAWBgNVHREEDzANggthcmkuZXhhbXBsZTAfBgNVHSMEGDAW
gBTuMbZ6VvUZaTZiDTiDiMz/gubTKTAMBgNVHSMEBTADgAGqMAoGCCqGSM49BAMC
A0gAMEUCIQC9qJBSzvDkoZVUtZW+hs9ZnGg2/lJkyAE8mBHuAeNKfgIgNAsUDS2n
gmjX5jfIDZ7zqW5f2n+4SGt9WdIV9p9mkJA=
-----END CERTIFICATE-----
)";

constexpr std::int64_t day = 86400;

// 2025-01-02T04:00:00Z, RFC 9773's example window start.
constexpr std::int64_t jan_2_2025_4am = 1735790400;

acme::mbedtls_crypto& provider()
{
    static acme::mbedtls_crypto crypto;
    return crypto;
}

certificate_info parse_one(std::string_view pem)
{
    std::vector<certificate_info> chain = provider().parse_chain(pem);
    REQUIRE(chain.size() == 1);
    return chain.front();
}

bytes from_hex(std::string_view hex)
{
    auto nibble = [](char c) {
        return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    };
    bytes out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<std::uint8_t>(nibble(hex[i]) * 16 +
                                                nibble(hex[i + 1])));
    return out;
}

status status_of(const std::function<void()>& call)
{
    try {
        call();
    } catch (const acme::error& e) {
        return e.code();
    }
    return status::ok;
}

std::string message_of(const std::function<void()>& call)
{
    try {
        call();
    } catch (const acme::error& e) {
        return e.what();
    }
    return {};
}

// A renewalInfo body with the given window ends, quoted as JSON strings.
std::string window_json(std::string_view start, std::string_view end)
{
    return std::string(R"({"suggestedWindow":{"start":")") +
           std::string(start) + R"(","end":")" + std::string(end) + R"("}})";
}

std::int64_t start_of(std::string_view timestamp)
{
    return acme::parse_renewal_info(window_json(timestamp, timestamp)).start;
}

} // namespace

TEST_CASE("certificate info: parse_chain reads the AKI keyIdentifier")
{
    std::string chain = std::string(leaf_pem) + std::string(ca_pem);
    std::vector<certificate_info> certs = provider().parse_chain(chain);
    REQUIRE(certs.size() == 2);

    CHECK(certs[0].authority_key_id == from_hex(ca_key_id));
    CHECK(certs[1].authority_key_id == from_hex(ca_key_id));
    CHECK(certs[0].dns_names == std::vector<std::string>{"ari.example"});
}

TEST_CASE("certificate info: the serial keeps its DER sign byte")
{
    certificate_info leaf = parse_one(leaf_pem);
    CHECK(leaf.serial == from_hex("0087AB3C19D2E04F56"));
    CHECK(parse_one(no_aki_pem).serial == from_hex("0A1B2C"));
}

TEST_CASE("ari certificate ID of the openssl fixture matches openssl")
{
    CHECK(acme::ari_certificate_id(parse_one(leaf_pem)) == leaf_ari_id);
}

TEST_CASE("ari certificate ID of RFC 9773's example")
{
    certificate_info cert;
    cert.authority_key_id =
        from_hex("69885B6B87464041E1B37B847BA0AE2CDE01C8D4");
    cert.serial = from_hex("0087654321");
    CHECK(acme::ari_certificate_id(cert) ==
          "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
}

TEST_CASE("certificate info without an AKI gives no ari certificate ID")
{
    certificate_info cert = parse_one(no_aki_pem);
    CHECK(cert.authority_key_id.empty());

    auto call = [&] { acme::ari_certificate_id(cert); };
    CHECK(status_of(call) == status::invalid_argument);
    CHECK(message_of(call).find("no authority key identifier") !=
          std::string::npos);
}

TEST_CASE("certificate info: an AKI without keyIdentifier reads as absent")
{
    certificate_info cert = parse_one(issuer_only_pem);
    CHECK(cert.authority_key_id.empty());
    CHECK(status_of([&] { acme::ari_certificate_id(cert); }) ==
          status::invalid_argument);
}

TEST_CASE("certificate info: a malformed or repeated AKI is a bad response")
{
    for (std::string_view pem : {truncated_pem, twice_pem}) {
        auto call = [&] { provider().parse_chain(pem); };
        CHECK(status_of(call) == status::bad_response);
        CHECK(message_of(call).find("authorityKeyIdentifier") !=
              std::string::npos);
    }
}

TEST_CASE("ari certificate ID needs a serial number")
{
    certificate_info cert;
    cert.authority_key_id = from_hex("0102");
    auto call = [&] { acme::ari_certificate_id(cert); };
    CHECK(status_of(call) == status::invalid_argument);
    CHECK(message_of(call).find("no serial number") != std::string::npos);
}

TEST_CASE("renewal info from RFC 9773's example")
{
    renewal_window window = acme::parse_renewal_info(R"({
        "suggestedWindow": {
            "start": "2025-01-02T04:00:00Z",
            "end": "2025-01-03T04:00:00Z"
        },
        "explanationURL": "https://acme.example.com/docs/ari"
    })");
    CHECK(window.start == jan_2_2025_4am);
    CHECK(window.end == jan_2_2025_4am + day);
    CHECK(window.explanation_url == "https://acme.example.com/docs/ari");
}

TEST_CASE("renewal info without explanationURL and with a zero-width window")
{
    renewal_window window = acme::parse_renewal_info(
        window_json("2025-01-02T04:00:00Z", "2025-01-02T04:00:00Z"));
    CHECK(window.start == jan_2_2025_4am);
    CHECK(window.end == jan_2_2025_4am);
    CHECK(window.explanation_url.empty());
}

TEST_CASE("renewal info timestamps: fractions, offsets and calendar edges")
{
    CHECK(start_of("2025-01-02T04:00:00.5Z") == jan_2_2025_4am);
    CHECK(start_of("2025-01-02T04:00:00.999999999Z") == jan_2_2025_4am);
    CHECK(start_of("2025-01-02T06:00:00+02:00") == jan_2_2025_4am);
    CHECK(start_of("2025-01-01T23:30:00-04:30") == jan_2_2025_4am);
    CHECK(start_of("2025-01-02T04:00:00.25-00:00") == jan_2_2025_4am);
    CHECK(start_of("2025-01-02t04:00:00z") == jan_2_2025_4am);

    // Reference values from GNU date -u -d ... +%s.
    CHECK(start_of("1970-01-01T00:00:00Z") == 0);
    CHECK(start_of("0000-01-01T00:00:00Z") == -62167219200);
    CHECK(start_of("9999-12-31T23:59:59Z") == 253402300799);
    CHECK(start_of("2024-02-29T12:00:00Z") == 1709208000);
    CHECK(start_of("2000-02-29T00:00:00Z") == 951782400);

    // The leap second at the end of 2016 counts as 2017's first second.
    CHECK(start_of("2016-12-31T23:59:60Z") == 1483228800);
}

TEST_CASE("renewal info refuses malformed timestamps")
{
    const char* const bad[] = {
        "",
        "2025-01-02",
        "2025-01-02T04:00:00",
        "2025-01-02T04:00Z",
        "2025-01-02 04:00:00Z",
        " 2025-01-02T04:00:00Z",
        "2025-01-02T04:00:00Z ",
        "2025-01-02T04:00:00Zx",
        "2025-01-02T04:00:00.Z",
        "2025-01-02T04:00:00,5Z",
        "2025-01-02T04:00:00+0200",
        "2025-01-02T04:00:00+02",
        "2025-01-02T04:00:00+24:00",
        "2025-01-02T04:00:00+02:60",
        "2025-01-02T04:00:00UTC",
        "+2025-01-02T04:00:00Z",
        "25-01-02T04:00:00Z",
        "2025-1-02T04:00:00Z",
        "2025-00-02T04:00:00Z",
        "2025-13-02T04:00:00Z",
        "2025-01-00T04:00:00Z",
        "2025-01-32T04:00:00Z",
        "2025-04-31T04:00:00Z",
        "2025-02-29T04:00:00Z",
        "1900-02-29T04:00:00Z",
        "2025-01-02T24:00:00Z",
        "2025-01-02T04:60:00Z",
        "2025-01-02T04:00:61Z",
        "2025-01-02T0a:00:00Z",
    };
    for (const char* timestamp : bad) {
        CAPTURE(timestamp);
        std::string body = window_json(timestamp, "2025-01-03T04:00:00Z");
        CHECK(status_of([&] { acme::parse_renewal_info(body); }) ==
              status::bad_response);
        body = window_json("2025-01-01T04:00:00Z", timestamp);
        CHECK(status_of([&] { acme::parse_renewal_info(body); }) ==
              status::bad_response);
    }
}

TEST_CASE("renewal info refuses missing, mistyped and inverted members")
{
    const std::string bad[] = {
        "",
        "not json",
        "[]",
        R"("suggestedWindow")",
        R"({})",
        R"({"suggestedWindow":null})",
        R"({"suggestedWindow":"2025-01-02T04:00:00Z"})",
        R"({"suggestedWindow":[]})",
        R"({"suggestedWindow":{}})",
        R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z"}})",
        R"({"suggestedWindow":{"end":"2025-01-02T04:00:00Z"}})",
        R"({"suggestedWindow":{"start":1735790400,"end":1735876800}})",
        R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z",)"
        R"("end":null}})",
        window_json("2025-01-02T04:00:01Z", "2025-01-02T04:00:00Z"),
        window_json("2025-01-02T04:00:00Z", "2025-01-02T05:00:00+02:00"),
        R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z",)"
        R"("end":"2025-01-03T04:00:00Z"},"explanationURL":7})",
    };
    for (const std::string& body : bad) {
        CAPTURE(body);
        CHECK(status_of([&] { acme::parse_renewal_info(body); }) ==
              status::bad_response);
    }

    CHECK(message_of([] {
              acme::parse_renewal_info(
                  window_json("2025-01-03T04:00:00Z", "2025-01-02T04:00:00Z"));
          }).find("ends before it starts") != std::string::npos);
}

TEST_CASE("default renewal time of a 90-day certificate: a third left")
{
    certificate_info cert;
    cert.not_before = jan_2_2025_4am;
    cert.not_after = jan_2_2025_4am + 90 * day;
    CHECK(acme::default_renewal_time(cert) == jan_2_2025_4am + 60 * day);
}

TEST_CASE("default renewal time of a 6-day certificate: half left")
{
    certificate_info cert;
    cert.not_before = jan_2_2025_4am;
    cert.not_after = jan_2_2025_4am + 6 * day;
    CHECK(acme::default_renewal_time(cert) == jan_2_2025_4am + 3 * day);
}

TEST_CASE("default renewal time around the 10-day boundary and odd inputs")
{
    certificate_info cert;
    cert.not_before = 0;

    // Exactly ten days is not "under ten days": a third is left.
    cert.not_after = 10 * day;
    CHECK(acme::default_renewal_time(cert) == 10 * day - 10 * day / 3);
    cert.not_after = 10 * day - 1;
    CHECK(acme::default_renewal_time(cert) == 5 * day);

    // An empty or inverted lifetime gives not_after: renew when it ends.
    cert.not_before = 1000;
    cert.not_after = 1000;
    CHECK(acme::default_renewal_time(cert) == 1000);
    cert.not_after = 500;
    CHECK(acme::default_renewal_time(cert) == 500);

    // The widest lifetime still lands inside it.
    cert.not_before = std::numeric_limits<std::int64_t>::min();
    cert.not_after = std::numeric_limits<std::int64_t>::max();
    std::int64_t when = acme::default_renewal_time(cert);
    CHECK(when > 0);
    CHECK(when < cert.not_after);
}

TEST_CASE("default renewal time of the parsed 90-day fixture")
{
    certificate_info leaf = parse_one(leaf_pem);

    // 2026-12-04T01:52:09Z to 2027-03-04T01:52:09Z, from openssl -dates.
    CHECK(leaf.not_before == 1796349129);
    CHECK(leaf.not_after == 1796349129 + 90 * day);
    CHECK(acme::default_renewal_time(leaf) == 1796349129 + 60 * day);
}

TEST_CASE("pick renewal time at the ends and the middle of the window")
{
    const renewal_window window{1000, 2000, ""};
    constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    CHECK(acme::pick_renewal_time(window, 0) == 1000);
    CHECK(acme::pick_renewal_time(window, max) == 2000);
    CHECK(acme::pick_renewal_time(window, std::uint64_t(1) << 63) == 1500);
}

TEST_CASE("pick renewal time in a zero-width window is its start")
{
    const renewal_window window{5000, 5000, ""};
    CHECK(acme::pick_renewal_time(window, 0) == 5000);
    CHECK(acme::pick_renewal_time(window, 12345678901234567ull) == 5000);
    CHECK(acme::pick_renewal_time(
              window, std::numeric_limits<std::uint64_t>::max()) == 5000);
}

TEST_CASE("pick renewal time splits the random values evenly")
{
    // Three times, so each gets a third of 2^64: 6148914691236517205.33...
    const renewal_window window{-1, 1, ""};
    CHECK(acme::pick_renewal_time(window, 6148914691236517205ull) == -1);
    CHECK(acme::pick_renewal_time(window, 6148914691236517206ull) == 0);
    CHECK(acme::pick_renewal_time(window, 12297829382473034410ull) == 0);
    CHECK(acme::pick_renewal_time(window, 12297829382473034411ull) == 1);

    // A window too wide for the 32-bit halves to be skipped: 2^62 + 1 times.
    const renewal_window wide{0, std::int64_t(1) << 62, ""};
    CHECK(acme::pick_renewal_time(wide, std::uint64_t(1) << 63) ==
          std::int64_t(1) << 61);
}

TEST_CASE("pick renewal time over every int64_t and an inverted window")
{
    constexpr std::int64_t min = std::numeric_limits<std::int64_t>::min();
    constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
    const renewal_window all{min, max, ""};
    CHECK(acme::pick_renewal_time(all, 0) == min);
    CHECK(acme::pick_renewal_time(
              all, std::numeric_limits<std::uint64_t>::max()) == max);

    const renewal_window inverted{2000, 1000, ""};
    CHECK(status_of([&] { acme::pick_renewal_time(inverted, 0); }) ==
          status::invalid_argument);
}
