// SPDX-License-Identifier: Apache-2.0
#include "sim/scenario/progress.hpp"

#include <string>

#include <gtest/gtest.h>

namespace sim::scenario {
namespace {

using std::chrono::milliseconds;

struct ProgressCase {
    Progress progress;
    std::string expected;
};

class ProgressLineTest : public ::testing::TestWithParam<ProgressCase> {};

TEST_P(ProgressLineTest, Renders) { EXPECT_EQ(ProgressLine(GetParam().progress), GetParam().expected); }

INSTANTIATE_TEST_SUITE_P(
    Cases, ProgressLineTest,
    ::testing::Values(
        ProgressCase{{0, 48, 0, milliseconds(900)}, "0/48 done, 0 failed, 0 s elapsed, ETA ?"},
        ProgressCase{{12, 48, 1, milliseconds(31'000)}, "12/48 done, 1 failed, 31 s elapsed, ETA 1m33s"},
        ProgressCase{{48, 48, 2, milliseconds(125'000)}, "48/48 done, 2 failed, 2m05s elapsed, ETA 0 s"},
        ProgressCase{{1, 1000, 0, milliseconds(10'000)}, "1/1000 done, 0 failed, 10 s elapsed, ETA 2h46m"},
        ProgressCase{{3, 2, 0, milliseconds(-5)}, "3/2 done, 0 failed, 0 s elapsed, ETA 0 s"}));

TEST(LiveTimelineLineTest, FixedColumns) {
    EXPECT_EQ(LiveTimelineLine({milliseconds(1'234), "m1", EntryKind::kAtSend, "AT+CONNECT"}),
              "+  1.234s  m1          at>       AT+CONNECT");
    EXPECT_EQ(LiveTimelineLine({milliseconds(12'000), "runner", EntryKind::kStepPass, ""}),
              "+ 12.000s  runner      pass");
}

}  // namespace
}  // namespace sim::scenario
