// SPDX-License-Identifier: Apache-2.0
#pragma once
// Connecting a fleet of software modules with the blocking `AT+CONNECT`, at most `window`
// connects in flight, so that a large fleet does not start thousands of TLS handshakes at once
// (each holds a socket and a TLS session while the module event loop works through them).
// Used by `elsim module --connect` and `elsim bench modules`; both report through the options'
// callbacks and the returned ConnectWindowResult.
//
// Threading: ConnectWindowed() blocks its caller and runs min(window, modules) worker threads,
// which it joins before returning. The callbacks run on those workers, one at a time (never
// concurrently with each other).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/module/software_module.hpp"

namespace sim::module {

/// A snapshot taken right after one module finished (connected, or failed its last attempt).
struct ConnectProgress {
    std::size_t total = 0;      ///< Modules given.
    std::size_t finished = 0;   ///< Modules done so far (connected + failed).
    std::size_t connected = 0;
    std::size_t failed = 0;     ///< Modules whose every attempt failed.
    bool module_connected = false;  ///< Whether the module that just finished connected.
    std::chrono::duration<double> elapsed{0};  ///< Since ConnectWindowed() started.
};

struct ConnectWindowOptions {
    /// At most this many `AT+CONNECT` in flight (0 is taken as 1). A worker waiting out a
    /// back-off keeps its slot.
    std::size_t window = 64;
    /// Attempts per module, the first included (at least 1).
    int attempts = 3;
    /// How long one `AT+CONNECT` may take before it counts as a failed attempt.
    std::chrono::milliseconds connect_timeout = std::chrono::seconds{60};
    /// The wait after the n-th failed attempt, when another follows: retry_delay * 2^(n-1).
    /// No wait follows the last attempt. The default outlasts the module's own back-off after
    /// a failed CONNECT (1 s, 2 s, ... plus up to a quarter: sim/module/README.md "Back-off",
    /// PG-CMD 4.7.2.2), which would otherwise refuse the retry with hint 1.
    std::chrono::milliseconds retry_delay{1300};
    /// When set and true: no module is started any more and a back-off wait ends early;
    /// connects in flight finish first. May be set from a signal handler.
    const std::atomic<bool>* stop = nullptr;
    /// After each module finishes (optional).
    std::function<void(const ConnectProgress&)> on_progress;
    /// After each failed attempt, with the ThingName and the first answer line, or
    /// "no answer to AT+CONNECT" (optional).
    std::function<void(const std::string& thing_name, const std::string& answer)> on_failure;
};

struct ConnectWindowResult {
    std::size_t connected = 0;
    std::size_t failed = 0;           ///< Modules whose every attempt failed.
    std::size_t not_attempted = 0;    ///< Modules left when `stop` was set.
    std::size_t failed_attempts = 0;  ///< Failed `AT+CONNECT`s, retries included.
    std::size_t peak_in_flight = 0;   ///< Most `AT+CONNECT`s seen in flight at once.
    std::string first_error;          ///< "<ThingName> <answer>" of the first failure; "" if none.
    std::chrono::duration<double> elapsed{0};
};

/// Connects `modules` in order as described in the file comment. A module counts as connected
/// when `AT+CONNECT` answers exactly "OK 1 CONNECTED" (the blocking CONNECT's success line, as
/// sim/module/core/src/interpreter.cpp writes it); any other answer (ERR14 {hint}, PG-CMD
/// 4.7.2.2), or none within connect_timeout, is a failed attempt.
ConnectWindowResult ConnectWindowed(const std::vector<std::shared_ptr<SoftwareModule>>& modules,
                                    const ConnectWindowOptions& options);

}  // namespace sim::module
