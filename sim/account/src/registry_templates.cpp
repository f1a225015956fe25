// SPDX-License-Identifier: Apache-2.0
// The registry's provisioning template operations: CreateProvisioningTemplate,
// DescribeProvisioningTemplate, ListProvisioningTemplates, UpdateProvisioningTemplate,
// DeleteProvisioningTemplate and the template versions (AWS IoT API Reference). Running a template
// is provisioning (registry_provisioning.cpp).
//
// Every mutating operation follows the order registry.cpp describes: validate, look up, check
// the state rules, and only then mutate, MarkChanged() and queue effects.

#include <algorithm>
#include <utility>

#include "registry_internal.hpp"

#include "sim/account/registry.hpp"

namespace sim::account {

namespace {

AwsStatus CheckHook(const std::optional<PreProvisioningHook>& hook, TemplateType type) {
    if (!hook) {
        return {};
    }
    if (type != TemplateType::kFleetProvisioning) {
        return Fail(error_type::kInvalidRequest,
                    "preProvisioningHook: only FLEET_PROVISIONING templates take a hook");
    }
    if (hook->target_arn.empty() || hook->target_arn.size() > 2048) {
        return Fail(error_type::kInvalidRequest,
                    "preProvisioningHook.targetArn: must be 1-2048 characters");
    }
    return {};
}

AwsStatus CheckRoleArn(std::string_view role_arn) {
    if (role_arn.size() < 20 || role_arn.size() > 2048) {
        return Fail(error_type::kInvalidRequest, "provisioningRoleArn: must be 20-2048 characters");
    }
    return {};
}

}  // namespace

// ---- Template CRUD -----------------------------------------------------------------------------

AwsResult<CreateProvisioningTemplateResponse> Registry::CreateProvisioningTemplate(
    const CreateProvisioningTemplateRequest& request) {
    if (auto valid = internal::CheckTemplateName(request.template_name); !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    if (request.description && request.description->size() > 500) {
        return Fail(error_type::kInvalidRequest, "description: at most 500 characters");
    }
    if (auto valid = ValidateTemplateBody(request.template_body); !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    if (auto valid = CheckRoleArn(request.provisioning_role_arn); !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    TemplateType type = TemplateType::kFleetProvisioning;  // default (API Reference)
    if (request.type) {
        const auto parsed = ParseTemplateType(*request.type);
        if (!parsed) {
            return Fail(error_type::kInvalidRequest,
                        "type: expected FLEET_PROVISIONING or JITP, got \"" + *request.type + "\"");
        }
        type = *parsed;
    }
    if (auto valid = CheckHook(request.pre_provisioning_hook, type); !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    if (const auto existing = templates_.find(request.template_name);
        existing != templates_.end()) {
        AwsError error{
            std::string(error_type::kResourceAlreadyExists),
            "templateName: provisioning template " + request.template_name + " already exists",
            request.template_name, existing->second.template_arn};
        return sim::Unexpected<AwsError>(std::move(error));
    }
    const TimePoint now = clock_.Now();
    ProvisioningTemplate tpl;
    tpl.template_name = request.template_name;
    tpl.template_arn = ProvisioningTemplateArn(settings_, tpl.template_name);
    tpl.description = request.description;
    tpl.type = type;
    tpl.enabled = request.enabled;
    tpl.provisioning_role_arn = request.provisioning_role_arn;
    tpl.pre_provisioning_hook = request.pre_provisioning_hook;
    tpl.versions.push_back(ProvisioningTemplateVersion{1, request.template_body, now});
    tpl.default_version_id = 1;
    tpl.next_version_id = 2;
    tpl.creation_date = now;
    tpl.last_modified_date = now;
    CreateProvisioningTemplateResponse response{tpl.template_arn, tpl.template_name, 1};
    MarkChanged("template", tpl.template_name);
    templates_.emplace(tpl.template_name, std::move(tpl));
    return response;
}

AwsResult<ProvisioningTemplate> Registry::DescribeProvisioningTemplate(
    std::string_view template_name) const {
    if (auto valid = internal::CheckTemplateName(template_name); !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    const auto* tpl = FindProvisioningTemplate(template_name);
    if (tpl == nullptr) {
        return Fail(error_type::kResourceNotFound,
                    "provisioning template " + std::string(template_name) + " does not exist");
    }
    return *tpl;
}

AwsResult<ListTemplatesResponse> Registry::ListProvisioningTemplates(
    const PageRequest& page) const {
    auto window = internal::ReadPage(page, "maxResults", "nextToken", true);
    if (!window) {
        return sim::Unexpected<AwsError>(window.error());
    }
    std::vector<std::pair<std::string, TemplateSummary>> sorted;
    for (const auto& [name, tpl] : templates_) {
        sorted.emplace_back(name, TemplateSummary{tpl.template_arn, name, tpl.description,
                                                  tpl.creation_date, tpl.last_modified_date,
                                                  tpl.enabled, std::string(ToString(tpl.type))});
    }
    auto [items, next] = internal::TakePage(std::move(sorted), *window);
    return ListTemplatesResponse{std::move(items), std::move(next)};
}

AwsStatus Registry::UpdateProvisioningTemplate(const UpdateProvisioningTemplateRequest& request) {
    if (auto valid = internal::CheckTemplateName(request.template_name); !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    if (request.description && request.description->size() > 500) {
        return Fail(error_type::kInvalidRequest, "description: at most 500 characters");
    }
    if (request.provisioning_role_arn) {
        if (auto valid = CheckRoleArn(*request.provisioning_role_arn); !valid) {
            return sim::Unexpected<AwsError>(valid.error());
        }
    }
    if (request.remove_pre_provisioning_hook && request.pre_provisioning_hook) {
        return Fail(error_type::kInvalidRequest,
                    "removePreProvisioningHook: cannot be combined with preProvisioningHook");
    }
    const auto it = templates_.find(request.template_name);
    if (it == templates_.end()) {
        return Fail(error_type::kResourceNotFound,
                    "provisioning template " + request.template_name + " does not exist");
    }
    ProvisioningTemplate& tpl = it->second;
    if (auto valid = CheckHook(request.pre_provisioning_hook, tpl.type); !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    if (request.default_version_id &&
        std::none_of(tpl.versions.begin(), tpl.versions.end(), [&](const auto& version) {
            return version.version_id == *request.default_version_id;
        })) {
        return Fail(error_type::kResourceNotFound, "defaultVersionId: provisioning template " +
                                                       tpl.template_name + " has no version " +
                                                       std::to_string(*request.default_version_id));
    }
    if (request.description) {
        tpl.description = request.description;
    }
    if (request.enabled) {
        tpl.enabled = *request.enabled;
    }
    if (request.default_version_id) {
        tpl.default_version_id = *request.default_version_id;
    }
    if (request.provisioning_role_arn) {
        tpl.provisioning_role_arn = *request.provisioning_role_arn;
    }
    if (request.pre_provisioning_hook) {
        tpl.pre_provisioning_hook = request.pre_provisioning_hook;
    }
    if (request.remove_pre_provisioning_hook) {
        tpl.pre_provisioning_hook.reset();
    }
    tpl.last_modified_date = clock_.Now();
    MarkChanged("template", tpl.template_name);
    return {};
}

AwsStatus Registry::DeleteProvisioningTemplate(std::string_view template_name) {
    if (auto valid = internal::CheckTemplateName(template_name); !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    const auto it = templates_.find(template_name);
    if (it == templates_.end()) {
        return Fail(error_type::kResourceNotFound,
                    "provisioning template " + std::string(template_name) + " does not exist");
    }
    for (const auto& [id, ca] : cas_) {
        if (ca.registration_config.template_name == template_name) {
            // Assumed: a template a CA uses for JITP cannot be deleted (DeleteConflict is a
            // modeled error of DeleteProvisioningTemplate).
            return Fail(error_type::kDeleteConflict, "provisioning template " +
                                                         std::string(template_name) +
                                                         " is used by CA certificate " + id);
        }
    }
    templates_.erase(it);
    MarkChanged("template", template_name);
    return {};
}

AwsResult<TemplateVersionResponse> Registry::CreateProvisioningTemplateVersion(
    std::string_view template_name, std::string_view template_body, bool set_as_default) {
    if (auto valid = internal::CheckTemplateName(template_name); !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    if (auto valid = ValidateTemplateBody(template_body); !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    const auto it = templates_.find(template_name);
    if (it == templates_.end()) {
        return Fail(error_type::kResourceNotFound,
                    "provisioning template " + std::string(template_name) + " does not exist");
    }
    ProvisioningTemplate& tpl = it->second;
    if (tpl.versions.size() >= internal::kMaxTemplateVersions) {
        return Fail(error_type::kVersionsLimitExceeded,
                    "provisioning template " + tpl.template_name +
                        " already has 5 versions; delete one first");
    }
    const TimePoint now = clock_.Now();
    const std::int64_t version_id = tpl.next_version_id++;
    tpl.versions.push_back(
        ProvisioningTemplateVersion{version_id, std::string(template_body), now});
    if (set_as_default) {
        tpl.default_version_id = version_id;
    }
    tpl.last_modified_date = now;
    MarkChanged("template", tpl.template_name);
    return TemplateVersionResponse{tpl.template_arn, tpl.template_name,          version_id,
                                   set_as_default,   std::string(template_body), now};
}

AwsResult<ListTemplateVersionsResponse> Registry::ListProvisioningTemplateVersions(
    std::string_view template_name, const PageRequest& page) const {
    auto window = internal::ReadPage(page, "maxResults", "nextToken", true);
    if (!window) {
        return sim::Unexpected<AwsError>(window.error());
    }
    auto tpl = DescribeProvisioningTemplate(template_name);
    if (!tpl) {
        return sim::Unexpected<AwsError>(tpl.error());
    }
    std::vector<std::pair<std::string, TemplateVersionResponse>> sorted;
    for (const auto& version : tpl->versions) {
        // Fixed-width key so that string order is version order.
        sorted.emplace_back(internal::TimeKey(internal::FromMicros(version.version_id), "v"),
                            TemplateVersionResponse{tpl->template_arn,
                                                    tpl->template_name,
                                                    version.version_id,
                                                    version.version_id == tpl->default_version_id,
                                                    {},
                                                    version.creation_date});
    }
    auto [items, next] = internal::TakePage(std::move(sorted), *window);
    return ListTemplateVersionsResponse{std::move(items), std::move(next)};
}

AwsResult<TemplateVersionResponse> Registry::DescribeProvisioningTemplateVersion(
    std::string_view template_name, std::int64_t version_id) const {
    auto tpl = DescribeProvisioningTemplate(template_name);
    if (!tpl) {
        return sim::Unexpected<AwsError>(tpl.error());
    }
    for (const auto& version : tpl->versions) {
        if (version.version_id == version_id) {
            return TemplateVersionResponse{
                tpl->template_arn,     tpl->template_name,
                version.version_id,    version.version_id == tpl->default_version_id,
                version.template_body, version.creation_date};
        }
    }
    return Fail(error_type::kResourceNotFound, "provisioning template " + tpl->template_name +
                                                   " has no version " + std::to_string(version_id));
}

AwsStatus Registry::DeleteProvisioningTemplateVersion(std::string_view template_name,
                                                      std::int64_t version_id) {
    auto version = DescribeProvisioningTemplateVersion(template_name, version_id);
    if (!version) {
        return sim::Unexpected<AwsError>(version.error());
    }
    if (version->is_default_version) {
        return Fail(error_type::kDeleteConflict,
                    "versionId: the default version cannot be deleted");
    }
    ProvisioningTemplate& tpl = templates_.find(template_name)->second;
    std::erase_if(tpl.versions, [&](const ProvisioningTemplateVersion& entry) {
        return entry.version_id == version_id;
    });
    tpl.last_modified_date = clock_.Now();
    MarkChanged("template", tpl.template_name);
    return {};
}

}  // namespace sim::account
