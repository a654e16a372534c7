#include <acmekit/client.hpp>

#include "detail/session.hpp"

namespace acme {

client::client(std::string directory_url, services svc, retry_policy policy)
    : session_(std::make_unique<detail::session>(std::move(directory_url), svc,
                                                 policy))
{
}

client::~client() = default;

const directory& client::get_directory()
{
    return session_->dir();
}

std::string client::account_thumbprint()
{
    return session_->thumbprint();
}

const std::string& client::directory_url() const noexcept
{
    return session_->directory_url();
}

const std::string& client::account_url() const noexcept
{
    return session_->kid();
}

const retry_policy& client::policy() const noexcept
{
    return session_->policy;
}

const services& client::used_services() const noexcept
{
    return session_->svc;
}

} // namespace acme
