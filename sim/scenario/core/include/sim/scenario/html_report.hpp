// SPDX-License-Identifier: Apache-2.0
#pragma once
// The HTML report (pure): a rendering of the same timelines as the text timeline and JUnit.
// Self-contained: inline CSS and JS, no fonts, images or scripts from anywhere (a
// Content-Security-Policy forbids every fetch), so it opens from a folder in any browser offline.
//
// Layout, relative to the report's folder:
//   index.html                          every scenario: outcome, duration, folder; filters
//   <folder>/<name>.html                one scenario: its timeline as a sequence diagram
//   <folder>/<name>.<module>.serial.log each module's serial transcript, as plain text

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/scenario/report.hpp"

namespace sim::scenario {

/// One file of the report: its path relative to the report's folder and its contents.
struct ReportFile {
    std::string path;
    std::string content;
};

/// The whole report of a run: the index, a page per scenario and the modules' transcripts.
std::vector<ReportFile> HtmlReport(const std::vector<ScenarioResult>& results,
                                   std::chrono::milliseconds elapsed, std::uint64_t seed);

/// The index page alone (links are relative to the report's folder).
std::string HtmlIndex(const std::vector<ScenarioResult>& results,
                      std::chrono::milliseconds elapsed, std::uint64_t seed);

/// One scenario's page. A lifeline per participant (the runner, then modules, then other
/// actors, then accounts); AT lines and control-plane calls are arrows, everything else a note
/// on its participant's lifeline; each step a band. The failed step is a row with
/// id="failed" (expected, observed, reason) and a banner at the top; the page opens scrolled to
/// it. Runs of a repeated block of entries are drawn once with their count.
std::string HtmlScenarioPage(const ScenarioResult& result);

/// Text for HTML text or a quoted attribute value: & < > " ' escaped; malformed UTF-8 and
/// control characters other than tab and newline dropped.
std::string HtmlEscape(std::string_view text);

/// `repeats` consecutive copies of the block of entries [first, first + period).
struct CollapsedRun {
    std::size_t first = 0;
    std::size_t period = 1;
    std::size_t repeats = 1;
};

/// Splits `entries` into runs, in order, covering every entry once: a block of up to four
/// entries (compared by participant, kind and text, not time) repeated at least twice in a
/// row becomes one run; any other entry is a run of its own (repeats 1). Step entries never
/// repeat into a run.
std::vector<CollapsedRun> CollapseRepeats(const std::vector<TimelineEntry>& entries);

/// The modules of a timeline (participants with AT lines or events), in order of appearance.
std::vector<std::string> TimelineModules(const ScenarioResult& result);

/// A module's serial transcript as a host's serial log has it, one line each:
/// "00:00:00.901 > AT+CONNECT" for a line sent and "00:00:00.923 < OK 1 CONNECTED" for an
/// answer (times since the scenario started); events as the AT+EVENT? that read them and its
/// answer; power changes and lines that were never on the wire as "# " comments.
std::string SerialTranscript(const ScenarioResult& result, const std::string& module);

}  // namespace sim::scenario
