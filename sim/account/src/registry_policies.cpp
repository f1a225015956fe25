// SPDX-License-Identifier: Apache-2.0
// The registry's policy operations: policies and their versions, attachments to
// certificates, and the effective policies of a connection (AWS IoT API Reference; AWS IoT
// Core Developer Guide, 'AWS IoT Core policies').
//
// Every mutating operation follows the order registry.cpp describes: validate, look up, check
// the state rules, and only then mutate, MarkChanged() and queue effects.

#include <algorithm>
#include <chrono>
#include <utility>

#include "registry_internal.hpp"

#include "sim/account/registry.hpp"

namespace sim::account {

// ---- Policies ----------------------------------------------------------------------------------

namespace {

AwsStatus CheckPolicyName(std::string_view name) {
    if (!internal::IsPolicyName(name)) {
        return Fail(error_type::kInvalidRequest,
                    "policyName: must be 1-128 characters of [a-zA-Z0-9_+=,.@-]");
    }
    return {};
}

// The policy a policy operation names: InvalidRequest for a malformed name, ResourceNotFound
// for an unknown one.
AwsResult<const Policy*> ExistingPolicy(const Registry& registry, std::string_view policy_name) {
    if (auto valid = CheckPolicyName(policy_name); !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    const auto* policy = registry.FindPolicy(policy_name);
    if (policy == nullptr) {
        return Fail(error_type::kResourceNotFound,
                    "policy " + std::string(policy_name) + " does not exist");
    }
    return policy;
}

}  // namespace

AwsResult<CreatePolicyResponse> Registry::CreatePolicy(std::string_view policy_name,
                                                       std::string_view policy_document) {
    if (auto valid = CheckPolicyName(policy_name); !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    if (auto valid = internal::ValidatePolicyDocument(policy_document); !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    if (const auto existing = policies_.find(policy_name); existing != policies_.end()) {
        AwsError error{std::string(error_type::kResourceAlreadyExists),
                       "policyName: policy " + std::string(policy_name) + " already exists",
                       std::string(policy_name), existing->second.policy_arn};
        return sim::Unexpected<AwsError>(std::move(error));
    }
    const TimePoint now = clock_.Now();
    Policy policy;
    policy.policy_name = std::string(policy_name);
    policy.policy_arn = PolicyArn(settings_, policy_name);
    policy.versions.push_back(PolicyVersion{"1", std::string(policy_document), now});
    policy.default_version_id = "1";
    policy.next_version_id = 2;
    policy.creation_date = now;
    policy.last_modified_date = now;
    policy.generation_id = NewGenerationId();
    CreatePolicyResponse response{policy.policy_name, policy.policy_arn,
                                  std::string(policy_document), "1"};
    MarkChanged("policy", policy.policy_name);
    policies_.emplace(policy.policy_name, std::move(policy));
    return response;
}

AwsResult<GetPolicyResponse> Registry::GetPolicy(std::string_view policy_name) const {
    auto found = ExistingPolicy(*this, policy_name);
    if (!found) {
        return sim::Unexpected<AwsError>(found.error());
    }
    const Policy* policy = *found;
    return GetPolicyResponse{policy->policy_name,       policy->policy_arn,
                             policy->DefaultDocument(), policy->default_version_id,
                             policy->creation_date,     policy->last_modified_date,
                             policy->generation_id};
}

AwsStatus Registry::DeletePolicy(std::string_view policy_name) {
    if (auto valid = CheckPolicyName(policy_name); !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    const auto it = policies_.find(policy_name);
    if (it == policies_.end()) {
        return Fail(error_type::kResourceNotFound,
                    "policy " + std::string(policy_name) + " does not exist");
    }
    for (const auto& [pair, attached] : policy_targets_) {
        if (pair.first == policy_name) {
            return Fail(error_type::kDeleteConflict,
                        internal::StrCat({"policy ", pair.first, " is attached to ", pair.second}));
        }
    }
    if (it->second.versions.size() > 1) {
        return Fail(
            error_type::kDeleteConflict,
            "policy " + std::string(policy_name) + " has non-default versions; delete them first");
    }
    policies_.erase(it);
    MarkChanged("policy", policy_name);
    return {};
}

AwsResult<PolicyVersionResponse> Registry::CreatePolicyVersion(std::string_view policy_name,
                                                               std::string_view policy_document,
                                                               bool set_as_default) {
    if (auto valid = CheckPolicyName(policy_name); !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    if (auto valid = internal::ValidatePolicyDocument(policy_document); !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    const auto it = policies_.find(policy_name);
    if (it == policies_.end()) {
        return Fail(error_type::kResourceNotFound,
                    "policy " + std::string(policy_name) + " does not exist");
    }
    Policy& policy = it->second;
    if (policy.versions.size() >= internal::kMaxPolicyVersions) {
        return Fail(error_type::kVersionsLimitExceeded,
                    "policy " + policy.policy_name +
                        " already has 5 versions; delete one before creating another");
    }
    const TimePoint now = clock_.Now();
    const std::string version_id = std::to_string(policy.next_version_id++);
    policy.versions.push_back(PolicyVersion{version_id, std::string(policy_document), now});
    if (set_as_default) {
        policy.default_version_id = version_id;
    }
    policy.last_modified_date = now;
    policy.generation_id = NewGenerationId();
    MarkChanged("policy", policy.policy_name);
    return PolicyVersionResponse{
        policy.policy_name, policy.policy_arn, std::string(policy_document),
        version_id,         set_as_default,    now};
}

AwsResult<PolicyVersionResponse> Registry::GetPolicyVersion(std::string_view policy_name,
                                                            std::string_view version_id) const {
    if (auto valid = CheckPolicyName(policy_name); !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    if (!internal::IsPolicyVersionId(version_id)) {
        return Fail(error_type::kInvalidRequest, "policyVersionId: expected digits");
    }
    const auto* policy = FindPolicy(policy_name);
    if (policy == nullptr) {
        return Fail(error_type::kResourceNotFound,
                    "policy " + std::string(policy_name) + " does not exist");
    }
    for (const auto& version : policy->versions) {
        if (version.version_id == version_id) {
            return PolicyVersionResponse{policy->policy_name,
                                         policy->policy_arn,
                                         version.document,
                                         version.version_id,
                                         version.version_id == policy->default_version_id,
                                         version.create_date};
        }
    }
    return Fail(error_type::kResourceNotFound,
                "policy " + policy->policy_name + " has no version " + std::string(version_id));
}

AwsResult<std::vector<PolicyVersionResponse>> Registry::ListPolicyVersions(
    std::string_view policy_name) const {
    auto found = ExistingPolicy(*this, policy_name);
    if (!found) {
        return sim::Unexpected<AwsError>(found.error());
    }
    const Policy* policy = *found;
    std::vector<PolicyVersionResponse> out;
    for (auto version = policy->versions.rbegin(); version != policy->versions.rend(); ++version) {
        out.push_back(PolicyVersionResponse{
            policy->policy_name, policy->policy_arn, version->document, version->version_id,
            version->version_id == policy->default_version_id, version->create_date});
    }
    return out;
}

AwsStatus Registry::SetDefaultPolicyVersion(std::string_view policy_name,
                                            std::string_view version_id) {
    auto version = GetPolicyVersion(policy_name, version_id);
    if (!version) {
        return sim::Unexpected<AwsError>(version.error());
    }
    Policy& policy = policies_.find(policy_name)->second;
    if (policy.default_version_id == version_id) {
        return {};
    }
    policy.default_version_id = std::string(version_id);
    policy.last_modified_date = clock_.Now();
    policy.generation_id = NewGenerationId();
    MarkChanged("policy", policy.policy_name);
    return {};
}

AwsStatus Registry::DeletePolicyVersion(std::string_view policy_name, std::string_view version_id) {
    auto version = GetPolicyVersion(policy_name, version_id);
    if (!version) {
        return sim::Unexpected<AwsError>(version.error());
    }
    if (version->is_default_version) {
        return Fail(error_type::kDeleteConflict,
                    "policyVersionId: the default version cannot be deleted; use DeletePolicy");
    }
    Policy& policy = policies_.find(policy_name)->second;
    std::erase_if(policy.versions,
                  [&](const PolicyVersion& entry) { return entry.version_id == version_id; });
    policy.last_modified_date = clock_.Now();
    MarkChanged("policy", policy.policy_name);
    return {};
}

AwsResult<ListPoliciesResponse> Registry::ListPolicies(const PageRequest& page) const {
    auto window = internal::ReadPage(page, "pageSize", "marker", true);
    if (!window) {
        return sim::Unexpected<AwsError>(window.error());
    }
    std::vector<std::pair<std::string, PolicySummary>> sorted;
    for (const auto& [name, policy] : policies_) {
        sorted.emplace_back(name, PolicySummary{name, policy.policy_arn});
    }
    auto [items, next] = internal::TakePage(std::move(sorted), *window);
    return ListPoliciesResponse{std::move(items), std::move(next)};
}

AwsStatus Registry::AttachPolicy(std::string_view policy_name, std::string_view target) {
    if (auto valid = CheckPolicyName(policy_name); !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    auto cert = CertificateFromPrincipal(target);
    if (!cert) {
        AwsError error = cert.error();
        if (error.type == error_type::kInvalidRequest) {
            error.message = "target: " + error.message;
        }
        return sim::Unexpected<AwsError>(std::move(error));
    }
    if (policies_.count(policy_name) == 0) {
        return Fail(error_type::kResourceNotFound,
                    "policy " + std::string(policy_name) + " does not exist");
    }
    const auto key = std::make_pair(std::string(policy_name), (*cert)->certificate_arn);
    if (policy_targets_.contains(key)) {
        return {};
    }
    if (PoliciesOfCertificate((*cert)->certificate_id).size() >=
        internal::kMaxPoliciesPerCertificate) {
        return Fail(error_type::kLimitExceeded,
                    "target: certificate already has 10 policies attached");
    }
    policy_targets_.insert(key, {});
    MarkChanged("policy_target", key.first + "\n" + key.second);
    return {};
}

AwsStatus Registry::DetachPolicy(std::string_view policy_name, std::string_view target) {
    if (auto valid = CheckPolicyName(policy_name); !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    const std::string prefix = CertificateArn(settings_, "");
    if (target.rfind(prefix, 0) != 0) {
        return Fail(error_type::kInvalidRequest,
                    "target: expected a certificate ARN of this account");
    }
    auto id = internal::NormaliseCertificateId(target.substr(prefix.size()), "target");
    if (!id) {
        return sim::Unexpected<AwsError>(id.error());
    }
    // Assumed: detaching what is not attached succeeds (the model lists no
    // ResourceNotFoundException for DetachPolicy).
    const auto key = std::make_pair(std::string(policy_name), CertificateArn(settings_, *id));
    if (policy_targets_.erase(key) > 0) {
        MarkChanged("policy_target", key.first + "\n" + key.second);
    }
    return {};
}

AwsResult<ListPoliciesResponse> Registry::ListAttachedPolicies(std::string_view target,
                                                               const PageRequest& page) const {
    auto window = internal::ReadPage(page, "pageSize", "marker", true);
    if (!window) {
        return sim::Unexpected<AwsError>(window.error());
    }
    auto cert = CertificateFromPrincipal(target);
    if (!cert) {
        return sim::Unexpected<AwsError>(cert.error());
    }
    std::vector<std::pair<std::string, PolicySummary>> sorted;
    for (const auto& name : PoliciesOfCertificate((*cert)->certificate_id)) {
        sorted.emplace_back(name, PolicySummary{name, PolicyArn(settings_, name)});
    }
    auto [items, next] = internal::TakePage(std::move(sorted), *window);
    return ListPoliciesResponse{std::move(items), std::move(next)};
}

AwsResult<ListTargetsResponse> Registry::ListTargetsForPolicy(std::string_view policy_name,
                                                              const PageRequest& page) const {
    auto window = internal::ReadPage(page, "pageSize", "marker", true);
    if (!window) {
        return sim::Unexpected<AwsError>(window.error());
    }
    if (auto policy = ExistingPolicy(*this, policy_name); !policy) {
        return sim::Unexpected<AwsError>(policy.error());
    }
    std::vector<std::pair<std::string, std::string>> sorted;
    for (const auto& [pair, attached] : policy_targets_) {
        if (pair.first == policy_name) {
            sorted.emplace_back(pair.second, pair.second);
        }
    }
    auto [items, next] = internal::TakePage(std::move(sorted), *window);
    return ListTargetsResponse{std::move(items), std::move(next)};
}

AwsResult<std::vector<EffectivePolicy>> Registry::GetEffectivePolicies(
    const std::optional<std::string>& principal,
    const std::optional<std::string>& thing_name) const {
    if (thing_name && things_.count(*thing_name) == 0) {
        return Fail(error_type::kResourceNotFound,
                    "thingName: thing " + *thing_name + " does not exist");
    }
    std::vector<EffectivePolicy> out;
    if (!principal) {
        return out;  // Not emulated: thing-group policies, the only other source.
    }
    auto cert = CertificateFromPrincipal(*principal);
    if (!cert) {
        return sim::Unexpected<AwsError>(cert.error());
    }
    for (const auto& name : PoliciesOfCertificate((*cert)->certificate_id)) {
        const Policy& policy = policies_.find(name)->second;
        out.push_back(
            EffectivePolicy{policy.policy_name, policy.policy_arn, policy.DefaultDocument()});
    }
    return out;
}

}  // namespace sim::account
