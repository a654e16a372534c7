// A small built-in web server that answers HTTP-01 challenges. It serves
// only the tokens presented for the current order and 404 for anything
// else, and handles concurrent requests (CAs fetch from several places).
#pragma once

#include <acmekit/solver.hpp>

#include <memory>
#include <string>

namespace acme {

struct http01_responder_options {
    /// Address to listen on: "127.0.0.1", "::1", "0.0.0.0" (IPv4 only),
    /// "::" or empty (every IPv6 and IPv4 address on one socket; IPv4
    /// alone where the system has no IPv6).
    std::string address;
    int port = 80;
};

class http01_responder final : public challenge_solver {
public:
    explicit http01_responder(http01_responder_options options = {});
    ~http01_responder() override;

    /// Starts listening; present() also starts it on first use. Throws
    /// acme::error with status::io_error when the port cannot be bound.
    void start();
    /// Stops listening; the destructor also stops it.
    void stop() noexcept;

    bool handles(const std::string& challenge_type) const override;
    void present(const challenge_task& task) override;
    void cleanup(const challenge_task& task) noexcept override;

private:
    struct state;
    std::unique_ptr<state> state_;
};

} // namespace acme
