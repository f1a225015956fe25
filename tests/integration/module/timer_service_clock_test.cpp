// SPDX-License-Identifier: Apache-2.0
// TimerService on a world clock (a real clock file): advancing the clock fires what falls due at
// once, in deadline order, and nothing that is not due yet; Settle waits for holds.
#include "sim/module/timer_service.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sim/core/adapters.hpp"
#include "sim/core/world_clock.hpp"

namespace sim::module {
namespace {

using namespace std::chrono_literals;

class TimerServiceClockTest : public ::testing::TestWithParam<sim::ClockMode> {
protected:
    void SetUp() override {
        auto dir = sim::ScratchDirectory::Create(std::filesystem::temp_directory_path(), "timers");
        ASSERT_TRUE(dir);
        dir_.emplace(std::move(*dir));
        auto clock = sim::WorldClock::Create(dir_->path() / sim::kWorldClockFile, GetParam());
        ASSERT_TRUE(clock) << clock.error().message;
        clock_ = *clock;
    }
    std::optional<sim::ScratchDirectory> dir_;
    std::shared_ptr<sim::WorldClock> clock_;
};

TEST_P(TimerServiceClockTest, AdvanceFiresDueTimersInOrderWithoutRealWaiting) {
    TimerService timers(clock_);
    std::mutex mutex;
    std::vector<std::string> fired;
    const auto record = [&](std::string name) {
        return [&, name] {
            std::lock_guard lock(mutex);
            fired.push_back(name);
        };
    };
    timers.Schedule(std::chrono::hours{2}, record("2h"));
    timers.Schedule(std::chrono::minutes{30}, record("30m"));
    timers.Schedule(std::chrono::hours{1}, record("1h"));
    const auto started = std::chrono::steady_clock::now();
    ASSERT_TRUE(clock_->Advance(std::chrono::minutes{90}));
    ASSERT_TRUE(timers.Settle(5s));
    {
        std::lock_guard lock(mutex);
        EXPECT_EQ(fired, (std::vector<std::string>{"30m", "1h"}));
    }
    ASSERT_TRUE(timers.NextDue());
    EXPECT_GT(*timers.NextDue(), clock_->Now());
    ASSERT_TRUE(clock_->Advance(std::chrono::hours{1}));
    ASSERT_TRUE(timers.Settle(5s));
    {
        std::lock_guard lock(mutex);
        EXPECT_EQ(fired, (std::vector<std::string>{"30m", "1h", "2h"}));
    }
    EXPECT_FALSE(timers.NextDue());
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST_P(TimerServiceClockTest, AnotherProcessAdvancingWakesTheTimers) {
    TimerService timers(clock_);
    std::mutex mutex;
    std::condition_variable done;
    bool fired = false;
    timers.Schedule(std::chrono::minutes{5}, [&] {
        std::lock_guard lock(mutex);
        fired = true;
        done.notify_all();
    });
    // A second mapping of the file stands for another process (the runner, `elsim world clock`).
    auto other = sim::WorldClock::Open(clock_->path());
    ASSERT_TRUE(other);
    ASSERT_TRUE((*other)->Advance(std::chrono::minutes{5}));
    std::unique_lock lock(mutex);
    EXPECT_TRUE(done.wait_for(lock, 5s, [&] { return fired; }));
}

// A hold (a reply a fired callback awaits) keeps Settle waiting until it is released, or until
// its real-time limit passes when nobody releases it.
TEST_P(TimerServiceClockTest, SettleWaitsForAHoldUntilReleasedOrItsLimit) {
    TimerService timers(clock_);
    auto hold = timers.HoldFor(std::chrono::seconds{30});
    EXPECT_FALSE(timers.Settle(100ms));
    std::thread releaser([released = std::move(hold)]() mutable {
        std::this_thread::sleep_for(100ms);
        released.reset();
    });
    EXPECT_TRUE(timers.Settle(5s));
    releaser.join();

    const auto kept = timers.HoldFor(300ms);
    const auto started = std::chrono::steady_clock::now();
    EXPECT_TRUE(timers.Settle(5s));
    EXPECT_GE(std::chrono::steady_clock::now() - started, 250ms);
}

INSTANTIATE_TEST_SUITE_P(Modes, TimerServiceClockTest,
                         ::testing::Values(sim::ClockMode::kVirtual, sim::ClockMode::kFrozen),
                         [](const ::testing::TestParamInfo<sim::ClockMode>& param_info) {
                             return std::string(sim::ToString(param_info.param));
                         });

TEST(TimerServiceTest, SystemClockTimersStillFire) {
    TimerService timers;
    std::mutex mutex;
    std::condition_variable done;
    bool fired = false;
    timers.Schedule(20ms, [&] {
        std::lock_guard lock(mutex);
        fired = true;
        done.notify_all();
    });
    std::unique_lock lock(mutex);
    EXPECT_TRUE(done.wait_for(lock, 5s, [&] { return fired; }));
}

}  // namespace
}  // namespace sim::module
