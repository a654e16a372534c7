#include <acmekit/client.hpp>

#include "detail/session.hpp"

#include <fmt/format.h>

namespace acme {

namespace {

constexpr std::string_view pem_begin = "-----BEGIN CERTIFICATE-----";

} // namespace

std::string client::download_certificate(const std::string& url)
{
    // Section 7.4.2: POST-as-GET, asking for the PEM chain.
    http_response response =
        session_->post(url, std::nullopt, "certificate", detail::key_id::kid,
                       "application/pem-certificate-chain");
    detail::expect_status(response, {200}, "certificate");

    if (response.body.compare(0, pem_begin.size(), pem_begin) != 0)
        throw error(status::bad_response,
                    "certificate: response is not a PEM certificate chain");
    return std::move(response.body);
}

} // namespace acme
