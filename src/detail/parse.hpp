// Parsers for the resource objects of RFC 8555 section 7.1. Each checks
// types and required members and throws bad_response otherwise.
#pragma once

#include <acmekit/resources.hpp>

#include "json.hpp"

namespace acme::detail {

account parse_account(const json::object& obj, std::string url);
order parse_order(const json::object& obj, std::string url);
authorization parse_authorization(const json::object& obj, std::string url);
challenge parse_challenge(const json::object& obj);

order_status parse_order_status(const std::string& text);
authorization_status parse_authorization_status(const std::string& text);
challenge_status parse_challenge_status(const std::string& text);

} // namespace acme::detail
