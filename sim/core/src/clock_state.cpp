// SPDX-License-Identifier: Apache-2.0
#include "sim/core/clock_state.hpp"

#include <array>
#include <cstdio>
#include <ctime>
#include <limits>

namespace sim {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

const char* ToString(ClockMode mode) noexcept {
    switch (mode) {
        case ClockMode::kWall:
            return "wall";
        case ClockMode::kVirtual:
            return "virtual";
        case ClockMode::kFrozen:
            return "frozen";
    }
    return "wall";
}

Result<ClockMode> ParseClockMode(std::string_view text) {
    for (const ClockMode mode : {ClockMode::kWall, ClockMode::kVirtual, ClockMode::kFrozen}) {
        if (text == ToString(mode)) {
            return mode;
        }
    }
    return MakeError(ErrorCode::kInvalidArgument,
                     "clock mode '" + std::string(text) + "' (wall, virtual or frozen)");
}

ClockReading StartReading(ClockMode mode, TimePoint wall) {
    ClockReading reading;
    reading.mode = mode;
    reading.frozen_at = wall;
    reading.generation = 1;
    return reading;
}

TimePoint TimeAt(const ClockReading& reading, TimePoint wall) {
    switch (reading.mode) {
        case ClockMode::kVirtual:
            return wall + std::chrono::duration_cast<TimePoint::duration>(reading.offset);
        case ClockMode::kFrozen:
            return reading.frozen_at;
        case ClockMode::kWall:
            break;
    }
    return wall;
}

nanoseconds AheadOfWall(const ClockReading& reading, TimePoint wall) {
    return std::chrono::duration_cast<nanoseconds>(TimeAt(reading, wall) - wall);
}

Result<ClockReading> Advanced(const ClockReading& reading, TimePoint wall, nanoseconds by) {
    if (by <= nanoseconds::zero()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "the clock only moves forward (got " +
                             FormatClockDuration(std::chrono::duration_cast<milliseconds>(by)) +
                             ")");
    }
    const nanoseconds ahead = AheadOfWall(reading, wall);
    if (by > nanoseconds(kMaxAhead) - ahead) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "advancing by " +
                             FormatClockDuration(std::chrono::duration_cast<milliseconds>(by)) +
                             " would put the world more than 100 years ahead of the wall clock");
    }
    ClockReading next = reading;
    switch (reading.mode) {
        case ClockMode::kWall:
            next.mode = ClockMode::kVirtual;
            next.offset = by;
            break;
        case ClockMode::kVirtual:
            next.offset += by;
            break;
        case ClockMode::kFrozen:
            next.frozen_at += std::chrono::duration_cast<TimePoint::duration>(by);
            break;
    }
    next.generation = reading.generation + 1;
    return next;
}

std::string FormatUtc(TimePoint t) {
    const auto millis =
        std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
    const auto seconds = static_cast<std::time_t>(millis / 1000 - (millis % 1000 < 0 ? 1 : 0));
    std::tm utc{};
    ::gmtime_r(&seconds, &utc);
    std::array<char, 48> text{};
    const std::size_t n = std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%S", &utc);
    (void)std::snprintf(text.data() + n, text.size() - n, ".%03dZ",
                        static_cast<int>(((millis % 1000) + 1000) % 1000));
    return text.data();
}

std::string DescribeClock(const ClockReading& reading, TimePoint wall) {
    // Whole seconds once a second or more: virtual time flows while an advance is made, so the
    // exact offset ends in a few stray milliseconds.
    auto ahead = std::chrono::duration_cast<milliseconds>(AheadOfWall(reading, wall));
    if (ahead >= std::chrono::seconds{1}) {
        ahead = std::chrono::round<std::chrono::seconds>(ahead);
    }
    return FormatUtc(TimeAt(reading, wall)) + " (" + ToString(reading.mode) + ", " +
           FormatClockDuration(ahead) + " ahead of the wall clock, generation " +
           std::to_string(reading.generation) + ")";
}

namespace {

struct Unit {
    std::string_view name;
    std::int64_t millis;
};

// Largest first: parts must come in this order, each unit at most once.
constexpr std::array<Unit, 5> kUnits{{{"d", 86'400'000},
                                      {"h", 3'600'000},
                                      {"m", 60'000},
                                      {"s", 1'000},
                                      {"ms", 1}}};

Error BadDuration(std::string_view text, const std::string& why) {
    return Error{ErrorCode::kInvalidArgument,
                 "bad duration '" + std::string(text) + "': " + why +
                     " (write e.g. 90s, 5m, 1h30m, 24h, 2d)"};
}

}  // namespace

Result<milliseconds> ParseClockDuration(std::string_view text) {
    if (text.empty()) {
        return Unexpected(BadDuration(text, "empty"));
    }
    constexpr std::int64_t kLimit = std::chrono::duration_cast<milliseconds>(kMaxAhead).count();
    std::int64_t total = 0;
    std::size_t next_unit = 0;  // index into kUnits: the smallest unit still allowed
    std::size_t at = 0;
    while (at < text.size()) {
        std::int64_t number = 0;
        const std::size_t digits_start = at;
        while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
            if (number > kLimit) {
                return Unexpected(BadDuration(text, "too long"));
            }
            number = number * 10 + (text[at] - '0');
            ++at;
        }
        if (at == digits_start) {
            return Unexpected(BadDuration(text, "expected a number at '" +
                                                    std::string(text.substr(at)) + "'"));
        }
        std::size_t unit_end = at;
        while (unit_end < text.size() && (text[unit_end] < '0' || text[unit_end] > '9')) {
            ++unit_end;
        }
        const std::string_view unit = text.substr(at, unit_end - at);
        if (unit.empty()) {
            return Unexpected(BadDuration(text, "the number " + std::to_string(number) +
                                                    " has no unit (d, h, m, s or ms)"));
        }
        std::size_t found = kUnits.size();
        for (std::size_t i = 0; i < kUnits.size(); ++i) {
            if (kUnits[i].name == unit) {
                found = i;
            }
        }
        if (found == kUnits.size()) {
            return Unexpected(
                BadDuration(text, "unknown unit '" + std::string(unit) + "' (d, h, m, s or ms)"));
        }
        if (found < next_unit) {
            return Unexpected(BadDuration(text, "units must go from largest to smallest, each once"));
        }
        next_unit = found + 1;
        if (number > kLimit / kUnits[found].millis) {
            return Unexpected(BadDuration(text, "longer than 100 years"));
        }
        total += number * kUnits[found].millis;
        if (total > kLimit) {
            return Unexpected(BadDuration(text, "longer than 100 years"));
        }
        at = unit_end;
    }
    if (total <= 0) {
        return Unexpected(BadDuration(text, "must be at least 1ms"));
    }
    return milliseconds(total);
}

std::string FormatClockDuration(milliseconds duration) {
    std::int64_t left = duration.count();
    if (left == 0) {
        return "0s";
    }
    std::string out;
    if (left < 0) {
        out = "-";
        left = left == std::numeric_limits<std::int64_t>::min() ? std::numeric_limits<std::int64_t>::max()
                                                              : -left;
    }
    for (const Unit& unit : kUnits) {
        if (left >= unit.millis) {
            out += std::to_string(left / unit.millis);
            out += unit.name;
            left %= unit.millis;
        }
    }
    return out;
}

}  // namespace sim
