// SPDX-License-Identifier: Apache-2.0
#include "sim/module/events.hpp"

namespace sim::module {

const char* Mnemonic(EventId id) noexcept {
    switch (id) {
        case EventId::kMsg:
            return "MSG";
        case EventId::kStartup:
            return "STARTUP";
        case EventId::kConlost:
            return "CONLOST";
        case EventId::kOverrun:
            return "OVERRUN";  // Table 4's mnemonic; PG-MSG's text calls it OVERFLOW.
        case EventId::kOta:
            return "OTA";
        case EventId::kConnect:
            return "CONNECT";
        case EventId::kConfmode:
            return "CONFMODE";
        case EventId::kSuback:
            return "SUBACK";
        case EventId::kSubnack:
            return "SUBNACK";
    }
    return "UNKNOWN";
}

std::string FormatEvent(const ModuleEvent& event) {
    std::string line = "OK " + std::to_string(static_cast<int>(event.id)) + " " +
                       std::to_string(event.parameter) + " " + Mnemonic(event.id);
    if (!event.detail.empty()) {
        line += ' ';
        line += event.detail;
    }
    return line;
}

void EventQueue::Push(ModuleEvent event) {
    if (events_.size() >= capacity_) {
        events_.pop_front();
        ++dropped_;
    }
    events_.push_back(std::move(event));
}

std::optional<ModuleEvent> EventQueue::Pop() {
    if (events_.empty()) {
        return std::nullopt;
    }
    ModuleEvent event = std::move(events_.front());
    events_.pop_front();
    return event;
}

}  // namespace sim::module
