// SPDX-License-Identifier: Apache-2.0
// The staging operator's view.
#include "sim/staging/operator_view.hpp"

#include <algorithm>
#include <charconv>
#include <sstream>

#include "sim/staging/staging.hpp"

namespace sim::staging {

namespace {

std::optional<std::int64_t> Millis(const std::map<std::string, std::string>& attributes,
                                   std::string_view name) {
    const auto found = attributes.find(std::string(name));
    if (found == attributes.end() || found->second.empty()) {
        return std::nullopt;
    }
    std::int64_t value = 0;
    const auto* begin = found->second.data();
    const auto* end = begin + found->second.size();
    const auto [ptr, ec] = std::from_chars(begin, end, value);
    if (ec != std::errc{} || ptr != end || value < 0) {
        return std::nullopt;
    }
    return value;
}

std::string Text(const std::map<std::string, std::string>& attributes, std::string_view name) {
    const auto found = attributes.find(std::string(name));
    return found == attributes.end() ? std::string{} : found->second;
}

}  // namespace

const char* ToString(ModuleStatus status) noexcept {
    switch (status) {
        case ModuleStatus::kStaged: return "staged";
        case ModuleStatus::kClaimed: return "claimed";
        case ModuleStatus::kReturned: return "returned";
    }
    return "unknown";
}

OperatorView BuildOperatorView(const std::vector<ThingRecord>& things) {
    OperatorView view;
    std::map<std::string, std::string> oem_of_uuid;
    for (const auto& thing : things) {
        if (thing.thing_type_name == kClaimThingType) {
            const std::string oem = Text(thing.attributes, attribute::kOemName);
            oem_of_uuid[thing.thing_name] = oem;
            view.claim_things.push_back(ClaimThingView{thing.thing_name, oem});
        }
    }
    for (const auto& thing : things) {
        if (thing.thing_type_name != kModuleThingType) {
            continue;
        }
        ModuleView module;
        module.thing_name = thing.thing_name;
        module.present = true;
        module.connected = Text(thing.attributes, attribute::kConnected) == "true";
        module.connected_at = Millis(thing.attributes, attribute::kConnectedAt);
        module.disconnected_at = Millis(thing.attributes, attribute::kDisconnectedAt);
        const std::string claimed_by = Text(thing.attributes, attribute::kClaimedBy);
        const auto claimed_at = Millis(thing.attributes, attribute::kClaimedAt);
        if (!claimed_by.empty() && claimed_at) {
            ClaimInfo claim;
            claim.claimed_by = claimed_by;
            const auto oem = oem_of_uuid.find(claimed_by);
            claim.oem_name = oem == oem_of_uuid.end() ? std::string{} : oem->second;
            claim.endpoint = Text(thing.attributes, attribute::kClaimedEndpoint);
            claim.claimed_at = *claimed_at;
            module.status = module.connected_at && *module.connected_at > *claimed_at
                                ? ModuleStatus::kReturned
                                : ModuleStatus::kClaimed;
            module.claim = std::move(claim);
        }
        view.modules.push_back(std::move(module));
    }
    std::sort(view.modules.begin(), view.modules.end(),
              [](const ModuleView& a, const ModuleView& b) { return a.thing_name < b.thing_name; });
    std::sort(view.claim_things.begin(), view.claim_things.end(),
              [](const ClaimThingView& a, const ClaimThingView& b) { return a.uuid < b.uuid; });
    return view;
}

std::string RenderOperatorView(const OperatorView& view) {
    std::ostringstream out;
    out << "modules: " << view.modules.size() << "\n";
    for (const auto& module : view.modules) {
        out << "  " << module.thing_name << "  " << (module.connected ? "connected" : "offline")
            << "  " << ToString(module.status);
        if (module.claim) {
            out << "  by=" << module.claim->claimed_by;
            if (!module.claim->oem_name.empty()) {
                out << " (" << module.claim->oem_name << ")";
            }
            out << " endpoint=" << module.claim->endpoint
                << " at_ms=" << module.claim->claimed_at;
        }
        out << "\n";
    }
    out << "claim-things: " << view.claim_things.size() << "\n";
    for (const auto& claim_thing : view.claim_things) {
        out << "  " << claim_thing.uuid << "  " << claim_thing.oem_name << "\n";
    }
    return out.str();
}

}  // namespace sim::staging
