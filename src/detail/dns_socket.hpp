// One DNS exchange with one server: UDP with a retry, TCP when the answer
// is truncated (RFC 1035 section 4.2, RFC 7766). The only code that opens
// sockets for DNS; it lives in src/adapters/dns_socket.cpp.
#pragma once

#include <acmekit/crypto.hpp>
#include <acmekit/dns.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace acme::detail {

enum class ip_family { none, v4, v6 };

/// Which kind of address literal text is: dotted IPv4, IPv6 without
/// brackets or scope, or neither. Never asks a resolver.
ip_family ip_literal_family(const std::string& text);

/// "127.0.0.1:53" or "[::1]:53", for messages.
std::string dns_server_text(const dns_server& server);

/// A random message ID from the operating system, so that a reply from
/// off the path is hard to forge (RFC 5452 section 9.2). Throws
/// acme::error with status::io_error when no randomness is available.
std::uint16_t random_dns_id();

/// Sends message to server and returns the first reply that carries the
/// message's ID and comes from the server's address and port; anything
/// else arriving meanwhile is dropped. UDP is tried twice; a truncated
/// reply, or a message too long for UDP, goes over TCP. The whole call
/// ends within timeout.
///
/// Throws acme::error: status::invalid_argument for an address that is no
/// IP literal or a bad port, status::timeout when no reply comes in time,
/// status::connect_failed when the server refuses (ICMP port unreachable,
/// TCP reset), status::bad_response for a TCP reply cut short or
/// carrying another ID, status::io_error for local socket failures.
bytes dns_exchange(const dns_server& server, const bytes& message,
                   std::chrono::milliseconds timeout);

} // namespace acme::detail
