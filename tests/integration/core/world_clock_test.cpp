// SPDX-License-Identifier: Apache-2.0
// WorldClock against the real OS: one file mapped by two processes (fork), a change made in one
// seen by the other at once, and a waiter in the other process woken by it.
#include "sim/core/world_clock.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <thread>

#include "sim/core/adapters.hpp"

namespace sim {
namespace {

using namespace std::chrono_literals;

class WorldClockTest : public testing::Test {
protected:
    void SetUp() override {
        auto dir = ScratchDirectory::Create(std::filesystem::temp_directory_path(), "clock-test");
        ASSERT_TRUE(dir) << dir.error().message;
        dir_.emplace(std::move(*dir));
    }
    std::filesystem::path Path() const { return dir_->path() / kWorldClockFile; }
    std::optional<ScratchDirectory> dir_;
};

TEST_F(WorldClockTest, WallClockFollowsTheSystemClock) {
    auto clock = WorldClock::Create(Path(), ClockMode::kWall);
    ASSERT_TRUE(clock) << clock.error().message;
    const auto before = std::chrono::system_clock::now();
    const auto now = (*clock)->Now();
    EXPECT_GE(now, before);
    EXPECT_LE(now, std::chrono::system_clock::now());
    EXPECT_EQ((*clock)->Read().mode, ClockMode::kWall);
}

TEST_F(WorldClockTest, TwoProcessesAgreeAndAWaiterIsWokenByAnAdvance) {
    auto clock = WorldClock::Create(Path(), ClockMode::kFrozen);
    ASSERT_TRUE(clock) << clock.error().message;
    const auto start = (*clock)->Now();
    const auto generation = (*clock)->Read().generation;
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // The other process: maps the file itself, waits for the change (up to 10 s), then
        // reports by exit code whether it sees exactly the parent's new time.
        auto mine = WorldClock::Open(Path());
        if (!mine) {
            ::_exit(2);
        }
        const bool changed = (*mine)->WaitForChange(generation, 10s);
        ::_exit(changed && (*mine)->Now() == start + 5min ? 0 : 1);
    }
    std::this_thread::sleep_for(50ms);  // let the child block in its wait
    const auto waited_from = std::chrono::steady_clock::now();
    auto advanced = (*clock)->Advance(5min);
    ASSERT_TRUE(advanced) << advanced.error().message;
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_LT(std::chrono::steady_clock::now() - waited_from, 5s) << "woken by the change";
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_EQ((*clock)->Now(), start + 5min);
}

TEST_F(WorldClockTest, WaitWithoutChangeTimesOut) {
    auto clock = WorldClock::Create(Path(), ClockMode::kVirtual);
    ASSERT_TRUE(clock);
    const auto started = std::chrono::steady_clock::now();
    EXPECT_FALSE((*clock)->WaitForChange((*clock)->Read().generation, 100ms));
    EXPECT_GE(std::chrono::steady_clock::now() - started, 90ms);
    EXPECT_TRUE((*clock)->WaitForChange(0, 100ms)) << "an old generation returns at once";
}

TEST_F(WorldClockTest, RefusesFilesThatAreNotClocks) {
    EXPECT_EQ(WorldClock::Open(Path()).error().code, ErrorCode::kNotFound);
    auto none = WorldClock::OpenInWorld(dir_->path());
    ASSERT_TRUE(none);
    EXPECT_EQ(*none, nullptr);
    {
        std::ofstream out(Path());
        out << "not a clock";
    }
    const auto bad = WorldClock::Open(Path());
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(bad.error().message.find(Path().string()), std::string::npos);
    {
        std::ofstream out(Path());
        out << std::string(64, 'x');
    }
    EXPECT_EQ(WorldClock::OpenInWorld(dir_->path()).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(WorldClockTest, AdvanceRefusesNonPositiveDurations) {
    auto clock = WorldClock::Create(Path(), ClockMode::kWall);
    ASSERT_TRUE(clock);
    EXPECT_FALSE((*clock)->Advance(0s));
    EXPECT_EQ((*clock)->Read().mode, ClockMode::kWall) << "unchanged";
    ASSERT_TRUE((*clock)->Advance(1h));
    EXPECT_EQ((*clock)->Read().mode, ClockMode::kVirtual);
    EXPECT_GE((*clock)->Now() - std::chrono::system_clock::now(), 59min);
}

}  // namespace
}  // namespace sim
