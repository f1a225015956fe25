// SPDX-License-Identifier: Apache-2.0
#include "sim/broker/broker_core.hpp"

#include <string>
#include <utility>

namespace sim::broker {

namespace {

// The principal OpenAccountView hands out: it carries nothing.
class OpenPrincipal final : public Principal {};

// "<action> denied", with the account's reason after a colon when it gave one.
std::string Denied(Access access, const std::string& reason) {
    return std::string(ToString(access)) + " denied" + (reason.empty() ? "" : ": " + reason);
}

// The disconnect reason for a topic or filter that breaks a rule: FORBIDDEN_ACCESS for a reserved
// topic, CLIENT_ERROR otherwise.
DisconnectReason TopicRuleReason(RuleViolation violation) {
    return violation == RuleViolation::kReservedTopic ? DisconnectReason::kForbiddenAccess
                                                      : DisconnectReason::kClientError;
}

}  // namespace

const char* ToString(Access access) noexcept {
    switch (access) {
        case Access::kConnect:
            return "iot:Connect";
        case Access::kPublish:
            return "iot:Publish";
        case Access::kRetainPublish:
            return "iot:RetainPublish";
        case Access::kSubscribe:
            return "iot:Subscribe";
        case Access::kReceive:
            return "iot:Receive";
    }
    return "iot:Unknown";
}

Identification OpenAccountView::Identify(const DeviceConnect& request) {
    Identification result;
    result.verdict = Identification::Verdict::kAccept;
    result.reason = "open account: certificate verified by TLS";
    result.certificate_id = request.certificate.certificate_id;
    result.principal = std::make_shared<OpenPrincipal>();
    return result;
}

AuthzAnswer OpenAccountView::Authorize(const Principal& /*principal*/, Access /*access*/,
                                       std::string_view /*name*/, bool /*explain*/) {
    return {true, {}};
}

BrokerCore::BrokerCore(BrokerSettings settings, AccountView& view, sim::Random& random)
    : settings_(settings), view_(view), random_(random), rate_limiter_(settings.connect_interval) {}

BrokerCore::Session* BrokerCore::Find(std::string_view client_id) {
    const auto it = sessions_.find(client_id);
    return it == sessions_.end() ? nullptr : &it->second;
}

std::string BrokerCore::CertificateOf(std::string_view client_id) const {
    const auto it = sessions_.find(client_id);
    return it == sessions_.end() ? std::string{} : it->second.certificate_id;
}

void BrokerCore::QueueKick(const std::string& client_id, DisconnectReason reason) {
    if (pending_kicks_.emplace(client_id, reason).second) {
        kick_queue_.push_back(client_id);
    }
}

ConnectResult BrokerCore::OnConnect(const ConnectInput& input, sim::TimePoint now) {
    ConnectResult result;
    const bool v5 = input.protocol_version == 5;
    // Order of checks: things AWS rejects before TLS completes (certificate) come first, then
    // the MQTT-level rules, then iot:Connect.
    if (!input.has_certificate) {
        // require_certificate makes this unreachable through TLS; fail closed anyway.
        result.reason = "no client certificate";
        return result;
    }
    result.certificate_id = input.certificate.certificate_id;
    if (input.server_name) {
        // 'Transport security in AWS IoT Core': no SNI, no connection; the SNI routes to the
        // account ('X.509 client certificates'). AWS refuses in TLS, before the certificate is
        // looked at (so no JITR/JITP either).
        // Assumed: a wrong or missing SNI is closed without CONNACK on MQTT 3.1.1 and 5 alike,
        // the nearest a plugin gets to AWS's TLS-level refusal.
        if (const auto sni = CheckServerName(*input.server_name, settings_.endpoint);
            sni != SniVerdict::kAccept) {
            result.reason = ToString(sni);
            return result;
        }
    }
    if (const auto violation = CheckClientId(input.client_id); violation != RuleViolation::kNone) {
        // Assumed: AWS closes without CONNACK for an invalid client id.
        result.reason = std::string("client id rule: ") + ToString(violation);
        return result;
    }
    // Usernames are ignored for X.509 clients, including SDK metrics strings ("?SDK=...").
    const Identification identity =
        view_.Identify({input.certificate, input.client_id, input.source_ip});
    PullViewEffects();  // a JITR registration event goes out even though we drop the client
    switch (identity.verdict) {
        case Identification::Verdict::kRefuse:
            // Chosen: a refused certificate is dropped without CONNACK on
            // MQTT 3.1.1 and gets CONNACK 0x87 on MQTT 5, like a denied iot:Connect.
            // Assumed: AWS refuses these during TLS; the broker cannot (no TLS hook).
            result.action =
                v5 ? ConnectAction::kRefuseWithConnack : ConnectAction::kCloseWithoutConnack;
            result.reason = identity.reason.empty() ? "certificate refused" : identity.reason;
            return result;
        case Identification::Verdict::kCloseAfterRegistration:
            result.auto_registered = true;
            result.reason =
                identity.reason.empty() ? "certificate auto-registered" : identity.reason;
            return result;
        case Identification::Verdict::kAccept:
            break;
    }
    if (!identity.principal) {
        result.reason = "account returned no principal";
        return result;
    }
    if (!rate_limiter_.Allow(input.client_id, now)) {
        // Assumed: a throttled CONNECT is closed without CONNACK (quota: 1 CONNECT/s per id).
        result.reason = "connect rate above 1/s for this client id (THROTTLED)";
        return result;
    }
    const AuthzAnswer connect =
        Ask(*identity.principal, Access::kConnect, input.client_id);
    if (!connect.allowed) {
        // MQTT 3.1.1 sees the connection closed ('MQTT': AWS IoT sends no CONNACK return code 5);
        // MQTT 5 gets CONNACK 0x87 Not authorized.
        result.action =
            v5 ? ConnectAction::kRefuseWithConnack : ConnectAction::kCloseWithoutConnack;
        result.reason = Denied(Access::kConnect, connect.reason);
        return result;
    }

    // A second connection with the same client id takes over: the old session ends with
    // DUPLICATE_CLIENTID (mosquitto closes it; its late DISCONNECT is ignored by key).
    if (Session* old = Find(input.client_id); old != nullptr) {
        if (settings_.lifecycle_events && HasLifecycleEvents(input.client_id)) {
            old->presence.timestamp_ms = sim::ToEpochMillis(now);
            publishes_.push_back(
                DisconnectedEvent(old->presence, DisconnectReason::kDuplicateClientId));
        }
        sessions_.erase(sessions_.find(input.client_id));
    }
    pending_kicks_.erase(std::string(input.client_id));
    Session session;
    session.key = input.session_key;
    session.certificate_id = identity.certificate_id.empty() ? input.certificate.certificate_id
                                                             : identity.certificate_id;
    session.principal = identity.principal;
    session.protocol_version = input.protocol_version;
    session.presence.client_id = input.client_id;
    session.presence.timestamp_ms = sim::ToEpochMillis(now);
    session.presence.session_identifier = random_.Uuid4();
    session.presence.principal_identifier = session.certificate_id;
    session.presence.version_number = ++versions_[input.client_id];
    if (settings_.lifecycle_events && HasLifecycleEvents(input.client_id)) {
        publishes_.push_back(ConnectedEvent(session.presence, input.source_ip));
    }
    result.certificate_id = session.certificate_id;
    sessions_.insert_or_assign(input.client_id, std::move(session));
    result.action = ConnectAction::kAccept;
    result.reason = "accepted";
    return result;
}

AclResult BrokerCore::Deny(Session& session, std::string reason, bool kick, DisconnectReason why) {
    AclResult result;
    result.reason = std::move(reason);
    result.kick = kick;
    if (kick) {
        QueueKick(session.presence.client_id, why);
    }
    return result;
}

AclResult BrokerCore::OnPublish(std::string_view client_id, std::string_view topic, int qos,
                                bool retain) {
    Session* session = Find(client_id);
    if (session == nullptr) {
        return {false, "no session", false};
    }
    // AWS IoT supports QoS 0/1 only; it sends no PUBACK for QoS 2 ('MQTT', "AWS IoT differences
    // from MQTT specifications").
    // Assumed: the connection is closed, as for other packets AWS does not accept. With the TLS
    // tap the connection is closed before mosquitto parses the packet (no PUBREC); this is the
    // rule without it.
    if (const auto v = CheckQos(qos); v != RuleViolation::kNone) {
        return Deny(*session, ToString(v), true, DisconnectReason::kClientError);
    }
    if (const auto v = CheckPublishTopic(topic); v != RuleViolation::kNone) {
        return Deny(*session, ToString(v), true, TopicRuleReason(v));
    }
    const bool v5 = session->protocol_version == 5;
    auto answer = Ask(*session->principal, Access::kPublish, topic);
    if (answer.allowed && retain) {
        // iot:RetainPublish is needed in addition to iot:Publish for RETAIN=1 ('AWS IoT Core
        // policy actions').
        answer =
            Ask(*session->principal, Access::kRetainPublish, topic);
        if (!answer.allowed) {
            answer.reason = Denied(Access::kRetainPublish, answer.reason);
        }
    } else if (!answer.allowed) {
        answer.reason = Denied(Access::kPublish, answer.reason);
    }
    if (!answer.allowed) {
        // MQTT 3.1.1: AWS closes the connection (AWS's answer in aws-iot-device-sdk-js issue #125);
        // MQTT 5: PUBACK 0x87.
        return Deny(*session, answer.reason, !v5, DisconnectReason::kAuthError);
    }
    return {true, {}, false};
}

AuthzAnswer BrokerCore::Ask(const Principal& principal, Access access, std::string_view name) {
    AuthzAnswer answer = view_.Authorize(principal, access, name, settings_.explain);
    if (!answer.allowed && !settings_.explain) {
        answer = view_.Authorize(principal, access, name, true);
    }
    return answer;
}

AclResult BrokerCore::OnSubscribe(std::string_view client_id, std::string_view filter, int qos,
                                  sim::TimePoint now, std::size_t filters_in_packet) {
    Session* session = Find(client_id);
    if (session == nullptr) {
        return {false, "no session", false};
    }
    if (const auto v = CheckFilterCount(filters_in_packet); v != RuleViolation::kNone) {
        // AWS IoT Core endpoints and quotas: at most 8 subscriptions per SUBSCRIBE.
        // Assumed: AWS's answer to a SUBSCRIBE with 9 or more filters is not documented; it is
        // a denied subscribe (MQTT 3.1.1: the connection is closed; MQTT 5: reason 0x87 for
        // every filter of the packet), reason too_many_filters.
        return Deny(*session, ToString(v), session->protocol_version != 5,
                    DisconnectReason::kClientError);
    }
    if (const auto v = CheckQos(qos); v != RuleViolation::kNone) {
        // AWS sends no SUBACK for QoS 2 ('MQTT'). Assumed: the connection is closed (before any
        // SUBACK with the TLS tap; without it mosquitto has already queued SUBACK 0x80).
        return Deny(*session, ToString(v), true, DisconnectReason::kClientError);
    }
    if (const auto v = CheckSubscribeFilter(filter); v != RuleViolation::kNone) {
        return Deny(*session, ToString(v), true, TopicRuleReason(v));
    }
    auto answer =
        Ask(*session->principal, Access::kSubscribe, filter);
    if (!answer.allowed) {
        return Deny(*session, Denied(Access::kSubscribe, answer.reason),
                    session->protocol_version != 5, DisconnectReason::kAuthError);
    }
    if (settings_.lifecycle_events && HasLifecycleEvents(session->presence.client_id)) {
        // Not emulated: AWS lists every filter of one SUBSCRIBE in one event; mosquitto asks
        // per filter, so each filter gets its own event.
        PresenceFields fields = session->presence;
        fields.timestamp_ms = sim::ToEpochMillis(now);
        publishes_.push_back(SubscriptionEvent(true, fields, {std::string(filter)}));
    }
    return {true, {}, false};
}

void BrokerCore::OnUnsubscribe(std::string_view client_id, std::string_view filter,
                               sim::TimePoint now) {
    Session* session = Find(client_id);
    if (session == nullptr || !settings_.lifecycle_events ||
        !HasLifecycleEvents(session->presence.client_id)) {
        return;
    }
    PresenceFields fields = session->presence;
    fields.timestamp_ms = sim::ToEpochMillis(now);
    publishes_.push_back(SubscriptionEvent(false, fields, {std::string(filter)}));
}

AclResult BrokerCore::OnReceive(std::string_view client_id, std::string_view topic) {
    Session* session = Find(client_id);
    if (session == nullptr) {
        return {false, "no session", false};
    }
    // iot:Receive is checked on every delivery; a denied message is silently not delivered.
    auto answer = Ask(*session->principal, Access::kReceive, topic);
    if (!answer.allowed) {
        return {false, Denied(Access::kReceive, answer.reason), false};
    }
    return {true, {}, false};
}

void BrokerCore::OnDisconnect(std::uint64_t session_key, std::string_view client_id,
                              DisconnectCause cause, sim::TimePoint now) {
    const auto it = sessions_.find(client_id);
    if (it == sessions_.end() || it->second.key != session_key) {
        return;  // never accepted, or superseded by a newer session with the same id
    }
    DisconnectReason reason = DisconnectReason::kServerError;
    if (const auto kick = pending_kicks_.find(client_id); kick != pending_kicks_.end()) {
        reason = kick->second;
        pending_kicks_.erase(kick);
    } else {
        switch (cause) {
            case DisconnectCause::kClientDisconnect:
                reason = DisconnectReason::kClientInitiatedDisconnect;
                break;
            case DisconnectCause::kConnectionLost:
                reason = DisconnectReason::kConnectionLost;
                break;
            case DisconnectCause::kKeepAliveTimeout:
                reason = DisconnectReason::kKeepAliveTimeout;
                break;
            case DisconnectCause::kProtocolError:
                reason = DisconnectReason::kClientError;
                break;
            case DisconnectCause::kAdministrative:
                reason = DisconnectReason::kServerInitiatedDisconnect;
                break;
            case DisconnectCause::kOther:
                reason = DisconnectReason::kServerError;
                break;
            case DisconnectCause::kUnknown:
                reason = DisconnectReason::kClientInitiatedDisconnect;
                break;
        }
    }
    if (settings_.lifecycle_events && HasLifecycleEvents(it->second.presence.client_id)) {
        PresenceFields fields = it->second.presence;
        fields.timestamp_ms = sim::ToEpochMillis(now);
        publishes_.push_back(DisconnectedEvent(fields, reason));
    }
    sessions_.erase(it);
}

void BrokerCore::PullViewEffects() {
    for (auto& effect : view_.TakeEffects()) {
        if (effect.kind == AccountEffect::Kind::kPublish) {
            publishes_.push_back({std::move(effect.topic), std::move(effect.payload)});
            continue;
        }
        // UpdateCertificate away from ACTIVE (AWS IoT API Reference, UpdateCertificate), or a claim
        // certificate expiring.
        for (const auto& [client_id, session] : sessions_) {
            if (session.certificate_id == effect.certificate_id) {
                QueueKick(client_id, DisconnectReason::kApiInitiatedDisconnect);
            }
        }
    }
}

void BrokerCore::Kick(std::string_view client_id, DisconnectReason reason) {
    if (Find(client_id) != nullptr) {
        QueueKick(std::string(client_id), reason);
    }
}

void BrokerCore::OnTick() {
    view_.Tick();
    PullViewEffects();
}

BrokerEffects BrokerCore::TakeEffects(bool drain_kicks) {
    PullViewEffects();
    BrokerEffects effects;
    effects.publishes.swap(publishes_);
    if (drain_kicks) {
        effects.kicks.swap(kick_queue_);
    }
    return effects;
}

}  // namespace sim::broker
