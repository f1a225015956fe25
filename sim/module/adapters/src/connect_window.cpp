// SPDX-License-Identifier: Apache-2.0
// ConnectWindowed: a pool of `window` workers taking modules in order (connect_window.hpp).
#include "sim/module/connect_window.hpp"

#include <algorithm>
#include <mutex>
#include <thread>

namespace sim::module {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr const char* kConnected = "OK 1 CONNECTED";

class Connector {
public:
    Connector(const std::vector<std::shared_ptr<SoftwareModule>>& modules,
              const ConnectWindowOptions& options)
        : modules_(modules),
          options_(options),
          attempts_(std::max(1, options.attempts)),
          start_(SteadyClock::now()) {}

    ConnectWindowResult Run() {
        const std::size_t workers_wanted =
            std::min(std::max<std::size_t>(1, options_.window), modules_.size());
        std::vector<std::thread> workers;
        workers.reserve(workers_wanted);
        for (std::size_t t = 0; t < workers_wanted; ++t) {
            workers.emplace_back([this] { Work(); });
        }
        for (auto& worker : workers) {
            worker.join();
        }
        std::lock_guard lock(mutex_);
        result_.not_attempted = modules_.size() - result_.connected - result_.failed;
        result_.elapsed = SteadyClock::now() - start_;
        return result_;
    }

private:
    bool Stopped() const { return options_.stop != nullptr && options_.stop->load(); }

    void Work() {
        // The stop check follows the fetch: a module taken after `stop` was set is not started.
        for (std::size_t i = next_.fetch_add(1); i < modules_.size() && !Stopped();
             i = next_.fetch_add(1)) {
            bool ok = false;
            for (int attempt = 1; attempt <= attempts_; ++attempt) {
                if (Attempt(*modules_[i])) {
                    ok = true;
                    break;
                }
                // No wait after the last attempt: nothing follows it.
                if (attempt == attempts_ || !WaitUnlessStopped(attempt)) {
                    break;
                }
            }
            Finish(ok);
        }
    }

    // One `AT+CONNECT`; true when connected.
    bool Attempt(SoftwareModule& module) {
        {
            std::lock_guard lock(mutex_);
            ++in_flight_;
            result_.peak_in_flight = std::max(result_.peak_in_flight, in_flight_);
        }
        const auto lines = module.Command("AT+CONNECT", options_.connect_timeout);
        const bool ok = lines.size() == 1 && lines[0] == kConnected;
        std::lock_guard lock(mutex_);
        --in_flight_;
        if (ok) {
            return true;
        }
        const std::string answer = lines.empty() ? "no answer to AT+CONNECT" : lines[0];
        ++result_.failed_attempts;
        if (result_.first_error.empty()) {
            result_.first_error = module.profile().thing_name + " " + answer;
        }
        if (options_.on_failure) {
            options_.on_failure(module.profile().thing_name, answer);
        }
        return false;
    }

    // The back-off after the `attempt`-th failure; false when `stop` cut it short.
    bool WaitUnlessStopped(int attempt) const {
        const auto until = SteadyClock::now() + options_.retry_delay * (1LL << std::min(attempt - 1, 20));
        while (SteadyClock::now() < until) {
            if (Stopped()) {
                return false;
            }
            const auto left = until - SteadyClock::now();
            std::this_thread::sleep_for(
                std::min<SteadyClock::duration>(left, std::chrono::milliseconds{50}));
        }
        return !Stopped();
    }

    void Finish(bool ok) {
        std::lock_guard lock(mutex_);
        ++(ok ? result_.connected : result_.failed);
        if (options_.on_progress) {
            ConnectProgress progress;
            progress.total = modules_.size();
            progress.connected = result_.connected;
            progress.failed = result_.failed;
            progress.finished = result_.connected + result_.failed;
            progress.module_connected = ok;
            progress.elapsed = SteadyClock::now() - start_;
            options_.on_progress(progress);
        }
    }

    const std::vector<std::shared_ptr<SoftwareModule>>& modules_;
    const ConnectWindowOptions& options_;
    const int attempts_;
    const SteadyClock::time_point start_;
    std::atomic<std::size_t> next_{0};
    std::mutex mutex_;  // guards in_flight_ and result_; callbacks run under it
    std::size_t in_flight_ = 0;
    ConnectWindowResult result_;
};

}  // namespace

ConnectWindowResult ConnectWindowed(const std::vector<std::shared_ptr<SoftwareModule>>& modules,
                                    const ConnectWindowOptions& options) {
    return Connector(modules, options).Run();
}

}  // namespace sim::module
