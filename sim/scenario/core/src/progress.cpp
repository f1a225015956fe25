// SPDX-License-Identifier: Apache-2.0
#include "sim/scenario/progress.hpp"

#include <cstdio>

namespace sim::scenario {
namespace {

// "45 s", "1m33s", "2h05m".
std::string Duration(long long seconds) {
    char buffer[32];
    if (seconds < 60) {
        (void)std::snprintf(buffer, sizeof buffer, "%lld s", seconds);
    } else if (seconds < 3600) {
        (void)std::snprintf(buffer, sizeof buffer, "%lldm%02llds", seconds / 60, seconds % 60);
    } else {
        (void)std::snprintf(buffer, sizeof buffer, "%lldh%02lldm", seconds / 3600,
                            seconds / 60 % 60);
    }
    return buffer;
}

std::string Pad(std::string text, std::size_t width) {
    if (text.size() < width) {
        text.append(width - text.size(), ' ');
    }
    return text;
}

}  // namespace

std::string ProgressLine(const Progress& progress) {
    const long long elapsed_ms = progress.elapsed.count() < 0 ? 0 : progress.elapsed.count();
    std::string line = std::to_string(progress.done) + "/" + std::to_string(progress.total) +
                       " done, " + std::to_string(progress.failed) + " failed, " +
                       Duration(elapsed_ms / 1000) + " elapsed, ETA ";
    if (progress.done == 0) {
        return line + "?";
    }
    const std::size_t left = progress.total > progress.done ? progress.total - progress.done : 0;
    const long long eta_ms = elapsed_ms * static_cast<long long>(left) /
                             static_cast<long long>(progress.done);
    return line + Duration((eta_ms + 999) / 1000);
}

std::string LiveTimelineLine(const TimelineEntry& entry) {
    char offset[32];
    (void)std::snprintf(offset, sizeof offset, "+%7.3fs",
                        static_cast<double>(entry.offset.count()) / 1000.0);
    std::string line = std::string(offset) + "  " + Pad(entry.participant, 10) + "  " +
                       Pad(ToString(entry.kind), 8) + "  " + entry.text;
    while (!line.empty() && line.back() == ' ') {
        line.pop_back();
    }
    return line;
}

}  // namespace sim::scenario
