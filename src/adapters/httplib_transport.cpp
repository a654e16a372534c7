#include <acmekit/adapters/httplib_transport.hpp>
#include <acmekit/problem.hpp>

#include <httplib.h>

#include <fmt/format.h>

#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

namespace acme {

namespace {

// ACME responses are small; a certificate chain is a few kilobytes. The
// bound keeps a broken or hostile server from exhausting device memory.
constexpr std::size_t max_body_size = 1024 * 1024;

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
    deadline_watch(httplib::Client& client, std::chrono::milliseconds limit)
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

} // namespace

struct httplib_transport::state {
    httplib_transport_options options;
    // One client per origin keeps its connection open between requests.
    std::map<std::string, std::unique_ptr<httplib::Client>> clients;

    httplib::Client& client_for(const std::string& origin)
    {
        auto found = clients.find(origin);
        if (found != clients.end())
            return *found->second;

        auto made = std::make_unique<httplib::Client>(origin);
        if (!made->is_valid())
            throw error(status::invalid_argument,
                        fmt::format("unusable URL origin: {}", origin));
        made->set_keep_alive(true);
        // Headers and body go out in separate writes; without this, Nagle
        // and delayed ACKs add about 40 ms to every request.
        made->set_tcp_nodelay(true);
        made->set_connection_timeout(options.connect_timeout);
        made->set_read_timeout(options.read_timeout);
        made->set_write_timeout(options.read_timeout);
        made->enable_server_certificate_verification(true);
        if (!options.ca_file.empty())
            made->set_ca_cert_path(options.ca_file);
        return *clients.emplace(origin, std::move(made)).first->second;
    }
};

httplib_transport::httplib_transport(httplib_transport_options options)
    : state_(std::make_unique<state>())
{
    if (!options.ca_file.empty() && !std::ifstream(options.ca_file).good())
        throw error(status::io_error,
                    fmt::format("cannot read CA file {}", options.ca_file));
    state_->options = std::move(options);
}

httplib_transport::~httplib_transport() = default;

http_response httplib_transport::send(const http_request& request)
{
    split_url parts = split(request.url);
    httplib::Client& client = state_->client_for(parts.origin);

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

    httplib::Response res;
    httplib::Error err = httplib::Error::Success;
    deadline_watch watch(client, state_->options.request_timeout);
    bool sent = client.send(req, res, err);
    if (watch.finish())
        throw error(status::timeout,
                    fmt::format("{}: no complete response within {} ms",
                                host_of(parts.origin),
                                state_->options.request_timeout.count()));
    if (!sent)
        throw error(
            status_for(err),
            fmt::format("{}: {}", host_of(parts.origin),
                        describe(err, client.get_openssl_verify_result())));

    http_response response;
    response.status = res.status;
    for (const auto& [name, value] : res.headers)
        response.headers.push_back({name, value});
    response.body = std::move(body);
    return response;
}

} // namespace acme
