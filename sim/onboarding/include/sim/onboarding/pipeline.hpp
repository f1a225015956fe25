// SPDX-License-Identifier: Apache-2.0
#pragma once
// Onboarding-by-claim on a local world, end to end (adapter): the pipeline that `elsim onboard`
// and the onboarding phase of `elsim bench modules` both run.
//
//   SetUpOnboarding: world up (in-process) -> claim-things (OEM guide Appendix A: an AWS-issued
//   claim certificate, registered in staging) -> OEM account set-up (Appendix B + C,
//   ConfigureOemAccount). Then N birth identities from the manufacturer CA (pki) -> N
//   SoftwareModules on the staging endpoint -> one open claim session per claim-thing ->
//   RunOnboardingPipeline, per module: AT+CONNECT (STAGING), claim (over the open session), MSG +
//   CONLOST, AT+CONNECT (the JITP first-connect drop, then the retry after the module's
//   back-off), CONNECT? CUSTOMER, optionally AT+SEND and the thing and its ACTIVE certificate
//   checked through the OEM control plane.
//
// Threading: the set-up and the helpers are safe to use from one thread each;
// RunOnboardingPipeline runs modules on a pool of worker threads (each blocks on its module's
// AT round trips, so many modules are in flight at once) and serialises its output. Everything
// blocks with bounded timeouts. Network: loopback only (the world's 127.X.Y.N addresses).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/control_plane/aws_client.hpp"
#include "sim/core/result.hpp"
#include "sim/module/fleet.hpp"
#include "sim/module/software_module.hpp"
#include "sim/onboarding/actors.hpp"
#include "sim/onboarding/world.hpp"
#include "sim/staging/claim_client.hpp"
#include "sim/world/world_state.hpp"

namespace sim::onboarding {

// ---- Set-up shared by the main job and the bench ----------------------------------------------

struct OnboardingSetupOptions {
    std::filesystem::path world_file;  ///< World YAML. Required.
    std::filesystem::path directory;   ///< The world runs in directory/world. Required.
    std::string oem_account;           ///< Empty: the first OEM account of the world.
    std::string manufacturer;          ///< Empty: the first manufacturer.
    std::size_t claim_things = 4;      ///< Claim-things the OEM registers in staging.
    bool explain = false;              ///< Brokers log the reason of every refusal.
    /// Called (from the world's supervising thread) when a broker of the world exits; the
    /// supervisor restarts it. Must stay callable as long as the OnboardingSetup lives.
    std::function<void(const world::BrokerExit&)> on_broker_exit;
};

/// A running world whose OEM account is set up (Appendix B + C) and whose staging account knows
/// the OEM's claim-things (Appendix A). Destroying it stops the world.
struct OnboardingSetup {
    std::unique_ptr<LocalWorld> world;
    world::AccountState staging;
    world::AccountState oem;
    world::ManufacturerState manufacturer;
    std::unique_ptr<controlplane::AwsClient> staging_client;
    std::unique_ptr<controlplane::AwsClient> oem_client;
    std::vector<ClaimThing> claim_things;
    std::filesystem::path directory;
    std::filesystem::path server_ca_file;  ///< The world's server CA (the modules' RootCA).
};

/// Starts the world and sets it up, printing one line per step. Errors: kInvalidArgument for a
/// bad world file or unknown account/manufacturer (nothing left running); other codes when a
/// step failed (the world is stopped again).
sim::Result<OnboardingSetup> SetUpOnboarding(const OnboardingSetupOptions& options,
                                             const std::function<void(const std::string&)>& print);

/// Raises RLIMIT_NOFILE so that `modules` connections fit in this process and in the brokers
/// started afterwards (they inherit it): sim::RaiseDescriptorLimit(3 * modules + 512).
/// Errors: kInvalidArgument when the hard limit is lower and cannot be raised; the message
/// starts with "--modules: ".
sim::Status RaiseDescriptorLimitFor(std::size_t modules);

/// One module of an onboarding run.
struct ModuleJob {
    std::shared_ptr<module::SoftwareModule> module;
    std::string thing_name;
    std::string certificate_id;  ///< SHA-256 of the birth certificate's DER (hex).
};

/// The jobs for the modules of `fleet`, started from `identities` (same order).
sim::Result<std::vector<ModuleJob>> MakeJobs(const module::Fleet& fleet,
                                             const std::vector<std::filesystem::path>& identities);

/// Opens one claim session per claim-thing of `setup` (the registration app's connections),
/// each paced to `max_publishes_per_second`.
sim::Result<std::vector<std::unique_ptr<staging::ClaimSession>>> OpenClaimSessions(
    const OnboardingSetup& setup, int max_publishes_per_second = 100);

// ---- The pipeline ------------------------------------------------------------------------------

struct PipelineOptions {
    /// Modules in flight at once (one worker thread each). Most of a module's time is spent
    /// waiting (the module's back-off after the JITP drop), so many workers hide it.
    std::size_t workers = 100;
    bool publish = true;  ///< AT+CONF Topic1 + AT+SEND1 once connected.
    bool verify = true;   ///< Check thing, ACTIVE certificate and attachment (OEM control plane).
    const std::atomic<bool>* interrupted = nullptr;  ///< Stops at the next step when set.
};

/// What happened to one module.
struct ModuleOutcome {
    bool ok = false;
    std::string error;  ///< The failed step, when !ok.
    /// A claim for this module went out to staging (acknowledged or not): from then on its
    /// thing may exist in the OEM account even if a later step failed.
    bool claim_sent = false;
    // When each step ended (steady clock; default-constructed when not reached).
    std::chrono::steady_clock::time_point started;            ///< First AT+CONNECT sent.
    std::chrono::steady_clock::time_point staging_connected;  ///< CONNECT? said STAGING.
    std::chrono::steady_clock::time_point claimed;            ///< The accepted claim's PUBACK.
    std::chrono::steady_clock::time_point left_staging;       ///< CONLOST seen.
    std::chrono::steady_clock::time_point connected;          ///< CONNECT? said CONNECTED CUSTOMER.
};

/// Onboards every job, `options.workers` at a time; job i is claimed through session
/// i % sessions.size(). `step(index, text)` is called for each step of job `index` (serialise
/// output yourself; it is called from worker threads). Returns one outcome per job.
std::vector<ModuleOutcome> RunOnboardingPipeline(
    const OnboardingSetup& setup, const std::vector<ModuleJob>& jobs,
    const std::vector<std::unique_ptr<staging::ClaimSession>>& sessions,
    const PipelineOptions& options,
    const std::function<void(std::size_t, const std::string&)>& step);

}  // namespace sim::onboarding
