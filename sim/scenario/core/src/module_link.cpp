// SPDX-License-Identifier: Apache-2.0
#include "sim/scenario/module_link.hpp"

#include <algorithm>
#include <regex>
#include <set>
#include <variant>

#include "sim/core/net.hpp"

namespace sim::scenario {

namespace {

using Millis = std::chrono::milliseconds;

sim::Unexpected<std::string> Bad(std::string reason) {
    return sim::Unexpected<std::string>("--modules: " + std::move(reason));
}

std::vector<std::string_view> Split(std::string_view text, char separator) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (true) {
        const auto at = text.find(separator, start);
        parts.push_back(text.substr(start, at == std::string_view::npos ? at : at - start));
        if (at == std::string_view::npos) {
            return parts;
        }
        start = at + 1;
    }
}

std::optional<std::uint16_t> ParsePort(std::string_view text) {
    if (text.empty() || text.size() > 5 ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    const unsigned long value = std::stoul(std::string(text));
    if (value == 0 || value > 65535) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(value);
}

}  // namespace

const char* ToString(LinkSpec::Kind kind) noexcept {
    switch (kind) {
        case LinkSpec::Kind::kSerial:
            return "serial";
        case LinkSpec::Kind::kPty:
            return "pty";
        case LinkSpec::Kind::kTcp:
            return "tcp";
    }
    return "serial";
}

std::string ToString(const LinkSpec& link) {
    std::string out = link.actor + "=" + ToString(link.kind) + ":";
    if (link.kind == LinkSpec::Kind::kTcp) {
        return out + link.host + ":" + std::to_string(link.port);
    }
    return out + link.path;
}

sim::Result<std::vector<LinkSpec>, std::string> ParseModuleLinks(std::string_view text) {
    // The scenario format's actor names (scenarios/README.md).
    static const std::regex kName("[a-z][a-z0-9-]{0,31}");
    std::vector<LinkSpec> links;
    if (text.empty()) {
        return Bad("give NAME=serial:PATH, NAME=pty:PATH or NAME=tcp:HOST:PORT");
    }
    std::set<std::string> devices;
    for (const auto item : Split(text, ',')) {
        const std::string quoted = "'" + std::string(item) + "'";
        if (item.empty()) {
            return Bad("an empty item (two commas, or a comma at an end)");
        }
        const auto equals = item.find('=');
        if (equals == std::string_view::npos) {
            return Bad(quoted + ": expected NAME=KIND:WHERE (e.g. m1=serial:/dev/ttyUSB0)");
        }
        LinkSpec link;
        link.actor = std::string(item.substr(0, equals));
        if (!std::regex_match(link.actor, kName)) {
            return Bad(quoted + ": actor name '" + link.actor +
                       "' must match [a-z][a-z0-9-]{0,31}");
        }
        const auto rest = item.substr(equals + 1);
        const auto colon = rest.find(':');
        const std::string kind(rest.substr(0, colon));
        const std::string_view where =
            colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
        if (kind == "serial" || kind == "pty") {
            link.kind = kind == "serial" ? LinkSpec::Kind::kSerial : LinkSpec::Kind::kPty;
            if (where.empty()) {
                return Bad(quoted + ": " + kind + " needs a device path (" + kind +
                           (kind == "serial" ? ":/dev/ttyUSB0)" : ":/dev/pts/N)"));
            }
            if (where.front() != '/') {
                return Bad(quoted + ": the device path must be absolute");
            }
            link.path = std::string(where);
            if (!devices.insert(link.path).second) {
                return Bad(quoted + ": " + link.path + " is given for two actors");
            }
        } else if (kind == "tcp") {
            link.kind = LinkSpec::Kind::kTcp;
            const auto port_colon = where.rfind(':');
            if (where.empty() || port_colon == std::string_view::npos) {
                return Bad(quoted + ": tcp needs HOST:PORT (e.g. tcp:127.0.0.1:7001)");
            }
            link.host = std::string(where.substr(0, port_colon));
            if (!sim::IsLoopbackIpv4(link.host)) {
                return Bad(quoted + ": host '" + link.host +
                           "' must be a loopback IPv4 address (127.x.y.z)");
            }
            const auto port = ParsePort(where.substr(port_colon + 1));
            if (!port) {
                return Bad(quoted + ": port '" + std::string(where.substr(port_colon + 1)) +
                           "' must be 1-65535");
            }
            link.port = *port;
            if (!devices.insert(link.host + ":" + std::to_string(link.port)).second) {
                return Bad(quoted + ": " + link.host + ":" + std::to_string(link.port) +
                           " is given for two actors");
            }
        } else {
            return Bad(quoted + ": unknown kind '" + kind + "' (serial, pty or tcp)");
        }
        for (const auto& earlier : links) {
            if (earlier.actor == link.actor) {
                return Bad(quoted + ": actor " + link.actor + " is linked twice");
            }
        }
        links.push_back(std::move(link));
    }
    return links;
}

std::optional<std::string> CheckLinkedActors(const std::vector<LinkSpec>& links,
                                             const std::vector<Scenario>& scenarios) {
    for (const auto& link : links) {
        const bool found = std::any_of(scenarios.begin(), scenarios.end(), [&](const Scenario& s) {
            return std::any_of(s.actors.begin(), s.actors.end(), [&](const Actor& actor) {
                return actor.name == link.actor && std::holds_alternative<ModuleActor>(actor.kind);
            });
        });
        if (!found) {
            return "--modules: " + link.actor + " is not a module actor of " +
                   (scenarios.size() == 1 ? "scenario " + scenarios.front().id
                                          : std::string("any scenario to run"));
        }
    }
    return std::nullopt;
}

// ---- LineAssembler -------------------------------------------------------------------------------

std::vector<std::string> LineAssembler::Feed(std::string_view bytes) {
    std::vector<std::string> lines;
    for (const char c : bytes) {
        if (c == '\n' && after_cr_) {
            after_cr_ = false;  // The LF of a CR LF.
            continue;
        }
        after_cr_ = c == '\r';
        if (c == '\r' || c == '\n') {
            if (!partial_.empty()) {
                lines.push_back(std::move(partial_));
            }
            partial_.clear();
            continue;
        }
        if (partial_.size() >= kMaxLinkLine) {
            continue;  // Cut: the rest of an over-long line is dropped.
        }
        partial_ += c;
    }
    return lines;
}

void LineAssembler::Reset() {
    partial_.clear();
    after_cr_ = false;
}

// ---- Resync ---------------------------------------------------------------------------------------

Resync::Resync() : Resync(Options{}) {}

Resync::Resync(Options options) : options_(options) {}

Resync::Step Resync::Start(Millis now) {
    started_ = now;
    phase_ = Phase::kDrain;
    ats_sent_ = 0;
    drained_.clear();
    return Step{Action::kWait, options_.drain, {}};
}

Resync::Step Resync::SendAt(Millis now) {
    if (now - started_ >= options_.limit) {
        return Fail(now);
    }
    phase_ = Phase::kAwaitOk;
    ++ats_sent_;
    return Step{Action::kSendAt, options_.answer, {}};
}

Resync::Step Resync::Fail(Millis now) {
    phase_ = Phase::kFailed;
    std::string reason = "no OK to AT within " + std::to_string((now - started_).count() / 1000) +
                         " s (" + std::to_string(ats_sent_) + " sent)";
    if (!drained_.empty()) {
        reason += "; last line heard: \"" + drained_.back() + "\"";
    } else {
        reason += "; nothing heard: check the port, the cable and that the module is powered";
    }
    return Step{Action::kFail, Millis{0}, std::move(reason)};
}

Resync::Step Resync::OnLine(const std::string& line, Millis now) {
    switch (phase_) {
        case Phase::kDrain:
            // Whatever the module says before our first AT: a boot banner, a late answer.
            drained_.push_back(line);
            return Step{Action::kWait, options_.drain, {}};
        case Phase::kAwaitOk:
            if (line == "OK") {
                phase_ = Phase::kQuiet;
                return Step{Action::kWait, options_.quiet, {}};
            }
            // An answer to a command sent before the run (OK 1 CONNECTED, ERR14 ...).
            drained_.push_back(line);
            if (now - started_ >= options_.limit) {
                return Fail(now);
            }
            return Step{Action::kWait, options_.answer, {}};
        case Phase::kQuiet:
            // The OK of an earlier AT, or anything else still in flight: listen again.
            if (line != "OK") {
                drained_.push_back(line);
            }
            if (now - started_ >= options_.limit) {
                return Fail(now);
            }
            return Step{Action::kWait, options_.quiet, {}};
        case Phase::kDone:
            return Step{Action::kDone, Millis{0}, {}};
        case Phase::kFailed:
            return Fail(now);
    }
    return Fail(now);
}

Resync::Step Resync::OnTimeout(Millis now) {
    switch (phase_) {
        case Phase::kDrain:
        case Phase::kAwaitOk:
            return SendAt(now);
        case Phase::kQuiet:
            phase_ = Phase::kDone;
            return Step{Action::kDone, Millis{0}, {}};
        case Phase::kDone:
            return Step{Action::kDone, Millis{0}, {}};
        case Phase::kFailed:
            return Fail(now);
    }
    return Fail(now);
}

}  // namespace sim::scenario
