// The C ABI over the C++ core. Every entry point catches every exception:
// none may cross into C.
#define ACMEKIT_BUILDING 1
#include "acmekit.h"

#include <acmekit/adapters/http01_responder.hpp>
#include <acmekit/adapters/mbedtls_crypto.hpp>
#include <acmekit/adapters/webroot_solver.hpp>
#include <acmekit/client.hpp>
#include <acmekit/dns.hpp>
#include <acmekit/issuance.hpp>
#include <acmekit/renew.hpp>
#include <acmekit/stored.hpp>
#ifdef ACMEKIT_WITH_HTTPLIB
#include <acmekit/adapters/httplib_transport.hpp>
#else
#include <acmekit/adapters/mbedtls_transport.hpp>
#endif

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <new>
#include <optional>
#include <random>
#include <string>

#include "host.hpp"
#include "status_check.hpp"

struct acme_problem {
    acme::problem value;
};

struct acme_key {
    // Keys belong to the provider that made them; sharing it lets a key
    // outlive its client.
    std::shared_ptr<acme::crypto> provider;
    std::unique_ptr<acme::private_key> key;
};

struct acme_certificate {
    std::string chain_pem;
    std::string url;
    std::string name;   // the first domain name: where it is stored
    std::string folder; // its storage generation, once saved or loaded
    acme_key key;       // key.key is null for a certificate from a CSR
};

struct acme_storage {
    std::unique_ptr<acme::storage> store;
    std::vector<std::string> listed; // from acme_storage_list_certificates
};

struct acme_issuance {
    acme_client* client;
    std::unique_ptr<acme::issuance_driver> driver;
    std::string name;
    std::vector<acme::challenge_task> solve;
    std::vector<acme::challenge_task> release;
};

struct acme_renewal {
    acme::renewal_plan plan;
    std::vector<std::string> names;
};

namespace {

// A C caller may pass any int where an enum is declared. Reading it as the
// C++ enum type would be undefined for values outside the enum's range, so
// the bits are read as the integer they are.
template <typename Enum>
int raw_value(const Enum& value) noexcept
{
    static_assert(sizeof(Enum) == sizeof(int), "C enums are int-sized");
    int raw;
    std::memcpy(&raw, &value, sizeof raw);
    return raw;
}

class c_logger final : public acme::logger {
public:
    c_logger(acme_log_fn fn, void* user, acme_log_level max_level)
        : fn_(fn), user_(user), max_level_(raw_value(max_level))
    {
    }

    void log(acme::log_level level, std::string_view category,
             std::string_view message) override
    {
        if (static_cast<int>(level) > max_level_)
            return;
        std::string category_text(category);
        std::string message_text(message);
        fn_(user_, static_cast<acme_log_level>(level), category_text.c_str(),
            message_text.c_str());
    }

private:
    acme_log_fn fn_;
    void* user_;
    int max_level_;
};

} // namespace

struct acme_client {
    std::shared_ptr<acme::crypto> crypto;
    std::unique_ptr<acme::transport> transport;
    acme::system_clock system_time;
    std::unique_ptr<acme::clock> host_time;
    acme::clock* clock = &system_time; // the host's, when it gave one
    std::unique_ptr<c_logger> logger;
    std::unique_ptr<acme::client> core;

    std::string open_error;
    std::string last_error;
    std::optional<acme_problem> last_problem;
    int64_t last_retry_after = 0;
    std::string account_url;
    std::optional<acme::account> account;
    // The key of an account opened from storage; the core borrows it.
    std::unique_ptr<acme::private_key> stored_account_key;
    bool account_created = false;
    std::string terms_of_service;
    std::vector<std::pair<std::string, std::string>> profiles;

    void clear_error()
    {
        last_error.clear();
        last_problem.reset();
        last_retry_after = 0;
    }
};

namespace {

void record(acme_client* client, const acme::error& e)
{
    client->last_error = e.what();
    if (e.server_problem())
        client->last_problem = acme_problem{*e.server_problem()};
    if (e.retry_after())
        client->last_retry_after =
            std::chrono::duration_cast<std::chrono::seconds>(
                e.retry_after()->time_since_epoch())
                .count();
}

// Runs body, turning every exception into a status and, when a client is
// at hand, a message kept on it.
template <typename Body>
acme_status guarded(acme_client* client, Body body) noexcept
{
    try {
        if (client != nullptr)
            client->clear_error();
        body();
        return ACME_OK;
    } catch (const acme::error& e) {
        try {
            if (client != nullptr)
                record(client, e);
        } catch (...) {
            return ACME_E_OUT_OF_MEMORY;
        }
        return static_cast<acme_status>(e.code());
    } catch (const std::bad_alloc&) {
        return ACME_E_OUT_OF_MEMORY;
    } catch (const std::exception& e) {
        if (client != nullptr)
            client->last_error.assign(e.what());
        return ACME_E_INTERNAL;
    } catch (...) {
        return ACME_E_INTERNAL;
    }
}

// Copies a caller's options struct, reading no more than the caller
// declared in its size field; fields it does not know keep their defaults.
template <typename Options>
Options read_options(const Options* given, const Options& defaults)
{
    if (given == nullptr)
        throw acme::error(acme::status::invalid_argument, "options are NULL");
    const std::size_t declared = given->size;
    if (declared < sizeof(size_t) || declared > (1u << 16))
        throw acme::error(acme::status::invalid_argument,
                          "options size field is not set: use the _INIT "
                          "macro");
    Options copy = defaults;
    std::memcpy(&copy, given, std::min(declared, sizeof(Options)));
    copy.size = sizeof(Options);
    return copy;
}

void require(bool condition, const char* message)
{
    if (!condition)
        throw acme::error(acme::status::invalid_argument, message);
}

acme::new_account_options
read_account_options(const acme_account_options* options)
{
    acme_account_options defaults = ACME_ACCOUNT_OPTIONS_INIT;
    acme_account_options opts = read_options(options, defaults);
    require(opts.contact_count == 0 || opts.contacts != nullptr,
            "contacts is NULL but contact_count is not 0");

    acme::new_account_options account_opts;
    for (size_t i = 0; i < opts.contact_count; ++i) {
        require(opts.contacts[i] != nullptr, "a contact is NULL");
        account_opts.contact.emplace_back(opts.contacts[i]);
    }
    account_opts.terms_of_service_agreed = opts.terms_of_service_agreed != 0;
    account_opts.only_return_existing = opts.only_return_existing != 0;
    if (opts.eab_key_id != nullptr || opts.eab_hmac_key != nullptr) {
        require(opts.eab_key_id != nullptr && opts.eab_hmac_key != nullptr,
                "eab_key_id and eab_hmac_key go together");
        account_opts.binding = acme::make_external_account_binding(
            opts.eab_key_id, opts.eab_hmac_key,
            opts.eab_algorithm ? opts.eab_algorithm : "");
    }
    return account_opts;
}

acme::key_type to_key_type(const acme_key_type& type)
{
    switch (raw_value(type)) {
    case ACME_KEY_EC_P256: return acme::key_type::ec_p256;
    case ACME_KEY_EC_P384: return acme::key_type::ec_p384;
    case ACME_KEY_RSA_2048: return acme::key_type::rsa_2048;
    case ACME_KEY_RSA_3072: return acme::key_type::rsa_3072;
    case ACME_KEY_RSA_4096: return acme::key_type::rsa_4096;
    }
    throw acme::error(acme::status::invalid_argument, "unknown key type");
}

char* copy_secret(const acme::secret_bytes& secret)
{
    auto* out = static_cast<char*>(std::malloc(secret.size() + 1));
    if (out == nullptr)
        throw std::bad_alloc();
    std::memcpy(out, secret.data(), secret.size());
    out[secret.size()] = '\0';
    return out;
}

const acme::subproblem* subproblem_at(const acme_problem* problem, size_t index)
{
    if (problem == nullptr || index >= problem->value.subproblems.size())
        return nullptr;
    return &problem->value.subproblems[index];
}

acme::https_transport_options transport_options(const acme_client_options& opts)
{
    acme::https_transport_options out;
    if (opts.ca_file != nullptr)
        out.ca_file = opts.ca_file;
    if (opts.connect_timeout_ms != 0)
        out.connect_timeout =
            std::chrono::milliseconds(opts.connect_timeout_ms);
    if (opts.read_timeout_ms != 0)
        out.read_timeout = std::chrono::milliseconds(opts.read_timeout_ms);
    if (opts.proxy_url != nullptr)
        out.proxy_url = opts.proxy_url;
    if (opts.proxy_user != nullptr)
        out.proxy_user = opts.proxy_user;
    if (opts.proxy_password != nullptr)
        out.proxy_password = acme::secret_bytes(
            reinterpret_cast<const std::uint8_t*>(opts.proxy_password),
            std::strlen(opts.proxy_password));
    out.proxy_from_environment = opts.proxy_from_environment != 0;
    return out;
}

// cpp-httplib over OpenSSL where the build has it, else mbedTLS's own TLS.
std::unique_ptr<acme::transport> make_transport(const acme_client_options& opts)
{
#ifdef ACMEKIT_WITH_HTTPLIB
    return std::make_unique<acme::httplib_transport>(transport_options(opts));
#else
    return std::make_unique<acme::mbedtls_transport>(transport_options(opts));
#endif
}

// A client whose acme_client_new failed only reports that failure.
void require_open(const acme_client* client)
{
    if (client->core == nullptr)
        throw acme::error(acme::status::invalid_argument,
                          "the client failed to open: " + client->open_error);
}

void remember(acme_client* client, acme::account account)
{
    client->account_url = account.url;
    client->account = std::move(account);
}

// The solver and what it borrows, kept alive together for one issuance.
struct solver_set {
    std::unique_ptr<acme::dns_publisher> publisher;
    std::unique_ptr<acme::dns_resolver> resolver;
    std::unique_ptr<acme::challenge_solver> solver;
};

std::unique_ptr<acme::challenge_solver>
make_http01_solver(const acme_issue_options& opts)
{
    if (opts.http01_publish != nullptr || opts.http01_withdraw != nullptr) {
        require(opts.http01_publish != nullptr &&
                    opts.http01_withdraw != nullptr,
                "http01_publish and http01_withdraw go together");
        auto publish = opts.http01_publish;
        auto withdraw = opts.http01_withdraw;
        void* user = opts.http01_user;
        return std::make_unique<acme::http01_callback_solver>(
            [=](const acme::challenge_task& t) {
                if (publish(user, t.identifier.c_str(), t.token.c_str(),
                            t.key_authorization.c_str()) != 0)
                    throw acme::error(acme::status::solver_failed,
                                      "HTTP-01 publish callback failed for " +
                                          t.identifier);
            },
            [=](const acme::challenge_task& t) {
                withdraw(user, t.identifier.c_str(), t.token.c_str());
            });
    }
    if (opts.http01_webroot != nullptr)
        return std::make_unique<acme::webroot_solver>(acme::webroot_options{
            opts.http01_webroot, opts.http01_keep_files != 0});
    acme::http01_responder_options responder;
    if (opts.http01_address != nullptr)
        responder.address = opts.http01_address;
    if (opts.http01_port != 0)
        responder.port = opts.http01_port;
    require(responder.port > 0 && responder.port < 65536,
            "http01_port is out of range");
    auto built_in = std::make_unique<acme::http01_responder>(responder);
    built_in->start();
    return built_in;
}

std::unique_ptr<acme::dns_publisher>
make_dns_publisher(const acme_issue_options& opts, acme::crypto& keys)
{
    int ways = (opts.dns_publish != nullptr || opts.dns_withdraw != nullptr) +
               (opts.dns_hook != nullptr) + (opts.dns_update_server != nullptr);
    require(ways == 1, "DNS-01 needs exactly one of dns_publish, dns_hook "
                       "and dns_update_server");

    if (opts.dns_hook != nullptr)
        return std::make_unique<acme::hook_publisher>(
            opts.dns_hook,
            std::chrono::milliseconds(
                opts.dns_hook_timeout_ms ? opts.dns_hook_timeout_ms : 60000));
    if (opts.dns_update_server != nullptr) {
        require(opts.tsig_key_name != nullptr &&
                    opts.tsig_secret_base64 != nullptr,
                "an RFC 2136 update needs tsig_key_name and "
                "tsig_secret_base64");
        return std::make_unique<acme::rfc2136_publisher>(
            acme::parse_dns_server(opts.dns_update_server),
            acme::make_tsig_key(opts.tsig_key_name,
                                opts.tsig_algorithm ? opts.tsig_algorithm
                                                    : "hmac-sha256",
                                opts.tsig_secret_base64),
            keys, opts.dns_update_zone ? opts.dns_update_zone : "");
    }

    require(opts.dns_publish != nullptr && opts.dns_withdraw != nullptr,
            "dns_publish and dns_withdraw go together");
    auto publish = opts.dns_publish;
    auto withdraw = opts.dns_withdraw;
    void* user = opts.dns_user;
    return std::make_unique<acme::callback_publisher>(
        [=](const std::string& fqdn, const std::string& value) {
            if (publish(user, fqdn.c_str(), value.c_str()) != 0)
                throw acme::error(acme::status::solver_failed,
                                  "DNS publish callback failed for " + fqdn);
        },
        [=](const std::string& fqdn, const std::string& value) {
            withdraw(user, fqdn.c_str(), value.c_str());
        });
}

acme::propagation_options read_propagation(const acme_issue_options& opts)
{
    acme::propagation_options p;
    p.enabled = opts.dns_skip_propagation_check == 0;
    require(opts.dns_resolver_count == 0 || opts.dns_resolvers != nullptr,
            "dns_resolvers is NULL but dns_resolver_count is not 0");
    for (size_t i = 0; i < opts.dns_resolver_count; ++i) {
        require(opts.dns_resolvers[i] != nullptr, "a resolver is NULL");
        p.servers.push_back(acme::parse_dns_server(opts.dns_resolvers[i]));
    }
    if (p.servers.empty() && opts.dns_update_server != nullptr)
        p.servers.push_back(acme::parse_dns_server(opts.dns_update_server));
    if (opts.dns_propagation_timeout_ms != 0)
        p.timeout = std::chrono::milliseconds(opts.dns_propagation_timeout_ms);
    if (opts.dns_propagation_interval_ms != 0)
        p.interval =
            std::chrono::milliseconds(opts.dns_propagation_interval_ms);
    return p;
}

solver_set make_solver(const acme_issue_options& opts, acme_client& client)
{
    solver_set set;
    int challenge = raw_value(opts.challenge);
    if (challenge == ACME_CHALLENGE_HTTP_01) {
        set.solver = make_http01_solver(opts);
        return set;
    }
    require(challenge == ACME_CHALLENGE_DNS_01, "unknown challenge type");

    set.publisher = make_dns_publisher(opts, *client.crypto);
    set.resolver = std::make_unique<acme::dns_resolver>();
    set.solver = std::make_unique<acme::dns01_solver>(
        *set.publisher, *client.clock, read_propagation(opts), *set.resolver);
    return set;
}

// The request an acme_issue_options describes, names checked first: a
// typo must not cost a bound port or an order.
acme::issue_request read_issue_request(const acme_issue_options& opts)
{
    require(opts.name_count > 0 && opts.names != nullptr,
            "no domain name given");
    acme::issue_request request;
    for (size_t i = 0; i < opts.name_count; ++i) {
        require(opts.names[i] != nullptr, "a name is NULL");
        request.names.emplace_back(opts.names[i]);
    }
    for (const std::string& name : request.names)
        acme::validate_dns_name(name);

    request.certificate_key = to_key_type(opts.certificate_key_type);
    if (opts.certificate_key != nullptr) {
        require(opts.certificate_key->key != nullptr,
                "certificate_key holds no key");
        request.existing_key_pem =
            opts.certificate_key->provider->export_key_pem(
                *opts.certificate_key->key);
    }
    if (opts.csr != nullptr) {
        require(opts.csr_length > 0, "csr_length is 0");
        const auto* csr = reinterpret_cast<const std::uint8_t*>(opts.csr);
        request.csr.assign(csr, csr + opts.csr_length);
    }
    if (opts.profile != nullptr)
        request.profile = opts.profile;
    request.profile_required = opts.profile_required != 0;
    if (opts.preferred_chain != nullptr)
        request.preferred_chain = opts.preferred_chain;

    if (opts.progress != nullptr) {
        auto progress = opts.progress;
        void* user = opts.progress_user;
        request.progress = [=](acme::issue_step step, const std::string& text) {
            if (progress(user, static_cast<acme_step>(step), text.c_str()) != 0)
                throw acme::error(acme::status::cancelled,
                                  "cancelled by the progress callback");
        };
    }
    return request;
}

std::unique_ptr<acme_certificate>
wrap_certificate(acme_client& client, acme::issued_certificate issued,
                 const std::string& name)
{
    auto cert = std::make_unique<acme_certificate>();
    cert->chain_pem = std::move(issued.chain_pem);
    cert->url = std::move(issued.certificate_url);
    cert->name = name;
    cert->folder = std::move(issued.storage_folder);
    cert->key.provider = client.crypto;
    cert->key.key = std::move(issued.key);
    return cert;
}

std::uint64_t random_64()
{
    std::random_device source;
    return (static_cast<std::uint64_t>(source()) << 32) ^ source();
}

const acme::challenge_task* task_at(const acme_issuance* issuance, int released,
                                    size_t index)
{
    if (issuance == nullptr)
        return nullptr;
    const auto& list = released ? issuance->release : issuance->solve;
    return index < list.size() ? &list[index] : nullptr;
}

} // namespace

extern "C" {

const char* acme_version(void)
{
    return ACMEKIT_VERSION_STRING;
}

unsigned acme_version_number(void)
{
    return ACME_VERSION_NUMBER;
}

const char* acme_strerror(acme_status status)
{
    return acme::status_string(static_cast<acme::status>(raw_value(status)));
}

acme_status acme_client_new(acme_client** out,
                            const acme_client_options* options)
{
    if (out == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    *out = new (std::nothrow) acme_client();
    if (*out == nullptr)
        return ACME_E_OUT_OF_MEMORY;

    acme_client* client = *out;
    acme_status status = guarded(client, [&] {
        acme_client_options defaults = ACME_CLIENT_OPTIONS_INIT;
        acme_client_options opts = read_options(options, defaults);
        require(opts.directory_url != nullptr, "directory_url is NULL");

        // Checked here, not only by a transport, so that every build
        // reports an unreadable CA file the same way.
        if (opts.ca_file != nullptr && !std::ifstream(opts.ca_file).good())
            throw acme::error(acme::status::io_error,
                              std::string("cannot read CA file ") +
                                  opts.ca_file);
        auto builtin = std::make_unique<acme::mbedtls_crypto>();
        if (opts.crypto != nullptr) {
            acme_crypto defaults_k = ACME_CRYPTO_INIT;
            acme_crypto table = read_options(opts.crypto, defaults_k);
            client->crypto = std::make_shared<acme::capi::host_crypto>(
                table, std::move(builtin));
        } else {
            client->crypto = std::move(builtin);
        }
        if (opts.transport != nullptr) {
            acme_transport defaults_t = ACME_TRANSPORT_INIT;
            acme_transport table = read_options(opts.transport, defaults_t);
            require(table.send != nullptr, "transport->send is NULL");
            client->transport =
                std::make_unique<acme::capi::host_transport>(table);
        } else {
            client->transport = make_transport(opts);
        }
        if (opts.clock != nullptr) {
            acme_clock defaults_c = ACME_CLOCK_INIT;
            acme_clock table = read_options(opts.clock, defaults_c);
            require(table.now_ms != nullptr && table.sleep_until_ms != nullptr,
                    "clock->now_ms and clock->sleep_until_ms are needed");
            client->host_time = std::make_unique<acme::capi::host_clock>(table);
            client->clock = client->host_time.get();
        }
        if (opts.log != nullptr)
            client->logger = std::make_unique<c_logger>(opts.log, opts.log_user,
                                                        opts.max_log_level);

        acme::services svc{client->transport.get(), client->crypto.get(),
                           client->clock, client->logger.get()};
        client->core = std::make_unique<acme::client>(opts.directory_url, svc);
    });
    if (status != ACME_OK)
        client->open_error = client->last_error;
    return status;
}

void acme_client_free(acme_client* client)
{
    delete client;
}

const char* acme_client_last_error(const acme_client* client)
{
    return client == nullptr ? "" : client->last_error.c_str();
}

const acme_problem* acme_client_last_problem(const acme_client* client)
{
    if (client == nullptr || !client->last_problem)
        return nullptr;
    return &*client->last_problem;
}

int64_t acme_client_last_retry_after(const acme_client* client)
{
    return client == nullptr ? 0 : client->last_retry_after;
}

acme_status acme_client_fetch_directory(acme_client* client)
{
    if (client == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    return guarded(client, [&] {
        require_open(client);
        const acme::directory& dir = client->core->get_directory();
        client->terms_of_service = dir.terms_of_service;
        client->profiles = dir.profiles;
    });
}

const char* acme_client_terms_of_service(const acme_client* client)
{
    if (client == nullptr || client->terms_of_service.empty())
        return nullptr;
    return client->terms_of_service.c_str();
}

const char* acme_problem_type(const acme_problem* problem)
{
    return problem == nullptr ? "" : problem->value.type.c_str();
}

const char* acme_problem_detail(const acme_problem* problem)
{
    return problem == nullptr ? "" : problem->value.detail.c_str();
}

const char* acme_problem_instance(const acme_problem* problem)
{
    return problem == nullptr ? "" : problem->value.instance.c_str();
}

int acme_problem_http_status(const acme_problem* problem)
{
    return problem == nullptr ? 0 : problem->value.http_status;
}

size_t acme_problem_subproblem_count(const acme_problem* problem)
{
    return problem == nullptr ? 0 : problem->value.subproblems.size();
}

const char* acme_problem_subproblem_type(const acme_problem* problem,
                                         size_t index)
{
    const acme::subproblem* sub = subproblem_at(problem, index);
    return sub == nullptr ? "" : sub->type.c_str();
}

const char* acme_problem_subproblem_detail(const acme_problem* problem,
                                           size_t index)
{
    const acme::subproblem* sub = subproblem_at(problem, index);
    return sub == nullptr ? "" : sub->detail.c_str();
}

const char* acme_problem_subproblem_identifier(const acme_problem* problem,
                                               size_t index)
{
    const acme::subproblem* sub = subproblem_at(problem, index);
    return sub == nullptr || !sub->id ? "" : sub->id->value.c_str();
}

acme_status acme_key_generate(acme_key** out, acme_client* client,
                              acme_key_type type)
{
    if (out == nullptr || client == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    *out = nullptr;
    return guarded(client, [&] {
        require_open(client);
        auto key = std::make_unique<acme_key>();
        key->provider = client->crypto;
        key->key = client->crypto->generate_key(to_key_type(type));
        *out = key.release();
    });
}

acme_status acme_key_load_pem(acme_key** out, acme_client* client,
                              const char* pem, size_t pem_length)
{
    if (out == nullptr || client == nullptr || pem == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    *out = nullptr;
    return guarded(client, [&] {
        require_open(client);
        auto key = std::make_unique<acme_key>();
        key->provider = client->crypto;
        key->key = client->crypto->load_key_pem({pem, pem_length});
        *out = key.release();
    });
}

acme_status acme_key_export_pem(char** out, size_t* out_length,
                                acme_client* client, const acme_key* key)
{
    if (out == nullptr || client == nullptr || key == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    *out = nullptr;
    return guarded(client, [&] {
        require_open(client);
        acme::secret_bytes pem = key->provider->export_key_pem(*key->key);
        *out = copy_secret(pem);
        if (out_length != nullptr)
            *out_length = pem.size();
    });
}

void acme_key_free(acme_key* key)
{
    delete key;
}

void acme_secret_free(char* secret)
{
    if (secret == nullptr)
        return;
    acme::secure_wipe(secret, std::strlen(secret));
    std::free(secret);
}

acme_status acme_account_register(acme_client* client, const acme_key* key,
                                  const acme_account_options* options)
{
    if (client == nullptr || key == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    return guarded(client, [&] {
        require_open(client);
        require(key->provider == client->crypto,
                "the key was made by another client");
        acme::new_account_options account_opts = read_account_options(options);
        client->account_url.clear();
        client->account.reset();
        client->account_created = false;
        remember(client, client->core->new_account(*key->key, account_opts));
    });
}

acme_status acme_file_storage_new(acme_storage** out, const char* root)
{
    if (out == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    *out = nullptr;
    if (root == nullptr || root[0] == '\0')
        return ACME_E_INVALID_ARGUMENT;
    return guarded(nullptr, [&] {
        auto storage = std::make_unique<acme_storage>();
        storage->store = std::make_unique<acme::file_storage>(root);
        *out = storage.release();
    });
}

acme_status acme_storage_new_callbacks(acme_storage** out,
                                       const acme_storage_callbacks* callbacks)
{
    if (out == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    *out = nullptr;
    return guarded(nullptr, [&] {
        acme_storage_callbacks defaults = ACME_STORAGE_CALLBACKS_INIT;
        acme_storage_callbacks table = read_options(callbacks, defaults);
        require(table.get != nullptr && table.put != nullptr &&
                    table.remove != nullptr && table.list != nullptr,
                "storage callbacks: get, put, remove and list are needed");
        auto storage = std::make_unique<acme_storage>();
        storage->store = std::make_unique<acme::capi::host_storage>(table);
        *out = storage.release();
    });
}

void acme_storage_free(acme_storage* storage)
{
    delete storage;
}

acme_status acme_account_open(acme_client* client, acme_storage* storage,
                              acme_key_type key_type,
                              const acme_account_options* options)
{
    if (client == nullptr || storage == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    return guarded(client, [&] {
        require_open(client);
        acme::new_account_options account_opts;
        if (options != nullptr)
            account_opts = read_account_options(options);
        acme::key_type type = to_key_type(key_type);

        client->account_url.clear();
        client->account.reset();
        client->account_created = false;
        acme::opened_account opened = acme::open_account(
            *client->core, *storage->store, type, account_opts);
        client->stored_account_key = std::move(opened.key);
        client->account_created = opened.created;
        remember(client, std::move(opened.info));
    });
}

acme_status acme_account_forget(acme_client* client, acme_storage* storage)
{
    if (client == nullptr || storage == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    return guarded(client, [&] {
        require_open(client);
        acme::forget_account(*client->core, *storage->store);
    });
}

int acme_client_account_created(const acme_client* client)
{
    return client != nullptr && client->account_created ? 1 : 0;
}

acme_status acme_account_rollover(acme_client* client, acme_storage* storage,
                                  acme_key_type key_type)
{
    if (client == nullptr || storage == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    return guarded(client, [&] {
        require_open(client);
        require(client->stored_account_key != nullptr,
                "no account opened from storage: call acme_account_open()");
        acme::key_type type = to_key_type(key_type);
        acme::opened_account opened;
        opened.key = std::move(client->stored_account_key);
        try {
            acme::rollover_account(*client->core, *storage->store, opened,
                                   type);
        } catch (...) {
            // The core signs with whichever key it holds: keep it alive.
            client->stored_account_key = std::move(opened.key);
            throw;
        }
        client->stored_account_key = std::move(opened.key);
    });
}

acme_status acme_account_fetch(acme_client* client)
{
    if (client == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    return guarded(client, [&] {
        require_open(client);
        remember(client, client->core->fetch_account());
    });
}

acme_status acme_account_update(acme_client* client,
                                const char* const* contacts,
                                size_t contact_count)
{
    if (client == nullptr || (contact_count > 0 && contacts == nullptr))
        return ACME_E_INVALID_ARGUMENT;
    return guarded(client, [&] {
        require_open(client);
        std::vector<std::string> list;
        for (size_t i = 0; i < contact_count; ++i) {
            require(contacts[i] != nullptr, "a contact is NULL");
            list.emplace_back(contacts[i]);
        }
        remember(client, client->core->update_account(list));
    });
}

acme_status acme_account_change_key(acme_client* client,
                                    const acme_key* new_key)
{
    if (client == nullptr || new_key == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    return guarded(client, [&] {
        require_open(client);
        require(new_key->provider == client->crypto,
                "the key was made by another client");
        client->core->change_account_key(*new_key->key);
    });
}

acme_status acme_account_deactivate(acme_client* client)
{
    if (client == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    return guarded(client, [&] {
        require_open(client);
        remember(client, client->core->deactivate_account());
    });
}

const char* acme_client_account_status(const acme_client* client)
{
    if (client == nullptr || !client->account ||
        client->account->status.empty())
        return nullptr;
    return client->account->status.c_str();
}

size_t acme_client_account_contact_count(const acme_client* client)
{
    return client == nullptr || !client->account
               ? 0
               : client->account->contact.size();
}

const char* acme_client_account_contact(const acme_client* client, size_t index)
{
    if (client == nullptr || !client->account ||
        index >= client->account->contact.size())
        return nullptr;
    return client->account->contact[index].c_str();
}

acme_status acme_certificate_revoke(acme_client* client, const char* pem,
                                    size_t pem_length, int reason,
                                    const acme_key* certificate_key)
{
    if (client == nullptr || pem == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    return guarded(client, [&] {
        require_open(client);
        std::optional<acme::revocation_reason> why;
        if (reason != ACME_REVOKE_NO_REASON) {
            require(reason == 0 || reason == 1 || (reason >= 3 && reason <= 5),
                    "unknown revocation reason");
            why = static_cast<acme::revocation_reason>(reason);
        }
        client->core->revoke_certificate(
            std::string(pem, pem_length), why,
            certificate_key ? certificate_key->key.get() : nullptr);
    });
}

const char* acme_client_account_url(const acme_client* client)
{
    if (client == nullptr || client->account_url.empty())
        return nullptr;
    return client->account_url.c_str();
}

const char* acme_step_name(acme_step step)
{
    return acme::to_string(static_cast<acme::issue_step>(raw_value(step)));
}

acme_status acme_certificate_issue(acme_certificate** out, acme_client* client,
                                   const acme_issue_options* options)
{
    if (out == nullptr || client == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    *out = nullptr;
    return guarded(client, [&] {
        require_open(client);
        acme_issue_options defaults = ACME_ISSUE_OPTIONS_INIT;
        acme_issue_options opts = read_options(options, defaults);
        acme::issue_request request = read_issue_request(opts);
        solver_set solvers = make_solver(opts, *client);
        acme::issued_certificate issued =
            acme::issue_certificate(*client->core, request, *solvers.solver);
        *out =
            wrap_certificate(*client, std::move(issued), request.names.front())
                .release();
    });
}

acme_status acme_issuance_new(acme_issuance** out, acme_client* client,
                              acme_storage* storage,
                              const acme_issue_options* options)
{
    if (out == nullptr || client == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    *out = nullptr;
    return guarded(client, [&] {
        require_open(client);
        acme_issue_options defaults = ACME_ISSUE_OPTIONS_INIT;
        acme_issue_options opts = read_options(options, defaults);
        acme::issue_request request = read_issue_request(opts);
        int challenge = raw_value(opts.challenge);
        require(challenge == ACME_CHALLENGE_HTTP_01 ||
                    challenge == ACME_CHALLENGE_DNS_01,
                "unknown challenge type");
        std::string type =
            challenge == ACME_CHALLENGE_DNS_01 ? "dns-01" : "http-01";

        auto issuance = std::make_unique<acme_issuance>();
        issuance->client = client;
        issuance->name = request.names.front();
        issuance->driver = std::make_unique<acme::issuance_driver>(
            *client->core, std::move(request), std::vector<std::string>{type},
            storage != nullptr ? storage->store.get() : nullptr);
        *out = issuance.release();
    });
}

acme_status acme_issuance_step(acme_issuance* issuance, acme_next* next,
                               int64_t* when_ms)
{
    if (issuance == nullptr || next == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    *next = ACME_NEXT_FAILED;
    return guarded(issuance->client, [&] {
        acme::step_outcome outcome = issuance->driver->step();
        issuance->solve = std::move(outcome.solve);
        issuance->release = std::move(outcome.release);
        if (when_ms != nullptr)
            *when_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           outcome.when.time_since_epoch())
                           .count();
        switch (outcome.what) {
        case acme::next_step::solve: *next = ACME_NEXT_SOLVE; break;
        case acme::next_step::wait: *next = ACME_NEXT_WAIT; break;
        case acme::next_step::done: *next = ACME_NEXT_DONE; break;
        case acme::next_step::failed: throw *outcome.failure;
        }
    });
}

acme_status acme_issuance_challenges_presented(acme_issuance* issuance)
{
    if (issuance == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    return guarded(issuance->client,
                   [&] { issuance->driver->challenges_presented(); });
}

size_t acme_issuance_challenge_count(const acme_issuance* issuance)
{
    return issuance == nullptr ? 0 : issuance->solve.size();
}

size_t acme_issuance_release_count(const acme_issuance* issuance)
{
    return issuance == nullptr ? 0 : issuance->release.size();
}

const char* acme_issuance_challenge_type(const acme_issuance* issuance,
                                         int released, size_t index)
{
    const acme::challenge_task* task = task_at(issuance, released, index);
    return task == nullptr ? nullptr : task->type.c_str();
}

const char* acme_issuance_challenge_identifier(const acme_issuance* issuance,
                                               int released, size_t index)
{
    const acme::challenge_task* task = task_at(issuance, released, index);
    return task == nullptr ? nullptr : task->identifier.c_str();
}

int acme_issuance_challenge_wildcard(const acme_issuance* issuance,
                                     int released, size_t index)
{
    const acme::challenge_task* task = task_at(issuance, released, index);
    return task != nullptr && task->wildcard ? 1 : 0;
}

const char* acme_issuance_challenge_token(const acme_issuance* issuance,
                                          int released, size_t index)
{
    const acme::challenge_task* task = task_at(issuance, released, index);
    return task == nullptr ? nullptr : task->token.c_str();
}

const char*
acme_issuance_challenge_key_authorization(const acme_issuance* issuance,
                                          int released, size_t index)
{
    const acme::challenge_task* task = task_at(issuance, released, index);
    return task == nullptr ? nullptr : task->key_authorization.c_str();
}

const char* acme_issuance_challenge_dns_value(const acme_issuance* issuance,
                                              int released, size_t index)
{
    const acme::challenge_task* task = task_at(issuance, released, index);
    return task == nullptr || task->dns_value.empty() ? nullptr
                                                      : task->dns_value.c_str();
}

const char* acme_issuance_order_url(const acme_issuance* issuance)
{
    return issuance == nullptr || issuance->driver->order_url().empty()
               ? nullptr
               : issuance->driver->order_url().c_str();
}

int acme_issuance_resumed(const acme_issuance* issuance)
{
    return issuance != nullptr && issuance->driver->resumed() ? 1 : 0;
}

acme_status acme_issuance_take(acme_certificate** out, acme_issuance* issuance)
{
    if (out == nullptr || issuance == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    *out = nullptr;
    return guarded(issuance->client, [&] {
        *out = wrap_certificate(*issuance->client,
                                issuance->driver->take_certificate(),
                                issuance->name)
                   .release();
    });
}

void acme_issuance_free(acme_issuance* issuance)
{
    delete issuance;
}

acme_status acme_certificate_renew(acme_certificate** out, acme_client* client,
                                   acme_storage* storage,
                                   const acme_issue_options* options,
                                   unsigned flags)
{
    if (out == nullptr || client == nullptr || storage == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    *out = nullptr;
    return guarded(client, [&] {
        require_open(client);
        acme_issue_options defaults = ACME_ISSUE_OPTIONS_INIT;
        acme_issue_options opts = read_options(options, defaults);
        require(opts.csr == nullptr,
                "a certificate from a CSR has no key to store: use "
                "acme_certificate_issue()");
        require((flags & ~ACME_RENEW_FORCE) == 0, "unknown flags");
        acme::issue_request request = read_issue_request(opts);
        std::string name = request.names.front();
        solver_set solvers = make_solver(opts, *client);
        std::optional<acme::issued_certificate> issued =
            acme::renew_certificate(
                *client->core, *storage->store, std::move(request),
                *solvers.solver, (flags & ACME_RENEW_FORCE) != 0, random_64());
        if (issued)
            *out =
                wrap_certificate(*client, std::move(*issued), name).release();
    });
}

acme_status acme_renewal_check(acme_renewal** out, acme_client* client,
                               acme_storage* storage, const char* name)
{
    if (out == nullptr || storage == nullptr || name == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    *out = nullptr;
    return guarded(client, [&] {
        auto renewal = std::make_unique<acme_renewal>();
        if (client != nullptr) {
            require_open(client);
            renewal->plan = acme::plan_renewal(*client->core, *storage->store,
                                               name, random_64());
        } else {
            acme::mbedtls_crypto keys;
            acme::system_clock time;
            renewal->plan =
                acme::plan_renewal_offline(*storage->store, keys, time, name);
        }
        renewal->names = renewal->plan.leaf.dns_names;
        *out = renewal.release();
    });
}

int acme_renewal_stored(const acme_renewal* renewal)
{
    return renewal != nullptr && renewal->plan.stored ? 1 : 0;
}

int acme_renewal_due(const acme_renewal* renewal)
{
    return renewal != nullptr && renewal->plan.due ? 1 : 0;
}

int64_t acme_renewal_time(const acme_renewal* renewal)
{
    return renewal == nullptr ? 0 : renewal->plan.renew_at;
}

int64_t acme_renewal_next_check(const acme_renewal* renewal)
{
    return renewal == nullptr ? 0 : renewal->plan.next_check;
}

int64_t acme_renewal_not_after(const acme_renewal* renewal)
{
    return renewal == nullptr ? 0 : renewal->plan.leaf.not_after;
}

const char* acme_renewal_reason(const acme_renewal* renewal)
{
    return renewal == nullptr ? "" : renewal->plan.reason.c_str();
}

const char* acme_renewal_explanation_url(const acme_renewal* renewal)
{
    return renewal == nullptr || renewal->plan.explanation_url.empty()
               ? nullptr
               : renewal->plan.explanation_url.c_str();
}

int acme_renewal_failures(const acme_renewal* renewal)
{
    return renewal == nullptr ? 0 : renewal->plan.state.failures;
}

size_t acme_renewal_name_count(const acme_renewal* renewal)
{
    return renewal == nullptr ? 0 : renewal->names.size();
}

const char* acme_renewal_name(const acme_renewal* renewal, size_t index)
{
    return renewal == nullptr || index >= renewal->names.size()
               ? nullptr
               : renewal->names[index].c_str();
}

void acme_renewal_free(acme_renewal* renewal)
{
    delete renewal;
}

acme_status acme_storage_list_certificates(acme_storage* storage, size_t* count)
{
    if (storage == nullptr || count == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    *count = 0;
    return guarded(nullptr, [&] {
        storage->listed = acme::stored_certificate_names(*storage->store);
        *count = storage->listed.size();
    });
}

const char* acme_storage_certificate_name(const acme_storage* storage,
                                          size_t index)
{
    return storage == nullptr || index >= storage->listed.size()
               ? nullptr
               : storage->listed[index].c_str();
}

size_t acme_client_profile_count(const acme_client* client)
{
    return client == nullptr ? 0 : client->profiles.size();
}

const char* acme_client_profile_name(const acme_client* client, size_t index)
{
    return client == nullptr || index >= client->profiles.size()
               ? nullptr
               : client->profiles[index].first.c_str();
}

const char* acme_client_profile_description(const acme_client* client,
                                            size_t index)
{
    return client == nullptr || index >= client->profiles.size()
               ? nullptr
               : client->profiles[index].second.c_str();
}

acme_status acme_check_domain_name(acme_client* client, const char* name)
{
    if (client == nullptr || name == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    return guarded(client, [&] { acme::validate_dns_name(name); });
}

const char* acme_certificate_chain_pem(const acme_certificate* certificate)
{
    return certificate == nullptr ? nullptr : certificate->chain_pem.c_str();
}

const char* acme_certificate_url(const acme_certificate* certificate)
{
    return certificate == nullptr ? nullptr : certificate->url.c_str();
}

const acme_key* acme_certificate_key(const acme_certificate* certificate)
{
    return certificate == nullptr || certificate->key.key == nullptr
               ? nullptr
               : &certificate->key;
}

acme_status acme_certificate_save(acme_client* client, acme_storage* storage,
                                  acme_certificate* certificate)
{
    if (client == nullptr || storage == nullptr || certificate == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    return guarded(client, [&] {
        require(certificate->key.key != nullptr,
                "a certificate issued from a CSR has no key to store");
        acme::secret_bytes key_pem =
            certificate->key.provider->export_key_pem(*certificate->key.key);
        certificate->folder =
            acme::save_certificate(*storage->store, certificate->name, key_pem,
                                   certificate->chain_pem);
    });
}

acme_status acme_certificate_load(acme_certificate** out, acme_client* client,
                                  acme_storage* storage, const char* name)
{
    if (out == nullptr || client == nullptr || storage == nullptr ||
        name == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    *out = nullptr;
    return guarded(client, [&] {
        require_open(client);
        std::optional<acme::stored_certificate> stored =
            acme::load_certificate(*storage->store, *client->crypto, name);
        if (!stored)
            return;
        auto cert = std::make_unique<acme_certificate>();
        cert->chain_pem = std::move(stored->chain_pem);
        cert->name = name;
        cert->folder = std::move(stored->folder);
        cert->key.provider = client->crypto;
        cert->key.key = std::move(stored->key);
        *out = cert.release();
    });
}

const char* acme_certificate_folder(const acme_certificate* certificate)
{
    return certificate == nullptr || certificate->folder.empty()
               ? nullptr
               : certificate->folder.c_str();
}

void acme_certificate_free(acme_certificate* certificate)
{
    delete certificate;
}

} // extern "C"
