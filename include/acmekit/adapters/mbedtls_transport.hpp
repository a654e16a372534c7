// A built-in HTTPS transport over mbedTLS, for builds without cpp-httplib
// and OpenSSL (firmware). It speaks HTTP/1.1 over TLS 1.2, verifies every
// server certificate and its name, and keeps one connection per origin
// open across requests, through an HTTP proxy when one is configured.
#pragma once

#include <acmekit/adapters/https_options.hpp>
#include <acmekit/transport.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace acme {

/// The same settings in every build.
using mbedtls_transport_options = https_transport_options;

/// Limits on what a server may send, so that a broken or hostile one
/// cannot exhaust a device's memory. Exceeding one is status::bad_response.
constexpr std::size_t mbedtls_transport_max_body = 1024 * 1024;
constexpr std::size_t mbedtls_transport_max_headers = 256;
constexpr std::size_t mbedtls_transport_max_header_line = 8 * 1024;

/// Sends requests to absolute https:// URLs; http:// URLs are served
/// too, in the clear, for hosts that need them outside the ACME flow.
///
/// Certificates are always verified against ca_file, and the URL's host
/// must match the certificate: a DNS name through mbedTLS (which also
/// sends it as SNI), an IP literal against the certificate's iPAddress
/// entries, which mbedTLS 2.28 does not check itself.
///
/// A connection stays open after a response that allows it and carries
/// the next request to the same origin; when the server had closed it in
/// the meantime, the request is sent again once on a new connection, but
/// only if no byte of a response had arrived.
///
/// Not thread-safe: one transport serves one thread at a time. Separate
/// transports are independent. Name lookup (getaddrinfo) is the one wait
/// that the timeouts cannot bound.
class mbedtls_transport final : public transport {
public:
    /// Seeds the random generator and parses the CA file once. Throws
    /// error(status::io_error) when the CA file cannot be read or holds
    /// no usable certificate, status::invalid_argument for a malformed
    /// proxy URL, status::crypto_error when seeding fails.
    explicit mbedtls_transport(mbedtls_transport_options options = {});
    ~mbedtls_transport() override;
    mbedtls_transport(const mbedtls_transport&) = delete;
    mbedtls_transport& operator=(const mbedtls_transport&) = delete;

    /// Throws acme::error naming the host and port: status::connect_failed
    /// when the server cannot be reached or drops the connection before a
    /// complete response, status::tls_verify_failed when its certificate
    /// is not trusted or is not for this host (the message says which),
    /// status::tls_failed for any other handshake failure,
    /// status::timeout when a timeout runs out, status::bad_response for
    /// malformed HTTP or a response over the limits above, and
    /// status::invalid_argument for an unusable URL or header. Through a
    /// proxy, a failure of the hop to the proxy names the proxy and is
    /// status::connect_failed (or status::timeout), whatever the proxy's
    /// status code.
    http_response send(const http_request& request) override;

private:
    struct state;
    std::unique_ptr<state> state_;
};

} // namespace acme
