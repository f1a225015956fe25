// SPDX-License-Identifier: Apache-2.0
#pragma once
// The HTTP request/response values the pure router works on, and the wire decoding rules of AWS's
// rest-json protocol (as botocore's RestJSONSerializer encodes it): the raw path is split on '/'
// first and each segment percent-decoded afterwards (labels such as a certificate ARN arrive as
// "arn%3Aaws%3Aiot%3A...%3Acert%2Fabc"); query values are percent-decoded ('+' is a space). Pure;
// thread-safe (no shared state).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/control_plane/sigv4.hpp"
#include "sim/core/result.hpp"

namespace sim::controlplane {

struct HttpRequest {
    std::string method;     ///< "GET", "POST", "PUT", "PATCH", "DELETE".
    std::string raw_path;   ///< As on the wire, percent-encoded, without the query.
    std::string raw_query;  ///< As on the wire, without '?'.
    HeaderList headers;
    std::string body;

    /// The first value of header `name` (case-insensitive), or nullopt.
    std::optional<std::string> Header(std::string_view name) const;
};

struct HttpResponse {
    int status = 200;
    HeaderList headers;
    std::string body;

    std::optional<std::string> Header(std::string_view name) const;
};

using QueryParams = std::vector<std::pair<std::string, std::string>>;

/// Percent-decodes `text`; nullopt on a malformed escape ("%G1", "%4"). With `plus_is_space`
/// (query strings) '+' decodes to ' '.
std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space);

/// Splits a raw path ("/things/a%2Fb") into decoded segments ({"things", "a/b"}). The path must
/// start with '/'; one trailing '/' is ignored. Errors: kInvalidArgument on a malformed escape or
/// a path not starting with '/'.
Result<std::vector<std::string>> SplitPath(std::string_view raw_path);

/// Parses "a=1&b=x%20y" into decoded pairs, in order. Errors: kInvalidArgument on a malformed
/// escape.
Result<QueryParams> ParseQuery(std::string_view raw_query);

/// Splits a request target "/path?query" into its raw path and raw query.
std::pair<std::string, std::string> SplitTarget(std::string_view target);

}  // namespace sim::controlplane
