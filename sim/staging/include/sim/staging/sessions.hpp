// SPDX-License-Identifier: Apache-2.0
#pragma once
// The staging account's rules for the connections its broker accepted: which client is a
// staged module (whose presence the account records on its thing), which a claim-thing (whose
// publishes are judged as claims, claim.hpp), and what each event writes to the registry.
//
// Pure core: no I/O, clock, randomness or logging. Each function returns the registry write
// to make (an UpdateThingRequest) instead of making it; the caller applies it under its lock
// and reports a failure that IsExpectedRecordFailure does not excuse. Not thread-safe: one
// SessionTable per broker, used from the broker thread.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "sim/account/registry.hpp"
#include "sim/core/ports.hpp"
#include "sim/staging/claim.hpp"

namespace sim::staging {

enum class SessionKind {
    kOther,       ///< No thing, or a thing of another type: the staging rules ignore it.
    kModule,      ///< A staged module: thing type ExpressLinkModule.
    kClaimThing,  ///< An OEM's claim-thing: thing type ExpressLinkClaimThing.
};
std::string_view ToString(SessionKind kind) noexcept;

struct Session {
    std::string thing_name;  ///< The thing of the connection; empty when it has none.
    SessionKind kind = SessionKind::kOther;
    bool operator==(const Session&) const = default;
};

/// The session of a connection accepted with `certificate_id` and `client_id`: its thing is
/// Registry::ThingForConnection (the exclusively attached thing, else an attached thing named
/// by the client id), its kind that thing's type.
Session ClassifyConnection(const account::Registry& registry, std::string_view certificate_id,
                           std::string_view client_id);

/// The answer to a publish.
enum class ClaimCheck {
    kNotClaimThing,  ///< The client is not a claim-thing: the claim rules do not apply.
    kAccepted,       ///< A claim EvaluateClaim accepts.
    kRefused,        ///< A claim-thing's publish EvaluateClaim refuses.
};

struct ClaimOutcome {
    ClaimCheck check = ClaimCheck::kNotClaimThing;
    std::string reason;  ///< "claim refused: <EvaluateClaim's reason>" when refused.
    /// The claim record (ClaimRecord) to apply to the module's thing when accepted.
    std::optional<account::UpdateThingRequest> record;
};

/// The sessions of the connections a staging broker accepted, by client id.
class SessionTable {
public:
    /// Remembers `session` for `client_id` (replacing what the client id had). Returns the
    /// presence record "connected" for a module; nullopt for other kinds.
    std::optional<account::UpdateThingRequest> Accept(const std::string& client_id, Session session,
                                                      sim::TimePoint now);
    /// Forgets the session of `client_id`. Returns the presence record "disconnected" when it
    /// was a module's; nullopt for other kinds and for a client id without a session.
    std::optional<account::UpdateThingRequest> Disconnect(const std::string& client_id,
                                                          sim::TimePoint now);
    /// Judges a publish of `client_id`: kNotClaimThing unless its session is a claim-thing's;
    /// then EvaluateClaim(rules, ...) decides, and an accepted claim carries its record,
    /// claimedBy = the claim-thing's thing name, claimedAt = `now`.
    ClaimOutcome CheckClaim(const ClaimRules& rules, const std::string& client_id,
                            std::string_view topic, std::string_view payload, bool retain,
                            sim::TimePoint now) const;

    /// The session of `client_id`, or null.
    const Session* Find(const std::string& client_id) const;
    std::size_t size() const { return sessions_.size(); }

private:
    std::map<std::string, Session, std::less<>> sessions_;
};

/// True when a failed UpdateThing of a presence or claim record needs no report: the thing
/// does not exist (ResourceNotFoundException): deleted while its module was connected, or a
/// claim naming a module that was never staged (sim/staging/README.md row 1, the broker still
/// accepts the message). Any other failure is a fault to report.
bool IsExpectedRecordFailure(const account::AwsError& error);

}  // namespace sim::staging
