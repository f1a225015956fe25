// SPDX-License-Identifier: Apache-2.0
#include "sim/scenario/match.hpp"

#include <cmath>
#include <cstddef>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace sim::scenario {
namespace {

// One step of a JSONPath: a member name, an index, or the trailing length().
struct PathStep {
    enum class Kind { kMember, kIndex, kLength };
    Kind kind = Kind::kMember;
    std::string member;
    std::size_t index = 0;
};

sim::Error BadPath(std::string_view path, std::string_view why) {
    return {sim::ErrorCode::kInvalidArgument,
            "bad JSONPath '" + std::string(path) + "': " + std::string(why)};
}

bool IsMemberChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '$' || c == '@';
}

// The grammar: '$' then any of '.name', "['name']", '["name"]', '[N]', and a final '.length()'.
sim::Result<std::vector<PathStep>, sim::Error> ParsePath(std::string_view path) {
    if (path.empty() || path.front() != '$') {
        return sim::Unexpected<sim::Error>(BadPath(path, "it must start with '$'"));
    }
    std::vector<PathStep> steps;
    std::size_t i = 1;
    while (i < path.size()) {
        if (!steps.empty() && steps.back().kind == PathStep::Kind::kLength) {
            return sim::Unexpected<sim::Error>(BadPath(path, "length() must come last"));
        }
        if (path[i] == '.') {
            ++i;
            const std::size_t start = i;
            while (i < path.size() && IsMemberChar(path[i])) {
                ++i;
            }
            if (i == start) {
                return sim::Unexpected<sim::Error>(
                    BadPath(path, "a member name must follow '.' at " + std::to_string(start)));
            }
            std::string name(path.substr(start, i - start));
            if (name == "length" && path.substr(i, 2) == "()") {
                i += 2;
                steps.push_back({PathStep::Kind::kLength, {}, 0});
            } else {
                steps.push_back({PathStep::Kind::kMember, std::move(name), 0});
            }
        } else if (path[i] == '[') {
            ++i;
            if (i < path.size() && (path[i] == '\'' || path[i] == '"')) {
                const char quote = path[i];
                const auto end = path.find(quote, i + 1);
                if (end == std::string_view::npos || end + 1 >= path.size() ||
                    path[end + 1] != ']') {
                    return sim::Unexpected<sim::Error>(BadPath(path, "unterminated ['name']"));
                }
                steps.push_back(
                    {PathStep::Kind::kMember, std::string(path.substr(i + 1, end - i - 1)), 0});
                i = end + 2;
            } else {
                const auto end = path.find(']', i);
                if (end == std::string_view::npos || end == i) {
                    return sim::Unexpected<sim::Error>(BadPath(path, "unterminated [N]"));
                }
                std::size_t index = 0;
                for (std::size_t k = i; k < end; ++k) {
                    if (path[k] < '0' || path[k] > '9' || end - i > 9) {
                        return sim::Unexpected<sim::Error>(
                            BadPath(path, "an index must be a non-negative number"));
                    }
                    index = index * 10 + static_cast<std::size_t>(path[k] - '0');
                }
                steps.push_back({PathStep::Kind::kIndex, {}, index});
                i = end + 1;
            }
        } else {
            return sim::Unexpected<sim::Error>(BadPath(
                path, "unexpected '" + std::string(1, path[i]) + "' at " + std::to_string(i)));
        }
    }
    return steps;
}

const char* MatcherKey(const nlohmann::json& value) {
    if (!value.is_object() || value.size() != 1) {
        return nullptr;
    }
    for (const char* key : {"regex", "contains", "prefix", "exact", "exists"}) {
        if (value.contains(key)) {
            return key;
        }
    }
    return nullptr;
}

std::string Shown(const nlohmann::json& value) {
    static constexpr std::size_t kMax = 200;
    std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (text.size() > kMax) {
        text = text.substr(0, kMax) + "...";
    }
    return text;
}

bool SameNumber(const nlohmann::json& a, const nlohmann::json& b) {
    if (a.is_number_integer() && b.is_number_integer()) {
        if (a.is_number_unsigned() || b.is_number_unsigned()) {
            // Compare through the sign: an unsigned value above INT64_MAX equals no signed one.
            if (a.is_number_unsigned() && b.is_number_unsigned()) {
                return a.get<std::uint64_t>() == b.get<std::uint64_t>();
            }
            const auto& u = a.is_number_unsigned() ? a : b;
            const auto& s = a.is_number_unsigned() ? b : a;
            return s.get<std::int64_t>() >= 0 &&
                   static_cast<std::uint64_t>(s.get<std::int64_t>()) == u.get<std::uint64_t>();
        }
        return a.get<std::int64_t>() == b.get<std::int64_t>();
    }
    return a.get<double>() == b.get<double>();
}

// Applies a matcher object to an observed value (nullptr when absent). Returns true on a match.
bool MatcherHolds(const char* key, const nlohmann::json& matcher, const nlohmann::json* observed) {
    const auto& operand = matcher.at(key);
    if (std::string_view(key) == "exists") {
        const bool want = operand.is_boolean() ? operand.get<bool>() : true;
        return (observed != nullptr) == want;
    }
    if (observed == nullptr) {
        return false;
    }
    const std::string text =
        observed->is_string() ? observed->get<std::string>() : observed->dump();
    const std::string pattern = operand.is_string() ? operand.get<std::string>() : operand.dump();
    Match match{Match::Kind::kExact, pattern};
    const std::string_view kind(key);
    if (kind == "regex") {
        match.kind = Match::Kind::kRegex;
    } else if (kind == "contains") {
        match.kind = Match::Kind::kContains;
    } else if (kind == "prefix") {
        match.kind = Match::Kind::kPrefix;
    }
    return Matches(match, text);
}

// Expected against observed: objects as subsets, arrays element by element, scalars equal,
// matcher objects anywhere.
bool JsonMatches(const nlohmann::json& expected, const nlohmann::json& observed) {
    if (const char* key = MatcherKey(expected)) {
        return MatcherHolds(key, expected, &observed);
    }
    if (expected.is_object()) {
        if (!observed.is_object()) {
            return false;
        }
        for (const auto& [name, value] : expected.items()) {
            const auto found = observed.find(name);
            if (found == observed.end()) {
                if (const char* key = MatcherKey(value);
                    key != nullptr && std::string_view(key) == "exists") {
                    if (!MatcherHolds(key, value, nullptr)) {
                        return false;
                    }
                    continue;
                }
                return false;
            }
            if (!JsonMatches(value, *found)) {
                return false;
            }
        }
        return true;
    }
    if (expected.is_array()) {
        if (!observed.is_array() || observed.size() != expected.size()) {
            return false;
        }
        for (std::size_t i = 0; i < expected.size(); ++i) {
            if (!JsonMatches(expected[i], observed[i])) {
                return false;
            }
        }
        return true;
    }
    if (expected.is_number() && observed.is_number()) {
        return SameNumber(expected, observed);
    }
    return expected == observed;
}

std::string DescribeExpected(const nlohmann::json& expected) {
    if (const char* key = MatcherKey(expected)) {
        const std::string_view kind(key);
        const auto& operand = expected.at(key);
        if (kind == "exists") {
            return operand.is_boolean() && !operand.get<bool>() ? "nothing" : "a value";
        }
        if (kind == "regex") {
            return "/" + (operand.is_string() ? operand.get<std::string>() : operand.dump()) + "/";
        }
        return std::string(kind) + " " + Shown(operand);
    }
    return Shown(expected);
}

}  // namespace

bool Matches(const Match& match, std::string_view text) {
    switch (match.kind) {
        case Match::Kind::kExact:
            return text == match.text;
        case Match::Kind::kPrefix:
            return text.substr(0, match.text.size()) == match.text;
        case Match::Kind::kContains:
            return text.find(match.text) != std::string_view::npos;
        case Match::Kind::kRegex:
            try {
                const std::regex re(match.text, std::regex::ECMAScript);
                return std::regex_search(text.begin(), text.end(), re);
            } catch (const std::regex_error&) {
                return false;
            }
    }
    return false;
}

std::string Describe(const Match& match) {
    const auto quoted = [](const std::string& text) { return nlohmann::json(text).dump(); };
    switch (match.kind) {
        case Match::Kind::kExact:
            return quoted(match.text);
        case Match::Kind::kPrefix:
            return "prefix " + quoted(match.text);
        case Match::Kind::kContains:
            return "contains " + quoted(match.text);
        case Match::Kind::kRegex:
            return "/" + match.text + "/";
    }
    return quoted(match.text);
}

sim::Result<Match> ParseMatch(std::string_view text) {
    if (text.size() >= 2 && text.front() == '/' && text.back() == '/') {
        Match match{Match::Kind::kRegex, std::string(text.substr(1, text.size() - 2))};
        try {
            const std::regex re(match.text, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
            return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                                  "bad regex " + std::string(text) + ": " + e.what());
        }
        return match;
    }
    return Match{Match::Kind::kExact, std::string(text)};
}

sim::Result<std::optional<nlohmann::json>> EvaluatePath(std::string_view path,
                                                        const nlohmann::json& document) {
    auto steps = ParsePath(path);
    if (!steps) {
        return sim::Unexpected<sim::Error>(steps.error());
    }
    const nlohmann::json* at = &document;
    for (const auto& step : *steps) {
        if (step.kind == PathStep::Kind::kLength) {
            if (!at->is_array()) {
                return std::optional<nlohmann::json>();
            }
            return std::optional<nlohmann::json>(at->size());
        }
        if (step.kind == PathStep::Kind::kMember) {
            if (!at->is_object()) {
                return std::optional<nlohmann::json>();
            }
            const auto found = at->find(step.member);
            if (found == at->end()) {
                return std::optional<nlohmann::json>();
            }
            at = &*found;
        } else {
            const auto index = step.index;
            if (!at->is_array() || index >= at->size()) {
                return std::optional<nlohmann::json>();
            }
            at = &(*at)[index];
        }
    }
    return std::optional<nlohmann::json>(*at);
}

sim::Result<void> CheckExpectation(const JsonExpectation& expectation,
                                   const nlohmann::json& document) {
    auto observed = EvaluatePath(expectation.path, document);
    if (!observed) {
        return sim::Unexpected<sim::Error>(observed.error());
    }
    bool holds = false;
    if (const char* key = MatcherKey(expectation.expected)) {
        holds =
            MatcherHolds(key, expectation.expected, observed->has_value() ? &**observed : nullptr);
    } else {
        holds = observed->has_value() && JsonMatches(expectation.expected, **observed);
    }
    if (holds) {
        return {};
    }
    return sim::MakeError(sim::ErrorCode::kFailedPrecondition,
                          expectation.path + ": expected " +
                              DescribeExpected(expectation.expected) + ", observed " +
                              (observed->has_value() ? Shown(**observed) : std::string("nothing")));
}

sim::Result<std::string> Substitute(
    std::string_view text,
    const std::function<std::optional<std::string>(std::string_view)>& lookup) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        if (text.substr(i, 3) == "$${") {
            out += "${";
            i += 3;
            continue;
        }
        if (text.substr(i, 2) == "${") {
            const auto end = text.find('}', i + 2);
            if (end == std::string_view::npos) {
                return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                                      "unterminated ${ in \"" + std::string(text) + "\"");
            }
            const auto name = text.substr(i + 2, end - i - 2);
            if (name.find(':') != std::string_view::npos) {
                // An AWS policy variable (${iot:Connection.Thing.ThingName}): not ours, kept.
                out.append(text.substr(i, end + 1 - i));
                i = end + 1;
                continue;
            }
            auto value = lookup(name);
            if (!value) {
                return sim::MakeError(sim::ErrorCode::kNotFound,
                                      "unknown value ${" + std::string(name) + "}");
            }
            out += *value;
            i = end + 1;
            continue;
        }
        out += text[i];
        ++i;
    }
    return out;
}

sim::Result<nlohmann::json> SubstituteJson(
    const nlohmann::json& value,
    const std::function<std::optional<std::string>(std::string_view)>& lookup) {
    if (value.is_string()) {
        auto text = Substitute(value.get_ref<const std::string&>(), lookup);
        if (!text) {
            return sim::Unexpected<sim::Error>(text.error());
        }
        return nlohmann::json(std::move(*text));
    }
    if (value.is_object() || value.is_array()) {
        nlohmann::json out = value;
        for (auto& [key, item] : out.items()) {
            auto substituted = SubstituteJson(item, lookup);
            if (!substituted) {
                return substituted;
            }
            item = std::move(*substituted);
        }
        return out;
    }
    return value;
}

}  // namespace sim::scenario
