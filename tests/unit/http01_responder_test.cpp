#include <doctest/doctest.h>

#include <acmekit/adapters/http01_responder.hpp>
#include <acmekit/problem.hpp>

#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace acme;

namespace {

// A port nobody listens on: bind port 0, read what the kernel chose, close.
int free_port()
{
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(sock >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    REQUIRE(bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &length) ==
            0);
    close(sock);
    return ntohs(addr.sin_port);
}

challenge_task task(const std::string& token)
{
    return {"http-01", "device.example.com",  false,
            token,     token + ".thumbprint", {}};
}

} // namespace

TEST_CASE("the responder serves presented tokens and nothing else")
{
    int port = free_port();
    http01_responder responder({"127.0.0.1", port});
    responder.present(task("tok-1"));
    httplib::Client http("127.0.0.1", port);

    auto found = http.Get("/.well-known/acme-challenge/tok-1");
    REQUIRE(found);
    CHECK(found->status == 200);
    CHECK(found->body == "tok-1.thumbprint");

    for (const char* path :
         {"/.well-known/acme-challenge/tok-2", "/.well-known/acme-challenge/",
          "/.well-known/acme-challenge/tok-1/x", "/",
          "/.well-known/acme-challenge/..%2ftok-1", "/tok-1"}) {
        auto other = http.Get(path);
        REQUIRE(other);
        CHECK_MESSAGE(other->status == 404, path);
    }

    responder.cleanup(task("tok-1"));
    auto gone = http.Get("/.well-known/acme-challenge/tok-1");
    REQUIRE(gone);
    CHECK(gone->status == 404);
}

TEST_CASE("the responder answers concurrent requests with any Host")
{
    int port = free_port();
    http01_responder responder({"127.0.0.1", port});
    responder.present(task("abc"));

    std::atomic<int> ok{0};
    std::vector<std::thread> fetchers;
    for (int i = 0; i < 6; ++i)
        fetchers.emplace_back([&] {
            httplib::Client http("127.0.0.1", port);
            httplib::Headers host{
                {"Host", "device.example.com:" + std::to_string(port)}};
            auto r = http.Get("/.well-known/acme-challenge/abc", host);
            if (r && r->status == 200 && r->body == "abc.thumbprint")
                ++ok;
        });
    for (auto& t : fetchers)
        t.join();
    CHECK(ok == 6);
}

TEST_CASE("a port in use is a clear error")
{
    httplib::Server holder;
    int port = holder.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    http01_responder responder({"127.0.0.1", port});
    try {
        responder.present(task("x"));
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == status::io_error);
        CHECK(std::string(e.what()).find(std::to_string(port)) !=
              std::string::npos);
    }
}

TEST_CASE("by default the responder answers on IPv6 and IPv4 at once")
{
    int port = free_port();
    http01_responder responder({"", port});
    responder.present(task("both"));
    for (const char* host : {"127.0.0.1", "::1"}) {
        CAPTURE(host);
        httplib::Client http(host, port);
        auto r = http.Get("/.well-known/acme-challenge/both");
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->body == "both.thumbprint");
    }
}

TEST_CASE("bound to ::1 the responder does not answer on IPv4")
{
    int port = free_port();
    http01_responder responder({"::1", port});
    responder.present(task("six"));
    httplib::Client v6("::1", port);
    auto r = v6.Get("/.well-known/acme-challenge/six");
    REQUIRE(r);
    CHECK(r->status == 200);

    httplib::Client v4("127.0.0.1", port);
    v4.set_connection_timeout(std::chrono::seconds(2));
    CHECK_FALSE(v4.Get("/.well-known/acme-challenge/six"));
}
