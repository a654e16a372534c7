// The HTTP-01 responder, spoken to over raw sockets, so that malformed,
// slow and half-closed requests can be sent as a hostile client would.
#include <doctest/doctest.h>

#include <acmekit/adapters/http01_responder.hpp>
#include <acmekit/problem.hpp>

#include "loopback.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace acme;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

// A port nobody listens on: one the kernel picked, closed again.
int free_port()
{
    int port = 0;
    close(test_support::loopback_listener(port));
    return port;
}

challenge_task task(const std::string& token)
{
    return {"http-01", "device.example.com",  false,
            token,     token + ".thumbprint", {}};
}

// A client socket, closed when it goes out of scope.
struct client_socket {
    int fd = -1;

    client_socket() = default;
    client_socket(client_socket&& other) noexcept
        : fd(std::exchange(other.fd, -1))
    {
    }
    client_socket& operator=(client_socket&&) = delete;
    ~client_socket()
    {
        if (fd >= 0)
            close(fd);
    }
    explicit operator bool() const { return fd >= 0; }
};

// Connects to a numeric host, waiting at most `timeout`; an empty socket
// when nobody listens there.
client_socket connect_to(const std::string& host, int port,
                         std::chrono::milliseconds timeout = 2s)
{
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    REQUIRE(getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints,
                        &found) == 0);
    client_socket client;
    client.fd = socket(found->ai_family, SOCK_STREAM, 0);
    REQUIRE(client.fd >= 0);
    // Bounded like every wait here: a responder that accepts nothing must
    // fail the test, not hang it.
    timeval limit{static_cast<time_t>(timeout.count() / 1000),
                  static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    setsockopt(client.fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    int connected = connect(client.fd, found->ai_addr, found->ai_addrlen);
    freeaddrinfo(found);
    if (connected != 0)
        return {};
    return client;
}

struct reply {
    bool connected = false;
    int status = 0; // 0 when no status line came back
    std::string head;
    std::string body;

    // A header field's value, empty when absent.
    std::string field(const std::string& name) const
    {
        std::string wanted = "\r\n" + name + ":";
        auto lower = [](std::string text) {
            for (char& c : text)
                c = static_cast<char>(
                    std::tolower(static_cast<unsigned char>(c)));
            return text;
        };
        std::string folded = lower(head);
        std::size_t at = folded.find(lower(wanted));
        if (at == std::string::npos)
            return {};
        std::size_t start = head.find_first_not_of(' ', at + wanted.size());
        return head.substr(start, head.find("\r\n", start) - start);
    }
};

// Reads until the server closes, `timeout` passes or a megabyte came.
std::string read_all(int fd, std::chrono::milliseconds timeout)
{
    std::string data;
    auto deadline = steady::now() + timeout;
    char buffer[4096];
    while (data.size() < (1u << 20)) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - steady::now());
        pollfd wait{fd, POLLIN, 0};
        if (left.count() <= 0 ||
            poll(&wait, 1, static_cast<int>(left.count())) <= 0)
            break;
        ssize_t got = recv(fd, buffer, sizeof buffer, 0);
        if (got <= 0) // closed, or reset after the answer
            break;
        data.append(buffer, static_cast<std::size_t>(got));
    }
    return data;
}

reply parse_reply(const std::string& raw)
{
    reply r;
    r.connected = true;
    std::size_t end = raw.find("\r\n\r\n");
    r.head = raw.substr(0, end);
    if (end != std::string::npos)
        r.body = raw.substr(end + 4);
    if (raw.compare(0, 7, "HTTP/1.") == 0 && raw.size() >= 12)
        r.status = std::atoi(raw.substr(9, 3).c_str());
    return r;
}

// Sends raw bytes and reads what comes back until the server closes. With
// `half_close` the client says it is done, so a responder waiting for the
// rest of an unfinished request gives up at once instead of timing out.
reply round_trip(const std::string& host, int port, const std::string& request,
                 bool half_close = false,
                 std::chrono::milliseconds timeout = 8s)
{
    client_socket client = connect_to(host, port);
    if (!client)
        return {};
    // A responder may close early on a request it refuses; what it
    // answered is still there to read.
    for (std::size_t sent = 0; sent < request.size();) {
        ssize_t put = send(client.fd, request.data() + sent,
                           request.size() - sent, MSG_NOSIGNAL);
        if (put <= 0)
            break;
        sent += static_cast<std::size_t>(put);
    }
    if (half_close)
        shutdown(client.fd, SHUT_WR);
    return parse_reply(read_all(client.fd, timeout));
}

std::string request(const std::string& method, const std::string& path,
                    const std::string& host, int port,
                    const std::string& fields = {})
{
    bool v6 = host.find(':') != std::string::npos;
    return method + " " + path + " HTTP/1.1\r\nHost: " + (v6 ? "[" : "") +
           host + (v6 ? "]" : "") + ":" + std::to_string(port) +
           "\r\nConnection: close\r\n" + fields + "\r\n";
}

reply get(const std::string& host, int port, const std::string& path,
          const std::string& fields = {})
{
    return round_trip(host, port, request("GET", path, host, port, fields));
}

bool refused(const reply& r)
{
    return r.status == 0 || r.status >= 400;
}

} // namespace

TEST_CASE("the responder serves presented tokens and nothing else")
{
    int port = free_port();
    http01_responder responder({"127.0.0.1", port});
    responder.present(task("tok-1"));

    // A client that accepts gzip still gets the exact bytes.
    auto found = get("127.0.0.1", port, "/.well-known/acme-challenge/tok-1",
                     "Accept-Encoding: gzip, deflate\r\n");
    REQUIRE(found.connected);
    CHECK(found.status == 200);
    CHECK(found.body == "tok-1.thumbprint");
    CHECK(found.field("Content-Type") == "application/octet-stream");
    CHECK(found.field("Content-Length") == "16");
    CHECK(found.field("Content-Encoding").empty());

    for (const char* path :
         {"/.well-known/acme-challenge/tok-2", "/.well-known/acme-challenge/",
          "/.well-known/acme-challenge/tok-1/x", "/",
          "/.well-known/acme-challenge/..%2ftok-1", "/tok-1",
          "/.well-known/acme-challenge/tok-1.", "/.well-known/tok-1"}) {
        auto other = get("127.0.0.1", port, path);
        CHECK_MESSAGE(other.status == 404, path);
    }

    responder.cleanup(task("tok-1"));
    auto gone = get("127.0.0.1", port, "/.well-known/acme-challenge/tok-1");
    CHECK(gone.status == 404);
}

TEST_CASE("the responder answers HEAD with the length and no body")
{
    int port = free_port();
    http01_responder responder({"127.0.0.1", port});
    responder.present(task("tok-h"));

    auto r = round_trip("127.0.0.1", port,
                        request("HEAD", "/.well-known/acme-challenge/tok-h",
                                "127.0.0.1", port));
    CHECK(r.status == 200);
    CHECK(r.field("Content-Length") == "16");
    CHECK(r.body.empty());

    auto missing = round_trip(
        "127.0.0.1", port,
        request("HEAD", "/.well-known/acme-challenge/x", "127.0.0.1", port));
    CHECK(missing.status == 404);
    CHECK(missing.body.empty());
}

TEST_CASE("the responder speaks HTTP/1.0 and refuses other methods")
{
    int port = free_port();
    http01_responder responder({"127.0.0.1", port});
    responder.present(task("tok-m"));

    auto old =
        round_trip("127.0.0.1", port,
                   "GET /.well-known/acme-challenge/tok-m HTTP/1.0\r\n\r\n");
    CHECK(old.status == 200);
    CHECK(old.body == "tok-m.thumbprint");

    for (const char* method : {"POST", "PUT", "DELETE", "PATCH"}) {
        CAPTURE(method);
        auto r =
            round_trip("127.0.0.1", port,
                       request(method, "/.well-known/acme-challenge/tok-m",
                               "127.0.0.1", port, "Content-Length: 0\r\n"));
        CHECK(r.status >= 400);
        CHECK(r.status < 500);
        CHECK(r.body.find("thumbprint") == std::string::npos);
    }
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
            auto r = round_trip(
                "127.0.0.1", port,
                "GET /.well-known/acme-challenge/abc HTTP/1.1\r\nHost: "
                "device.example.com:" +
                    std::to_string(port) + "\r\nConnection: close\r\n\r\n");
            if (r.status == 200 && r.body == "abc.thumbprint")
                ++ok;
        });
    for (auto& t : fetchers)
        t.join();
    CHECK(ok == 6);
}

TEST_CASE("twenty clients at once are all answered")
{
    int port = free_port();
    http01_responder responder({"127.0.0.1", port});
    responder.present(task("many"));

    // Every client connects before any sends, so the responder holds
    // twenty connections at the same time.
    constexpr int clients = 20;
    std::atomic<int> connected{0}, ok{0};
    std::vector<std::thread> fetchers;
    for (int i = 0; i < clients; ++i)
        fetchers.emplace_back([&] {
            client_socket client = connect_to("127.0.0.1", port);
            ++connected;
            auto until = steady::now() + 5s;
            while (connected < clients && steady::now() < until)
                std::this_thread::sleep_for(1ms);
            if (!client)
                return;
            std::string req = request("GET", "/.well-known/acme-challenge/many",
                                      "127.0.0.1", port);
            send(client.fd, req.data(), req.size(), MSG_NOSIGNAL);
            auto r = parse_reply(read_all(client.fd, 8s));
            if (r.status == 200 && r.body == "many.thumbprint")
                ++ok;
        });
    for (auto& t : fetchers)
        t.join();
    CHECK(ok == clients);
}

TEST_CASE("a request head over the limit is refused, not buffered")
{
    int port = free_port();
    http01_responder responder({"127.0.0.1", port});
    responder.present(task("big"));
    const std::string path = "/.well-known/acme-challenge/big";

    // A long but reasonable head is still served.
    auto fine = get("127.0.0.1", port, path,
                    "X-Padding: " + std::string(6000, 'a') + "\r\n");
    CHECK(fine.status == 200);

    for (std::size_t size : {9000u, 20000u, 200000u}) {
        CAPTURE(size);
        auto r = get("127.0.0.1", port, path,
                     "X-Padding: " + std::string(size, 'a') + "\r\n");
        CHECK(refused(r));
    }

    // Never a request line or a blank line: still refused.
    auto endless = round_trip("127.0.0.1", port, std::string(50000, 'G'), true);
    CHECK(refused(endless));

    auto after = get("127.0.0.1", port, path);
    CHECK(after.status == 200);
}

TEST_CASE("a NUL in the method or a field is a bad request")
{
    int port = free_port();
    http01_responder responder({"127.0.0.1", port});
    responder.present(task("nul"));
    const char in_method[] =
        "G\0T /.well-known/acme-challenge/nul HTTP/1.1\r\n\r\n";
    const char in_name[] = "GET /.well-known/acme-challenge/nul HTTP/1.1\r\n"
                           "X-\0A: b\r\n\r\n";
    const char in_value[] = "GET /.well-known/acme-challenge/nul HTTP/1.1\r\n"
                            "X-A: b\0c\r\n\r\n";
    for (const std::string& request :
         {std::string(in_method, sizeof in_method - 1),
          std::string(in_name, sizeof in_name - 1),
          std::string(in_value, sizeof in_value - 1)}) {
        auto r = round_trip("127.0.0.1", port, request, true);
        CHECK(r.status == 400);
        CHECK(r.body.find("thumbprint") == std::string::npos);
    }
}

TEST_CASE("garbage gets no answer and does not hurt the responder")
{
    int port = free_port();
    http01_responder responder({"127.0.0.1", port});
    responder.present(task("junk"));

    std::vector<std::string> garbage = {
        std::string("\0\0\0\0\r\n\r\n", 8),
        "\r\n\r\n",
        "GET\r\n\r\n",
        "GET /.well-known/acme-challenge/junk\r\n\r\n",
        "GET /.well-known/acme-challenge/junk HTTP/1.1 x\r\n\r\n",
        "GET /.well-known/acme-challenge/junk FTP/1.1\r\n\r\n",
        "GET /.well-known/acme-challenge/junk HTTP/1.1\r\nno colon\r\n\r\n",
        "GET /.well-known/acme-challenge/j%zz HTTP/1.1\r\n\r\n",
        "GET /.well-known/acme-challenge/junk HTTP/1.1\r\nHost",
        // The start of a TLS ClientHello, as from an https:// probe.
        std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),
    };
    std::mt19937 random(8555);
    for (int i = 0; i < 8; ++i) {
        std::string noise(1 + random() % 3000, '\0');
        for (char& c : noise)
            c = static_cast<char>(random() % 256);
        garbage.push_back(noise);
    }

    for (std::size_t i = 0; i < garbage.size(); ++i) {
        CAPTURE(i);
        auto r = round_trip("127.0.0.1", port, garbage[i], true);
        CHECK(r.status != 200);
        CHECK(r.body.find("thumbprint") == std::string::npos);
    }

    auto after = get("127.0.0.1", port, "/.well-known/acme-challenge/junk");
    CHECK(after.status == 200);
    CHECK(after.body == "junk.thumbprint");
}

TEST_CASE("a silent client is dropped and does not block others or stop()")
{
    int port = free_port();
    auto responder = std::make_unique<http01_responder>(
        http01_responder_options{"127.0.0.1", port});
    responder->present(task("slow"));

    client_socket silent = connect_to("127.0.0.1", port);
    REQUIRE(silent);
    client_socket partial = connect_to("127.0.0.1", port);
    REQUIRE(partial);
    std::string half = "GET /.well-known/acme-challenge/slow HTTP/1.1\r\nHo";
    send(partial.fd, half.data(), half.size(), MSG_NOSIGNAL);

    auto started = steady::now();
    auto meanwhile = get("127.0.0.1", port, "/.well-known/acme-challenge/slow");
    CHECK(meanwhile.status == 200);
    CHECK(steady::now() - started < 2s);

    // The responder gives up on the silent one after its read timeout.
    std::string nothing = read_all(silent.fd, 15s);
    auto waited = steady::now() - started;
    CHECK(nothing.find("thumbprint") == std::string::npos);
    CHECK(waited >= 1s);
    CHECK(waited < 12s);

    // And stop() does not wait for a client that sends nothing longer than
    // the read timeout: the socket loop returns at once, cpp-httplib joins
    // a worker that sits out its 5 s timeout.
    client_socket another = connect_to("127.0.0.1", port);
    REQUIRE(another);
    std::this_thread::sleep_for(100ms); // until the responder accepted it
    auto stopping = steady::now();
    responder->stop();
    CHECK(steady::now() - stopping < 7s);
    responder.reset();
    CHECK(steady::now() - stopping < 7s);
}

TEST_CASE("the responder stops, refuses connections, and starts again")
{
    int port = free_port();
    http01_responder responder({"127.0.0.1", port});
    responder.present(task("again"));
    CHECK(get("127.0.0.1", port, "/.well-known/acme-challenge/again").status ==
          200);

    responder.stop();
    responder.stop();
    CHECK_FALSE(connect_to("127.0.0.1", port));

    responder.start();
    responder.start();
    auto r = get("127.0.0.1", port, "/.well-known/acme-challenge/again");
    CHECK(r.status == 200);
    CHECK(r.body == "again.thumbprint");
}

TEST_CASE("a port in use is a clear error")
{
    // A listening socket that someone else holds, without SO_REUSEADDR.
    int port = 0;
    int holder = test_support::loopback_listener(port);

    for (const char* address : {"127.0.0.1", "", "0.0.0.0"}) {
        CAPTURE(address);
        http01_responder responder({address, port});
        try {
            responder.present(task("x"));
            FAIL("no error");
        } catch (const error& e) {
            CHECK(e.code() == status::io_error);
            CHECK(std::string(e.what()).find(std::to_string(port)) !=
                  std::string::npos);
        }
    }
    close(holder);
}

TEST_CASE("by default the responder answers on IPv6 and IPv4 at once")
{
    int port = free_port();
    http01_responder responder({"", port});
    responder.present(task("both"));
    for (const char* host : {"127.0.0.1", "::1"}) {
        CAPTURE(host);
        auto r = get(host, port, "/.well-known/acme-challenge/both");
        REQUIRE(r.connected);
        CHECK(r.status == 200);
        CHECK(r.body == "both.thumbprint");
    }
}

TEST_CASE("bound to ::1 the responder does not answer on IPv4")
{
    int port = free_port();
    http01_responder responder({"::1", port});
    responder.present(task("six"));
    auto r = get("::1", port, "/.well-known/acme-challenge/six");
    REQUIRE(r.connected);
    CHECK(r.status == 200);
    CHECK(r.body == "six.thumbprint");

    CHECK_FALSE(connect_to("127.0.0.1", port));
}

TEST_CASE("bound to 0.0.0.0 the responder does not answer on IPv6")
{
    int port = free_port();
    http01_responder responder({"0.0.0.0", port});
    responder.present(task("four"));
    auto r = get("127.0.0.1", port, "/.well-known/acme-challenge/four");
    CHECK(r.status == 200);
    CHECK(r.body == "four.thumbprint");

    CHECK_FALSE(connect_to("::1", port));
}
