// What acmekit keeps in a storage, and how it finds it again after a
// reboot. The names, under any acme::storage:
//
//   accounts/<ca>/account.key                 the account key (secret)
//   accounts/<ca>/account.url                 its URL at the CA
//   accounts/<ca>/account.key.next            a key rollover in progress
//   certificates/<name>/current               the generation in use: "g7"
//   certificates/<name>/g7/certificate.key    that generation's key (secret)
//   certificates/<name>/g7/fullchain.pem      and its chain, leaf first
//
// <ca> comes from the directory URL, <name> from the certificate's first
// domain name (see the functions below). A key and its chain change
// together: a new generation is written in full before the one-value
// "current" switches to it, so a power cut at any moment leaves the old
// pair or the new pair. The generation before the current one is kept for
// rollback; older ones are removed.
#pragma once

#include <acmekit/client.hpp>
#include <acmekit/storage.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace acme {

/// The storage folder for a CA's account: "accounts/" and the directory
/// URL without its scheme, every character other than letters, digits,
/// '.', '-' and '_' replaced by '_' ("accounts/acme-v02.api.letsencrypt.org
/// _directory"). Throws status::invalid_argument for an empty URL.
std::string account_folder(std::string_view directory_url);

/// The storage folder for the certificate whose first name is name:
/// "certificates/" and the name in lower case, a leading "*." written as
/// "_." (no DNS name can hold '_', so the two never meet). Throws
/// status::invalid_argument when name is not a valid DNS name.
std::string certificate_folder(std::string_view name);

/// An account in use on a client, with the key the client borrows.
struct opened_account {
    std::unique_ptr<private_key> key;
    account info;
    bool created = false; ///< registered by this call
};

/// Uses the account stored for the client's CA; with none stored, makes a
/// key of key_type, registers it with options and stores the key and the
/// URL. A stored key without a URL (a run cut short) is looked up at the
/// CA first and registered only if the CA does not know it. A new account
/// for a CA with terms of service needs options.terms_of_service_agreed,
/// or fails with status::terms_not_agreed before any account request.
/// With options.only_return_existing, nothing is registered: no stored
/// account fails with status::server_account_does_not_exist. The
/// returned key must outlive the client's use of the account.
opened_account open_account(client& acme_client, storage& store, key_type type,
                            const new_account_options& options);

/// Rolls the account in use over to a new key of key_type (RFC 8555
/// section 7.3.5) and stores it in place of the old one; account.key then
/// holds the new key. The new key is stored as account.key.next before the
/// CA hears of it, so a run cut short never loses the account:
/// open_account() finds out which key the CA took and keeps that one.
void rollover_account(client& acme_client, storage& store,
                      opened_account& account, key_type type);

/// Forgets the account stored for the client's CA (after deactivation),
/// so that the next open_account() registers a new one.
void forget_account(client& acme_client, storage& store);

/// Stores key_pem and chain_pem as the current certificate for the
/// certificate named name (its first domain name) and returns the storage
/// folder of the new generation ("certificates/<name>/g7").
std::string save_certificate(storage& store, std::string_view name,
                             const secret_bytes& key_pem,
                             const std::string& chain_pem);

/// A certificate as stored.
struct stored_certificate {
    std::unique_ptr<private_key> key;
    std::string chain_pem;
    std::string folder; ///< the generation, "certificates/<name>/g7"
};

/// The current certificate stored for name, or nothing when none is.
/// Throws status::io_error when the stored files are unreadable or do not
/// belong together.
std::optional<stored_certificate> load_certificate(storage& store, crypto& keys,
                                                   std::string_view name);

} // namespace acme
