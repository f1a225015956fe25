// SPDX-License-Identifier: Apache-2.0
#include "sim/core/clock_state.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <optional>
#include <string>

namespace sim {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

struct DurationCase {
    std::string text;
    std::optional<milliseconds> expected;  // nullopt: refused
};

class ClockDurationTest : public testing::TestWithParam<DurationCase> {};

TEST_P(ClockDurationTest, ParsesOrRefuses) {
    const auto& c = GetParam();
    const auto parsed = ParseClockDuration(c.text);
    if (!c.expected) {
        ASSERT_FALSE(parsed) << c.text;
        EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
        EXPECT_NE(parsed.error().message.find("'" + c.text + "'"), std::string::npos)
            << parsed.error().message;
        return;
    }
    ASSERT_TRUE(parsed) << c.text << ": " << parsed.error().message;
    EXPECT_EQ(*parsed, *c.expected) << c.text;
    // The canonical form reads back to the same value.
    EXPECT_EQ(ParseClockDuration(FormatClockDuration(*parsed)).value(), *c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ClockDurationTest,
    testing::Values(DurationCase{"5m", minutes{5}}, DurationCase{"90s", seconds{90}},
                    DurationCase{"1h30m", minutes{90}}, DurationCase{"24h", hours{24}},
                    DurationCase{"2d", hours{48}}, DurationCase{"250ms", milliseconds{250}},
                    DurationCase{"1d2h3m4s5ms", milliseconds{93'784'005}},
                    DurationCase{"36500d", hours{24 * 36500}},
                    DurationCase{"", std::nullopt}, DurationCase{"5", std::nullopt},
                    DurationCase{"m", std::nullopt}, DurationCase{"0s", std::nullopt},
                    DurationCase{"5x", std::nullopt}, DurationCase{"30m1h", std::nullopt},
                    DurationCase{"1m1m", std::nullopt}, DurationCase{"-5m", std::nullopt},
                    DurationCase{"1.5h", std::nullopt}, DurationCase{"5 m", std::nullopt},
                    DurationCase{"36501d", std::nullopt},
                    DurationCase{"99999999999999999999d", std::nullopt}));

struct FormatCase {
    milliseconds value;
    std::string text;
};

class ClockDurationFormatTest : public testing::TestWithParam<FormatCase> {};

TEST_P(ClockDurationFormatTest, Formats) {
    EXPECT_EQ(FormatClockDuration(GetParam().value), GetParam().text);
}

INSTANTIATE_TEST_SUITE_P(Table, ClockDurationFormatTest,
                         testing::Values(FormatCase{milliseconds{0}, "0s"},
                                         FormatCase{minutes{90}, "1h30m"},
                                         FormatCase{hours{48}, "2d"},
                                         FormatCase{milliseconds{1500}, "1s500ms"},
                                         FormatCase{-minutes{5}, "-5m"}));

TEST(ClockModeTest, NamesRoundTripAndUnknownIsRefused) {
    for (const ClockMode mode : {ClockMode::kWall, ClockMode::kVirtual, ClockMode::kFrozen}) {
        EXPECT_EQ(ParseClockMode(ToString(mode)).value(), mode);
    }
    const auto bad = ParseClockMode("virtal");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("'virtal'"), std::string::npos);
    EXPECT_FALSE(ParseClockMode(""));
    EXPECT_FALSE(ParseClockMode("Wall"));
}

const TimePoint kWall{seconds{1'700'000'000}};

struct AdvanceCase {
    std::string name;
    ClockMode mode;
    std::chrono::nanoseconds by;
    bool accepted;
    ClockMode mode_after;
    std::chrono::nanoseconds ahead_after;  // of kWall, read at kWall + 1 s
};

class ClockAdvanceTest : public testing::TestWithParam<AdvanceCase> {};

TEST_P(ClockAdvanceTest, MovesWorldTimeForwardOnly) {
    const auto& c = GetParam();
    const ClockReading start = StartReading(c.mode, kWall);
    const auto next = Advanced(start, kWall, c.by);
    if (!c.accepted) {
        ASSERT_FALSE(next) << c.name;
        EXPECT_EQ(next.error().code, ErrorCode::kInvalidArgument);
        return;
    }
    ASSERT_TRUE(next) << c.name << ": " << next.error().message;
    EXPECT_EQ(next->mode, c.mode_after);
    EXPECT_EQ(next->generation, start.generation + 1);
    const TimePoint later = kWall + seconds{1};
    EXPECT_EQ(TimeAt(*next, later) - later, c.ahead_after) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ClockAdvanceTest,
    testing::Values(
        AdvanceCase{"wall becomes virtual", ClockMode::kWall, minutes{5}, true,
                    ClockMode::kVirtual, minutes{5}},
        AdvanceCase{"virtual keeps flowing", ClockMode::kVirtual, hours{24}, true,
                    ClockMode::kVirtual, hours{24}},
        // Frozen: read one second of wall time later, world time has not moved with it.
        AdvanceCase{"frozen stays put between advances", ClockMode::kFrozen, minutes{5}, true,
                    ClockMode::kFrozen, minutes{5} - seconds{1}},
        AdvanceCase{"zero refused", ClockMode::kVirtual, std::chrono::nanoseconds{0}, false,
                    ClockMode::kVirtual, {}},
        AdvanceCase{"backwards refused", ClockMode::kVirtual, -minutes{1}, false,
                    ClockMode::kVirtual, {}},
        AdvanceCase{"beyond 100 years refused", ClockMode::kWall, kMaxAhead + seconds{1}, false,
                    ClockMode::kWall, {}}),
    [](const testing::TestParamInfo<AdvanceCase>& param_info) {
        std::string name;
        for (const char ch : param_info.param.name) {
            name += std::isalnum(static_cast<unsigned char>(ch)) != 0 ? ch : '_';
        }
        return name;
    });

TEST(ClockReadingTest, AdvancesAccumulate) {
    ClockReading reading = StartReading(ClockMode::kWall, kWall);
    for (int i = 0; i < 3; ++i) {
        reading = Advanced(reading, kWall, minutes{20}).value();
    }
    EXPECT_EQ(AheadOfWall(reading, kWall), hours{1});
    EXPECT_EQ(reading.generation, 4U);
    // The limit counts what is already ahead.
    EXPECT_FALSE(Advanced(reading, kWall, kMaxAhead));
}

TEST(ClockReadingTest, DescribesTimeModeAndOffset) {
    ClockReading reading = StartReading(ClockMode::kWall, kWall);
    EXPECT_EQ(DescribeClock(reading, kWall),
              "2023-11-14T22:13:20.000Z (wall, 0s ahead of the wall clock, generation 1)");
    reading = Advanced(reading, kWall, minutes{61} - milliseconds{1}).value();
    EXPECT_EQ(DescribeClock(reading, kWall),
              "2023-11-14T23:14:19.999Z (virtual, 1h1m ahead of the wall clock, generation 2)");
    EXPECT_EQ(FormatUtc(TimePoint{milliseconds{-1}}), "1969-12-31T23:59:59.999Z");
}

TEST(ClockReadingTest, WallReadingIsTheWall) {
    const ClockReading reading = StartReading(ClockMode::kWall, kWall);
    EXPECT_EQ(TimeAt(reading, kWall + hours{3}), kWall + hours{3});
    EXPECT_EQ(AheadOfWall(reading, kWall), std::chrono::nanoseconds{0});
}

}  // namespace
}  // namespace sim
