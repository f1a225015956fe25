// SPDX-License-Identifier: Apache-2.0
// The registry: construction, lookups, the registration code, endpoint and event
// configurations. The operations on each resource live beside it, grouped as the control-plane
// router groups them: registry_cas.cpp, registry_certificates.cpp, registry_things.cpp,
// registry_thing_principals.cpp, registry_policies.cpp, registry_templates.cpp; provisioning
// (RunTemplate, JITR/JITP, fleet provisioning) in registry_provisioning.cpp.
//
// Every mutating operation follows the same order: validate the input (InvalidRequest), look
// up what it refers to (ResourceNotFound), check the state rules (CertificateState,
// DeleteConflict, LimitExceeded, ...), and only then mutate, MarkChanged() and queue effects.
// Nothing returns an error after the first mutation, which is what makes every operation
// all-or-nothing without copying state.

#include "sim/account/registry.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <type_traits>
#include <utility>

#include "registry_internal.hpp"

namespace sim::account {

using internal::NormaliseCertificateId;

// ---- DefaultModeCaIndex ------------------------------------------------------------------------

bool InMemoryDefaultModeCaIndex::TryClaim(std::string_view region,
                                          std::string_view ca_certificate_id,
                                          std::string_view account_id) {
    const std::string key = std::string(region) + "/" + std::string(ca_certificate_id);
    const auto [it, inserted] = owners_.emplace(key, std::string(account_id));
    return inserted || it->second == account_id;
}

void InMemoryDefaultModeCaIndex::Release(std::string_view region,
                                         std::string_view ca_certificate_id,
                                         std::string_view account_id) {
    const std::string key = std::string(region) + "/" + std::string(ca_certificate_id);
    if (const auto it = owners_.find(key); it != owners_.end() && it->second == account_id) {
        owners_.erase(it);
    }
}

// ---- Construction and small helpers ------------------------------------------------------------

Registry::Registry(AccountSettings settings, const sim::Clock& clock, sim::Random& random,
                   DefaultModeCaIndex* default_mode_index)
    : settings_(std::move(settings)),
      clock_(clock),
      random_(random),
      default_mode_index_(default_mode_index),
      event_configurations_{
          {"THING", false},
          {"THING_GROUP", false},
          {"THING_TYPE", false},
          {"THING_GROUP_MEMBERSHIP", false},
          {"THING_GROUP_HIERARCHY", false},
          {"THING_TYPE_ASSOCIATION", false},
          {"JOB", false},
          {"JOB_EXECUTION", false},
          {"POLICY", false},
          {"CERTIFICATE", false},
          // Assumed: enabled by default, since JITR works without touching it.
          {"CA_CERTIFICATE", true},
      } {}

void Registry::MarkChanged(std::string_view kind, std::string_view key) {
    changed_.emplace(std::string(kind), std::string(key));
}

std::string Registry::NewGenerationId() { return random_.Uuid4(); }

AwsResult<const Certificate*> Registry::CertificateFromPrincipal(std::string_view principal) const {
    const std::string prefix = CertificateArn(settings_, "");
    if (principal.rfind(prefix, 0) != 0) {
        // Not emulated: Cognito identities, IAM and thing-group targets.
        return Fail(error_type::kInvalidRequest,
                    "principal: expected a certificate ARN of this account (" + prefix +
                        "<certificateId>), got \"" + std::string(principal) + "\"");
    }
    auto id = NormaliseCertificateId(principal.substr(prefix.size()), "principal");
    if (!id) {
        return sim::Unexpected<AwsError>(id.error());
    }
    const auto it = certificates_.find(*id);
    if (it == certificates_.end()) {
        return Fail(error_type::kResourceNotFound,
                    "principal: certificate " + *id + " does not exist");
    }
    return &it->second;
}

void Registry::PublishThingEvent(const Thing& thing, std::string_view operation) {
    // registry-events.md: off unless UpdateEventConfigurations enabled THING.
    if (!event_configurations_["THING"]) {
        return;
    }
    nlohmann::json payload = {
        {"eventType", "THING_EVENT"},
        {"eventId", random_.Hex(16)},
        {"timestamp", sim::ToEpochMillis(clock_.Now())},
        {"operation", operation},
        {"accountId", settings_.account_id},
        {"thingId", thing.thing_id},
        {"thingName", thing.thing_name},
        {"versionNumber", thing.version},
        {"thingTypeName",
         thing.thing_type_name ? nlohmann::json(*thing.thing_type_name) : nlohmann::json(nullptr)},
        {"attributes", thing.attributes},
    };
    // Topic suffix lowercase (created|updated|deleted), payload operation uppercase.
    std::string suffix(operation);
    std::transform(suffix.begin(), suffix.end(), suffix.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    effects_.push_back(Effect{Effect::Kind::kPublish,
                              "$aws/events/thing/" + thing.thing_name + "/" + suffix,
                              payload.dump(),
                              {}});
}

const CaCertificate* Registry::FindCaCertificate(std::string_view ca_certificate_id) const {
    const auto it = cas_.find(ca_certificate_id);
    return it == cas_.end() ? nullptr : &it->second;
}
const Certificate* Registry::FindCertificate(std::string_view certificate_id) const {
    const auto it = certificates_.find(certificate_id);
    return it == certificates_.end() ? nullptr : &it->second;
}
const Thing* Registry::FindThing(std::string_view thing_name) const {
    const auto it = things_.find(thing_name);
    return it == things_.end() ? nullptr : &it->second;
}
const Policy* Registry::FindPolicy(std::string_view policy_name) const {
    const auto it = policies_.find(policy_name);
    return it == policies_.end() ? nullptr : &it->second;
}
const ProvisioningTemplate* Registry::FindProvisioningTemplate(
    std::string_view template_name) const {
    const auto it = templates_.find(template_name);
    return it == templates_.end() ? nullptr : &it->second;
}

void Registry::NoteClaimExpiry(TimePoint expiry) {
    if (!next_claim_expiry_ || expiry < *next_claim_expiry_) {
        next_claim_expiry_ = expiry;
    }
}

std::vector<std::string> Registry::PoliciesOfCertificate(std::string_view certificate_id) const {
    const std::string arn = CertificateArn(settings_, certificate_id);
    std::vector<std::string> out;
    for (const auto& entry : policy_targets_.WithSecond(arn)) {
        out.push_back(entry->first.first);
    }
    return out;
}

std::optional<std::string> Registry::ThingForConnection(std::string_view certificate_id,
                                                        std::string_view client_id) const {
    // AWS IoT Core Developer Guide, 'Thing policy variables': the exclusively attached thing, else
    // the attached thing whose name equals the client id.
    const std::string arn = CertificateArn(settings_, certificate_id);
    std::optional<std::string> by_client_id;
    for (const auto& entry : thing_principals_.WithSecond(arn)) {
        const auto& [key, type] = *entry;
        if (type == ThingPrincipalType::kExclusiveThing) {
            return key.first;
        }
        if (key.first == client_id) {
            by_client_id = key.first;
        }
    }
    return by_client_id;
}

// ---- Registration code, endpoint, event configurations -----------------------------------------

AwsResult<std::string> Registry::GetRegistrationCode() {
    if (!registration_code_) {
        registration_code_ = random_.Hex(32);  // 64 hex characters, like AWS's codes
        MarkChanged("registration_code", "");
    }
    return *registration_code_;
}

AwsStatus Registry::DeleteRegistrationCode() {
    if (!registration_code_) {
        return Fail(error_type::kResourceNotFound, "registration code: none exists");
    }
    registration_code_.reset();
    MarkChanged("registration_code", "");
    return {};
}

void Registry::TagResource(const std::string& arn,
                           const std::map<std::string, std::string>& tags) {
    for (const auto& [key, value] : tags) {
        tags_[arn][key] = value;
    }
}

void Registry::UntagResource(const std::string& arn, const std::vector<std::string>& keys) {
    auto it = tags_.find(arn);
    if (it == tags_.end()) {
        return;
    }
    for (const auto& key : keys) {
        it->second.erase(key);
    }
}

std::map<std::string, std::string> Registry::ListTagsForResource(const std::string& arn) const {
    auto it = tags_.find(arn);
    return it == tags_.end() ? std::map<std::string, std::string>{} : it->second;
}

AwsResult<std::string> Registry::DescribeEndpoint(
    const std::optional<std::string>& endpoint_type) const {
    const std::string tail = ".iot." + settings_.region + "." + settings_.domain;
    if (!endpoint_type || *endpoint_type == "iot:Data") {
        return settings_.endpoint_prefix + tail;
    }
    if (*endpoint_type == "iot:Data-ATS") {
        return settings_.endpoint_prefix + "-ats" + tail;
    }
    if (*endpoint_type == "iot:CredentialProvider") {
        return settings_.endpoint_prefix + ".credentials" + tail;
    }
    if (*endpoint_type == "iot:Jobs") {
        return settings_.endpoint_prefix + ".jobs" + tail;
    }
    return Fail(error_type::kInvalidRequest,
                "endpointType: expected iot:Data, iot:Data-ATS, iot:CredentialProvider or "
                "iot:Jobs, got \"" +
                    *endpoint_type + "\"");
}

std::map<std::string, bool> Registry::DescribeEventConfigurations() const {
    return event_configurations_;
}

AwsStatus Registry::UpdateEventConfigurations(const std::map<std::string, bool>& configurations) {
    for (const auto& [type, enabled] : configurations) {
        if (event_configurations_.count(type) == 0) {
            return Fail(error_type::kInvalidRequest,
                        "eventConfigurations: unknown event type \"" + type + "\"");
        }
    }
    for (const auto& [type, enabled] : configurations) {
        event_configurations_[type] = enabled;
    }
    if (!configurations.empty()) {
        MarkChanged("event_configurations", "");
    }
    return {};
}

std::vector<Effect> Registry::TakeEffects() {
    std::vector<Effect> out;
    out.swap(effects_);
    return out;
}

}  // namespace sim::account
