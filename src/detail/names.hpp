// Comparing DNS names as the CA does: without case, in any order.
#pragma once

#include <string>
#include <vector>

namespace acme::detail {

std::string lowercase(std::string text);

/// The names in lower case, sorted: equal lists mean the same names.
std::vector<std::string> folded_sorted(const std::vector<std::string>& names);

/// Throws status::invalid_argument unless there is at least one name and
/// every one is non-empty and made of characters a dNSName may hold in a
/// CSR (letters, digits, '-', '.', '*' and '_').
void check_csr_names(const std::vector<std::string>& names);

} // namespace acme::detail
