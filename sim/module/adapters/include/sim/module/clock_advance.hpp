// SPDX-License-Identifier: Apache-2.0
#pragma once
// Moving a world clock forward past software modules' timers, the way every advance made
// inside a process that runs modules does (a scenario's `advance:` step, `elsim bench clock`):
// world time stops at each pending timer on the way, in deadline order, and goes on only once
// what fell due there has run.

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "sim/core/ports.hpp"
#include "sim/core/result.hpp"
#include "sim/core/world_clock.hpp"
#include "sim/module/timer_service.hpp"

namespace sim::module {

/// The timers an advance steps through (one TimerService, or every module of a scenario).
struct TimerStops {
    /// The earliest pending deadline; nullopt when none is pending.
    std::function<std::optional<sim::TimePoint>()> next_due;
    /// Waits until what is due at the clock's current time has run (TimerService::Settle);
    /// a one-line reason naming what did not settle otherwise.
    std::function<sim::Result<void, std::string>()> settle;
};

/// The stops of one TimerService, each settle waiting at most `settle_timeout`.
TimerStops StopsOf(TimerService& timers, std::chrono::milliseconds settle_timeout);

/// Moves `clock` forward by `by` (> 0) and fires what falls due on the way, in order: world
/// time stops at each earliest deadline of `timers` (timers that firing ones start count too)
/// until the target is reached, and each stop waits until the timers due there have run and
/// what they hold is released (TimerService::HoldFor: a PINGREQ until its PINGRESP is read).
/// It settles before the first move too, so a reply requested before the call is read before
/// world time reaches the deadline that checks for it. In virtual mode world time also flows meanwhile; the target counts from the call, as a real
/// wait would. Returns a one-line reason on failure (the clock refused, a settle failed).
sim::Result<void, std::string> AdvanceThroughTimers(sim::WorldClock& clock,
                                                    std::chrono::milliseconds by,
                                                    const TimerStops& timers);

}  // namespace sim::module
