// SPDX-License-Identifier: Apache-2.0
#pragma once
// RegistryAccountView: the broker's AccountView over one account's sim::account::Registry and
// the policy evaluator.
//
// - Identify parses the peer certificate (pki) and calls Registry::AuthenticateDevice, which
//   applies JITR/JITP and queues the registration event; the policy identity of the session
//   (client id, thing, certificate subject/issuer, serial, source IP) is built once here.
// - Authorize evaluates the policies attached to the session's certificate at call time, so
//   AttachPolicy/DetachPolicy/new default versions apply to live sessions at once (AWS takes
//   "a few minutes"; instant is allowed). Parsed documents are cached by text.
// - Every registry access goes through the injected RegistryRunner, which must run the work
//   with exclusive access to the registry and then persist what it changed (the control
//   plane's HostedAccount owns the lock and the store). Pure otherwise: no I/O of its own.
// Not emulated: thing-group policies; certificate SAN policy variables.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pki/certificate.hpp"

#include "sim/account/policy.hpp"
#include "sim/account/registry.hpp"
#include "sim/broker/account_view.hpp"

namespace sim::broker {

/// Runs `work` with exclusive access to the registry, then persists its changes.
using RegistryRunner =
    std::function<void(const std::function<void(sim::account::Registry&)>& work)>;

/// Runs `work` with shared (read-only) access to the registry: the hot path (Authorize on
/// every delivery) must not wait for, or block, other readers.
using RegistryReader =
    std::function<void(const std::function<void(const sim::account::Registry&)>& work)>;

/// How a view reaches its registry when another component owns it (the control plane's
/// HostedAccount in the broker process).
struct RegistryAccess {
    RegistryRunner run;    ///< Exclusive access, then persist (Identify, Tick).
    RegistryReader read;   ///< Shared access (Authorize).
    /// The registry effects queued since the last call (the owner collects them from every
    /// writer, including the control plane's requests).
    std::function<std::vector<sim::account::Effect>()> take_effects;
    /// Optional: runs inside `run`, just before Registry::AuthenticateDevice (the staging
    /// account's first-login hook, sim/staging/first_login.hpp).
    std::function<void(sim::account::Registry&, const pki::CertificateInfo&)> before_authenticate;
};

/// A runner for a registry owned by the caller, guarded by `mutex` (tests, single-process
/// worlds without persistence). `registry` and `mutex` must outlive the runner.
RegistryRunner LockingRunner(sim::account::Registry& registry, std::mutex& mutex);

class RegistryAccountView final : public AccountView {
public:
    /// Reads, writes and effects all go through `runner` (tests, single-lock hosts).
    explicit RegistryAccountView(RegistryRunner runner);
    explicit RegistryAccountView(RegistryAccess access);

    Identification Identify(const DeviceConnect& request) override;
    AuthzAnswer Authorize(const Principal& principal, Access access, std::string_view name,
                          bool explain) override;
    std::vector<AccountEffect> TakeEffects() override;
    void Tick() override;

private:
    struct CachedPolicy {
        std::string text;
        std::shared_ptr<const sim::account::PolicyDocument> document;
    };
    /// The session's effective policies (caller runs inside the runner).
    std::vector<sim::account::NamedPolicy> EffectivePolicies(const sim::account::Registry& registry,
                                                             const std::string& certificate_id);

    /// Parses the peer certificate, or returns the parse of an earlier connect with the same
    /// certificate (keyed by its SHA-256; bounded, cleared when full).
    sim::Result<std::shared_ptr<const pki::CertificateInfo>> ParsePeer(
        const PeerCertificate& certificate);

    RegistryAccess access_;
    std::map<std::string, CachedPolicy> policy_cache_;  // by policy name
    std::map<std::string, std::shared_ptr<const pki::CertificateInfo>> certificate_cache_;
};

}  // namespace sim::broker
