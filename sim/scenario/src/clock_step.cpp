// SPDX-License-Identifier: Apache-2.0
#include "clock_step.hpp"

#include <optional>

#include "sim/core/clock_state.hpp"

namespace sim::scenario {
namespace {

using std::chrono::milliseconds;

// A timer callback only posts an event to its module, which handles it on the same thread:
// anything longer than this is stuck.
constexpr milliseconds kSettleTimeout{10'000};

// The earliest pending timer of the running modules.
std::optional<sim::TimePoint> EarliestDue(const std::vector<ModuleRuntime*>& modules) {
    std::optional<sim::TimePoint> earliest;
    for (ModuleRuntime* module : modules) {
        const auto due = module->NextDue();
        if (due && (!earliest || *due < *earliest)) {
            earliest = due;
        }
    }
    return earliest;
}

sim::Result<void, std::string> SettleAll(const std::vector<ModuleRuntime*>& modules) {
    for (ModuleRuntime* module : modules) {
        if (!module->SettleTimers(kSettleTimeout)) {
            return sim::Unexpected<std::string>("the timers of module " + module->name() +
                                                " did not settle within 10 s");
        }
    }
    return {};
}

sim::Result<void, std::string> Move(sim::WorldClock& clock, std::chrono::nanoseconds by) {
    if (by <= std::chrono::nanoseconds::zero()) {
        return {};
    }
    if (auto moved = clock.Advance(by); !moved) {
        return sim::Unexpected<std::string>("advance: " + moved.error().message);
    }
    return {};
}

}  // namespace

sim::Result<void, std::string> AdvanceWorldClock(sim::WorldClock& clock, milliseconds by,
                                                 const std::vector<ModuleRuntime*>& modules,
                                                 Recorder& recorder) {
    if (by <= milliseconds::zero()) {
        return sim::Unexpected<std::string>("advance: the duration must be positive");
    }
    // The target in world time. In virtual mode world time also flows while we work; the
    // target then counts from the step's start, as a real wait would.
    const sim::TimePoint target = clock.Now() + by;
    std::optional<sim::TimePoint> due = EarliestDue(modules);
    while (due && *due < target) {
        if (auto moved = Move(clock, *due - clock.Now()); !moved) {
            return moved;
        }
        if (auto settled = SettleAll(modules); !settled) {
            return settled;
        }
        due = EarliestDue(modules);
    }
    if (auto moved = Move(clock, target - clock.Now()); !moved) {
        return moved;
    }
    if (auto settled = SettleAll(modules); !settled) {
        return settled;
    }
    recorder.Add("clock", EntryKind::kNote,
                 "advanced " + sim::FormatClockDuration(by) + ": world time " +
                     sim::DescribeClock(clock.Read(), std::chrono::system_clock::now()));
    return {};
}

}  // namespace sim::scenario
