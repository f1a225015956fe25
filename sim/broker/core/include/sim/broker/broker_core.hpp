// SPDX-License-Identifier: Apache-2.0
#pragma once
// BrokerCore: the account broker's decisions, independent of mosquitto. The plugin turns
// mosquitto events into calls here and maps results back to MOSQ_ERR_* (sim/broker/src).
//
// - Sessions are keyed by the client id; `session_key` (the plugin passes the mosquitto
//   context address) tells a superseded session's late DISCONNECT from the current one.
// - Results are data: ConnectResult/AclResult say what to answer, TakeEffects() what to
//   publish (lifecycle and registry events) and whom to kick. Kicks must run from TICK
//   (mosquitto 2.0.11 frees the client's id when it is kicked from inside ACL_CHECK).
// - Pure: time comes in as arguments, randomness (session identifiers) from the injected
//   sim::Random. Not thread-safe: one caller (the broker thread).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/broker/account_view.hpp"
#include "sim/broker/events.hpp"
#include "sim/broker/mqtt_rules.hpp"
#include "sim/core/ports.hpp"

namespace sim::broker {

struct BrokerSettings {
    /// Explain mode: policy reasons for allowed requests too (the keep-alive log line). Every
    /// refusal carries its reason in both modes; the modes differ only in what the log shows.
    bool explain = false;
    /// Minimum time between accepted CONNECTs of one client id (0: no limit).
    std::chrono::milliseconds connect_interval{1000};
    bool lifecycle_events = true;
    /// This account's endpoint host name (plugin_opt_endpoint); the SNI rule compares with it.
    std::string endpoint;
};

/// What the broker answers a CONNECT.
enum class ConnectAction {
    kAccept,               ///< CONNACK 0.
    kRefuseWithConnack,    ///< CONNACK 5 / 0x87 (MOSQ_ERR_AUTH).
    kCloseWithoutConnack,  ///< Drop the connection, no CONNACK (any other MOSQ_ERR).
};

struct ConnectInput {
    std::uint64_t session_key = 0;
    std::string client_id;
    std::string username;  ///< Ignored, as AWS ignores it for X.509 clients.
    bool has_certificate = false;
    PeerCertificate certificate;
    std::string source_ip;
    int protocol_version = 4;  ///< 3 (3.1), 4 (3.1.1) or 5.
    /// The TLS server name (SNI) the client sent; "" when it sent none; nullopt when unknown
    /// (the TLS tap is not preloaded), which skips the SNI rule.
    std::optional<std::string> server_name;
};

struct ConnectResult {
    ConnectAction action = ConnectAction::kCloseWithoutConnack;
    std::string reason;  ///< "accepted" or why not.
    std::string certificate_id;
    bool auto_registered = false;  ///< Closed because JITP/JITR just registered the certificate.
};

struct AclResult {
    bool allowed = false;
    std::string reason;  ///< Why denied (empty when allowed).
    bool kick = false;   ///< The session will be closed at the next TICK.
};

/// Why mosquitto closed a session (the plugin maps MOSQ_ERR_* here).
enum class DisconnectCause {
    kClientDisconnect,  ///< The client sent DISCONNECT.
    kConnectionLost,
    kKeepAliveTimeout,
    kProtocolError,
    kAdministrative,  ///< A kick (ours).
    kOther,
    /// mosquitto 2.0.11 passes reason -1 for every disconnect. Not emulated: AWS's exact
    /// reason for sessions we did not close ourselves; reported as CLIENT_INITIATED_DISCONNECT.
    kUnknown,
};

struct BrokerEffects {
    std::vector<EventMessage> publishes;
    std::vector<std::string> kicks;  ///< Client ids to disconnect (only when drained).
};

class BrokerCore {
public:
    /// `view` and `random` must outlive the core.
    BrokerCore(BrokerSettings settings, AccountView& view, sim::Random& random);

    ConnectResult OnConnect(const ConnectInput& input, sim::TimePoint now);
    AclResult OnPublish(std::string_view client_id, std::string_view topic, int qos, bool retain);
    /// One filter of a SUBSCRIBE. `filters_in_packet`: how many filters the whole packet
    /// carried (0: unknown, no TLS tap); more than 8 denies every filter of it.
    AclResult OnSubscribe(std::string_view client_id, std::string_view filter, int qos,
                          sim::TimePoint now, std::size_t filters_in_packet = 0);
    void OnUnsubscribe(std::string_view client_id, std::string_view filter, sim::TimePoint now);
    AclResult OnReceive(std::string_view client_id, std::string_view topic);
    void OnDisconnect(std::uint64_t session_key, std::string_view client_id, DisconnectCause cause,
                      sim::TimePoint now);
    /// Time-driven work: the view's Tick, then its effects.
    void OnTick();
    /// Queues a kick of a live session for the next drain (the plugin's own refusals, e.g. a
    /// staging claim refused after the policy allowed the publish). No-op without a session.
    void Kick(std::string_view client_id, DisconnectReason reason);

    /// Events to publish, and (when `drain_kicks`) the client ids to kick.
    BrokerEffects TakeEffects(bool drain_kicks);

    std::size_t SessionCount() const { return sessions_.size(); }
    /// The certificate of a live session, or empty.
    std::string CertificateOf(std::string_view client_id) const;

private:
    struct Session {
        std::uint64_t key = 0;
        std::string certificate_id;
        std::shared_ptr<const Principal> principal;
        int protocol_version = 4;
        PresenceFields presence;
    };
    Session* Find(std::string_view client_id);
    void QueueKick(const std::string& client_id, DisconnectReason reason);
    void PullViewEffects();
    AclResult Deny(Session& session, std::string reason, bool kick, DisconnectReason why);
    /// The view's verdict, evaluated without an explanation on the hot path; a denial is asked
    /// again with one, so every refusal carries its reason in either mode.
    AuthzAnswer Ask(const Principal& principal, Access access, std::string_view name);

    BrokerSettings settings_;
    AccountView& view_;
    sim::Random& random_;
    ConnectRateLimiter rate_limiter_;
    std::map<std::string, Session, std::less<>> sessions_;
    std::map<std::string, std::int64_t, std::less<>> versions_;
    std::map<std::string, DisconnectReason, std::less<>> pending_kicks_;
    std::vector<std::string> kick_queue_;
    std::vector<EventMessage> publishes_;
};

}  // namespace sim::broker
