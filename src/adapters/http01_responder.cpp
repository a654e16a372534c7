#include <acmekit/adapters/http01_responder.hpp>
#include <acmekit/problem.hpp>

#include <httplib.h>

#include <fmt/format.h>

#include <map>
#include <mutex>
#include <thread>

namespace acme {

namespace {

constexpr const char* challenge_path =
    R"(/\.well-known/acme-challenge/([A-Za-z0-9_-]{1,256}))";

} // namespace

struct http01_responder::state {
    http01_responder_options options;
    httplib::Server server;
    std::thread listener;
    bool started = false;

    std::mutex mutex;
    std::map<std::string, std::string> answers; // token -> key authorization

    void serve(const httplib::Request& req, httplib::Response& res)
    {
        std::string answer;
        {
            std::lock_guard<std::mutex> lock(mutex);
            auto found = answers.find(req.matches[1]);
            if (found == answers.end()) {
                res.status = 404;
                return;
            }
            answer = found->second;
        }
        res.set_content(answer, "text/plain");
    }
};

http01_responder::http01_responder(http01_responder_options options)
    : state_(std::make_unique<state>())
{
    state_->options = std::move(options);
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
    if (!state_->server.bind_to_port(opts.address, opts.port))
        throw error(status::io_error,
                    fmt::format("HTTP-01 responder cannot listen on {}:{}",
                                opts.address, opts.port));
    state_->listener =
        std::thread([s = state_.get()] { s->server.listen_after_bind(); });
    state_->started = true;
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
