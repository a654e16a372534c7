// Reading server JSON defensively: every accessor checks the type, and a
// missing or mistyped required member is a bad_response error, never a
// crash.
#pragma once

#include <acmekit/problem.hpp>

#include <boost/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace acme::detail {

namespace json = boost::json;

/// Parses a response body that must be a JSON object.
json::object parse_object(std::string_view body, std::string_view what);

/// A required string member.
std::string get_string(const json::object& obj, std::string_view key,
                       std::string_view what);

/// An optional string member; empty when absent. A present member of
/// another type is an error.
std::string get_optional_string(const json::object& obj, std::string_view key,
                                std::string_view what);

std::vector<std::string> get_string_array(const json::object& obj,
                                          std::string_view key,
                                          std::string_view what);

/// Parses a problem document held in a JSON object.
problem parse_problem(const json::object& obj, int http_status);

/// An optional "error" member holding a problem document.
std::optional<problem> get_optional_problem(const json::object& obj,
                                            std::string_view what);

} // namespace acme::detail
