// Reading Link headers (RFC 8288), which ACME uses for alternate chains
// and for the "up" and "index" relations (RFC 8555 section 7.4.2).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace acme::detail {

/// The target URIs of every link in a Link header value whose rel
/// parameter (quoted or not, possibly several space-separated relations)
/// includes relation. Malformed links are skipped.
std::vector<std::string> link_targets(std::string_view header,
                                      std::string_view relation);

} // namespace acme::detail
