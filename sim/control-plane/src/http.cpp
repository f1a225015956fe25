// SPDX-License-Identifier: Apache-2.0
#include "sim/core/hex.hpp"
#include "sim/control_plane/http.hpp"

#include <cctype>

namespace sim::controlplane {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto ca = static_cast<unsigned char>(a[i]);
        const auto cb = static_cast<unsigned char>(b[i]);
        if (std::tolower(ca) != std::tolower(cb)) {
            return false;
        }
    }
    return true;
}

std::optional<std::string> FindHeader(const HeaderList& headers, std::string_view name) {
    for (const auto& [key, value] : headers) {
        if (EqualsIgnoreCase(key, name)) {
            return value;
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::string> HttpRequest::Header(std::string_view name) const {
    return FindHeader(headers, name);
}

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
    return FindHeader(headers, name);
}

std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '%') {
            if (i + 2 >= text.size()) {
                return std::nullopt;
            }
            const int hi = sim::HexDigitValue(text[i + 1]);
            const int lo = sim::HexDigitValue(text[i + 2]);
            if (hi < 0 || lo < 0) {
                return std::nullopt;
            }
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    return out;
}

Result<std::vector<std::string>> SplitPath(std::string_view raw_path) {
    if (raw_path.empty() || raw_path.front() != '/') {
        return MakeError(ErrorCode::kInvalidArgument, "request path must start with '/'");
    }
    std::string_view rest = raw_path.substr(1);
    if (!rest.empty() && rest.back() == '/') {
        rest.remove_suffix(1);
    }
    std::vector<std::string> segments;
    if (rest.empty()) {
        return segments;
    }
    std::size_t start = 0;
    while (true) {
        const std::size_t slash = rest.find('/', start);
        const std::string_view raw = rest.substr(start, slash - start);
        auto decoded = PercentDecode(raw, false);
        if (!decoded) {
            return MakeError(ErrorCode::kInvalidArgument,
                             "malformed percent-encoding in path segment '" + std::string(raw) +
                                 "'");
        }
        segments.push_back(std::move(*decoded));
        if (slash == std::string_view::npos) {
            break;
        }
        start = slash + 1;
    }
    return segments;
}

Result<QueryParams> ParseQuery(std::string_view raw_query) {
    QueryParams params;
    std::size_t start = 0;
    while (start <= raw_query.size()) {
        std::size_t end = raw_query.find('&', start);
        if (end == std::string_view::npos) {
            end = raw_query.size();
        }
        const std::string_view item = raw_query.substr(start, end - start);
        start = end + 1;
        if (item.empty()) {
            continue;
        }
        const std::size_t eq = item.find('=');
        auto name = PercentDecode(item.substr(0, eq), true);
        auto value = PercentDecode(
            eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1), true);
        if (!name || !value) {
            return MakeError(ErrorCode::kInvalidArgument,
                             "malformed percent-encoding in query parameter '" +
                                 std::string(item.substr(0, eq)) + "'");
        }
        params.emplace_back(std::move(*name), std::move(*value));
    }
    return params;
}

std::pair<std::string, std::string> SplitTarget(std::string_view target) {
    const std::size_t question = target.find('?');
    if (question == std::string_view::npos) {
        return {std::string(target), std::string()};
    }
    return {std::string(target.substr(0, question)), std::string(target.substr(question + 1))};
}

}  // namespace sim::controlplane
