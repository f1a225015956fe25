// SPDX-License-Identifier: Apache-2.0
#include "clock_step.hpp"

#include <optional>

#include "sim/core/clock_state.hpp"
#include "sim/module/clock_advance.hpp"

namespace sim::scenario {
namespace {

using std::chrono::milliseconds;

// A timer callback only posts an event to its module, which handles it on the same thread, and
// a reply the module awaits holds the clock for at most 2 s (the module's MQTT client port):
// anything longer than this is stuck.
constexpr milliseconds kSettleTimeout{10'000};

// The pending timers of the running modules, as one set of stops.
module::TimerStops StopsOf(const std::vector<ModuleRuntime*>& modules) {
    module::TimerStops stops;
    stops.next_due = [&modules] {
        std::optional<sim::TimePoint> earliest;
        for (ModuleRuntime* module : modules) {
            const auto due = module->NextDue();
            if (due && (!earliest || *due < *earliest)) {
                earliest = due;
            }
        }
        return earliest;
    };
    stops.settle = [&modules]() -> sim::Result<void, std::string> {
        for (ModuleRuntime* module : modules) {
            if (!module->SettleTimers(kSettleTimeout)) {
                return sim::Unexpected<std::string>("the timers of module " + module->name() +
                                                    " did not settle within 10 s");
            }
        }
        return {};
    };
    return stops;
}

}  // namespace

sim::Result<void, std::string> AdvanceWorldClock(sim::WorldClock& clock, milliseconds by,
                                                 const std::vector<ModuleRuntime*>& modules,
                                                 Recorder& recorder) {
    if (auto moved = module::AdvanceThroughTimers(clock, by, StopsOf(modules)); !moved) {
        return moved;
    }
    recorder.Add("clock", EntryKind::kNote,
                 "advanced " + sim::FormatClockDuration(by) + ": world time " +
                     sim::DescribeClock(clock.Read(), std::chrono::system_clock::now()));
    return {};
}

}  // namespace sim::scenario
