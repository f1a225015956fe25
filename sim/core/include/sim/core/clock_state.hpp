// SPDX-License-Identifier: Apache-2.0
#pragma once
// The world clock as values (pure): which mode it is in, how far virtual time has been moved, and
// what time it is for a given wall time. The shared file every process of a world maps is
// sim/core/world_clock.hpp; this header holds only the arithmetic and the text forms.
//
// Modes:
//   wall     the system clock (the default).
//   virtual  the system clock plus an offset that `advance` grows: time keeps flowing at the
//            wall rate, and jumps forward on request.
//   frozen   a fixed instant that only `advance` moves.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "sim/core/ports.hpp"
#include "sim/core/result.hpp"

namespace sim {

enum class ClockMode : std::uint32_t { kWall = 0, kVirtual = 1, kFrozen = 2 };

/// "wall", "virtual", "frozen".
const char* ToString(ClockMode mode) noexcept;
/// The inverse of ToString. Errors: kInvalidArgument "clock mode 'x' (wall, virtual or frozen)".
Result<ClockMode> ParseClockMode(std::string_view text);

struct ClockReading {
    ClockMode mode = ClockMode::kWall;
    std::chrono::nanoseconds offset{0};  ///< kVirtual: added to the wall time.
    TimePoint frozen_at{};               ///< kFrozen: the instant.
    std::uint64_t generation = 0;        ///< Grows by one at every change.
};

/// The reading a world starts with: `mode`, no offset, frozen at `wall`, generation 1.
ClockReading StartReading(ClockMode mode, TimePoint wall);

/// The world time for the system time `wall`.
TimePoint TimeAt(const ClockReading& reading, TimePoint wall);

/// How far world time is ahead of `wall` (zero in wall mode).
std::chrono::nanoseconds AheadOfWall(const ClockReading& reading, TimePoint wall);

/// The reading after moving world time forward by `by` (wall mode becomes virtual). The
/// generation grows by one. Errors: kInvalidArgument when `by` is not positive or would put
/// world time more than kMaxAhead ahead of the wall.
Result<ClockReading> Advanced(const ClockReading& reading, TimePoint wall,
                              std::chrono::nanoseconds by);

/// The furthest world time may run ahead of the wall (100 years: certificates that end in 2049
/// stay testable, and nanoseconds since the epoch stay far from overflowing).
inline constexpr std::chrono::hours kMaxAhead{24 * 365 * 100};

/// "2026-12-07T17:30:05.123Z".
std::string FormatUtc(TimePoint t);

/// One line about the clock at system time `wall`: "2026-12-07T17:35:05.123Z (virtual, 5m
/// ahead of the wall clock, generation 2)".
std::string DescribeClock(const ClockReading& reading, TimePoint wall);

/// A clock duration: one or more NUMBER+UNIT parts, largest unit first, units d, h, m, s, ms
/// ("5m", "1h30m", "24h", "2d", "90s", "250ms"). At least 1 ms, at most kMaxAhead.
/// Errors: kInvalidArgument naming the text.
Result<std::chrono::milliseconds> ParseClockDuration(std::string_view text);

/// The shortest form ParseClockDuration reads back ("1h30m", "250ms", "0s"); negative values
/// get a leading '-'.
std::string FormatClockDuration(std::chrono::milliseconds duration);

}  // namespace sim
