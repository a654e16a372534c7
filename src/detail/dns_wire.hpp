// DNS messages on the wire (RFC 1035 section 4), dynamic updates (RFC 2136)
// and transaction signatures (RFC 8945). Pure code over bytes: sockets live
// in the adapters, and message IDs, time and the HMAC come from the caller.
#pragma once

#include <acmekit/crypto.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace acme::detail {

// RR types (RFC 1035 section 3.2.2, RFC 3596, RFC 8945).
namespace dns_type {
constexpr std::uint16_t a = 1;
constexpr std::uint16_t ns = 2;
constexpr std::uint16_t cname = 5;
constexpr std::uint16_t soa = 6;
constexpr std::uint16_t txt = 16;
constexpr std::uint16_t aaaa = 28;
constexpr std::uint16_t tsig = 250;
} // namespace dns_type

// Classes; NONE marks "delete this RR" in an update (RFC 2136 section 2.4).
namespace dns_class {
constexpr std::uint16_t in = 1;
constexpr std::uint16_t none = 254;
constexpr std::uint16_t any = 255;
} // namespace dns_class

// RCODEs (RFC 1035, RFC 2136) and TSIG errors (RFC 8945 section 3).
namespace dns_rcode {
constexpr int noerror = 0;
constexpr int formerr = 1;
constexpr int servfail = 2;
constexpr int nxdomain = 3;
constexpr int notimp = 4;
constexpr int refused = 5;
constexpr int yxdomain = 6;
constexpr int yxrrset = 7;
constexpr int nxrrset = 8;
constexpr int notauth = 9;
constexpr int notzone = 10;
constexpr int badsig = 16;
constexpr int badkey = 17;
constexpr int badtime = 18;
constexpr int badtrunc = 22;
} // namespace dns_rcode

/// "NOERROR", "BADSIG" and so on, or "RCODE 42" for unnamed values.
std::string dns_rcode_name(int rcode);

/// The largest message that UDP carries without EDNS (RFC 1035 4.2.1).
constexpr std::size_t dns_udp_limit = 512;

/// A received message that breaks the format: reads past the end, bad
/// names, compression loops, bytes left over, RDATA that does not fit its
/// type.
class dns_format_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Appends name in uncompressed wire format. A trailing dot is optional
/// and "." is the root; "\." and "\DDD" escape a byte inside a label (RFC
/// 1035 section 5.1). Case is kept. Throws acme::error with
/// status::invalid_argument for empty labels, labels over 63 octets and
/// names over 255 octets.
void append_dns_name(bytes& out, std::string_view name);

/// Whether append_dns_name would accept name.
bool valid_dns_name(std::string_view name);

/// Whether two names are equal, ignoring ASCII case (RFC 4343) and a
/// trailing dot. Invalid names equal nothing.
bool dns_name_equal(std::string_view a, std::string_view b);

/// Whether name is zone or a name below it.
bool dns_name_within(std::string_view name, std::string_view zone);

/// TXT RDATA for one value: a character-string per 255 octets, so that
/// longer values survive (RFC 1035 section 3.3.14).
bytes txt_rdata(std::string_view value);

struct dns_question {
    std::string name;
    std::uint16_t type = 0;
    std::uint16_t qclass = 0;
};

/// One resource record. Names are text with the trailing dot left off
/// ("." for the root) and bytes outside printable ASCII, dots and
/// backslashes inside labels escaped as \DDD.
struct dns_record {
    std::string name;
    std::uint16_t type = 0;
    std::uint16_t rclass = 0;
    std::uint32_t ttl = 0;
    bytes rdata;                      ///< as received
    std::vector<std::string> strings; ///< TXT: its character-strings
    std::string target;               ///< CNAME, NS: the name; SOA: MNAME
    std::size_t offset = 0;           ///< where the RR starts in the message
};

struct dns_message {
    std::uint16_t id = 0;
    std::uint16_t flags = 0;
    std::vector<dns_question> questions;
    std::vector<dns_record> answers;
    std::vector<dns_record> authority;
    std::vector<dns_record> additional;

    bool response() const { return (flags & 0x8000) != 0; }
    int opcode() const { return (flags >> 11) & 0xf; }
    bool truncated() const { return (flags & 0x0200) != 0; }
    int rcode() const { return flags & 0xf; }
};

/// The UPDATE opcode (RFC 2136 section 1).
constexpr int dns_opcode_update = 5;

/// Parses a whole message. Throws dns_format_error for anything malformed;
/// never reads outside [data, data + size).
dns_message parse_dns_message(const std::uint8_t* data, std::size_t size);

inline dns_message parse_dns_message(const bytes& message)
{
    return parse_dns_message(message.data(), message.size());
}

/// A query for one type at name, class IN, recursion desired (so that a
/// recursive resolver answers too; an authoritative server ignores it).
bytes build_dns_query(std::uint16_t id, std::string_view name,
                      std::uint16_t type);

/// An UPDATE for zone that adds one TXT value at name (RFC 2136 2.5.1).
bytes build_txt_add(std::uint16_t id, std::string_view zone,
                    std::string_view name, std::string_view value,
                    std::uint32_t ttl);

/// An UPDATE for zone that deletes exactly this TXT value at name and
/// leaves the others (RFC 2136 section 2.5.4: class NONE, TTL 0).
bytes build_txt_delete(std::uint16_t id, std::string_view zone,
                       std::string_view name, std::string_view value);

/// The seconds a TSIG's time may differ from the receiver's clock; 300 is
/// what RFC 8945 section 10 recommends.
constexpr std::uint16_t tsig_fudge = 300;

/// The algorithm named "hmac-sha256", "hmac-sha384" or "hmac-sha512" (any
/// case, trailing dot optional), or nothing.
std::optional<hmac_algorithm> tsig_algorithm(std::string_view name);

/// The algorithm's name as TSIG writes it (RFC 8945 section 6).
const char* tsig_algorithm_name(hmac_algorithm algorithm) noexcept;

/// The length of the algorithm's full, untruncated MAC.
std::size_t tsig_mac_size(hmac_algorithm algorithm) noexcept;

/// A TSIG key as the wire code sees it: the MAC function holds the secret,
/// so that this code never touches it.
struct tsig_signer {
    std::string key_name;
    hmac_algorithm algorithm = hmac_algorithm::sha256;
    std::function<bytes(std::string_view data)> mac;
};

/// Signs message (RFC 8945 section 4.3): appends the TSIG RR and adds one
/// to ARCOUNT. time_signed is seconds since the epoch. Returns the MAC,
/// which verifying the response needs.
bytes tsig_sign(bytes& message, const tsig_signer& signer,
                std::uint64_t time_signed);

enum class tsig_outcome {
    ok,
    unsigned_reply, ///< no TSIG at all
    malformed,      ///< a TSIG that breaks RFC 8945 section 4.2
    bad_key,        ///< BADKEY: another key or algorithm
    bad_sig,        ///< BADSIG: the MAC does not verify
    bad_time,       ///< BADTIME: signed outside the fudge window
    bad_trunc,      ///< BADTRUNC: a truncated MAC, which is not accepted
};

/// "ok", "unsigned", "malformed", "BADKEY", "BADSIG", "BADTIME",
/// "BADTRUNC".
const char* tsig_outcome_name(tsig_outcome outcome) noexcept;

struct tsig_result {
    tsig_outcome outcome = tsig_outcome::ok;
    /// True when the server reported the error in its TSIG's error field
    /// (it refused our request); false when the check here failed.
    bool from_server = false;
};

/// Checks the TSIG of reply, the answer to a request signed with signer
/// whose MAC was request_mac (RFC 8945 section 5.3). parsed is reply
/// parsed; now is seconds since the epoch.
tsig_result tsig_verify(const bytes& reply, const dns_message& parsed,
                        const tsig_signer& signer, const bytes& request_mac,
                        std::uint64_t now);

} // namespace acme::detail
