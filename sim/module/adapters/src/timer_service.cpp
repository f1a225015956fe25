// SPDX-License-Identifier: Apache-2.0
#include "sim/module/timer_service.hpp"

namespace sim::module {

TimerService::TimerService() : thread_([this] { Run(); }) {}

TimerService::~TimerService() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
}

void TimerService::Schedule(std::chrono::milliseconds after, std::function<void()> callback) {
    {
        std::lock_guard lock(mutex_);
        due_.emplace(std::chrono::steady_clock::now() + after, std::move(callback));
    }
    wake_.notify_one();
}

void TimerService::Run() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
        if (due_.empty()) {
            wake_.wait(lock);
            continue;
        }
        const auto next = due_.begin()->first;
        if (std::chrono::steady_clock::now() < next) {
            wake_.wait_until(lock, next);
            continue;
        }
        auto callback = std::move(due_.begin()->second);
        due_.erase(due_.begin());
        lock.unlock();
        try {
            callback();
        } catch (...) {  // NOLINT(bugprone-empty-catch): a timer must not kill the thread.
        }
        lock.lock();
    }
}

}  // namespace sim::module
