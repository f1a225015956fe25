// SPDX-License-Identifier: Apache-2.0
#pragma once
// One thread that runs callbacks at wall-clock deadlines, shared by every module in a process
// (a fleet of 10,000 modules needs one timer thread, not 10,000).

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace sim::module {

class TimerService {
public:
    TimerService();
    /// Stops the thread; pending callbacks are dropped.
    ~TimerService();
    TimerService(const TimerService&) = delete;
    TimerService& operator=(const TimerService&) = delete;

    /// Runs `callback` on the timer thread after `after`. Callbacks must not block for long and
    /// must not throw (exceptions are swallowed).
    void Schedule(std::chrono::milliseconds after, std::function<void()> callback);

private:
    void Run();

    std::mutex mutex_;
    std::condition_variable wake_;
    std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> due_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace sim::module
