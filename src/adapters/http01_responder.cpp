#include <acmekit/adapters/http01_responder.hpp>
#include <acmekit/problem.hpp>

#include <httplib.h>

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

namespace acme {

namespace {

// Any last segment; valid_challenge_token() decides what is served.
constexpr const char* challenge_path =
    R"(/\.well-known/acme-challenge/([^/]+))";

// Milliseconds to wait for the listening thread to enter its loop.
constexpr int max_start_waits = 5000;

} // namespace

struct http01_responder::state {
    http01_responder_options options;
    httplib::Server server;
    std::thread listener;
    bool started = false;
    std::atomic<bool> loop_ended{false};

    std::mutex mutex;
    std::map<std::string, std::string> answers; // token -> key authorization

    void serve(const httplib::Request& req, httplib::Response& res)
    {
        std::string answer;
        {
            std::lock_guard<std::mutex> lock(mutex);
            std::string token = req.matches[1];
            auto found = valid_challenge_token(token) ? answers.find(token)
                                                      : answers.end();
            if (found == answers.end()) {
                res.status = 404;
                return;
            }
            answer = found->second;
        }
        // Not text/*: cpp-httplib would gzip a text answer for a client
        // that accepts it, at 64 KiB of zlib state per connection.
        res.set_content(answer, "application/octet-stream");
    }
};

http01_responder::http01_responder(http01_responder_options options)
    : state_(std::make_unique<state>())
{
    state_->options = std::move(options);

    // cpp-httplib's default adds SO_REUSEPORT, which would let the bind
    // succeed on a port another program listens on and split the CA's
    // requests between the two. SO_REUSEADDR alone only skips TIME_WAIT.
    state_->server.set_socket_options([](socket_t sock) {
        int yes = 1, no = 0, domain = 0;
        socklen_t size = sizeof domain;
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        // An IPv6 socket on "::" takes IPv4 too, whatever the system's
        // default (net.ipv6.bindv6only) says.
        if (getsockopt(sock, SOL_SOCKET, SO_DOMAIN, &domain, &size) == 0 &&
            domain == AF_INET6)
            setsockopt(sock, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof no);
    });
    state_->server.Get(
        challenge_path,
        [s = state_.get()](const httplib::Request& req,
                           httplib::Response& res) { s->serve(req, res); });
}

http01_responder::~http01_responder()
{
    stop();
}

void http01_responder::start()
{
    if (state_->started)
        return;

    const auto& opts = state_->options;
    std::string address = opts.address.empty() ? "::" : opts.address;
    errno = 0;
    bool bound = state_->server.bind_to_port(address, opts.port);
    int reason = errno;

    // A system without IPv6 still answers on every IPv4 address.
    if (!bound && opts.address.empty() &&
        (reason == EAFNOSUPPORT || reason == EADDRNOTAVAIL)) {
        address = "0.0.0.0";
        errno = 0;
        bound = state_->server.bind_to_port(address, opts.port);
        reason = errno;
    }
    if (!bound) {
        bool v6 = address.find(':') != std::string::npos;
        throw error(status::io_error,
                    fmt::format("HTTP-01 responder cannot listen on {}{}{}:{}: "
                                "{}",
                                v6 ? "[" : "", address, v6 ? "]" : "",
                                opts.port,
                                reason != 0 ? std::strerror(reason)
                                            : "address not usable"));
    }
    state_->loop_ended = false;
    state_->listener = std::thread([s = state_.get()] {
        s->server.listen_after_bind();
        s->loop_ended = true;
    });
    state_->started = true;

    // stop() only interrupts a server whose loop is running, so wait for
    // it; the bound socket already queues connections in the meantime.
    for (int i = 0; i < max_start_waits && !state_->server.is_running() &&
                    !state_->loop_ended;
         ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void http01_responder::stop() noexcept
{
    if (!state_->started)
        return;
    state_->server.stop();
    if (state_->listener.joinable())
        state_->listener.join();
    state_->started = false;
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
