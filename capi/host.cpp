#define ACMEKIT_BUILDING 1
#include "host.hpp"

#include <acmekit/problem.hpp>

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

void check(acme_status status, const char* what, const std::string& detail)
{
    if (status == ACME_OK)
        return;
    std::string message = std::string(what) + ": " +
                          (detail.empty() ? acme_strerror(status) : detail);
    throw error(static_cast<acme::status>(status), message);
}

} // namespace

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
