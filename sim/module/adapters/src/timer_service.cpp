// SPDX-License-Identifier: Apache-2.0
#include "sim/module/timer_service.hpp"

#include "sim/core/adapters.hpp"

namespace sim::module {
namespace {

// A frozen world clock never reaches a deadline by itself: sleep until something changes.
constexpr std::chrono::hours kForever{24};

}  // namespace

TimerService::TimerService(std::shared_ptr<sim::WorldClock> world) : world_(std::move(world)) {
    if (world_) {
        clock_ = world_;
    } else {
        clock_ = std::make_shared<sim::SystemClock>();
    }
    thread_ = std::thread([this] { Run(); });
    if (world_) {
        // The generation is read before the constructor returns: read on the watcher thread,
        // it could already include an advance made right after construction, which would then
        // never count as a change.
        const std::uint64_t seen = world_->Read().generation;
        watcher_ = std::thread([this, seen] { Watch(seen); });
    }
}

TimerService::~TimerService() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    idle_.notify_all();
    if (world_) {
        world_->Nudge();  // the watcher re-checks stop_ (other waiters of the world just re-wait)
        watcher_.join();
    }
    thread_.join();
}

void TimerService::Schedule(std::chrono::milliseconds after, std::function<void()> callback) {
    {
        std::lock_guard lock(mutex_);
        due_.emplace(clock_->Now() + after, std::move(callback));
    }
    wake_.notify_one();
}

std::optional<sim::TimePoint> TimerService::NextDue() const {
    std::lock_guard lock(mutex_);
    if (due_.empty()) {
        return std::nullopt;
    }
    return due_.begin()->first;
}

bool TimerService::DueLocked(sim::TimePoint now) const {
    return running_callback_ || (!due_.empty() && due_.begin()->first <= now);
}

bool TimerService::Settle(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    wake_.notify_one();
    return idle_.wait_for(lock, timeout, [&] { return stop_ || !DueLocked(clock_->Now()); });
}

void TimerService::Watch(std::uint64_t seen) {
    while (true) {
        {
            std::lock_guard lock(mutex_);
            if (stop_) {
                return;
            }
        }
        if (world_->WaitForChange(seen, std::chrono::seconds{1})) {
            seen = world_->Read().generation;
            // The notification is sent under the mutex: Run() holds it from reading the time to
            // entering its wait, so a change cannot slip in between and be missed.
            std::lock_guard lock(mutex_);
            wake_.notify_one();
        }
    }
}

void TimerService::Run() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
        const sim::TimePoint now = clock_->Now();
        if (due_.empty() || due_.begin()->first > now) {
            idle_.notify_all();
            if (due_.empty()) {
                wake_.wait(lock);
                continue;
            }
            // Real time to wait: the world time still to go, as world time flows at the wall
            // rate (wall, virtual); a frozen clock moves only when advanced (the watcher wakes
            // us then).
            const bool frozen = world_ && world_->Read().mode == sim::ClockMode::kFrozen;
            const auto left = due_.begin()->first - now;
            wake_.wait_for(lock, frozen ? std::chrono::duration_cast<sim::TimePoint::duration>(kForever)
                                        : left);
            continue;
        }
        auto callback = std::move(due_.begin()->second);
        due_.erase(due_.begin());
        running_callback_ = true;
        lock.unlock();
        try {
            callback();
        } catch (...) {  // NOLINT(bugprone-empty-catch): a timer must not kill the thread.
        }
        lock.lock();
        running_callback_ = false;
    }
    idle_.notify_all();
}

}  // namespace sim::module
