// SPDX-License-Identifier: Apache-2.0
#pragma once
// Live renderings (pure): the progress of a run and one timeline entry as it happens.

#include <chrono>
#include <cstddef>
#include <string>

#include "sim/scenario/timeline.hpp"

namespace sim::scenario {

struct Progress {
    std::size_t done = 0;
    std::size_t total = 0;
    std::size_t failed = 0;  ///< Failures and errors so far.
    std::chrono::milliseconds elapsed{0};
};

/// "12/48 done, 1 failed, 31 s elapsed, ETA 1m33s" (ETA from the mean time per scenario so
/// far; "ETA ?" before the first one ends).
std::string ProgressLine(const Progress& progress);

/// One entry as the text timeline prints it, with fixed columns for a live stream:
/// "+  1.234s  m1          at>       AT+CONNECT".
std::string LiveTimelineLine(const TimelineEntry& entry);

}  // namespace sim::scenario
