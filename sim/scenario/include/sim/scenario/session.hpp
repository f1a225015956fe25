// SPDX-License-Identifier: Apache-2.0
#pragma once
// Plays one scenario in a fresh local world (adapter): starts the world in a directory of its
// own (mosquitto + plugin + control plane per account, addresses leased), runs the world's and
// the scenario's set-up operations through each account's control plane, creates the actors
// (software modules in this process or linked modules driven over a serial/pty/TCP link,
// claim-things, MQTT clients, JITR handlers), plays the steps, and tears everything down.
// Every participant writes to the scenario's timeline.
//
// Threading: Play() blocks the calling thread; parallel steps and actors run threads of their
// own, all joined before Play() returns. Network: loopback only.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sim/scenario/aws_target.hpp"
#include "sim/scenario/model.hpp"
#include "sim/scenario/module_link.hpp"
#include "sim/scenario/report.hpp"
#include "sim/scenario/timeline.hpp"

namespace sim::scenario {

struct SessionOptions {
    std::filesystem::path world_dir;  ///< Created; the world's files (PKI, logs) live here.
    std::uint64_t seed = 0;           ///< Feeds endpoint names, ids and module back-off.
    /// Called with every timeline entry as it is added (e.g. to stream it to a file).
    std::function<void(const TimelineEntry&)> on_entry;
    /// Called with the name of each top-level step as it starts (the watchdog names it).
    std::function<void(const std::string&)> on_step;
    /// Module actors played by linked modules (`--modules`); the others stay software.
    std::vector<LinkSpec> links;
    /// Manufacturer CAs to use instead of fresh ones (<maker>-ca.pem/.key, as a world's
    /// pki/manufacturers/ holds), so that linked modules' birth certificates are accepted.
    std::filesystem::path module_cas;
    /// Where the world's endpoints map is written once it is up, for linked `elsim module`
    /// processes started with `--endpoints` on this file.
    std::filesystem::path module_hosts;

    /// Set: play against the real accounts of this file instead of a local world
    /// (aws_target.hpp): no world is started, sim-only steps are skipped with the reason, and
    /// what the scenario created is deleted at the end (aws_run.hpp).
    std::optional<aws::AccountsFile> aws_accounts;
    std::string run_prefix;                ///< Names and tags everything created.
    std::filesystem::path ledger;          ///< What the run created, one JSON line each.
    bool keep_resources = false;           ///< --keep: no clean-up at the end.
    /// Checked between steps: set (SIGINT/SIGTERM, the watchdog), the scenario stops and
    /// cleans up.
    const std::atomic<bool>* interrupted = nullptr;
};

/// Plays `scenario`; the result carries the outcome, the failed step and the timeline.
ScenarioResult PlayScenario(const Scenario& scenario, const SessionOptions& options);

}  // namespace sim::scenario
