#include <acmekit/client.hpp>

#include "detail/link.hpp"
#include "detail/session.hpp"

#include <fmt/format.h>

namespace acme {

namespace {

constexpr std::string_view pem_begin = "-----BEGIN CERTIFICATE-----";

// More alternates than any CA offers; a longer list is cut, not followed.
constexpr std::size_t max_alternates = 8;

} // namespace

std::string client::download_certificate(const std::string& url)
{
    return download_certificate_chain(url).pem;
}

certificate_chain client::download_certificate_chain(const std::string& url)
{
    // Section 7.4.2: POST-as-GET, asking for the PEM chain.
    http_response response =
        session_->post(url, std::nullopt, "certificate", detail::key_id::kid,
                       "application/pem-certificate-chain");
    detail::expect_status(response, {200}, "certificate");

    if (response.body.compare(0, pem_begin.size(), pem_begin) != 0)
        throw error(status::bad_response,
                    "certificate: response is not a PEM certificate chain");

    certificate_chain chain;
    chain.pem = std::move(response.body);
    for (const std::string& link : response.headers_named("Link"))
        for (std::string& target : detail::link_targets(link, "alternate"))
            if (chain.alternates.size() < max_alternates)
                chain.alternates.push_back(std::move(target));
    return chain;
}

} // namespace acme
