// SPDX-License-Identifier: Apache-2.0
#include "sim/staging/sessions.hpp"

#include <utility>

#include "sim/staging/staging.hpp"

namespace sim::staging {

std::string_view ToString(SessionKind kind) noexcept {
    switch (kind) {
        case SessionKind::kOther:
            return "other";
        case SessionKind::kModule:
            return "module";
        case SessionKind::kClaimThing:
            return "claim-thing";
    }
    return "other";
}

Session ClassifyConnection(const account::Registry& registry, std::string_view certificate_id,
                           std::string_view client_id) {
    Session session;
    const auto thing = registry.ThingForConnection(certificate_id, client_id);
    if (!thing) {
        return session;
    }
    session.thing_name = *thing;
    if (IsClaimThing(registry, *thing)) {
        session.kind = SessionKind::kClaimThing;
    } else if (const auto* found = registry.FindThing(*thing);
               found != nullptr && found->thing_type_name.value_or("") == kModuleThingType) {
        session.kind = SessionKind::kModule;
    }
    return session;
}

std::optional<account::UpdateThingRequest> SessionTable::Accept(const std::string& client_id,
                                                                Session session,
                                                                sim::TimePoint now) {
    std::optional<account::UpdateThingRequest> presence;
    if (session.kind == SessionKind::kModule) {
        presence = PresenceRecord(session.thing_name, true, now);
    }
    sessions_[client_id] = std::move(session);
    return presence;
}

std::optional<account::UpdateThingRequest> SessionTable::Disconnect(const std::string& client_id,
                                                                    sim::TimePoint now) {
    const auto it = sessions_.find(client_id);
    if (it == sessions_.end()) {
        return std::nullopt;
    }
    std::optional<account::UpdateThingRequest> presence;
    if (it->second.kind == SessionKind::kModule) {
        presence = PresenceRecord(it->second.thing_name, false, now);
    }
    sessions_.erase(it);
    return presence;
}

ClaimOutcome SessionTable::CheckClaim(const ClaimRules& rules, const std::string& client_id,
                                      std::string_view topic, std::string_view payload, bool retain,
                                      sim::TimePoint now) const {
    ClaimOutcome outcome;
    const Session* session = Find(client_id);
    if (session == nullptr || session->kind != SessionKind::kClaimThing) {
        return outcome;
    }
    const auto decision = EvaluateClaim(rules, topic, payload, retain);
    if (!decision.accepted) {
        outcome.check = ClaimCheck::kRefused;
        outcome.reason = "claim refused: " + decision.reason;
        return outcome;
    }
    outcome.check = ClaimCheck::kAccepted;
    outcome.record = ClaimRecord(decision, session->thing_name, now);
    return outcome;
}

const Session* SessionTable::Find(const std::string& client_id) const {
    const auto it = sessions_.find(client_id);
    return it == sessions_.end() ? nullptr : &it->second;
}

bool IsExpectedRecordFailure(const account::AwsError& error) {
    return error.type == account::error_type::kResourceNotFound;
}

}  // namespace sim::staging
