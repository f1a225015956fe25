// SPDX-License-Identifier: Apache-2.0
#include "sim/scenario/html_report.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "utf8.hpp"

namespace sim::scenario {
namespace {

// Every page forbids every fetch: the report cannot reach a network even by mistake.
constexpr const char* kHead =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
    "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<link rel=\"icon\" href=\"data:,\">\n";

constexpr const char* kCommonCss =
    "body{font:13px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d2330}"
    "header{padding:10px 16px;background:#f4f6f9;border-bottom:1px solid #d5dae2}"
    "h1{font-size:17px;margin:0 0 4px}a{color:#1a55b0}"
    ".PASS{color:#17703a}.FAIL,.ERROR{color:#b3261e}.o{font-weight:700}"
    ".mono,code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}"
    ".tools{margin-top:6px;display:flex;gap:12px;flex-wrap:wrap;align-items:center}"
    "input,select{font:inherit}";

constexpr const char* kIndexCss =
    "table{border-collapse:collapse;margin:8px 16px;width:calc(100% - 32px)}"
    "th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #e6e9ee;vertical-align:top}"
    "th{background:#fafbfc;position:sticky;top:0}td.d{text-align:right;white-space:nowrap}"
    "td.why{color:#5a2320;max-width:60ch}";

constexpr const char* kIndexJs =
    "(function(){var q=document.getElementById('q'),s=document.getElementById('st'),"
    "n=document.getElementById('shown'),rows=document.querySelectorAll('tbody tr');"
    "function f(){var t=q.value.toLowerCase(),o=s.value,c=0;rows.forEach(function(r){"
    "var v=(!o||r.dataset.status===o)&&r.dataset.id.toLowerCase().indexOf(t)>=0;"
    "r.hidden=!v;if(v)c++;});n.textContent=c+' shown';}"
    "q.addEventListener('input',f);s.addEventListener('change',f);f();})();";

constexpr const char* kPageCss =
    ".banner{margin:8px 16px;padding:8px 12px;border:1px solid #e3a29d;background:#fdf1f0;"
    "border-radius:4px}.banner dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;"
    "margin:4px 0}.banner dt{font-weight:600}.banner dd{margin:0;word-break:break-word}"
    ".sd{margin:0 8px 40px}.r{display:flex}.t{flex:0 0 120px;box-sizing:border-box;"
    "position:relative;font:11px/20px ui-monospace,monospace;color:#6b7380;text-align:right;"
    "padding-right:8px;white-space:nowrap;overflow:hidden}"
    ".ln{flex:1;min-width:0;padding:1px 0;background-image:linear-gradient(to right,"
    "transparent calc(50% - .5px),#c9ced6 calc(50% - .5px),#c9ced6 calc(50% + .5px),"
    "transparent calc(50% + .5px));background-size:calc(100% / var(--n)) 100%;"
    "background-repeat:repeat-x}"
    ".hd{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid #c9ced6}"
    ".hd .ln{display:flex;background:none}.hd .p{flex:1;text-align:center;padding:4px 2px;"
    "min-width:0;overflow:hidden}.p b{display:block}.p small{color:#6b7380}"
    ".a,.nt{box-sizing:border-box;position:relative}"
    ".a{border-bottom:1.5px solid #34495e;margin-bottom:3px}"
    ".a::after{content:'';position:absolute;bottom:-5px;border:4px solid transparent}"
    ".a.rt::after{right:-1px;border-left:8px solid #34495e;border-right:0}"
    ".a.lt::after{left:-1px;border-right:8px solid #34495e;border-left:0}"
    ".l{display:block;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;cursor:pointer;"
    "font:12px/18px ui-monospace,Menlo,Consolas,monospace;padding:0 4px}"
    ".a .l{text-align:center}.l.open{white-space:pre-wrap;word-break:break-all}"
    ".nt{padding:0 2px}.nt .l{background:#fff;border:1px solid #d5dae2;border-radius:3px}"
    ".k-ans .a,.k-event .a{border-bottom-style:dashed}"
    ".k-event .l{color:#6a3d9a}.k-call .l,.k-reply .l{color:#0b5d6b}"
    ".k-refusal .nt .l{background:#fdecea;border-color:#d9776f;color:#8c1d16;font-weight:600}"
    ".k-claim .nt .l{background:#fff6dc;border-color:#e0c267}"
    ".k-mqtt .nt .l{background:#eef6ff;border-color:#9cc0ea}"
    ".k-registry .nt .l{background:#eefaf1;border-color:#8fcaa0}"
    ".k-broker .nt .l{color:#5c6470;border-style:dotted}.k-note .nt .l{color:#5c6470}"
    ".step .ln{background-color:#eef2f8}.step .band{font-weight:600;padding:2px 8px}"
    ".step .ok{color:#17703a;font-weight:400}"
    ".fail .ln{background-color:#fbe3e1}.fail .band{color:#8c1d16;padding:4px 8px}"
    ".fail{outline:2px solid #b3261e;margin:2px 0}.infail>.t{box-shadow:inset -3px 0 #d9776f}"
    ".x{position:absolute;left:0;top:2px;background:#34495e;color:#fff;border-radius:8px;padding:0 5px;"
    "margin-right:4px;font-size:10px;line-height:15px}"
    ".hide-broker .k-broker,.hide-note .k-note{display:none}"
    ".tools label{white-space:nowrap}.tools input[type=number]{width:6em}";

// Click a label to wrap it whole; filters; open scrolled to the failed step.
constexpr const char* kPageJs =
    "(function(){var b=document.body;document.addEventListener('click',function(e){"
    "var l=e.target.closest&&e.target.closest('.l');if(l)l.classList.toggle('open');});"
    "function cb(id,c){var e=document.getElementById(id);e.addEventListener('change',"
    "function(){b.classList.toggle(c,!e.checked);});}cb('showbroker','hide-broker');"
    "cb('shownote','hide-note');var f=document.getElementById('from'),"
    "t=document.getElementById('to'),rows=document.querySelectorAll('.sd .r[data-t]');"
    "function w(){var lo=f.value===''?-1:parseFloat(f.value)*1000,"
    "hi=t.value===''?Infinity:parseFloat(t.value)*1000;rows.forEach(function(r){"
    "var v=+r.dataset.t;r.hidden=v<lo||v>hi;});}f.addEventListener('input',w);"
    "t.addEventListener('input',w);var x=document.getElementById('failed');"
    "if(x&&!location.hash)x.scrollIntoView({block:'center'});})();";

std::string Seconds(std::chrono::milliseconds duration, int decimals) {
    char buffer[64];
    (void)std::snprintf(buffer, sizeof buffer, "%.*f", decimals,
                        static_cast<double>(duration.count()) / 1000.0);
    return buffer;
}

// A path segment that stays inside the report's folder.
std::string SafeSegment(std::string segment) {
    if (segment.empty() || segment == "." || segment == "..") {
        return "_";
    }
    for (char& c : segment) {
        if (c == '\\' || static_cast<unsigned char>(c) < 0x20) {
            c = '_';
        }
    }
    return segment;
}

// The scenario's id as a relative path: "claim/x" stays "claim/x"; no segment escapes.
std::string SafeId(const std::string& id) {
    std::string out;
    std::size_t start = 0;
    while (true) {
        const auto slash = id.find('/', start);
        out += SafeSegment(id.substr(start, slash == std::string::npos ? std::string::npos
                                                                       : slash - start));
        if (slash == std::string::npos) {
            return out;
        }
        out += '/';
        start = slash + 1;
    }
}

// Percent-encodes what a relative URL cannot carry as is (keeps '/').
std::string UrlPath(std::string_view path) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const char ch : path) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
            out += ch;
        } else {
            out += '%';
            out += kHex[c >> 4U];
            out += kHex[c & 15U];
        }
    }
    return out;
}

std::string Folder(const std::string& id) {
    const auto slash = id.rfind('/');
    return slash == std::string::npos ? std::string() : id.substr(0, slash);
}

std::string Name(const std::string& id) {
    const auto slash = id.rfind('/');
    return slash == std::string::npos ? id : id.substr(slash + 1);
}

// "../" once per folder level of the page at `path`.
std::string ToRoot(const std::string& path) {
    std::string up;
    for (const char c : path) {
        if (c == '/') {
            up += "../";
        }
    }
    return up;
}

std::string PagePath(const ScenarioResult& result) { return SafeId(result.id) + ".html"; }

std::string TranscriptPath(const ScenarioResult& result, const std::string& module) {
    return SafeId(result.id) + "." + SafeSegment(module) + ".serial.log";
}

std::string FailureSummary(const StepFailure& failure) {
    std::string text = failure.step.empty() ? std::string() : "step '" + failure.step + "'";
    if (failure.line > 0) {
        text += " (line " + std::to_string(failure.line) + ")";
    }
    return text.empty() ? failure.reason : text + ": " + failure.reason;
}

bool IsStep(EntryKind kind) {
    return kind == EntryKind::kStepStart || kind == EntryKind::kStepPass ||
           kind == EntryKind::kStepFail || kind == EntryKind::kStepSkip;
}

bool SameEntry(const TimelineEntry& a, const TimelineEntry& b) {
    return a.kind == b.kind && a.participant == b.participant && a.text == b.text;
}

const char* KindClass(EntryKind kind) {
    switch (kind) {
        case EntryKind::kAtSend:
            return "k-send";
        case EntryKind::kAtAnswer:
            return "k-ans";
        case EntryKind::kEvent:
            return "k-event";
        case EntryKind::kMqtt:
            return "k-mqtt";
        case EntryKind::kRefusal:
            return "k-refusal";
        case EntryKind::kClaim:
            return "k-claim";
        case EntryKind::kCall:
            return "k-call";
        case EntryKind::kReply:
            return "k-reply";
        case EntryKind::kRegistry:
            return "k-registry";
        case EntryKind::kBrokerLog:
            return "k-broker";
        case EntryKind::kStepStart:
        case EntryKind::kStepPass:
        case EntryKind::kStepFail:
        case EntryKind::kStepSkip:
            return "k-step";
        case EntryKind::kNote:
            return "k-note";
    }
    return "k-note";
}

enum class Role { kRunner, kModule, kActor, kAccount };

struct Lifelines {
    std::vector<std::string> names;  // In drawing order.
    std::map<std::string, std::size_t> column;
    std::map<std::string, Role> role;
};

Lifelines MakeLifelines(const std::vector<TimelineEntry>& timeline) {
    std::vector<std::string> seen;
    std::map<std::string, Role> role;
    auto promote = [&](const std::string& name, Role r) {
        auto [it, added] = role.emplace(name, r);
        if (added) {
            seen.push_back(name);
        } else if (static_cast<int>(r) < static_cast<int>(it->second) || it->second == Role::kActor) {
            it->second = r;
        }
    };
    promote("runner", Role::kRunner);
    for (const auto& entry : timeline) {
        if (entry.participant.empty()) {
            continue;
        }
        switch (entry.kind) {
            case EntryKind::kAtSend:
            case EntryKind::kAtAnswer:
            case EntryKind::kEvent:
                promote(entry.participant, Role::kModule);
                break;
            case EntryKind::kRefusal:
            case EntryKind::kReply:
            case EntryKind::kRegistry:
            case EntryKind::kBrokerLog:
                promote(entry.participant, Role::kAccount);
                break;
            default:
                if (entry.participant == "runner") {
                    break;
                }
                if (role.emplace(entry.participant, Role::kActor).second) {
                    seen.push_back(entry.participant);
                }
        }
        if (entry.kind == EntryKind::kCall) {
            const auto space = entry.text.find(' ');
            if (space != std::string::npos && space > 0) {
                promote(entry.text.substr(0, space), Role::kAccount);
            }
        }
    }
    Lifelines lines;
    for (const Role r : {Role::kRunner, Role::kModule, Role::kActor, Role::kAccount}) {
        for (const auto& name : seen) {
            if (role[name] == r) {
                lines.column[name] = lines.names.size();
                lines.names.push_back(name);
            }
        }
    }
    lines.role = std::move(role);
    return lines;
}

// The shape of one entry in the diagram: an arrow between two lifelines or a note on one.
struct Shape {
    std::size_t from = 0;
    std::size_t to = 0;  // == from: a note.
    std::string label;
};

std::string Percent(double value) {
    char buffer[32];
    (void)std::snprintf(buffer, sizeof buffer, "%.4g%%", value);
    return buffer;
}

std::string ShapeHtml(const Shape& shape, std::size_t columns) {
    const double column = 100.0 / static_cast<double>(columns);
    const std::string label = "<span class=\"l\">" + HtmlEscape(shape.label) + "</span>";
    if (shape.from == shape.to) {
        return "<div class=\"nt\" style=\"margin-left:" +
               Percent(column * static_cast<double>(shape.from)) +
               ";width:" + Percent(column) + "\">" + label + "</div>";
    }
    const std::size_t low = std::min(shape.from, shape.to);
    const std::size_t high = std::max(shape.from, shape.to);
    return std::string("<div class=\"a ") + (shape.to > shape.from ? "rt" : "lt") +
           "\" style=\"margin-left:" + Percent(column * (static_cast<double>(low) + 0.5)) +
           ";width:" + Percent(column * static_cast<double>(high - low)) + "\">" + label +
           "</div>";
}

struct Split {
    std::string expected;
    std::string observed;
    std::string says;
};

// "expected X, observed Y (oem-b says: Z)" into its parts, when it has that shape.
std::optional<Split> SplitReason(const std::string& reason) {
    if (reason.rfind("expected ", 0) != 0) {
        return std::nullopt;
    }
    const auto observed = reason.find(", observed ");
    if (observed == std::string::npos) {
        return std::nullopt;
    }
    Split split;
    split.expected = reason.substr(9, observed - 9);
    split.observed = reason.substr(observed + 11);
    if (const auto says = split.observed.find(" says: ");
        says != std::string::npos && split.observed.back() == ')') {
        if (const auto open = split.observed.rfind(" (", says); open != std::string::npos) {
            split.says = split.observed.substr(open + 2, split.observed.size() - open - 3);
            split.observed.erase(open);
        }
    }
    return split;
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    detail::ForEachCodePoint(text, [&](char32_t code, std::string_view bytes) {
        if ((code < 0x20 && code != '\t' && code != '\n') || (code >= 0x7F && code < 0xA0)) {
            return;  // Control characters have no place in a page.
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
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out.append(bytes);
        }
    });
    return out;
}

std::vector<CollapsedRun> CollapseRepeats(const std::vector<TimelineEntry>& entries) {
    constexpr std::size_t kLongestBlock = 4;
    std::vector<CollapsedRun> runs;
    std::size_t i = 0;
    while (i < entries.size()) {
        CollapsedRun best{i, 1, 1};
        for (std::size_t period = 1; period <= kLongestBlock && i + 2 * period <= entries.size();
             ++period) {
            bool steps = false;
            for (std::size_t k = 0; k < period; ++k) {
                steps = steps || IsStep(entries[i + k].kind);
            }
            if (steps) {
                break;
            }
            std::size_t repeats = 1;
            while (i + (repeats + 1) * period <= entries.size()) {
                bool same = true;
                for (std::size_t k = 0; k < period && same; ++k) {
                    same = SameEntry(entries[i + k], entries[i + repeats * period + k]);
                }
                if (!same) {
                    break;
                }
                ++repeats;
            }
            if (repeats >= 2 && repeats * period > best.repeats * best.period) {
                best = CollapsedRun{i, period, repeats};
            }
        }
        runs.push_back(best);
        i += best.period * best.repeats;
    }
    return runs;
}

std::vector<std::string> TimelineModules(const ScenarioResult& result) {
    std::vector<std::string> modules;
    for (const auto& entry : result.timeline) {
        if ((entry.kind == EntryKind::kAtSend || entry.kind == EntryKind::kAtAnswer ||
             entry.kind == EntryKind::kEvent) &&
            std::find(modules.begin(), modules.end(), entry.participant) == modules.end()) {
            modules.push_back(entry.participant);
        }
    }
    return modules;
}

std::string SerialTranscript(const ScenarioResult& result, const std::string& module) {
    const auto stamp = [](std::chrono::milliseconds offset) {
        const long long ms = offset.count() < 0 ? 0 : offset.count();
        char buffer[48];
        (void)std::snprintf(buffer, sizeof buffer, "%02lld:%02lld:%02lld.%03lld", ms / 3600000,
                            ms / 60000 % 60, ms / 1000 % 60, ms % 1000);
        return std::string(buffer);
    };
    // One line of text: a line break inside would read as two lines of the serial link.
    const auto line = [](std::string text) {
        std::replace(text.begin(), text.end(), '\n', ' ');
        std::replace(text.begin(), text.end(), '\r', ' ');
        return text;
    };
    std::string out = "# serial transcript of module " + line(module) + " in scenario " +
                      line(result.id) + " (seed " + std::to_string(result.seed) +
                      "); times since the scenario started; > sent to the module, < from it\n";
    for (const auto& entry : result.timeline) {
        if (entry.participant != module) {
            continue;
        }
        const std::string at = stamp(entry.offset);
        switch (entry.kind) {
            case EntryKind::kAtSend:
                out += at + " > " + line(entry.text) + "\n";
                break;
            case EntryKind::kAtAnswer:
                if (entry.text.rfind("(no answer", 0) == 0) {
                    out += "# " + at + " " + line(entry.text) + "\n";
                } else {
                    out += at + " < " + line(entry.text) + "\n";
                }
                break;
            case EntryKind::kEvent:
                out += at + " > AT+EVENT?\n" + at + " < " + line(entry.text) + "\n";
                break;
            default:
                out += "# " + at + " " + line(entry.text) + "\n";
        }
    }
    return out;
}

std::string HtmlIndex(const std::vector<ScenarioResult>& results,
                      std::chrono::milliseconds elapsed, std::uint64_t seed) {
    std::string html = kHead;
    html += "<title>elsim: " + HtmlEscape(SummaryLine(results, elapsed, seed)) + "</title>\n<style>";
    html += kCommonCss;
    html += kIndexCss;
    html += "</style></head><body>\n<header><h1>elsim scenarios</h1><div>" +
            HtmlEscape(SummaryLine(results, elapsed, seed)) + "</div>\n";
    html += "<div class=\"tools\"><label>Name <input id=\"q\" type=\"search\" "
            "placeholder=\"filter by id\"></label><label>Status <select id=\"st\">"
            "<option value=\"\">all</option><option>PASS</option><option>FAIL</option>"
            "<option>ERROR</option><option>SKIP</option></select></label><span id=\"shown\"></span></div></header>\n";
    html += "<table><thead><tr><th>Outcome</th><th>Scenario</th><th>Folder</th>"
            "<th>Duration</th><th>Failure</th></tr></thead><tbody>\n";
    for (const auto& result : results) {
        const std::string outcome = ToString(result.outcome);
        const bool failed = result.outcome != Outcome::kPass && result.outcome != Outcome::kSkip;
        html += "<tr data-status=\"" + outcome + "\" data-id=\"" + HtmlEscape(result.id) +
                "\"><td class=\"o " + outcome + "\">" + outcome + "</td><td><a href=\"" +
                UrlPath(PagePath(result)) + (failed ? "#failed" : "") + "\">" +
                HtmlEscape(Name(result.id)) + "</a></td><td>" + HtmlEscape(Folder(result.id)) +
                "</td><td class=\"d\">" + Seconds(result.duration, 1) + " s</td><td class=\"why\">" +
                (result.outcome != Outcome::kPass && result.failure
                     ? HtmlEscape(FailureSummary(*result.failure))
                     : "") +
                "</td></tr>\n";
    }
    html += "</tbody></table>\n<script>";
    html += kIndexJs;
    html += "</script></body></html>\n";
    return html;
}

std::string HtmlScenarioPage(const ScenarioResult& result) {
    const auto& timeline = result.timeline;
    const Lifelines lifelines = MakeLifelines(timeline);
    const std::size_t columns = lifelines.names.size();
    const std::string page_path = PagePath(result);
    const std::string root = ToRoot(page_path);
    const bool failed = result.outcome != Outcome::kPass && result.outcome != Outcome::kSkip;

    // The failed step: its fail entry, and where that step started.
    std::optional<std::size_t> fail_at;
    std::size_t fail_from = timeline.size();
    for (std::size_t i = timeline.size(); i-- > 0;) {
        if (timeline[i].kind == EntryKind::kStepFail) {
            fail_at = i;
            break;
        }
    }
    if (fail_at) {
        const std::string& text = timeline[*fail_at].text;
        for (std::size_t i = *fail_at; i-- > 0;) {
            if (timeline[i].kind == EntryKind::kStepStart &&
                text.rfind(timeline[i].text + ": ", 0) == 0) {
                fail_from = i;
                break;
            }
        }
    }

    std::string html = kHead;
    html += "<title>" + std::string(ToString(result.outcome)) + " " + HtmlEscape(result.id) +
            "</title>\n<style>";
    html += kCommonCss;
    html += kPageCss;
    html += "</style></head><body>\n<header><div><a href=\"" + root +
            "index.html\">&larr; all scenarios</a></div>";
    html += "<h1><span class=\"" + std::string(ToString(result.outcome)) + "\">" +
            ToString(result.outcome) + "</span> " + HtmlEscape(result.id) + "</h1>";
    html += "<div class=\"mono\">" + HtmlEscape(result.file.string()) + " &middot; " +
            Seconds(result.duration, 3) + " s &middot; seed " + std::to_string(result.seed) +
            " (replay: <code>elsim run " + HtmlEscape(result.file.string()) + " --seed &lt;run seed&gt;</code>)</div>";
    html += "<div class=\"tools\"><label><input id=\"showbroker\" type=\"checkbox\" checked> "
            "broker log lines</label><label><input id=\"shownote\" type=\"checkbox\" checked> "
            "notes</label><label>time window <input id=\"from\" type=\"number\" min=\"0\" "
            "step=\"0.1\" placeholder=\"from s\"> &ndash; <input id=\"to\" type=\"number\" "
            "min=\"0\" step=\"0.1\" placeholder=\"to s\"></label>"
            "<span>click a line to see it whole</span></div></header>\n";

    if (failed) {
        html += "<section class=\"banner\" id=\"failure\"><b class=\"" +
                std::string(ToString(result.outcome)) + "\">" + ToString(result.outcome) + "</b> ";
        if (result.failure) {
            const auto& f = *result.failure;
            html += "in step <b>" + HtmlEscape(f.step) + "</b>";
            if (f.line > 0) {
                html += " (line " + std::to_string(f.line) + ")";
            }
            html += " &middot; <a href=\"#failed\">go to the step</a><dl>";
            if (const auto split = SplitReason(f.reason)) {
                html += "<dt>Expected</dt><dd class=\"mono\">" + HtmlEscape(split->expected) +
                        "</dd><dt>Observed</dt><dd class=\"mono\">" + HtmlEscape(split->observed) +
                        "</dd>";
                if (!split->says.empty()) {
                    html += "<dt>Reason</dt><dd class=\"mono\">" + HtmlEscape(split->says) +
                            "</dd>";
                }
            } else {
                html += "<dt>Reason</dt><dd class=\"mono\">" + HtmlEscape(f.reason) + "</dd>";
            }
            // What the accounts refused while the step ran.
            const std::size_t end = fail_at ? *fail_at : timeline.size();
            for (std::size_t i = fail_from == timeline.size() ? 0 : fail_from; i < end; ++i) {
                if (timeline[i].kind == EntryKind::kRefusal) {
                    html += "<dt>" + HtmlEscape(timeline[i].participant) +
                            " refused</dt><dd class=\"mono\">" + HtmlEscape(timeline[i].text) +
                            "</dd>";
                }
            }
            html += "</dl>";
        }
        if (!result.kept_world.empty()) {
            html += "<div>World kept in <code>" + HtmlEscape(result.kept_world.string()) +
                    "</code></div>";
        }
        html += "</section>\n";
    }

    html += "<div class=\"sd\" style=\"--n:" + std::to_string(columns) + "\">\n";
    html += "<div class=\"r hd\"><span class=\"t\">time (s)</span><div class=\"ln\">";
    static constexpr const char* kRoleName[] = {"host / runner", "module", "actor", "account"};
    for (const auto& name : lifelines.names) {
        const Role role = lifelines.role.at(name);
        html += "<div class=\"p\" data-p=\"" + HtmlEscape(name) + "\"><b>" + HtmlEscape(name) +
                "</b><small>" + kRoleName[static_cast<int>(role)] + "</small>";
        if (role == Role::kModule) {
            const std::string log = TranscriptPath(result, name);
            html += "<br><a class=\"serial\" download href=\"" + root + UrlPath(log) +
                    "\">serial log</a>";
        }
        html += "</div>";
    }
    html += "</div></div>\n";

    const auto column_of = [&](const std::string& name) {
        const auto it = lifelines.column.find(name);
        return it == lifelines.column.end() ? std::size_t{0} : it->second;
    };
    std::map<std::string, std::string> last_caller;  // account -> who called it last
    const auto shape_of = [&](const TimelineEntry& entry) {
        Shape shape;
        shape.from = shape.to = column_of(entry.participant);
        shape.label = entry.text;
        switch (entry.kind) {
            case EntryKind::kAtSend:
                shape.from = column_of("runner");
                break;
            case EntryKind::kAtAnswer:
            case EntryKind::kEvent:
                shape.to = column_of("runner");
                if (entry.kind == EntryKind::kEvent) {
                    shape.label = "event " + entry.text;
                }
                break;
            case EntryKind::kCall: {
                const auto space = entry.text.find(' ');
                if (space != std::string::npos && lifelines.column.count(entry.text.substr(0, space))) {
                    const std::string account = entry.text.substr(0, space);
                    shape.to = column_of(account);
                    shape.label = entry.text.substr(space + 1);
                    last_caller[account] = entry.participant;
                }
                break;
            }
            case EntryKind::kReply: {
                const auto it = last_caller.find(entry.participant);
                shape.to = column_of(it == last_caller.end() ? "runner" : it->second);
                break;
            }
            default:
                break;
        }
        return shape;
    };

    // The step names that passed or failed after each start, for the step bands.
    const auto step_end = [&](std::size_t start) -> std::optional<std::size_t> {
        for (std::size_t i = start + 1; i < timeline.size(); ++i) {
            const auto& e = timeline[i];
            if ((e.kind == EntryKind::kStepPass && e.text == timeline[start].text) ||
                (e.kind == EntryKind::kStepFail &&
                 e.text.rfind(timeline[start].text + ": ", 0) == 0)) {
                return i;
            }
        }
        return std::nullopt;
    };

    const auto row_open = [&](std::size_t i, const std::string& classes) {
        std::string row = "<div class=\"r " + classes;
        if (fail_at && i >= fail_from && i <= *fail_at) {
            row += " infail";
        }
        return row + "\" data-t=\"" + std::to_string(timeline[i].offset.count()) + "\"";
    };
    const auto fail_row = [&](const std::string& step, const std::string& reason,
                              const std::string& time, const std::string& data_t) {
        return "<div class=\"r fail infail\" id=\"failed\" data-t=\"" + data_t +
               "\"><span class=\"t\">" + time + "</span><div class=\"ln\"><div class=\"band\">"
               "&#10007; failed: <b>" + HtmlEscape(step) + "</b><br><span class=\"mono\">" +
               HtmlEscape(reason) + "</span></div></div></div>\n";
    };

    for (const auto& run : CollapseRepeats(timeline)) {
        for (std::size_t k = 0; k < run.period; ++k) {
            const std::size_t i = run.first + k;
            const auto& entry = timeline[i];
            std::string time = Seconds(entry.offset, 3);
            if (run.repeats > 1) {
                const auto& last = timeline[run.first + run.period * (run.repeats - 1) + k];
                time = (k == 0 ? "<span class=\"x\" title=\"repeated\">&times;" +
                                     std::to_string(run.repeats) + "</span>"
                               : std::string()) +
                       Seconds(entry.offset, 3) + "&hellip;" + Seconds(last.offset, 3);
            }
            switch (entry.kind) {
                case EntryKind::kStepPass:
                    break;  // Shown in the step's band.
                case EntryKind::kStepSkip:
                    html += row_open(i, "step") + "><span class=\"t\">" + time +
                            "</span><div class=\"ln\"><div class=\"band\">&#8631; skipped: " +
                            HtmlEscape(entry.text) + "</div></div></div>\n";
                    break;
                case EntryKind::kStepStart: {
                    const auto end = step_end(i);
                    std::string outcome;
                    if (end && timeline[*end].kind == EntryKind::kStepPass) {
                        outcome = " <span class=\"ok\">&#10003; passed in " +
                                  std::to_string((timeline[*end].offset - entry.offset).count()) +
                                  " ms</span>";
                    }
                    html += row_open(i, "step") + "><span class=\"t\">" + time +
                            "</span><div class=\"ln\"><div class=\"band\">&#9656; " +
                            HtmlEscape(entry.text) + outcome + "</div></div></div>\n";
                    break;
                }
                case EntryKind::kStepFail: {
                    if (fail_at && i == *fail_at) {
                        std::string step = entry.text;
                        std::string reason;
                        if (fail_from < timeline.size()) {
                            step = timeline[fail_from].text;
                            reason = entry.text.substr(step.size() + 2);
                        } else if (result.failure) {
                            step = result.failure->step;
                            reason = result.failure->reason;
                        }
                        html += fail_row(step, reason, time,
                                         std::to_string(entry.offset.count()));
                    } else {
                        html += row_open(i, "fail") + "><span class=\"t\">" + time +
                                "</span><div class=\"ln\"><div class=\"band\">&#10007; " +
                                HtmlEscape(entry.text) + "</div></div></div>\n";
                    }
                    break;
                }
                default:
                    html += row_open(i, KindClass(entry.kind)) + " data-p=\"" +
                            HtmlEscape(entry.participant) + "\"><span class=\"t\">" + time +
                            "</span><div class=\"ln\">" + ShapeHtml(shape_of(entry), columns) +
                            "</div></div>\n";
            }
        }
    }
    if (failed && !fail_at) {
        // Failed without a step's fail entry (set-up, a timeout): the failure closes the diagram.
        const std::string step = result.failure ? result.failure->step : std::string("scenario");
        const std::string reason = result.failure ? result.failure->reason
                                                  : std::string(ToString(result.outcome));
        html += fail_row(step, reason, Seconds(result.duration, 3),
                         std::to_string(result.duration.count()));
    }
    html += "</div>\n<script>";
    html += kPageJs;
    html += "</script></body></html>\n";
    return html;
}

std::vector<ReportFile> HtmlReport(const std::vector<ScenarioResult>& results,
                                   std::chrono::milliseconds elapsed, std::uint64_t seed) {
    std::vector<ReportFile> files;
    files.push_back(ReportFile{"index.html", HtmlIndex(results, elapsed, seed)});
    for (const auto& result : results) {
        files.push_back(ReportFile{PagePath(result), HtmlScenarioPage(result)});
        for (const auto& module : TimelineModules(result)) {
            files.push_back(ReportFile{TranscriptPath(result, module),
                                       SerialTranscript(result, module)});
        }
    }
    return files;
}

}  // namespace sim::scenario
