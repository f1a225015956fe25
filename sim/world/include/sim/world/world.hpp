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
//   status reads world.json and probes the supervisor and every listener.
// Layout of DIR:
//   world.json world.pid supervisor.log endpoints.json
//   pki/root-ca.{pem,key}          the emulated server root: clients trust it (serverCaFile)
//   pki/issuing-ca.{pem,key}       signs service-issued device certificates; trusted by every
//                                  account
//   pki/manufacturers/<m>-ca.{pem,key}
//   accounts/<name>/{mosquitto.conf,server.pem,server.key,broker.log,capath/}
//   shared/default-mode-cas/       DEFAULT-mode CA slots of every account (plugin_opt_shared_dir)

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "sim/core/ports.hpp"
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
    /// Set: every OEM account's control plane verifies SigV4 signatures with this secret
    /// access key (the access key id is the account id), as AWS does; empty: unchecked. The
    /// staging account is AWS's, not an OEM's: its operator tools keep elsim's own credentials.
    std::string signing_secret;
};

/// Checks the world file and the machine (mosquitto, plugin, explicit addresses free) without
/// writing anything. Accounts without an address keep it empty in the plan: Start leases them.
/// Errors: kInvalidArgument "<file>:<line>: reason", kNotFound, kUnavailable.
sim::Result<WorldPlan> ValidateWorld(const UpOptions& options, sim::Random& random);

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
    /// Stops every broker (SIGTERM loop, SIGKILL fallback), releases the address lease and
    /// removes world.pid.
    void Stop();

private:
    struct Impl;
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
