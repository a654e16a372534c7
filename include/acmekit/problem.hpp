// ACME problem documents (RFC 8555 section 6.7, RFC 7807) and the error type
// that the C++ core throws.
#pragma once

#include <acmekit/status.hpp>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace acme {

/// An identifier as ACME writes it (RFC 8555 section 9.7.7).
struct identifier {
    std::string type;  ///< "dns" for every name acmekit requests today
    std::string value; ///< the name, without a wildcard label
};

/// One entry of a problem's "subproblems" (RFC 8555 section 6.7.1).
struct subproblem {
    std::string type;
    std::string detail;
    std::optional<identifier> id;
};

/// A parsed problem document. Fields absent on the wire stay empty.
struct problem {
    std::string type;   ///< full URN, e.g. "urn:ietf:params:acme:error:dns"
    std::string detail; ///< human-readable text from the server
    std::string instance;
    int http_status = 0; ///< "status" member, or the HTTP status code
    std::vector<subproblem> subproblems;

    /// The short name after "urn:ietf:params:acme:error:", or the whole
    /// type when it is not an ACME URN.
    std::string short_type() const;
};

/// Maps a problem type URN to its status code; unknown types give
/// status::server_other.
status status_for_problem_type(const std::string& type);

/// The exception every failing call of the C++ core throws. It carries a
/// status code, a one-line message, and where the server sent one the
/// problem document and its Retry-After time.
class error : public std::runtime_error {
public:
    using time_point = std::chrono::system_clock::time_point;

    error(status code, const std::string& message);
    error(status code, const std::string& message,
          std::optional<problem> server_problem,
          std::optional<time_point> retry_after = std::nullopt);

    status code() const noexcept { return code_; }
    const std::optional<problem>& server_problem() const noexcept
    {
        return problem_;
    }
    const std::optional<time_point>& retry_after() const noexcept
    {
        return retry_after_;
    }

private:
    status code_;
    std::optional<problem> problem_;
    std::optional<time_point> retry_after_;
};

} // namespace acme
