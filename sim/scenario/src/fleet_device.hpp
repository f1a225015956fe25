// SPDX-License-Identifier: Apache-2.0
#pragma once
// The fleet device actor (adapter, private to sim/scenario): `{device: fleet, account, claim,
// template, parameters, csr, format}` runs fleet provisioning by claim with sim/device's client
// (the flow of `elsim device provision`) when a `provision` step names it, and checks the
// outcome the step expects. Each run writes a fresh identity directory.

#include <filesystem>
#include <map>
#include <string>

#include "actors.hpp"
#include "sim/core/result.hpp"
#include "sim/scenario/model.hpp"

namespace sim::scenario {

struct FleetDeviceRuntime {
    std::string name;
    FleetDeviceActor spec;
    std::map<std::string, std::string> parameters;  ///< With placeholders substituted.
    CertificateFiles claim;
    std::string endpoint;             ///< The account's endpoint name (host[:port]).
    std::filesystem::path world_dir;  ///< Its world.json resolves the endpoint name.
    std::filesystem::path root_ca;    ///< The world's server CA.
    std::filesystem::path out_dir;    ///< Identities go to <out_dir>/run-<n>.
    int runs = 0;
    std::string thing_name;      ///< Of the last provisioning ("" until one succeeds).
    std::string certificate_id;  ///< Of the last certificate obtained.
};

/// Runs the flow for `step` (each step's line goes to the timeline) and compares the outcome
/// with the step's expectation: nothing when it matches, else the reason.
sim::Result<void, std::string> RunFleetDevice(FleetDeviceRuntime& device, const ProvisionStep& step,
                                              Duration within, Recorder& recorder);

}  // namespace sim::scenario
