// SPDX-License-Identifier: Apache-2.0
#pragma once
// AccountHost: the emulated AWS IoT account inside its mosquitto process (one mosquitto per
// account: topics and client ids are not shared between accounts). Adapter, used only by
// plugin.cpp.
//
// - Opens the account's HostedAccount (registry + SQLite store under `account_dir`) and serves
//   the control plane (cpp-httplib) on `control_plane` (the account's own 127.0.0.N:PORT).
// - Hands the broker a RegistryAccountView over it: Identify/Tick take the exclusive lock and
//   persist; Authorize (every delivery) takes the shared lock only.
// - Keeps the listener's capath in step with the registry: CAs (and self-signed certificates
//   registered without a CA) are hot-added before the control-plane reply returns.
// - Staging accounts (kind=staging): registers the manufacturer CA (SetUpStagingAccount), runs
//   the first-login hook before AuthenticateDevice, records presence of modules and checks the
//   claims claim-things publish (sim/staging/README.md "hooks for the broker plugin").
// - With shared_dir: the DEFAULT-mode CA index is the world's FileDefaultModeCaIndex; at start,
//   slots this account holds for CAs its registry no longer has are released.
// - Fleet provisioning: RSA key generation (CreateKeysAndCertificate) and pre-provisioning
//   hooks (the world's Lambda stand-ins, lambda_functions.hpp) run on worker threads; their
//   replies wait in a queue the broker thread drains (TakeFleetAnswers, at each TICK).
// Threading: the broker thread calls view() and the On*/CheckClaim/HandleFleetRequest/
// TakeFleetAnswers hooks; the control-plane threads and the fleet workers touch only
// HostedAccount, the capath sync (own lock) and the answer queue (own lock).

#include <atomic>
#include <filesystem>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "lambda_functions.hpp"
#include "sim/account/fleet_mqtt.hpp"
#include "sim/broker/registry_account_view.hpp"
#include "sim/control_plane/issuer.hpp"
#include "sim/control_plane/server.hpp"
#include "sim/core/result.hpp"
#include "sim/staging/claim.hpp"
#include "sim/staging/sessions.hpp"

namespace sim::broker {

struct AccountHostOptions {
    std::filesystem::path account_dir;  ///< registry.sqlite and the AWS IoT issuing CA.
    std::string account_id;             ///< 12 digits.
    std::string account_name;
    std::string region = "us-east-1";
    bool staging = false;                   ///< kind=staging (else oem).
    std::string control_plane;              ///< "127.0.0.N:PORT" (empty: no control plane).
    std::filesystem::path capath;           ///< The listener's capath (empty: no hot-add).
    std::filesystem::path manufacturer_ca;  ///< Staging: the manufacturer CA PEM file.
    std::string endpoint;  ///< "<prefix>-ats.iot.<region>.<domain>" (DescribeEndpoint agrees).
    std::string address;   ///< The broker's own address (a claim must not point back here).
    /// The world's shared directory (plugin_opt_shared_dir): DEFAULT-mode CA slots live in
    /// `<shared_dir>/default-mode-cas/` (FileDefaultModeCaIndex), so the one-account-per-Region
    /// rule holds across the world's broker processes. Empty: an in-memory index (this account
    /// only).
    std::filesystem::path shared_dir;
    /// The world's clock (registry timestamps, validity, claim and token expiry); nullptr =
    /// the system clock.
    std::shared_ptr<const sim::Clock> clock;
    /// Seeds the account's random source (ids, tokens); empty = from the OS.
    std::optional<std::uint64_t> seed;
    /// The account's Lambda stand-ins (plugin_opt_lambda_functions; lambda_functions.hpp).
    /// Empty: no function is served (a template's hook then refuses every RegisterThing).
    std::filesystem::path lambda_functions;
    /// plugin_opt_secret_access_key: set, the control plane verifies every request's SigV4
    /// signature with this secret (access key id = the account id); empty: not verified.
    std::string secret_access_key;
};

/// A fleet-provisioning reply computed off the broker thread, to publish to `client_id`.
struct FleetAnswer {
    std::string client_id;
    std::string certificate_id;
    std::string request_topic;
    sim::account::FleetReply reply;
};

class WorkerPool;

class AccountHost {
public:
    /// Opens the account and starts its control plane. Errors name the option or file.
    static sim::Result<std::unique_ptr<AccountHost>> Start(const AccountHostOptions& options);
    ~AccountHost();  ///< Stops the control plane, then closes the account.
    AccountHost(const AccountHost&) = delete;
    AccountHost& operator=(const AccountHost&) = delete;

    AccountView& view() { return *view_; }
    /// The account's server-side faults, filled through its control plane (/_elsim/faults).
    std::shared_ptr<sim::faults::FaultBoard> faults() const { return faults_; }
    bool staging() const { return options_.staging; }
    std::string ControlPlaneUrl() const;

    /// Staging: an accepted CONNECT (presence of modules; remembers claim-things).
    void OnAccepted(const std::string& client_id, const std::string& certificate_id);
    /// Staging: the session of `client_id` ended.
    void OnDisconnected(const std::string& client_id);

    using ClaimCheck = sim::staging::ClaimCheck;
    /// Staging: a publish the policy allowed. For claim-things, applies the claim rules and
    /// records an accepted claim on the module's thing. `reason` is set when refused.
    ClaimCheck CheckClaim(const std::string& client_id, std::string_view topic,
                          std::string_view payload, bool retain, std::string& reason);

    /// The fleet-provisioning MQTT API ('Device provisioning MQTT API'): a publish the policy
    /// allowed on a request topic → the reply to send to that connection only; nullopt for other
    /// topics and for requests answered later by TakeFleetAnswers (CreateKeysAndCertificate,
    /// RegisterThing with a pre-provisioning hook: they run on worker threads). Certificates are
    /// issued outside the account lock; the registry work runs under it.
    std::optional<sim::account::FleetReply> HandleFleetRequest(const std::string& client_id,
                                                               const std::string& certificate_id,
                                                               std::string_view topic,
                                                               std::string_view payload);

    /// The replies the workers have finished since the last call (broker thread: publish them).
    std::vector<FleetAnswer> TakeFleetAnswers();

private:
    explicit AccountHost(AccountHostOptions options);
    sim::Status SyncCapathAll();
    void OnWrite(const std::string& operation, const std::string& reply_body,
                 const sim::account::Registry& registry);
    void AddToCapath(const std::string& id, const std::string& pem);
    /// Applies a staging record (presence, claim) to the registry; a failure that
    /// sim::staging::IsExpectedRecordFailure does not excuse is logged as an error.
    void ApplyStagingRecord(const sim::account::UpdateThingRequest& record, std::string_view what);
    void Answer(FleetAnswer answer);
    void RunHook(const sim::account::FleetRequest& request,
                 const sim::account::FleetCaller& caller,
                 const sim::account::PreProvisioningHookCall& hook);

    AccountHostOptions options_;
    std::shared_ptr<const sim::Clock> clock_;
    std::shared_ptr<sim::Random> random_;
    std::shared_ptr<sim::controlplane::HostedAccount> hosted_;
    std::shared_ptr<sim::faults::FaultBoard> faults_ = std::make_shared<sim::faults::FaultBoard>();
    std::unique_ptr<sim::controlplane::ControlPlaneServer> server_;
    std::unique_ptr<RegistryAccountView> view_;
    std::shared_ptr<sim::controlplane::PkiCertificateIssuer> issuer_;
    sim::staging::ClaimRules claim_rules_;
    sim::staging::SessionTable staging_sessions_;  // broker thread only

    std::mutex capath_mutex_;
    std::set<std::string> in_capath_;  // certificate ids already written

    LambdaFunctions lambda_functions_;  // read-only after Start
    std::atomic<bool> stopping_{false};
    std::mutex answers_mutex_;
    std::vector<FleetAnswer> answers_;
    // Declared last: destroyed (joined) first, while everything their jobs use is alive.
    std::unique_ptr<WorkerPool> key_workers_;
    std::unique_ptr<WorkerPool> hook_workers_;
};

}  // namespace sim::broker
