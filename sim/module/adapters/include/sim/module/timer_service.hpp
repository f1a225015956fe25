// SPDX-License-Identifier: Apache-2.0
#pragma once
// One thread that runs callbacks at deadlines on a clock, shared by every module in a process
// (a fleet of 10,000 modules needs one timer thread, not 10,000).
//
// The clock is the world's (sim/core/world_clock.hpp) when one is given, else the system clock.
// With a world clock, advancing it wakes the thread at once (not only when a real-time sleep
// ends), and every callback that falls due runs, in order of its deadline. Settle() lets a
// caller that moved the clock wait until that is done, including the work the callbacks
// started elsewhere and the replies they await (holds, below): world time then moves past the
// next deadline only once a reply already on its way has been read.

#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "sim/core/ports.hpp"
#include "sim/core/world_clock.hpp"

namespace sim::module {

class TimerService {
public:
    /// `world`: the world clock to schedule on; nullptr = the system clock.
    explicit TimerService(std::shared_ptr<sim::WorldClock> world = nullptr);
    /// Stops the threads; pending callbacks are dropped.
    ~TimerService();
    TimerService(const TimerService&) = delete;
    TimerService& operator=(const TimerService&) = delete;

    /// Runs `callback` on the timer thread once the clock reads `after` later than now.
    /// Callbacks must not block for long and must not throw (exceptions are swallowed).
    void Schedule(std::chrono::milliseconds after, std::function<void()> callback);

    /// Work a callback started that Settle() waits for: a task it posted to another thread, a
    /// reply it requested. Released when its last copy is destroyed (any thread, also after
    /// the service is gone).
    using Hold = std::shared_ptr<const void>;
    /// A hold that Settle() waits for at most `limit` of real time from now.
    Hold HoldFor(std::chrono::milliseconds limit);

    /// The earliest pending deadline, on the clock; nullopt when none is pending.
    std::optional<sim::TimePoint> NextDue() const;
    /// Blocks until no callback is due at the clock's current time, none is running and every
    /// hold is released or past its limit, or `timeout` (real time) passes. Returns false on
    /// timeout.
    bool Settle(std::chrono::milliseconds timeout);

    const sim::Clock& clock() const { return *clock_; }

private:
    struct Holds;

    void Run();
    void Watch(std::uint64_t seen);
    bool DueLocked(sim::TimePoint now) const;

    std::shared_ptr<sim::WorldClock> world_;
    std::shared_ptr<const sim::Clock> clock_;
    std::shared_ptr<Holds> holds_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable idle_;
    std::multimap<sim::TimePoint, std::function<void()>> due_;
    bool running_callback_ = false;
    bool stop_ = false;
    std::thread thread_;
    std::thread watcher_;  // world clock only: turns clock changes into wake-ups
};

}  // namespace sim::module
