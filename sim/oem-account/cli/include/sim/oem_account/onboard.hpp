// SPDX-License-Identifier: Apache-2.0
#pragma once
// Onboarding-by-claim on a local world, end to end (adapter): the `elsim onboard` main job and
// the building blocks the misrouted-claim integration tests use.
//
//   world up (in-process) -> claim-thing (OEM guide Appendix A: CreateKeysAndCertificate in the
//   OEM account, registered in staging) -> OEM account set-up (Appendix B + C, ConfigureOemAccount)
//   -> N birth identities from the manufacturer CA (pki) -> N SoftwareModules on the staging
//   endpoint -> per module: AT+CONNECT (STAGING), claim (claim script), MSG + CONLOST,
//   AT+CONNECT (one JITP first-connect drop tolerated), CONNECT? CUSTOMER, AT+SEND, and the
//   thing and its ACTIVE certificate checked through the OEM control plane.
//
// Threading: LocalWorld and the helpers are safe to use from one thread each; RunOnboard runs
// modules on a few worker threads and serialises its output. Everything blocks with bounded
// timeouts. Network: loopback only (the world's 127.0.0.N addresses).

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
#include "sim/module/software_module.hpp"
#include "sim/oem_account/setup_plan.hpp"
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
/// The non-back-off failures are appended to `failures` when non-null.
sim::Result<std::string> ConnectWithRetry(module::SoftwareModule& module, int tolerated_failures,
                                          std::chrono::milliseconds deadline,
                                          std::vector<std::string>* failures = nullptr);

// ---- The main job ----------------------------------------------------------------------------

struct OnboardOptions {
    std::filesystem::path world_file = "scenarios/worlds/default.yaml";
    std::filesystem::path directory;  ///< Empty: a temporary directory.
    bool keep = false;                ///< Keep `directory` (a temporary one is removed).
    std::size_t modules = 10;
    std::string oem_account;   ///< Empty: the first OEM account of the world.
    std::string manufacturer;  ///< Empty: the first manufacturer.
    std::size_t workers = 8;   ///< Modules onboarded in parallel.
    /// Claim-things registered, used in turn: each makes at most one claim per second (AWS
    /// IoT's one CONNECT per second per client id), so more claim-things claim faster.
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

/// Runs the main job, printing each step through `print` (one line at a time, serialised).
/// Errors: kInvalidArgument for bad options or a bad world file (nothing started);
/// other codes when the set-up (world, claim-thing, OEM account, identities) failed. Module
/// failures are counted in the summary, not errors.
sim::Result<OnboardSummary> RunOnboard(const OnboardOptions& options,
                                       const std::function<void(const std::string&)>& print);

}  // namespace sim::oem_account
