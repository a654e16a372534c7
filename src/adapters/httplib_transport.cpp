#include <acmekit/adapters/httplib_transport.hpp>
#include <acmekit/problem.hpp>

#include "detail/descriptor.hpp"
#include "detail/proxy.hpp"

#include <httplib.h>

#include <fmt/format.h>

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace acme {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// ACME responses are small; a certificate chain is a few kilobytes. The
// bound keeps a broken or hostile server from exhausting device memory.
constexpr std::size_t max_body_size = 1024 * 1024;

// A proxy's answer to CONNECT is a status line and a few headers.
constexpr std::size_t max_connect_reply = 16 * 1024;

struct split_url {
    std::string origin; // scheme://host[:port]
    std::string target; // path and query, at least "/"
};

split_url split(const std::string& url)
{
    std::size_t scheme_end = url.find("://");
    if (scheme_end == std::string::npos)
        throw error(status::invalid_argument,
                    fmt::format("not an absolute URL: {}", url));
    std::string scheme = url.substr(0, scheme_end);
    if (scheme != "https" && scheme != "http")
        throw error(status::invalid_argument,
                    fmt::format("unsupported URL scheme: {}", scheme));

    std::size_t path_start = url.find('/', scheme_end + 3);
    if (path_start == std::string::npos)
        return {url, "/"};
    return {url.substr(0, path_start), url.substr(path_start)};
}

std::string host_of(const std::string& origin)
{
    std::size_t start = origin.find("://");
    return start == std::string::npos ? origin : origin.substr(start + 3);
}

// Where an origin's requests go: scheme, host without brackets, port.
struct endpoint {
    bool tls = false;
    std::string host;
    std::uint16_t port = 0;
};

endpoint endpoint_of(const std::string& origin)
{
    endpoint out;
    out.tls = origin.compare(0, 8, "https://") == 0;
    auto parts = detail::split_host_port(host_of(origin));
    if (!parts)
        throw error(status::invalid_argument,
                    fmt::format("unusable URL origin: {}", origin));
    out.host = parts->host;
    out.port = parts->port.value_or(out.tls ? 443 : 80);
    return out;
}

status status_for(httplib::Error e)
{
    switch (e) {
    case httplib::Error::SSLServerVerification:
        return status::tls_verify_failed;
    case httplib::Error::SSLConnection:
    case httplib::Error::SSLLoadingCerts: return status::tls_failed;
    case httplib::Error::ConnectionTimeout: return status::timeout;
    default: return status::connect_failed;
    }
}

std::string describe(httplib::Error e, long verify_result)
{
    switch (e) {
    case httplib::Error::Connection:
        return "connection refused or host unreachable";
    case httplib::Error::ConnectionTimeout: return "connection timed out";
    case httplib::Error::Read:
        return "no complete response (connection closed or read timed out)";
    case httplib::Error::Write:
        return "connection closed while sending the request";
    case httplib::Error::SSLServerVerification:
        return fmt::format("server certificate not trusted ({})",
                           X509_verify_cert_error_string(verify_result));
    case httplib::Error::SSLLoadingCerts: return "could not load the CA file";
    case httplib::Error::SSLConnection: return "TLS handshake failed";
    case httplib::Error::Canceled:
        return "response larger than the allowed size";
    default: return httplib::to_string(e);
    }
}

// Stops the client's request from another thread once the deadline
// passes; cpp-httplib's stop() shuts the socket down, which makes the
// blocked read fail at once.
class deadline_watch {
public:
    deadline_watch(httplib::ClientImpl& client, milliseconds limit)
        : watcher_([this, &client, limit] {
              std::unique_lock<std::mutex> lock(mutex_);
              if (!done_cv_.wait_for(lock, limit, [this] { return done_; })) {
                  expired_ = true;
                  client.stop();
              }
          })
    {
    }

    ~deadline_watch() { finish(); }
    deadline_watch(const deadline_watch&) = delete;
    deadline_watch& operator=(const deadline_watch&) = delete;

    /// Ends the watch; true when the deadline had passed.
    bool finish()
    {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            done_ = true;
        }
        done_cv_.notify_one();
        if (watcher_.joinable())
            watcher_.join();
        return expired_;
    }

private:
    std::mutex mutex_;
    std::condition_variable done_cv_;
    bool done_ = false;
    bool expired_ = false;
    std::thread watcher_;
};

void set_timeout(int fd, int option, milliseconds value)
{
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(value.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>(value.count() % 1000 * 1000);
    ::setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv);
}

/// Why a tunnel could not be opened, kept for the transport's message.
struct tunnel_failure {
    status code = status::ok;
    std::string message;
};

// Opens TCP connections to a CA host through an HTTP proxy with CONNECT.
// The transport does this itself instead of using cpp-httplib's
// set_proxy(): in 0.11 that code deadlocks when a proxy refuses the
// tunnel and closes (407 or 403 with "Connection: close"; it takes a
// mutex its caller holds), and set_proxy_basic_auth() also sends the
// Proxy-Authorization header inside the tunnel to the CA with every
// request.
class tunnel {
public:
    tunnel(const detail::proxy_config& proxy, const endpoint& target,
           const httplib_transport_options& options)
        : proxy_(proxy),
          target_(detail::join_host_port(target.host, target.port)),
          user_agent_(options.user_agent),
          connect_timeout_(options.connect_timeout),
          read_timeout_(options.read_timeout), address_(proxy.address())
    {
    }

    const std::string& proxy_address() const { return address_; }
    const tunnel_failure& failure() const { return failure_; }

    /// Bounds the next open() and clears the last failure.
    void arm(steady_clock::time_point deadline)
    {
        deadline_ = deadline;
        failure_ = {};
    }

    /// A connected, blocking socket whose bytes reach the target; -1 with
    /// failure() set otherwise.
    int open()
    {
        detail::unique_fd fd(connect_proxy());
        if (fd.get() < 0)
            return -1;
        if (!handshake(fd.get()))
            return -1;
        // cpp-httplib expects what its own connect returns: a blocking
        // socket with the read and write timeouts set on it.
        int flags = ::fcntl(fd.get(), F_GETFL, 0);
        ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
        set_timeout(fd.get(), SO_RCVTIMEO, read_timeout_);
        set_timeout(fd.get(), SO_SNDTIMEO, read_timeout_);
        return fd.release();
    }

private:
    void fail(status code, std::string message)
    {
        failure_.code = code;
        failure_.message = std::move(message);
    }

    int connect_proxy()
    {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        addrinfo* found = nullptr;
        std::string port = std::to_string(proxy_.port);
        int rc =
            ::getaddrinfo(proxy_.host.c_str(), port.c_str(), &hints, &found);
        if (rc != 0) {
            fail(status::connect_failed,
                 fmt::format("cannot reach proxy {}: cannot resolve its "
                             "name ({})",
                             address_, ::gai_strerror(rc)));
            return -1;
        }
        std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(
            found, &::freeaddrinfo);

        auto deadline =
            std::min(deadline_, steady_clock::now() + connect_timeout_);
        int last_errno = ECONNREFUSED;
        bool timed_out = false;
        for (addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
            detail::unique_fd fd(::socket(
                ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                ai->ai_protocol));
            if (fd.get() < 0) {
                last_errno = errno;
                continue;
            }
            // As on a direct connection: no Nagle delay between the
            // header and body writes.
            int one = 1;
            ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) == 0)
                return fd.release();
            if (errno != EINPROGRESS) {
                last_errno = errno;
                continue;
            }
            if (!detail::wait_ready(fd.get(), POLLOUT, deadline)) {
                timed_out = true;
                break;
            }
            int err = 0;
            socklen_t len = sizeof err;
            ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
            if (err == 0)
                return fd.release();
            last_errno = err;
        }
        if (timed_out)
            fail(status::timeout,
                 fmt::format("cannot reach proxy {}: connection timed out",
                             address_));
        else
            fail(status::connect_failed,
                 fmt::format("cannot reach proxy {}: {}", address_,
                             std::strerror(last_errno)));
        return -1;
    }

    // The proxy's answer to CONNECT is part of reaching the server: each
    // wait for it is bounded by the connect timeout, and all of them by
    // the request's deadline.
    steady_clock::time_point next_wait() const
    {
        return std::min(deadline_, steady_clock::now() + connect_timeout_);
    }

    bool handshake(int fd)
    {
        secret_bytes request =
            detail::connect_request(proxy_, target_, user_agent_);
        std::size_t sent = 0;
        while (sent < request.size()) {
            if (!detail::wait_ready(fd, POLLOUT, next_wait())) {
                fail(status::timeout,
                     fmt::format("proxy {}: timed out sending CONNECT {}",
                                 address_, target_));
                return false;
            }
            ssize_t n = ::send(fd, request.data() + sent, request.size() - sent,
                               MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (n <= 0) {
                fail(status::connect_failed,
                     fmt::format("proxy {}: connection lost sending "
                                 "CONNECT {} ({})",
                                 address_, target_, std::strerror(errno)));
                return false;
            }
            sent += static_cast<std::size_t>(n);
        }
        request.clear();

        // One byte at a time, so that nothing after the proxy's header
        // is consumed: those bytes belong to the TLS handshake.
        std::string head;
        while (head.size() < max_connect_reply &&
               !detail::connect_reply_ended(head)) {
            if (!detail::wait_ready(fd, POLLIN, next_wait())) {
                fail(status::timeout,
                     fmt::format("proxy {}: no answer to CONNECT {} in "
                                 "time",
                                 address_, target_));
                return false;
            }
            char c = 0;
            ssize_t n = ::recv(fd, &c, 1, 0);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (n <= 0) {
                fail(status::connect_failed,
                     fmt::format("proxy {}: connection closed before an "
                                 "answer to CONNECT {}",
                                 address_, target_));
                return false;
            }
            head.push_back(c);
        }

        auto reply = detail::parse_connect_reply(head);
        if (!reply) {
            fail(status::connect_failed,
                 fmt::format("proxy {}: not an HTTP answer to CONNECT {}",
                             address_, target_));
            return false;
        }
        if (reply->status < 200 || reply->status > 299) {
            fail(status::connect_failed,
                 detail::connect_refused(proxy_, target_, *reply));
            return false;
        }
        return true;
    }

    detail::proxy_config proxy_;
    std::string target_;
    std::string user_agent_;
    milliseconds connect_timeout_;
    milliseconds read_timeout_;
    std::string address_;
    steady_clock::time_point deadline_ = steady_clock::time_point::max();
    tunnel_failure failure_;
};

// A cpp-httplib client whose connection is a tunnel through a proxy. Only
// the socket is replaced: an SSLClient still does the TLS handshake with
// the CA's name for SNI and verifies its certificate and host name as it
// does on a direct connection, and requests keep the origin form, since
// no proxy is set in cpp-httplib itself.
template <class Base>
class tunnelled_client final : public Base {
public:
    tunnelled_client(const endpoint& target, const detail::proxy_config& proxy,
                     const httplib_transport_options& options)
        : Base(target.host, target.port), tunnel_(proxy, target, options)
    {
    }

    tunnel& via() { return tunnel_; }

private:
    bool create_and_connect_socket(typename Base::Socket& socket,
                                   httplib::Error& error) override
    {
        if (!this->is_valid())
            return false;
        int fd = tunnel_.open();
        if (fd < 0) {
            error = httplib::Error::Connection;
            return false;
        }
        socket.sock = fd;
        return true;
    }

    tunnel tunnel_;
};

struct connection {
    std::unique_ptr<httplib::ClientImpl> client;
    /// The same object when the origin is https, for the verify result.
    httplib::SSLClient* tls = nullptr;
    /// The tunnel when the origin is reached through a proxy.
    tunnel* via = nullptr;
};

} // namespace

struct httplib_transport::state {
    httplib_transport_options options;
    detail::proxy_plan proxy;
    // One client per origin keeps its connection open between requests.
    std::map<std::string, connection> clients;

    connection& client_for(const std::string& origin)
    {
        auto found = clients.find(origin);
        if (found != clients.end())
            return found->second;

        endpoint target = endpoint_of(origin);
        const detail::proxy_config* proxy =
            this->proxy.for_host(target.host, target.tls);
        connection made;
        if (target.tls) {
            std::unique_ptr<httplib::SSLClient> tls;
            if (proxy != nullptr) {
                auto t = std::make_unique<tunnelled_client<httplib::SSLClient>>(
                    target, *proxy, options);
                made.via = &t->via();
                tls = std::move(t);
            } else {
                tls = std::make_unique<httplib::SSLClient>(target.host,
                                                           target.port);
            }
            made.tls = tls.get();
            made.client = std::move(tls);
        } else if (proxy != nullptr) {
            auto t = std::make_unique<tunnelled_client<httplib::ClientImpl>>(
                target, *proxy, options);
            made.via = &t->via();
            made.client = std::move(t);
        } else {
            made.client =
                std::make_unique<httplib::ClientImpl>(target.host, target.port);
        }
        httplib::ClientImpl& c = *made.client;
        if (!c.is_valid())
            throw error(status::invalid_argument,
                        fmt::format("unusable URL origin: {}", origin));
        c.set_keep_alive(true);
        // Headers and body go out in separate writes; without this, Nagle
        // and delayed ACKs add about 40 ms to every request.
        c.set_tcp_nodelay(true);
        c.set_connection_timeout(options.connect_timeout);
        c.set_read_timeout(options.read_timeout);
        c.set_write_timeout(options.read_timeout);
        c.enable_server_certificate_verification(true);
        if (!options.ca_file.empty())
            c.set_ca_cert_path(options.ca_file);
        return clients.emplace(origin, std::move(made)).first->second;
    }
};

httplib_transport::httplib_transport(httplib_transport_options options)
    : state_(std::make_unique<state>())
{
    if (!options.ca_file.empty() && !std::ifstream(options.ca_file).good())
        throw error(status::io_error,
                    fmt::format("cannot read CA file {}", options.ca_file));
    state_->proxy = detail::make_proxy_plan(
        options.proxy_url, options.proxy_user, options.proxy_password,
        options.proxy_from_environment, options.no_proxy, detail::process_env);
    // The plan holds its own copy of the credentials.
    options.proxy_password.clear();
    state_->options = std::move(options);
}

httplib_transport::~httplib_transport() = default;

http_response httplib_transport::send(const http_request& request)
{
    split_url parts = split(request.url);
    connection& conn = state_->client_for(parts.origin);
    httplib::ClientImpl& client = *conn.client;

    httplib::Request req;
    req.method = request.method;
    req.path = parts.target;
    req.body = request.body;
    for (const http_header& h : request.headers)
        req.headers.emplace(h.name, h.value);
    req.headers.emplace("User-Agent", state_->options.user_agent);

    std::string body;
    req.content_receiver = [&body](const char* data, std::size_t size, uint64_t,
                                   uint64_t) {
        if (body.size() + size > max_body_size)
            return false;
        body.append(data, size);
        return true;
    };

    if (conn.via != nullptr)
        conn.via->arm(steady_clock::now() + state_->options.request_timeout);

    httplib::Response res;
    httplib::Error err = httplib::Error::Success;
    deadline_watch watch(client, state_->options.request_timeout);
    bool sent = client.send(req, res, err);
    bool expired = watch.finish();
    // A failed tunnel names the proxy, the hop that failed, even when the
    // deadline ran out during it.
    if (!sent && conn.via != nullptr && conn.via->failure().code != status::ok)
        throw error(conn.via->failure().code, conn.via->failure().message);
    std::string where = host_of(parts.origin);
    if (conn.via != nullptr)
        where += " via proxy " + conn.via->proxy_address();
    if (expired)
        throw error(status::timeout,
                    fmt::format("{}: no complete response within {} ms", where,
                                state_->options.request_timeout.count()));
    if (!sent) {
        long verify =
            conn.tls != nullptr ? conn.tls->get_openssl_verify_result() : 0;
        throw error(status_for(err),
                    fmt::format("{}: {}", where, describe(err, verify)));
    }

    http_response response;
    response.status = res.status;
    for (const auto& [name, value] : res.headers)
        response.headers.push_back({name, value});
    response.body = std::move(body);
    return response;
}

} // namespace acme
