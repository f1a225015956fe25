// SPDX-License-Identifier: Apache-2.0
// Provisioning: running a template against the registry (RunTemplate), the REST RegisterThing
// and CreateProvisioningClaim, JITR/JITP at connect time (AuthenticateDevice), and the
// fleet-provisioning MQTT API (AWS IoT Core Developer Guide: JITR, 'Just-in-time provisioning',
// 'Device provisioning MQTT API'). The templates themselves are managed in registry_templates.cpp.

#include <algorithm>
#include <chrono>
#include <utility>

#include "registry_internal.hpp"

#include "sim/account/registry.hpp"

namespace sim::account {

namespace {

constexpr auto kClaimLifetime = std::chrono::minutes{5};         // CreateProvisioningClaim
constexpr auto kOwnershipTokenLifetime = std::chrono::hours{1};  // fleet provisioning MQTT API

}  // namespace

// ---- Running a template ------------------------------------------------------------------------

AwsResult<TemplateRunResult> Registry::RunTemplate(const TemplatePlan& plan) {
    const TimePoint now = clock_.Now();
    auto failure = [](std::string message) {
        return Fail(error_type::kResourceRegistrationFailure, std::move(message));
    };

    // Phase 1: decide everything without mutating (provision-template.md order: certificate,
    // thing, policies, attachments, status).
    std::optional<Certificate> new_certificate;  // registered by this run (CertificatePem)
    const Certificate* certificate = nullptr;
    std::optional<CertificateStatus> certificate_status;
    if (!plan.certificates.empty()) {
        const CertificatePlan& spec = plan.certificates.front();
        const std::string where = "Resources." + spec.logical_id;
        if (spec.certificate_signing_request) {
            // Not emulated: signing a CSR inside a template run; the adapter issues
            // certificates (CreateCertificateFromCsr) and templates then name them by id.
            return failure(where + ".CertificateSigningRequest: not emulated");
        }
        if (spec.certificate_id) {
            auto id =
                internal::NormaliseCertificateId(*spec.certificate_id, where + ".CertificateId");
            if (!id) {
                return sim::Unexpected<AwsError>(id.error());
            }
            certificate = FindCertificate(*id);
            if (certificate == nullptr) {
                return failure(where + ".CertificateId: certificate " + *id + " is not registered");
            }
        } else {
            auto parsed = spec.parsed_certificate
                              ? sim::Result<pki::CertificateInfo>(*spec.parsed_certificate)
                              : pki::ParseCertificatePem(*spec.certificate_pem);
            if (!parsed) {
                return Fail(error_type::kInvalidRequest,
                            where + ".CertificatePem: " + parsed.error().message);
            }
            certificate = FindCertificate(parsed->certificate_id);
            if (certificate == nullptr) {
                Certificate entry;
                entry.certificate_id = parsed->certificate_id;
                entry.certificate_arn = CertificateArn(settings_, entry.certificate_id);
                entry.certificate_mode = CertificateMode::kSniOnly;
                // Assumed: a PEM signed by a registered CA registers under it, else as
                // RegisterCertificateWithoutCA would.
                for (const auto& [id, ca] : cas_) {
                    if (ca.info.subject == parsed->issuer && pki::IsSignedBy(*parsed, ca.info)) {
                        entry.ca_certificate_id = id;
                        entry.certificate_mode = ca.certificate_mode;
                        break;
                    }
                }
                entry.status = CertificateStatus::kPendingActivation;
                entry.owned_by = settings_.account_id;
                entry.creation_date = now;
                entry.last_modified_date = now;
                entry.info = std::move(*parsed);
                new_certificate = std::move(entry);
                certificate = &*new_certificate;
            }
        }
        // The certificate being provisioned (PENDING_ACTIVATION) takes the template's Status;
        // an existing one follows OverrideSettings.Status (default DO_NOTHING, Assumed).
        const auto override_it = spec.override_settings.find("Status");
        const OverrideAction action = override_it == spec.override_settings.end()
                                          ? OverrideAction::kDoNothing
                                          : override_it->second;
        if (certificate->status == CertificateStatus::kPendingActivation ||
            action == OverrideAction::kReplace) {
            if (certificate->status == CertificateStatus::kRevoked) {
                return failure(where + ": certificate " + certificate->certificate_id +
                               " is REVOKED");
            }
            certificate_status = spec.status;
        } else if (action == OverrideAction::kFail) {
            return failure(where + ": certificate " + certificate->certificate_id +
                           " already exists (OverrideSettings.Status FAIL)");
        }
    }

    // Policies: by name (must exist) or by document (created when absent).
    std::vector<Policy> new_policies;
    std::vector<std::string> policy_names;
    for (const PolicyPlan& spec : plan.policies) {
        const std::string where = "Resources." + spec.logical_id;
        if (spec.policy_name) {
            if (!internal::IsPolicyName(*spec.policy_name)) {
                return Fail(error_type::kInvalidRequest, where + ".PolicyName: invalid name");
            }
            if (FindPolicy(*spec.policy_name) == nullptr) {
                return failure(where + ".PolicyName: policy " + *spec.policy_name +
                               " does not exist");
            }
            policy_names.push_back(*spec.policy_name);
            continue;
        }
        if (auto valid = internal::ValidatePolicyDocument(*spec.policy_document); !valid) {
            return failure(where + "." + valid.error().message);
        }
        // provision-template.md: without a name the policy is named by a hash of its
        // document (Assumed: lowercase hex SHA-256).
        const std::string name = pki::CertificateIdOfDer(*spec.policy_document);
        if (FindPolicy(name) == nullptr &&
            std::none_of(new_policies.begin(), new_policies.end(),
                         [&](const Policy& policy) { return policy.policy_name == name; })) {
            Policy policy;
            policy.policy_name = name;
            policy.policy_arn = PolicyArn(settings_, name);
            policy.versions.push_back(PolicyVersion{"1", *spec.policy_document, now});
            policy.default_version_id = "1";
            policy.creation_date = now;
            policy.last_modified_date = now;
            new_policies.push_back(std::move(policy));
        }
        policy_names.push_back(name);
    }
    std::sort(policy_names.begin(), policy_names.end());
    policy_names.erase(std::unique(policy_names.begin(), policy_names.end()), policy_names.end());
    if (certificate != nullptr) {
        std::set<std::string> all_policies;
        for (const auto& name : PoliciesOfCertificate(certificate->certificate_id)) {
            all_policies.insert(name);
        }
        all_policies.insert(policy_names.begin(), policy_names.end());
        if (all_policies.size() > internal::kMaxPoliciesPerCertificate) {
            return failure("certificate " + certificate->certificate_id +
                           " would have more than 10 policies");
        }
    }

    // The thing: create, or apply OverrideSettings to the existing one.
    std::optional<Thing> thing;  // the thing's state after the run
    bool thing_is_new = false;
    bool thing_changed = false;
    if (!plan.things.empty()) {
        const ThingPlan& spec = plan.things.front();
        const std::string where = "Resources." + spec.logical_id;
        if (!internal::IsThingName(spec.thing_name)) {
            return Fail(error_type::kInvalidRequest,
                        where + ".ThingName: must be 1-128 characters of [a-zA-Z0-9:_-]");
        }
        if (spec.thing_type_name && thing_types_.count(*spec.thing_type_name) == 0) {
            return failure(where + ".ThingTypeName: thing type " + *spec.thing_type_name +
                           " does not exist");
        }
        if (spec.billing_group) {
            return failure(where + ".BillingGroup: billing group " + *spec.billing_group +
                           " does not exist");  // Not emulated: billing groups.
        }
        // Not emulated: ThingGroups (recorded in the plan, never applied).
        if (const Thing* existing = FindThing(spec.thing_name); existing == nullptr) {
            Thing created;
            created.thing_name = spec.thing_name;
            created.thing_arn = ThingArn(settings_, spec.thing_name);
            created.thing_type_name = spec.thing_type_name;
            created.attributes = spec.attributes.value_or(std::map<std::string, std::string>{});
            thing = std::move(created);
            thing_is_new = true;
        } else {
            thing = *existing;
            auto action_for = [&](const char* key) {
                const auto found = spec.override_settings.find(key);
                return found == spec.override_settings.end() ? OverrideAction::kDoNothing
                                                             : found->second;
            };
            if (spec.attributes) {
                switch (action_for("AttributePayload")) {
                    case OverrideAction::kFail:
                        return failure(where + ": thing " + spec.thing_name +
                                       " already exists (OverrideSettings.AttributePayload FAIL)");
                    case OverrideAction::kReplace:
                        thing->attributes = *spec.attributes;
                        break;
                    case OverrideAction::kMerge:
                        for (const auto& [key, value] : *spec.attributes) {
                            thing->attributes[key] = value;
                        }
                        break;
                    case OverrideAction::kDoNothing:
                        break;
                }
            }
            if (spec.thing_type_name) {
                switch (action_for("ThingTypeName")) {
                    case OverrideAction::kFail:
                        return failure(where + ": thing " + spec.thing_name +
                                       " already exists (OverrideSettings.ThingTypeName FAIL)");
                    case OverrideAction::kReplace:
                    case OverrideAction::kMerge:
                        thing->thing_type_name = spec.thing_type_name;
                        break;
                    case OverrideAction::kDoNothing:
                        break;
                }
            }
            if (!spec.thing_groups.empty() && action_for("ThingGroups") == OverrideAction::kFail) {
                return failure(where + ": thing " + spec.thing_name +
                               " already exists (OverrideSettings.ThingGroups FAIL)");
            }
            thing_changed = !(*thing == *existing);
        }
        if (auto valid =
                internal::ValidateAttributes(thing->attributes, thing->thing_type_name.has_value());
            !valid) {
            return Fail(error_type::kInvalidRequest, where + ": " + valid.error().message);
        }
        if (certificate != nullptr) {
            for (const auto& entry : thing_principals_.WithSecond(certificate->certificate_arn)) {
                const auto& [key, type] = *entry;
                if (key.first != thing->thing_name && type == ThingPrincipalType::kExclusiveThing) {
                    return failure("certificate " + certificate->certificate_id +
                                   " is exclusively attached to thing " + key.first);
                }
            }
        }
    }

    // Phase 2: apply. Nothing below can fail.
    TemplateRunResult result;
    result.device_configuration = plan.device_configuration;
    if (new_certificate) {
        new_certificate->generation_id = NewGenerationId();
        const std::string id = new_certificate->certificate_id;
        MarkChanged("certificate", id);
        certificates_.emplace(id, std::move(*new_certificate));
        certificate = &certificates_.find(id)->second;
    }
    if (certificate != nullptr) {
        Certificate& cert = certificates_.find(certificate->certificate_id)->second;
        if (certificate_status && cert.status != *certificate_status) {
            const bool leaves_active = cert.status == CertificateStatus::kActive;
            cert.status = *certificate_status;
            cert.last_modified_date = now;
            cert.generation_id = NewGenerationId();
            MarkChanged("certificate", cert.certificate_id);
            if (leaves_active) {
                effects_.push_back(
                    Effect{Effect::Kind::kDisconnectCertificate, {}, {}, cert.certificate_id});
            }
        }
        result.certificate_id = cert.certificate_id;
        result.resource_arns["certificate"] = cert.certificate_arn;
    }
    for (auto& policy : new_policies) {
        policy.generation_id = NewGenerationId();
        MarkChanged("policy", policy.policy_name);
        const std::string name = policy.policy_name;
        policies_.emplace(name, std::move(policy));
    }
    for (const auto& name : policy_names) {
        result.resource_arns["policy"] = PolicyArn(settings_, name);
        if (certificate != nullptr) {
            const auto key = std::make_pair(name, certificate->certificate_arn);
            if (policy_targets_.insert(key, {})) {
                MarkChanged("policy_target", key.first + "\n" + key.second);
            }
        }
    }
    result.policy_names = policy_names;
    if (thing) {
        if (thing_is_new) {
            thing->thing_id = random_.Uuid4();
            thing->version = 1;
            MarkChanged("thing", thing->thing_name);
            PublishThingEvent(*thing, "CREATED");
            things_.emplace(thing->thing_name, *thing);
        } else if (thing_changed) {
            ++thing->version;
            things_[thing->thing_name] = *thing;
            MarkChanged("thing", thing->thing_name);
            PublishThingEvent(*thing, "UPDATED");
        }
        if (certificate != nullptr) {
            const auto key = std::make_pair(thing->thing_name, certificate->certificate_arn);
            if (thing_principals_.insert(key, ThingPrincipalType::kNonExclusiveThing)) {
                MarkChanged("thing_principal", key.first + "\n" + key.second);
            }
        }
        result.thing_name = thing->thing_name;
        result.resource_arns["thing"] = thing->thing_arn;
    }
    return result;
}

AwsResult<RegisterThingResponse> Registry::RegisterThing(const RegisterThingRequest& request) {
    auto plan = EvaluateTemplate(request.template_body, request.parameters);
    if (!plan) {
        return sim::Unexpected<AwsError>(plan.error());
    }
    auto run = RunTemplate(*plan);
    if (!run) {
        return sim::Unexpected<AwsError>(run.error());
    }
    RegisterThingResponse response;
    if (run->certificate_id) {
        response.certificate_pem = FindCertificate(*run->certificate_id)->info.pem;
    }
    response.resource_arns = run->resource_arns;
    return response;
}

AwsResult<CreateProvisioningClaimResponse> Registry::CreateProvisioningClaim(
    const CreateProvisioningClaimRequest& request) {
    const auto* tpl = FindProvisioningTemplate(request.template_name);
    if (auto valid = internal::CheckTemplateName(request.template_name); !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    if (tpl == nullptr) {
        return Fail(error_type::kResourceNotFound,
                    "provisioning template " + request.template_name + " does not exist");
    }
    if (tpl->type != TemplateType::kFleetProvisioning) {
        return Fail(error_type::kInvalidRequest, "templateName: " + request.template_name +
                                                     " is not a FLEET_PROVISIONING template");
    }
    const auto& cert = request.certificate;
    if (!sim::IsLowerHex(cert.certificate_id, 64) || cert.pem.empty()) {
        return Fail(error_type::kInvalidRequest, "certificate: not a parsed certificate");
    }
    if (certificates_.count(cert.certificate_id) != 0) {
        return Fail(error_type::kResourceAlreadyExists, "certificate: already registered");
    }
    const TimePoint now = clock_.Now();
    Certificate entry;
    entry.certificate_id = cert.certificate_id;
    entry.certificate_arn = CertificateArn(settings_, entry.certificate_id);
    entry.status = CertificateStatus::kActive;
    entry.owned_by = settings_.account_id;
    entry.creation_date = now;
    entry.last_modified_date = now;
    entry.generation_id = NewGenerationId();
    entry.info = cert;
    entry.claim_template_name = request.template_name;
    entry.claim_expiration = now + kClaimLifetime;
    NoteClaimExpiry(*entry.claim_expiration);
    CreateProvisioningClaimResponse response{entry.certificate_id, cert.pem,
                                             *entry.claim_expiration};
    MarkChanged("certificate", entry.certificate_id);
    certificates_.emplace(entry.certificate_id, std::move(entry));
    return response;
}

// ---- Device connections: JITR and JITP ---------------------------------------------------------

ConnectDecision Registry::AuthenticateDevice(const DeviceConnectRequest& request) {
    const TimePoint now = clock_.Now();
    const pki::CertificateInfo& presented = request.certificate;
    ConnectDecision decision;
    decision.certificate_id = presented.certificate_id;
    auto refuse = [&](std::string reason) {
        decision.verdict = ConnectVerdict::kRefuse;
        decision.reason = std::move(reason);
        return decision;
    };

    // Find the registered CA that signed a certificate (subject match + signature).
    auto signing_ca = [&]() -> const CaCertificate* {
        for (const auto& [id, ca] : cas_) {
            if (ca.info.subject == presented.issuer && pki::IsSignedBy(presented, ca.info)) {
                return &ca;
            }
        }
        return nullptr;
    };

    if (const auto known = certificates_.find(presented.certificate_id);
        known != certificates_.end()) {
        const Certificate& cert = known->second;
        if (now < presented.not_before || now > presented.not_after) {
            return refuse("certificate expired or not yet valid");
        }
        switch (cert.status) {
            case CertificateStatus::kActive:
                if (cert.claim_expiration && now > *cert.claim_expiration) {
                    return refuse("provisioning claim certificate expired");
                }
                decision.verdict = ConnectVerdict::kAccept;
                decision.reason = "certificate ACTIVE";
                decision.is_provisioning_claim = cert.claim_template_name.has_value();
                decision.thing_name = ThingForConnection(cert.certificate_id, request.client_id);
                return decision;
            case CertificateStatus::kPendingActivation: {
                const CaCertificate* ca = nullptr;
                if (cert.ca_certificate_id) {
                    ca = FindCaCertificate(*cert.ca_certificate_id);
                }
                if (ca == nullptr || ca->status != CaStatus::kActive ||
                    ca->auto_registration_status != AutoRegistrationStatus::kEnable) {
                    return refuse("certificate PENDING_ACTIVATION");
                }
                break;  // auto-registration below runs again (JITR event / JITP retry)
            }
            default:
                return refuse("certificate " + std::string(ToString(cert.status)));
        }
    } else {
        const CaCertificate* ca = signing_ca();
        if (ca == nullptr) {
            return refuse("certificate not registered and not signed by a registered CA");
        }
        if (ca->status != CaStatus::kActive) {
            return refuse("CA certificate " + ca->certificate_id + " is INACTIVE");
        }
        if (ca->auto_registration_status != AutoRegistrationStatus::kEnable) {
            return refuse("CA certificate " + ca->certificate_id +
                          " has auto-registration DISABLE");
        }
        if (now < presented.not_before || now > presented.not_after) {
            return refuse("certificate expired or not yet valid");
        }
        // JITR and JITP alike: register PENDING_ACTIVATION under the CA.
        Certificate entry;
        entry.certificate_id = presented.certificate_id;
        entry.certificate_arn = CertificateArn(settings_, entry.certificate_id);
        entry.ca_certificate_id = ca->certificate_id;
        entry.status = CertificateStatus::kPendingActivation;
        entry.certificate_mode = ca->certificate_mode;
        entry.owned_by = settings_.account_id;
        entry.creation_date = now;
        entry.last_modified_date = now;
        entry.generation_id = NewGenerationId();
        entry.info = presented;
        MarkChanged("certificate", entry.certificate_id);
        certificates_.emplace(entry.certificate_id, std::move(entry));
    }

    const Certificate& cert = certificates_.find(presented.certificate_id)->second;
    const CaCertificate& ca = cas_.find(*cert.ca_certificate_id)->second;
    decision.verdict = ConnectVerdict::kCloseAfterRegistration;
    const RegistrationConfig& config = ca.registration_config;
    if (config.template_body || config.template_name) {
        // JITP (AWS IoT Core Developer Guide, 'Just-in-time provisioning'). Assumed: no registered
        // event is published (AWS does not say), and a certificate left PENDING_ACTIVATION by a
        // failed run is provisioned again on its next connect.
        std::string body;
        if (config.template_name) {
            const auto* tpl = FindProvisioningTemplate(*config.template_name);
            if (tpl == nullptr) {
                decision.reason = "JITP failed: template " + *config.template_name + " is gone";
                return decision;
            }
            if (!tpl->enabled) {
                decision.reason = "JITP failed: template " + *config.template_name + " is disabled";
                return decision;
            }
            body = tpl->DefaultBody();
        } else {
            body = *config.template_body;
        }
        auto plan = EvaluateTemplate(body, JitpParameters(presented));
        if (!plan) {
            decision.reason = "JITP failed: " + plan.error().message;
            return decision;
        }
        auto run = RunTemplate(*plan);
        if (!run) {
            decision.reason = "JITP failed: " + run.error().message;
            return decision;
        }
        decision.thing_name = run->thing_name;
        decision.reason = "JITP provisioned certificate " + presented.certificate_id;
        return decision;
    }

    // JITR (AWS IoT Core Developer Guide, 'Register a client certificate when the client connects
    // to AWS IoT just-in-time registration (JITR)'): the registered event, on first registration
    // and on each later connect while PENDING_ACTIVATION; the CA_CERTIFICATE event configuration
    // gates it.
    decision.reason = "JITR registered certificate PENDING_ACTIVATION";
    if (event_configurations_["CA_CERTIFICATE"]) {
        nlohmann::json payload = {
            {"certificateId", cert.certificate_id},
            {"caCertificateId", ca.certificate_id},
            {"timestamp", sim::ToEpochMillis(now)},
            {"certificateStatus", "PENDING_ACTIVATION"},
            {"awsAccountId", settings_.account_id},
            // A real captured event carries null here (AWS's JITR samples).
            {"certificateRegistrationTimestamp", nullptr},
            {"sourceIp", request.source_ip},
        };
        effects_.push_back(Effect{Effect::Kind::kPublish,
                                  "$aws/events/certificates/registered/" + ca.certificate_id,
                                  payload.dump(),
                                  {}});
    }
    return decision;
}

// ---- Fleet provisioning MQTT API ---------------------------------------------------------------

AwsResult<FleetCreateCertificateResponse> Registry::FleetCreateCertificate(
    const FleetCreateCertificateRequest& request) {
    const auto& cert = request.certificate;
    if (!sim::IsLowerHex(cert.certificate_id, 64) || cert.pem.empty()) {
        return Fail(error_type::kInvalidPayload, "certificate: not a parsed certificate");
    }
    if (certificates_.count(cert.certificate_id) != 0) {
        return Fail(error_type::kInvalidPayload, "certificate: already registered");
    }
    const TimePoint now = clock_.Now();
    Certificate entry;
    entry.certificate_id = cert.certificate_id;
    entry.certificate_arn = CertificateArn(settings_, entry.certificate_id);
    entry.status = CertificateStatus::kPendingActivation;  // until RegisterThing activates it
    entry.owned_by = settings_.account_id;
    entry.creation_date = now;
    entry.last_modified_date = now;
    entry.generation_id = NewGenerationId();
    entry.info = cert;
    // Assumed: the token format is opaque; 64 random hex characters.
    OwnershipToken token{random_.Hex(32), cert.certificate_id, now + kOwnershipTokenLifetime,
                         request.requester};
    FleetCreateCertificateResponse response{cert.certificate_id, token.token};
    MarkChanged("certificate", entry.certificate_id);
    MarkChanged("ownership_token", token.token);
    certificates_.emplace(entry.certificate_id, std::move(entry));
    ownership_tokens_.emplace(token.token, std::move(token));
    return response;
}

AwsResult<FleetRegisterThingResponse> Registry::FleetRegisterThing(
    const FleetRegisterThingRequest& request) {
    const TimePoint now = clock_.Now();
    if (request.certificate_ownership_token.empty()) {
        // The one confirmed rejection (aws-iot-device-sdk-js-v2 issue #69).
        return Fail(error_type::kInvalidCertificateOwnershipToken,
                    "Certificate ownership token cannot be empty.");
    }
    const auto token = ownership_tokens_.find(request.certificate_ownership_token);
    if (token == ownership_tokens_.end() || now > token->second.expiration ||
        certificates_.count(token->second.certificate_id) == 0) {
        return Fail(error_type::kInvalidCertificateOwnershipToken,
                    "Certificate ownership token is invalid or expired.");
    }
    if (!token->second.requester.empty() && token->second.requester != request.requester) {
        return Fail(error_type::kInvalidCertificateOwnershipToken,
                    "Certificate ownership token was issued to another connection.");
    }
    const auto* tpl = FindProvisioningTemplate(request.template_name);
    if (tpl == nullptr) {
        return Fail(error_type::kResourceNotFound,
                    "provisioning template " + request.template_name + " does not exist");
    }
    if (tpl->type != TemplateType::kFleetProvisioning || !tpl->enabled) {
        return Fail(error_type::kAccessDenied,
                    "provisioning template " + request.template_name +
                        (tpl->enabled ? " is not a FLEET_PROVISIONING template" : " is disabled"));
    }
    std::map<std::string, std::string> parameters = request.parameters;
    for (const auto& [key, value] : request.parameter_overrides) {
        parameters[key] = value;  // the hook's overrides win ('Pre-provisioning hooks')
    }
    const std::string certificate_id = token->second.certificate_id;
    parameters["AWS::IoT::Certificate::Id"] = certificate_id;  // filled from the token
    auto plan = EvaluateTemplate(tpl->DefaultBody(), parameters);
    if (!plan) {
        return Fail(error_type::kInvalidPayload, plan.error().message);
    }
    for (const auto& spec : plan->certificates) {
        // "Only certificate IDs can be used in fleet-provisioning templates" ('Provisioning
        // templates').
        if (!spec.certificate_id || *spec.certificate_id != certificate_id) {
            return Fail(error_type::kInvalidPayload,
                        "Resources." + spec.logical_id +
                            R"(: the certificate must be {"Ref": "AWS::IoT::Certificate::Id"})");
        }
    }
    auto run = RunTemplate(*plan);
    if (!run) {
        return sim::Unexpected<AwsError>(run.error());
    }
    // Assumed: a token provisions once.
    MarkChanged("ownership_token", token->first);
    ownership_tokens_.erase(token);
    return FleetRegisterThingResponse{run->device_configuration, run->thing_name};
}

const OwnershipToken* Registry::FindOwnershipToken(std::string_view token) const {
    const auto it = ownership_tokens_.find(token);
    return it == ownership_tokens_.end() ? nullptr : &it->second;
}

void Registry::Tick() {
    const TimePoint now = clock_.Now();
    // 'Device provisioning MQTT API': after an hour, a certificate that was not activated and is
    // not attached to a policy or thing is deleted; the token expires either way.
    for (auto token = ownership_tokens_.begin(); token != ownership_tokens_.end();) {
        if (now <= token->second.expiration) {
            ++token;
            continue;
        }
        const auto cert = certificates_.find(token->second.certificate_id);
        if (cert != certificates_.end() &&
            cert->second.status == CertificateStatus::kPendingActivation) {
            const std::string arn = cert->second.certificate_arn;
            const bool attached = !policy_targets_.WithSecond(arn).empty() ||
                                  !thing_principals_.WithSecond(arn).empty();
            if (!attached) {
                MarkChanged("certificate", cert->first);
                certificates_.erase(cert);
            }
        }
        MarkChanged("ownership_token", token->first);
        token = ownership_tokens_.erase(token);
    }
    // Claim certificates stop working after 5 minutes (CreateProvisioningClaim). Assumed: they are
    // deleted then, with their attachments.
    if (!next_claim_expiry_ || now <= *next_claim_expiry_) {
        return;
    }
    next_claim_expiry_.reset();
    for (auto cert = certificates_.begin(); cert != certificates_.end();) {
        if (!cert->second.claim_expiration || now <= *cert->second.claim_expiration) {
            if (cert->second.claim_expiration) {
                NoteClaimExpiry(*cert->second.claim_expiration);
            }
            ++cert;
            continue;
        }
        const std::string arn = cert->second.certificate_arn;
        for (const auto& entry : policy_targets_.WithSecond(arn)) {
            MarkChanged("policy_target", entry->first.first + "\n" + entry->first.second);
            policy_targets_.erase(entry);
        }
        for (const auto& entry : thing_principals_.WithSecond(arn)) {
            MarkChanged("thing_principal", entry->first.first + "\n" + entry->first.second);
            thing_principals_.erase(entry);
        }
        effects_.push_back(Effect{Effect::Kind::kDisconnectCertificate, {}, {}, cert->first});
        MarkChanged("certificate", cert->first);
        cert = certificates_.erase(cert);
    }
}

}  // namespace sim::account
