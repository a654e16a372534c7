#include <acmekit/solver.hpp>

#include <utility>

namespace acme {

bool valid_challenge_token(const std::string& token) noexcept
{
    if (token.empty() || token.size() > max_challenge_token)
        return false;
    for (char c : token) {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                  (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}

http01_callback_solver::http01_callback_solver(present_fn present,
                                               cleanup_fn cleanup)
    : present_(std::move(present)), cleanup_(std::move(cleanup))
{
}

bool http01_callback_solver::handles(const std::string& challenge_type) const
{
    return challenge_type == "http-01";
}

void http01_callback_solver::present(const challenge_task& task)
{
    present_(task);
}

void http01_callback_solver::cleanup(const challenge_task& task) noexcept
{
    try {
        cleanup_(task);
    } catch (...) {
        // The contract forbids cleanup from failing the order; the host's
        // function reports its own trouble.
    }
}

} // namespace acme
