// A listening TCP socket on 127.0.0.1 at a port the kernel picks, for the
// tests' own servers and proxies.
#pragma once

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace test_support {

/// The listening socket; `port` receives its port. Fails the test when
/// the socket cannot be made.
inline int loopback_listener(int& port, int backlog = 8)
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, backlog) == 0);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) ==
            0);
    port = ntohs(addr.sin_port);
    return fd;
}

} // namespace test_support
