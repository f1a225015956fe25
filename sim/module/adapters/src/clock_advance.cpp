// SPDX-License-Identifier: Apache-2.0
#include "sim/module/clock_advance.hpp"

namespace sim::module {
namespace {

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

TimerStops StopsOf(TimerService& timers, std::chrono::milliseconds settle_timeout) {
    TimerStops stops;
    stops.next_due = [&timers] { return timers.NextDue(); };
    stops.settle = [&timers, settle_timeout]() -> sim::Result<void, std::string> {
        if (!timers.Settle(settle_timeout)) {
            return sim::Unexpected<std::string>(
                "the modules' timers did not settle within " +
                std::to_string(settle_timeout.count()) + " ms");
        }
        return {};
    };
    return stops;
}

sim::Result<void, std::string> AdvanceThroughTimers(sim::WorldClock& clock,
                                                    std::chrono::milliseconds by,
                                                    const TimerStops& timers) {
    if (by <= std::chrono::milliseconds::zero()) {
        return sim::Unexpected<std::string>("advance: the duration must be positive");
    }
    const sim::TimePoint target = clock.Now() + by;
    // What fired before the advance (a PINGREQ sent at the last deadline) is answered first:
    // its reply must be read before world time reaches the deadline that checks for it.
    if (auto settled = timers.settle(); !settled) {
        return settled;
    }
    std::optional<sim::TimePoint> due = timers.next_due();
    while (due && *due < target) {
        if (auto moved = Move(clock, *due - clock.Now()); !moved) {
            return moved;
        }
        if (auto settled = timers.settle(); !settled) {
            return settled;
        }
        due = timers.next_due();
    }
    if (auto moved = Move(clock, target - clock.Now()); !moved) {
        return moved;
    }
    return timers.settle();
}

}  // namespace sim::module
