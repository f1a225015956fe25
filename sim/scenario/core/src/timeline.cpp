// SPDX-License-Identifier: Apache-2.0
#include "sim/scenario/timeline.hpp"

#include <algorithm>
#include <utility>

namespace sim::scenario {

const char* ToString(EntryKind kind) noexcept {
    switch (kind) {
        case EntryKind::kStepStart:
            return "step";
        case EntryKind::kStepPass:
            return "pass";
        case EntryKind::kStepFail:
            return "FAIL";
        case EntryKind::kAtSend:
            return "at>";
        case EntryKind::kAtAnswer:
            return "at<";
        case EntryKind::kEvent:
            return "event";
        case EntryKind::kMqtt:
            return "mqtt";
        case EntryKind::kRefusal:
            return "refused";
        case EntryKind::kClaim:
            return "claim";
        case EntryKind::kCall:
            return "call>";
        case EntryKind::kReply:
            return "call<";
        case EntryKind::kRegistry:
            return "registry";
        case EntryKind::kBrokerLog:
            return "broker";
        case EntryKind::kNote:
            return "note";
        case EntryKind::kStepSkip:
            return "skip";
    }
    return "note";
}

void Timeline::Add(TimelineEntry entry) {
    const std::lock_guard<std::mutex> lock(mutex_);
    entries_.push_back(std::move(entry));
}

std::vector<TimelineEntry> Timeline::Entries() const {
    std::vector<TimelineEntry> copy;
    {
        const std::lock_guard<std::mutex> lock(mutex_);
        copy = entries_;
    }
    std::stable_sort(copy.begin(), copy.end(), [](const TimelineEntry& a, const TimelineEntry& b) {
        return a.offset < b.offset;
    });
    return copy;
}

}  // namespace sim::scenario
