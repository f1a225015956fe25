// SPDX-License-Identifier: Apache-2.0
#pragma once
// The MQTT events an AWS IoT broker publishes itself, as AWS documents their topics and JSON
// (AWS IoT Core Developer Guide, 'Lifecycle events', 'Registry events', and the JITR page's
// registration event). Pure: values in, (topic, payload) out.

#include <cstdint>
#include <string>
#include <vector>

namespace sim::broker {

struct EventMessage {
    std::string topic;
    std::string payload;  ///< JSON text.
    bool operator==(const EventMessage&) const = default;
};

/// Why a session ended, in AWS's disconnectReason vocabulary.
enum class DisconnectReason {
    kAuthError,                  ///< AUTH_ERROR: authentication or authorization failed.
    kClientInitiatedDisconnect,  ///< CLIENT_INITIATED_DISCONNECT: the client sent DISCONNECT.
    kClientError,                ///< CLIENT_ERROR: malformed or forbidden packet.
    kConnectionLost,             ///< CONNECTION_LOST: the socket closed without DISCONNECT.
    kDuplicateClientId,          ///< DUPLICATE_CLIENTID: a new session took the client id.
    kForbiddenAccess,            ///< FORBIDDEN_ACCESS: e.g. a forbidden reserved topic.
    kKeepAliveTimeout,           ///< MQTT_KEEP_ALIVE_TIMEOUT.
    kServerError,                ///< SERVER_ERROR.
    kServerInitiatedDisconnect,  ///< SERVER_INITIATED_DISCONNECT.
    kApiInitiatedDisconnect,     ///< API_INITIATED_DISCONNECT: e.g. UpdateCertificate.
    kThrottled,                  ///< THROTTLED: connect rate above the quota.
};
/// "AUTH_ERROR", ...
const char* ToString(DisconnectReason reason) noexcept;

/// Common fields of the presence events.
struct PresenceFields {
    std::string client_id;
    std::int64_t timestamp_ms = 0;
    std::string session_identifier;    ///< A UUID per session.
    std::string principal_identifier;  ///< The certificateId for X.509 clients.
    std::int64_t version_number = 0;   ///< Increases per connect of one client id.
    std::string thing_name;            ///< Empty: omitted (only with an exclusive thing).
};

/// `$aws/events/presence/connected/<clientId>` with ipAddress.
EventMessage ConnectedEvent(const PresenceFields& fields, const std::string& ip_address);
/// `$aws/events/presence/disconnected/<clientId>` with clientInitiatedDisconnect and
/// disconnectReason.
EventMessage DisconnectedEvent(const PresenceFields& fields, DisconnectReason reason);
/// `$aws/events/subscriptions/subscribed|unsubscribed/<clientId>` with topics[].
EventMessage SubscriptionEvent(bool subscribed, const PresenceFields& fields,
                               const std::vector<std::string>& topics);
/// True when AWS publishes lifecycle events for this client id (not for ids with '+' or '#').
bool HasLifecycleEvents(const std::string& client_id);

}  // namespace sim::broker
