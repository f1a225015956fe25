// SPDX-License-Identifier: Apache-2.0
#pragma once
// AccountView: what the broker asks of the emulated account it serves. The seam between the
// broker's MQTT logic (BrokerCore) and the account model: the registry adapter
// (RegistryAccountView, over sim::account::Registry + the policy evaluator) implements it, and
// OpenAccountView serves a bare broker (every TLS-verified certificate ACTIVE, every action
// allowed) for benchmarks and for worlds built without the account model.
//
// Threading: BrokerCore calls a view from the broker thread only; a view shared with another
// thread (the control plane) serialises internally.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sim::broker {

/// The leaf certificate a TLS client presented (the broker sees no chain).
struct PeerCertificate {
    std::string der;             ///< DER bytes.
    std::string certificate_id;  ///< Lowercase hex SHA-256 of `der`.
    /// The certificate as the TLS layer decoded it (an OpenSSL X509 whose reference this
    /// holds), or null: an account view reads it instead of decoding `der` again.
    std::shared_ptr<void> tls_decoded;
};

struct DeviceConnect {
    PeerCertificate certificate;
    std::string client_id;
    std::string source_ip;
};

/// A view's private per-connection data (policy identity, thing); kept by BrokerCore for the
/// life of the session and handed back on every Authorize call.
class Principal {
public:
    virtual ~Principal() = default;
};

struct Identification {
    enum class Verdict {
        kAccept,  ///< The certificate may connect (iot:Connect is checked next).
        kRefuse,  ///< Unknown CA, inactive/revoked/expired certificate... (AWS: TLS failure).
        /// JITR/JITP first connect, or still PENDING_ACTIVATION: close without CONNACK.
        kCloseAfterRegistration,
    };
    Verdict verdict = Verdict::kRefuse;
    std::string reason;  ///< One line, e.g. "certificate REVOKED".
    std::string certificate_id;
    std::string thing_name;                      ///< Associated thing; empty when none.
    std::shared_ptr<const Principal> principal;  ///< Set when kAccept.
};

enum class Access { kConnect, kPublish, kRetainPublish, kSubscribe, kReceive };
const char* ToString(Access access) noexcept;

struct AuthzAnswer {
    bool allowed = false;
    std::string reason;  ///< Filled when the view was asked to explain.
};

/// Work a view asks the broker to do (registry effects).
struct AccountEffect {
    enum class Kind { kPublish, kDisconnectCertificate };
    Kind kind = Kind::kPublish;
    std::string topic;
    std::string payload;
    std::string certificate_id;
};

class AccountView {
public:
    virtual ~AccountView() = default;
    /// Identifies the device behind a certificate, auto-registering it (JITR/JITP) when the
    /// account says so. Never throws for refusals; they are verdicts.
    virtual Identification Identify(const DeviceConnect& request) = 0;
    /// May `principal` do `access` on `name` (a client id, topic or topic filter)?
    virtual AuthzAnswer Authorize(const Principal& principal, Access access, std::string_view name,
                                  bool explain) = 0;
    /// Effects queued since the last call, in order.
    virtual std::vector<AccountEffect> TakeEffects() = 0;
    /// Time-driven account work (token expiry); called from the broker's TICK.
    virtual void Tick() = 0;
};

/// A bare broker's account: every certificate that passed TLS is ACTIVE, every action is
/// allowed. Not emulated in this mode: registry, JITP/JITR, policies.
class OpenAccountView final : public AccountView {
public:
    Identification Identify(const DeviceConnect& request) override;
    AuthzAnswer Authorize(const Principal& principal, Access access, std::string_view name,
                          bool explain) override;
    std::vector<AccountEffect> TakeEffects() override { return {}; }
    void Tick() override {}
};

}  // namespace sim::broker
