// SPDX-License-Identifier: Apache-2.0
#include "sim/module/timer_service.hpp"

#include <algorithm>

#include "sim/core/adapters.hpp"

namespace sim::module {
namespace {

using SteadyClock = std::chrono::steady_clock;

// A frozen world clock never reaches a deadline by itself: sleep until something changes.
constexpr std::chrono::hours kForever{24};

}  // namespace

// The open holds, each with the real time after which Settle() no longer waits for it. Shared
// with the holds themselves, which may outlive the service.
struct TimerService::Holds {
    std::mutex mutex;
    std::condition_variable released;
    std::map<std::uint64_t, SteadyClock::time_point> open;  // id → limit
    std::uint64_t next_id = 0;

    void Release(std::uint64_t id) {
        {
            std::lock_guard lock(mutex);
            open.erase(id);
        }
        released.notify_all();
    }

    // True once every open hold is released or past its limit; false when `deadline` comes
    // first.
    bool WaitReleased(SteadyClock::time_point deadline) {
        std::unique_lock lock(mutex);
        while (true) {
            const auto now = SteadyClock::now();
            auto latest = now;
            for (const auto& [id, limit] : open) {
                latest = std::max(latest, limit);
            }
            if (latest == now) {
                return true;
            }
            if (now >= deadline) {
                return false;
            }
            released.wait_until(lock, std::min(latest, deadline));
        }
    }
};

TimerService::TimerService(std::shared_ptr<sim::WorldClock> world) :
    world_(std::move(world)), holds_(std::make_shared<Holds>()) {
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

TimerService::Hold TimerService::HoldFor(std::chrono::milliseconds limit) {
    struct Token {
        std::weak_ptr<Holds> holds;
        std::uint64_t id;
        Token(std::weak_ptr<Holds> h, std::uint64_t i) : holds(std::move(h)), id(i) {}
        ~Token() {
            if (auto alive = holds.lock()) {
                alive->Release(id);
            }
        }
        Token(const Token&) = delete;
        Token& operator=(const Token&) = delete;
    };
    std::uint64_t id = 0;
    {
        std::lock_guard lock(holds_->mutex);
        id = holds_->next_id++;
        holds_->open.emplace(id, SteadyClock::now() + limit);
    }
    return std::make_shared<const Token>(holds_, id);
}

bool TimerService::Settle(std::chrono::milliseconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    // A released hold may have scheduled a timer that is already due: check again until the
    // timers and the holds are quiet together.
    while (true) {
        {
            std::unique_lock lock(mutex_);
            wake_.notify_one();
            if (!idle_.wait_until(lock, deadline,
                                  [&] { return stop_ || !DueLocked(clock_->Now()); })) {
                return false;
            }
            if (stop_) {
                return true;
            }
        }
        if (!holds_->WaitReleased(deadline)) {
            return false;
        }
        std::lock_guard lock(mutex_);
        if (stop_ || !DueLocked(clock_->Now())) {
            return true;
        }
    }
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
