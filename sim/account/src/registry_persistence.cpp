// SPDX-License-Identifier: Apache-2.0
// Persistence rows: every entity serialises to a JSON value keyed by (kind, key). The JSON
// member names follow AWS's where AWS has one; timestamps are integer microseconds since the
// epoch (exact round trip). Certificates persist as PEM and are re-parsed on Load, so the
// certificateId is recomputed rather than trusted.

#include <exception>
#include <utility>

#include "registry_internal.hpp"

#include "sim/account/registry.hpp"

namespace sim::account {
namespace {

using internal::FromMicros;
using internal::ToMicros;
using nlohmann::json;

json OptionalString(const std::optional<std::string>& value) {
    return value ? json(*value) : json(nullptr);
}

std::optional<std::string> ReadOptionalString(const json& object, const char* member) {
    if (!object.contains(member) || object[member].is_null()) {
        return std::nullopt;
    }
    return object[member].get<std::string>();
}

json ToJson(const RegistrationConfig& config) {
    return {{"templateBody", OptionalString(config.template_body)},
            {"roleArn", OptionalString(config.role_arn)},
            {"templateName", OptionalString(config.template_name)}};
}

RegistrationConfig RegistrationConfigFromJson(const json& value) {
    RegistrationConfig config;
    config.template_body = ReadOptionalString(value, "templateBody");
    config.role_arn = ReadOptionalString(value, "roleArn");
    config.template_name = ReadOptionalString(value, "templateName");
    return config;
}

template <class Enum>
Enum ReadEnum(const json& value, std::optional<Enum> (*parse)(std::string_view),
              const char* member) {
    const auto parsed = parse(value.at(member).get<std::string>());
    if (!parsed) {
        throw std::invalid_argument(std::string(member) + ": unknown value");
    }
    return *parsed;
}

pki::CertificateInfo ReadCertificate(const json& value, const std::string& key) {
    auto parsed = pki::ParseCertificatePem(value.at("certificatePem").get<std::string>());
    if (!parsed) {
        throw std::invalid_argument("certificatePem: " + parsed.error().message);
    }
    if (parsed->certificate_id != key) {
        throw std::invalid_argument("certificatePem: its certificateId is not the row key");
    }
    return std::move(*parsed);
}

std::pair<std::string, std::string> SplitPair(const std::string& key) {
    const auto newline = key.find('\n');
    if (newline == std::string::npos) {
        throw std::invalid_argument("key: expected two parts separated by a newline");
    }
    return {key.substr(0, newline), key.substr(newline + 1)};
}

}  // namespace

std::optional<json> Registry::RowValue(std::string_view kind, std::string_view key) const {
    if (kind == "registration_code") {
        if (!registration_code_) {
            return std::nullopt;
        }
        return json{{"registrationCode", *registration_code_}};
    }
    if (kind == "event_configurations") {
        return json(event_configurations_);
    }
    if (kind == "ca") {
        const auto* ca = FindCaCertificate(key);
        if (ca == nullptr) {
            return std::nullopt;
        }
        return json{{"certificatePem", ca->info.pem},
                    {"status", ToString(ca->status)},
                    {"autoRegistrationStatus", ToString(ca->auto_registration_status)},
                    {"certificateMode", ToString(ca->certificate_mode)},
                    {"registrationConfig", ToJson(ca->registration_config)},
                    {"ownedBy", ca->owned_by},
                    {"creationDate", ToMicros(ca->creation_date)},
                    {"lastModifiedDate", ToMicros(ca->last_modified_date)},
                    {"customerVersion", ca->customer_version},
                    {"generationId", ca->generation_id}};
    }
    if (kind == "certificate") {
        const auto* cert = FindCertificate(key);
        if (cert == nullptr) {
            return std::nullopt;
        }
        return json{
            {"certificatePem", cert->info.pem},
            {"caCertificateId", OptionalString(cert->ca_certificate_id)},
            {"status", ToString(cert->status)},
            {"certificateMode", ToString(cert->certificate_mode)},
            {"ownedBy", cert->owned_by},
            {"previousOwnedBy", OptionalString(cert->previous_owned_by)},
            {"creationDate", ToMicros(cert->creation_date)},
            {"lastModifiedDate", ToMicros(cert->last_modified_date)},
            {"customerVersion", cert->customer_version},
            {"generationId", cert->generation_id},
            {"claimTemplateName", OptionalString(cert->claim_template_name)},
            {"claimExpiration",
             cert->claim_expiration ? json(ToMicros(*cert->claim_expiration)) : json(nullptr)}};
    }
    if (kind == "thing") {
        const auto* thing = FindThing(key);
        if (thing == nullptr) {
            return std::nullopt;
        }
        return json{{"thingId", thing->thing_id},
                    {"thingTypeName", OptionalString(thing->thing_type_name)},
                    {"attributes", thing->attributes},
                    {"version", thing->version},
                    {"billingGroupName", OptionalString(thing->billing_group_name)}};
    }
    if (kind == "thing_type") {
        const auto it = thing_types_.find(key);
        if (it == thing_types_.end()) {
            return std::nullopt;
        }
        return json{{"thingTypeId", it->second.thing_type_id},
                    {"description", OptionalString(it->second.description)},
                    {"searchableAttributes", it->second.searchable_attributes},
                    {"creationDate", ToMicros(it->second.creation_date)}};
    }
    if (kind == "policy") {
        const auto* policy = FindPolicy(key);
        if (policy == nullptr) {
            return std::nullopt;
        }
        json versions = json::array();
        for (const auto& version : policy->versions) {
            versions.push_back({{"versionId", version.version_id},
                                {"document", version.document},
                                {"createDate", ToMicros(version.create_date)}});
        }
        return json{{"versions", versions},
                    {"defaultVersionId", policy->default_version_id},
                    {"nextVersionId", policy->next_version_id},
                    {"creationDate", ToMicros(policy->creation_date)},
                    {"lastModifiedDate", ToMicros(policy->last_modified_date)},
                    {"generationId", policy->generation_id}};
    }
    if (kind == "template") {
        const auto* tpl = FindProvisioningTemplate(key);
        if (tpl == nullptr) {
            return std::nullopt;
        }
        json versions = json::array();
        for (const auto& version : tpl->versions) {
            versions.push_back({{"versionId", version.version_id},
                                {"templateBody", version.template_body},
                                {"creationDate", ToMicros(version.creation_date)}});
        }
        json hook = nullptr;
        if (tpl->pre_provisioning_hook) {
            hook = {{"payloadVersion", OptionalString(tpl->pre_provisioning_hook->payload_version)},
                    {"targetArn", tpl->pre_provisioning_hook->target_arn}};
        }
        return json{{"description", OptionalString(tpl->description)},
                    {"type", ToString(tpl->type)},
                    {"enabled", tpl->enabled},
                    {"provisioningRoleArn", tpl->provisioning_role_arn},
                    {"preProvisioningHook", hook},
                    {"versions", versions},
                    {"defaultVersionId", tpl->default_version_id},
                    {"nextVersionId", tpl->next_version_id},
                    {"creationDate", ToMicros(tpl->creation_date)},
                    {"lastModifiedDate", ToMicros(tpl->last_modified_date)}};
    }
    if (kind == "policy_target") {
        const auto pair = SplitPair(std::string(key));
        if (!policy_targets_.contains(pair)) {
            return std::nullopt;
        }
        return json::object();
    }
    if (kind == "thing_principal") {
        const auto it = thing_principals_.find(SplitPair(std::string(key)));
        if (it == thing_principals_.end()) {
            return std::nullopt;
        }
        return json{{"thingPrincipalType", ToString(it->second)}};
    }
    if (kind == "ownership_token") {
        const auto it = ownership_tokens_.find(key);
        if (it == ownership_tokens_.end()) {
            return std::nullopt;
        }
        return json{{"certificateId", it->second.certificate_id},
                    {"expiration", ToMicros(it->second.expiration)},
                    {"requester", it->second.requester}};
    }
    return std::nullopt;
}

std::vector<Change> Registry::TakeChanges() {
    std::vector<Change> out;
    out.reserve(changed_.size());
    for (const auto& [kind, key] : changed_) {
        out.push_back(Change{kind, key, RowValue(kind, key)});
    }
    changed_.clear();
    return out;
}

std::vector<Change> Registry::Snapshot() const {
    std::vector<Change> out;
    auto add = [&](const char* kind, const std::string& key) {
        out.push_back(Change{kind, key, RowValue(kind, key)});
    };
    if (registration_code_) {
        add("registration_code", "");
    }
    add("event_configurations", "");
    for (const auto& [key, value] : cas_) {
        add("ca", key);
    }
    for (const auto& [key, value] : certificates_) {
        add("certificate", key);
    }
    for (const auto& [key, value] : things_) {
        add("thing", key);
    }
    for (const auto& [key, value] : thing_types_) {
        add("thing_type", key);
    }
    for (const auto& [key, value] : policies_) {
        add("policy", key);
    }
    for (const auto& [key, value] : templates_) {
        add("template", key);
    }
    for (const auto& [pair, attached] : policy_targets_) {
        add("policy_target", internal::StrCat({pair.first, "\n", pair.second}));
    }
    for (const auto& [key, type] : thing_principals_) {
        add("thing_principal", key.first + "\n" + key.second);
    }
    for (const auto& [key, value] : ownership_tokens_) {
        add("ownership_token", key);
    }
    return out;
}

sim::Status Registry::Load(const std::vector<Change>& rows) {
    if (registration_code_ || !cas_.empty() || !certificates_.empty() || !things_.empty() ||
        !thing_types_.empty() || !policies_.empty() || !templates_.empty() ||
        !policy_targets_.empty() || !thing_principals_.empty() || !ownership_tokens_.empty()) {
        return sim::MakeError(sim::ErrorCode::kFailedPrecondition,
                              "registry: Load needs an empty registry");
    }
    auto clear = [&]() {
        registration_code_.reset();
        cas_.clear();
        certificates_.clear();
        things_.clear();
        thing_types_.clear();
        policies_.clear();
        templates_.clear();
        policy_targets_.clear();
        thing_principals_.clear();
        ownership_tokens_.clear();
    };
    const auto saved_events = event_configurations_;
    for (const Change& row : rows) {
        if (!row.value) {
            continue;  // a deletion row: nothing to load
        }
        const json& value = *row.value;
        const std::string& key = row.key;
        try {
            if (row.kind == "registration_code") {
                registration_code_ = value.at("registrationCode").get<std::string>();
            } else if (row.kind == "event_configurations") {
                for (const auto& [type, enabled] : value.items()) {
                    event_configurations_[type] = enabled.get<bool>();
                }
            } else if (row.kind == "ca") {
                CaCertificate ca;
                ca.info = ReadCertificate(value, key);
                ca.certificate_id = key;
                ca.certificate_arn = CaCertificateArn(settings_, key);
                ca.status = ReadEnum<CaStatus>(value, ParseCaStatus, "status");
                ca.auto_registration_status = ReadEnum<AutoRegistrationStatus>(
                    value, ParseAutoRegistrationStatus, "autoRegistrationStatus");
                ca.certificate_mode =
                    ReadEnum<CertificateMode>(value, ParseCertificateMode, "certificateMode");
                ca.registration_config = RegistrationConfigFromJson(value.at("registrationConfig"));
                ca.owned_by = value.at("ownedBy").get<std::string>();
                ca.creation_date = FromMicros(value.at("creationDate").get<std::int64_t>());
                ca.last_modified_date =
                    FromMicros(value.at("lastModifiedDate").get<std::int64_t>());
                ca.customer_version = value.at("customerVersion").get<std::int64_t>();
                ca.generation_id = value.at("generationId").get<std::string>();
                if (ca.certificate_mode == CertificateMode::kDefault &&
                    default_mode_index_ != nullptr) {
                    // Re-establish the claim; a conflict cannot be resolved here and is left
                    // to the world (it only arises from hand-edited state).
                    (void)default_mode_index_->TryClaim(settings_.region, key,
                                                        settings_.account_id);
                }
                cas_.emplace(key, std::move(ca));
            } else if (row.kind == "certificate") {
                Certificate cert;
                cert.info = ReadCertificate(value, key);
                cert.certificate_id = key;
                cert.certificate_arn = CertificateArn(settings_, key);
                cert.ca_certificate_id = ReadOptionalString(value, "caCertificateId");
                cert.status = ReadEnum<CertificateStatus>(value, ParseCertificateStatus, "status");
                cert.certificate_mode =
                    ReadEnum<CertificateMode>(value, ParseCertificateMode, "certificateMode");
                cert.owned_by = value.at("ownedBy").get<std::string>();
                cert.previous_owned_by = ReadOptionalString(value, "previousOwnedBy");
                cert.creation_date = FromMicros(value.at("creationDate").get<std::int64_t>());
                cert.last_modified_date =
                    FromMicros(value.at("lastModifiedDate").get<std::int64_t>());
                cert.customer_version = value.at("customerVersion").get<std::int64_t>();
                cert.generation_id = value.at("generationId").get<std::string>();
                cert.claim_template_name = ReadOptionalString(value, "claimTemplateName");
                if (value.contains("claimExpiration") && !value["claimExpiration"].is_null()) {
                    cert.claim_expiration =
                        FromMicros(value["claimExpiration"].get<std::int64_t>());
                    NoteClaimExpiry(*cert.claim_expiration);
                }
                certificates_.emplace(key, std::move(cert));
            } else if (row.kind == "thing") {
                if (!internal::IsThingName(key)) {
                    throw std::invalid_argument("not a thing name");
                }
                Thing thing;
                thing.thing_name = key;
                thing.thing_arn = ThingArn(settings_, key);
                thing.thing_id = value.at("thingId").get<std::string>();
                thing.thing_type_name = ReadOptionalString(value, "thingTypeName");
                thing.attributes = value.at("attributes").get<std::map<std::string, std::string>>();
                thing.version = value.at("version").get<std::int64_t>();
                thing.billing_group_name = ReadOptionalString(value, "billingGroupName");
                things_.emplace(key, std::move(thing));
            } else if (row.kind == "thing_type") {
                ThingType type;
                type.thing_type_name = key;
                type.thing_type_arn = ThingTypeArn(settings_, key);
                type.thing_type_id = value.at("thingTypeId").get<std::string>();
                type.description = ReadOptionalString(value, "description");
                type.searchable_attributes =
                    value.at("searchableAttributes").get<std::vector<std::string>>();
                type.creation_date = FromMicros(value.at("creationDate").get<std::int64_t>());
                thing_types_.emplace(key, std::move(type));
            } else if (row.kind == "policy") {
                Policy policy;
                policy.policy_name = key;
                policy.policy_arn = PolicyArn(settings_, key);
                for (const auto& version : value.at("versions")) {
                    policy.versions.push_back(
                        PolicyVersion{version.at("versionId").get<std::string>(),
                                      version.at("document").get<std::string>(),
                                      FromMicros(version.at("createDate").get<std::int64_t>())});
                }
                policy.default_version_id = value.at("defaultVersionId").get<std::string>();
                policy.next_version_id = value.at("nextVersionId").get<std::int64_t>();
                policy.creation_date = FromMicros(value.at("creationDate").get<std::int64_t>());
                policy.last_modified_date =
                    FromMicros(value.at("lastModifiedDate").get<std::int64_t>());
                policy.generation_id = value.at("generationId").get<std::string>();
                policies_.emplace(key, std::move(policy));
            } else if (row.kind == "template") {
                ProvisioningTemplate tpl;
                tpl.template_name = key;
                tpl.template_arn = ProvisioningTemplateArn(settings_, key);
                tpl.description = ReadOptionalString(value, "description");
                tpl.type = ReadEnum<TemplateType>(value, ParseTemplateType, "type");
                tpl.enabled = value.at("enabled").get<bool>();
                tpl.provisioning_role_arn = value.at("provisioningRoleArn").get<std::string>();
                if (value.contains("preProvisioningHook") &&
                    !value["preProvisioningHook"].is_null()) {
                    const auto& hook = value["preProvisioningHook"];
                    tpl.pre_provisioning_hook =
                        PreProvisioningHook{ReadOptionalString(hook, "payloadVersion"),
                                            hook.at("targetArn").get<std::string>()};
                }
                for (const auto& version : value.at("versions")) {
                    tpl.versions.push_back(ProvisioningTemplateVersion{
                        version.at("versionId").get<std::int64_t>(),
                        version.at("templateBody").get<std::string>(),
                        FromMicros(version.at("creationDate").get<std::int64_t>())});
                }
                tpl.default_version_id = value.at("defaultVersionId").get<std::int64_t>();
                tpl.next_version_id = value.at("nextVersionId").get<std::int64_t>();
                tpl.creation_date = FromMicros(value.at("creationDate").get<std::int64_t>());
                tpl.last_modified_date =
                    FromMicros(value.at("lastModifiedDate").get<std::int64_t>());
                templates_.emplace(key, std::move(tpl));
            } else if (row.kind == "policy_target") {
                policy_targets_.insert(SplitPair(key), {});
            } else if (row.kind == "thing_principal") {
                thing_principals_.assign(SplitPair(key), ReadEnum<ThingPrincipalType>(
                    value, ParseThingPrincipalType, "thingPrincipalType"));
            } else if (row.kind == "ownership_token") {
                ownership_tokens_.emplace(
                    key, OwnershipToken{key, value.at("certificateId").get<std::string>(),
                                        FromMicros(value.at("expiration").get<std::int64_t>()),
                                        value.value("requester", std::string())});
            } else {
                throw std::invalid_argument("unknown kind");
            }
        } catch (const std::exception& error) {
            clear();
            event_configurations_ = saved_events;
            return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                                  "registry row (" + row.kind + ", " + key + "): " + error.what());
        }
    }
    changed_.clear();
    return {};
}

}  // namespace sim::account
