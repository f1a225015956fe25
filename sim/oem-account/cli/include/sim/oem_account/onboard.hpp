// SPDX-License-Identifier: Apache-2.0
#pragma once
// `elsim onboard`, the main job (adapter): onboarding-by-claim on a local world, end to end,
// through the onboarding pipeline (sim/onboarding/pipeline.hpp): set-up, N birth identities,
// N software modules on staging, one claim session per claim-thing, every module through
// staging -> claim -> OEM, then the world down.
//
// Threading: RunOnboard blocks; its modules run on the pipeline's worker threads and its
// output is serialised. Network: loopback only (the world's 127.X.Y.N addresses).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>

#include "sim/core/result.hpp"

namespace sim::oem_account {

struct OnboardOptions {
    std::filesystem::path world_file = "scenarios/worlds/default.yaml";
    std::filesystem::path directory;  ///< Empty: a temporary directory.
    bool keep = false;                ///< Keep `directory` (a temporary one is removed).
    std::size_t modules = 10;
    std::string oem_account;    ///< Empty: the first OEM account of the world.
    std::string manufacturer;   ///< Empty: the first manufacturer.
    std::size_t workers = 100;  ///< Modules onboarded in parallel.
    /// Claim-things registered; each keeps one MQTT session open at staging and claims through
    /// it at most 100 times a second (AWS IoT's per-connection publish quota); module i is
    /// claimed by claim-thing i % claim_things.
    std::size_t claim_things = 4;
    bool explain = false;  ///< Brokers log the reason of every refusal.
    /// Set from a signal handler to stop early; everything is then torn down.
    const std::atomic<bool>* interrupted = nullptr;
};

struct OnboardSummary {
    std::size_t onboarded = 0;
    std::size_t failed = 0;
    /// Modules whose thing the OEM account's registry holds after the run: the onboarded ones
    /// plus failed ones the claim reached anyway.
    std::size_t registered = 0;
    std::chrono::milliseconds elapsed{0};
    std::string summary_line;  ///< "onboarded 10/10 modules in 4.2 s"
};

/// Runs the main job, printing each step through `print` (one line at a time, serialised; per
/// module steps for up to 1000 modules, progress every 10% beyond). Errors: kInvalidArgument for
/// bad options or a bad world file (nothing started); other codes when the set-up (world,
/// claim-things, OEM account, identities) failed. Module failures are counted in the summary,
/// not errors.
sim::Result<OnboardSummary> RunOnboard(const OnboardOptions& options,
                                       const std::function<void(const std::string&)>& print);

}  // namespace sim::oem_account
