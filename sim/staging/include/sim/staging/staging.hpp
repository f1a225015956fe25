// SPDX-License-Identifier: Apache-2.0
#pragma once
// The staging account (ExpressLink Programmer's Guide 12.1): names, the two policy documents, and
// the one-time set-up of a staging account's registry.
//
// Pure core: no I/O, clock, randomness or logging. Functions taking a Registry& mutate only
// that registry (the caller serialises access and persists Registry::TakeChanges()).
//
// Conventions chosen here (sim/staging/README.md):
//  - A module's thing is named by its ThingName, has thing type "ExpressLinkModule" and the
//    staging policy attached to its birth certificate (non-exclusive; the module connects with
//    client id = ThingName, so ${iot:Connection.Thing.ThingName} resolves).
//  - An OEM's claim-thing is named by its UUID, has thing type "ExpressLinkClaimThing" and
//    the claim policy attached to its certificate; it connects with client id = UUID.

#include <string>
#include <string_view>

#include "pki/certificate.hpp"
#include "sim/account/registry.hpp"
#include "sim/core/result.hpp"

namespace sim::staging {

inline constexpr std::string_view kStagingPolicyName = "ExpressLinkStagingPolicy";
inline constexpr std::string_view kClaimPolicyName = "ExpressLinkClaimThingPolicy";
inline constexpr std::string_view kModuleThingType = "ExpressLinkModule";
inline constexpr std::string_view kClaimThingType = "ExpressLinkClaimThing";
/// The one topic a staged module subscribes to is "<ThingName>" + this (PG-PROV 12.3.2).
inline constexpr std::string_view kConfigTopicSuffix = "/expresslink_config";

/// Thing attributes the staging account keeps (values are AWS attribute-value safe).
namespace attribute {
inline constexpr std::string_view kOemName = "oemName";             ///< claim-thing: OEM name
inline constexpr std::string_view kConnected = "connected";         ///< module: "true"/"false"
inline constexpr std::string_view kConnectedAt = "connectedAt";     ///< epoch milliseconds
inline constexpr std::string_view kDisconnectedAt = "disconnectedAt";  ///< epoch milliseconds
inline constexpr std::string_view kClaimedBy = "claimedBy";         ///< claim-thing UUID
inline constexpr std::string_view kClaimedEndpoint = "claimedEndpoint";  ///< host[:port]
inline constexpr std::string_view kClaimedAt = "claimedAt";         ///< epoch milliseconds
}  // namespace attribute

/// "<thing_name>/expresslink_config".
std::string ConfigTopic(std::string_view thing_name);

/// The staging policy (the "ExpressLink template" policy, PG-PROV 12.1.4) for one account: connect
/// only as client/${iot:Connection.Thing.ThingName}; publish, receive and subscribe only on
/// "<ThingName>" and "<ThingName>/..." (which includes <ThingName>/expresslink_config) and on the
/// thing's reserved jobs/streams topics ($aws/things/<ThingName>/jobs|streams/...). Assumed:
/// "begins with its ThingName" means the first topic level equals the ThingName (a bare string
/// prefix would let thing "AB" reach "ABC/..."); no retained publishes.
std::string StagingPolicyDocument(std::string_view region, std::string_view account_id);

/// The claim-thing policy: connect only as client/${iot:Connection.Thing.ThingName} (the
/// UUID); publish only on topic/*/expresslink_config (not retained); subscribe to and receive
/// the presence lifecycle events $aws/events/presence/{connected,disconnected}/* so that a
/// claim script can watch the module leave. Assumed: the real claim-thing's rights beyond
/// "publish configuration messages" are not public (OEM guide, Appendix D).
std::string ClaimThingPolicyDocument(std::string_view region, std::string_view account_id);

/// Makes `registry` a staging account trusting `manufacturer_ca` (idempotent): thing types
/// ExpressLinkModule and ExpressLinkClaimThing, the two policies, and the manufacturer CA
/// registered ACTIVE in SNI_ONLY mode with auto-registration DISABLE (first login is done by
/// ApplyFirstLogin, not by JITR/JITP, see first_login.hpp). Errors: the registry's AwsError,
/// with the step named ("CreatePolicy ExpressLinkStagingPolicy: ..."); steps already done
/// stay done (each step is itself all-or-nothing and re-running completes the set-up).
account::AwsStatus SetUpStagingAccount(account::Registry& registry,
                                       const pki::CertificateInfo& manufacturer_ca);

/// True when `thing_name` names a registered claim-thing (thing type ExpressLinkClaimThing).
bool IsClaimThing(const account::Registry& registry, std::string_view thing_name);

}  // namespace sim::staging
