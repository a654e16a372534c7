#include <doctest/doctest.h>

#include <acmekit/adapters/mbedtls_crypto.hpp>
#include <acmekit/dns.hpp>
#include <acmekit/problem.hpp>

#include "detail/dns_socket.hpp"
#include "detail/dns_wire.hpp"

#include <mbedtls/md.h>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <netinet/in.h>
#include <poll.h>
#include <random>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using acme::bytes;
using acme::hmac_algorithm;
using namespace acme::detail;

namespace {

// --- building expected bytes by hand --------------------------------------

bytes operator+(bytes a, const bytes& b)
{
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

bytes text_bytes(const std::string& text)
{
    return bytes(text.begin(), text.end());
}

// A label as RFC 1035 section 3.1 lays it out: length octet, then octets.
bytes label(const std::string& text)
{
    return bytes{static_cast<std::uint8_t>(text.size())} + text_bytes(text);
}

bytes u16(std::uint16_t value)
{
    return {static_cast<std::uint8_t>(value >> 8),
            static_cast<std::uint8_t>(value)};
}

bytes u32(std::uint32_t value)
{
    return u16(static_cast<std::uint16_t>(value >> 16)) +
           u16(static_cast<std::uint16_t>(value));
}

bytes u48(std::uint64_t value)
{
    return u16(static_cast<std::uint16_t>(value >> 32)) +
           u32(static_cast<std::uint32_t>(value));
}

bytes wire_name(const std::string& name)
{
    bytes out;
    append_dns_name(out, name);
    return out;
}

bytes rr(const std::string& name, std::uint16_t type, std::uint32_t ttl,
         const bytes& rdata)
{
    return wire_name(name) + u16(type) + u16(dns_class::in) + u32(ttl) +
           u16(static_cast<std::uint16_t>(rdata.size())) + rdata;
}

bytes soa_rdata(const std::string& zone)
{
    return wire_name("ns." + zone) + wire_name("hostmaster." + zone) + u32(1) +
           u32(3600) + u32(600) + u32(86400) + u32(60);
}

// A reply to query: the query's ID and question, QR and AA set, the
// given rcode and sections.
bytes make_reply(const bytes& query, int rcode,
                 const std::vector<bytes>& answers,
                 const std::vector<bytes>& authority = {}, bool tc = false)
{
    auto flags = static_cast<std::uint16_t>(0x8400 | rcode | (tc ? 0x200 : 0));
    bytes out = bytes(query.begin(), query.begin() + 2) + u16(flags) + u16(1) +
                u16(static_cast<std::uint16_t>(answers.size())) +
                u16(static_cast<std::uint16_t>(authority.size())) + u16(0);
    out.insert(out.end(), query.begin() + 12, query.end());
    for (const auto& record : answers)
        out = out + record;
    for (const auto& record : authority)
        out = out + record;
    return out;
}

// --- HMAC straight from mbedTLS, independent of acmekit's adapter ---------

bytes mbedtls_hmac(mbedtls_md_type_t md, const bytes& key, const bytes& data)
{
    const mbedtls_md_info_t* info = mbedtls_md_info_from_type(md);
    REQUIRE(info != nullptr);
    bytes mac(mbedtls_md_get_size(info));
    REQUIRE(mbedtls_md_hmac(info, key.data(), key.size(), data.data(),
                            data.size(), mac.data()) == 0);
    return mac;
}

const bytes test_secret = text_bytes("a shared secret for the tests 123");

tsig_signer signer_with(const bytes& secret, const std::string& key_name,
                        hmac_algorithm algorithm = hmac_algorithm::sha256)
{
    static acme::mbedtls_crypto crypto;
    tsig_signer signer;
    signer.key_name = key_name;
    signer.algorithm = algorithm;
    signer.mac = [secret, algorithm](std::string_view data) {
        acme::secret_bytes key(secret.data(), secret.size());
        return crypto.hmac(algorithm, key, data);
    };
    return signer;
}

mbedtls_md_type_t md_for(hmac_algorithm algorithm)
{
    return algorithm == hmac_algorithm::sha256   ? MBEDTLS_MD_SHA256
           : algorithm == hmac_algorithm::sha384 ? MBEDTLS_MD_SHA384
                                                 : MBEDTLS_MD_SHA512;
}

struct server_tsig {
    std::uint64_t time = 0;
    std::uint16_t error = 0;
    bool sign = true;
    std::size_t mac_length = 0; // 0: the full MAC
};

// Signs reply the way a server answers a signed request (RFC 8945 section
// 4.3.3 with the request MAC first), written here without the library.
bytes server_sign(bytes reply, const bytes& request_mac,
                  const std::string& key_name, const bytes& secret,
                  const server_tsig& how,
                  hmac_algorithm algorithm = hmac_algorithm::sha256)
{
    std::string algorithm_name = tsig_algorithm_name(algorithm);
    bytes variables = wire_name(key_name) + u16(255) + u32(0) +
                      wire_name(algorithm_name) + u48(how.time) + u16(300) +
                      u16(how.error) + u16(0);
    bytes mac;
    if (how.sign) {
        bytes digest = u16(static_cast<std::uint16_t>(request_mac.size())) +
                       request_mac + reply + variables;
        mac = mbedtls_hmac(md_for(algorithm), secret, digest);
        if (how.mac_length != 0)
            mac.resize(how.mac_length);
    }
    bytes rdata = wire_name(algorithm_name) + u48(how.time) + u16(300) +
                  u16(static_cast<std::uint16_t>(mac.size())) + mac +
                  bytes(reply.begin(), reply.begin() + 2) + u16(how.error) +
                  u16(0);
    bytes record = wire_name(key_name) + u16(dns_type::tsig) + u16(255) +
                   u32(0) + u16(static_cast<std::uint16_t>(rdata.size())) +
                   rdata;
    reply[11] = static_cast<std::uint8_t>(reply[11] + 1);
    return reply + record;
}

constexpr std::uint64_t fixed_time = 1700000000;

// An UPDATE reply: the request's ID and opcode with QR set, the rcode,
// and only the zone section, which starts at offset 12.
bytes update_reply_for(const bytes& request, int rcode = 0)
{
    std::size_t zone_end = 12 + wire_name("example.com").size() + 4;
    bytes header = bytes(request.begin(), request.begin() + 2) +
                   bytes{static_cast<std::uint8_t>(request[2] | 0x80),
                         static_cast<std::uint8_t>(rcode)} +
                   u16(1) + u16(0) + u16(0) + u16(0);
    return header +
           bytes(request.begin() + 12,
                 request.begin() + static_cast<std::ptrdiff_t>(zone_end));
}

struct signed_exchange {
    bytes request;
    bytes request_mac;
    bytes reply;
};

signed_exchange signed_update(const server_tsig& how = {fixed_time})
{
    signed_exchange exchange;
    exchange.request =
        build_txt_add(0x4242, "example.com", "_acme-challenge.example.com",
                      "token-value", 60);
    exchange.request_mac = tsig_sign(
        exchange.request, signer_with(test_secret, "acme-key"), fixed_time);
    exchange.reply =
        server_sign(update_reply_for(exchange.request), exchange.request_mac,
                    "acme-key", test_secret, how);
    return exchange;
}

tsig_result verify(const bytes& reply, const tsig_signer& signer,
                   const bytes& request_mac, std::uint64_t now = fixed_time)
{
    return tsig_verify(reply, parse_dns_message(reply), signer, request_mac,
                       now);
}

} // namespace

// --- names and queries ----------------------------------------------------

TEST_CASE("a query has the RFC 1035 layout, name case kept")
{
    bytes expected = u16(0x1234) + u16(0x0100) + u16(1) + u16(0) + u16(0) +
                     u16(0) + label("www") + label("Example") + label("com") +
                     bytes{0} + u16(16) + u16(1);
    CHECK(build_dns_query(0x1234, "www.Example.com", dns_type::txt) ==
          expected);
    CHECK(build_dns_query(0x1234, "www.Example.com.", dns_type::txt) ==
          expected);
    CHECK(build_dns_query(7, "a.b", dns_type::soa).back() == 1);
}

TEST_CASE("names are checked when encoded")
{
    auto refused = [](const std::string& name) {
        bytes out;
        try {
            append_dns_name(out, name);
        } catch (const acme::error& e) {
            return e.code() == acme::status::invalid_argument;
        }
        return false;
    };
    std::string label63(63, 'a');
    CHECK_FALSE(refused(label63 + ".com"));
    CHECK(refused(std::string(64, 'a') + ".com"));
    CHECK(refused(""));
    CHECK(refused("a..b"));
    CHECK(refused(".a"));
    CHECK(refused("a.b.."));
    CHECK(refused("a\\"));
    CHECK(refused("a\\25"));
    CHECK(refused("a\\256"));
    CHECK(wire_name(".") == bytes{0});

    // 3 labels of 63 and one of 61: 4 * 1 + 250 + 1 = 255 octets exactly.
    std::string longest =
        label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
    CHECK(wire_name(longest).size() == 255);
    CHECK(refused(longest + "b"));
    CHECK(wire_name("a\\.b") == label("a.b") + bytes{0});
    CHECK(wire_name("\\065") == label("A") + bytes{0});
}

TEST_CASE("names compare without regard to ASCII case or a final dot")
{
    CHECK(dns_name_equal("Test.Example.COM", "test.example.com."));
    CHECK_FALSE(dns_name_equal("test.example.com", "test.example.org"));
    CHECK_FALSE(dns_name_equal("a..b", "a..b"));
    CHECK(dns_name_within("_acme-challenge.Test.example.com", "example.COM"));
    CHECK(dns_name_within("example.com", "example.com"));
    CHECK(dns_name_within("example.com", "."));
    CHECK_FALSE(dns_name_within("badexample.com", "example.com"));
    CHECK_FALSE(dns_name_within("example.com", "www.example.com"));
    CHECK(valid_dns_name("example.com"));
    CHECK_FALSE(valid_dns_name("example..com"));
}

TEST_CASE("rcode and algorithm names")
{
    CHECK(dns_rcode_name(0) == "NOERROR");
    CHECK(dns_rcode_name(9) == "NOTAUTH");
    CHECK(dns_rcode_name(16) == "BADSIG");
    CHECK(dns_rcode_name(42) == "RCODE 42");
    CHECK(tsig_algorithm("HMAC-SHA256") == hmac_algorithm::sha256);
    CHECK(tsig_algorithm("hmac-sha512.") == hmac_algorithm::sha512);
    CHECK_FALSE(tsig_algorithm("hmac-md5.sig-alg.reg.int"));
    CHECK(tsig_mac_size(hmac_algorithm::sha384) == 48);
}

// --- updates --------------------------------------------------------------

TEST_CASE("an UPDATE adds one TXT value: RFC 2136 sections 2 and 2.5.1")
{
    bytes zone = label("example") + label("com") + bytes{0};
    bytes owner = label("_acme-challenge") + zone;
    bytes expected = u16(0xbeef) + u16(0x2800) + u16(1) + u16(0) + u16(1) +
                     u16(0) + zone + u16(6) + u16(1) + owner + u16(16) +
                     u16(1) + u32(60) + u16(4) + label("abc");
    CHECK(build_txt_add(0xbeef, "example.com", "_acme-challenge.example.com",
                        "abc", 60) == expected);
}

TEST_CASE("an UPDATE deletes exactly one TXT RR: class NONE, TTL 0")
{
    bytes zone = label("example") + label("com") + bytes{0};
    bytes owner = label("_acme-challenge") + zone;
    bytes expected = u16(0xbeef) + u16(0x2800) + u16(1) + u16(0) + u16(1) +
                     u16(0) + zone + u16(6) + u16(1) + owner + u16(16) +
                     u16(254) + u32(0) + u16(4) + label("abc");
    CHECK(build_txt_delete(0xbeef, "example.com", "_acme-challenge.example.com",
                           "abc") == expected);
}

TEST_CASE("TXT values longer than 255 bytes become several strings")
{
    CHECK(txt_rdata("") == bytes{0});
    CHECK(txt_rdata(std::string(255, 'x')).size() == 256);
    CHECK(txt_rdata(std::string(256, 'x')) ==
          label(std::string(255, 'x')) + label("x"));

    std::string value(600, 'v');
    bytes update = build_txt_add(1, "example.com", "t.example.com", value, 60);
    dns_message parsed = parse_dns_message(update);
    REQUIRE(parsed.authority.size() == 1);
    const auto& strings = parsed.authority[0].strings;
    REQUIRE(strings.size() == 3);
    CHECK(strings[0].size() == 255);
    CHECK(strings[1].size() == 255);
    CHECK(strings[2].size() == 90);
    CHECK(strings[0] + strings[1] + strings[2] == value);

    CHECK_THROWS_AS(txt_rdata(std::string(70000, 'x')), acme::error);
}

// --- parsing --------------------------------------------------------------

namespace {

// A reply to "a.example.com TXT": a CNAME to b.example.com and a TXT at b,
// both names compressed (RFC 1035 section 4.1.4).
bytes compressed_reply()
{
    bytes header =
        u16(0x5555) + u16(0x8180) + u16(1) + u16(2) + u16(0) + u16(0);
    // Question at offset 12; "example" starts at offset 14.
    bytes question = label("a") + label("example") + label("com") + bytes{0} +
                     u16(16) + u16(1);
    // Answer 1 at offset 31; its RDATA, "b" + pointer, at offset 43.
    bytes cname = bytes{0xc0, 12} + u16(5) + u16(1) + u32(60) + u16(4) +
                  label("b") + bytes{0xc0, 14};
    // Answer 2 at offset 47, owner pointing into answer 1's RDATA.
    bytes txt = bytes{0xc0, 43} + u16(16) + u16(1) + u32(60) + u16(12) +
                label("hello") + label("world");
    return header + question + cname + txt;
}

bool refused_as_malformed(const bytes& message)
{
    try {
        parse_dns_message(message);
    } catch (const dns_format_error&) {
        return true;
    }
    return false;
}

} // namespace

TEST_CASE("a reply with compressed names parses")
{
    dns_message reply = parse_dns_message(compressed_reply());
    CHECK(reply.id == 0x5555);
    CHECK(reply.response());
    CHECK(reply.rcode() == 0);
    CHECK_FALSE(reply.truncated());
    REQUIRE(reply.questions.size() == 1);
    CHECK(reply.questions[0].name == "a.example.com");
    REQUIRE(reply.answers.size() == 2);
    CHECK(reply.answers[0].name == "a.example.com");
    CHECK(reply.answers[0].type == dns_type::cname);
    CHECK(reply.answers[0].target == "b.example.com");
    CHECK(reply.answers[1].name == "b.example.com");
    CHECK(reply.answers[1].strings ==
          std::vector<std::string>{"hello", "world"});
    CHECK(reply.answers[1].offset == 47);
}

TEST_CASE("rcode, TC bit, authority SOA and escaped labels")
{
    bytes query = build_dns_query(9, "x.Example.com", dns_type::soa);
    bytes reply =
        make_reply(query, 3, {},
                   {rr("example.com", 6, 60, soa_rdata("example.com"))}, true);
    dns_message parsed = parse_dns_message(reply);
    CHECK(parsed.rcode() == dns_rcode::nxdomain);
    CHECK(parsed.truncated());
    REQUIRE(parsed.authority.size() == 1);
    CHECK(parsed.authority[0].name == "example.com");
    CHECK(parsed.authority[0].target == "ns.example.com");
    CHECK(parsed.questions[0].name == "x.Example.com");

    bytes odd = make_reply(query, 0,
                           {rr("a\\.b\\032c.example.com", 16, 1, label("t"))});
    CHECK(parse_dns_message(odd).answers[0].name == "a\\.b\\032c.example.com");
}

TEST_CASE("every truncation of a valid reply is refused")
{
    bytes full = compressed_reply();
    for (std::size_t size = 0; size < full.size(); ++size) {
        CAPTURE(size);
        CHECK(refused_as_malformed(bytes(full.begin(), full.begin() + size)));
    }
    CHECK_FALSE(refused_as_malformed(full));
    CHECK(refused_as_malformed(full + bytes{0}));
}

TEST_CASE("looping, forward and overlong compression is refused")
{
    bytes header = u16(1) + u16(0x8000) + u16(1) + u16(0) + u16(0) + u16(0);
    // A pointer to itself, and one pointing forward.
    CHECK(refused_as_malformed(header + bytes{0xc0, 12} + u16(1) + u16(1)));
    CHECK(refused_as_malformed(header + bytes{0xc0, 14, 0} + u16(1) + u16(1)));
    // Reserved label types 01 and 10.
    CHECK(refused_as_malformed(header + bytes{0x40, 0} + u16(1) + u16(1)));
    CHECK(refused_as_malformed(header + bytes{0x80, 0} + u16(1) + u16(1)));

    // Four questions, each a 63-octet label before a pointer to the one
    // before: the fourth expands to 257 octets.
    bytes message = u16(1) + u16(0x8000) + u16(4) + u16(0) + u16(0) + u16(0);
    std::size_t previous = message.size();
    message =
        message + label(std::string(63, 'a')) + bytes{0} + u16(1) + u16(1);
    for (int i = 0; i < 3; ++i) {
        std::size_t here = message.size();
        message = message + label(std::string(63, 'b')) +
                  bytes{static_cast<std::uint8_t>(0xc0 | previous >> 8),
                        static_cast<std::uint8_t>(previous)} +
                  u16(1) + u16(1);
        previous = here;
    }
    CHECK(refused_as_malformed(message));
}

TEST_CASE("RDATA must match its type and the counts must match the body")
{
    bytes query = build_dns_query(2, "t.example.com", dns_type::txt);
    // TXT string running past its RDATA.
    CHECK(refused_as_malformed(
        make_reply(query, 0, {rr("t.example.com", 16, 1, bytes{5, 'a'})})));
    // An empty TXT RDATA and a short A record.
    CHECK(refused_as_malformed(
        make_reply(query, 0, {rr("t.example.com", 16, 1, {})})));
    CHECK(refused_as_malformed(
        make_reply(query, 0, {rr("t.example.com", 1, 1, bytes{1, 2, 3})})));
    // A CNAME with a byte after its target.
    CHECK(refused_as_malformed(make_reply(
        query, 0, {rr("t.example.com", 5, 1, wire_name("x.") + bytes{0})})));
    // One answer announced, none present.
    bytes missing = make_reply(query, 0, {});
    missing[7] = 1;
    CHECK(refused_as_malformed(missing));
}

TEST_CASE("random garbage never crashes the parser")
{
    std::mt19937 random(20240601);
    bytes base = compressed_reply();
    for (int round = 0; round < 20000; ++round) {
        bytes message = base;
        if (round % 2 == 0) {
            message.resize(random() % 80);
            for (auto& octet : message)
                octet = static_cast<std::uint8_t>(random());
        } else {
            for (int flips = 0; flips < 4; ++flips)
                message[random() % message.size()] =
                    static_cast<std::uint8_t>(random());
        }
        try {
            parse_dns_message(message);
        } catch (const dns_format_error&) {
        }
    }
}

// --- TSIG -----------------------------------------------------------------

TEST_CASE("a TSIG at a fixed time matches an HMAC computed by hand")
{
    bytes message = build_txt_add(0x0102, "example.com",
                                  "_acme-challenge.example.com", "v", 60);
    bytes original = message;
    bytes mac =
        tsig_sign(message, signer_with(test_secret, "Acme-Key."), fixed_time);

    // RFC 8945 section 4.3.3: the message, then the TSIG variables with
    // the key name in canonical (lower-case) form.
    bytes digest = original + label("acme-key") + bytes{0} + u16(255) + u32(0) +
                   label("hmac-sha256") + bytes{0} + u48(fixed_time) +
                   u16(300) + u16(0) + u16(0);
    bytes expected_mac = mbedtls_hmac(MBEDTLS_MD_SHA256, test_secret, digest);
    CHECK(mac == expected_mac);

    // RFC 8945 section 4.2: the RR keeps the key name as given.
    bytes rdata = label("hmac-sha256") + bytes{0} + u48(fixed_time) + u16(300) +
                  u16(32) + expected_mac + u16(0x0102) + u16(0) + u16(0);
    bytes record = label("Acme-Key") + bytes{0} + u16(250) + u16(255) + u32(0) +
                   u16(static_cast<std::uint16_t>(rdata.size())) + rdata;
    bytes expected = original + record;
    expected[11] = 1;
    CHECK(message == expected);

    dns_message parsed = parse_dns_message(message);
    REQUIRE(parsed.additional.size() == 1);
    CHECK(parsed.additional[0].type == dns_type::tsig);
}

TEST_CASE("a signed reply verifies, with the request MAC in its digest")
{
    signed_exchange exchange = signed_update();
    auto result = verify(exchange.reply, signer_with(test_secret, "acme-key"),
                         exchange.request_mac);
    CHECK(result.outcome == tsig_outcome::ok);

    // Key names compare without regard to case.
    result = verify(exchange.reply, signer_with(test_secret, "ACME-key."),
                    exchange.request_mac);
    CHECK(result.outcome == tsig_outcome::ok);

    bytes other_request = exchange.request_mac;
    other_request[0] ^= 1;
    result = verify(exchange.reply, signer_with(test_secret, "acme-key"),
                    other_request);
    CHECK(result.outcome == tsig_outcome::bad_sig);
}

TEST_CASE("a flipped byte, a wrong secret or another key fails")
{
    signed_exchange exchange = signed_update();
    auto signer = signer_with(test_secret, "acme-key");

    // Inside the zone name, the MAC, the TSIG's Original ID and its Time
    // Signed (RFC 8945 section 4.2 fixes the layout from the end).
    std::size_t size = exchange.reply.size();
    for (std::size_t at : {std::size_t{13}, size - 20, size - 6, size - 45}) {
        bytes flipped = exchange.reply;
        flipped[at] ^= 0x20;
        CAPTURE(at);
        CHECK(verify(flipped, signer, exchange.request_mac).outcome ==
              tsig_outcome::bad_sig);
    }

    bytes wrong_secret = test_secret;
    wrong_secret.back() ^= 1;
    CHECK(verify(exchange.reply, signer_with(wrong_secret, "acme-key"),
                 exchange.request_mac)
              .outcome == tsig_outcome::bad_sig);

    auto other = verify(exchange.reply, signer_with(test_secret, "other-key"),
                        exchange.request_mac);
    CHECK(other.outcome == tsig_outcome::bad_key);
    CHECK_FALSE(other.from_server);
    CHECK(verify(exchange.reply,
                 signer_with(test_secret, "acme-key", hmac_algorithm::sha512),
                 exchange.request_mac)
              .outcome == tsig_outcome::bad_key);
}

TEST_CASE("time outside the fudge is BADTIME")
{
    signed_exchange exchange = signed_update();
    auto signer = signer_with(test_secret, "acme-key");
    CHECK(verify(exchange.reply, signer, exchange.request_mac, fixed_time + 300)
              .outcome == tsig_outcome::ok);
    CHECK(verify(exchange.reply, signer, exchange.request_mac, fixed_time - 300)
              .outcome == tsig_outcome::ok);
    auto late =
        verify(exchange.reply, signer, exchange.request_mac, fixed_time + 301);
    CHECK(late.outcome == tsig_outcome::bad_time);
    CHECK_FALSE(late.from_server);
}

TEST_CASE("errors the server reports are told apart")
{
    auto signer = signer_with(test_secret, "acme-key");
    struct expectation {
        std::uint16_t error;
        bool sign;
        tsig_outcome outcome;
    };
    for (auto want :
         {expectation{dns_rcode::badsig, false, tsig_outcome::bad_sig},
          expectation{dns_rcode::badkey, false, tsig_outcome::bad_key},
          expectation{dns_rcode::badtime, true, tsig_outcome::bad_time}}) {
        CAPTURE(want.error);
        signed_exchange exchange =
            signed_update({fixed_time, want.error, want.sign});
        auto result = verify(exchange.reply, signer, exchange.request_mac);
        CHECK(result.outcome == want.outcome);
        CHECK(result.from_server);
    }
}

TEST_CASE("unsigned, truncated and misplaced TSIGs are refused")
{
    auto signer = signer_with(test_secret, "acme-key");
    signed_exchange exchange = signed_update();

    bytes request =
        build_txt_add(0x4242, "example.com", "x.example.com", "v", 60);
    bytes plain = update_reply_for(request);
    CHECK(verify(plain, signer, exchange.request_mac).outcome ==
          tsig_outcome::unsigned_reply);

    signed_exchange truncated = signed_update({fixed_time, 0, true, 16});
    CHECK(verify(truncated.reply, signer, truncated.request_mac).outcome ==
          tsig_outcome::bad_trunc);

    signed_exchange empty_mac = signed_update({fixed_time, 0, false});
    CHECK(verify(empty_mac.reply, signer, empty_mac.request_mac).outcome ==
          tsig_outcome::bad_sig);

    // A TXT record after the TSIG: the TSIG is no longer last.
    bytes misplaced = exchange.reply + rr("x.example.com", 16, 1, label("t"));
    misplaced[11] = static_cast<std::uint8_t>(misplaced[11] + 1);
    CHECK(verify(misplaced, signer, exchange.request_mac).outcome ==
          tsig_outcome::malformed);
}

TEST_CASE("TSIG round trips with SHA-384 and SHA-512")
{
    for (auto algorithm : {hmac_algorithm::sha384, hmac_algorithm::sha512}) {
        auto signer = signer_with(test_secret, "k", algorithm);
        bytes request =
            build_txt_delete(3, "example.com", "t.example.com", "v");
        bytes request_mac = tsig_sign(request, signer, fixed_time);
        CHECK(request_mac.size() == tsig_mac_size(algorithm));
        bytes reply = server_sign(update_reply_for(request), request_mac, "k",
                                  test_secret, {fixed_time}, algorithm);
        CHECK(verify(reply, signer, request_mac).outcome == tsig_outcome::ok);
    }
}

// --- sockets against a scripted server on loopback ------------------------

namespace {

// Answers on UDP and TCP at one loopback port, from a thread that stops by
// itself after ten seconds at the latest.
class scripted_dns_server {
public:
    // Returns the datagrams to send for one query (TCP sends the first).
    using script = std::function<std::vector<bytes>(const bytes&, bool tcp)>;

    scripted_dns_server(script answer, bool v6 = false)
        : answer_(std::move(answer))
    {
        bind_both(v6);
        thread_ = std::thread([this] { run(); });
    }

    ~scripted_dns_server()
    {
        stop_ = true;
        thread_.join();
        ::close(udp_);
        ::close(tcp_);
    }

    acme::dns_server address() const { return {host_, port_}; }
    int queries() const { return queries_; }

private:
    void bind_both(bool v6)
    {
        host_ = v6 ? "::1" : "127.0.0.1";
        int family = v6 ? AF_INET6 : AF_INET;
        for (int tries = 0; tries < 20; ++tries) {
            udp_ = ::socket(family, SOCK_DGRAM, 0);
            tcp_ = ::socket(family, SOCK_STREAM, 0);
            sockaddr_storage where = loopback(family, 0);
            socklen_t length = sizeof where;
            if (::bind(udp_, reinterpret_cast<sockaddr*>(&where),
                       sizeof where) == 0 &&
                ::getsockname(udp_, reinterpret_cast<sockaddr*>(&where),
                              &length) == 0) {
                port_ = ntohs(
                    family == AF_INET
                        ? reinterpret_cast<sockaddr_in&>(where).sin_port
                        : reinterpret_cast<sockaddr_in6&>(where).sin6_port);
                where = loopback(family, port_);
                if (::bind(tcp_, reinterpret_cast<sockaddr*>(&where),
                           sizeof where) == 0 &&
                    ::listen(tcp_, 4) == 0)
                    return;
            }
            ::close(udp_);
            ::close(tcp_);
        }
        FAIL("no loopback port for the scripted DNS server");
    }

    static sockaddr_storage loopback(int family, int port)
    {
        sockaddr_storage where{};
        if (family == AF_INET) {
            auto& v4 = reinterpret_cast<sockaddr_in&>(where);
            v4.sin_family = AF_INET;
            v4.sin_port = htons(static_cast<std::uint16_t>(port));
            v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        } else {
            auto& v6 = reinterpret_cast<sockaddr_in6&>(where);
            v6.sin6_family = AF_INET6;
            v6.sin6_port = htons(static_cast<std::uint16_t>(port));
            v6.sin6_addr = in6addr_loopback;
        }
        return where;
    }

    void run()
    {
        auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!stop_ && std::chrono::steady_clock::now() < end) {
            pollfd watch[2] = {{udp_, POLLIN, 0}, {tcp_, POLLIN, 0}};
            if (::poll(watch, 2, 20) <= 0)
                continue;
            if (watch[0].revents & POLLIN)
                serve_udp();
            if (watch[1].revents & POLLIN)
                serve_tcp();
        }
    }

    void serve_udp()
    {
        bytes query(65535);
        sockaddr_storage from{};
        socklen_t length = sizeof from;
        ssize_t got = ::recvfrom(udp_, query.data(), query.size(), 0,
                                 reinterpret_cast<sockaddr*>(&from), &length);
        if (got <= 0)
            return;
        query.resize(static_cast<std::size_t>(got));
        ++queries_;
        for (const bytes& datagram : answer_(query, false))
            ::sendto(udp_, datagram.data(), datagram.size(), 0,
                     reinterpret_cast<sockaddr*>(&from), length);
    }

    void serve_tcp()
    {
        int client = ::accept(tcp_, nullptr, nullptr);
        if (client < 0)
            return;
        std::uint8_t prefix[2];
        bytes query;
        if (::recv(client, prefix, 2, MSG_WAITALL) == 2) {
            query.resize(static_cast<std::size_t>(prefix[0] << 8 | prefix[1]));
            ::recv(client, query.data(), query.size(), MSG_WAITALL);
            ++queries_;
            std::vector<bytes> replies = answer_(query, true);
            if (!replies.empty()) {
                bytes framed =
                    u16(static_cast<std::uint16_t>(replies[0].size())) +
                    replies[0];
                ::send(client, framed.data(), framed.size(), MSG_NOSIGNAL);
            }
        }
        ::close(client);
    }

    script answer_;
    std::string host_;
    int port_ = 0;
    int udp_ = -1;
    int tcp_ = -1;
    std::atomic<bool> stop_{false};
    std::atomic<int> queries_{0};
    std::thread thread_;
};

acme::status status_of(const std::function<void()>& call)
{
    try {
        call();
    } catch (const acme::error& e) {
        return e.code();
    }
    return acme::status::ok;
}

bool ipv6_loopback_available()
{
    int fd = ::socket(AF_INET6, SOCK_DGRAM, 0);
    if (fd < 0)
        return false;
    sockaddr_in6 where{};
    where.sin6_family = AF_INET6;
    where.sin6_addr = in6addr_loopback;
    bool ok =
        ::bind(fd, reinterpret_cast<sockaddr*>(&where), sizeof where) == 0;
    ::close(fd);
    return ok;
}

} // namespace

TEST_CASE("stray replies are dropped and TC falls back to TCP")
{
    std::vector<std::string> values;
    for (int i = 0; i < 20; ++i)
        values.push_back(std::string(43, static_cast<char>('a' + i)));

    scripted_dns_server server([&](const bytes& query, bool tcp) {
        std::vector<bytes> answers;
        for (const auto& value : values)
            answers.push_back(rr("t.example.com", 16, 60, label(value)));
        if (tcp)
            return std::vector<bytes>{make_reply(query, 0, answers)};
        bytes wrong_id = make_reply(query, 0, {});
        wrong_id[0] ^= 0xff;
        bytes not_a_reply = query;
        return std::vector<bytes>{wrong_id, not_a_reply,
                                  make_reply(query, 0, {}, {}, true)};
    });
    acme::dns_resolver resolver(std::chrono::milliseconds(2000));
    CHECK(resolver.txt(server.address(), "t.example.com") == values);
    CHECK(server.queries() == 2);
}

TEST_CASE("the resolver finds zones and reports rcodes")
{
    scripted_dns_server server([](const bytes& query, bool) {
        dns_message asked = parse_dns_message(query);
        const std::string& name = asked.questions[0].name;
        bytes soa = rr("example.com", 6, 60, soa_rdata("example.com"));
        if (dns_name_equal(name, "example.com"))
            return std::vector<bytes>{make_reply(query, 0, {soa})};
        if (dns_name_equal(name, "broken.example.com"))
            return std::vector<bytes>{make_reply(query, 2, {})};
        if (dns_name_equal(name, "alias.example.com"))
            return std::vector<bytes>{make_reply(
                query, 0, {rr(name, 5, 60, wire_name("target.example.com"))})};
        return std::vector<bytes>{make_reply(query, 3, {}, {soa})};
    });
    acme::dns_resolver resolver(std::chrono::milliseconds(2000));
    auto at = server.address();

    CHECK(resolver.zone_of(at, "example.com") == "example.com");
    CHECK(resolver.zone_of(at, "_acme-challenge.x.example.com") ==
          "example.com");
    CHECK(resolver.txt(at, "nothing.example.com").empty());
    CHECK(resolver.cname(at, "alias.example.com") == "target.example.com");
    CHECK(resolver.cname(at, "nothing.example.com").empty());

    try {
        resolver.txt(at, "broken.example.com");
        FAIL("SERVFAIL must throw");
    } catch (const acme::error& e) {
        CHECK(e.code() == acme::status::bad_response);
        std::string text = e.what();
        CHECK(text.find("SERVFAIL") != std::string::npos);
        CHECK(text.find("broken.example.com") != std::string::npos);
        CHECK(text.find(dns_server_text(at)) != std::string::npos);
    }
}

TEST_CASE("silence is a timeout, a closed port a connect failure")
{
    scripted_dns_server silent(
        [](const bytes&, bool) { return std::vector<bytes>{}; });
    acme::dns_resolver quick(std::chrono::milliseconds(300));
    auto started = std::chrono::steady_clock::now();
    CHECK(status_of([&] { quick.txt(silent.address(), "t.example.com"); }) ==
          acme::status::timeout);
    CHECK(std::chrono::steady_clock::now() - started <
          std::chrono::milliseconds(1500));
    CHECK(silent.queries() == 2);

    // The port was just in use, so nothing listens there now.
    acme::dns_server closed;
    {
        scripted_dns_server gone(
            [](const bytes&, bool) { return std::vector<bytes>{}; });
        closed = gone.address();
    }
    CHECK(status_of([&] { quick.txt(closed, "t.example.com"); }) ==
          acme::status::connect_failed);
}

TEST_CASE("IPv6 loopback works like IPv4")
{
    if (!ipv6_loopback_available()) {
        MESSAGE("no IPv6 loopback here; skipped");
        return;
    }
    scripted_dns_server server(
        [](const bytes& query, bool) {
            return std::vector<bytes>{make_reply(
                query, 0, {rr("t.example.com", 16, 60, label("six"))})};
        },
        true);
    acme::dns_resolver resolver(std::chrono::milliseconds(2000));
    CHECK(resolver.txt(server.address(), "t.example.com") ==
          std::vector<std::string>{"six"});
}

TEST_CASE("DNS server text is parsed strictly")
{
    auto v4 = acme::parse_dns_server("127.0.0.1");
    CHECK(v4.address == "127.0.0.1");
    CHECK(v4.port == 53);
    CHECK(acme::parse_dns_server("127.0.0.1:5353").port == 5353);
    auto v6 = acme::parse_dns_server("[::1]:54");
    CHECK(v6.address == "::1");
    CHECK(v6.port == 54);
    CHECK_THROWS_AS(acme::parse_dns_server("::1"), acme::error);
    CHECK_THROWS_AS(acme::parse_dns_server("::1:53"), acme::error);
    CHECK(acme::parse_dns_server("[::1]").port == 53);

    for (const char* bad :
         {"", "localhost", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
          "127.0.0.1:53x", "[::1", "[::1]x", "[::1]:", "[127.0.0.1]:53",
          "1.2.3", "::1:53:", "127.0.0.1:+53"}) {
        CAPTURE(bad);
        CHECK(status_of([&] { acme::parse_dns_server(bad); }) ==
              acme::status::invalid_argument);
    }
}

TEST_CASE("message IDs come from the system's random source")
{
    // 64 draws that are all equal would mean no randomness at all.
    std::uint16_t first = random_dns_id();
    bool differs = false;
    for (int i = 0; i < 64 && !differs; ++i)
        differs = random_dns_id() != first;
    CHECK(differs);
}

// --- RFC 2136 publisher against a scripted primary ------------------------

namespace {

std::uint64_t seconds_now()
{
    auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count());
}

// The MAC of a signed request: after the algorithm name (13 octets for
// "hmac-sha256."), Time Signed, Fudge and MAC Size.
bytes request_mac_of(const bytes& request)
{
    dns_message signed_request = parse_dns_message(request);
    const bytes& rdata = signed_request.additional.back().rdata;
    return bytes(rdata.begin() + 23, rdata.begin() + 23 + 32);
}

struct primary_answer {
    int rcode = 0;
    server_tsig tsig;
    bytes secret = test_secret;
};

std::string publish_failure(const primary_answer& answer, acme::status expected)
{
    std::vector<bytes> seen;
    scripted_dns_server primary([&](const bytes& query, bool) {
        seen.push_back(query);
        primary_answer now = answer;
        now.tsig.time = seconds_now();
        return std::vector<bytes>{server_sign(
            update_reply_for(query, now.rcode), request_mac_of(query),
            "acme-key", now.secret, now.tsig)};
    });
    acme::mbedtls_crypto crypto;
    acme::tsig_key key{
        "acme-key", "hmac-sha256",
        acme::secret_bytes(test_secret.data(), test_secret.size())};
    acme::rfc2136_publisher publisher(primary.address(), std::move(key), crypto,
                                      "example.com",
                                      std::chrono::milliseconds(2000));
    std::string message;
    try {
        publisher.add_txt("_acme-challenge.example.com", "value");
    } catch (const acme::error& e) {
        CHECK(e.code() == expected);
        message = e.what();
    }
    REQUIRE(seen.size() == 1);
    dns_message update = parse_dns_message(seen[0]);
    CHECK(update.opcode() == dns_opcode_update);
    CHECK(update.additional.back().type == dns_type::tsig);
    return message;
}

} // namespace

TEST_CASE("the publisher accepts only a signed NOERROR")
{
    CHECK(publish_failure({}, acme::status::ok).empty());

    primary_answer notzone;
    notzone.rcode = dns_rcode::notzone;
    std::string refused = publish_failure(notzone, acme::status::solver_failed);
    CHECK(refused.find("NOTZONE") != std::string::npos);
    CHECK(refused.find("zone example.com") != std::string::npos);
    CHECK(refused.find("127.0.0.1:") != std::string::npos);

    primary_answer forged;
    forged.secret.back() ^= 1;
    std::string untrusted =
        publish_failure(forged, acme::status::solver_failed);
    CHECK(untrusted.find("BADSIG") != std::string::npos);
    CHECK(untrusted.find("cannot be trusted") != std::string::npos);

    primary_answer bare;
    bare.tsig.sign = false;
    CHECK(publish_failure(bare, acme::status::solver_failed)
              .find("cannot be trusted") != std::string::npos);
}

TEST_CASE("the publisher names the server's TSIG error, never the secret")
{
    primary_answer badsig;
    badsig.rcode = dns_rcode::notauth;
    badsig.tsig = {0, dns_rcode::badsig, false, 0};
    std::string message = publish_failure(badsig, acme::status::solver_failed);
    CHECK(message.find("NOTAUTH") != std::string::npos);
    CHECK(message.find("BADSIG") != std::string::npos);
    CHECK(message.find("acme-key") != std::string::npos);
    CHECK(message.find(std::string(test_secret.begin(), test_secret.end())) ==
          std::string::npos);

    primary_answer badtime;
    badtime.rcode = dns_rcode::notauth;
    badtime.tsig = {0, dns_rcode::badtime, true, 0};
    CHECK(
        publish_failure(badtime, acme::status::solver_failed).find("BADTIME") !=
        std::string::npos);
}

TEST_CASE("the publisher refuses bad keys and names outside the zone")
{
    acme::mbedtls_crypto crypto;
    acme::dns_server nowhere{"127.0.0.1", 9};
    auto key = [](std::string algorithm, std::string secret) {
        return acme::tsig_key{"k", std::move(algorithm),
                              acme::secret_bytes(secret)};
    };
    CHECK(status_of([&] {
              acme::rfc2136_publisher(nowhere, key("hmac-md5", "s"), crypto);
          }) == acme::status::invalid_argument);
    CHECK(status_of([&] {
              acme::rfc2136_publisher(nowhere, key("hmac-sha256", ""), crypto);
          }) == acme::status::invalid_argument);

    acme::rfc2136_publisher publisher(nowhere, key("hmac-sha256", "s"), crypto,
                                      "example.com");
    CHECK(status_of([&] { publisher.add_txt("example.org", "v"); }) ==
          acme::status::invalid_argument);
}

TEST_CASE("an error reply without its question still names the rcode")
{
    scripted_dns_server server([](const bytes& query, bool) {
        // FORMERR with the header alone, as some servers send it.
        bytes reply = bytes(query.begin(), query.begin() + 2) + u16(0x8001) +
                      u16(0) + u16(0) + u16(0) + u16(0);
        return std::vector<bytes>{reply};
    });
    acme::dns_resolver resolver(std::chrono::milliseconds(2000));
    try {
        resolver.zone_of(server.address(), "example.com");
        FAIL("FORMERR must throw");
    } catch (const acme::error& e) {
        CHECK(e.code() == acme::status::bad_response);
        CHECK(std::string(e.what()).find("FORMERR") != std::string::npos);
    }
}
