// The HTTP-01 responder over plain POSIX sockets, the same in every build.
// One thread runs a poll() loop over the listening socket, a wake-up pipe
// and every open connection, so a slow or hostile client costs a file
// descriptor and a few kilobytes, never a thread. Each connection
// carries one request: the answer says "Connection: close", which every
// HTTP/1.0 and 1.1 client understands, and spares a keep-alive state.
#include <acmekit/adapters/http01_responder.hpp>
#include <acmekit/problem.hpp>

#include "detail/descriptor.hpp"
#include "detail/http_syntax.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace acme {

namespace {

using steady = std::chrono::steady_clock;

// The request line and header fields together. A CA's GET is a few hundred
// bytes; more is refused rather than buffered.
constexpr std::size_t max_request_head = 8 * 1024;

// From accept to a complete request head, and again for writing the answer.
// A total, not a per-read timeout, so trickling bytes does not extend it.
constexpr std::chrono::seconds request_timeout{5};

// After answering, what the client still sends is read and dropped for a
// short while before closing: closing a socket with unread input makes the
// kernel send a reset, which can destroy the answer before it is read.
constexpr std::chrono::milliseconds linger_timeout{1000};
constexpr std::size_t max_linger_bytes = 64 * 1024;

// Connections served at once; more wait in the kernel's listen queue until
// one finishes or times out. A CA fetches from a handful of vantage points.
constexpr std::size_t max_connections = 64;
constexpr int listen_backlog = 64;

// The longest poll() sleep; stop() wakes the loop at once through the pipe,
// this only bounds the wait should that write ever fail.
constexpr std::chrono::milliseconds max_poll_wait{500};

// accept() failing for lack of descriptors or memory leaves the listener
// readable; without a pause the loop would spin on it.
constexpr std::chrono::milliseconds accept_pause{100};

constexpr const char* challenge_prefix = "/.well-known/acme-challenge/";

using detail::unique_fd;

// The loop must never block on one descriptor, and no descriptor should
// leak into a program the host starts.
bool make_nonblocking(int fd) noexcept
{
    int flags = fcntl(fd, F_GETFL);
    return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 &&
           fcntl(fd, F_SETFD, FD_CLOEXEC) == 0;
}

int hex_digit(char c) noexcept
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// Undoes %XX escapes, as a client may escape any character (RFC 3986
// section 2.1); false for a malformed escape.
bool percent_decode(const std::string& text, std::string& out)
{
    out.clear();
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        int high = i + 2 < text.size() ? hex_digit(text[i + 1]) : -1;
        int low = i + 2 < text.size() ? hex_digit(text[i + 2]) : -1;
        if (high < 0 || low < 0)
            return false;
        out += static_cast<char>(high * 16 + low);
        i += 2;
    }
    return true;
}

bool starts_with_nocase(const std::string& text, const char* prefix) noexcept
{
    std::size_t length = std::strlen(prefix);
    if (text.size() < length)
        return false;
    for (std::size_t i = 0; i < length; ++i) {
        char c = text[i];
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
        if (c != prefix[i])
            return false;
    }
    return true;
}

// The path of an origin-form ("/a/b?q") or absolute-form
// ("http://host/a/b?q") request target (RFC 9112 section 3.2), without the
// query; false for a target that is neither.
bool target_path(const std::string& target, std::string& path)
{
    std::string rest = target;
    if (starts_with_nocase(rest, "http://") ||
        starts_with_nocase(rest, "https://")) {
        std::size_t slash = rest.find('/', rest.find("//") + 2);
        rest = slash == std::string::npos ? "/" : rest.substr(slash);
    }
    if (rest.empty() || rest[0] != '/')
        return false;
    return percent_decode(rest.substr(0, rest.find('?')), path);
}

// Where the request head ends (just past its empty line), searching from
// `from`, or npos. Lines may end in CRLF or, leniently, a bare LF.
std::size_t head_end(const std::string& input, std::size_t from) noexcept
{
    for (std::size_t i = input.find('\n', from); i != std::string::npos;
         i = input.find('\n', i + 1)) {
        if (i + 1 < input.size() && input[i + 1] == '\n')
            return i + 2;
        if (i + 2 < input.size() && input[i + 1] == '\r' &&
            input[i + 2] == '\n')
            return i + 3;
    }
    return std::string::npos;
}

// The lines of a head, each without its line ending, up to the empty one.
std::vector<std::string> head_lines(const std::string& head)
{
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (std::size_t end = head.find('\n'); end != std::string::npos;
         end = head.find('\n', start)) {
        std::string line = head.substr(start, end - start);
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (line.empty())
            break;
        lines.push_back(std::move(line));
        start = end + 1;
    }
    return lines;
}

// A header field line is "name: value"; whitespace before the colon, line
// folding and control characters are errors (RFC 9112 section 5).
bool valid_field_line(const std::string& line) noexcept
{
    std::size_t colon = line.find(':');
    return colon != std::string::npos &&
           detail::is_token(std::string_view(line).substr(0, colon)) &&
           detail::is_field_value(std::string_view(line).substr(colon + 1));
}

std::string reply(int code, const char* reason, const std::string& body,
                  bool head_only, const char* extra_field = nullptr)
{
    // No Content-Encoding ever: the answer is compared byte for byte, and
    // compressing 90 bytes would only cost memory.
    std::string out = fmt::format("HTTP/1.1 {} {}\r\n", code, reason);
    if (!body.empty())
        out += "Content-Type: application/octet-stream\r\n";
    if (extra_field != nullptr)
        out += fmt::format("{}\r\n", extra_field);
    out += fmt::format("Content-Length: {}\r\nConnection: close\r\n\r\n",
                       body.size());
    if (!head_only)
        out += body;
    return out;
}

struct request {
    std::string method;
    std::string path; // decoded, without the query
};

bool is_http_version(const std::string& text) noexcept
{
    return text.size() == 8 && text.compare(0, 5, "HTTP/") == 0 &&
           std::isdigit(static_cast<unsigned char>(text[5])) &&
           text[6] == '.' && std::isdigit(static_cast<unsigned char>(text[7]));
}

bool is_visible(const std::string& text) noexcept
{
    return std::all_of(text.begin(), text.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u != 0x7f;
    });
}

// 0 for a well-formed HTTP/1.x request head, filling `out`; otherwise the
// status to refuse it with, 400 or 505.
int parse_head(const std::string& head, request& out)
{
    std::vector<std::string> lines = head_lines(head);
    if (lines.empty())
        return 400;

    // request-line = method SP request-target SP HTTP-version
    const std::string& line = lines[0];
    std::size_t first = line.find(' ');
    std::size_t second = line.find(' ', first + 1);
    if (first == std::string::npos || second == std::string::npos ||
        line.find(' ', second + 1) != std::string::npos)
        return 400;
    out.method = line.substr(0, first);
    std::string target = line.substr(first + 1, second - first - 1);
    std::string version = line.substr(second + 1);
    if (!detail::is_token(out.method) || !is_http_version(version) ||
        !is_visible(target) || !target_path(target, out.path) ||
        !std::all_of(lines.begin() + 1, lines.end(), valid_field_line))
        return 400;
    return version[5] == '1' ? 0 : 505;
}

enum class phase { reading, writing, lingering };

struct connection {
    unique_fd fd;
    phase step = phase::reading;
    std::string input;
    std::string output;
    std::size_t sent = 0;
    std::size_t discarded = 0;
    steady::time_point deadline;
};

} // namespace

struct http01_responder::state {
    http01_responder_options options;
    bool started = false;
    unique_fd listener;
    unique_fd wake_read;
    unique_fd wake_write;
    std::atomic<bool> stopping{false};
    std::thread loop;

    std::mutex mutex;
    std::map<std::string, std::string> answers; // token -> key authorization

    // Only the loop thread touches these.
    std::vector<connection> connections;
    steady::time_point accept_paused_until;

    std::string answer_for(const std::string& head);
    void run() noexcept;
    void run_once();
    int poll_wait_ms(steady::time_point now) const;
    void accept_new(steady::time_point now);
    void on_ready(connection& c, short events, steady::time_point now);
    void read_request(connection& c, steady::time_point now);
    void write_answer(connection& c, steady::time_point now);
    void drain(connection& c);
};

// The complete response to one request head.
std::string http01_responder::state::answer_for(const std::string& head)
{
    request parsed;
    if (int refused = parse_head(head, parsed))
        return refused == 505
                   ? reply(505, "HTTP Version Not Supported", {}, false)
                   : reply(400, "Bad Request", {}, false);

    // The answer is the same for every Host, so the field is not checked.
    bool head_only = parsed.method == "HEAD";
    if (parsed.method != "GET" && !head_only)
        return reply(405, "Method Not Allowed", {}, false, "Allow: GET, HEAD");
    std::size_t prefix = std::strlen(challenge_prefix);
    std::string token = parsed.path.compare(0, prefix, challenge_prefix) == 0
                            ? parsed.path.substr(prefix)
                            : std::string();
    std::string key_authorization;
    {
        std::lock_guard<std::mutex> lock(mutex);
        auto found =
            valid_challenge_token(token) ? answers.find(token) : answers.end();
        if (found == answers.end())
            return reply(404, "Not Found", {}, head_only);
        key_authorization = found->second;
    }
    return reply(200, "OK", key_authorization, head_only);
}

void http01_responder::state::run() noexcept
{
    while (!stopping) {
        try {
            run_once();
        } catch (const std::exception&) {
            // Out of memory: dropping every client frees what they held,
            // and the CA retries. Better than std::terminate in a device.
            connections.clear();
            std::this_thread::sleep_for(accept_pause);
        }
    }
    connections.clear();
}

int http01_responder::state::poll_wait_ms(steady::time_point now) const
{
    steady::time_point wake = now + max_poll_wait;
    for (const auto& c : connections)
        wake = std::min(wake, c.deadline);
    if (accept_paused_until > now)
        wake = std::min(wake, accept_paused_until);
    if (wake <= now)
        return 0;
    // Rounded up, so that a deadline a fraction of a millisecond away does
    // not turn into a string of zero-timeout polls.
    return static_cast<int>(
        std::chrono::ceil<std::chrono::milliseconds>(wake - now).count());
}

void http01_responder::state::run_once()
{
    steady::time_point now = steady::now();
    connections.erase(std::remove_if(connections.begin(), connections.end(),
                                     [&](const connection& c) {
                                         return !c.fd || c.deadline <= now;
                                     }),
                      connections.end());

    // Slot 0 is the wake-up pipe, slot 1 the listener (ignored while full
    // or paused: poll() skips negative descriptors), then one per client.
    bool accepting =
        connections.size() < max_connections && accept_paused_until <= now;
    std::vector<pollfd> polled;
    polled.reserve(connections.size() + 2);
    polled.push_back({wake_read.get(), POLLIN, 0});
    polled.push_back({accepting ? listener.get() : -1, POLLIN, 0});
    for (const auto& c : connections)
        polled.push_back(
            {c.fd.get(),
             static_cast<short>(c.step == phase::writing ? POLLOUT : POLLIN),
             0});

    int ready = ::poll(polled.data(), polled.size(), poll_wait_ms(now));
    if (ready < 0 && errno != EINTR)
        std::this_thread::sleep_for(accept_pause); // ENOMEM: do not spin
    if (ready <= 0 || stopping)
        return;

    now = steady::now();
    for (std::size_t i = 0; i < connections.size(); ++i)
        if (polled[i + 2].revents != 0)
            on_ready(connections[i], polled[i + 2].revents, now);
    if (polled[1].revents != 0)
        accept_new(now);
}

void http01_responder::state::accept_new(steady::time_point now)
{
    // Bounded by the free slots; the rest stay queued in the kernel.
    while (connections.size() < max_connections) {
        unique_fd client(::accept(listener.get(), nullptr, nullptr));
        if (!client) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM)
                accept_paused_until = now + accept_pause;
            // EAGAIN: queue empty. ECONNABORTED and the like: that client
            // is gone, the next call of the loop takes any other.
            return;
        }
        if (!make_nonblocking(client.get()))
            continue;
        connection c;
        c.fd = std::move(client);
        c.deadline = now + request_timeout;
        connections.push_back(std::move(c));
    }
}

void http01_responder::state::on_ready(connection& c, short events,
                                       steady::time_point now)
{
    if ((events & POLLNVAL) != 0) {
        c.fd.release();
        return;
    }
    // Errors and hang-ups show up as a failing recv() or send().
    switch (c.step) {
    case phase::reading: read_request(c, now); break;
    case phase::writing: write_answer(c, now); break;
    case phase::lingering: drain(c); break;
    }
}

void http01_responder::state::read_request(connection& c,
                                           steady::time_point now)
{
    char buffer[4096];
    std::size_t room = max_request_head - c.input.size();
    ssize_t got = ::recv(c.fd.get(), buffer, std::min(room, sizeof buffer), 0);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (got <= 0) {
        c.fd.reset(); // closed or failed before a whole request arrived
        return;
    }

    // The empty line that ends the head may begin in the bytes read before.
    std::size_t searched = c.input.size() >= 2 ? c.input.size() - 2 : 0;
    c.input.append(buffer, static_cast<std::size_t>(got));
    // RFC 9112 section 2.2: empty lines before a request line are ignored.
    // Only a head that is still empty can start with one.
    c.input.erase(0, c.input.find_first_not_of("\r\n"));
    std::size_t end = head_end(c.input, searched);
    if (end != std::string::npos)
        c.output = answer_for(c.input.substr(0, end));
    else if (c.input.size() >= max_request_head)
        c.output = reply(431, "Request Header Fields Too Large", {}, false);
    else
        return;

    std::string().swap(c.input);
    c.step = phase::writing;
    c.deadline = now + request_timeout;
    write_answer(c, now);
}

void http01_responder::state::write_answer(connection& c,
                                           steady::time_point now)
{
    // Each pass sends something or stops, so this ends.
    while (c.sent < c.output.size()) {
        // MSG_NOSIGNAL: a client that went away must not raise SIGPIPE,
        // which would end the host program.
        ssize_t put = ::send(c.fd.get(), c.output.data() + c.sent,
                             c.output.size() - c.sent, MSG_NOSIGNAL);
        if (put < 0 && errno == EINTR)
            continue;
        if (put < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (put <= 0) {
            c.fd.reset();
            return;
        }
        c.sent += static_cast<std::size_t>(put);
    }

    std::string().swap(c.output);
    ::shutdown(c.fd.get(), SHUT_WR);
    c.step = phase::lingering;
    c.deadline = now + linger_timeout;
}

void http01_responder::state::drain(connection& c)
{
    char buffer[4096];
    ssize_t got = ::recv(c.fd.get(), buffer, sizeof buffer, 0);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (got > 0)
        c.discarded += static_cast<std::size_t>(got);
    if (got <= 0 || c.discarded > max_linger_bytes)
        c.fd.reset();
}

namespace {

std::string printable(const std::string& address, int port)
{
    bool v6 = address.find(':') != std::string::npos;
    return fmt::format("{}{}{}:{}", v6 ? "[" : "", address, v6 ? "]" : "",
                       port);
}

// A listening socket on a numeric address, or none with `reason` set to
// errno (0 when the address is not numeric).
unique_fd open_listener(const std::string& address, int port, int& reason)
{
    reason = 0;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    // Numeric only: a device must not depend on a name lookup to answer.
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    std::string service = std::to_string(port);
    if (port < 0 || port > 65535 ||
        ::getaddrinfo(address.c_str(), service.c_str(), &hints, &found) != 0)
        return {};
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard(found, freeaddrinfo);

    unique_fd sock(::socket(found->ai_family, found->ai_socktype, 0));
    if (!sock || !make_nonblocking(sock.get())) {
        reason = errno;
        return {};
    }
    // SO_REUSEADDR only skips sockets in TIME_WAIT after a restart; it
    // still refuses a port another program listens on.
    int yes = 1, no = 0;
    ::setsockopt(sock.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    // An IPv6 socket on "::" takes IPv4 too, whatever the system's default
    // (net.ipv6.bindv6only) says.
    if (found->ai_family == AF_INET6)
        ::setsockopt(sock.get(), IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof no);
    if (::bind(sock.get(), found->ai_addr, found->ai_addrlen) != 0 ||
        ::listen(sock.get(), listen_backlog) != 0) {
        reason = errno;
        return {};
    }
    return sock;
}

} // namespace

http01_responder::http01_responder(http01_responder_options options)
    : state_(std::make_unique<state>())
{
    state_->options = std::move(options);
}

http01_responder::~http01_responder()
{
    stop();
}

void http01_responder::start()
{
    state& s = *state_;
    if (s.started)
        return;

    const auto& opts = s.options;
    std::string address = opts.address.empty() ? "::" : opts.address;
    int reason = 0;
    unique_fd listener = open_listener(address, opts.port, reason);
    // A system without IPv6 still answers on every IPv4 address.
    if (!listener && opts.address.empty() &&
        (reason == EAFNOSUPPORT || reason == EADDRNOTAVAIL)) {
        address = "0.0.0.0";
        listener = open_listener(address, opts.port, reason);
    }
    if (!listener)
        throw error(status::io_error,
                    fmt::format("HTTP-01 responder cannot listen on {}: {}",
                                printable(address, opts.port),
                                reason != 0 ? std::strerror(reason)
                                            : "not a numeric address and "
                                              "port"));

    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0)
        throw error(status::io_error,
                    fmt::format("HTTP-01 responder: no wake-up pipe: {}",
                                std::strerror(errno)));
    unique_fd wake_read(pipe_fds[0]), wake_write(pipe_fds[1]);
    if (!make_nonblocking(wake_read.get()) ||
        !make_nonblocking(wake_write.get()))
        throw error(status::io_error,
                    fmt::format("HTTP-01 responder: no wake-up pipe: {}",
                                std::strerror(errno)));

    s.listener = std::move(listener);
    s.wake_read = std::move(wake_read);
    s.wake_write = std::move(wake_write);
    s.stopping = false;
    s.accept_paused_until = {};
    // The socket listens already, so connections queue from here on even
    // before the thread reaches poll().
    s.loop = std::thread([&s] { s.run(); });
    s.started = true;
}

void http01_responder::stop() noexcept
{
    state& s = *state_;
    if (!s.started)
        return;
    s.stopping = true;
    char wake = 1;
    // Non-blocking; should it fail, the loop sees the flag within
    // max_poll_wait anyway.
    ssize_t ignored = ::write(s.wake_write.get(), &wake, 1);
    (void)ignored;
    if (s.loop.joinable())
        s.loop.join();
    s.listener.reset();
    s.wake_read.reset();
    s.wake_write.reset();
    s.started = false;
}

bool http01_responder::handles(const std::string& challenge_type) const
{
    return challenge_type == "http-01";
}

void http01_responder::present(const challenge_task& task)
{
    start();
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->answers[task.token] = task.key_authorization;
}

void http01_responder::cleanup(const challenge_task& task) noexcept
{
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->answers.erase(task.token);
}

} // namespace acme
