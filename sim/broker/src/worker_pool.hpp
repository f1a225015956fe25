// SPDX-License-Identifier: Apache-2.0
#pragma once
// A fixed set of threads that run posted jobs in order of posting (adapter, used by
// AccountHost for work that must not hold up mosquitto's single thread: RSA key generation and
// pre-provisioning hooks). Threads start with every signal blocked: mosquitto's handlers must
// run on its own thread. The destructor runs no queued job: it waits for the running ones.

#include <condition_variable>
#include <csignal>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <pthread.h>

namespace sim::broker {

class WorkerPool {
public:
    explicit WorkerPool(std::size_t threads) {
        sigset_t all;
        sigset_t previous;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &previous);
        for (std::size_t i = 0; i < threads; ++i) {
            threads_.emplace_back([this] { Loop(); });
        }
        pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    }
    ~WorkerPool() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
            jobs_.clear();
        }
        wake_.notify_all();
        for (auto& thread : threads_) {
            thread.join();
        }
    }
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    void Post(std::function<void()> job) {
        {
            std::lock_guard lock(mutex_);
            jobs_.push_back(std::move(job));
        }
        wake_.notify_one();
    }

private:
    void Loop() {
        for (;;) {
            std::function<void()> job;
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
                if (stopping_) {
                    return;
                }
                job = std::move(jobs_.front());
                jobs_.pop_front();
            }
            job();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> jobs_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace sim::broker
