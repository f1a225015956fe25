// SPDX-License-Identifier: Apache-2.0
#pragma once
// Scenario files: YAML text in, a checked Scenario out (pure; the caller reads files through
// `read_file`). Every problem is reported as "<file>:<line>: <reason>", all of them at once,
// so `elsim run --check` can list every error of a file in one go. Unknown keys are errors.

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/result.hpp"
#include "sim/scenario/model.hpp"

namespace sim::scenario {

/// Reads a file (a world file a scenario refers to). Errors name the file.
using FileReader = std::function<sim::Result<std::string>(const std::filesystem::path&)>;

/// "<file>:<line>: <reason>" lines.
using Diagnostics = std::vector<std::string>;

/// Parses and checks one scenario. `file` is its path (world references are relative to its
/// folder); `id` becomes Scenario::id. Checks: the format (scenarios/README.md), actor and
/// account names that steps refer to, durations, matchers and JSONPaths, placeholders whose
/// names can be known before running (accounts, manufacturers, actors, earlier `save:` names).
sim::Result<Scenario, Diagnostics> ParseScenario(std::string_view yaml,
                                                 const std::filesystem::path& file,
                                                 std::string id, const FileReader& read_file);

/// "250ms", "2s", "1m", "1.5s", or a bare number of seconds. Errors: a one-line reason.
sim::Result<Duration> ParseDuration(std::string_view text);

}  // namespace sim::scenario
