#include <acmekit/adapters/mbedtls_transport.hpp>
#include <acmekit/problem.hpp>

#include "detail/descriptor.hpp"
#include "detail/http_syntax.hpp"
#include "detail/proxy.hpp"

#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include <fmt/format.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <utility>

namespace acme {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr const char* system_ca_file = "/etc/ssl/certs/ca-certificates.crt";

// A proxy's answer to CONNECT is a status line and a few headers.
constexpr std::size_t max_connect_reply = 16 * 1024;

// Servers may send 1xx responses before the real one; a few are normal,
// an endless stream of them is not.
constexpr int max_interim_responses = 8;

// How much is read from the socket or the TLS layer at a time.
constexpr std::size_t read_chunk = 16 * 1024;

std::string mbedtls_message(int code)
{
    char text[200];
    mbedtls_strerror(code, text, sizeof text);
    return text;
}

char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equals_nocase(std::string_view a, std::string_view b)
{
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    return true;
}

// A DNS name in ASCII (an IDN in its xn-- form) or an IP literal: what the
// Host header, the CONNECT line and certificate checks can carry safely.
bool plain_host(std::string_view host)
{
    for (char c : host) {
        bool allowed = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                       (c >= 'A' && c <= 'Z') || c == '.' || c == '-' ||
                       c == '_' || c == ':';
        if (!allowed)
            return false;
    }
    return true;
}

/// Where a request goes, from its absolute URL.
struct target_url {
    bool tls = false;
    std::string host; // without the brackets of an IPv6 literal
    std::uint16_t port = 0;
    std::string authority; // as written, for the Host header
    std::string path;      // path and query, at least "/"

    std::string address() const { return detail::join_host_port(host, port); }
    std::string origin() const
    {
        return (tls ? "https://" : "http://") + address();
    }
};

target_url parse_target(const std::string& url)
{
    std::size_t scheme_end = url.find("://");
    if (scheme_end == std::string::npos)
        throw error(status::invalid_argument,
                    fmt::format("not an absolute URL: {}", url));
    std::string_view scheme(url.data(), scheme_end);
    target_url out;
    if (equals_nocase(scheme, "https"))
        out.tls = true;
    else if (!equals_nocase(scheme, "http"))
        throw error(status::invalid_argument,
                    fmt::format("unsupported URL scheme: {}", scheme));

    std::string rest = url.substr(scheme_end + 3);
    std::size_t authority_end = rest.find_first_of("/?#");
    out.authority = rest.substr(0, authority_end);
    // Credentials in a URL would go to the server in the clear of the
    // Host header; ACME never puts them there.
    auto parts = out.authority.find('@') == std::string::npos
                     ? detail::split_host_port(out.authority)
                     : std::nullopt;
    if (!parts || !plain_host(parts->host))
        throw error(status::invalid_argument, "unusable host in URL");
    out.host = parts->host;
    out.port = parts->port.value_or(out.tls ? 443 : 80);

    std::string path =
        authority_end == std::string::npos ? "" : rest.substr(authority_end);
    path = path.substr(0, path.find('#'));
    if (path.empty() || path.front() != '/')
        path.insert(0, "/");
    for (char c : path)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
            throw error(status::invalid_argument,
                        fmt::format("URL contains a space or control "
                                    "character: {}",
                                    out.origin()));
    out.path = std::move(path);
    return out;
}

std::string request_head(const http_request& request, const target_url& target,
                         const std::string& user_agent)
{
    if (!detail::is_token(request.method))
        throw error(status::invalid_argument,
                    fmt::format("{}: unusable HTTP method", target.address()));
    std::string head =
        fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\n", request.method,
                    target.path, target.authority);
    bool own_user_agent = false;
    for (const http_header& h : request.headers) {
        if (!detail::is_token(h.name) || !detail::is_field_value(h.value))
            throw error(
                status::invalid_argument,
                fmt::format("{}: unusable request header {}", target.address(),
                            detail::is_token(h.name) ? h.name : "name"));
        // The framing and the host are this transport's to set: a second
        // Content-Length would desynchronise the connection.
        if (equals_nocase(h.name, "Host") ||
            equals_nocase(h.name, "Content-Length") ||
            equals_nocase(h.name, "Transfer-Encoding") ||
            equals_nocase(h.name, "Connection"))
            continue;
        own_user_agent |= equals_nocase(h.name, "User-Agent");
        head += fmt::format("{}: {}\r\n", h.name, h.value);
    }
    if (!own_user_agent && detail::is_field_value(user_agent))
        head += fmt::format("User-Agent: {}\r\n", user_agent);
    if (!request.body.empty() || request.method == "POST")
        head += fmt::format("Content-Length: {}\r\n", request.body.size());
    head += "\r\n";
    return head;
}

/// The limits of one send(): every wait ends at the next silence limit
/// or at the end of the whole request, whichever comes first.
class request_clock {
public:
    explicit request_clock(const mbedtls_transport_options& options)
        : end_(steady_clock::now() + options.request_timeout),
          silence_(options.read_timeout), whole_(options.request_timeout),
          connect_(options.connect_timeout)
    {
    }

    steady_clock::time_point next_wait() const
    {
        return std::min(end_, steady_clock::now() + silence_);
    }
    steady_clock::time_point connect_deadline() const
    {
        return std::min(end_, steady_clock::now() + connect_);
    }

    /// The same limits, but over by the connect timeout from now: a
    /// proxy's answer to CONNECT is part of reaching the server.
    request_clock connecting() const
    {
        request_clock out = *this;
        out.end_ = connect_deadline();
        return out;
    }
    milliseconds connect_timeout() const { return connect_; }
    bool over() const { return steady_clock::now() >= end_; }

    [[noreturn]] void expired(const std::string& where,
                              const char* during) const
    {
        if (over())
            throw error(status::timeout,
                        fmt::format("{}: no complete response within {} ms",
                                    where, whole_.count()));
        throw error(status::timeout,
                    fmt::format("{}: nothing received for {} ms {}", where,
                                silence_.count(), during));
    }

    [[noreturn]] void connect_expired(const std::string& where) const
    {
        if (over())
            expired(where, "");
        throw error(status::timeout,
                    fmt::format("{}: connection timed out after {} ms", where,
                                connect_.count()));
    }

private:
    steady_clock::time_point end_;
    milliseconds silence_;
    milliseconds whole_;
    milliseconds connect_;
};

/// The connection ended (closed or reset) before the response did. The
/// transport decides whether that is worth a second attempt.
struct connection_lost {
    std::string reason;
};

/// Whether the leaf certificate lists `address` (4 or 16 bytes) among
/// its subjectAltName iPAddress entries (RFC 5280 section 4.2.1.6).
/// mbedTLS 2.28 keeps only dNSName entries in subject_alt_names, so the
/// extension is read from the certificate's DER here.
bool san_lists_address(const mbedtls_x509_crt& cert,
                       const std::vector<unsigned char>& address)
{
    unsigned char* p = cert.v3_ext.p;
    if (p == nullptr)
        return false;
    const unsigned char* end = p + cert.v3_ext.len;
    std::size_t len = 0;
    if (mbedtls_asn1_get_tag(&p, end, &len,
                             MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
        return false;
    end = p + len;
    while (p < end) {
        if (mbedtls_asn1_get_tag(&p, end, &len,
                                 MBEDTLS_ASN1_CONSTRUCTED |
                                     MBEDTLS_ASN1_SEQUENCE))
            return false;
        unsigned char* extension_end = p + len;
        mbedtls_asn1_buf oid{};
        oid.tag = MBEDTLS_ASN1_OID;
        if (mbedtls_asn1_get_tag(&p, extension_end, &oid.len, MBEDTLS_ASN1_OID))
            return false;
        oid.p = p;
        p += oid.len;
        int critical = 0;
        (void)mbedtls_asn1_get_bool(&p, extension_end, &critical);
        if (mbedtls_asn1_get_tag(&p, extension_end, &len,
                                 MBEDTLS_ASN1_OCTET_STRING))
            return false;
        if (MBEDTLS_OID_CMP(MBEDTLS_OID_SUBJECT_ALT_NAME, &oid) == 0) {
            const unsigned char* names_end = p + len;
            if (mbedtls_asn1_get_tag(&p, names_end, &len,
                                     MBEDTLS_ASN1_CONSTRUCTED |
                                         MBEDTLS_ASN1_SEQUENCE))
                return false;
            names_end = p + len;
            while (p < names_end) {
                unsigned char tag = *p++;
                if (mbedtls_asn1_get_len(&p, names_end, &len))
                    return false;
                if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) &&
                    len == address.size() &&
                    std::memcmp(p, address.data(), len) == 0)
                    return true;
                p += len;
            }
            return false;
        }
        p = extension_end;
    }
    return false;
}

// Called by mbedTLS for every certificate of the chain; only the leaf
// carries the server's identity.
int check_address(void* context, mbedtls_x509_crt* cert, int depth,
                  std::uint32_t* flags)
{
    const auto& address = *static_cast<std::vector<unsigned char>*>(context);
    if (depth == 0 && !san_lists_address(*cert, address))
        *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
    return 0;
}

std::vector<unsigned char> ip_literal(const std::string& host)
{
    in6_addr v6{};
    if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1)
        return {v6.s6_addr, v6.s6_addr + sizeof v6.s6_addr};
    in_addr v4{};
    if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
        auto* bytes = reinterpret_cast<unsigned char*>(&v4.s_addr);
        return {bytes, bytes + 4};
    }
    return {};
}

std::string verify_problem(std::uint32_t flags, const std::string& host)
{
    std::string text;
    if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
        text = fmt::format("server certificate is not for {}", host);
    flags &= ~static_cast<std::uint32_t>(MBEDTLS_X509_BADCERT_CN_MISMATCH);
    if (flags == 0)
        return text;
    char info[512];
    if (mbedtls_x509_crt_verify_info(info, sizeof info, "", flags) < 0)
        info[0] = '\0';
    std::string reasons;
    for (std::string_view rest = info; !rest.empty();) {
        std::size_t newline = rest.find('\n');
        std::string_view line = detail::trim_ows(rest.substr(0, newline));
        rest =
            newline == std::string_view::npos ? "" : rest.substr(newline + 1);
        if (line.empty())
            continue;
        reasons += reasons.empty() ? "" : "; ";
        reasons += line;
    }
    if (!text.empty())
        text += ", and ";
    text += fmt::format("server certificate not trusted ({})",
                        reasons.empty() ? "unknown reason" : reasons);
    return text;
}

/// One TCP connection, with TLS on top for https. It owns a read buffer,
/// so that bytes past one response stay for the next. Not movable: the
/// TLS layer points back at it.
class connection {
public:
    connection(int fd, std::string where) : fd_(fd), where_(std::move(where))
    {
        mbedtls_ssl_init(&ssl_);
    }

    ~connection()
    {
        // A courtesy to the server; nothing waits for it to go out.
        if (tls_ready_)
            (void)mbedtls_ssl_close_notify(&ssl_);
        mbedtls_ssl_free(&ssl_);
        ::close(fd_);
    }

    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    const std::string& where() const { return where_; }
    void set_where(std::string where) { where_ = std::move(where); }
    bool response_started() const { return response_started_; }

    /// Starts a new request: nothing of its response has arrived yet.
    void begin_exchange() { response_started_ = false; }

    /// True when nothing has arrived since the last response: a readable
    /// idle connection is one the server closed or one out of step.
    bool idle_and_open()
    {
        if (buffer_start_ < buffer_.size())
            return false;
        if (tls_ready_ && mbedtls_ssl_get_bytes_avail(&ssl_) > 0)
            return false;
        pollfd p{fd_, POLLIN, 0};
        return ::poll(&p, 1, 0) == 0;
    }

    void start_tls(const mbedtls_ssl_config& config, const std::string& host,
                   const request_clock& clock)
    {
        int rc = mbedtls_ssl_setup(&ssl_, &config);
        if (rc != 0)
            throw error(status::tls_failed,
                        fmt::format("{}: cannot set up TLS ({})", where_,
                                    mbedtls_message(rc)));
        address_ = ip_literal(host);
        if (address_.empty()) {
            // Both SNI and the check of the certificate's names.
            rc = mbedtls_ssl_set_hostname(&ssl_, host.c_str());
        } else {
            // RFC 6066 section 3 forbids literal addresses in SNI, and
            // mbedTLS would compare the text with dNSName entries.
            rc = mbedtls_ssl_set_hostname(&ssl_, nullptr);
            mbedtls_ssl_set_verify(&ssl_, check_address, &address_);
        }
        if (rc != 0)
            throw error(status::invalid_argument,
                        fmt::format("{}: unusable host name", where_));
        mbedtls_ssl_set_bio(&ssl_, this, send_callback, recv_callback, nullptr);
        tls_ = true;

        for (;;) {
            rc = mbedtls_ssl_handshake(&ssl_);
            if (rc == 0)
                break;
            if (rc == MBEDTLS_ERR_SSL_WANT_READ ||
                rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
                await(rc == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT, clock,
                      "during the TLS handshake");
                continue;
            }
            handshake_failed(rc, host);
        }
        tls_ready_ = true;
    }

    /// Up to `size` bytes straight from the connection, bypassing the
    /// buffer; 0 at an orderly end. Throws connection_lost on a reset.
    std::size_t read_raw(char* out, std::size_t size,
                         const request_clock& clock, const char* during)
    {
        for (;;) {
            if (tls_) {
                int rc = mbedtls_ssl_read(
                    &ssl_, reinterpret_cast<unsigned char*>(out), size);
                if (rc > 0)
                    return static_cast<std::size_t>(rc);
                if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY ||
                    rc == MBEDTLS_ERR_SSL_CONN_EOF)
                    return 0;
                if (rc == MBEDTLS_ERR_SSL_WANT_READ ||
                    rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
                    await(rc == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT,
                          clock, during);
                    continue;
                }
                if (rc == MBEDTLS_ERR_NET_CONN_RESET)
                    throw connection_lost{"connection reset by the server"};
                throw error(status::tls_failed,
                            fmt::format("{}: TLS error {}: {}", where_, during,
                                        mbedtls_message(rc)));
            }
            ssize_t n = ::recv(fd_, out, size, 0);
            if (n >= 0)
                return static_cast<std::size_t>(n);
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                await(POLLIN, clock, during);
                continue;
            }
            throw connection_lost{std::strerror(errno)};
        }
    }

    void write_all(std::string_view data, const request_clock& clock)
    {
        const char* during = "while sending the request";
        while (!data.empty()) {
            long n = 0;
            if (tls_) {
                int rc = mbedtls_ssl_write(
                    &ssl_, reinterpret_cast<const unsigned char*>(data.data()),
                    data.size());
                if (rc == MBEDTLS_ERR_SSL_WANT_READ ||
                    rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
                    await(rc == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT,
                          clock, during);
                    continue;
                }
                if (rc == MBEDTLS_ERR_NET_CONN_RESET)
                    throw connection_lost{"connection closed by the server"};
                if (rc < 0)
                    throw error(status::tls_failed,
                                fmt::format("{}: TLS error {}: {}", where_,
                                            during, mbedtls_message(rc)));
                n = rc;
            } else {
                n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
                              errno == EINTR)) {
                    await(POLLOUT, clock, during);
                    continue;
                }
                if (n < 0)
                    throw connection_lost{std::strerror(errno)};
            }
            data.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    /// One line without its CRLF (or bare LF), at most `limit` bytes.
    std::string read_line(std::size_t limit, const request_clock& clock,
                          const std::string& what)
    {
        for (std::size_t scanned = 0;;) {
            std::size_t newline = buffer_.find('\n', buffer_start_ + scanned);
            if (newline != std::string::npos) {
                std::string line =
                    buffer_.substr(buffer_start_, newline - buffer_start_);
                buffer_start_ = newline + 1;
                if (!line.empty() && line.back() == '\r')
                    line.pop_back();
                if (line.size() > limit)
                    too_long(what, limit);
                return line;
            }
            scanned = buffer_.size() - buffer_start_;
            if (scanned > limit + 1)
                too_long(what, limit);
            if (!fill(clock))
                throw connection_lost{
                    response_started_
                        ? "connection closed in the middle of the response"
                        : "connection closed without a response"};
        }
    }

    /// Appends exactly `size` bytes to `out`.
    void read_exact(std::size_t size, std::string& out,
                    const request_clock& clock)
    {
        while (size > 0) {
            if (buffer_start_ == buffer_.size() && !fill(clock))
                throw connection_lost{
                    "connection closed in the middle of the response body"};
            std::size_t take = std::min(size, buffer_.size() - buffer_start_);
            out.append(buffer_, buffer_start_, take);
            buffer_start_ += take;
            size -= take;
        }
    }

    /// Appends everything up to the end of the connection, at most
    /// `limit` bytes in all; false when there was more.
    bool read_to_end(std::string& out, std::size_t limit,
                     const request_clock& clock)
    {
        for (;;) {
            out.append(buffer_, buffer_start_, std::string::npos);
            buffer_start_ = buffer_.size();
            if (out.size() > limit)
                return false;
            if (!fill(clock))
                return true;
        }
    }

private:
    static int send_callback(void* context, const unsigned char* data,
                             std::size_t size)
    {
        auto* self = static_cast<connection*>(context);
        ssize_t n = ::send(self->fd_, data, size, MSG_NOSIGNAL);
        if (n >= 0)
            return static_cast<int>(n);
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return MBEDTLS_ERR_SSL_WANT_WRITE;
        return errno == EPIPE || errno == ECONNRESET
                   ? MBEDTLS_ERR_NET_CONN_RESET
                   : MBEDTLS_ERR_NET_SEND_FAILED;
    }

    static int recv_callback(void* context, unsigned char* data,
                             std::size_t size)
    {
        auto* self = static_cast<connection*>(context);
        ssize_t n = ::recv(self->fd_, data, size, 0);
        if (n >= 0)
            return static_cast<int>(n);
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return MBEDTLS_ERR_SSL_WANT_READ;
        return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET
                                   : MBEDTLS_ERR_NET_RECV_FAILED;
    }

    void await(short events, const request_clock& clock, const char* during)
    {
        if (clock.over() || !detail::wait_ready(fd_, events, clock.next_wait()))
            clock.expired(where_, during);
    }

    bool fill(const request_clock& clock)
    {
        if (buffer_start_ > 0) {
            buffer_.erase(0, buffer_start_);
            buffer_start_ = 0;
        }
        std::size_t had = buffer_.size();
        buffer_.resize(had + read_chunk);
        std::size_t n = 0;
        try {
            n = read_raw(&buffer_[had], read_chunk, clock,
                         "while waiting for the response");
        } catch (...) {
            buffer_.resize(had);
            throw;
        }
        buffer_.resize(had + n);
        response_started_ |= n > 0;
        return n > 0;
    }

    [[noreturn]] void too_long(const std::string& what, std::size_t limit) const
    {
        throw error(
            status::bad_response,
            fmt::format("{}: {} longer than {} bytes", where_, what, limit));
    }

    [[noreturn]] void handshake_failed(int rc, const std::string& host) const
    {
        std::uint32_t flags = mbedtls_ssl_get_verify_result(&ssl_);
        if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED ||
            (flags != 0 && flags != static_cast<std::uint32_t>(-1)))
            throw error(
                status::tls_verify_failed,
                fmt::format("{}: {}", where_, verify_problem(flags, host)));
        if (rc == MBEDTLS_ERR_NET_CONN_RESET || rc == MBEDTLS_ERR_SSL_CONN_EOF)
            throw error(status::tls_failed,
                        fmt::format("{}: TLS handshake failed: the server "
                                    "closed the connection",
                                    where_));
        throw error(status::tls_failed,
                    fmt::format("{}: TLS handshake failed: {}", where_,
                                mbedtls_message(rc)));
    }

    int fd_;
    std::string where_;
    mbedtls_ssl_context ssl_;
    bool tls_ = false;
    bool tls_ready_ = false;
    bool response_started_ = false;
    std::vector<unsigned char> address_;
    std::string buffer_;
    std::size_t buffer_start_ = 0;
};

/// A connected non-blocking TCP socket to host:port, with Nagle off.
/// `where` names the peer in messages.
int dial(const std::string& host, std::uint16_t port, const std::string& where,
         const request_clock& clock)
{
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    std::string service = std::to_string(port);
    int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
    if (rc != 0)
        throw error(status::connect_failed,
                    fmt::format("cannot connect to {}: cannot resolve the "
                                "name ({})",
                                where, ::gai_strerror(rc)));
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found,
                                                              &::freeaddrinfo);

    auto deadline = clock.connect_deadline();
    int last_errno = ECONNREFUSED;
    for (addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
        int fd = ::socket(ai->ai_family,
                          ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        // Without it, Nagle and delayed ACKs hold back the last segment
        // of a request for about 40 ms.
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int err = 0;
        if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            err = errno;
            if (err == EINPROGRESS) {
                if (!detail::wait_ready(fd, POLLOUT, deadline)) {
                    ::close(fd);
                    clock.connect_expired(where);
                }
                socklen_t len = sizeof err;
                if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
                    err = errno;
            }
        }
        if (err == 0)
            return fd;
        ::close(fd);
        last_errno = err;
    }
    throw error(status::connect_failed,
                fmt::format("cannot connect to {}: {}", where,
                            std::strerror(last_errno)));
}

/// Asks the proxy on `conn` for a tunnel to `target`; throws naming the
/// proxy when it refuses or fails.
void open_tunnel(connection& conn, const detail::proxy_config& proxy,
                 const std::string& target, const std::string& user_agent,
                 const request_clock& request_limits)
{
    std::string proxy_address = proxy.address();
    secret_bytes request = detail::connect_request(proxy, target, user_agent);
    request_clock clock = request_limits.connecting();
    try {
        conn.write_all(request.view(), clock);
        request.clear();

        // One byte at a time, so that nothing after the proxy's header is
        // consumed: those bytes belong to the TLS handshake.
        std::string head;
        while (head.size() < max_connect_reply &&
               !detail::connect_reply_ended(head)) {
            char c = 0;
            if (conn.read_raw(&c, 1, clock, "waiting for the CONNECT answer") ==
                0)
                throw connection_lost{"connection closed"};
            head.push_back(c);
        }
        auto reply = detail::parse_connect_reply(head);
        if (!reply)
            throw error(status::connect_failed,
                        fmt::format("proxy {}: not an HTTP answer to CONNECT "
                                    "{}",
                                    proxy_address, target));
        if (reply->status < 200 || reply->status > 299)
            throw error(status::connect_failed,
                        detail::connect_refused(proxy, target, *reply));
    } catch (const connection_lost& lost) {
        throw error(status::connect_failed,
                    fmt::format("proxy {}: {} before an answer to CONNECT {}",
                                proxy_address, lost.reason, target));
    } catch (const error& e) {
        if (e.code() != status::timeout)
            throw;
        throw error(status::timeout,
                    fmt::format("proxy {}: no answer to CONNECT {} within {} "
                                "ms",
                                proxy_address, target,
                                clock.connect_timeout().count()));
    }
}

struct status_line {
    int version_minor = 1;
    int code = 0;
};

// "HTTP/1.x NNN reason" (RFC 9112 section 4).
std::optional<status_line> parse_status_line(std::string_view line)
{
    if (line.size() < 12 || line.compare(0, 7, "HTTP/1.") != 0 ||
        line[8] != ' ' || (line.size() > 12 && line[12] != ' '))
        return std::nullopt;
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (!digit(line[7]) || !digit(line[9]) || !digit(line[10]) ||
        !digit(line[11]))
        return std::nullopt;
    status_line out;
    out.version_minor = line[7] - '0';
    out.code = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    if (out.code < 100 || out.code > 599)
        return std::nullopt;
    return out;
}

bool has_token(const std::vector<std::string>& values, std::string_view token)
{
    for (const std::string& value : values) {
        std::string_view rest = value;
        while (!rest.empty()) {
            std::size_t comma = rest.find(',');
            if (equals_nocase(detail::trim_ows(rest.substr(0, comma)), token))
                return true;
            rest =
                comma == std::string_view::npos ? "" : rest.substr(comma + 1);
        }
    }
    return false;
}

/// Reads one response from `conn`. `reusable` says afterwards whether
/// the connection may carry another request.
class response_reader {
public:
    response_reader(connection& conn, const request_clock& clock)
        : conn_(conn), clock_(clock)
    {
    }

    http_response read(bool head_request, bool& reusable)
    {
        http_response response;
        status_line line;
        for (int interim = 0;; ++interim) {
            std::string text = conn_.read_line(
                mbedtls_transport_max_header_line, clock_, "status line");
            auto parsed = parse_status_line(text);
            if (!parsed)
                bad("malformed status line");
            line = *parsed;
            response.headers = read_headers("header");
            if (line.code >= 200)
                break;
            // 101 would switch protocols, which nothing here asked for.
            if (line.code == 101 || interim + 1 >= max_interim_responses)
                bad(fmt::format("unexpected HTTP {} response", line.code));
        }
        response.status = line.code;

        auto connection_values = response.headers_named("Connection");
        reusable = line.version_minor >= 1
                       ? !has_token(connection_values, "close")
                       : has_token(connection_values, "keep-alive");
        // RFC 9112 section 6.3: these have no body, whatever they say.
        if (head_request || line.code == 204 || line.code == 304)
            return response;

        auto encodings = response.headers_named("Transfer-Encoding");
        auto lengths = response.headers_named("Content-Length");
        if (!encodings.empty()) {
            // Both at once may be a smuggling attempt; the connection is
            // not trusted for another request.
            if (!lengths.empty())
                reusable = false;
            if (last_coding_is_chunked(encodings)) {
                read_chunked(response.body);
                return response;
            }
            reusable = false;
            read_until_close(response.body);
            return response;
        }
        if (!lengths.empty()) {
            std::size_t length = content_length(lengths);
            if (length > mbedtls_transport_max_body)
                too_big();
            conn_.read_exact(length, response.body, clock_);
            return response;
        }
        reusable = false;
        read_until_close(response.body);
        return response;
    }

private:
    [[noreturn]] void bad(const std::string& what) const
    {
        throw error(status::bad_response,
                    fmt::format("{}: {}", conn_.where(), what));
    }

    [[noreturn]] void too_big() const
    {
        bad(fmt::format("response body larger than {} bytes",
                        mbedtls_transport_max_body));
    }

    std::vector<http_header> read_headers(const std::string& what)
    {
        std::vector<http_header> headers;
        for (std::size_t count = 0;; ++count) {
            std::string text = conn_.read_line(
                mbedtls_transport_max_header_line, clock_, what + " line");
            if (text.empty())
                return headers;
            if (count >= mbedtls_transport_max_headers)
                bad(fmt::format("more than {} {}s",
                                mbedtls_transport_max_headers, what));
            // Obsolete line folding (RFC 9112 section 5.2) is refused
            // rather than guessed at.
            std::size_t colon = text.find(':');
            if (colon == std::string::npos ||
                !detail::is_token(std::string_view(text).substr(0, colon)) ||
                !detail::is_field_value(
                    std::string_view(text).substr(colon + 1)))
                bad(fmt::format("malformed {} line", what));
            headers.push_back({text.substr(0, colon),
                               std::string(detail::trim_ows(
                                   std::string_view(text).substr(colon + 1)))});
        }
    }

    static bool last_coding_is_chunked(const std::vector<std::string>& values)
    {
        std::string_view last = values.back();
        std::size_t comma = last.rfind(',');
        if (comma != std::string_view::npos)
            last = last.substr(comma + 1);
        return equals_nocase(detail::trim_ows(last), "chunked");
    }

    std::size_t content_length(const std::vector<std::string>& values) const
    {
        std::optional<std::size_t> length;
        for (const std::string& value : values) {
            if (value.empty() || value.size() > 15 ||
                value.find_first_not_of("0123456789") != std::string::npos)
                bad("malformed Content-Length");
            std::size_t parsed = std::stoull(value);
            if (length && *length != parsed)
                bad("conflicting Content-Length headers");
            length = parsed;
        }
        return *length;
    }

    // RFC 9112 section 7.1. The body cap also bounds the number of
    // chunks, since every chunk but the last carries at least one byte.
    void read_chunked(std::string& body)
    {
        for (;;) {
            std::string line = conn_.read_line(
                mbedtls_transport_max_header_line, clock_, "chunk size line");
            std::string_view size_text = detail::trim_ows(
                std::string_view(line).substr(0, line.find(';')));
            if (size_text.empty() || size_text.size() > 15 ||
                size_text.find_first_not_of("0123456789abcdefABCDEF") !=
                    std::string_view::npos)
                bad("malformed chunk size");
            std::size_t size = std::stoull(std::string(size_text), nullptr, 16);
            if (size == 0)
                break;
            if (size > mbedtls_transport_max_body - body.size())
                too_big();
            conn_.read_exact(size, body, clock_);
            if (!conn_.read_line(2, clock_, "chunk end").empty())
                bad("chunk not followed by CRLF");
        }
        // Trailer fields carry nothing ACME uses.
        (void)read_headers("trailer");
    }

    void read_until_close(std::string& body)
    {
        if (!conn_.read_to_end(body, mbedtls_transport_max_body, clock_))
            too_big();
    }

    connection& conn_;
    const request_clock& clock_;
};

} // namespace

struct mbedtls_transport::state {
    mbedtls_transport_options options;
    detail::proxy_plan proxy;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context random;
    mbedtls_x509_crt ca;
    mbedtls_ssl_config config;
    // Last, so that connections go before the configuration they use.
    std::map<std::string, std::unique_ptr<connection>> connections;

    state()
    {
        mbedtls_entropy_init(&entropy);
        mbedtls_ctr_drbg_init(&random);
        mbedtls_x509_crt_init(&ca);
        mbedtls_ssl_config_init(&config);
    }

    ~state()
    {
        connections.clear();
        mbedtls_ssl_config_free(&config);
        mbedtls_x509_crt_free(&ca);
        mbedtls_ctr_drbg_free(&random);
        mbedtls_entropy_free(&entropy);
    }

    state(const state&) = delete;
    state& operator=(const state&) = delete;

    void load_ca(const std::string& path)
    {
        if (!std::ifstream(path).good())
            throw error(status::io_error,
                        fmt::format("cannot read CA file {}", path));
        int rc = mbedtls_x509_crt_parse_file(&ca, path.c_str());
        // A positive result counts certificates that failed to parse
        // next to good ones, as a system bundle may hold.
        if (rc < 0 || ca.version == 0)
            throw error(status::io_error,
                        fmt::format("CA file {} holds no usable certificate "
                                    "({})",
                                    path, mbedtls_message(rc)));
    }

    void configure_tls()
    {
        static const char personalization[] = "acmekit mbedtls_transport";
        int rc = mbedtls_ctr_drbg_seed(
            &random, mbedtls_entropy_func, &entropy,
            reinterpret_cast<const unsigned char*>(personalization),
            sizeof personalization - 1);
        if (rc != 0)
            throw error(status::crypto_error,
                        fmt::format("cannot seed the random generator ({})",
                                    mbedtls_message(rc)));
        rc = mbedtls_ssl_config_defaults(&config, MBEDTLS_SSL_IS_CLIENT,
                                         MBEDTLS_SSL_TRANSPORT_STREAM,
                                         MBEDTLS_SSL_PRESET_DEFAULT);
        if (rc != 0)
            throw error(
                status::tls_failed,
                fmt::format("cannot configure TLS ({})", mbedtls_message(rc)));
        mbedtls_ssl_conf_authmode(&config, MBEDTLS_SSL_VERIFY_REQUIRED);
        mbedtls_ssl_conf_ca_chain(&config, &ca, nullptr);
        mbedtls_ssl_conf_rng(&config, mbedtls_ctr_drbg_random, &random);
        mbedtls_ssl_conf_min_version(&config, MBEDTLS_SSL_MAJOR_VERSION_3,
                                     MBEDTLS_SSL_MINOR_VERSION_3);
    }

    /// How messages name the server, and the proxy that leads to it.
    std::string where(const target_url& target) const
    {
        const detail::proxy_config* via =
            proxy.for_host(target.host, target.tls);
        return via == nullptr
                   ? target.address()
                   : target.address() + " via proxy " + via->address();
    }

    std::unique_ptr<connection> open(const target_url& target,
                                     const request_clock& clock)
    {
        const detail::proxy_config* via =
            proxy.for_host(target.host, target.tls);
        std::unique_ptr<connection> conn;
        if (via == nullptr) {
            conn = std::make_unique<connection>(
                dial(target.host, target.port, target.address(), clock),
                target.address());
        } else {
            std::string proxy_where = "proxy " + via->address();
            int fd = dial(via->host, via->port, proxy_where, clock);
            conn = std::make_unique<connection>(fd, proxy_where);
            open_tunnel(*conn, *via, target.address(), options.user_agent,
                        clock);
            conn->set_where(where(target));
        }
        if (target.tls)
            conn->start_tls(config, target.host, clock);
        return conn;
    }
};

mbedtls_transport::mbedtls_transport(mbedtls_transport_options options)
    : state_(std::make_unique<state>())
{
    state_->load_ca(options.ca_file.empty() ? system_ca_file : options.ca_file);
    state_->proxy = detail::make_proxy_plan(
        options.proxy_url, options.proxy_user, options.proxy_password,
        options.proxy_from_environment, options.no_proxy, detail::process_env);
    // The plan holds its own copy of the credentials.
    options.proxy_password.clear();
    state_->configure_tls();
    state_->options = std::move(options);
}

mbedtls_transport::~mbedtls_transport() = default;

http_response mbedtls_transport::send(const http_request& request)
{
    target_url target = parse_target(request.url);
    std::string head =
        request_head(request, target, state_->options.user_agent);
    request_clock clock(state_->options);
    std::unique_ptr<connection>& slot = state_->connections[target.origin()];
    if (slot && !slot->idle_and_open())
        slot.reset();

    // A kept-alive connection may have been closed by the server just as
    // the request went out; one more try on a fresh connection is safe
    // while no byte of an answer came back.
    for (int attempt = 0; attempt < 2; ++attempt) {
        bool reused = slot != nullptr;
        if (!reused)
            slot = state_->open(target, clock);
        try {
            slot->begin_exchange();
            slot->write_all(head, clock);
            slot->write_all(request.body, clock);
            bool reusable = false;
            http_response response =
                response_reader(*slot, clock)
                    .read(request.method == "HEAD", reusable);
            if (!reusable)
                slot.reset();
            return response;
        } catch (const connection_lost& lost) {
            bool retry = reused && !slot->response_started();
            std::string where = slot->where();
            slot.reset();
            if (!retry)
                throw error(status::connect_failed,
                            fmt::format("{}: {}", where, lost.reason));
        } catch (...) {
            // Whatever failed left the connection at an unknown point of
            // the exchange.
            slot.reset();
            throw;
        }
    }
    throw error(status::connect_failed,
                fmt::format("{}: connection closed without a response",
                            state_->where(target)));
}

} // namespace acme
