#include "detail/dns_wire.hpp"

#include <acmekit/problem.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace acme::detail {

namespace {

constexpr std::size_t max_name_octets = 255;
constexpr std::size_t max_label_octets = 63;
constexpr std::size_t max_string_octets = 255;
constexpr std::size_t max_rdata_octets = 65535;
constexpr std::size_t header_size = 12;
constexpr std::size_t arcount_offset = 10;

// A name has at most 127 labels, so a chain of more pointers than that can
// only be a loop.
constexpr int max_pointer_jumps = 127;

// Recursion desired (RFC 1035 section 4.1.1).
constexpr std::uint16_t flag_rd = 0x0100;

// --- writing --------------------------------------------------------------

void put16(bytes& out, std::uint16_t value)
{
    out.push_back(static_cast<std::uint8_t>(value >> 8));
    out.push_back(static_cast<std::uint8_t>(value));
}

void put32(bytes& out, std::uint32_t value)
{
    put16(out, static_cast<std::uint16_t>(value >> 16));
    put16(out, static_cast<std::uint16_t>(value));
}

// TSIG's Time Signed is a 48-bit number (RFC 8945 section 4.2).
void put48(bytes& out, std::uint64_t value)
{
    put16(out, static_cast<std::uint16_t>(value >> 32));
    put32(out, static_cast<std::uint32_t>(value));
}

void append(bytes& out, const bytes& more)
{
    out.insert(out.end(), more.begin(), more.end());
}

// The counts are QD, AN, NS, AR; an UPDATE calls them ZO, PR, UP, AD.
void put_header(bytes& out, std::uint16_t id, std::uint16_t flags,
                std::uint16_t questions, std::uint16_t updates)
{
    put16(out, id);
    put16(out, flags);
    put16(out, questions);
    put16(out, 0);
    put16(out, updates);
    put16(out, 0);
}

std::string_view as_text(const bytes& data)
{
    return {reinterpret_cast<const char*>(data.data()), data.size()};
}

// --- names ----------------------------------------------------------------

bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

// Presentation form (RFC 1035 section 5.1): inside a label a dot or a
// backslash is data only when escaped, and bytes that do not print are
// written as \DDD.
void append_escaped(std::string& out, unsigned char c, bool in_label)
{
    bool special = in_label && (c == '.' || c == '\\');
    if (c > 0x20 && c < 0x7f && !special) {
        out += static_cast<char>(c);
        return;
    }
    if (special) {
        out += '\\';
        out += static_cast<char>(c);
        return;
    }
    out += fmt::format("\\{:03}", static_cast<unsigned>(c));
}

// A caller's name as it may appear in an error message.
std::string printable_name(std::string_view name)
{
    std::string out;
    for (char c : name)
        append_escaped(out, static_cast<unsigned char>(c), false);
    return out;
}

[[noreturn]] void refuse_name(std::string_view name, const char* why)
{
    throw error(
        status::invalid_argument,
        fmt::format("invalid DNS name \"{}\": {}", printable_name(name), why));
}

// Reads the escape after a backslash at name[pos - 1].
char unescape(std::string_view name, std::size_t& pos)
{
    if (pos >= name.size())
        refuse_name(name, "a backslash at the end");
    if (!is_digit(name[pos]))
        return name[pos++];
    if (pos + 3 > name.size() || !is_digit(name[pos + 1]) ||
        !is_digit(name[pos + 2]))
        refuse_name(name, "\\DDD needs three digits");

    int value = (name[pos] - '0') * 100 + (name[pos + 1] - '0') * 10 +
                (name[pos + 2] - '0');
    if (value > 255)
        refuse_name(name, "\\DDD above 255");
    pos += 3;
    return static_cast<char>(value);
}

// The octets of the label that starts at pos, up to an unescaped dot.
std::string next_label(std::string_view name, std::size_t& pos)
{
    std::string label;
    while (pos < name.size() && name[pos] != '.') {
        char c = name[pos++];
        label += c == '\\' ? unescape(name, pos) : c;
    }
    return label;
}

bytes encode_name(std::string_view name)
{
    bytes wire;
    if (name.empty())
        refuse_name(name, "empty");

    std::size_t pos = 0;
    while (name != "." && pos < name.size()) {
        std::string label = next_label(name, pos);
        if (label.empty())
            refuse_name(name, "empty label");
        if (label.size() > max_label_octets)
            refuse_name(name, "label longer than 63 octets");
        wire.push_back(static_cast<std::uint8_t>(label.size()));
        wire.insert(wire.end(), label.begin(), label.end());
        if (wire.size() + 1 > max_name_octets)
            refuse_name(name, "longer than 255 octets");
        // Skip the dot; a final one only marks the name as absolute.
        if (pos < name.size())
            ++pos;
    }

    wire.push_back(0);
    return wire;
}

// Lower-cased wire form (RFC 4034 section 6.2), for comparisons and for
// the TSIG digest; nothing for an invalid name.
std::optional<bytes> canonical_name(std::string_view name)
{
    bytes wire;
    try {
        wire = encode_name(name);
    } catch (const error&) {
        return std::nullopt;
    }

    // Length octets are at most 63, below 'A', so they stay as they are.
    for (auto& octet : wire)
        if (octet >= 'A' && octet <= 'Z')
            octet = static_cast<std::uint8_t>(octet - 'A' + 'a');
    return wire;
}

// --- reading --------------------------------------------------------------

[[noreturn]] void malformed(const char* why)
{
    throw dns_format_error(why);
}

// A bounds-checked cursor. Names may point back anywhere in [data, end),
// so a reader for RDATA keeps the whole message before it in view.
class reader {
public:
    reader(const std::uint8_t* data, std::size_t end, std::size_t pos = 0)
        : data_(data), end_(end), pos_(pos)
    {
    }

    std::size_t pos() const { return pos_; }
    bool at_end() const { return pos_ == end_; }

    std::uint8_t u8()
    {
        need(1);
        return data_[pos_++];
    }

    std::uint16_t u16()
    {
        need(2);
        pos_ += 2;
        return static_cast<std::uint16_t>(data_[pos_ - 2] << 8 |
                                          data_[pos_ - 1]);
    }

    std::uint32_t u32()
    {
        std::uint32_t high = u16();
        return high << 16 | u16();
    }

    std::uint64_t u48()
    {
        std::uint64_t high = u16();
        return high << 32 | u32();
    }

    bytes take(std::size_t count)
    {
        need(count);
        pos_ += count;
        return bytes(data_ + pos_ - count, data_ + pos_);
    }

    std::string name(bool allow_compression = true);

private:
    void need(std::size_t count) const
    {
        if (count > end_ - pos_)
            malformed("message ends in the middle of a field");
    }

    const std::uint8_t* data_;
    std::size_t end_;
    std::size_t pos_;
};

// RFC 1035 section 4.1.4. Pointers must point backwards, which alone rules
// out loops; the jump limit is a second bound.
std::string reader::name(bool allow_compression)
{
    std::string text;
    std::size_t at = pos_;
    std::size_t octets = 1;
    int jumps = 0;
    bool jumped = false;

    while (true) {
        if (at >= end_)
            malformed("name runs past the end of the message");
        std::uint8_t length = data_[at];
        if (length == 0)
            break;
        if ((length & 0xc0) == 0xc0) {
            if (!allow_compression)
                malformed("compressed name where compression is forbidden");
            if (at + 1 >= end_)
                malformed("name pointer cut off");
            std::size_t target = (length & 0x3f) << 8 | data_[at + 1];
            if (target >= at || ++jumps > max_pointer_jumps)
                malformed("name pointer loops or points forward");
            if (!jumped)
                pos_ = at + 2;
            jumped = true;
            at = target;
            continue;
        }
        if ((length & 0xc0) != 0)
            malformed("unknown label type");
        octets += length + 1;
        if (octets > max_name_octets)
            malformed("name longer than 255 octets");
        if (at + 1 + length > end_)
            malformed("label runs past the end of the message");

        if (!text.empty())
            text += '.';
        for (std::size_t i = 0; i < length; ++i)
            append_escaped(text, data_[at + 1 + i], true);
        at += 1 + length;
    }

    if (!jumped)
        pos_ = at + 1;
    return text.empty() ? "." : text;
}

std::vector<std::string> read_txt_strings(reader& in)
{
    std::vector<std::string> strings;
    while (!in.at_end()) {
        bytes text = in.take(in.u8());
        strings.emplace_back(text.begin(), text.end());
    }
    if (strings.empty())
        malformed("TXT record without a character-string");
    return strings;
}

// Decodes what the resolver needs from RDATA of class IN. The reader ends
// where the RDATA ends, so no field can spill into the next record.
void decode_rdata(dns_record& rr, reader in)
{
    switch (rr.type) {
    case dns_type::txt: rr.strings = read_txt_strings(in); break;
    case dns_type::cname:
    case dns_type::ns: rr.target = in.name(); break;
    case dns_type::soa:
        rr.target = in.name();
        in.name();
        in.take(20); // SERIAL, REFRESH, RETRY, EXPIRE, MINIMUM
        break;
    case dns_type::a: in.take(4); break;
    case dns_type::aaaa: in.take(16); break;
    default: return;
    }

    if (!in.at_end())
        malformed("RDATA longer than its record type allows");
}

dns_record read_record(const std::uint8_t* data, reader& in)
{
    dns_record rr;
    rr.offset = in.pos();
    rr.name = in.name();
    rr.type = in.u16();
    rr.rclass = in.u16();
    rr.ttl = in.u32();
    std::uint16_t length = in.u16();
    std::size_t start = in.pos();
    rr.rdata = in.take(length);

    if (rr.rclass == dns_class::in)
        decode_rdata(rr, reader(data, start + length, start));
    return rr;
}

std::vector<dns_record> read_records(const std::uint8_t* data, reader& in,
                                     std::uint16_t count)
{
    std::vector<dns_record> records;
    for (std::uint16_t i = 0; i < count; ++i)
        records.push_back(read_record(data, in));
    return records;
}

// --- updates --------------------------------------------------------------

bytes update_header(std::uint16_t id, std::string_view zone)
{
    bytes out;
    put_header(out, id, dns_opcode_update << 11, 1, 1);
    append_dns_name(out, zone);
    put16(out, dns_type::soa);
    put16(out, dns_class::in);
    return out;
}

void append_txt_rr(bytes& out, std::string_view name, std::uint16_t rclass,
                   std::uint32_t ttl, std::string_view value)
{
    append_dns_name(out, name);
    put16(out, dns_type::txt);
    put16(out, rclass);
    put32(out, ttl);
    bytes rdata = txt_rdata(value);
    put16(out, static_cast<std::uint16_t>(rdata.size()));
    append(out, rdata);
}

// --- TSIG -----------------------------------------------------------------

struct tsig_rdata {
    std::string algorithm;
    std::uint64_t time_signed = 0;
    std::uint16_t fudge = 0;
    bytes mac;
    std::uint16_t original_id = 0;
    std::uint16_t error = 0;
    bytes other;
};

// RFC 8945 section 4.2; the algorithm name is never compressed.
tsig_rdata read_tsig_rdata(const bytes& rdata)
{
    reader in(rdata.data(), rdata.size());
    tsig_rdata fields;
    fields.algorithm = in.name(false);
    fields.time_signed = in.u48();
    fields.fudge = in.u16();
    fields.mac = in.take(in.u16());
    fields.original_id = in.u16();
    fields.error = in.u16();
    fields.other = in.take(in.u16());
    if (!in.at_end())
        malformed("bytes after the TSIG's Other Data");
    return fields;
}

// The "TSIG Variables" of the digest, RFC 8945 section 4.3.3, with both
// names in canonical form.
void append_tsig_variables(bytes& digest, const bytes& key_name,
                           const tsig_rdata& fields)
{
    append(digest, key_name);
    put16(digest, dns_class::any);
    put32(digest, 0);
    append(digest, *canonical_name(fields.algorithm));
    put48(digest, fields.time_signed);
    put16(digest, fields.fudge);
    put16(digest, fields.error);
    put16(digest, static_cast<std::uint16_t>(fields.other.size()));
    append(digest, fields.other);
}

bytes tsig_rr(std::string_view key_name, const tsig_rdata& fields)
{
    bytes rdata;
    append_dns_name(rdata, fields.algorithm);
    put48(rdata, fields.time_signed);
    put16(rdata, fields.fudge);
    put16(rdata, static_cast<std::uint16_t>(fields.mac.size()));
    append(rdata, fields.mac);
    put16(rdata, fields.original_id);
    put16(rdata, fields.error);
    put16(rdata, static_cast<std::uint16_t>(fields.other.size()));
    append(rdata, fields.other);

    bytes rr;
    append_dns_name(rr, key_name);
    put16(rr, dns_type::tsig);
    put16(rr, dns_class::any);
    put32(rr, 0);
    put16(rr, static_cast<std::uint16_t>(rdata.size()));
    append(rr, rdata);
    return rr;
}

std::uint16_t get16(const bytes& data, std::size_t at)
{
    return static_cast<std::uint16_t>(data[at] << 8 | data[at + 1]);
}

void set16(bytes& data, std::size_t at, std::uint16_t value)
{
    data[at] = static_cast<std::uint8_t>(value >> 8);
    data[at + 1] = static_cast<std::uint8_t>(value);
}

bool same_mac(const bytes& a, const bytes& b)
{
    if (a.size() != b.size())
        return false;
    // Every byte is compared, so that the time taken tells nothing.
    unsigned difference = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        difference |= static_cast<unsigned>(a[i] ^ b[i]);
    return difference == 0;
}

// The reply as it was before its TSIG was added (RFC 8945 section
// 4.3.3.1): without the TSIG RR, one less in ARCOUNT, the original ID.
bytes unsigned_reply(const bytes& reply, std::size_t tsig_offset,
                     std::uint16_t original_id)
{
    bytes message(reply.begin(),
                  reply.begin() + static_cast<std::ptrdiff_t>(tsig_offset));
    set16(message, 0, original_id);
    set16(message, arcount_offset,
          static_cast<std::uint16_t>(get16(message, arcount_offset) - 1));
    return message;
}

std::optional<tsig_outcome> server_tsig_error(std::uint16_t error)
{
    switch (error) {
    case 0: return std::nullopt;
    case dns_rcode::badkey: return tsig_outcome::bad_key;
    case dns_rcode::badsig: return tsig_outcome::bad_sig;
    case dns_rcode::badtime: return tsig_outcome::bad_time;
    case dns_rcode::badtrunc: return tsig_outcome::bad_trunc;
    default: return tsig_outcome::malformed;
    }
}

bool time_within_fudge(std::uint64_t signed_at, std::uint16_t fudge,
                       std::uint64_t now)
{
    std::uint64_t skew = signed_at > now ? signed_at - now : now - signed_at;
    return skew <= fudge;
}

// Checks a TSIG RR that is known to be the reply's last record and to
// name our key and algorithm.
tsig_result check_tsig_mac(const bytes& reply, const dns_record& rr,
                           const tsig_rdata& fields, const tsig_signer& signer,
                           const bytes& request_mac, std::uint64_t now)
{
    std::optional<tsig_outcome> reported = server_tsig_error(fields.error);
    // A server that refuses the key or the MAC answers unsigned (RFC 8945
    // section 5.2.2), so there is nothing to verify.
    if (fields.mac.empty() && reported)
        return {*reported, true};
    if (fields.mac.size() != tsig_mac_size(signer.algorithm))
        return {fields.mac.empty() ? tsig_outcome::bad_sig
                                   : tsig_outcome::bad_trunc,
                false};

    bytes digest;
    put16(digest, static_cast<std::uint16_t>(request_mac.size()));
    append(digest, request_mac);
    append(digest, unsigned_reply(reply, rr.offset, fields.original_id));
    append_tsig_variables(digest, *canonical_name(signer.key_name), fields);
    if (!same_mac(signer.mac(as_text(digest)), fields.mac))
        return {tsig_outcome::bad_sig, false};

    if (reported)
        return {*reported, true};
    if (!time_within_fudge(fields.time_signed, fields.fudge, now))
        return {tsig_outcome::bad_time, false};
    return {tsig_outcome::ok, false};
}

} // namespace

std::string dns_rcode_name(int rcode)
{
    switch (rcode) {
    case dns_rcode::noerror: return "NOERROR";
    case dns_rcode::formerr: return "FORMERR";
    case dns_rcode::servfail: return "SERVFAIL";
    case dns_rcode::nxdomain: return "NXDOMAIN";
    case dns_rcode::notimp: return "NOTIMP";
    case dns_rcode::refused: return "REFUSED";
    case dns_rcode::yxdomain: return "YXDOMAIN";
    case dns_rcode::yxrrset: return "YXRRSET";
    case dns_rcode::nxrrset: return "NXRRSET";
    case dns_rcode::notauth: return "NOTAUTH";
    case dns_rcode::notzone: return "NOTZONE";
    case dns_rcode::badsig: return "BADSIG";
    case dns_rcode::badkey: return "BADKEY";
    case dns_rcode::badtime: return "BADTIME";
    case dns_rcode::badtrunc: return "BADTRUNC";
    default: return fmt::format("RCODE {}", rcode);
    }
}

void append_dns_name(bytes& out, std::string_view name)
{
    append(out, encode_name(name));
}

bool valid_dns_name(std::string_view name)
{
    return canonical_name(name).has_value();
}

bool dns_name_equal(std::string_view a, std::string_view b)
{
    std::optional<bytes> left = canonical_name(a);
    std::optional<bytes> right = canonical_name(b);
    return left && right && *left == *right;
}

bool dns_name_within(std::string_view name, std::string_view zone)
{
    std::optional<bytes> inner = canonical_name(name);
    std::optional<bytes> outer = canonical_name(zone);
    if (!inner || !outer)
        return false;

    // Try the suffix at each label boundary; a well-formed wire name ends
    // with the root label, which ends the walk.
    std::size_t at = 0;
    while (true) {
        if (inner->size() - at == outer->size() &&
            std::equal(outer->begin(), outer->end(),
                       inner->begin() + static_cast<std::ptrdiff_t>(at)))
            return true;
        if ((*inner)[at] == 0)
            return false;
        at += (*inner)[at] + 1u;
    }
}

bytes txt_rdata(std::string_view value)
{
    bytes rdata;
    std::size_t at = 0;
    do {
        std::string_view piece = value.substr(at, max_string_octets);
        rdata.push_back(static_cast<std::uint8_t>(piece.size()));
        rdata.insert(rdata.end(), piece.begin(), piece.end());
        at += piece.size();
    } while (at < value.size());

    if (rdata.size() > max_rdata_octets)
        throw error(status::invalid_argument,
                    fmt::format("TXT value of {} bytes does not fit in one "
                                "record",
                                value.size()));
    return rdata;
}

dns_message parse_dns_message(const std::uint8_t* data, std::size_t size)
{
    if (size < header_size)
        malformed("shorter than a DNS header");
    reader in(data, size);
    dns_message message;
    message.id = in.u16();
    message.flags = in.u16();
    std::uint16_t questions = in.u16();
    std::uint16_t answers = in.u16();
    std::uint16_t authority = in.u16();
    std::uint16_t additional = in.u16();

    for (std::uint16_t i = 0; i < questions; ++i) {
        dns_question question;
        question.name = in.name();
        question.type = in.u16();
        question.qclass = in.u16();
        message.questions.push_back(std::move(question));
    }
    message.answers = read_records(data, in, answers);
    message.authority = read_records(data, in, authority);
    message.additional = read_records(data, in, additional);

    if (!in.at_end())
        malformed("bytes after the last record");
    return message;
}

bytes build_dns_query(std::uint16_t id, std::string_view name,
                      std::uint16_t type)
{
    bytes out;
    put_header(out, id, flag_rd, 1, 0);
    append_dns_name(out, name);
    put16(out, type);
    put16(out, dns_class::in);
    return out;
}

bytes build_txt_add(std::uint16_t id, std::string_view zone,
                    std::string_view name, std::string_view value,
                    std::uint32_t ttl)
{
    bytes out = update_header(id, zone);
    append_txt_rr(out, name, dns_class::in, ttl, value);
    return out;
}

bytes build_txt_delete(std::uint16_t id, std::string_view zone,
                       std::string_view name, std::string_view value)
{
    bytes out = update_header(id, zone);
    append_txt_rr(out, name, dns_class::none, 0, value);
    return out;
}

std::optional<hmac_algorithm> tsig_algorithm(std::string_view name)
{
    for (auto algorithm : {hmac_algorithm::sha256, hmac_algorithm::sha384,
                           hmac_algorithm::sha512}) {
        std::string_view known = tsig_algorithm_name(algorithm);
        if (dns_name_equal(name, known))
            return algorithm;
    }
    return std::nullopt;
}

const char* tsig_algorithm_name(hmac_algorithm algorithm) noexcept
{
    switch (algorithm) {
    case hmac_algorithm::sha256: return "hmac-sha256.";
    case hmac_algorithm::sha384: return "hmac-sha384.";
    case hmac_algorithm::sha512: return "hmac-sha512.";
    }
    return "hmac-sha256.";
}

std::size_t tsig_mac_size(hmac_algorithm algorithm) noexcept
{
    switch (algorithm) {
    case hmac_algorithm::sha256: return 32;
    case hmac_algorithm::sha384: return 48;
    case hmac_algorithm::sha512: return 64;
    }
    return 32;
}

bytes tsig_sign(bytes& message, const tsig_signer& signer,
                std::uint64_t time_signed)
{
    std::optional<bytes> key_name = canonical_name(signer.key_name);
    if (!key_name)
        refuse_name(signer.key_name, "not usable as a TSIG key name");
    if (message.size() < header_size ||
        get16(message, arcount_offset) == 0xffff)
        throw error(status::invalid_argument, "no DNS message to sign");

    tsig_rdata fields;
    fields.algorithm = tsig_algorithm_name(signer.algorithm);
    fields.time_signed = time_signed;
    fields.fudge = tsig_fudge;
    fields.original_id = get16(message, 0);

    bytes digest = message;
    append_tsig_variables(digest, *key_name, fields);
    fields.mac = signer.mac(as_text(digest));

    append(message, tsig_rr(signer.key_name, fields));
    set16(message, arcount_offset,
          static_cast<std::uint16_t>(get16(message, arcount_offset) + 1));
    return fields.mac;
}

const char* tsig_outcome_name(tsig_outcome outcome) noexcept
{
    switch (outcome) {
    case tsig_outcome::ok: return "ok";
    case tsig_outcome::unsigned_reply: return "unsigned";
    case tsig_outcome::malformed: return "malformed";
    case tsig_outcome::bad_key: return "BADKEY";
    case tsig_outcome::bad_sig: return "BADSIG";
    case tsig_outcome::bad_time: return "BADTIME";
    case tsig_outcome::bad_trunc: return "BADTRUNC";
    }
    return "unknown";
}

tsig_result tsig_verify(const bytes& reply, const dns_message& parsed,
                        const tsig_signer& signer, const bytes& request_mac,
                        std::uint64_t now)
{
    const auto& extra = parsed.additional;
    auto is_tsig = [](const dns_record& rr) {
        return rr.type == dns_type::tsig;
    };
    if (extra.empty() || !is_tsig(extra.back()))
        return {std::any_of(extra.begin(), extra.end(), is_tsig)
                    ? tsig_outcome::malformed
                    : tsig_outcome::unsigned_reply,
                false};

    // RFC 8945 section 5.2: one TSIG, the last record, class ANY, TTL 0.
    const dns_record& rr = extra.back();
    if (std::count_if(extra.begin(), extra.end(), is_tsig) != 1 ||
        rr.rclass != dns_class::any || rr.ttl != 0)
        return {tsig_outcome::malformed, false};
    tsig_rdata fields;
    try {
        fields = read_tsig_rdata(rr.rdata);
    } catch (const dns_format_error&) {
        return {tsig_outcome::malformed, false};
    }

    if (!dns_name_equal(rr.name, signer.key_name) ||
        !dns_name_equal(fields.algorithm,
                        tsig_algorithm_name(signer.algorithm)))
        return {tsig_outcome::bad_key, false};
    return check_tsig_mac(reply, rr, fields, signer, request_mac, now);
}

} // namespace acme::detail
