// The cpp-httplib transport against small servers on 127.0.0.1 that
// misbehave on purpose (Pebble never does).
#include <doctest/doctest.h>

#include <acmekit/adapters/httplib_transport.hpp>
#include <acmekit/problem.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

using namespace acme;
using namespace std::chrono;

namespace {

// Accepts one connection, reads the request, then sends a valid response
// one byte every `gap`, for at most `limit`.
class drip_server {
public:
    drip_server(milliseconds gap, milliseconds limit)
    {
        listener_ = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof addr;
        bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        listen(listener_, 1);
        getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &length);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this, gap, limit] { serve(gap, limit); });
    }

    ~drip_server()
    {
        stop_ = true;
        shutdown(listener_, SHUT_RDWR);
        thread_.join();
        close(listener_);
    }

    int port() const { return port_; }

private:
    void serve(milliseconds gap, milliseconds limit)
    {
        int conn = accept(listener_, nullptr, nullptr);
        if (conn < 0)
            return;
        char buf[4096];
        (void)read(conn, buf, sizeof buf);
        const std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
                                  "\r\n" +
                                  std::string(100, 'x');
        auto end = steady_clock::now() + limit;
        for (char c : reply) {
            if (stop_ || steady_clock::now() > end ||
                send(conn, &c, 1, MSG_NOSIGNAL) != 1)
                break;
            std::this_thread::sleep_for(gap);
        }
        close(conn);
    }

    int listener_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

} // namespace

TEST_CASE("a server that trickles its answer hits the request deadline")
{
    drip_server server(milliseconds(50), seconds(10));
    httplib_transport_options options;
    options.read_timeout = seconds(5);
    options.request_timeout = milliseconds(400);
    httplib_transport http(options);

    auto start = steady_clock::now();
    try {
        http.send({"GET",
                   "http://127.0.0.1:" + std::to_string(server.port()) + "/dir",
                   {},
                   {}});
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == status::timeout);
        CHECK(std::string(e.what()).find("400 ms") != std::string::npos);
    }
    CHECK(steady_clock::now() - start < seconds(3));
}

TEST_CASE("a refused connection names the host")
{
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &length);
    int port = ntohs(addr.sin_port);
    close(probe);

    httplib_transport http;
    try {
        http.send(
            {"GET", "http://127.0.0.1:" + std::to_string(port) + "/", {}, {}});
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == status::connect_failed);
        CHECK(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)) !=
              std::string::npos);
    }
}

TEST_CASE("a CA file that cannot be read is refused at once")
{
    httplib_transport_options options;
    options.ca_file = "/nonexistent/ca.pem";
    CHECK_THROWS_AS(httplib_transport{options}, error);
}
