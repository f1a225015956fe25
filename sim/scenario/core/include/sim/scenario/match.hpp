// SPDX-License-Identifier: Apache-2.0
#pragma once
// Matching observed values against a scenario's expectations (pure): text matchers, the
// JSONPath subset, JSON comparison, and `${...}` substitution.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sim/core/result.hpp"
#include "sim/scenario/model.hpp"

namespace sim::scenario {

/// True when `text` satisfies `match` (kRegex: ECMAScript search).
bool Matches(const Match& match, std::string_view text);
/// How a match reads in a report: "\"OK 1 CONNECTED\"", "/^ERR14 4 /", "prefix \"ERR14\"".
std::string Describe(const Match& match);
/// Parses the short form: "/re/" is kRegex, anything else kExact. Errors: a bad regex.
sim::Result<Match> ParseMatch(std::string_view text);

/// Evaluates a JSONPath of the subset in scenarios/README.md. nullopt when the path does not
/// lead anywhere in `document`. Errors: a malformed path.
sim::Result<std::optional<nlohmann::json>> EvaluatePath(std::string_view path,
                                                        const nlohmann::json& document);

/// Checks one expectation; on failure, a one-line reason with the path, the expected and the
/// observed value ("$.things.length(): expected 1, observed 0").
sim::Result<void> CheckExpectation(const JsonExpectation& expectation,
                                   const nlohmann::json& document);

/// Replaces every `${name}` in `text` by lookup(name); nullopt from lookup is an error naming
/// the placeholder ("unknown value ${m9.thingName}"). "$${" is a literal "${". A name with a
/// ':' is an AWS policy variable (`${iot:Connection.Thing.ThingName}`) and is kept as written.
sim::Result<std::string> Substitute(
    std::string_view text, const std::function<std::optional<std::string>(std::string_view)>& lookup);
/// The same for every string inside a JSON value (keys are left alone).
sim::Result<nlohmann::json> SubstituteJson(
    const nlohmann::json& value,
    const std::function<std::optional<std::string>(std::string_view)>& lookup);

}  // namespace sim::scenario
