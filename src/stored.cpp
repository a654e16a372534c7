#include <acmekit/problem.hpp>
#include <acmekit/stored.hpp>

#include "detail/order_state.hpp"
#include "detail/session.hpp"

#include <boost/json.hpp>

#include <fmt/format.h>

#include <cctype>

namespace acme {

namespace {

constexpr std::size_t max_folder_segment = 240;
constexpr std::uint32_t max_generation = 999999999;

// Keeps letters, digits, '.', '-' and '_'; anything else becomes '_', so
// the result is one valid storage segment.
std::string storage_segment(std::string_view text)
{
    std::string segment;
    for (char c : text) {
        unsigned char u = static_cast<unsigned char>(c);
        bool kept = std::isalnum(u) || c == '.' || c == '-' || c == '_';
        segment.push_back(kept ? static_cast<char>(std::tolower(u)) : '_');
    }
    while (!segment.empty() && segment.front() == '.')
        segment.front() = '_';

    // Cut to fit one file name, with a digest of the whole text so that
    // two long texts that share their start stay apart (FNV-1a).
    if (segment.size() > max_folder_segment) {
        std::uint64_t digest = 0xcbf29ce484222325u;
        for (char c : text) {
            digest ^= static_cast<unsigned char>(c);
            digest *= 0x100000001b3u;
        }
        segment.resize(max_folder_segment - 17);
        segment += fmt::format("-{:016x}", digest);
    }
    return segment;
}

std::string text_of(const secret_bytes& value)
{
    return std::string(reinterpret_cast<const char*>(value.data()),
                       value.size());
}

secret_bytes bytes_of(std::string_view text)
{
    return secret_bytes(reinterpret_cast<const std::uint8_t*>(text.data()),
                        text.size());
}

// "g7" is generation 7; anything else is not a generation name.
std::optional<std::uint32_t> generation_number(std::string_view name)
{
    if (name.size() < 2 || name.size() > 10 || name.front() != 'g')
        return std::nullopt;
    std::uint32_t number = 0;
    for (char c : name.substr(1)) {
        if (c < '0' || c > '9')
            return std::nullopt;
        number = number * 10 + static_cast<std::uint32_t>(c - '0');
    }
    return number;
}

std::string last_segment(const std::string& name)
{
    std::size_t slash = name.rfind('/');
    return slash == std::string::npos ? name : name.substr(slash + 1);
}

// The generation "current" names, or nothing when none is stored yet.
std::optional<std::uint32_t> current_generation(storage& store,
                                                const std::string& folder)
{
    std::optional<secret_bytes> current = store.get(folder + "/current");
    if (!current)
        return std::nullopt;
    std::string text = text_of(*current);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
        text.pop_back();
    auto number = generation_number(text);
    if (!number)
        throw error(
            status::io_error,
            fmt::format("{}/current does not name a generation", folder));
    return number;
}

void remove_generation(storage& store, const std::string& generation)
{
    store.remove(generation + "/certificate.key");
    store.remove(generation + "/fullchain.pem");
}

// Keeps the current generation and the one before it; anything else is
// old, or was written by a run that stopped before switching to it.
void prune_generations(storage& store, const std::string& folder,
                       std::uint32_t current,
                       std::optional<std::uint32_t> previous)
{
    // Best effort: the new generation is in place already, and a
    // generation that cannot be removed (a link planted there, say) is
    // left rather than failing the save.
    try {
        for (const std::string& name : store.list(folder)) {
            auto number = generation_number(last_segment(name));
            if (number && *number != current && number != previous)
                remove_generation(store, name);
        }
    } catch (const error&) {
    }
}

} // namespace

std::string account_folder(std::string_view directory_url)
{
    std::size_t scheme = directory_url.find("://");
    if (scheme != std::string_view::npos)
        directory_url.remove_prefix(scheme + 3);
    if (directory_url.empty())
        throw error(status::invalid_argument, "no directory URL");
    return "accounts/" + storage_segment(directory_url);
}

std::string certificate_folder(std::string_view name)
{
    validate_dns_name(std::string(name));
    std::string segment = name.rfind("*.", 0) == 0
                              ? "_." + storage_segment(name.substr(2))
                              : storage_segment(name);
    return "certificates/" + segment;
}

namespace {

// The account the CA knows for key, or nothing when it knows none.
std::optional<account> look_up(client& acme_client, const private_key& key)
{
    new_account_options lookup;
    lookup.only_return_existing = true;
    try {
        return acme_client.new_account(key, lookup);
    } catch (const error& failure) {
        if (failure.code() != status::server_account_does_not_exist)
            throw;
    }
    return std::nullopt;
}

// A rollover cut short left account.key.next: the CA took the new key if
// it finds the account by it; otherwise the old key is still the one.
void finish_rollover(client& acme_client, storage& store,
                     const std::string& folder, std::string& key_text)
{
    std::optional<secret_bytes> next = store.get(folder + "/account.key.next");
    if (!next)
        return;
    crypto& keys = *acme_client.used_services().keys;
    std::unique_ptr<private_key> next_key = keys.load_key_pem(text_of(*next));
    if (look_up(acme_client, *next_key)) {
        store.put(folder + "/account.key", *next, true);
        key_text = text_of(*next);
    }
    store.remove(folder + "/account.key.next");
}

} // namespace

opened_account open_account(client& acme_client, storage& store, key_type type,
                            const new_account_options& options)
{
    std::string folder = account_folder(acme_client.directory_url());
    crypto& keys = *acme_client.used_services().keys;
    opened_account result;

    std::optional<secret_bytes> key_pem = store.get(folder + "/account.key");
    std::optional<secret_bytes> url = store.get(folder + "/account.url");
    if (key_pem && url && !url->empty()) {
        std::string key_text = text_of(*key_pem);
        finish_rollover(acme_client, store, folder, key_text);
        result.key = keys.load_key_pem(key_text);
        result.info.url = text_of(*url);
        acme_client.use_account(*result.key, result.info.url);
        return result;
    }

    // A stored key with no URL belongs to a run that stopped between the
    // two writes: the CA may know the key already.
    if (key_pem) {
        result.key = keys.load_key_pem(text_of(*key_pem));
        if (options.only_return_existing)
            result.info = acme_client.new_account(*result.key, options);
        else if (auto found = look_up(acme_client, *result.key))
            result.info = std::move(*found);
    }

    if (result.info.url.empty() && options.only_return_existing)
        throw error(status::server_account_does_not_exist,
                    fmt::format("no account for {} is stored in {}",
                                detail::printable(acme_client.directory_url()),
                                folder));
    if (result.info.url.empty()) {
        const directory& dir = acme_client.get_directory();
        if (!dir.terms_of_service.empty() && !options.terms_of_service_agreed)
            throw error(status::terms_not_agreed,
                        fmt::format("the CA asks to agree to its terms of "
                                    "service at {} before an account is "
                                    "made",
                                    detail::printable(dir.terms_of_service)));
        if (!result.key)
            result.key = keys.generate_key(type);
        result.info = acme_client.new_account(*result.key, options);
        result.created = true;
    }

    // The key goes first: a key without a URL is found again above, a URL
    // without its key would be useless.
    if (!key_pem)
        store.put(folder + "/account.key", keys.export_key_pem(*result.key),
                  true);
    store.put(folder + "/account.url", bytes_of(result.info.url), false);
    return result;
}

void rollover_account(client& acme_client, storage& store,
                      opened_account& account, key_type type)
{
    std::string folder = account_folder(acme_client.directory_url());
    crypto& keys = *acme_client.used_services().keys;
    std::unique_ptr<private_key> next_key = keys.generate_key(type);
    secret_bytes next_pem = keys.export_key_pem(*next_key);

    store.put(folder + "/account.key.next", next_pem, true);
    acme_client.change_account_key(*next_key);
    account.key = std::move(next_key);
    store.put(folder + "/account.key", next_pem, true);
    store.remove(folder + "/account.key.next");
}

void forget_account(client& acme_client, storage& store)
{
    std::string folder = account_folder(acme_client.directory_url());
    store.remove(folder + "/account.url");
    store.remove(folder + "/account.key.next");
    store.remove(folder + "/account.key");
}

std::string save_certificate(storage& store, std::string_view name,
                             const secret_bytes& key_pem,
                             const std::string& chain_pem)
{
    std::string folder = certificate_folder(name);

    // A damaged "current" must not stop the next certificate: the new
    // generation goes past every one there is, and the pointer is
    // rewritten whole.
    std::optional<std::uint32_t> previous;
    try {
        previous = current_generation(store, folder);
    } catch (const error&) {
    }
    std::uint32_t next = previous ? *previous + 1 : 1;
    for (const std::string& entry : store.list(folder))
        if (auto number = generation_number(last_segment(entry));
            number && *number >= next && *number < max_generation)
            next = *number + 1;
    if (next > max_generation)
        next = 1;
    std::string generation = fmt::format("{}/g{}", folder, next);

    // Written in full and synced before anything points at it.
    store.put(generation + "/certificate.key", key_pem, true);
    store.put(generation + "/fullchain.pem", bytes_of(chain_pem), false);

    store.put(folder + "/current", bytes_of(fmt::format("g{}\n", next)), false);
    prune_generations(store, folder, next, previous);
    return generation;
}

std::optional<stored_certificate> load_certificate(storage& store, crypto& keys,
                                                   std::string_view name)
{
    std::string folder = certificate_folder(name);
    std::optional<std::uint32_t> current = current_generation(store, folder);
    if (!current)
        return std::nullopt;
    std::string generation = fmt::format("{}/g{}", folder, *current);

    std::optional<secret_bytes> key_pem =
        store.get(generation + "/certificate.key");
    std::optional<secret_bytes> chain =
        store.get(generation + "/fullchain.pem");
    if (!key_pem || !chain)
        throw error(status::io_error,
                    fmt::format("{} is incomplete: its key or its chain is "
                                "missing",
                                generation));

    stored_certificate result;
    result.key = keys.load_key_pem(text_of(*key_pem));
    result.chain_pem = text_of(*chain);
    result.folder = generation;
    std::vector<certificate_info> parsed = keys.parse_chain(result.chain_pem);
    if (parsed.front().key != keys.jwk(*result.key))
        throw error(status::io_error,
                    fmt::format("{}: the key does not match the certificate",
                                generation));
    return result;
}

} // namespace acme

namespace acme::detail {

std::optional<order_state> load_order_state(storage& store,
                                            const std::string& name)
{
    std::string path = certificate_folder(name) + "/order.json";

    // Whatever a torn or foreign write left is dropped: the worst case is
    // one new order, never a crash or a loop over a broken file.
    try {
        std::optional<secret_bytes> stored = store.get(path);
        if (!stored)
            return std::nullopt;
        boost::json::value parsed = boost::json::parse(text_of(*stored));
        const boost::json::object& obj = parsed.as_object();
        order_state state;
        state.url = std::string(obj.at("url").as_string());
        for (const boost::json::value& n : obj.at("names").as_array())
            state.names.emplace_back(n.as_string());
        if (!state.url.empty() && !state.names.empty())
            return state;
    } catch (const std::exception&) {
    }
    clear_order_state(store, name);
    return std::nullopt;
}

void save_order_state(storage& store, const std::string& name,
                      const order_state& state)
{
    boost::json::array names;
    for (const std::string& n : state.names)
        names.emplace_back(n);
    boost::json::object obj{{"url", state.url}, {"names", std::move(names)}};
    store.put(certificate_folder(name) + "/order.json",
              bytes_of(boost::json::serialize(obj)), false);
}

std::optional<secret_bytes> load_order_key(storage& store,
                                           const std::string& name)
{
    return store.get(certificate_folder(name) + "/order.key");
}

void save_order_key(storage& store, const std::string& name,
                    const secret_bytes& key_pem)
{
    store.put(certificate_folder(name) + "/order.key", key_pem, true);
}

void clear_order_state(storage& store, const std::string& name)
{
    // The key first: an order.json without its key names an order whose
    // certificate was stored already, and is not resumed.
    std::string folder = certificate_folder(name);
    store.remove(folder + "/order.key");
    store.remove(folder + "/order.json");
}

} // namespace acme::detail
