// SPDX-License-Identifier: Apache-2.0
#pragma once
// The `advance` step (adapter, private to sim/scenario): moves the world clock that every
// process of the scenario's world maps (sim/core/world_clock.hpp).

#include <chrono>
#include <string>
#include <vector>

#include "actors.hpp"
#include "sim/core/result.hpp"
#include "sim/core/world_clock.hpp"

namespace sim::scenario {

/// Moves `clock` forward by `by` and fires what falls due on the way, in order: world time stops
/// at each earliest deadline of the running modules' timers (SLEEP wake-ups; timers that firing
/// ones start count too) until the target is reached, and each stop waits until the timers due
/// there have run and the replies they requested (PINGRESPs) have been read
/// (sim/module/clock_advance.hpp). Brokers and control planes need no stop: they check validity
/// and expiry when asked, against the same clock. One timeline note with the new world time.
/// Returns a one-line reason on failure (the clock refused, a timer kept running for 10 s).
sim::Result<void, std::string> AdvanceWorldClock(sim::WorldClock& clock,
                                                 std::chrono::milliseconds by,
                                                 const std::vector<ModuleRuntime*>& modules,
                                                 Recorder& recorder);

}  // namespace sim::scenario
