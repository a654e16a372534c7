// The order in flight for a certificate, kept in storage so that a device
// that restarts mid-issuance continues the same order instead of placing
// a new one: certificates/<name>/order.json and, from just before
// finalize, the certificate key as certificates/<name>/order.key.
#pragma once

#include <acmekit/secret.hpp>
#include <acmekit/storage.hpp>

#include <optional>
#include <string>
#include <vector>

namespace acme::detail {

struct order_state {
    std::string url;
    std::vector<std::string> names;
};

/// The stored order for the certificate named name, or nothing when none
/// is stored or what is stored does not parse (it is then removed).
std::optional<order_state> load_order_state(storage& store,
                                            const std::string& name);

void save_order_state(storage& store, const std::string& name,
                      const order_state& state);

std::optional<secret_bytes> load_order_key(storage& store,
                                           const std::string& name);
void save_order_key(storage& store, const std::string& name,
                    const secret_bytes& key_pem);

/// Forgets the order and its key.
void clear_order_state(storage& store, const std::string& name);

} // namespace acme::detail
