// SPDX-License-Identifier: Apache-2.0
#pragma once
// MosquittoProcess: one running `mosquitto -c <config>` child, owned RAII-style. Used by the
// world supervisor (one broker per account) and by tests (tests/support wraps it).
//
// Contract (mosquitto 2.0.11 opens its listeners before it installs its signal handlers, so a
// SIGTERM sent too early is lost or kills it with the default action):
// - Start() returns only when the broker logged its "mosquitto version ... running" line AND the
//   listener accepts a TCP connection, or fails with the broker's log in the error message.
// - The child gets PR_SET_PDEATHSIG(SIGKILL): it dies when the *thread* that started it dies.
//   Start brokers from a long-lived thread (main thread of a supervisor or of a test).
// - Stop() sends SIGTERM every 100 ms until the child exits (mosquitto drops a SIGTERM that
//   arrives before its signal handlers are installed), then SIGKILL after `grace`.
// - The destructor calls Stop(). Not thread-safe: one owner thread; Log() may be called from any
//   thread.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "sim/core/result.hpp"

namespace sim::world {

struct MosquittoOptions {
    std::filesystem::path executable;   ///< Empty: found on PATH, then /usr/sbin/mosquitto.
    std::filesystem::path config_file;  ///< Passed with -c.
    std::string host = "127.0.0.1";     ///< Where readiness polls the listener.
    std::uint16_t port = 0;             ///< The listener port (0: skip the port poll).
    std::chrono::milliseconds ready_timeout{5000};
    std::filesystem::path log_file;  ///< Non-empty: every broker log line is appended here too.
    /// Non-empty: a shared library put first in the child's LD_PRELOAD (the TLS tap,
    /// FindTlsTap). An LD_PRELOAD inherited from our environment is kept after it.
    std::filesystem::path preload;
};

/// File name of the TLS tap that elsim_broker uses (sim/broker/tap, built beside the plugin).
inline constexpr const char* kTlsTapFileName = "libelsim_tls_tap.so";

/// The TLS tap for `plugin`: `plugin`'s directory / kTlsTapFileName when that file exists (the
/// build puts both in one directory), else empty (the broker then runs without the tap, and
/// the plugin logs that three rules are not enforced). Empty `plugin`: empty.
std::filesystem::path FindTlsTap(const std::filesystem::path& plugin);

class MosquittoProcess {
public:
    /// Starts the broker and waits for readiness. Errors: kNotFound (no mosquitto executable),
    /// kUnavailable (exited or not ready in time; message carries the log tail).
    static sim::Result<std::unique_ptr<MosquittoProcess>> Start(const MosquittoOptions& options);

    ~MosquittoProcess();
    MosquittoProcess(const MosquittoProcess&) = delete;
    MosquittoProcess& operator=(const MosquittoProcess&) = delete;
    MosquittoProcess(MosquittoProcess&&) = delete;
    MosquittoProcess& operator=(MosquittoProcess&&) = delete;

    /// SIGTERM resent every 100 ms until exit; SIGKILL after `grace`. Returns the exit code
    /// (128+signal when killed). Idempotent.
    int Stop(std::chrono::milliseconds grace = std::chrono::milliseconds{3000});

    int Pid() const;
    bool Running();
    /// Everything the broker logged so far (stderr), one line per line.
    std::string Log() const;
    /// Blocks until a log line contains `needle` or `timeout` passes. True when found.
    bool WaitForLog(const std::string& needle, std::chrono::milliseconds timeout) const;

private:
    struct Impl;
    explicit MosquittoProcess(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

/// Where mosquitto is: `configured` if non-empty and executable, else PATH, else /usr/sbin.
sim::Result<std::filesystem::path> FindMosquitto(const std::filesystem::path& configured = {});

/// True when a TCP connect to host:port succeeds within `timeout`.
bool PortAcceptsConnections(const std::string& host, std::uint16_t port,
                            std::chrono::milliseconds timeout);

}  // namespace sim::world
