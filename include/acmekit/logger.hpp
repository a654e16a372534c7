// Diagnostics. acmekit is silent unless a logger is given. Messages never
// contain private keys, HMAC keys, key authorizations, signatures or
// request bodies.
#pragma once

#include <string_view>

namespace acme {

enum class log_level { error = 0, warning = 1, info = 2, debug = 3 };

class logger {
public:
    virtual ~logger() = default;

    /// category is a short fixed word such as "http", "nonce" or "order".
    virtual void log(log_level level, std::string_view category,
                     std::string_view message) = 0;
};

} // namespace acme
