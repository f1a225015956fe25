// SPDX-License-Identifier: Apache-2.0
#pragma once
// Results and their renderings (pure): the terminal line, the summary, the text timeline, JUnit.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "sim/scenario/timeline.hpp"

namespace sim::scenario {

enum class Outcome {
    kPass,
    kFail,   ///< An expectation failed (failure names the step).
    kError,  ///< The scenario could not run (world did not start, set-up failed, timeout).
    kSkip,   ///< Not played where the run points (`requires: sim` against real AWS).
};
const char* ToString(Outcome outcome) noexcept;  ///< "PASS", "FAIL", "ERROR", "SKIP"

struct StepFailure {
    std::string step;    ///< The step's name.
    int line = 0;        ///< Where the step is in the file.
    std::string reason;  ///< "expected \"OK 1 CONNECTED\", observed \"ERR14 4 ...\"".
};

struct ScenarioResult {
    std::string id;  ///< "claim/happy-path"
    std::filesystem::path file;
    Outcome outcome = Outcome::kPass;
    std::chrono::milliseconds duration{0};
    std::optional<StepFailure> failure;  ///< Set unless kPass.
    std::uint64_t seed = 0;
    std::vector<TimelineEntry> timeline;
    std::filesystem::path timeline_file;  ///< Where the text timeline was written, if it was.
    std::filesystem::path kept_world;     ///< Broker logs kept for a failed scenario, if any.
};

/// "PASS claim/happy-path (3.2 s)" or
/// "FAIL claim/x (4.1 s): step 'OEM connect' (line 12): expected ..., observed ...".
std::string ResultLine(const ScenarioResult& result);
/// "42 scenarios: 41 passed, 1 failed, 0 errors in 58.3 s (seed 1234)".
std::string SummaryLine(const std::vector<ScenarioResult>& results,
                        std::chrono::milliseconds elapsed, std::uint64_t seed);
/// The text timeline: a header (id, outcome, seed, failure) then one line per entry,
/// "+  1.234s  m1          at>    AT+CONNECT".
std::string TimelineText(const ScenarioResult& result);
/// JUnit XML: one <testsuite name="elsim"> with one <testcase classname="<folder>" name="<id>">
/// per scenario; <failure message="step ...: reason"> or <error>; <system-out> the text
/// timeline. Text is XML-escaped; characters XML 1.0 forbids are dropped.
std::string JUnitXml(const std::vector<ScenarioResult>& results,
                     std::chrono::milliseconds elapsed);

}  // namespace sim::scenario
