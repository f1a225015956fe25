// SPDX-License-Identifier: Apache-2.0
#pragma once
// The staging operator's view: per module, present (it has logged in at least once,
// so its thing exists), connected, and claimed (by which claim-thing UUID / OEM, to which
// endpoint, when). Built from the things of the staging registry, as read in-process or through
// the control plane's ListThings/DescribeThing. Pure.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sim::staging {

/// The fields of one thing the view needs (from account::Thing or from a ListThings reply).
struct ThingRecord {
    std::string thing_name;
    std::string thing_type_name;  ///< "" when none.
    std::map<std::string, std::string> attributes;
};

struct ClaimInfo {
    std::string claimed_by;  ///< Claim-thing UUID.
    std::string oem_name;    ///< "" when the UUID is not (or no longer) a registered claim-thing.
    std::string endpoint;    ///< host[:port]
    std::int64_t claimed_at = 0;  ///< Epoch milliseconds.
};

/// Where a module stands.
enum class ModuleStatus {
    kStaged,     ///< In staging, never claimed.
    kClaimed,    ///< Claimed and not seen in staging since (onboarding elsewhere).
    kReturned,   ///< Claimed, then logged in to staging again (FACTORY_RESET): claimable.
};
const char* ToString(ModuleStatus status) noexcept;

struct ModuleView {
    std::string thing_name;
    bool present = true;
    bool connected = false;
    std::optional<std::int64_t> connected_at;     ///< Epoch milliseconds of the last connect.
    std::optional<std::int64_t> disconnected_at;  ///< Epoch milliseconds of the last disconnect.
    std::optional<ClaimInfo> claim;               ///< The last accepted claim.
    ModuleStatus status = ModuleStatus::kStaged;
    bool operator==(const ModuleView&) const = default;
};

struct ClaimThingView {
    std::string uuid;
    std::string oem_name;
};

struct OperatorView {
    std::vector<ModuleView> modules;          ///< Sorted by thing name.
    std::vector<ClaimThingView> claim_things;  ///< Sorted by UUID.
};

/// Builds the view. Things of type ExpressLinkModule are modules, of type ExpressLinkClaimThing
/// claim-things; others are ignored. Malformed attribute values (non-numeric times) are
/// treated as absent. Status: kClaimed when claimedAt is set and no connect after it;
/// kReturned when a connect came after claimedAt; else kStaged.
OperatorView BuildOperatorView(const std::vector<ThingRecord>& things);

/// A fixed-width text table, one module per line, then the claim-things.
std::string RenderOperatorView(const OperatorView& view);

}  // namespace sim::staging
