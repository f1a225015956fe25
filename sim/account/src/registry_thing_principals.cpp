// SPDX-License-Identifier: Apache-2.0
// The registry's thing principal operations: AttachThingPrincipal, DetachThingPrincipal,
// ListThingPrincipals, ListPrincipalThings (AWS IoT API Reference).
//
// Every mutating operation follows the order registry.cpp describes: validate, look up, check
// the state rules, and only then mutate, MarkChanged() and queue effects.

#include <algorithm>
#include <chrono>
#include <utility>

#include "registry_internal.hpp"

#include "sim/account/registry.hpp"

namespace sim::account {

// ---- Thing principals --------------------------------------------------------------------------

AwsStatus Registry::AttachThingPrincipal(std::string_view thing_name, std::string_view principal,
                                         std::optional<std::string> thing_principal_type) {
    ThingPrincipalType type = ThingPrincipalType::kNonExclusiveThing;
    if (thing_principal_type) {
        const auto parsed = ParseThingPrincipalType(*thing_principal_type);
        if (!parsed) {
            return Fail(error_type::kInvalidRequest,
                        "thingPrincipalType: expected EXCLUSIVE_THING or NON_EXCLUSIVE_THING");
        }
        type = *parsed;
    }
    if (auto thing = internal::ExistingThing(*this, thing_name); !thing) {
        return sim::Unexpected<AwsError>(thing.error());
    }
    auto cert = CertificateFromPrincipal(principal);
    if (!cert) {
        return sim::Unexpected<AwsError>(cert.error());
    }
    const std::string arn = (*cert)->certificate_arn;
    // exclusive-thing.md: an exclusively attached principal has exactly one thing.
    for (const auto& entry : thing_principals_.WithSecond(arn)) {
        const auto& [key, existing_type] = *entry;
        if (key.first == thing_name) {
            continue;
        }
        if (existing_type == ThingPrincipalType::kExclusiveThing) {
            return Fail(error_type::kInvalidRequest,
                        "principal: exclusively attached to thing " + key.first);
        }
        if (type == ThingPrincipalType::kExclusiveThing) {
            return Fail(error_type::kInvalidRequest,
                        "thingPrincipalType: EXCLUSIVE_THING, but the principal is attached to "
                        "thing " +
                            key.first);
        }
    }
    const auto key = std::make_pair(std::string(thing_name), arn);
    const auto existing = thing_principals_.find(key);
    if (existing != thing_principals_.end() && existing->second == type) {
        return {};
    }
    thing_principals_.assign(key, type);
    MarkChanged("thing_principal", key.first + "\n" + key.second);
    return {};
}

AwsStatus Registry::DetachThingPrincipal(std::string_view thing_name, std::string_view principal) {
    if (auto thing = internal::ExistingThing(*this, thing_name); !thing) {
        return sim::Unexpected<AwsError>(thing.error());
    }
    auto cert = CertificateFromPrincipal(principal);
    if (!cert) {
        return sim::Unexpected<AwsError>(cert.error());
    }
    const auto key = std::make_pair(std::string(thing_name), (*cert)->certificate_arn);
    if (thing_principals_.erase(key) > 0) {
        MarkChanged("thing_principal", key.first + "\n" + key.second);
    }
    return {};
}

AwsResult<NamesPage> Registry::ListThingPrincipals(std::string_view thing_name,
                                                   const PageRequest& page) const {
    auto window = internal::ReadPage(page, "maxResults", "nextToken", true);
    if (!window) {
        return sim::Unexpected<AwsError>(window.error());
    }
    if (things_.count(thing_name) == 0) {
        return Fail(error_type::kResourceNotFound,
                    "thing " + std::string(thing_name) + " does not exist");
    }
    std::vector<std::pair<std::string, std::string>> sorted;
    for (const auto& [key, type] : thing_principals_) {
        if (key.first == thing_name) {
            sorted.emplace_back(key.second, key.second);
        }
    }
    auto [items, next] = internal::TakePage(std::move(sorted), *window);
    return NamesPage{std::move(items), std::move(next)};
}

AwsResult<NamesPage> Registry::ListPrincipalThings(std::string_view principal,
                                                   const PageRequest& page) const {
    auto window = internal::ReadPage(page, "maxResults", "nextToken", true);
    if (!window) {
        return sim::Unexpected<AwsError>(window.error());
    }
    auto cert = CertificateFromPrincipal(principal);
    if (!cert) {
        return sim::Unexpected<AwsError>(cert.error());
    }
    std::vector<std::pair<std::string, std::string>> sorted;
    for (const auto& entry : thing_principals_.WithSecond((*cert)->certificate_arn)) {
        sorted.emplace_back(entry->first.first, entry->first.first);
    }
    auto [items, next] = internal::TakePage(std::move(sorted), *window);
    return NamesPage{std::move(items), std::move(next)};
}

}  // namespace sim::account
