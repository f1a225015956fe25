// SPDX-License-Identifier: Apache-2.0
#include "sim/scenario/report.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

#include "utf8.hpp"

namespace sim::scenario {
namespace {

// Seconds with `decimals` digits after the point ("3.2", "1.234").
std::string Seconds(std::chrono::milliseconds duration, int decimals) {
    char buffer[64];
    const double seconds = static_cast<double>(duration.count()) / 1000.0;
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, seconds);
    return buffer;
}

std::string FailureText(const StepFailure& failure) {
    if (failure.step.empty()) {
        return failure.reason;
    }
    std::string text = "step '" + failure.step + "'";
    if (failure.line > 0) {
        text += " (line " + std::to_string(failure.line) + ")";
    }
    return text + ": " + failure.reason;
}

// XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
bool IsXmlChar(char32_t code) {
    return code == 0x9 || code == 0xA || code == 0xD || (code >= 0x20 && code <= 0xD7FF) ||
           (code >= 0xE000 && code <= 0xFFFD) || (code >= 0x10000 && code <= 0x10FFFF);
}

// Escapes for text or an attribute value; drops what XML 1.0 cannot carry (and malformed UTF-8).
std::string Xml(std::string_view text, bool attribute) {
    std::string out;
    out.reserve(text.size());
    detail::ForEachCodePoint(text, [&](char32_t code, std::string_view bytes) {
        if (!IsXmlChar(code)) {
            return;
        }
        switch (code) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += attribute ? "&quot;" : "\"";
                break;
            case '\n':
                out += attribute ? "&#10;" : "\n";
                break;
            case '\r':
                out += "&#13;";
                break;
            case '\t':
                out += attribute ? "&#9;" : "\t";
                break;
            default:
                out.append(bytes);
        }
    });
    return out;
}

std::string ClassName(const std::string& id) {
    const auto slash = id.rfind('/');
    if (slash == std::string::npos) {
        return "elsim";
    }
    std::string folder = id.substr(0, slash);
    std::replace(folder.begin(), folder.end(), '/', '.');
    return folder;
}

}  // namespace

const char* ToString(Outcome outcome) noexcept {
    switch (outcome) {
        case Outcome::kPass:
            return "PASS";
        case Outcome::kFail:
            return "FAIL";
        case Outcome::kError:
            return "ERROR";
        case Outcome::kSkip:
            return "SKIP";
    }
    return "ERROR";
}

std::string ResultLine(const ScenarioResult& result) {
    std::string line = std::string(ToString(result.outcome)) + " " + result.id + " (" +
                       Seconds(result.duration, 1) + " s)";
    if (result.outcome != Outcome::kPass && result.failure) {
        line += ": " + FailureText(*result.failure);
    }
    // Steps that could not run here (software-only steps on a linked module) are said.
    std::size_t skipped = 0;
    std::string first_skip;
    for (const auto& entry : result.timeline) {
        if (entry.kind == EntryKind::kStepSkip) {
            first_skip = skipped++ == 0 ? entry.text : first_skip;
        }
    }
    if (skipped > 0) {
        line += "; " + std::to_string(skipped) + " step(s) skipped, first: " + first_skip;
    }
    return line;
}

std::string SummaryLine(const std::vector<ScenarioResult>& results,
                        std::chrono::milliseconds elapsed, std::uint64_t seed) {
    std::size_t passed = 0;
    std::size_t failed = 0;
    std::size_t errors = 0;
    std::size_t skipped = 0;
    for (const auto& result : results) {
        switch (result.outcome) {
            case Outcome::kPass:
                ++passed;
                break;
            case Outcome::kFail:
                ++failed;
                break;
            case Outcome::kError:
                ++errors;
                break;
            case Outcome::kSkip:
                ++skipped;
                break;
        }
    }
    return std::to_string(results.size()) + (results.size() == 1 ? " scenario: " : " scenarios: ") +
           std::to_string(passed) + " passed, " + std::to_string(failed) + " failed, " +
           std::to_string(errors) + (errors == 1 ? " error" : " errors") +
           (skipped == 0 ? std::string() : ", " + std::to_string(skipped) + " skipped") + " in " +
           Seconds(elapsed, 1) + " s (seed " + std::to_string(seed) + ")";
}

std::string TimelineText(const ScenarioResult& result) {
    std::string text = "scenario " + result.id + "\n";
    if (!result.file.empty()) {
        text += "file     " + result.file.string() + "\n";
    }
    text += "outcome  " + std::string(ToString(result.outcome)) + " (" +
            Seconds(result.duration, 3) + " s)\n";
    text += "seed     " + std::to_string(result.seed) + "\n";
    if (result.failure) {
        text += "failure  " + FailureText(*result.failure) + "\n";
    }
    std::size_t offset_width = 0;
    std::size_t participant_width = 0;
    std::size_t kind_width = 0;
    for (const auto& entry : result.timeline) {
        offset_width = std::max(offset_width, Seconds(entry.offset, 3).size());
        participant_width = std::max(participant_width, entry.participant.size());
        kind_width = std::max(kind_width, std::string_view(ToString(entry.kind)).size());
    }
    const auto pad = [](std::string value, std::size_t width, bool right) {
        if (value.size() < width) {
            const std::string fill(width - value.size(), ' ');
            value = right ? fill + value : value + fill;
        }
        return value;
    };
    for (const auto& entry : result.timeline) {
        std::string line = "+" + pad(Seconds(entry.offset, 3), offset_width + 1, true) + "s  " +
                           pad(entry.participant, participant_width, false) + "  " +
                           pad(ToString(entry.kind), kind_width, false) + "  " + entry.text;
        while (!line.empty() && line.back() == ' ') {
            line.pop_back();
        }
        text += line + "\n";
    }
    return text;
}

std::string JUnitXml(const std::vector<ScenarioResult>& results,
                     std::chrono::milliseconds elapsed) {
    std::size_t failures = 0;
    std::size_t errors = 0;
    std::size_t skipped = 0;
    for (const auto& result : results) {
        failures += result.outcome == Outcome::kFail ? 1 : 0;
        errors += result.outcome == Outcome::kError ? 1 : 0;
        skipped += result.outcome == Outcome::kSkip ? 1 : 0;
    }
    std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    xml += "<testsuite name=\"elsim\" tests=\"" + std::to_string(results.size()) +
           "\" failures=\"" + std::to_string(failures) + "\" errors=\"" + std::to_string(errors) +
           (skipped == 0 ? std::string() : "\" skipped=\"" + std::to_string(skipped)) +
           "\" time=\"" + Seconds(elapsed, 3) + "\">\n";
    for (const auto& result : results) {
        xml += "  <testcase classname=\"" + Xml(ClassName(result.id), true) + "\" name=\"" +
               Xml(result.id, true) + "\" time=\"" + Seconds(result.duration, 3) + "\">\n";
        if (result.outcome == Outcome::kSkip) {
            const std::string message = result.failure ? result.failure->reason : "skipped";
            xml += "    <skipped message=\"" + Xml(message, true) + "\"/>\n";
        } else if (result.outcome != Outcome::kPass) {
            const char* element = result.outcome == Outcome::kFail ? "failure" : "error";
            const std::string message = result.failure ? FailureText(*result.failure)
                                                       : std::string(ToString(result.outcome));
            xml += "    <" + std::string(element) + " message=\"" + Xml(message, true) + "\">" +
                   Xml(message, false) + "</" + element + ">\n";
        }
        xml += "    <system-out>" + Xml(TimelineText(result), false) + "</system-out>\n";
        xml += "  </testcase>\n";
    }
    xml += "</testsuite>\n";
    return xml;
}

}  // namespace sim::scenario
