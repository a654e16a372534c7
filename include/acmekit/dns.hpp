// DNS-01 (RFC 8555 section 8.4): publishing TXT records at
// _acme-challenge.<name> and waiting until they can be seen.
#pragma once

#include <acmekit/clock.hpp>
#include <acmekit/crypto.hpp>
#include <acmekit/secret.hpp>
#include <acmekit/solver.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace acme {

/// The TXT value for a key authorization: base64url(SHA-256(it)), RFC 8555
/// section 8.4.
std::string dns01_txt_value(crypto& keys, const std::string& key_authorization);

/// A DNS server by address literal ("127.0.0.1", "::1") and port.
struct dns_server {
    std::string address;
    int port = 53;
};

/// Parses "ADDR", "ADDR:PORT", "[V6]" or "[V6]:PORT". Throws acme::error
/// with status::invalid_argument for anything else.
dns_server parse_dns_server(const std::string& text);

/// Adds and removes single TXT values. add_txt must keep every other value
/// at the name (a wildcard and its base name share one); remove_txt must
/// remove only the value given.
class dns_publisher {
public:
    virtual ~dns_publisher() = default;
    virtual void add_txt(const std::string& fqdn, const std::string& value) = 0;
    virtual void remove_txt(const std::string& fqdn,
                            const std::string& value) = 0;
};

/// TSIG credentials for dynamic updates (RFC 8945).
struct tsig_key {
    std::string name;                      ///< the key's DNS name
    std::string algorithm = "hmac-sha256"; ///< also hmac-sha384, -sha512
    secret_bytes secret;                   ///< raw key bytes, not base64
};

/// A TSIG key from its name, algorithm and the secret as key files write
/// it (base64 or base64url, padded or not). Throws status::invalid_argument
/// for an empty name or a secret that is not base64; the algorithm is
/// checked where the key is used.
tsig_key make_tsig_key(std::string name, std::string algorithm,
                       std::string_view secret_base64);

/// The DNS questions DNS-01 needs answered, asked of one named server.
/// Every call throws acme::error with status::timeout,
/// status::connect_failed or status::bad_response on failure.
class dns_lookup {
public:
    virtual ~dns_lookup() = default;

    /// Every TXT value at fqdn (character-strings of one record joined).
    virtual std::vector<std::string> txt(const dns_server& server,
                                         const std::string& fqdn) = 0;

    /// The target of a CNAME at fqdn, or "" when there is none.
    virtual std::string cname(const dns_server& server,
                              const std::string& fqdn) = 0;

    /// The zone that holds fqdn: the owner of the SOA the server returns.
    virtual std::string zone_of(const dns_server& server,
                                const std::string& fqdn) = 0;
};

/// dns_lookup over UDP, then TCP when an answer is truncated.
class dns_resolver final : public dns_lookup {
public:
    explicit dns_resolver(
        std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

    std::vector<std::string> txt(const dns_server& server,
                                 const std::string& fqdn) override;
    std::string cname(const dns_server& server,
                      const std::string& fqdn) override;
    std::string zone_of(const dns_server& server,
                        const std::string& fqdn) override;

private:
    std::chrono::milliseconds timeout_;
};

/// RFC 2136 dynamic updates to the zone's primary server, signed with TSIG.
class rfc2136_publisher final : public dns_publisher {
public:
    /// zone may be empty: it is then found by asking the primary for the
    /// SOA of each name. The crypto provider computes the TSIG HMAC.
    rfc2136_publisher(
        dns_server primary, tsig_key key, crypto& keys, std::string zone = {},
        std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

    void add_txt(const std::string& fqdn, const std::string& value) override;
    void remove_txt(const std::string& fqdn, const std::string& value) override;

private:
    void update(const std::string& fqdn, const std::string& value, bool add);

    dns_server primary_;
    tsig_key key_;
    crypto& keys_;
    std::string zone_;
    std::chrono::milliseconds timeout_;
};

/// Runs a program to publish: `PROGRAM add|remove FQDN VALUE`, each an
/// argument of its own, no shell. Standard input is /dev/null; output goes
/// where the host's goes. A non-zero exit, a signal or running past the
/// timeout (the program is then killed) throws status::solver_failed.
/// The program runs in a process group of its own, and whatever it leaves
/// running there is killed when it exits: a hook must finish its work
/// before it returns.
class hook_publisher final : public dns_publisher {
public:
    explicit hook_publisher(
        std::string program,
        std::chrono::milliseconds timeout = std::chrono::milliseconds(60000));

    void add_txt(const std::string& fqdn, const std::string& value) override;
    void remove_txt(const std::string& fqdn, const std::string& value) override;

private:
    void run(const char* action, const std::string& fqdn,
             const std::string& value);

    std::string program_;
    std::chrono::milliseconds timeout_;
};

/// The host's own functions publish: a DNS provider's API, or a person
/// told what to add (the manual flow). An exception from add fails the
/// order; one from remove is reported and otherwise ignored.
class callback_publisher final : public dns_publisher {
public:
    using fn =
        std::function<void(const std::string& fqdn, const std::string& value)>;

    callback_publisher(fn add, fn remove);

    void add_txt(const std::string& fqdn, const std::string& value) override;
    void remove_txt(const std::string& fqdn, const std::string& value) override;

private:
    fn add_;
    fn remove_;
};

/// When and where dns01_solver looks for its records before the CA is
/// told. Only the servers listed here are ever asked.
struct propagation_options {
    static constexpr std::chrono::milliseconds default_interval{1000};
    static constexpr std::chrono::milliseconds default_timeout{120000};

    bool enabled = true;
    /// Asked for CNAMEs at _acme-challenge names and for the TXT values;
    /// every one must show every value. Required while enabled.
    std::vector<dns_server> servers;
    std::chrono::milliseconds interval = default_interval;
    std::chrono::milliseconds timeout = default_timeout;
};

/// The DNS-01 solver: TXT values at _acme-challenge.<name> (the base name
/// for a wildcard), following a CNAME there to where it points. Values
/// that share a name (a wildcard and its base) are all published before
/// any is waited for, and cleanup removes only the values it added.
class dns01_solver final : public challenge_solver {
public:
    /// publisher, time and resolver are borrowed and must outlive the
    /// solver. Throws status::invalid_argument when the propagation check
    /// is enabled without servers.
    dns01_solver(dns_publisher& publisher, clock& time,
                 propagation_options propagation, dns_lookup& resolver);

    bool handles(const std::string& challenge_type) const override;
    void present(const challenge_task& task) override;
    void wait_ready(const challenge_task& task) override;
    void cleanup(const challenge_task& task) noexcept override;

    /// The name a task's record is written at, after any CNAME.
    std::string record_name(const challenge_task& task) const;

private:
    struct record {
        std::string token;
        std::string fqdn;
        std::string value;
    };

    std::string resolve_name(const std::string& identifier);
    bool visible_everywhere(const std::string& fqdn,
                            const std::vector<std::string>& values);

    dns_publisher& publisher_;
    clock& time_;
    propagation_options propagation_;
    dns_lookup& resolver_;
    std::vector<record> records_;
};

} // namespace acme
