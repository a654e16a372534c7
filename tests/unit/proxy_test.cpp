// The proxy URL and no_proxy parsing, and the cpp-httplib transport
// through a small proxy on 127.0.0.1 that tunnels, refuses or stays
// silent on purpose. tests/e2e/proxy.sh does the same with tinyproxy.
#include <doctest/doctest.h>

#include <acmekit/adapters/httplib_transport.hpp>
#include <acmekit/problem.hpp>

#include "detail/proxy.hpp"
#include "loopback.hpp"

#include <httplib.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace acme;
using namespace std::chrono;
using detail::make_proxy_plan;
using detail::no_proxy_matches;
using detail::parse_proxy_url;

namespace {

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

// The message of the invalid_argument error that parsing `url` throws.
std::string url_error(const std::string& url)
{
    try {
        parse_proxy_url(url);
    } catch (const error& e) {
        CHECK(e.code() == status::invalid_argument);
        return e.what();
    }
    FAIL("no error for ", url);
    return {};
}

// An environment for make_proxy_plan; records what was asked.
struct fake_env {
    std::map<std::string, std::string> vars;
    std::vector<std::string> asked;

    detail::env_lookup lookup()
    {
        return [this](const char* name) -> const char* {
            asked.push_back(name);
            auto found = vars.find(name);
            return found == vars.end() ? nullptr : found->second.c_str();
        };
    }
};

} // namespace

TEST_CASE("proxy URLs: the accepted forms")
{
    auto p = parse_proxy_url("http://127.0.0.1:3128");
    CHECK(p.host == "127.0.0.1");
    CHECK(p.port == 3128);
    CHECK(p.user.empty());
    CHECK(p.password.empty());
    CHECK(p.address() == "127.0.0.1:3128");

    p = parse_proxy_url("HTTP://Proxy.Example.COM/");
    CHECK(p.host == "Proxy.Example.COM");
    CHECK(p.port == 80);

    p = parse_proxy_url("http://[::1]:8080");
    CHECK(p.host == "::1");
    CHECK(p.port == 8080);
    CHECK(p.address() == "[::1]:8080");

    p = parse_proxy_url("http://alice:s3cret@proxy.internal:3128");
    CHECK(p.user == "alice");
    CHECK(p.password.view() == "s3cret");
    CHECK(p.host == "proxy.internal");

    // Escapes let the credentials hold the URL's own delimiters.
    p = parse_proxy_url("http://al%40ice:p%3Aw%2Fd%25@[::1]:1");
    CHECK(p.user == "al@ice");
    CHECK(p.password.view() == "p:w/d%");

    // A user without a password, and an unescaped '@' in the password.
    p = parse_proxy_url("http://bob@h:1");
    CHECK(p.user == "bob");
    CHECK(p.password.empty());
    p = parse_proxy_url("http://u:p@ss@h:1");
    CHECK(p.user == "u");
    CHECK(p.password.view() == "p@ss");
    CHECK(p.host == "h");
}

TEST_CASE("proxy URLs: each malformed one is refused with its reason")
{
    CHECK(contains(url_error("127.0.0.1:3128"), "must start with http://"));
    CHECK(contains(url_error(""), "must start with http://"));
    CHECK(contains(url_error("https://h:1"), "unsupported scheme \"https\""));
    CHECK(contains(url_error("socks5://h:1"), "only http:// proxies"));
    CHECK(contains(url_error("http://"), "no host"));
    CHECK(contains(url_error("http://:3128"), "no host"));
    CHECK(contains(url_error("http://u:p@"), "no host"));
    for (const char* port : {"0", "65536", "99999", "abc", "", "+1", "123456"})
        CHECK(contains(url_error(std::string("http://h:") + port),
                       "port is not a number from 1 to 65535"));
    CHECK(contains(url_error("http://::1:3128"), "must be in brackets"));
    CHECK(contains(url_error("http://[::1:3128"), "closing bracket"));
    CHECK(contains(url_error("http://[example.com]:1"), "not an IPv6"));
    CHECK(contains(url_error("http://[::1]x"), "only a port may follow"));
    CHECK(contains(url_error("http://h:1/path"), "path, query or fragment"));
    CHECK(contains(url_error("http://h:1?q=1"), "path, query or fragment"));
    CHECK(contains(url_error("http://h:1#f"), "path, query or fragment"));
    CHECK(contains(url_error("http://h:1//"), "path, query or fragment"));
    CHECK(contains(url_error("http://h :1"), "spaces or control"));
    CHECK(contains(url_error("http://h:1\n"), "spaces or control"));
    CHECK(contains(url_error("http://pro!xy:1"), "not allowed in a host"));
    CHECK(contains(url_error("http://:pw@h:1"), "user name is empty"));
    CHECK(contains(url_error("http://u:p%zz@h:1"), "malformed %-escape"));
    CHECK(contains(url_error("http://u:p%4@h:1"), "malformed %-escape"));
    CHECK(contains(url_error("http://u:p%0a@h:1"), "control characters"));
    CHECK(contains(url_error("http://u%3Ax:p@h:1"), "contains a colon"));
}

TEST_CASE("a malformed proxy URL never shows its credentials")
{
    const std::string password = "hunter2-Pa55";
    const std::vector<std::string> urls = {
        "http://alice:" + password + "@h:99999",
        "http://alice:" + password + "@h:1/extra",
        "http://alice:" + password + "@h:1?x",
        "https://alice:" + password + "@h:1",
        "http://alice:" + password + "@[::1",
        "http://alice:" + password + "@::1:1",
        "http://alice:" + password + "%zz@h:1",
        "http://alice:" + password + "@h:1 ",
        "http://alice:" + password + "@pro!xy:1",
        // An unescaped '/' in the password ends the authority early.
        "http://alice:hunter2/-Pa55@h:1",
        // No scheme: the password stands where a scheme would.
        "alice:" + password + "@h:1",
        password + "://h:1",
    };
    for (const std::string& url : urls) {
        std::string message = url_error(url);
        CAPTURE(message);
        CHECK(!contains(message, password));
        CHECK(!contains(message, "hunter2"));
        CHECK(!contains(message, "Pa55"));
        CHECK(!contains(message, "alice"));
    }

    // The same through the transport's options and the environment.
    httplib_transport_options options;
    options.proxy_url = "http://alice:" + password + "@h:0";
    try {
        httplib_transport http(options);
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == status::invalid_argument);
        CHECK(contains(e.what(), "invalid proxy URL"));
        CHECK(!contains(e.what(), password));
    }
    fake_env env;
    env.vars["https_proxy"] = "http://alice:" + password + "@h:1/x";
    try {
        make_proxy_plan("", "", {}, true, "", env.lookup());
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == status::invalid_argument);
        CHECK(contains(e.what(), "invalid https_proxy"));
        CHECK(!contains(e.what(), password));
    }
}

TEST_CASE("no_proxy: names cover themselves and their subdomains")
{
    for (const char* list : {"example.com", ".example.com", "*.example.com",
                             "EXAMPLE.COM", " example.com ", "example.com.",
                             "example.com:443", "other.org,example.com"}) {
        CAPTURE(list);
        CHECK(no_proxy_matches(list, "example.com"));
        CHECK(no_proxy_matches(list, "acme.example.com"));
        CHECK(no_proxy_matches(list, "a.b.Example.Com"));
        CHECK(no_proxy_matches(list, "example.com."));
        CHECK_FALSE(no_proxy_matches(list, "badexample.com"));
        CHECK_FALSE(no_proxy_matches(list, "example.com.evil.net"));
        CHECK_FALSE(no_proxy_matches(list, "example.org"));
    }
}

TEST_CASE("no_proxy: IP literals, '*' and odd entries")
{
    CHECK(no_proxy_matches("127.0.0.1", "127.0.0.1"));
    CHECK_FALSE(no_proxy_matches("127.0.0.1", "127.0.0.10"));
    CHECK_FALSE(no_proxy_matches("127.0.0.1", "localhost"));
    CHECK_FALSE(no_proxy_matches("localhost", "127.0.0.1"));
    CHECK(no_proxy_matches("127.0.0.1:14000", "127.0.0.1"));

    // One IPv6 address however it is written, bracketed or not.
    for (const char* list : {"::1", "[::1]", "[::1]:8443", "0:0:0:0:0:0:0:1"}) {
        CAPTURE(list);
        CHECK(no_proxy_matches(list, "::1"));
        CHECK(no_proxy_matches(list, "[::1]"));
        CHECK(no_proxy_matches(list, "0::1"));
        CHECK_FALSE(no_proxy_matches(list, "::2"));
    }

    // A name is no suffix of an address.
    CHECK_FALSE(no_proxy_matches("1.1", "10.1.1.1"));
    CHECK_FALSE(no_proxy_matches("0.1", "127.0.0.1"));

    CHECK(no_proxy_matches("*", "anything.example"));
    CHECK(no_proxy_matches(" * ", "::1"));
    CHECK(no_proxy_matches("a.example, *", "b.example"));
    // '*' only counts alone; inside a name it is no wildcard.
    CHECK_FALSE(no_proxy_matches("ex*.com", "example.com"));

    CHECK_FALSE(no_proxy_matches("", "example.com"));
    CHECK_FALSE(no_proxy_matches(",, ,", "example.com"));
    CHECK_FALSE(no_proxy_matches(".", "example.com"));
    CHECK_FALSE(no_proxy_matches("[::1", "::1"));
    CHECK_FALSE(no_proxy_matches("example.com", ""));
}

TEST_CASE("proxy plan: explicit URL, environment, credentials")
{
    fake_env env;
    env.vars["https_proxy"] = "http://env-proxy:3128";
    env.vars["no_proxy"] = "internal.example";

    SUBCASE("an explicit URL wins and the environment is not read")
    {
        auto plan = make_proxy_plan("http://p:1", "", {}, true, "skip.example",
                                    env.lookup());
        CHECK(env.asked.empty());
        REQUIRE(plan.proxy);
        CHECK(plan.proxy->host == "p");
        CHECK(plan.for_host("ca.example", true) == &*plan.proxy);
        CHECK(plan.for_host("ca.example", false) == &*plan.proxy);
        CHECK(plan.for_host("skip.example", true) == nullptr);
        CHECK(plan.for_host("internal.example", true) != nullptr);
    }

    SUBCASE("without proxy_from_environment nothing is read")
    {
        auto plan = make_proxy_plan("", "", {}, false, "", env.lookup());
        CHECK(env.asked.empty());
        CHECK_FALSE(plan.proxy);
        CHECK(plan.for_host("ca.example", true) == nullptr);
    }

    SUBCASE("from the environment: https only, no_proxy honoured")
    {
        auto plan = make_proxy_plan("", "", {}, true, "", env.lookup());
        REQUIRE(plan.proxy);
        CHECK(plan.proxy->address() == "env-proxy:3128");
        CHECK(plan.for_host("ca.example", true) != nullptr);
        CHECK(plan.for_host("ca.example", false) == nullptr);
        CHECK(plan.for_host("acme.internal.example", true) == nullptr);
    }

    SUBCASE("lower case wins; an empty value counts as unset")
    {
        env.vars["HTTPS_PROXY"] = "http://upper:1";
        env.vars["NO_PROXY"] = "upper.example";
        auto plan = make_proxy_plan("", "", {}, true, "", env.lookup());
        REQUIRE(plan.proxy);
        CHECK(plan.proxy->host == "env-proxy");
        CHECK(plan.for_host("upper.example", true) != nullptr);

        env.vars["https_proxy"] = "";
        env.vars["no_proxy"] = "";
        plan = make_proxy_plan("", "", {}, true, "", env.lookup());
        REQUIRE(plan.proxy);
        CHECK(plan.proxy->host == "upper");
        CHECK(plan.for_host("upper.example", true) == nullptr);
    }

    SUBCASE("no variable set: no proxy")
    {
        fake_env empty;
        auto plan = make_proxy_plan("", "", {}, true, "", empty.lookup());
        CHECK_FALSE(plan.proxy);
    }

    SUBCASE("credentials from the URL, replaced by the options")
    {
        env.vars["https_proxy"] = "http://envuser:envpass@env-proxy:3128";
        auto plan = make_proxy_plan("", "", {}, true, "", env.lookup());
        REQUIRE(plan.proxy);
        CHECK(plan.proxy->user == "envuser");
        CHECK(plan.proxy->password.view() == "envpass");

        plan = make_proxy_plan("", "carol", secret_bytes("pw"), true, "",
                               env.lookup());
        REQUIRE(plan.proxy);
        CHECK(plan.proxy->user == "carol");
        CHECK(plan.proxy->password.view() == "pw");
    }

    SUBCASE("unusable credentials in the options")
    {
        CHECK_THROWS_AS(make_proxy_plan("http://p:1", "", secret_bytes("pw"),
                                        false, "", env.lookup()),
                        error);
        CHECK_THROWS_AS(
            make_proxy_plan("http://p:1", "a:b", {}, false, "", env.lookup()),
            error);
        CHECK_THROWS_AS(make_proxy_plan("http://p:1", "a",
                                        secret_bytes("x\r\ny"), false, "",
                                        env.lookup()),
                        error);
    }
}

TEST_CASE("the CONNECT request and the proxy's status line")
{
    detail::proxy_config proxy = parse_proxy_url("http://127.0.0.1:3128");
    CHECK(
        detail::connect_request(proxy, "ca.example:14000", "acmekit").view() ==
        "CONNECT ca.example:14000 HTTP/1.1\r\n"
        "Host: ca.example:14000\r\n"
        "User-Agent: acmekit\r\n\r\n");

    // The three padding cases of base64.
    const std::pair<const char*, const char*> basics[] = {
        {"http://alice:s3cret@p:1", "YWxpY2U6czNjcmV0"},
        {"http://ab:c@p:1", "YWI6Yw=="},
        {"http://a:bcd@p:1", "YTpiY2Q="},
        {"http://u@p:1", "dTo="},
    };
    for (const auto& [url, encoded] : basics) {
        auto request =
            detail::connect_request(parse_proxy_url(url), "[::1]:443", "ua");
        CAPTURE(url);
        CHECK(contains(std::string(request.view()),
                       std::string("\r\nProxy-Authorization: Basic ") +
                           encoded + "\r\n"));
        CHECK(contains(std::string(request.view()),
                       "CONNECT [::1]:443 HTTP/1.1\r\n"));
    }

    auto reply = detail::parse_connect_reply(
        "HTTP/1.0 200 Connection established\r\nProxy-agent: x\r\n\r\n");
    REQUIRE(reply);
    CHECK(reply->status == 200);
    reply = detail::parse_connect_reply("HTTP/1.1 407\r\n\r\n");
    REQUIRE(reply);
    CHECK(reply->status == 407);
    reply = detail::parse_connect_reply("HTTP/1.1 403 Bad\x01thing\n\n");
    REQUIRE(reply);
    CHECK(reply->status == 403);
    // The reason phrase is never part of a message: a proxy may echo the
    // credentials there.
    detail::proxy_config with_user =
        parse_proxy_url("http://u:secret@p.example:3128");
    std::string refused =
        detail::connect_refused(with_user, "ca.example:443",
                                *detail::parse_connect_reply(
                                    "HTTP/1.1 407 Basic dTpzZWNyZXQ=\r\n\r\n"));
    CHECK(refused == "proxy p.example:3128 refused CONNECT ca.example:443: "
                     "HTTP 407 (the proxy did not accept the credentials)");
    for (const char* bad :
         {"SSH-2.0-OpenSSH\r\n\r\n", "HTTP/2 200 OK\r\n\r\n",
          "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n",
          "HTTP/1.1 099 x\r\n\r\n", "", "HTTP/1.1 abc\r\n\r\n",
          // A head cut off before its blank line: what follows would be
          // taken for the server's bytes.
          "HTTP/1.1 200 OK\r\n", "HTTP/1.1 200 OK\r\nX-Long: aaaa"}) {
        CAPTURE(bad);
        CHECK_FALSE(detail::parse_connect_reply(bad));
    }
}

namespace {

using test_support::loopback_listener;

// A port on 127.0.0.1 where nothing listens.
int unused_port()
{
    int port = 0;
    close(loopback_listener(port));
    return port;
}

bool send_all(int fd, const char* data, std::size_t size)
{
    while (size > 0) {
        ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

// A proxy on 127.0.0.1 that serves one connection at a time. With no
// canned answer it tunnels CONNECT to the requested port on 127.0.0.1,
// whatever host was named (so it can also play a proxy that lies about
// where the tunnel goes); with one it sends that and closes; `silent`
// makes it read the request and then say nothing. It records each
// request head it read.
class test_proxy {
public:
    explicit test_proxy(std::string answer = {}, bool silent = false)
        : answer_(std::move(answer)), silent_(silent)
    {
        listener_ = loopback_listener(port_);
        thread_ = std::thread([this] { serve(); });
    }

    ~test_proxy()
    {
        stop_ = true;
        thread_.join();
        close(listener_);
    }

    int port() const { return port_; }
    std::string url() const
    {
        return "http://127.0.0.1:" + std::to_string(port_);
    }

    std::vector<std::string> requests()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return requests_;
    }

private:
    // Waits up to 100 ms, so that the stop flag is seen soon.
    bool readable(int fd)
    {
        pollfd p{fd, POLLIN, 0};
        return poll(&p, 1, 100) > 0;
    }

    void serve()
    {
        while (!stop_) {
            if (!readable(listener_))
                continue;
            int conn = accept(listener_, nullptr, nullptr);
            if (conn >= 0) {
                handle(conn);
                close(conn);
            }
        }
    }

    void handle(int conn)
    {
        std::string head;
        while (!stop_ && head.size() < 8192 &&
               (head.size() < 4 ||
                head.compare(head.size() - 4, 4, "\r\n\r\n") != 0)) {
            if (!readable(conn))
                continue;
            char c = 0;
            if (recv(conn, &c, 1, 0) != 1)
                return;
            head.push_back(c);
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            requests_.push_back(head);
        }
        if (silent_) {
            while (!stop_)
                std::this_thread::sleep_for(milliseconds(20));
            return;
        }
        if (!answer_.empty()) {
            send_all(conn, answer_.data(), answer_.size());
            return;
        }
        // "CONNECT host:port HTTP/1.1"
        std::size_t end = head.find(" HTTP/");
        std::size_t colon = head.rfind(':', end);
        if (head.compare(0, 8, "CONNECT ") != 0 || end == std::string::npos ||
            colon == std::string::npos || colon < 8)
            return;
        int target_port = std::atoi(head.c_str() + colon + 1);
        int upstream = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<uint16_t>(target_port));
        if (connect(upstream, reinterpret_cast<sockaddr*>(&addr),
                    sizeof addr) != 0) {
            close(upstream);
            return;
        }
        const std::string ok = "HTTP/1.1 200 Connection established\r\n\r\n";
        if (send_all(conn, ok.data(), ok.size()))
            relay(conn, upstream);
        close(upstream);
    }

    void relay(int a, int b)
    {
        char buf[16384];
        while (!stop_) {
            pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
            if (poll(p, 2, 100) <= 0)
                continue;
            for (int i = 0; i < 2; ++i) {
                if (p[i].revents == 0)
                    continue;
                ssize_t n = recv(p[i].fd, buf, sizeof buf, 0);
                if (n <= 0 ||
                    !send_all(i == 0 ? b : a, buf, static_cast<std::size_t>(n)))
                    return;
            }
        }
    }

    std::string answer_;
    bool silent_;
    int listener_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::vector<std::string> requests_;
    std::thread thread_;
};

struct x509_free_t {
    void operator()(X509* p) const { X509_free(p); }
};
struct pkey_free_t {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using x509_ptr = std::unique_ptr<X509, x509_free_t>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free_t>;

void add_ext(X509* cert, X509* issuer, int nid, const char* value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    REQUIRE(ext != nullptr);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

// A certificate for `key`, self-signed when there is no issuer.
x509_ptr make_cert(EVP_PKEY* key, const char* cn, X509* issuer,
                   EVP_PKEY* issuer_key)
{
    static long serial = 1;
    x509_ptr cert(X509_new());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn), -1,
                               -1, 0);
    X509* signer = issuer != nullptr ? issuer : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
    if (issuer == nullptr) {
        add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert.get(), signer, NID_key_usage,
                "critical,keyCertSign,cRLSign");
    } else {
        add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(cert.get(), signer, NID_subject_alt_name,
                "IP:127.0.0.1,DNS:localhost");
        add_ext(cert.get(), signer, NID_ext_key_usage, "serverAuth");
    }
    X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key,
              EVP_sha256());
    return cert;
}

// A throwaway CA, a server certificate it signed and another CA that
// signed nothing, as PEM files in a temp directory removed at the end.
struct test_pki {
    std::string dir;
    std::string ca_file;
    std::string other_ca_file;
    pkey_ptr server_key;
    x509_ptr server_cert;

    test_pki()
    {
        char tmpl[] = "/tmp/acmekit-proxy-test.XXXXXX";
        REQUIRE(mkdtemp(tmpl) != nullptr);
        dir = tmpl;
        ca_file = dir + "/ca.pem";
        other_ca_file = dir + "/other-ca.pem";

        pkey_ptr ca_key(EVP_EC_gen("P-256"));
        x509_ptr ca =
            make_cert(ca_key.get(), "proxy test CA", nullptr, nullptr);
        server_key.reset(EVP_EC_gen("P-256"));
        server_cert =
            make_cert(server_key.get(), "localhost", ca.get(), ca_key.get());
        pkey_ptr other_key(EVP_EC_gen("P-256"));
        x509_ptr other =
            make_cert(other_key.get(), "unrelated CA", nullptr, nullptr);
        write_pem(ca_file, ca.get());
        write_pem(other_ca_file, other.get());
    }

    ~test_pki()
    {
        std::remove(ca_file.c_str());
        std::remove(other_ca_file.c_str());
        rmdir(dir.c_str());
    }

    static void write_pem(const std::string& path, X509* cert)
    {
        FILE* f = std::fopen(path.c_str(), "w");
        REQUIRE(f != nullptr);
        PEM_write_X509(f, cert);
        std::fclose(f);
    }
};

// An HTTPS server on 127.0.0.1 that answers GET /echo with whether the
// request carried a Proxy-Authorization header.
class tls_origin {
public:
    explicit tls_origin(test_pki& pki)
        : server_(pki.server_cert.get(), pki.server_key.get())
    {
        server_.Get("/echo",
                    [](const httplib::Request& req, httplib::Response& res) {
                        res.set_content(req.has_header("Proxy-Authorization")
                                            ? "proxy-authorization seen"
                                            : "clean",
                                        "text/plain");
                    });
        port_ = server_.bind_to_any_port("127.0.0.1");
        REQUIRE(port_ > 0);
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        for (int i = 0; i < 200 && !server_.is_running(); ++i)
            std::this_thread::sleep_for(milliseconds(10));
    }

    ~tls_origin()
    {
        server_.stop();
        thread_.join();
    }

    std::string url(const std::string& path) const
    {
        return "https://127.0.0.1:" + std::to_string(port_) + path;
    }
    int port() const { return port_; }

private:
    httplib::SSLServer server_;
    int port_ = 0;
    std::thread thread_;
};

// The error `send` throws for a GET of `url`.
error send_error(httplib_transport& http, const std::string& url)
{
    try {
        http.send({"GET", url, {}, {}});
    } catch (const error& e) {
        return e;
    }
    FAIL("no error for ", url);
    return error(status::ok, "");
}

// Sets an environment variable for one test, and restores it after.
class env_override {
public:
    env_override(const char* name, const char* value) : name_(name)
    {
        if (const char* old = std::getenv(name))
            old_ = old;
        if (value != nullptr)
            setenv(name, value, 1);
        else
            unsetenv(name);
    }
    ~env_override()
    {
        if (old_)
            setenv(name_.c_str(), old_->c_str(), 1);
        else
            unsetenv(name_.c_str());
    }

private:
    std::string name_;
    std::optional<std::string> old_;
};

} // namespace

TEST_CASE("an unreachable proxy is named as the hop that failed")
{
    int port = unused_port();
    httplib_transport_options options;
    options.proxy_url = "http://127.0.0.1:" + std::to_string(port);
    httplib_transport http(options);
    error e = send_error(http, "https://ca.example:14000/dir");
    CHECK(e.code() == status::connect_failed);
    CAPTURE(e.what());
    CHECK(contains(e.what(), "cannot reach proxy 127.0.0.1:" +
                                 std::to_string(port) + ": "));
    CHECK(contains(e.what(), "refused"));
    CHECK(!contains(e.what(), "ca.example"));
}

TEST_CASE("a proxy's refusal comes back at once with its status code")
{
    // tinyproxy's answers; "Connection: close" is what deadlocks
    // cpp-httplib 0.11's own proxy code.
    test_proxy proxy("HTTP/1.0 407 Proxy Authentication Required\r\n"
                     "Proxy-Authenticate: Basic realm=\"Tinyproxy\"\r\n"
                     "Connection: close\r\n\r\n<html>407</html>");
    std::string address = "127.0.0.1:" + std::to_string(proxy.port());

    SUBCASE("407 without credentials")
    {
        httplib_transport_options options;
        options.proxy_url = proxy.url();
        httplib_transport http(options);
        auto start = steady_clock::now();
        error e = send_error(http, "https://ca.example:14000/dir");
        CHECK(steady_clock::now() - start < seconds(3));
        CHECK(e.code() == status::connect_failed);
        CHECK(std::string(e.what()) ==
              "proxy " + address +
                  " refused CONNECT ca.example:14000: HTTP 407 (no proxy "
                  "credentials were configured)");
        // The next request opens a new tunnel and fails the same way.
        e = send_error(http, "https://ca.example:14000/dir");
        CHECK(contains(e.what(), "HTTP 407"));
        CHECK(proxy.requests().size() == 2);
    }

    SUBCASE("407 with credentials: sent to the proxy, shown nowhere")
    {
        httplib_transport_options options;
        options.proxy_url = proxy.url();
        options.proxy_user = "alice";
        options.proxy_password = secret_bytes("s3cret-pw");
        httplib_transport http(options);
        error e = send_error(http, "https://[::1]:14000/dir");
        CHECK(e.code() == status::connect_failed);
        CAPTURE(e.what());
        CHECK(contains(e.what(), "refused CONNECT [::1]:14000: HTTP 407"));
        CHECK(contains(e.what(), "did not accept the credentials"));
        CHECK(!contains(e.what(), "s3cret-pw"));
        CHECK(!contains(e.what(), "YWxpY2U6czNjcmV0LXB3"));
        REQUIRE(proxy.requests().size() == 1);
        const std::string head = proxy.requests()[0];
        CHECK(contains(head, "CONNECT [::1]:14000 HTTP/1.1\r\n"));
        // base64("alice:s3cret-pw")
        CHECK(contains(head, "\r\nProxy-Authorization: Basic "
                             "YWxpY2U6czNjcmV0LXB3\r\n"));
    }
}

TEST_CASE("a proxy that refuses the port, closes or stays silent")
{
    SUBCASE("403")
    {
        test_proxy proxy("HTTP/1.1 403 Access violation\r\n"
                         "Connection: close\r\n\r\n");
        httplib_transport_options options;
        options.proxy_url = proxy.url();
        httplib_transport http(options);
        error e = send_error(http, "https://ca.example/dir");
        CHECK(e.code() == status::connect_failed);
        CHECK(contains(e.what(), "refused CONNECT ca.example:443: HTTP 403"));
        CHECK_FALSE(contains(e.what(), "Access violation"));
    }

    SUBCASE("closed without an answer")
    {
        test_proxy proxy("\r\n\r\n"); // an empty line, then it hangs up
        httplib_transport_options options;
        options.proxy_url = proxy.url();
        httplib_transport http(options);
        error e = send_error(http, "https://ca.example/dir");
        CHECK(e.code() == status::connect_failed);
        CHECK(contains(e.what(), "not an HTTP answer to CONNECT"));
    }

    SUBCASE("silent: bounded by the request deadline")
    {
        test_proxy proxy({}, true);
        httplib_transport_options options;
        options.proxy_url = proxy.url();
        options.request_timeout = milliseconds(300);
        httplib_transport http(options);
        auto start = steady_clock::now();
        error e = send_error(http, "https://ca.example/dir");
        CHECK(steady_clock::now() - start < seconds(3));
        CHECK(e.code() == status::timeout);
        CHECK(contains(e.what(),
                       "proxy 127.0.0.1:" + std::to_string(proxy.port()) +
                           ": no answer to CONNECT ca.example:443"));
    }
}

TEST_CASE("through a tunnel: TLS to the CA as without a proxy")
{
    test_pki pki;
    tls_origin origin(pki);
    test_proxy proxy;

    SUBCASE("requests succeed, share one tunnel, carry no proxy header")
    {
        httplib_transport_options options;
        options.ca_file = pki.ca_file;
        options.proxy_url = proxy.url();
        options.proxy_user = "alice";
        options.proxy_password = secret_bytes("s3cret");
        httplib_transport http(options);
        for (int i = 0; i < 3; ++i) {
            http_response res = http.send({"GET", origin.url("/echo"), {}, {}});
            CHECK(res.status == 200);
            CHECK(res.body == "clean");
        }
        auto heads = proxy.requests();
        REQUIRE(heads.size() == 1);
        CHECK(contains(heads[0],
                       "CONNECT 127.0.0.1:" + std::to_string(origin.port()) +
                           " HTTP/1.1\r\n"));
        CHECK(contains(heads[0], "Proxy-Authorization: Basic "));
    }

    SUBCASE("a CA that is not trusted is still refused")
    {
        httplib_transport_options options;
        options.ca_file = pki.other_ca_file;
        options.proxy_url = proxy.url();
        httplib_transport http(options);
        error e = send_error(http, origin.url("/echo"));
        CHECK(e.code() == status::tls_verify_failed);
        CHECK(contains(e.what(),
                       "via proxy 127.0.0.1:" + std::to_string(proxy.port())));
        CHECK(proxy.requests().size() == 1);
    }

    SUBCASE("the host name is still checked against the certificate")
    {
        // The certificate names 127.0.0.1 and localhost. The proxy sends
        // every tunnel to the origin, whatever name was asked for: one
        // that is not in the certificate must fail, as it would directly.
        httplib_transport_options options;
        options.ca_file = pki.ca_file;
        options.proxy_url = proxy.url();
        httplib_transport http(options);
        std::string port = std::to_string(origin.port());
        CHECK(http.send({"GET", "https://localhost:" + port + "/echo", {}, {}})
                  .status == 200);
        error e = send_error(http, "https://wrong.example:" + port + "/echo");
        CHECK(e.code() == status::tls_verify_failed);
        CHECK(contains(e.what(), "wrong.example:" + port + " via proxy"));
        CHECK(contains(proxy.requests().back(),
                       "CONNECT wrong.example:" + port + " HTTP/1.1"));
    }

    SUBCASE("no_proxy sends a host around the proxy")
    {
        httplib_transport_options options;
        options.ca_file = pki.ca_file;
        options.proxy_url = "http://127.0.0.1:" + std::to_string(unused_port());
        options.no_proxy = "localhost,127.0.0.1";
        httplib_transport http(options);
        CHECK(http.send({"GET", origin.url("/echo"), {}, {}}).status == 200);
    }

    SUBCASE("https_proxy from the environment, and its no_proxy")
    {
        env_override https_proxy("https_proxy", proxy.url().c_str());
        env_override upper("HTTPS_PROXY", nullptr);
        env_override no_proxy("no_proxy", "example.net");
        env_override no_proxy_upper("NO_PROXY", nullptr);
        httplib_transport_options options;
        options.ca_file = pki.ca_file;
        options.proxy_from_environment = true;
        {
            httplib_transport http(options);
            CHECK(http.send({"GET", origin.url("/echo"), {}, {}}).status ==
                  200);
            CHECK(proxy.requests().size() == 1);
        }
        env_override skip("no_proxy", "127.0.0.1");
        httplib_transport http(options);
        CHECK(http.send({"GET", origin.url("/echo"), {}, {}}).status == 200);
        CHECK(proxy.requests().size() == 1);

        // Off by default: the same environment is ignored.
        options.proxy_from_environment = false;
        env_override again("no_proxy", nullptr);
        httplib_transport direct(options);
        CHECK(direct.send({"GET", origin.url("/echo"), {}, {}}).status == 200);
        CHECK(proxy.requests().size() == 1);
    }
}

TEST_CASE("plain http:// through an explicit proxy also uses CONNECT")
{
    httplib::Server plain;
    plain.Get("/x", [](const httplib::Request& req, httplib::Response& res) {
        res.set_content(req.target, "text/plain");
    });
    int port = plain.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    std::thread t([&plain] { plain.listen_after_bind(); });
    for (int i = 0; i < 200 && !plain.is_running(); ++i)
        std::this_thread::sleep_for(milliseconds(10));

    test_proxy proxy;
    httplib_transport_options options;
    options.proxy_url = proxy.url();
    options.proxy_user = "u";
    options.proxy_password = secret_bytes("p");
    {
        httplib_transport http(options);
        http_response res = http.send(
            {"GET", "http://127.0.0.1:" + std::to_string(port) + "/x", {}, {}});
        CHECK(res.status == 200);
        // The origin form, not the absolute URL a forward proxy gets.
        CHECK(res.body == "/x");
        REQUIRE(proxy.requests().size() == 1);
        CHECK(contains(proxy.requests()[0], "CONNECT 127.0.0.1:"));
    }
    plain.stop();
    t.join();
}
