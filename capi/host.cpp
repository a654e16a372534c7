#define ACMEKIT_BUILDING 1
#include "host.hpp"

#include <acmekit/csr.hpp>
#include <acmekit/problem.hpp>

#include <mbedtls/md.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace acme::capi {

namespace {

// The same bounds the built-in transport keeps: a host's HTTP stack may
// hand over whatever the server sent.
constexpr std::size_t max_body = 1024 * 1024;
constexpr std::size_t max_headers = 256;
constexpr std::size_t max_header_size = 8 * 1024;

// Keys, signatures and references to keys are far smaller.
constexpr std::size_t max_crypto_bytes = 64 * 1024;

void check(acme_status status, const char* what, const std::string& detail)
{
    if (status == ACME_OK)
        return;
    std::string message = std::string(what) + ": " +
                          (detail.empty() ? acme_strerror(status) : detail);
    throw error(static_cast<acme::status>(status), message);
}

// The C enum mirrors the C++ one value for value.
static_assert(ACME_KEY_EC_P256 == static_cast<int>(key_type::ec_p256) &&
                  ACME_KEY_EC_P384 == static_cast<int>(key_type::ec_p384) &&
                  ACME_KEY_RSA_2048 == static_cast<int>(key_type::rsa_2048) &&
                  ACME_KEY_RSA_3072 == static_cast<int>(key_type::rsa_3072) &&
                  ACME_KEY_RSA_4096 == static_cast<int>(key_type::rsa_4096),
              "acme_key_type and acme::key_type differ");

// A key the host holds; freed through its table once, when this goes.
class host_key final : public private_key {
public:
    host_key(const acme_crypto& table, void* handle)
        : table_(table), handle_(handle)
    {
        acme_bytes spki;
        check(table_.public_key(table_.user, handle_, &spki),
              "crypto public_key", "");
        spki_.assign(spki.value.data(), spki.value.data() + spki.value.size());
        info_ = read_public_key(spki_);
    }
    ~host_key() override { table_.free_key(table_.user, handle_); }
    host_key(const host_key&) = delete;
    host_key& operator=(const host_key&) = delete;

    key_type type() const noexcept override { return info_.type; }
    void* handle() const noexcept { return handle_; }
    const bytes& spki() const noexcept { return spki_; }
    const public_jwk& jwk() const noexcept { return info_.jwk; }

private:
    acme_crypto table_;
    void* handle_;
    bytes spki_;
    public_key_info info_;
};

const host_key& own_key(const private_key& key)
{
    const auto* own = dynamic_cast<const host_key*>(&key);
    if (own == nullptr)
        throw error(acme::status::invalid_argument,
                    "the key was not made by the host's crypto");
    return *own;
}

// Takes a handle the host just returned, so that it is freed even when
// reading its public key fails.
std::unique_ptr<private_key> adopt(const acme_crypto& table, void* handle)
{
    if (handle == nullptr)
        throw error(acme::status::crypto_error,
                    "crypto: the host's callback returned no key");
    struct guard {
        const acme_crypto& table;
        void* handle;
        ~guard()
        {
            if (handle != nullptr)
                table.free_key(table.user, handle);
        }
    } pending{table, handle};
    auto key = std::make_unique<host_key>(table, handle);
    pending.handle = nullptr;
    return key;
}

bytes md(mbedtls_md_type_t type, std::string_view data)
{
    const mbedtls_md_info_t* info = mbedtls_md_info_from_type(type);
    bytes out(info != nullptr ? mbedtls_md_get_size(info) : 0);
    if (info == nullptr ||
        mbedtls_md(info, reinterpret_cast<const unsigned char*>(data.data()),
                   data.size(), out.data()) != 0)
        throw error(acme::status::crypto_error, "hashing failed");
    return out;
}

std::size_t rsa_size(key_type type)
{
    switch (type) {
    case key_type::rsa_2048: return 256;
    case key_type::rsa_3072: return 384;
    case key_type::rsa_4096: return 512;
    default: return 0;
    }
}

// The signature in JWS form, whichever form the host set it in.
bytes jws_signature(key_type type, const secret_bytes& given)
{
    bytes signature(given.data(), given.data() + given.size());
    std::size_t half = ecdsa_half_size(type);
    if (half != 0 && signature.size() != 2 * half && !signature.empty() &&
        signature[0] == 0x30)
        signature = ecdsa_raw_from_der(signature, half);
    std::size_t expected = half != 0 ? 2 * half : rsa_size(type);
    if (signature.size() != expected)
        throw error(acme::status::crypto_error,
                    "crypto sign: the host's signature has " +
                        std::to_string(given.size()) + " bytes, expected " +
                        std::to_string(expected));
    return signature;
}

} // namespace

host_crypto::host_crypto(const acme_crypto& table,
                         std::unique_ptr<crypto> builtin)
    : table_(table), builtin_(std::move(builtin))
{
    int key_calls = (table.load_key != nullptr) +
                    (table.public_key != nullptr) + (table.sign != nullptr) +
                    (table.free_key != nullptr);
    if (key_calls != 0 && key_calls != 4)
        throw error(acme::status::invalid_argument,
                    "crypto: load_key, public_key, sign and free_key go "
                    "together");
    if (key_calls == 0 &&
        (table.generate_key != nullptr || table.export_key != nullptr))
        throw error(acme::status::invalid_argument,
                    "crypto: generate_key and export_key need load_key, "
                    "public_key, sign and free_key");
}

std::unique_ptr<private_key> host_crypto::generate_key(key_type type)
{
    if (!host_keys())
        return builtin_->generate_key(type);
    if (table_.generate_key == nullptr)
        throw error(acme::status::unsupported,
                    "crypto: the host's crypto does not generate keys");

    void* handle = nullptr;
    check(table_.generate_key(table_.user, static_cast<acme_key_type>(type),
                              &handle),
          "crypto generate_key", "");
    auto key = adopt(table_, handle);
    if (key->type() != type)
        throw error(acme::status::crypto_error,
                    "crypto generate_key: the host made a key of another "
                    "type");
    return key;
}

std::unique_ptr<private_key> host_crypto::load_key_pem(std::string_view pem)
{
    if (!host_keys())
        return builtin_->load_key_pem(pem);
    void* handle = nullptr;
    check(table_.load_key(table_.user, pem.data(), pem.size(), &handle),
          "crypto load_key", "");
    return adopt(table_, handle);
}

secret_bytes host_crypto::export_key_pem(const private_key& key)
{
    if (!host_keys())
        return builtin_->export_key_pem(key);
    const host_key& own = own_key(key);
    if (table_.export_key == nullptr)
        throw error(acme::status::unsupported,
                    "crypto: the host's crypto does not export keys");
    acme_bytes out;
    check(table_.export_key(table_.user, own.handle(), &out),
          "crypto export_key", "");
    if (out.value.empty())
        throw error(acme::status::crypto_error,
                    "crypto export_key: the host returned nothing");
    return std::move(out.value);
}

public_jwk host_crypto::jwk(const private_key& key)
{
    if (!host_keys())
        return builtin_->jwk(key);
    return own_key(key).jwk();
}

bytes host_crypto::sign(const private_key& key, std::string_view data)
{
    if (!host_keys())
        return builtin_->sign(key, data);
    const host_key& own = own_key(key);
    bytes digest = own.type() == key_type::ec_p384
                       ? md(MBEDTLS_MD_SHA384, data)
                       : sha256(data);
    acme_bytes out;
    check(table_.sign(table_.user, own.handle(),
                      reinterpret_cast<const uint8_t*>(data.data()),
                      data.size(), digest.data(), digest.size(), &out),
          "crypto sign", "");
    return jws_signature(own.type(), out.value);
}

bytes host_crypto::sha256(std::string_view data)
{
    if (table_.sha256 == nullptr)
        return builtin_->sha256(data);
    bytes out(32);
    check(table_.sha256(table_.user,
                        reinterpret_cast<const uint8_t*>(data.data()),
                        data.size(), out.data()),
          "crypto sha256", "");
    return out;
}

bytes host_crypto::hmac(hmac_algorithm algorithm, const secret_bytes& key,
                        std::string_view data)
{
    if (table_.hmac == nullptr)
        return builtin_->hmac(algorithm, key, data);
    static_assert(ACME_HMAC_SHA256 == static_cast<int>(hmac_algorithm::sha256) &&
                      ACME_HMAC_SHA384 ==
                          static_cast<int>(hmac_algorithm::sha384) &&
                      ACME_HMAC_SHA512 ==
                          static_cast<int>(hmac_algorithm::sha512),
                  "acme_hmac_algorithm and acme::hmac_algorithm differ");
    acme_bytes out;
    check(table_.hmac(table_.user, static_cast<acme_hmac_algorithm>(algorithm),
                      key.data(), key.size(),
                      reinterpret_cast<const uint8_t*>(data.data()),
                      data.size(), &out),
          "crypto hmac", "");
    std::size_t expected = algorithm == hmac_algorithm::sha256   ? 32
                           : algorithm == hmac_algorithm::sha384 ? 48
                                                                 : 64;
    if (out.value.size() != expected)
        throw error(acme::status::crypto_error,
                    "crypto hmac: the host's HMAC has the wrong size");
    return bytes(out.value.data(), out.value.data() + out.value.size());
}

bytes host_crypto::make_csr(const private_key& key,
                            const std::vector<std::string>& names)
{
    if (!host_keys())
        return builtin_->make_csr(key, names);
    const host_key& own = own_key(key);
    return build_csr(own.spki(), own.type(), names,
                     [&](std::string_view data) { return sign(key, data); });
}

csr_info host_crypto::parse_csr(const bytes& pem_or_der)
{
    return builtin_->parse_csr(pem_or_der);
}

std::vector<certificate_info> host_crypto::parse_chain(std::string_view pem)
{
    return builtin_->parse_chain(pem);
}

http_response host_transport::send(const http_request& request)
{
    std::vector<acme_http_header> headers;
    for (const http_header& h : request.headers)
        headers.push_back({h.name.c_str(), h.value.c_str()});
    acme_http_request c_request{request.method.c_str(), request.url.c_str(),
                                headers.data(),         headers.size(),
                                request.body.data(),    request.body.size()};

    acme_http_response response;
    acme_status status = table_.send(table_.user, &c_request, &response);
    if (status == ACME_OK && response.value.status == 0)
        throw error(acme::status::bad_response,
                    "transport: the host's callback set no HTTP status");
    check(status, "transport", response.error);
    return std::move(response.value);
}

clock::time_point host_clock::now()
{
    return time_point(std::chrono::milliseconds(table_.now_ms(table_.user)));
}

void host_clock::sleep_until(time_point when)
{
    table_.sleep_until_ms(table_.user,
                          std::chrono::duration_cast<std::chrono::milliseconds>(
                              when.time_since_epoch())
                              .count());
}

std::optional<secret_bytes> host_storage::get(const std::string& name)
{
    acme_storage_value value;
    check(table_.get(table_.user, name.c_str(), &value), "storage get", name);
    return std::move(value.value);
}

void host_storage::put(const std::string& name, const secret_bytes& value,
                       bool secret)
{
    check(table_.put(table_.user, name.c_str(),
                     reinterpret_cast<const char*>(value.data()), value.size(),
                     secret ? 1 : 0),
          "storage put", name);
}

void host_storage::remove(const std::string& name)
{
    check(table_.remove(table_.user, name.c_str()), "storage remove", name);
}

std::vector<std::string> host_storage::list(const std::string& folder)
{
    acme_storage_names names;
    check(table_.list(table_.user, folder.c_str(), &names), "storage list",
          folder);
    std::sort(names.names.begin(), names.names.end());
    return std::move(names.names);
}

} // namespace acme::capi

extern "C" {

void acme_http_response_set_status(acme_http_response* response, int status)
{
    if (response != nullptr)
        response->value.status = status;
}

acme_status acme_http_response_add_header(acme_http_response* response,
                                          const char* name, size_t name_length,
                                          const char* value,
                                          size_t value_length)
{
    if (response == nullptr || name == nullptr ||
        (value == nullptr && value_length > 0))
        return ACME_E_INVALID_ARGUMENT;
    if (response->value.headers.size() >= acme::capi::max_headers ||
        name_length + value_length > acme::capi::max_header_size)
        return ACME_E_BAD_RESPONSE;
    try {
        response->value.headers.push_back(
            {std::string(name, name_length),
             std::string(value != nullptr ? value : "", value_length)});
    } catch (...) {
        return ACME_E_OUT_OF_MEMORY;
    }
    return ACME_OK;
}

acme_status acme_http_response_append_body(acme_http_response* response,
                                           const char* data, size_t length)
{
    if (response == nullptr || (data == nullptr && length > 0))
        return ACME_E_INVALID_ARGUMENT;
    if (length > acme::capi::max_body - response->value.body.size())
        return ACME_E_BAD_RESPONSE;
    try {
        response->value.body.append(data, length);
    } catch (...) {
        return ACME_E_OUT_OF_MEMORY;
    }
    return ACME_OK;
}

void acme_http_response_set_error(acme_http_response* response,
                                  const char* message)
{
    if (response == nullptr || message == nullptr)
        return;
    try {
        response->error.assign(message, strnlen(message, 512));
    } catch (...) {
    }
}

acme_status acme_storage_value_set(acme_storage_value* value, const char* data,
                                   size_t length)
{
    if (value == nullptr || (data == nullptr && length > 0))
        return ACME_E_INVALID_ARGUMENT;
    if (length > acme::file_storage::max_value_size)
        return ACME_E_IO;
    try {
        value->value = acme::secret_bytes(
            reinterpret_cast<const std::uint8_t*>(data), length);
    } catch (...) {
        return ACME_E_OUT_OF_MEMORY;
    }
    return ACME_OK;
}

acme_status acme_bytes_set(acme_bytes* out, const void* data, size_t length)
{
    if (out == nullptr || (data == nullptr && length > 0) ||
        length > acme::capi::max_crypto_bytes)
        return ACME_E_INVALID_ARGUMENT;
    try {
        out->value = acme::secret_bytes(data, length);
    } catch (...) {
        return ACME_E_OUT_OF_MEMORY;
    }
    return ACME_OK;
}

acme_status acme_storage_names_add(acme_storage_names* names, const char* name)
{
    if (names == nullptr || name == nullptr)
        return ACME_E_INVALID_ARGUMENT;
    try {
        names->names.emplace_back(name);
    } catch (...) {
        return ACME_E_OUT_OF_MEMORY;
    }
    return ACME_OK;
}

} // extern "C"
