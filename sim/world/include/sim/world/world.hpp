// SPDX-License-Identifier: Apache-2.0
#pragma once
// Starting and stopping a world (adapter): PKI and broker configs in a directory, one mosquitto
// per account on its own loopback address, world.json for clients. Accounts written without an
// address get one from a block the world leases (address_lease.hpp) for as long as it runs: the
// RunningWorld holds the lease, so for `elsim world up` the supervisor does.
//
// Lifecycle chosen for `elsim world`:
//   up   validates the world file (unknown keys, duplicates, ports in use, missing mosquitto or
//        plugin) before touching the directory; then forks a supervisor (its own session) that
//        owns the brokers, writes DIR/world.json and DIR/world.pid, and waits for SIGTERM/SIGINT.
//        `up` returns once every broker is ready (or reports the first failure). `--foreground`
//        runs the supervisor in the calling process instead.
//   down SIGTERM to the supervisor every 100 ms until it exits (SIGKILL after the grace);
//        the supervisor stops its brokers and removes world.pid. Brokers carry
//        PR_SET_PDEATHSIG, so they also die when the supervisor is killed.
//        While it waits, the supervisor reaps a broker that dies, logs its exit status and last
//        log lines to supervisor.log, restarts it (the account's state survives) and records
//        the exit in broker-exits.json.
//   status reads world.json and probes the supervisor and every listener; lists broker exits.
// Layout of DIR:
//   world.json world.pid supervisor.log endpoints.json broker-exits.json
//   pki/root-ca.{pem,key}          the emulated server root: clients trust it (serverCaFile)
//   pki/issuing-ca.{pem,key}       signs service-issued device certificates; trusted by every
//                                  account
//   pki/manufacturers/<m>-ca.{pem,key}
//   accounts/<name>/{mosquitto.conf,server.pem,server.key,broker.log,capath/}
//   shared/default-mode-cas/       DEFAULT-mode CA slots of every account (plugin_opt_shared_dir)
//   clock                          the world clock every process maps (sim/core/world_clock.hpp),
//                                  made anew at every start (plugin_opt_clock_file)

#include <chrono>
#include <filesystem>
#include <functional>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/ports.hpp"
#include "sim/core/world_clock.hpp"
#include "sim/core/result.hpp"
#include "sim/world/world_state.hpp"

namespace sim::world {

struct UpOptions {
    std::filesystem::path config_file;
    std::filesystem::path directory;
    std::filesystem::path mosquitto;  ///< Empty: PATH, then /usr/sbin.
    std::filesystem::path plugin;     ///< Empty: $ELSIM_BROKER_PLUGIN, then the built plugin.
    bool explain = false;             ///< plugin_opt_mode explain (reasons in the broker log).
    std::filesystem::path lease_directory;  ///< Empty: DefaultLeaseDirectory().
    std::chrono::milliseconds ready_timeout{5000};
    /// Overrides the world file's `clock:` (wall, virtual, frozen).
    std::optional<sim::ClockMode> clock;
    /// Seeds each account's random source (plugin_opt_seed: ids, tokens, jitter), so that a run
    /// replays. Empty: drawn from the OS and logged.
    std::optional<std::uint64_t> seed;
    /// Set: every OEM account's control plane verifies SigV4 signatures with this secret
    /// access key (the access key id is the account id), as AWS does; empty: unchecked. The
    /// staging account is AWS's, not an OEM's: its operator tools keep elsim's own credentials.
    std::string signing_secret;
};

/// Checks the world file and the machine (mosquitto, plugin, explicit addresses free) without
/// writing anything. Accounts without an address keep it empty in the plan: Start leases them.
/// Errors: kInvalidArgument "<file>:<line>: reason", kNotFound, kUnavailable.
sim::Result<WorldPlan> ValidateWorld(const UpOptions& options, sim::Random& random);

/// One death of an account's broker, as the world's supervisor saw it.
struct BrokerExit {
    std::string account;
    int pid = 0;
    int exit_code = 0;         ///< 128+signal when a signal ended it.
    std::string cause;         ///< "signal 9", "exit status 1".
    std::string log_tail;      ///< The broker's last log lines (newline-separated).
    std::string when;          ///< UTC, "2026-01-02T03:04:05Z".
    int restarted_pid = 0;     ///< The broker started in its place; 0: not restarted.
    std::string restart_error; ///< Why it was not restarted, when it was meant to be.
};

/// "the oem-a broker exited (signal 9)", plus "; restarted (pid N)" or "; not restarted: ...".
std::string Describe(const BrokerExit& exit);
/// DIR/broker-exits.json, oldest first; empty when no broker of the world has exited.
/// Errors: kInvalidArgument (malformed file), kIo.
sim::Result<std::vector<BrokerExit>> ReadBrokerExits(const std::filesystem::path& directory);

/// How a world watches its brokers (RunningWorld::Supervise).
struct SupervisionOptions {
    bool restart = true;  ///< Restart a broker that exited, with its configuration and state.
    std::chrono::milliseconds period{100};
    /// At most this many restarts of one account's broker per minute; beyond, it stays down.
    int max_restarts_per_minute = 5;
    /// Called (from the supervising thread) once per exit, after the restart attempt.
    std::function<void(const BrokerExit&)> on_exit;
};

/// A world whose brokers run in this process's care.
class RunningWorld {
public:
    /// Leases an address block when some account has no address, writes PKI, configs and
    /// world.json into options.directory and starts every broker. On failure, brokers already
    /// started are stopped, the lease is released and world.json is not written.
    /// Errors: also kResourceExhausted (no free address block), kIo (lease directory).
    static sim::Result<std::unique_ptr<RunningWorld>> Start(const UpOptions& options,
                                                            const WorldPlan& plan);
    ~RunningWorld();
    RunningWorld(const RunningWorld&) = delete;
    RunningWorld& operator=(const RunningWorld&) = delete;
    RunningWorld(RunningWorld&&) = delete;
    RunningWorld& operator=(RunningWorld&&) = delete;

    const WorldState& State() const;
    /// The world's clock (DIR/clock), shared with every broker of the world.
    const std::shared_ptr<sim::WorldClock>& Clock() const;
    /// Stops every broker (SIGTERM loop, SIGKILL fallback), releases the address lease and
    /// removes world.pid.
    void Stop();

    // Brokers that die. Every account's state (its registry under accounts/<name>/state)
    // survives its broker, so a restarted broker serves the same account. A broker is tied to
    // the thread that started it (PR_SET_PDEATHSIG, mosquitto_process.hpp): call these from a
    // thread that lives as long as the world (the main thread, or the supervising thread).

    /// Watches the brokers from a thread of its own until Stop(): reaps each one that exits,
    /// logs its exit status and last log lines, restarts it when options.restart and writes
    /// DIR/broker-exits.json (read by `elsim world status`). Idempotent.
    void Supervise(SupervisionOptions options);
    /// One round of that watch, on the calling thread: the exits found now (already handled).
    std::vector<BrokerExit> SuperviseOnce(const SupervisionOptions& options);
    /// Every exit seen so far, oldest first.
    std::vector<BrokerExit> BrokerExits() const;
    /// The pid of `account`'s broker now; 0 when it is not running. Errors: kNotFound.
    sim::Result<int> BrokerPid(const std::string& account) const;
    /// Sends `signal` to `account`'s broker and waits (up to 5 s) for it to exit; the exit is
    /// recorded but the broker is not restarted. Errors: kNotFound, kFailedPrecondition (not
    /// running), kUnavailable (still running after 5 s).
    sim::Result<BrokerExit> KillBroker(const std::string& account, int signal);
    /// Starts `account`'s broker again (stopping it first if it runs) with its configuration
    /// and state, and waits until its MQTT listener and control plane accept connections.
    /// Rewrites world.json with the new pid. Errors: kNotFound, kUnavailable (did not start).
    sim::Status RestartBroker(const std::string& account);

    struct Impl;  ///< Private to the library's sources (src/running_world.hpp).

private:
    explicit RunningWorld(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

/// `elsim world up`: validate, fork the supervisor, wait until it reports ready.
sim::Status WorldUp(const UpOptions& options);
/// `elsim world up --foreground`: validate, start, block until SIGTERM/SIGINT, stop.
sim::Status WorldRunForeground(const UpOptions& options);
/// Reads DIR/world.json.
sim::Result<WorldState> ReadWorld(const std::filesystem::path& directory);
/// `elsim world down`. Errors: kNotFound when no world runs there.
sim::Status WorldDown(const std::filesystem::path& directory,
                      std::chrono::milliseconds grace = std::chrono::milliseconds{5000});
/// True when the process exists and is not a zombie.
bool ProcessAlive(int pid);

/// The bundled default world file, wherever elsim runs from: next to an installed elsim
/// (<prefix>/share/elsim/scenarios/worlds/default.yaml), else in the source tree it was built
/// from. Never relative to the current directory.
std::filesystem::path BundledWorldFile();

}  // namespace sim::world
