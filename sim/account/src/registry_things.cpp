// SPDX-License-Identifier: Apache-2.0
// The registry's thing and thing type operations: CreateThing, DescribeThing, UpdateThing,
// ListThings, DeleteThing, CreateThingType, DescribeThingType (AWS IoT API Reference).
//
// Every mutating operation follows the order registry.cpp describes: validate, look up, check
// the state rules, and only then mutate, MarkChanged() and queue effects.

#include <algorithm>
#include <chrono>
#include <utility>

#include "registry_internal.hpp"

#include "sim/account/registry.hpp"

namespace sim::account {

// ---- Things and thing types --------------------------------------------------------------------

AwsResult<CreateThingResponse> Registry::CreateThing(const CreateThingRequest& request) {
    if (!internal::IsThingName(request.thing_name)) {
        return Fail(error_type::kInvalidRequest,
                    "thingName: must be 1-128 characters of [a-zA-Z0-9:_-]");
    }
    const auto attributes = request.attributes.value_or(std::map<std::string, std::string>{});
    if (auto valid = internal::ValidateAttributes(attributes, request.thing_type_name.has_value());
        !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    if (request.thing_type_name && thing_types_.count(*request.thing_type_name) == 0) {
        return Fail(error_type::kResourceNotFound,
                    "thingTypeName: thing type " + *request.thing_type_name + " does not exist");
    }
    if (request.billing_group_name) {
        // Not emulated: billing groups; none exists, so naming one fails as AWS would.
        return Fail(
            error_type::kResourceNotFound,
            "billingGroupName: billing group " + *request.billing_group_name + " does not exist");
    }
    if (const auto existing = things_.find(request.thing_name); existing != things_.end()) {
        const Thing& thing = existing->second;
        // Idempotent for identical configuration (AWS IoT API Reference, CreateThing).
        if (thing.thing_type_name == request.thing_type_name && thing.attributes == attributes &&
            thing.billing_group_name == request.billing_group_name) {
            return CreateThingResponse{thing.thing_name, thing.thing_arn, thing.thing_id};
        }
        AwsError error{std::string(error_type::kResourceAlreadyExists),
                       "thingName: thing " + thing.thing_name +
                           " already exists with a different configuration",
                       thing.thing_id, thing.thing_arn};
        return sim::Unexpected<AwsError>(std::move(error));
    }
    Thing thing;
    thing.thing_name = request.thing_name;
    thing.thing_arn = ThingArn(settings_, thing.thing_name);
    thing.thing_id = random_.Uuid4();
    thing.thing_type_name = request.thing_type_name;
    thing.attributes = attributes;
    thing.version = 1;
    CreateThingResponse response{thing.thing_name, thing.thing_arn, thing.thing_id};
    MarkChanged("thing", thing.thing_name);
    PublishThingEvent(thing, "CREATED");
    things_.emplace(thing.thing_name, std::move(thing));
    return response;
}

AwsResult<Thing> Registry::DescribeThing(std::string_view thing_name) const {
    auto thing = internal::ExistingThing(*this, thing_name);
    if (!thing) {
        return sim::Unexpected<AwsError>(thing.error());
    }
    return **thing;
}

AwsStatus Registry::UpdateThing(const UpdateThingRequest& request) {
    if (!internal::IsThingName(request.thing_name)) {
        return Fail(error_type::kInvalidRequest,
                    "thingName: must be 1-128 characters of [a-zA-Z0-9:_-]");
    }
    if (request.remove_thing_type && request.thing_type_name) {
        return Fail(error_type::kInvalidRequest,
                    "removeThingType: cannot be combined with thingTypeName");
    }
    const auto it = things_.find(request.thing_name);
    if (it == things_.end()) {
        return Fail(error_type::kResourceNotFound,
                    "thing " + request.thing_name + " does not exist");
    }
    const Thing& current = it->second;
    if (request.expected_version && *request.expected_version != current.version) {
        return Fail(error_type::kVersionConflict, "expectedVersion: thing " + current.thing_name +
                                                      " is at version " +
                                                      std::to_string(current.version));
    }
    if (request.thing_type_name && thing_types_.count(*request.thing_type_name) == 0) {
        return Fail(error_type::kResourceNotFound,
                    "thingTypeName: thing type " + *request.thing_type_name + " does not exist");
    }
    Thing updated = current;
    if (request.thing_type_name) {
        updated.thing_type_name = request.thing_type_name;
    }
    if (request.remove_thing_type) {
        updated.thing_type_name.reset();
    }
    if (request.attributes) {
        if (!request.merge) {
            updated.attributes.clear();
        }
        // An empty value removes the attribute (UpdateThing attributePayload doc).
        for (const auto& [name, value] : *request.attributes) {
            if (value.empty()) {
                updated.attributes.erase(name);
            } else {
                updated.attributes[name] = value;
            }
        }
    }
    if (auto valid =
            internal::ValidateAttributes(updated.attributes, updated.thing_type_name.has_value());
        !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    ++updated.version;
    it->second = std::move(updated);
    MarkChanged("thing", request.thing_name);
    PublishThingEvent(it->second, "UPDATED");
    return {};
}

AwsResult<ListThingsResponse> Registry::ListThings(const ListThingsRequest& request) const {
    auto window = internal::ReadPage(request.page, "maxResults", "nextToken", true);
    if (!window) {
        return sim::Unexpected<AwsError>(window.error());
    }
    if (request.attribute_value && !request.attribute_name) {
        return Fail(error_type::kInvalidRequest, "attributeValue: needs attributeName");
    }
    std::vector<std::pair<std::string, Thing>> sorted;
    for (const auto& [name, thing] : things_) {
        if (request.thing_type_name && thing.thing_type_name != request.thing_type_name) {
            continue;
        }
        if (request.attribute_name) {
            const auto attribute = thing.attributes.find(*request.attribute_name);
            if (attribute == thing.attributes.end()) {
                continue;
            }
            if (request.attribute_value) {
                const bool match = request.use_prefix_attribute_value
                                       ? attribute->second.rfind(*request.attribute_value, 0) == 0
                                       : attribute->second == *request.attribute_value;
                if (!match) {
                    continue;
                }
            }
        }
        sorted.emplace_back(name, thing);
    }
    auto [items, next] = internal::TakePage(std::move(sorted), *window);
    return ListThingsResponse{std::move(items), std::move(next)};
}

AwsStatus Registry::DeleteThing(std::string_view thing_name,
                                std::optional<std::int64_t> expected_version) {
    if (!internal::IsThingName(thing_name)) {
        return Fail(error_type::kInvalidRequest,
                    "thingName: must be 1-128 characters of [a-zA-Z0-9:_-]");
    }
    const auto it = things_.find(thing_name);
    if (it == things_.end()) {
        return {};  // succeeds silently (AWS IoT API Reference, DeleteThing)
    }
    if (expected_version && *expected_version != it->second.version) {
        return Fail(error_type::kVersionConflict, "expectedVersion: thing " +
                                                      it->second.thing_name + " is at version " +
                                                      std::to_string(it->second.version));
    }
    for (const auto& [key, type] : thing_principals_) {
        if (key.first == thing_name) {
            // moto's message (moto/iot/exceptions.py); AWS does not document one.
            return Fail(error_type::kInvalidRequest,
                        "Cannot delete. Thing " + it->second.thing_name +
                            " is still attached to one or more principals");
        }
    }
    const Thing removed = it->second;
    things_.erase(it);
    MarkChanged("thing", removed.thing_name);
    PublishThingEvent(removed, "DELETED");
    return {};
}

AwsResult<CreateThingTypeResponse> Registry::CreateThingType(
    const CreateThingTypeRequest& request) {
    if (!internal::IsThingName(request.thing_type_name)) {
        return Fail(error_type::kInvalidRequest,
                    "thingTypeName: must be 1-128 characters of [a-zA-Z0-9:_-]");
    }
    if (request.description && request.description->size() > 2028) {
        return Fail(error_type::kInvalidRequest,
                    "thingTypeProperties.thingTypeDescription: at most 2028 characters");
    }
    if (request.searchable_attributes.size() > 3) {
        return Fail(error_type::kInvalidRequest,
                    "thingTypeProperties.searchableAttributes: at most 3");
    }
    for (const auto& attribute : request.searchable_attributes) {
        if (!internal::IsAttributeName(attribute)) {
            return Fail(
                error_type::kInvalidRequest,
                "thingTypeProperties.searchableAttributes: invalid name \"" + attribute + "\"");
        }
    }
    if (const auto existing = thing_types_.find(request.thing_type_name);
        existing != thing_types_.end()) {
        const ThingType& type = existing->second;
        if (type.description == request.description &&
            type.searchable_attributes == request.searchable_attributes) {
            return CreateThingTypeResponse{type.thing_type_name, type.thing_type_arn,
                                           type.thing_type_id};
        }
        AwsError error{std::string(error_type::kResourceAlreadyExists),
                       "thingTypeName: thing type " + type.thing_type_name + " already exists",
                       type.thing_type_id, type.thing_type_arn};
        return sim::Unexpected<AwsError>(std::move(error));
    }
    ThingType type;
    type.thing_type_name = request.thing_type_name;
    type.thing_type_arn = ThingTypeArn(settings_, type.thing_type_name);
    type.thing_type_id = random_.Uuid4();
    type.description = request.description;
    type.searchable_attributes = request.searchable_attributes;
    type.creation_date = clock_.Now();
    CreateThingTypeResponse response{type.thing_type_name, type.thing_type_arn, type.thing_type_id};
    MarkChanged("thing_type", type.thing_type_name);
    thing_types_.emplace(type.thing_type_name, std::move(type));
    return response;
}

AwsResult<ThingType> Registry::DescribeThingType(std::string_view thing_type_name) const {
    const auto it = thing_types_.find(thing_type_name);
    if (it == thing_types_.end()) {
        return Fail(error_type::kResourceNotFound,
                    "thing type " + std::string(thing_type_name) + " does not exist");
    }
    return it->second;
}

}  // namespace sim::account
