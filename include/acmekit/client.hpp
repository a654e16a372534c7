// The ACME client: one per CA directory. It keeps its own nonce pool and
// account state, so several clients for different CAs can live in one
// process. A client is not safe to use from two threads at once.
#pragma once

#include <acmekit/clock.hpp>
#include <acmekit/crypto.hpp>
#include <acmekit/logger.hpp>
#include <acmekit/policy.hpp>
#include <acmekit/renewal.hpp>
#include <acmekit/resources.hpp>
#include <acmekit/solver.hpp>
#include <acmekit/transport.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace acme {

/// The services a client uses. The client borrows them: each must outlive
/// the client. logger may be null.
struct services {
    transport* http = nullptr;
    crypto* keys = nullptr;
    clock* time = nullptr;
    logger* log = nullptr;
};

/// External account binding (RFC 8555 section 7.3.4): the key id and MAC
/// key a CA such as ZeroSSL or Google Trust Services hands out.
struct external_account_binding {
    std::string key_id;
    secret_bytes hmac_key; ///< raw bytes, not base64
    hmac_algorithm algorithm = hmac_algorithm::sha256;
};

/// A binding from the key id and the MAC key as CAs hand it out: base64url
/// or standard base64, padded or not. algorithm is "HS256" (the default
/// when empty), "HS384" or "HS512". Throws status::invalid_argument.
external_account_binding
make_external_account_binding(std::string key_id,
                              std::string_view hmac_key_base64,
                              std::string_view algorithm = {});

struct new_account_options {
    std::vector<std::string> contact; ///< "mailto:" URIs
    /// Set only when the operator agreed to the directory's
    /// terms_of_service.
    bool terms_of_service_agreed = false;
    /// Required by CAs whose directory says externalAccountRequired.
    std::optional<external_account_binding> binding;
    /// Only find the account that exists for the key; never create one.
    bool only_return_existing = false;
};

/// Revocation reasons (RFC 5280 section 5.3.1) ACME servers accept.
enum class revocation_reason : int {
    unspecified = 0,
    key_compromise = 1,
    affiliation_changed = 3,
    superseded = 4,
    cessation_of_operation = 5,
};

/// What a newOrder request asks for (RFC 8555 section 7.4).
struct new_order_options {
    std::vector<identifier> identifiers;
    /// A profile from directory::profiles; empty asks for the default.
    std::string profile;
    /// The ARI identifier of the certificate this order replaces (RFC
    /// 9773 section 5); empty for a first certificate.
    std::string replaces;
};

/// A downloaded chain and the URLs of the alternates the CA offers
/// (Link: rel="alternate", RFC 8555 section 7.4.2).
struct certificate_chain {
    std::string pem;
    std::vector<std::string> alternates;
};

/// Result of one poll of a resource.
template <typename Resource>
struct polled {
    Resource resource;
    /// When the server asked to be polled again (Retry-After), if it did.
    std::optional<clock::time_point> retry_after;
};

namespace detail {
class session;
}

class storage;

class client {
public:
    client(std::string directory_url, services svc, retry_policy policy = {});
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    /// Fetches the directory on first use and returns it afterwards.
    const directory& get_directory();

    /// Registers (or finds, when the key is known) the account for key and
    /// uses it for every later request. The client borrows key.
    account new_account(const private_key& key,
                        const new_account_options& options);

    /// Uses an account already registered at url, signed with key.
    void use_account(const private_key& key, std::string url);

    /// The account in use, as the server now describes it (POST-as-GET).
    account fetch_account();

    /// Replaces the account's contact URIs (section 7.3.2).
    account update_account(const std::vector<std::string>& contact);

    /// Deactivates the account for good (section 7.3.6); the server
    /// refuses every later request signed by it.
    account deactivate_account();

    /// Rolls the account over to new_key (section 7.3.5) and uses it from
    /// then on. The client borrows new_key.
    void change_account_key(const private_key& new_key);

    /// Revokes a certificate (section 7.6), given as PEM (its first
    /// certificate is revoked). The request is signed by the account key,
    /// or by certificate_key, the certificate's own key, when given.
    void revoke_certificate(const std::string& certificate_pem,
                            std::optional<revocation_reason> reason,
                            const private_key* certificate_key = nullptr);

    order new_order(const std::vector<identifier>& identifiers);
    /// newOrder with a profile or the certificate it replaces.
    order place_order(const new_order_options& options);
    polled<order> fetch_order(const std::string& url);
    polled<authorization> fetch_authorization(const std::string& url);

    /// Tells the CA the challenge is ready to be validated.
    challenge respond_challenge(const std::string& url);

    /// Sends the CSR (DER) to the order's finalize URL.
    polled<order> finalize_order(const order& current, const bytes& csr_der);

    /// Downloads the PEM certificate chain.
    std::string download_certificate(const std::string& url);

    /// Downloads the PEM chain with the URLs of its alternates.
    certificate_chain download_certificate_chain(const std::string& url);

    /// The CA's suggested renewal window for the certificate with this
    /// ARI identifier (RFC 9773 section 4.2), an unsigned GET, with the
    /// response's Retry-After. Throws status::unsupported when the
    /// directory offers no renewalInfo.
    polled<renewal_window> fetch_renewal_info(const std::string& ari_id);

    /// The RFC 7638 thumbprint of the account key, base64url.
    std::string account_thumbprint();

    /// The directory URL the client was made for.
    const std::string& directory_url() const noexcept;

    /// The URL of the account in use; empty while there is none.
    const std::string& account_url() const noexcept;

    const retry_policy& policy() const noexcept;
    const services& used_services() const noexcept;

private:
    std::unique_ptr<detail::session> session_;
};

/// Steps of an issuance, reported to the progress callback as they start.
enum class issue_step {
    directory,
    account,
    order,
    challenge,
    validation,
    finalize,
    download,
    done,
};

const char* to_string(issue_step step) noexcept;

struct issue_request {
    std::vector<std::string> names; ///< DNS names, the first is the CN
    /// The type of the new key made for the certificate.
    key_type certificate_key = key_type::ec_p256;
    /// An existing key (PEM) to certify instead of a new one, for example
    /// to keep a key pinned by clients. Never the account key.
    secret_bytes existing_key_pem;
    /// A request made by the caller (PEM or DER), sent instead of one
    /// acmekit makes; its key stays with the caller, so the result holds
    /// none. The names must still be given: they are ordered, and the
    /// issued certificate must carry exactly them.
    bytes csr;
    /// A certificate profile the CA offers (directory::profiles).
    std::string profile;
    /// Fail when the CA lacks profile; otherwise its default is used.
    bool profile_required = false;
    /// The ARI identifier of the certificate being renewed (RFC 9773); a
    /// CA that refuses it gets the order again without it, once.
    std::string replaces;
    /// Prefer the chain whose top certificate's issuer has this common
    /// name among those the CA offers; the default chain otherwise.
    std::string preferred_chain;
    /// Called as each step starts, with a short description. May be empty.
    std::function<void(issue_step, const std::string&)> progress;
};

struct issued_certificate {
    std::unique_ptr<private_key> key; ///< null when the caller sent a CSR
    secret_bytes key_pem;             ///< empty when the caller sent a CSR
    std::string chain_pem;
    std::string order_url;
    std::string certificate_url;
    std::string profile;        ///< the profile asked for, if any
    std::string storage_folder; ///< where it was saved, if it was
};

/// Runs a whole issuance for an account already in use on the client:
/// order, every authorization solved together, validation, finalize with a
/// new certificate key (or the request's key or CSR), and download. Every
/// presented challenge is cleaned up, also on failure. The key and the CSR
/// are checked before any request: status::invalid_argument when they are
/// unusable, both given, or the account key. Throws acme::error.
/// With store, the order in flight is kept there and resumed by a later
/// call for the same names, and the certificate is saved there (see
/// acme::issuance_driver).
issued_certificate issue_certificate(client& acme_client,
                                     const issue_request& request,
                                     challenge_solver& solver,
                                     storage* store = nullptr);

/// Checks that name is a DNS name acmekit may request: LDH labels of 1 to
/// 63 characters, at most 253 in all, optionally starting with "*.".
/// Throws acme::error with status::invalid_argument when it is not.
void validate_dns_name(const std::string& name);

} // namespace acme
