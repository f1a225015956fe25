// SPDX-License-Identifier: Apache-2.0
#include "sim/onboarding/at.hpp"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "text.hpp"

namespace sim::onboarding {

using internal::StartsWith;
using Clock = std::chrono::steady_clock;

std::string At(module::SoftwareModule& module, const std::string& line,
               std::chrono::milliseconds timeout) {
    auto lines = module.Command(line, timeout);
    return lines.empty() ? std::string() : lines.front();
}

sim::Result<std::string> WaitForEvent(module::SoftwareModule& module, const std::string& mnemonic,
                                      std::chrono::milliseconds timeout,
                                      std::vector<std::string>* seen) {
    // The EVENT pin (ExpressLink Programmer's Guide, chapter 2 "Hardware") says when to look:
    // it rises when an event is queued, so hundreds of waiting hosts do not poll AT+EVENT? in a
    // loop. A slow poll stays as a safety net.
    struct Pin {
        std::mutex mutex;
        std::condition_variable raised_cv;
        bool raised = false;
    };
    auto pin = std::make_shared<Pin>();
    module.SetEventPinHandler([pin](bool high) {
        if (high) {
            std::lock_guard<std::mutex> lock(pin->mutex);
            pin->raised = true;
            pin->raised_cv.notify_all();
        }
    });
    struct Unhook {
        module::SoftwareModule& module;
        ~Unhook() { module.SetEventPinHandler(nullptr); }
    } unhook{module};
    const auto deadline = Clock::now() + timeout;
    while (true) {
        const std::string line = At(module, "AT+EVENT?", std::chrono::seconds{5});
        if (line.find(mnemonic) != std::string::npos) {
            return line;
        }
        if (line != "OK" && !line.empty()) {
            if (seen != nullptr) {
                seen->push_back(line);
            }
            continue;  // drain the queue before waiting
        }
        const auto now = Clock::now();
        if (now >= deadline) {
            return sim::MakeError(
                sim::ErrorCode::kUnavailable,
                "no" + mnemonic + " event within " + std::to_string(timeout.count()) + " ms");
        }
        std::unique_lock<std::mutex> lock(pin->mutex);
        pin->raised_cv.wait_until(lock, std::min(deadline, now + std::chrono::milliseconds{250}),
                                  [&] { return pin->raised; });
        pin->raised = false;
    }
}

sim::Result<std::string> ConnectWithRetry(module::SoftwareModule& module, int tolerated_failures,
                                          std::chrono::milliseconds deadline_after,
                                          std::vector<std::string>* failures) {
    const auto deadline = Clock::now() + deadline_after;
    int failed = 0;
    std::string last;
    while (Clock::now() < deadline) {
        const auto attempt_started = Clock::now();
        last = At(module, "AT+CONNECT", std::chrono::seconds{20});
        if (StartsWith(last, "OK 1 CONNECTED")) {
            return last;
        }
        if (StartsWith(last, "ERR14 1")) {
            // Back-off (hint 1): the module refuses attempts for a while after a failure.
            std::this_thread::sleep_for(std::chrono::milliseconds{100});
            continue;
        }
        if (failures != nullptr) {
            // How long the attempt took tells a refusal (milliseconds) from a timeout.
            failures->push_back(
                last + " (after " +
                std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   Clock::now() - attempt_started)
                                   .count()) +
                " ms)");
        }
        if (!StartsWith(last, "ERR14") || ++failed > tolerated_failures) {
            break;
        }
    }
    return sim::MakeError(sim::ErrorCode::kUnavailable,
                          last.empty() ? std::string("AT+CONNECT: no answer") : last);
}

}  // namespace sim::onboarding
