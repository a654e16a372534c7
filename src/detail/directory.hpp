#pragma once

#include <acmekit/resources.hpp>

#include "json.hpp"

namespace acme::detail {

/// RFC 8555 section 7.1.1. newNonce, newAccount and newOrder are required;
/// every other member is optional.
directory parse_directory(const json::object& obj);

} // namespace acme::detail
