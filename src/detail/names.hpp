// Comparing DNS names as the CA does: without case, in any order.
#pragma once

#include <string>
#include <vector>

namespace acme::detail {

std::string lowercase(std::string text);

/// The names in lower case, sorted: equal lists mean the same names.
std::vector<std::string> folded_sorted(const std::vector<std::string>& names);

} // namespace acme::detail
