// SPDX-License-Identifier: Apache-2.0
#pragma once
// Onboarding-by-claim on a local world, end to end (adapter): the `elsim onboard` main job and
// the building blocks the misrouted-claim integration tests use.
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
// `elsim onboard` (RunOnboard) and `elsim bench modules` (its onboarding phase) both run these.
//
// Threading: LocalWorld and the helpers are safe to use from one thread each;
// RunOnboardingPipeline runs modules on a pool of worker threads (each blocks on its module's
// AT round trips, so many modules are in flight at once) and serialises its output. Everything
// blocks with bounded timeouts. Network: loopback only (the world's 127.X.Y.N addresses).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/control_plane/aws_client.hpp"
#include "sim/core/ports.hpp"
#include "sim/core/result.hpp"
#include "sim/module/endpoints.hpp"
#include "sim/module/fleet.hpp"
#include "sim/module/paho_waker.hpp"
#include "sim/module/software_module.hpp"
#include "sim/oem_account/setup_plan.hpp"
#include "sim/staging/claim_client.hpp"
#include "sim/world/world.hpp"
#include "sim/world/world_state.hpp"

namespace sim::oem_account {

/// A world started in this process (sim/world's RunningWorld); stopped by Stop() or the
/// destructor (every broker terminated).
class LocalWorld {
public:
    /// Validates `config_file` and starts the world in `directory`. Errors as ValidateWorld /
    /// RunningWorld::Start (kInvalidArgument "<file>:<line>: ..." for a bad world file).
    /// `explain`: the brokers log the reason of every refusal (plugin_opt_mode explain).
    static sim::Result<std::unique_ptr<LocalWorld>> Start(const std::filesystem::path& config_file,
                                                          const std::filesystem::path& directory,
                                                          bool explain = false);
    ~LocalWorld();
    LocalWorld(const LocalWorld&) = delete;
    LocalWorld& operator=(const LocalWorld&) = delete;

    const world::WorldState& State() const;
    /// The account named `name`, or the first of `kind` when `name` is empty. Errors:
    /// kInvalidArgument "--account: no ... account '<name>' in the world".
    sim::Result<world::AccountState> Account(const std::string& name,
                                             world::AccountKind kind) const;
    /// The manufacturer named `name` (the first when empty).
    sim::Result<world::ManufacturerState> Manufacturer(const std::string& name) const;
    /// Endpoint host -> address:port for every account of the world.
    module::EndpointsMap Endpoints() const;
    void Stop();

private:
    explicit LocalWorld(std::unique_ptr<world::RunningWorld> world);
    std::unique_ptr<world::RunningWorld> world_;
};

/// A control-plane client for an account of a world: its controlPlaneUrl, access key = the
/// account id (how the emulated control plane picks the account). Assumed: worlds run without
/// signature verification, so the secret is fixed. Errors: kFailedPrecondition when the world
/// has no control plane for the account (controlPlaneUrl empty).
sim::Result<std::unique_ptr<controlplane::AwsClient>> MakeAccountClient(
    const world::AccountState& account, const std::string& region);

/// An OEM's claim-thing (OEM guide Appendix A).
struct ClaimThing {
    std::string oem_name;
    std::string uuid;  ///< The MQTT client id at staging.
    std::filesystem::path certificate_file;
    std::filesystem::path key_file;
};

/// Appendix A: an AWS-issued claim certificate (the world's issuing CA, pki WriteClaim) written
/// to `dir` (cert.pem, private.key 0600), registered INACTIVE in the OEM account, and the
/// certificate (never the key) registered in staging (RegisterOemRemote) for a UUID.
sim::Result<ClaimThing> ObtainClaimThing(controlplane::AwsClient& oem,
                                         controlplane::AwsClient& staging,
                                         const world::WorldState& world,
                                         const world::AccountState& staging_account,
                                         const std::string& oem_name,
                                         const std::filesystem::path& dir, sim::Random& random);

/// `count` birth identities signed by the manufacturer's CA, written to `dir`
/// (pki WriteModules layout). Returns the identity directories.
sim::Result<std::vector<std::filesystem::path>> MakeBirthIdentities(
    const world::ManufacturerState& manufacturer, std::size_t count,
    const std::filesystem::path& dir);

/// The software modules of an onboarding run, on the staging endpoint of `staging`.
sim::Result<std::unique_ptr<module::Fleet>> StartModules(
    const LocalWorld& world, const world::AccountState& staging,
    const std::vector<std::filesystem::path>& identities, const std::filesystem::path& state_dir);
/// The same for a world this process did not start (e.g. world::ReadWorld of a running one).
sim::Result<std::unique_ptr<module::Fleet>> StartModules(
    const world::WorldState& world, const world::AccountState& staging,
    const std::vector<std::filesystem::path>& identities, const std::filesystem::path& state_dir);

/// "host" or "host:port" when the port is not 8883.
std::string EndpointOf(const world::AccountState& account);

// ---- AT helpers (host side) ------------------------------------------------------------------

/// Sends one AT line; returns the first response line ("" on timeout).
std::string At(module::SoftwareModule& module, const std::string& line,
               std::chrono::milliseconds timeout = std::chrono::seconds{20});
/// Polls AT+EVENT? until an event line containing `mnemonic` (e.g. " CONLOST") appears.
/// Other events are appended to `seen` when non-null. Errors: kUnavailable on timeout.
sim::Result<std::string> WaitForEvent(module::SoftwareModule& module, const std::string& mnemonic,
                                      std::chrono::milliseconds timeout,
                                      std::vector<std::string>* seen = nullptr);
/// AT+CONNECT until "OK 1 CONNECTED": back-off refusals (ERR14 1) wait and retry; at most
/// `tolerated_failures` other ERR14 answers are retried (after the module's back-off).
/// Returns the last answer in the error on failure (kUnavailable), e.g. "ERR14 4 ...".
/// The non-back-off failures are appended to `failures` when non-null, each followed by
/// " (after N ms)": how long that AT+CONNECT took.
sim::Result<std::string> ConnectWithRetry(module::SoftwareModule& module, int tolerated_failures,
                                          std::chrono::milliseconds deadline,
                                          std::vector<std::string>* failures = nullptr);

// ---- Set-up shared by the main job and the bench ----------------------------------------------

struct OnboardingSetupOptions {
    std::filesystem::path world_file;  ///< World YAML. Required.
    std::filesystem::path directory;   ///< The world runs in directory/world. Required.
    std::string oem_account;           ///< Empty: the first OEM account of the world.
    std::string manufacturer;          ///< Empty: the first manufacturer.
    std::size_t claim_things = 4;      ///< Claim-things the OEM registers in staging.
    bool explain = false;              ///< Brokers log the reason of every refusal.
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

struct PipelineOptions {
    /// Modules in flight at once (one worker thread each). Most of a module's time is spent
    /// waiting (the module's back-off after the JITP drop), so many workers hide it.
    std::size_t workers = 100;
    bool publish = true;  ///< AT+CONF Topic1 + AT+SEND1 once connected.
    bool verify = true;   ///< Check thing, ACTIVE certificate and attachment (OEM control plane).
    const std::atomic<bool>* interrupted = nullptr;  ///< Stops at the next step when set.
    /// Kept active for the whole run when set (see StartWaker): Paho's receive thread then
    /// notices new connections within a few ms instead of up to 1 s.
    module::PahoWaker* waker = nullptr;
};

/// Starts a PahoWaker in this process: one extra birth identity (under dir, from the
/// manufacturer CA) that connects to the OEM account (its first connect is closed by JITP,
/// the retry after 1.1 s succeeds) and, while active, publishes a 1-byte QoS 1 message to
/// `<ThingName>/waker` every `period`. Errors: the identity (pki), the connect (kUnavailable).
sim::Result<std::unique_ptr<module::PahoWaker>> StartWaker(
    const OnboardingSetup& setup, const std::filesystem::path& dir,
    std::chrono::milliseconds period = std::chrono::milliseconds{5});

/// What happened to one module.
struct ModuleOutcome {
    bool ok = false;
    std::string error;  ///< The failed step, when !ok.
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

// ---- The main job ----------------------------------------------------------------------------

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
