// The HTTP transport the core sends every request through. A host replaces
// it to use its own HTTP stack; the default adapter is in
// acmekit/adapters/httplib_transport.hpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace acme {

struct http_header {
    std::string name;
    std::string value;
};

struct http_request {
    std::string method; ///< "GET", "HEAD" or "POST"
    std::string url;    ///< absolute https:// or http:// URL
    std::vector<http_header> headers;
    std::string body;
};

struct http_response {
    int status = 0;
    std::vector<http_header> headers;
    std::string body;

    /// The first header with this name, compared without case.
    std::optional<std::string> header(std::string_view name) const;

    /// Every header with this name, in the order received.
    std::vector<std::string> headers_named(std::string_view name) const;
};

/// Sends one request and returns the whole response.
///
/// Any HTTP status is a response, not an error. A failure to get a response
/// at all throws acme::error with status::connect_failed,
/// status::tls_verify_failed, status::tls_failed or status::timeout, and a
/// message that names the host.
class transport {
public:
    virtual ~transport() = default;
    virtual http_response send(const http_request& request) = 0;
};

} // namespace acme
