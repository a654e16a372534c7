#include "detail/dns_socket.hpp"

#include <acmekit/problem.hpp>

#include "detail/descriptor.hpp"
#include "detail/dns_wire.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

namespace acme::detail {

namespace {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int udp_attempts = 2;

// Datagrams that are not our reply (wrong source or ID) are dropped; this
// many of them end an attempt early, so a flood cannot keep us reading.
constexpr int max_stray_datagrams = 64;

// Bounds on the system call loops; each pass either makes progress or
// waits for the deadline, so these are never reached in practice.
constexpr int max_eintr_retries = 100;
constexpr int max_io_passes = 70000;

constexpr std::size_t max_message = 65535;

struct endpoint {
    sockaddr_storage storage{};
    socklen_t length = 0;
    int family = AF_UNSPEC;
};

[[noreturn]] void fail(status code, const dns_server& server,
                       const std::string& what)
{
    throw error(code, fmt::format("{}: {}", dns_server_text(server), what));
}

[[noreturn]] void fail_errno(const dns_server& server, const char* call)
{
    int saved = errno;
    status code = saved == ECONNREFUSED || saved == ECONNRESET ||
                          saved == ENETUNREACH || saved == EHOSTUNREACH
                      ? status::connect_failed
                      : status::io_error;
    fail(code, server, fmt::format("{}: {}", call, std::strerror(saved)));
}

endpoint endpoint_of(const dns_server& server)
{
    if (server.port < 1 || server.port > 65535)
        fail(status::invalid_argument, server, "port out of range");

    endpoint to;
    auto port = htons(static_cast<std::uint16_t>(server.port));
    auto* v4 = reinterpret_cast<sockaddr_in*>(&to.storage);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&to.storage);
    if (inet_pton(AF_INET, server.address.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = port;
        to.length = sizeof(sockaddr_in);
    } else if (inet_pton(AF_INET6, server.address.c_str(), &v6->sin6_addr) ==
               1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = port;
        to.length = sizeof(sockaddr_in6);
    } else {
        fail(status::invalid_argument, server, "not an IP address literal");
    }
    to.family = to.storage.ss_family;
    return to;
}

bool same_endpoint(const sockaddr_storage& from, const endpoint& to)
{
    if (from.ss_family != to.family)
        return false;
    if (to.family == AF_INET) {
        auto& a = reinterpret_cast<const sockaddr_in&>(from);
        auto& b = reinterpret_cast<const sockaddr_in&>(to.storage);
        return a.sin_port == b.sin_port &&
               a.sin_addr.s_addr == b.sin_addr.s_addr;
    }
    auto& a = reinterpret_cast<const sockaddr_in6&>(from);
    auto& b = reinterpret_cast<const sockaddr_in6&>(to.storage);
    return a.sin6_port == b.sin6_port &&
           std::memcmp(&a.sin6_addr, &b.sin6_addr, sizeof a.sin6_addr) == 0;
}

std::uint16_t message_id(const bytes& message)
{
    return static_cast<std::uint16_t>(message[0] << 8 | message[1]);
}

// Waits until fd is ready for events; false when the deadline passes.
bool wait_for(int fd, short events, steady::time_point deadline,
              const dns_server& server)
{
    for (int tries = 0; tries < max_eintr_retries; ++tries) {
        auto left =
            std::chrono::duration_cast<milliseconds>(deadline - steady::now());
        if (left.count() <= 0)
            return false;
        pollfd watch{fd, events, 0};
        int ready = ::poll(&watch, 1, static_cast<int>(left.count()));
        if (ready > 0)
            return true;
        if (ready == 0)
            return false;
        if (errno != EINTR)
            fail_errno(server, "poll");
    }
    return false;
}

// --- UDP ------------------------------------------------------------------

bool is_reply_to(const bytes& reply, std::uint16_t id)
{
    return reply.size() >= 12 && message_id(reply) == id &&
           (reply[2] & 0x80) != 0;
}

// Reads datagrams until our reply arrives; nothing when time runs out.
std::optional<bytes> receive_reply(int fd, const endpoint& to, std::uint16_t id,
                                   steady::time_point deadline,
                                   const dns_server& server)
{
    for (int stray = 0; stray < max_stray_datagrams; ++stray) {
        if (!wait_for(fd, POLLIN, deadline, server))
            return std::nullopt;
        bytes reply(max_message);
        sockaddr_storage from{};
        socklen_t from_length = sizeof from;
        ssize_t got =
            ::recvfrom(fd, reply.data(), reply.size(), 0,
                       reinterpret_cast<sockaddr*>(&from), &from_length);
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got < 0)
            fail_errno(server, "receiving the reply");

        reply.resize(static_cast<std::size_t>(got));
        if (same_endpoint(from, to) && is_reply_to(reply, id))
            return reply;
    }
    return std::nullopt;
}

// Both attempts share one socket and one ID, so a late answer to the first
// datagram still counts during the second attempt.
std::optional<bytes> udp_exchange(const endpoint& to, const bytes& message,
                                  steady::time_point deadline,
                                  const dns_server& server)
{
    detail::unique_fd fd(::socket(to.family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0)
        fail_errno(server, "socket");
    // A connected socket also turns ICMP port unreachable into an error.
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&to.storage),
                  to.length) != 0)
        fail_errno(server, "connect");

    auto start = steady::now();
    for (int attempt = 1; attempt <= udp_attempts; ++attempt) {
        if (::send(fd.get(), message.data(), message.size(), 0) < 0)
            fail_errno(server, "sending the query");
        auto until = start + (deadline - start) * attempt / udp_attempts;
        if (auto reply =
                receive_reply(fd.get(), to, message_id(message), until, server))
            return reply;
    }
    return std::nullopt;
}

// --- TCP ------------------------------------------------------------------

void connect_tcp(int fd, const endpoint& to, steady::time_point deadline,
                 const dns_server& server, milliseconds timeout)
{
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&to.storage),
                  to.length) == 0)
        return;
    if (errno != EINPROGRESS)
        fail_errno(server, "TCP connect");
    if (!wait_for(fd, POLLOUT, deadline, server))
        fail(status::timeout, server,
             fmt::format("no TCP connection within {} ms", timeout.count()));

    int problem = 0;
    socklen_t length = sizeof problem;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &problem, &length) != 0)
        fail_errno(server, "getsockopt");
    if (problem != 0) {
        errno = problem;
        fail_errno(server, "TCP connect");
    }
}

void send_all(int fd, const bytes& data, steady::time_point deadline,
              const dns_server& server)
{
    std::size_t sent = 0;
    for (int pass = 0; pass < max_io_passes && sent < data.size(); ++pass) {
        if (!wait_for(fd, POLLOUT, deadline, server))
            fail(status::timeout, server, "TCP send timed out");
        ssize_t n =
            ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            fail_errno(server, "TCP send");
        sent += static_cast<std::size_t>(n);
    }
    if (sent < data.size())
        fail(status::io_error, server, "TCP send made no progress");
}

bytes receive_exactly(int fd, std::size_t count, steady::time_point deadline,
                      const dns_server& server)
{
    bytes data(count);
    std::size_t got = 0;
    for (int pass = 0; pass < max_io_passes && got < count; ++pass) {
        if (!wait_for(fd, POLLIN, deadline, server))
            fail(status::timeout, server, "TCP reply timed out");
        ssize_t n = ::recv(fd, data.data() + got, count - got, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            fail_errno(server, "TCP receive");
        if (n == 0)
            fail(status::bad_response, server,
                 fmt::format("TCP connection closed after {} of {} bytes", got,
                             count));
        got += static_cast<std::size_t>(n);
    }
    if (got < count)
        fail(status::io_error, server, "TCP receive made no progress");
    return data;
}

// RFC 1035 section 4.2.2: each message is prefixed by its 2-byte length.
bytes tcp_exchange(const endpoint& to, const bytes& message,
                   steady::time_point deadline, const dns_server& server,
                   milliseconds timeout)
{
    detail::unique_fd fd(
        ::socket(to.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd.get() < 0)
        fail_errno(server, "socket");
    connect_tcp(fd.get(), to, deadline, server, timeout);

    bytes framed{static_cast<std::uint8_t>(message.size() >> 8),
                 static_cast<std::uint8_t>(message.size())};
    framed.insert(framed.end(), message.begin(), message.end());
    send_all(fd.get(), framed, deadline, server);

    bytes prefix = receive_exactly(fd.get(), 2, deadline, server);
    bytes reply =
        receive_exactly(fd.get(), message_id(prefix), deadline, server);
    if (!is_reply_to(reply, message_id(message)))
        fail(status::bad_response, server,
             "TCP reply is not an answer to the query (message ID differs)");
    return reply;
}

} // namespace

ip_family ip_literal_family(const std::string& text)
{
    in6_addr scratch{};
    if (inet_pton(AF_INET, text.c_str(), &scratch) == 1)
        return ip_family::v4;
    if (inet_pton(AF_INET6, text.c_str(), &scratch) == 1)
        return ip_family::v6;
    return ip_family::none;
}

std::string dns_server_text(const dns_server& server)
{
    if (server.address.find(':') != std::string::npos)
        return fmt::format("[{}]:{}", server.address, server.port);
    return fmt::format("{}:{}", server.address, server.port);
}

std::uint16_t random_dns_id()
{
    std::uint16_t id = 0;
    for (int tries = 0; tries < max_eintr_retries; ++tries) {
        ssize_t got = ::getrandom(&id, sizeof id, 0);
        if (got == static_cast<ssize_t>(sizeof id))
            return id;
        if (got < 0 && errno != EINTR)
            break;
    }
    throw error(status::io_error, "getrandom failed: no DNS message ID");
}

bytes dns_exchange(const dns_server& server, const bytes& message,
                   std::chrono::milliseconds timeout)
{
    endpoint to = endpoint_of(server);
    if (message.size() < 12 || message.size() > max_message)
        fail(status::invalid_argument, server, "no DNS message to send");
    auto deadline = steady::now() + timeout;

    if (message.size() > dns_udp_limit)
        return tcp_exchange(to, message, deadline, server, timeout);
    std::optional<bytes> reply = udp_exchange(to, message, deadline, server);
    if (!reply)
        fail(status::timeout, server,
             fmt::format("no answer within {} ms", timeout.count()));
    // TC: the answer did not fit in a datagram (RFC 1035 section 4.1.1).
    if (((*reply)[2] & 0x02) != 0)
        return tcp_exchange(to, message, deadline, server, timeout);
    return *reply;
}

} // namespace acme::detail
