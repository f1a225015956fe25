// SPDX-License-Identifier: Apache-2.0
#include "sim/broker/events.hpp"

#include <nlohmann/json.hpp>

namespace sim::broker {
using nlohmann::json;

namespace {

json Presence(const PresenceFields& fields, const char* event_type) {
    json doc = {{"clientId", fields.client_id},
                {"timestamp", fields.timestamp_ms},
                {"eventType", event_type},
                {"sessionIdentifier", fields.session_identifier},
                {"principalIdentifier", fields.principal_identifier},
                {"versionNumber", fields.version_number}};
    if (!fields.thing_name.empty()) {
        doc["thingName"] = fields.thing_name;
    }
    return doc;
}

}  // namespace

const char* ToString(DisconnectReason reason) noexcept {
    switch (reason) {
        case DisconnectReason::kAuthError:
            return "AUTH_ERROR";
        case DisconnectReason::kClientInitiatedDisconnect:
            return "CLIENT_INITIATED_DISCONNECT";
        case DisconnectReason::kClientError:
            return "CLIENT_ERROR";
        case DisconnectReason::kConnectionLost:
            return "CONNECTION_LOST";
        case DisconnectReason::kDuplicateClientId:
            return "DUPLICATE_CLIENTID";
        case DisconnectReason::kForbiddenAccess:
            return "FORBIDDEN_ACCESS";
        case DisconnectReason::kKeepAliveTimeout:
            return "MQTT_KEEP_ALIVE_TIMEOUT";
        case DisconnectReason::kServerError:
            return "SERVER_ERROR";
        case DisconnectReason::kServerInitiatedDisconnect:
            return "SERVER_INITIATED_DISCONNECT";
        case DisconnectReason::kApiInitiatedDisconnect:
            return "API_INITIATED_DISCONNECT";
        case DisconnectReason::kThrottled:
            return "THROTTLED";
    }
    return "SERVER_ERROR";
}

bool HasLifecycleEvents(const std::string& client_id) {
    // 'Lifecycle events': client ids containing '#' or '+' get no lifecycle events.
    return !client_id.empty() && client_id.find_first_of("+#") == std::string::npos;
}

EventMessage ConnectedEvent(const PresenceFields& fields, const std::string& ip_address) {
    json doc = Presence(fields, "connected");
    doc["ipAddress"] = ip_address;
    return {"$aws/events/presence/connected/" + fields.client_id, doc.dump()};
}

EventMessage DisconnectedEvent(const PresenceFields& fields, DisconnectReason reason) {
    json doc = Presence(fields, "disconnected");
    doc["clientInitiatedDisconnect"] = reason == DisconnectReason::kClientInitiatedDisconnect;
    doc["disconnectReason"] = ToString(reason);
    return {"$aws/events/presence/disconnected/" + fields.client_id, doc.dump()};
}

EventMessage SubscriptionEvent(bool subscribed, const PresenceFields& fields,
                               const std::vector<std::string>& topics) {
    json doc = Presence(fields, subscribed ? "subscribed" : "unsubscribed");
    doc.erase("thingName");
    doc["topics"] = topics;
    return {std::string("$aws/events/subscriptions/") +
                (subscribed ? "subscribed/" : "unsubscribed/") + fields.client_id,
            doc.dump()};
}

}  // namespace sim::broker
