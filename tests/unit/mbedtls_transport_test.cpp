// The mbedTLS transport against a real TLS server on 127.0.0.1 that the
// test runs in a thread with mbedTLS's server API, with certificates made
// by the openssl command in a temporary folder, and an HTTP side scripted
// per test, misbehaving on purpose where a test needs it.
#include <doctest/doctest.h>

#include <acmekit/adapters/mbedtls_transport.hpp>
#include <acmekit/problem.hpp>

#include "loopback.hpp"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

using namespace acme;
using namespace std::chrono;

namespace {

std::string run(const std::string& command)
{
    std::string output;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr)
        throw std::runtime_error("cannot run " + command);
    char chunk[512];
    while (std::fgets(chunk, sizeof chunk, pipe) != nullptr)
        output += chunk;
    if (::pclose(pipe) != 0)
        throw std::runtime_error(command + " failed: " + output);
    return output;
}

// Two CAs (one trusted by the tests, one not) and three server
// certificates, made once per test run and removed at exit.
class test_pki {
public:
    test_pki()
    {
        char pattern[] = "/tmp/acmekit-mbedtls-tx-XXXXXX";
        if (::mkdtemp(pattern) == nullptr)
            throw std::runtime_error("mkdtemp failed");
        dir_ = pattern;
        make_ca("trusted");
        make_ca("untrusted");
        make_leaf("good", "trusted", "DNS:localhost,IP:127.0.0.1");
        make_leaf("stranger", "untrusted", "DNS:localhost,IP:127.0.0.1");
        make_leaf("other", "trusted", "DNS:other.example");
    }

    ~test_pki() { std::system(("rm -rf '" + dir_ + "'").c_str()); }

    std::string path(const std::string& name) const
    {
        return dir_ + "/" + name;
    }

private:
    void make_ca(const std::string& name)
    {
        run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
            "-nodes -days 2 -subj '/CN=acmekit test " +
            name + " CA' -addext basicConstraints=critical,CA:TRUE " +
            "-addext keyUsage=critical,keyCertSign,cRLSign -keyout " +
            path(name + "-ca.key") + " -out " + path(name + "-ca.pem"));
    }

    void make_leaf(const std::string& name, const std::string& ca,
                   const std::string& names)
    {
        std::ofstream(path(name + ".ext"))
            << "subjectAltName=" << names
            << "\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
        run("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
            "-nodes -subj /CN=acmekit-test-server -keyout " +
            path(name + ".key") + " -out " + path(name + ".csr"));
        run("openssl x509 -req -days 2 -in " + path(name + ".csr") + " -CA " +
            path(ca + "-ca.pem") + " -CAkey " + path(ca + "-ca.key") +
            " -set_serial 0x" + std::to_string(name.size() + 10) +
            " -extfile " + path(name + ".ext") + " -out " +
            path(name + ".pem"));
    }

    std::string dir_;
};

const test_pki& pki()
{
    static test_pki made;
    return made;
}

std::string trusted_ca()
{
    return pki().path("trusted-ca.pem");
}

constexpr auto server_io_limit = seconds(3);

// The server's side of one TLS connection, blocking with timeouts, so
// that a test that goes wrong cannot hang it.
class server_connection {
public:
    server_connection(int fd, mbedtls_ssl_config& config) : fd_(fd)
    {
        timeval tv{};
        tv.tv_sec = server_io_limit.count();
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        mbedtls_ssl_init(&ssl_);
        mbedtls_ssl_setup(&ssl_, &config);
        mbedtls_ssl_set_bio(&ssl_, &fd_, send_bytes, recv_bytes, nullptr);
    }

    ~server_connection()
    {
        mbedtls_ssl_free(&ssl_);
        ::close(fd_);
    }

    bool handshake() { return mbedtls_ssl_handshake(&ssl_) == 0; }

    /// One request, headers and Content-Length body; empty at the end of
    /// the connection.
    std::string read_request()
    {
        std::string request;
        std::size_t body_start = std::string::npos;
        std::size_t want = 0;
        while (request.size() < 64 * 1024) {
            if (body_start == std::string::npos) {
                std::size_t end = request.find("\r\n\r\n");
                if (end != std::string::npos) {
                    body_start = end + 4;
                    std::size_t at = request.find("Content-Length: ");
                    if (at != std::string::npos && at < end)
                        want = std::stoul(request.substr(at + 16));
                }
            }
            if (body_start != std::string::npos &&
                request.size() >= body_start + want)
                return request;
            unsigned char chunk[4096];
            int n = mbedtls_ssl_read(&ssl_, chunk, sizeof chunk);
            if (n <= 0)
                return {};
            request.append(reinterpret_cast<char*>(chunk),
                           static_cast<std::size_t>(n));
        }
        return {};
    }

    bool write(const std::string& data)
    {
        std::size_t sent = 0;
        while (sent < data.size()) {
            int n = mbedtls_ssl_write(
                &ssl_,
                reinterpret_cast<const unsigned char*>(data.data()) + sent,
                data.size() - sent);
            if (n <= 0)
                return false;
            sent += static_cast<std::size_t>(n);
        }
        return true;
    }

    void close_notify() { mbedtls_ssl_close_notify(&ssl_); }

private:
    static int send_bytes(void* context, const unsigned char* data,
                          std::size_t size)
    {
        ssize_t n =
            ::send(*static_cast<int*>(context), data, size, MSG_NOSIGNAL);
        return n < 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : static_cast<int>(n);
    }

    static int recv_bytes(void* context, unsigned char* data, std::size_t size)
    {
        ssize_t n = ::recv(*static_cast<int*>(context), data, size, 0);
        return n < 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : static_cast<int>(n);
    }

    int fd_;
    mbedtls_ssl_context ssl_;
};

/// What a test's server does with its n-th connection (from 0).
using script = std::function<void(server_connection&, int index,
                                  const std::atomic<bool>& stopping)>;

// A TLS server on 127.0.0.1 with the certificate `leaf` from test_pki,
// serving up to `connections` connections in turn; it stops waiting for
// the next one after a few seconds.
class tls_server {
public:
    tls_server(const std::string& leaf, script handle, int connections = 4)
        : handle_(std::move(handle)), connections_(connections)
    {
        mbedtls_ssl_config_init(&config_);
        mbedtls_x509_crt_init(&cert_);
        mbedtls_pk_init(&key_);
        mbedtls_entropy_init(&entropy_);
        mbedtls_ctr_drbg_init(&random_);
        REQUIRE(mbedtls_ctr_drbg_seed(&random_, mbedtls_entropy_func, &entropy_,
                                      nullptr, 0) == 0);
        REQUIRE(mbedtls_x509_crt_parse_file(
                    &cert_, pki().path(leaf + ".pem").c_str()) == 0);
        REQUIRE(mbedtls_pk_parse_keyfile(
                    &key_, pki().path(leaf + ".key").c_str(), nullptr) == 0);
        REQUIRE(mbedtls_ssl_config_defaults(&config_, MBEDTLS_SSL_IS_SERVER,
                                            MBEDTLS_SSL_TRANSPORT_STREAM,
                                            MBEDTLS_SSL_PRESET_DEFAULT) == 0);
        mbedtls_ssl_conf_rng(&config_, mbedtls_ctr_drbg_random, &random_);
        REQUIRE(mbedtls_ssl_conf_own_cert(&config_, &cert_, &key_) == 0);

        listener_ = test_support::loopback_listener(port_, 4);
        thread_ = std::thread([this] { serve(); });
    }

    ~tls_server()
    {
        stopping_ = true;
        thread_.join();
        ::close(listener_);
        mbedtls_ssl_config_free(&config_);
        mbedtls_x509_crt_free(&cert_);
        mbedtls_pk_free(&key_);
        mbedtls_ctr_drbg_free(&random_);
        mbedtls_entropy_free(&entropy_);
    }

    std::string url(const std::string& path,
                    const std::string& host = "127.0.0.1") const
    {
        return "https://" + host + ":" + std::to_string(port_) + path;
    }

    int accepts() const { return accepts_; }

private:
    void serve()
    {
        // 30 waits of 100 ms: the server gives up by itself.
        for (int index = 0, waits = 0;
             index < connections_ && waits < 30 && !stopping_; ++waits) {
            pollfd p{listener_, POLLIN, 0};
            if (::poll(&p, 1, 100) != 1)
                continue;
            int fd = ::accept(listener_, nullptr, nullptr);
            if (fd < 0)
                continue;
            ++accepts_;
            server_connection conn(fd, config_);
            if (conn.handshake())
                handle_(conn, index, stopping_);
            ++index;
            waits = 0;
        }
    }

    script handle_;
    int connections_;
    mbedtls_ssl_config config_;
    mbedtls_x509_crt cert_;
    mbedtls_pk_context key_;
    mbedtls_entropy_context entropy_;
    mbedtls_ctr_drbg_context random_;
    int listener_ = -1;
    int port_ = 0;
    std::atomic<int> accepts_{0};
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

// A CONNECT proxy on 127.0.0.1 for one client: it refuses the tunnel
// with 407, or opens it to the 127.0.0.1 port asked for and relays bytes
// both ways until either side closes or a few seconds pass.
class connect_proxy {
public:
    explicit connect_proxy(bool refuse) : refuse_(refuse)
    {
        listener_ = test_support::loopback_listener(port_, 1);
        thread_ = std::thread([this] { serve(); });
    }

    ~connect_proxy()
    {
        stopping_ = true;
        thread_.join();
        ::close(listener_);
    }

    std::string url() const
    {
        return "http://127.0.0.1:" + std::to_string(port_);
    }
    int port() const { return port_; }
    /// The CONNECT request as received; read after the client is done.
    const std::string& request() const { return request_; }

private:
    void serve()
    {
        pollfd p{listener_, POLLIN, 0};
        if (::poll(&p, 1, 3000) != 1)
            return;
        int client = ::accept(listener_, nullptr, nullptr);
        if (client < 0)
            return;
        char chunk[4096];
        while (request_.find("\r\n\r\n") == std::string::npos &&
               request_.size() < 8192) {
            pollfd c{client, POLLIN, 0};
            ssize_t n = ::poll(&c, 1, 3000) == 1
                            ? ::recv(client, chunk, sizeof chunk, 0)
                            : 0;
            if (n <= 0)
                break;
            request_.append(chunk, static_cast<std::size_t>(n));
        }
        std::size_t colon = request_.find(':');
        if (refuse_ || request_.rfind("CONNECT 127.0.0.1:", 0) != 0) {
            std::string no = "HTTP/1.1 407 Proxy Authentication Required\r\n"
                             "Content-Length: 0\r\n\r\n";
            ::send(client, no.data(), no.size(), MSG_NOSIGNAL);
            ::close(client);
            return;
        }
        int target = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(
            static_cast<std::uint16_t>(std::stoi(request_.substr(colon + 1))));
        if (::connect(target, reinterpret_cast<sockaddr*>(&addr),
                      sizeof addr) == 0) {
            std::string yes = "HTTP/1.1 200 Connection established\r\n\r\n";
            ::send(client, yes.data(), yes.size(), MSG_NOSIGNAL);
            relay(client, target);
        }
        ::close(target);
        ::close(client);
    }

    void relay(int client, int target)
    {
        auto end = steady_clock::now() + seconds(4);
        char chunk[16384];
        while (!stopping_ && steady_clock::now() < end) {
            pollfd p[2] = {{client, POLLIN, 0}, {target, POLLIN, 0}};
            if (::poll(p, 2, 100) <= 0)
                continue;
            for (int i = 0; i < 2; ++i) {
                if (p[i].revents == 0)
                    continue;
                ssize_t n = ::recv(p[i].fd, chunk, sizeof chunk, 0);
                if (n <= 0 ||
                    ::send(p[1 - i].fd, chunk, static_cast<std::size_t>(n),
                           MSG_NOSIGNAL) != n)
                    return;
            }
        }
    }

    bool refuse_;
    int listener_ = -1;
    int port_ = 0;
    std::string request_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

std::string ok_response(const std::string& body, const std::string& extra = "")
{
    return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n" + extra + "\r\n" + body;
}

// Answers every request on the connection with the request itself.
void echo(server_connection& conn, int, const std::atomic<bool>&)
{
    for (int i = 0; i < 20; ++i) {
        std::string request = conn.read_request();
        if (request.empty() || !conn.write(ok_response(request)))
            return;
    }
}

// Sends `reply` to the first request, then closes.
script answer(std::string reply)
{
    return [reply](server_connection& conn, int, const std::atomic<bool>&) {
        if (!conn.read_request().empty())
            conn.write(reply);
        conn.close_notify();
    };
}

mbedtls_transport_options trusting_test_ca()
{
    mbedtls_transport_options options;
    options.ca_file = trusted_ca();
    options.connect_timeout = seconds(2);
    options.read_timeout = seconds(2);
    options.request_timeout = seconds(4);
    return options;
}

status code_of(mbedtls_transport& http, const http_request& request,
               std::string* message = nullptr)
{
    try {
        http.send(request);
    } catch (const error& e) {
        if (message != nullptr)
            *message = e.what();
        return e.code();
    }
    return status::ok;
}

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

// A port on 127.0.0.1 where nothing listens.
int unused_port()
{
    int port = 0;
    ::close(test_support::loopback_listener(port));
    return port;
}

bool hosts_file_has_localhost()
{
    std::ifstream hosts("/etc/hosts");
    std::string line;
    for (int i = 0; i < 1000 && std::getline(hosts, line); ++i)
        if (line.rfind("127.0.0.1", 0) == 0 && contains(line, "localhost"))
            return true;
    return false;
}

} // namespace

TEST_CASE("mbedtls_transport: a GET carries Host and User-Agent")
{
    tls_server server("good", echo);
    auto options = trusting_test_ca();
    options.user_agent = "acmekit-test/1";
    mbedtls_transport http(options);

    auto response = http.send(
        {"GET", server.url("/dir?x=1#frag"), {{"Accept", "*/*"}}, {}});
    CHECK(response.status == 200);
    CHECK(response.header("content-length").value_or("") ==
          std::to_string(response.body.size()));
    const std::string& seen = response.body;
    CHECK(seen.rfind("GET /dir?x=1 HTTP/1.1\r\n", 0) == 0);
    CHECK(contains(seen, "\r\nHost: 127.0.0.1:" + server.url("").substr(18)));
    CHECK(contains(seen, "\r\nUser-Agent: acmekit-test/1\r\n"));
    CHECK(contains(seen, "\r\nAccept: */*\r\n"));
    CHECK(!contains(seen, "Content-Length"));
}

TEST_CASE("mbedtls_transport: a POST sends its body with Content-Length")
{
    tls_server server("good", echo);
    mbedtls_transport http(trusting_test_ca());

    auto response = http.send({"POST",
                               server.url("/new-acct"),
                               {{"Content-Type", "application/jose+json"}},
                               "{\"a\":1}"});
    CHECK(response.status == 200);
    CHECK(contains(response.body, "POST /new-acct HTTP/1.1\r\n"));
    CHECK(contains(response.body, "\r\nContent-Length: 7\r\n"));
    CHECK(contains(response.body, "\r\nContent-Type: application/jose+json"));
    CHECK(response.body.size() > 7);
    CHECK(response.body.compare(response.body.size() - 7, 7, "{\"a\":1}") == 0);
}

TEST_CASE("mbedtls_transport: headers are kept in order, repeats included")
{
    tls_server server("good",
                      answer("HTTP/1.1 201 Created\r\nLink: <a>;rel=up\r\n"
                             "Replay-Nonce:  n1 \r\nLink: <b>;rel=index\r\n"
                             "Content-Length: 2\r\n\r\nok"));
    mbedtls_transport http(trusting_test_ca());

    auto response = http.send({"POST", server.url("/x"), {}, "{}"});
    CHECK(response.status == 201);
    REQUIRE(response.headers.size() == 4);
    CHECK(response.headers[0].name == "Link");
    CHECK(response.headers[2].value == "<b>;rel=index");
    CHECK(response.header("replay-nonce").value_or("") == "n1");
    CHECK(response.headers_named("link").size() == 2);
    CHECK(response.body == "ok");
}

TEST_CASE("mbedtls_transport: a chunked body, then the same connection")
{
    int requests = 0;
    tls_server server("good", [&requests](server_connection& conn, int,
                                          const std::atomic<bool>&) {
        for (int i = 0; i < 2 && !conn.read_request().empty(); ++i) {
            ++requests;
            conn.write(i == 0 ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
                                "chunked\r\n\r\n4\r\nWiki\r\n"
                                "5;name=value\r\npedia\r\nA\r\n in chunks"
                                "\r\n0\r\nTrailer-Field: x\r\n\r\n"
                              : ok_response("second"));
        }
    });
    mbedtls_transport http(trusting_test_ca());

    auto first = http.send({"GET", server.url("/chunked"), {}, {}});
    CHECK(first.status == 200);
    CHECK(first.body == "Wikipedia in chunks");
    auto second = http.send({"GET", server.url("/next"), {}, {}});
    CHECK(second.body == "second");
    CHECK(server.accepts() == 1);
}

TEST_CASE("mbedtls_transport: many requests share one connection")
{
    tls_server server(
        "good", [](server_connection& conn, int, const std::atomic<bool>&) {
            for (int i = 0; i < 20; ++i) {
                std::string request = conn.read_request();
                if (request.empty())
                    return;
                // HEAD: the length of the body it would get.
                conn.write(request.rfind("HEAD", 0) == 0
                               ? "HTTP/1.1 200 OK\r\nContent-"
                                 "Length: 100\r\n\r\n"
                               : ok_response("n" + std::to_string(i)));
            }
        });
    mbedtls_transport http(trusting_test_ca());

    CHECK(http.send({"HEAD", server.url("/nonce"), {}, {}}).body.empty());
    for (int i = 1; i < 6; ++i) {
        auto response =
            http.send({i % 2 ? "POST" : "GET", server.url("/r"), {}, "{}"});
        CHECK(response.body == "n" + std::to_string(i));
    }
    CHECK(http.send({"HEAD", server.url("/nonce"), {}, {}}).status == 200);
    CHECK(server.accepts() == 1);
}

TEST_CASE("mbedtls_transport: a kept-alive connection closed before the "
          "answer is replaced once")
{
    tls_server server("good", [](server_connection& conn, int index,
                                 const std::atomic<bool>&) {
        if (conn.read_request().empty())
            return;
        conn.write(ok_response("answer " + std::to_string(index)));
        // The first connection takes the second
        // request and drops it unanswered.
        if (index == 0)
            (void)conn.read_request();
    });
    mbedtls_transport http(trusting_test_ca());

    CHECK(http.send({"GET", server.url("/a"), {}, {}}).body == "answer 0");
    CHECK(http.send({"POST", server.url("/b"), {}, "{}"}).body == "answer 1");
    CHECK(server.accepts() == 2);
}

TEST_CASE("mbedtls_transport: a connection the server closed while idle is "
          "not reused")
{
    tls_server server("good", [](server_connection& conn, int index,
                                 const std::atomic<bool>&) {
        if (conn.read_request().empty())
            return;
        conn.write(ok_response("answer " + std::to_string(index)));
        conn.close_notify();
    });
    mbedtls_transport http(trusting_test_ca());

    CHECK(http.send({"GET", server.url("/a"), {}, {}}).body == "answer 0");
    std::this_thread::sleep_for(milliseconds(200));
    CHECK(http.send({"GET", server.url("/b"), {}, {}}).body == "answer 1");
    CHECK(server.accepts() == 2);
}

TEST_CASE("mbedtls_transport: Connection: close and bodies ending at close")
{
    tls_server server("good", [](server_connection& conn, int index,
                                 const std::atomic<bool>&) {
        if (conn.read_request().empty())
            return;
        conn.write(index == 0 ? ok_response("closing", "Connection: close\r\n")
                              : "HTTP/1.1 200 OK\r\n\r\nuntil the end");
        conn.close_notify();
    });
    mbedtls_transport http(trusting_test_ca());

    CHECK(http.send({"GET", server.url("/a"), {}, {}}).body == "closing");
    CHECK(http.send({"GET", server.url("/b"), {}, {}}).body == "until the end");
    CHECK(server.accepts() == 2);
}

TEST_CASE("mbedtls_transport: a host name is checked against dNSName")
{
    if (!hosts_file_has_localhost())
        return; // resolving a name must never leave this machine
    tls_server good("good", echo, 1);
    mbedtls_transport http(trusting_test_ca());
    CHECK(http.send({"GET", good.url("/", "localhost"), {}, {}}).status == 200);

    tls_server other("other", echo, 1);
    std::string message;
    CHECK(code_of(http, {"GET", other.url("/", "localhost"), {}, {}},
                  &message) == status::tls_verify_failed);
    CHECK(contains(message, "not for localhost"));
    CHECK(!contains(message, "not trusted"));
}

TEST_CASE("mbedtls_transport: an IP literal is checked against iPAddress")
{
    tls_server other("other", echo, 1);
    mbedtls_transport http(trusting_test_ca());
    std::string message;
    CHECK(code_of(http, {"GET", other.url("/"), {}, {}}, &message) ==
          status::tls_verify_failed);
    CHECK(contains(message, "127.0.0.1:"));
    CHECK(contains(message, "not for 127.0.0.1"));
}

TEST_CASE("mbedtls_transport: a certificate from an unknown CA is refused")
{
    tls_server server("stranger", echo, 1);
    mbedtls_transport http(trusting_test_ca());
    std::string message;
    CHECK(code_of(http, {"GET", server.url("/"), {}, {}}, &message) ==
          status::tls_verify_failed);
    CHECK(contains(message, "127.0.0.1:"));
    CHECK(contains(message, "not trusted"));
    CHECK(!contains(message, "not for"));
}

TEST_CASE("mbedtls_transport: nothing listening is connect_failed")
{
    mbedtls_transport http(trusting_test_ca());
    int port = unused_port();
    std::string message;
    CHECK(
        code_of(
            http,
            {"GET", "https://127.0.0.1:" + std::to_string(port) + "/", {}, {}},
            &message) == status::connect_failed);
    CHECK(contains(message, "127.0.0.1:" + std::to_string(port)));
    CHECK(contains(message, "refused"));

    // An IPv6 literal in brackets; where ::1 is missing the socket call
    // fails instead, which is connect_failed too.
    CHECK(
        code_of(http,
                {"GET", "https://[::1]:" + std::to_string(port) + "/x", {}, {}},
                &message) == status::connect_failed);
    CHECK(contains(message, "[::1]:" + std::to_string(port)));
}

TEST_CASE("mbedtls_transport: a server that never answers times out")
{
    tls_server server("good", [](server_connection& conn, int,
                                 const std::atomic<bool>& stopping) {
        (void)conn.read_request();
        for (int i = 0; i < 50 && !stopping; ++i)
            std::this_thread::sleep_for(milliseconds(20));
    });
    auto options = trusting_test_ca();
    options.read_timeout = milliseconds(300);
    options.request_timeout = milliseconds(800);
    mbedtls_transport http(options);

    auto start = steady_clock::now();
    std::string message;
    CHECK(code_of(http, {"GET", server.url("/slow"), {}, {}}, &message) ==
          status::timeout);
    CHECK(steady_clock::now() - start < seconds(2));
    CHECK(contains(message, "127.0.0.1:"));
    CHECK(contains(message, "300 ms"));
}

TEST_CASE("mbedtls_transport: a body over 1 MiB is bad_response")
{
    std::string big(mbedtls_transport_max_body + 1, 'x');
    SUBCASE("announced by Content-Length")
    {
        tls_server server("good", answer(ok_response(big)), 1);
        mbedtls_transport http(trusting_test_ca());
        CHECK(code_of(http, {"GET", server.url("/"), {}, {}}) ==
              status::bad_response);
    }
    SUBCASE("in chunks")
    {
        std::string chunk(64 * 1024, 'y');
        std::string reply = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
                            "\r\n\r\n";
        for (int i = 0; i < 17; ++i)
            reply += "10000\r\n" + chunk + "\r\n";
        tls_server server("good", answer(reply + "0\r\n\r\n"), 1);
        mbedtls_transport http(trusting_test_ca());
        CHECK(code_of(http, {"GET", server.url("/"), {}, {}}) ==
              status::bad_response);
    }
    SUBCASE("until the connection closes")
    {
        tls_server server("good", answer("HTTP/1.1 200 OK\r\n\r\n" + big), 1);
        mbedtls_transport http(trusting_test_ca());
        CHECK(code_of(http, {"GET", server.url("/"), {}, {}}) ==
              status::bad_response);
    }
}

TEST_CASE("mbedtls_transport: malformed responses are bad_response")
{
    const char* replies[] = {
        "HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n",
        "SMTP ready\r\n\r\n",
        "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    };
    // NUL in a field name or value: every party reads it differently.
    const char nul_in_name[] = "HTTP/1.1 200 OK\r\nReplay-\0Nonce: a\r\n\r\n";
    const char nul_in_value[] = "HTTP/1.1 200 OK\r\nReplay-Nonce: a\0b\r\n\r\n";
    std::string nul_name(nul_in_name, sizeof nul_in_name - 1);
    std::string nul_value(nul_in_value, sizeof nul_in_value - 1);
    for (const std::string& reply : {nul_name, nul_value}) {
        tls_server server("good", answer(reply), 1);
        mbedtls_transport http(trusting_test_ca());
        CHECK(code_of(http, {"GET", server.url("/"), {}, {}}) ==
              status::bad_response);
    }
    for (const char* reply : replies) {
        CAPTURE(reply);
        tls_server server("good", answer(reply), 1);
        mbedtls_transport http(trusting_test_ca());
        std::string message;
        CHECK(code_of(http, {"GET", server.url("/"), {}, {}}, &message) ==
              status::bad_response);
        CHECK(contains(message, "127.0.0.1:"));
    }

    SUBCASE("too many or too long header lines")
    {
        std::string many = "HTTP/1.1 200 OK\r\n";
        for (int i = 0; i < 257; ++i)
            many += "X-" + std::to_string(i) + ": v\r\n";
        std::string longer =
            "HTTP/1.1 200 OK\r\nX-Long: " + std::string(9000, 'v') + "\r\n\r\n";
        for (const std::string& reply : {many + "\r\n", longer}) {
            tls_server server("good", answer(reply), 1);
            mbedtls_transport http(trusting_test_ca());
            CHECK(code_of(http, {"GET", server.url("/"), {}, {}}) ==
                  status::bad_response);
        }
    }
}

TEST_CASE("mbedtls_transport: a truncated body is connect_failed")
{
    tls_server server("good",
                      answer("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
                             "abc"),
                      1);
    mbedtls_transport http(trusting_test_ca());
    std::string message;
    CHECK(code_of(http, {"GET", server.url("/"), {}, {}}, &message) ==
          status::connect_failed);
    CHECK(contains(message, "middle of the response"));
}

TEST_CASE("mbedtls_transport: unusable options and requests are refused")
{
    mbedtls_transport_options options;
    options.ca_file = "/nonexistent/ca.pem";
    try {
        mbedtls_transport http(options);
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == status::io_error);
        CHECK(contains(e.what(), "/nonexistent/ca.pem"));
    }

    options.ca_file = pki().path("good.ext"); // readable, no certificate
    try {
        mbedtls_transport http(options);
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == status::io_error);
    }

    options = trusting_test_ca();
    options.proxy_url = "socks5://127.0.0.1:1080";
    CHECK_THROWS_AS(mbedtls_transport{options}, error);

    mbedtls_transport http(trusting_test_ca());
    CHECK(code_of(http, {"GET", "ftp://127.0.0.1/", {}, {}}) ==
          status::invalid_argument);
    CHECK(code_of(http, {"GET", "https://user@127.0.0.1/", {}, {}}) ==
          status::invalid_argument);
    CHECK(code_of(http, {"GET",
                         "https://127.0.0.1:1/",
                         {{"X-Evil", "a\r\nInjected: 1"}},
                         {}}) == status::invalid_argument);
    // A NUL ends a C string, not an HTTP token.
    CHECK(code_of(http,
                  {std::string("GET\0X", 5), "https://127.0.0.1:1/", {}, {}}) ==
          status::invalid_argument);
    CHECK(code_of(http, {"GET",
                         "https://127.0.0.1:1/",
                         {{std::string("X-A\0B", 5), "v"}},
                         {}}) == status::invalid_argument);
    // A host goes into the Host header and the CONNECT line as it is.
    for (const char* url : {"https://ca.example\r\nX-Injected:443/dir",
                            "https://ca example/", "https://ca\texample/"}) {
        CAPTURE(url);
        std::string message;
        CHECK(code_of(http, {"GET", url, {}, {}}, &message) ==
              status::invalid_argument);
        CHECK(message.find_first_of("\r\n") == std::string::npos);
    }
}

TEST_CASE("mbedtls_transport: through a CONNECT proxy, one tunnel")
{
    tls_server server("good", echo, 1);
    connect_proxy proxy(false);
    auto options = trusting_test_ca();
    options.proxy_url = proxy.url();
    {
        mbedtls_transport http(options);
        auto first = http.send({"GET", server.url("/a"), {}, {}});
        auto second = http.send({"POST", server.url("/b"), {}, "{}"});
        CHECK(first.status == 200);
        CHECK(contains(second.body, "POST /b HTTP/1.1\r\n"));
        CHECK(server.accepts() == 1);
    }
    CHECK(proxy.request().rfind(
              "CONNECT 127.0.0.1:" + server.url("").substr(18) + " HTTP/1.1",
              0) == 0);
}

TEST_CASE("mbedtls_transport: a proxy that refuses the tunnel is named")
{
    connect_proxy proxy(true);
    auto options = trusting_test_ca();
    options.proxy_url = proxy.url();
    mbedtls_transport http(options);
    std::string message;
    CHECK(code_of(http, {"GET", "https://127.0.0.1:9/", {}, {}}, &message) ==
          status::connect_failed);
    CHECK(contains(message, "proxy 127.0.0.1:" + std::to_string(proxy.port()) +
                                " refused CONNECT 127.0.0.1:9: HTTP 407"));
}

TEST_CASE("mbedtls_transport: a silent proxy is bounded by the connect "
          "timeout")
{
    // A listener that accepts into its backlog and never answers.
    int port = 0;
    int listener = test_support::loopback_listener(port, 1);

    auto options = trusting_test_ca();
    options.proxy_url = "http://127.0.0.1:" + std::to_string(port);
    options.connect_timeout = milliseconds(300);
    options.read_timeout = milliseconds(5000);
    mbedtls_transport http(options);
    std::string message;
    auto start = steady_clock::now();
    CHECK(code_of(http, {"GET", "https://127.0.0.1:9/", {}, {}}, &message) ==
          status::timeout);
    CHECK(steady_clock::now() - start < milliseconds(3000));
    CHECK(contains(message, "no answer to CONNECT 127.0.0.1:9 within 300 ms"));
    ::close(listener);
}
