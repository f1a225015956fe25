// SPDX-License-Identifier: Apache-2.0
// The registry's control-plane operations: registration code, endpoint, event configurations,
// CA and device certificates, things, thing types, thing principals, policies.
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
          // Assumed: enabled by default, since JITR works without touching it (§3).
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

std::vector<std::string> Registry::PoliciesOfCertificate(std::string_view certificate_id) const {
    const std::string arn = CertificateArn(settings_, certificate_id);
    std::vector<std::string> out;
    for (const auto& [policy, target] : policy_targets_) {
        if (target == arn) {
            out.push_back(policy);
        }
    }
    return out;
}

std::optional<std::string> Registry::ThingForConnection(std::string_view certificate_id,
                                                        std::string_view client_id) const {
    // aws-iot-core.md §7: the exclusively attached thing, else the attached thing whose name
    // equals the client id.
    const std::string arn = CertificateArn(settings_, certificate_id);
    std::optional<std::string> by_client_id;
    for (const auto& [key, type] : thing_principals_) {
        if (key.second != arn) {
            continue;
        }
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
        registration_code_ = random_.Hex(32);  // 64 hex characters (§1.3)
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

// ---- CA certificates ---------------------------------------------------------------------------

namespace {

// One rule set for RegisterCACertificate and UpdateCACertificate: templateName excludes
// templateBody+roleArn, each of those needs the other, and a named template must be JITP.
AwsStatus ValidateRegistrationConfig(const Registry& registry, const RegistrationConfig& config) {
    if (config.template_name && (config.template_body || config.role_arn)) {
        return Fail(error_type::kInvalidRequest,
                    "registrationConfig: templateName excludes templateBody and roleArn");
    }
    if (config.template_body) {
        if (!config.role_arn || config.role_arn->size() < 20) {
            return Fail(error_type::kInvalidRequest,
                        "registrationConfig.roleArn: required with templateBody");
        }
        if (auto valid = ValidateTemplateBody(*config.template_body); !valid) {
            return Fail(error_type::kInvalidRequest,
                        "registrationConfig." + valid.error().message);
        }
    } else if (config.role_arn) {
        return Fail(error_type::kInvalidRequest,
                    "registrationConfig.templateBody: required with roleArn");
    }
    if (config.template_name) {
        const auto* tpl = registry.FindProvisioningTemplate(*config.template_name);
        if (tpl == nullptr) {
            return Fail(error_type::kResourceNotFound,
                        "registrationConfig.templateName: provisioning template " +
                            *config.template_name + " does not exist");
        }
        if (tpl->type != TemplateType::kJitp) {
            return Fail(error_type::kInvalidRequest,
                        "registrationConfig.templateName: " + *config.template_name +
                            " is not a JITP template");
        }
    }
    return {};
}

AwsResult<pki::CertificateInfo> ParsePem(std::string_view pem, std::string_view field) {
    if (pem.empty() || pem.size() > internal::kMaxCertificatePem) {
        return Fail(error_type::kInvalidRequest,
                    std::string(field) + ": must be 1 to 65536 characters");
    }
    auto parsed = pki::ParseCertificatePem(pem);
    if (!parsed) {
        return Fail(error_type::kCertificateValidation,
                    std::string(field) + ": " + parsed.error().message);
    }
    return std::move(*parsed);
}

AwsStatus CheckValidity(const pki::CertificateInfo& info, TimePoint now, std::string_view field) {
    if (now < info.not_before) {
        return Fail(error_type::kCertificateValidation,
                    std::string(field) + ": the certificate is not yet valid");
    }
    if (now > info.not_after) {
        return Fail(error_type::kCertificateValidation,
                    std::string(field) + ": the certificate has expired");
    }
    return {};
}

// A newly registered certificate, CA (`CaCertificate`) or device (`Certificate`): owned by this
// account, created and last modified at `now`, customer version 1. The caller sets the
// members only its kind has.
template <class Entry, class Status>
Entry NewCertificateEntry(const AccountSettings& settings, pki::CertificateInfo&& info,
                          Status status, CertificateMode mode, TimePoint now,
                          std::string generation_id) {
    Entry entry;
    entry.certificate_id = info.certificate_id;
    if constexpr (std::is_same_v<Entry, CaCertificate>) {
        entry.certificate_arn = CaCertificateArn(settings, entry.certificate_id);
    } else {
        entry.certificate_arn = CertificateArn(settings, entry.certificate_id);
    }
    entry.status = status;
    entry.certificate_mode = mode;
    entry.owned_by = settings.account_id;
    entry.creation_date = now;
    entry.last_modified_date = now;
    entry.generation_id = std::move(generation_id);
    entry.info = std::move(info);
    return entry;
}

// Adds a newly registered certificate (CA or device) to `entries`; answers with its ids.
template <class Map, class Entry>
RegisterCertificateResponse StoreNew(Map& entries, Entry entry) {
    RegisterCertificateResponse response{entry.certificate_arn, entry.certificate_id};
    entries.emplace(response.certificate_id, std::move(entry));
    return response;
}

// DescribeCACertificate and DescribeCertificate: `id_text` must be a certificate id (InvalidRequest
// naming `field`), and `find` must know it (ResourceNotFound naming it as `noun`).
template <class Entry, class Find>
AwsResult<Entry> DescribeById(std::string_view id_text, std::string_view field,
                              std::string_view noun, Find find) {
    auto id = NormaliseCertificateId(id_text, field);
    if (!id) {
        return sim::Unexpected<AwsError>(id.error());
    }
    const Entry* entry = find(*id);
    if (entry == nullptr) {
        return Fail(error_type::kResourceNotFound,
                    std::string(noun) + " " + *id + " does not exist");
    }
    return *entry;
}

// One ListCACertificates / ListCertificates(ByCA) page: the entries `keep` selects, ordered by
// creationDate (then id), as certificate summaries.
template <class Map, class Keep>
ListCertificatesResponse CertificatePage(const Map& entries, const internal::PageWindow& window,
                                         Keep keep) {
    std::vector<std::pair<std::string, CertificateSummary>> sorted;
    for (const auto& [id, cert] : entries) {
        if (!keep(cert)) {
            continue;
        }
        sorted.emplace_back(
            internal::TimeKey(cert.creation_date, id),
            CertificateSummary{cert.certificate_arn, id, std::string(ToString(cert.status)),
                               std::string(ToString(cert.certificate_mode)), cert.creation_date});
    }
    std::sort(sorted.begin(), sorted.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    auto [items, next] = internal::TakePage(std::move(sorted), window);
    return ListCertificatesResponse{std::move(items), std::move(next)};
}

// The thing a thing operation names: InvalidRequest for a malformed name, ResourceNotFound for
// an unknown one.
AwsResult<const Thing*> ExistingThing(const Registry& registry, std::string_view thing_name) {
    if (!internal::IsThingName(thing_name)) {
        return Fail(error_type::kInvalidRequest,
                    "thingName: must be 1-128 characters of [a-zA-Z0-9:_-]");
    }
    const auto* thing = registry.FindThing(thing_name);
    if (thing == nullptr) {
        return Fail(error_type::kResourceNotFound,
                    "thing " + std::string(thing_name) + " does not exist");
    }
    return thing;
}

}  // namespace

AwsResult<RegisterCertificateResponse> Registry::RegisterCACertificate(
    const RegisterCaCertificateRequest& request) {
    const TimePoint now = clock_.Now();
    CertificateMode mode = CertificateMode::kDefault;
    if (request.certificate_mode) {
        const auto parsed = ParseCertificateMode(*request.certificate_mode);
        if (!parsed) {
            return Fail(error_type::kInvalidRequest,
                        "certificateMode: expected DEFAULT or SNI_ONLY, got \"" +
                            *request.certificate_mode + "\"");
        }
        mode = *parsed;
    }
    auto ca = ParsePem(request.ca_certificate, "caCertificate");
    if (!ca) {
        return sim::Unexpected<AwsError>(std::move(ca).error());
    }
    if (!ca->is_ca) {
        return Fail(error_type::kCertificateValidation,
                    "caCertificate: not a CA certificate (basicConstraints CA:TRUE missing)");
    }
    if (auto valid = CheckValidity(*ca, now, "caCertificate"); !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    if (const auto existing = cas_.find(ca->certificate_id); existing != cas_.end()) {
        AwsError error{std::string(error_type::kResourceAlreadyExists),
                       "caCertificate: the CA certificate is already registered",
                       existing->second.certificate_id, existing->second.certificate_arn};
        return sim::Unexpected<AwsError>(std::move(error));
    }

    // DEFAULT mode proves possession with a verification certificate whose CN is the
    // registration code, signed by the CA; SNI_ONLY mode takes none (§1.3).
    if (mode == CertificateMode::kDefault) {
        if (!request.verification_certificate) {
            return Fail(error_type::kInvalidRequest,
                        "verificationCertificate: required in DEFAULT certificate mode");
        }
        auto verification = ParsePem(*request.verification_certificate, "verificationCertificate");
        if (!verification) {
            return sim::Unexpected<AwsError>(std::move(verification).error());
        }
        if (!registration_code_) {
            // Assumed: no code exists until GetRegistrationCode was called.
            return Fail(error_type::kRegistrationCodeValidation,
                        "verificationCertificate: the account has no registration code "
                        "(call GetRegistrationCode first)");
        }
        if (verification->subject.Get("CN") != registration_code_) {
            // §9 item 11: CN mismatch is a RegistrationCodeValidationException.
            return Fail(error_type::kRegistrationCodeValidation,
                        "verificationCertificate: its common name is not the registration code");
        }
        if (!pki::IsSignedBy(*verification, *ca)) {
            return Fail(error_type::kCertificateValidation,
                        "verificationCertificate: not signed by the CA certificate");
        }
        if (auto valid = CheckValidity(*verification, now, "verificationCertificate"); !valid) {
            return sim::Unexpected<AwsError>(valid.error());
        }
    } else if (request.verification_certificate) {
        return Fail(error_type::kInvalidRequest,
                    "verificationCertificate: not allowed in SNI_ONLY certificate mode");
    }

    RegistrationConfig config;
    if (request.registration_config) {
        config = *request.registration_config;
        if (auto valid = ValidateRegistrationConfig(*this, config); !valid) {
            return sim::Unexpected<AwsError>(valid.error());
        }
    }

    const auto same_subject = std::count_if(cas_.begin(), cas_.end(), [&](const auto& entry) {
        return entry.second.info.subject == ca->subject;
    });
    if (static_cast<std::size_t>(same_subject) >= internal::kMaxCasWithSameSubject) {
        return Fail(error_type::kLimitExceeded, "caCertificate: 10 CA certificates with subject " +
                                                    ca->subject.ToString() +
                                                    " are already registered");
    }
    if (mode == CertificateMode::kDefault && default_mode_index_ != nullptr &&
        !default_mode_index_->TryClaim(settings_.region, ca->certificate_id,
                                       settings_.account_id)) {
        // Assumed (§9 item 10): ResourceAlreadyExistsException.
        return Fail(error_type::kResourceAlreadyExists,
                    "caCertificate: registered in DEFAULT mode by another account in " +
                        settings_.region + "; register it in SNI_ONLY mode");
    }

    auto entry = NewCertificateEntry<CaCertificate>(
        settings_, std::move(*ca), request.set_as_active ? CaStatus::kActive : CaStatus::kInactive,
        mode, now, NewGenerationId());
    entry.auto_registration_status = request.allow_auto_registration
                                         ? AutoRegistrationStatus::kEnable
                                         : AutoRegistrationStatus::kDisable;
    entry.registration_config = std::move(config);
    MarkChanged("ca", entry.certificate_id);
    return StoreNew(cas_, std::move(entry));
}

AwsResult<CaCertificate> Registry::DescribeCACertificate(std::string_view ca_certificate_id) const {
    return DescribeById<CaCertificate>(
        ca_certificate_id, "caCertificateId", "CA certificate",
        [this](std::string_view id) { return FindCaCertificate(id); });
}

AwsStatus Registry::UpdateCACertificate(const UpdateCaCertificateRequest& request) {
    auto id = NormaliseCertificateId(request.certificate_id, "caCertificateId");
    if (!id) {
        return sim::Unexpected<AwsError>(id.error());
    }
    std::optional<CaStatus> status;
    if (request.new_status) {
        status = ParseCaStatus(*request.new_status);
        if (!status) {
            return Fail(
                error_type::kInvalidRequest,
                "newStatus: expected ACTIVE or INACTIVE, got \"" + *request.new_status + "\"");
        }
    }
    std::optional<AutoRegistrationStatus> auto_status;
    if (request.new_auto_registration_status) {
        auto_status = ParseAutoRegistrationStatus(*request.new_auto_registration_status);
        if (!auto_status) {
            return Fail(error_type::kInvalidRequest,
                        "newAutoRegistrationStatus: expected ENABLE or DISABLE, got \"" +
                            *request.new_auto_registration_status + "\"");
        }
    }
    if (request.remove_auto_registration && request.registration_config) {
        return Fail(error_type::kInvalidRequest,
                    "removeAutoRegistration: cannot be combined with registrationConfig");
    }
    if (request.registration_config) {
        const auto& config = *request.registration_config;
        if (auto valid = ValidateRegistrationConfig(*this, config); !valid) {
            return sim::Unexpected<AwsError>(valid.error());
        }
    }
    const auto it = cas_.find(*id);
    if (it == cas_.end()) {
        return Fail(error_type::kResourceNotFound, "CA certificate " + *id + " does not exist");
    }
    CaCertificate& ca = it->second;
    if (status) {
        ca.status = *status;
    }
    if (auto_status) {
        ca.auto_registration_status = *auto_status;
    }
    if (request.registration_config) {
        ca.registration_config = *request.registration_config;
    }
    if (request.remove_auto_registration) {
        ca.registration_config = RegistrationConfig{};
    }
    ca.last_modified_date = clock_.Now();
    ++ca.customer_version;
    ca.generation_id = NewGenerationId();
    MarkChanged("ca", ca.certificate_id);
    return {};
}

AwsResult<ListCertificatesResponse> Registry::ListCACertificates(
    const PageRequest& page, const std::optional<std::string>& template_name) const {
    auto window = internal::ReadPage(page, "pageSize", "marker", page.ascending);
    if (!window) {
        return sim::Unexpected<AwsError>(window.error());
    }
    return CertificatePage(cas_, *window, [&](const CaCertificate& ca) {
        return !template_name || ca.registration_config.template_name == template_name;
    });
}

AwsStatus Registry::DeleteCACertificate(std::string_view ca_certificate_id) {
    auto id = NormaliseCertificateId(ca_certificate_id, "caCertificateId");
    if (!id) {
        return sim::Unexpected<AwsError>(id.error());
    }
    const auto it = cas_.find(*id);
    if (it == cas_.end()) {
        return Fail(error_type::kResourceNotFound, "CA certificate " + *id + " does not exist");
    }
    if (it->second.status == CaStatus::kActive) {
        return Fail(error_type::kCertificateState,
                    "CA certificate " + *id + " is ACTIVE; set it INACTIVE before deleting it");
    }
    // Assumed (§9 item 4): device certificates registered under the CA stay registered and
    // usable; they keep their caCertificateId.
    if (it->second.certificate_mode == CertificateMode::kDefault &&
        default_mode_index_ != nullptr) {
        default_mode_index_->Release(settings_.region, *id, settings_.account_id);
    }
    cas_.erase(it);
    MarkChanged("ca", *id);
    return {};
}

// ---- Device certificates -----------------------------------------------------------------------

namespace {

AwsResult<CertificateStatus> ReadRegisterStatus(const RegisterDeviceCertificateRequest& request) {
    if (request.set_as_active) {
        return CertificateStatus::kActive;
    }
    if (!request.status) {
        return CertificateStatus::kInactive;  // "register, but not activate" (§1.3)
    }
    const auto status = ParseCertificateStatus(*request.status);
    if (!status ||
        (*status != CertificateStatus::kActive && *status != CertificateStatus::kInactive &&
         *status != CertificateStatus::kRevoked)) {
        return Fail(
            error_type::kInvalidRequest,
            "status: expected ACTIVE, INACTIVE or REVOKED, got \"" + *request.status + "\"");
    }
    return *status;
}

struct NewDeviceCertificate {
    CertificateStatus status;
    pki::CertificateInfo info;
};

// RegisterCertificate and RegisterCertificateWithoutCA: the status to register with, and a
// parsable, currently valid PEM whose certificateId is not registered yet (the id is the DER's
// SHA-256, so the same PEM twice is ResourceAlreadyExists with its id and ARN,
// aws-iot-core.md §2.1).
AwsResult<NewDeviceCertificate> ReadNewDeviceCertificate(
    const RegisterDeviceCertificateRequest& request,
    const std::map<std::string, Certificate, std::less<>>& registered, TimePoint now) {
    auto status = ReadRegisterStatus(request);
    if (!status) {
        return sim::Unexpected<AwsError>(status.error());
    }
    auto cert = ParsePem(request.certificate_pem, "certificatePem");
    if (!cert) {
        return sim::Unexpected<AwsError>(std::move(cert).error());
    }
    if (const auto existing = registered.find(cert->certificate_id); existing != registered.end()) {
        return sim::Unexpected<AwsError>(AwsError{
            std::string(error_type::kResourceAlreadyExists),
            "certificatePem: the certificate is already provisioned or registered",
            existing->second.certificate_id, existing->second.certificate_arn});
    }
    if (auto valid = CheckValidity(*cert, now, "certificatePem"); !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    return NewDeviceCertificate{*status, std::move(cert).value()};
}

}  // namespace

AwsResult<RegisterCertificateResponse> Registry::RegisterCertificate(
    const RegisterDeviceCertificateRequest& request) {
    const TimePoint now = clock_.Now();
    auto read = ReadNewDeviceCertificate(request, certificates_, now);
    if (!read) {
        return sim::Unexpected<AwsError>(std::move(read).error());
    }
    const pki::CertificateInfo& cert = read->info;
    // Which registered CA signed it: the given caCertificatePem, else every registered CA with
    // the issuer's subject whose key verifies the signature (§1.3 RegisterCertificate).
    const CaCertificate* signer = nullptr;
    if (request.ca_certificate_pem) {
        auto ca = ParsePem(*request.ca_certificate_pem, "caCertificatePem");
        if (!ca) {
            return sim::Unexpected<AwsError>(std::move(ca).error());
        }
        signer = FindCaCertificate(ca->certificate_id);
        if (signer == nullptr) {
            return Fail(error_type::kCertificateValidation,
                        "caCertificatePem: the CA certificate is not registered");
        }
        if (!pki::IsSignedBy(cert, signer->info)) {
            return Fail(error_type::kCertificateValidation,
                        "certificatePem: not signed by the given CA certificate");
        }
    } else {
        std::vector<const CaCertificate*> candidates;
        for (const auto& [id, ca] : cas_) {
            if (ca.info.subject == cert.issuer && pki::IsSignedBy(cert, ca.info)) {
                candidates.push_back(&ca);
            }
        }
        if (candidates.empty()) {
            return Fail(error_type::kCertificateValidation,
                        "certificatePem: not signed by a registered CA certificate (issuer " +
                            cert.issuer.ToString() + ")");
        }
        if (candidates.size() > 1) {
            return Fail(error_type::kCertificateConflict,
                        "certificatePem: more than one registered CA certificate has the same "
                        "subject field and public key; pass caCertificatePem");
        }
        signer = candidates.front();
    }
    if (signer->status != CaStatus::kActive) {
        // Assumed: registering under an INACTIVE CA is refused (the modeled
        // CertificateStateException of RegisterCertificate).
        return Fail(error_type::kCertificateState,
                    "caCertificate " + signer->certificate_id + " is not ACTIVE");
    }

    // The certificate inherits the CA's mode (§1.3).
    auto entry = NewCertificateEntry<Certificate>(settings_, std::move(read->info), read->status,
                                                  signer->certificate_mode, now, NewGenerationId());
    entry.ca_certificate_id = signer->certificate_id;
    MarkChanged("certificate", entry.certificate_id);
    return StoreNew(certificates_, std::move(entry));
}

AwsResult<RegisterCertificateResponse> Registry::RegisterCertificateWithoutCA(
    const RegisterDeviceCertificateRequest& request) {
    const TimePoint now = clock_.Now();
    if (request.ca_certificate_pem) {
        return Fail(error_type::kInvalidRequest,
                    "caCertificatePem: not a member of RegisterCertificateWithoutCA");
    }
    auto read = ReadNewDeviceCertificate(request, certificates_, now);
    if (!read) {
        return sim::Unexpected<AwsError>(std::move(read).error());
    }
    // SNI_ONLY: the model's documentation of certificateMode.
    auto entry =
        NewCertificateEntry<Certificate>(settings_, std::move(read->info), read->status,
                                         CertificateMode::kSniOnly, now, NewGenerationId());
    MarkChanged("certificate", entry.certificate_id);
    return StoreNew(certificates_, std::move(entry));
}

AwsResult<RegisterCertificateResponse> Registry::RegisterIssuedCertificate(
    const RegisterIssuedCertificateRequest& request) {
    const TimePoint now = clock_.Now();
    const auto& cert = request.certificate;
    if (!sim::IsLowerHex(cert.certificate_id, 64) || cert.pem.empty()) {
        return Fail(error_type::kInvalidRequest, "certificate: not a parsed certificate");
    }
    if (const auto existing = certificates_.find(cert.certificate_id);
        existing != certificates_.end()) {
        AwsError error{std::string(error_type::kResourceAlreadyExists),
                       "certificate: already registered", existing->second.certificate_id,
                       existing->second.certificate_arn};
        return sim::Unexpected<AwsError>(std::move(error));
    }
    auto entry = NewCertificateEntry<Certificate>(
        settings_, pki::CertificateInfo(cert),
        request.set_as_active ? CertificateStatus::kActive : CertificateStatus::kInactive,
        CertificateMode::kDefault, now, NewGenerationId());
    MarkChanged("certificate", entry.certificate_id);
    return StoreNew(certificates_, std::move(entry));
}

AwsResult<Certificate> Registry::DescribeCertificate(std::string_view certificate_id) const {
    return DescribeById<Certificate>(certificate_id, "certificateId", "certificate",
                                     [this](std::string_view id) { return FindCertificate(id); });
}

AwsStatus Registry::UpdateCertificate(std::string_view certificate_id,
                                      std::string_view new_status) {
    auto id = NormaliseCertificateId(certificate_id, "certificateId");
    if (!id) {
        return sim::Unexpected<AwsError>(id.error());
    }
    const auto status = ParseCertificateStatus(new_status);
    if (!status) {
        return Fail(error_type::kInvalidRequest,
                    "newStatus: unknown status \"" + std::string(new_status) + "\"");
    }
    // §1.3 UpdateCertificate: PENDING_TRANSFER and PENDING_ACTIVATION are internal;
    // REGISTER_INACTIVE is deprecated.
    if (*status == CertificateStatus::kPendingTransfer ||
        *status == CertificateStatus::kPendingActivation ||
        *status == CertificateStatus::kRegisterInactive) {
        return Fail(error_type::kInvalidRequest, "newStatus: " + std::string(new_status) +
                                                     " cannot be set by UpdateCertificate");
    }
    const auto it = certificates_.find(*id);
    if (it == certificates_.end()) {
        return Fail(error_type::kResourceNotFound, "certificate " + *id + " does not exist");
    }
    Certificate& cert = it->second;
    if (cert.status == *status) {
        return {};  // idempotent
    }
    if (cert.status == CertificateStatus::kRevoked) {
        // Revocation is final (§2.2; the error type is [U], §9 item 3).
        return Fail(
            error_type::kCertificateState,
            "certificate " + *id + " is REVOKED; a revoked certificate cannot change status");
    }
    if (cert.status == CertificateStatus::kPendingTransfer) {
        return Fail(error_type::kCertificateState, "certificate " + *id + " is PENDING_TRANSFER");
    }
    const bool leaves_active = cert.status == CertificateStatus::kActive;
    cert.status = *status;
    cert.last_modified_date = clock_.Now();
    ++cert.customer_version;
    cert.generation_id = NewGenerationId();
    MarkChanged("certificate", *id);
    if (leaves_active) {
        // "Within a few minutes ... IoT disconnects all devices that used that certificate."
        effects_.push_back(Effect{Effect::Kind::kDisconnectCertificate, {}, {}, *id});
    }
    return {};
}

AwsResult<ListCertificatesResponse> Registry::ListCertificates(const PageRequest& page) const {
    auto window = internal::ReadPage(page, "pageSize", "marker", page.ascending);
    if (!window) {
        return sim::Unexpected<AwsError>(window.error());
    }
    // Provisioning-claim certificates are not listed (§6.3).
    return CertificatePage(certificates_, *window,
                           [](const Certificate& cert) { return !cert.claim_template_name; });
}

AwsResult<ListCertificatesResponse> Registry::ListCertificatesByCA(
    std::string_view ca_certificate_id, const PageRequest& page) const {
    auto id = NormaliseCertificateId(ca_certificate_id, "caCertificateId");
    if (!id) {
        return sim::Unexpected<AwsError>(id.error());
    }
    auto window = internal::ReadPage(page, "pageSize", "marker", page.ascending);
    if (!window) {
        return sim::Unexpected<AwsError>(window.error());
    }
    return CertificatePage(certificates_, *window,
                           [&](const Certificate& cert) { return cert.ca_certificate_id == *id; });
}

AwsStatus Registry::DeleteCertificate(std::string_view certificate_id, bool force_delete) {
    auto id = NormaliseCertificateId(certificate_id, "certificateId");
    if (!id) {
        return sim::Unexpected<AwsError>(id.error());
    }
    const auto it = certificates_.find(*id);
    if (it == certificates_.end()) {
        return Fail(error_type::kResourceNotFound, "certificate " + *id + " does not exist");
    }
    const Certificate& cert = it->second;
    if (cert.status == CertificateStatus::kActive ||
        cert.status == CertificateStatus::kPendingTransfer) {
        return Fail(error_type::kCertificateState, "certificate " + *id + " is " +
                                                       std::string(ToString(cert.status)) +
                                                       "; deactivate it before deleting it");
    }
    const std::string arn = cert.certificate_arn;
    for (const auto& [key, type] : thing_principals_) {
        if (key.second == arn) {
            return Fail(error_type::kDeleteConflict,
                        "certificate " + *id + " is attached to thing " + key.first);
        }
    }
    std::vector<std::pair<std::string, std::string>> attached;
    for (const auto& entry : policy_targets_) {
        if (entry.second == arn) {
            attached.push_back(entry);
        }
    }
    if (!attached.empty() && !force_delete) {
        return Fail(error_type::kDeleteConflict, "certificate " + *id + " has policy " +
                                                     attached.front().first +
                                                     " attached (detach it or use forceDelete)");
    }
    for (const auto& entry : attached) {
        policy_targets_.erase(entry);
        MarkChanged("policy_target", entry.first + "\n" + entry.second);
    }
    for (auto token = ownership_tokens_.begin(); token != ownership_tokens_.end();) {
        if (token->second.certificate_id == *id) {
            MarkChanged("ownership_token", token->first);
            token = ownership_tokens_.erase(token);
        } else {
            ++token;
        }
    }
    certificates_.erase(it);
    MarkChanged("certificate", *id);
    return {};
}

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
        // Idempotent for identical configuration (§1.3 CreateThing).
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
    auto thing = ExistingThing(*this, thing_name);
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
        return {};  // succeeds silently (§1.3 DeleteThing)
    }
    if (expected_version && *expected_version != it->second.version) {
        return Fail(error_type::kVersionConflict, "expectedVersion: thing " +
                                                      it->second.thing_name + " is at version " +
                                                      std::to_string(it->second.version));
    }
    for (const auto& [key, type] : thing_principals_) {
        if (key.first == thing_name) {
            // moto's message (§1.3 [S]).
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
    if (auto thing = ExistingThing(*this, thing_name); !thing) {
        return sim::Unexpected<AwsError>(thing.error());
    }
    auto cert = CertificateFromPrincipal(principal);
    if (!cert) {
        return sim::Unexpected<AwsError>(cert.error());
    }
    const std::string arn = (*cert)->certificate_arn;
    // exclusive-thing.md: an exclusively attached principal has exactly one thing.
    for (const auto& [key, existing_type] : thing_principals_) {
        if (key.second != arn || key.first == thing_name) {
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
    thing_principals_[key] = type;
    MarkChanged("thing_principal", key.first + "\n" + key.second);
    return {};
}

AwsStatus Registry::DetachThingPrincipal(std::string_view thing_name, std::string_view principal) {
    if (auto thing = ExistingThing(*this, thing_name); !thing) {
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
    for (const auto& [key, type] : thing_principals_) {
        if (key.second == (*cert)->certificate_arn) {
            sorted.emplace_back(key.first, key.first);
        }
    }
    auto [items, next] = internal::TakePage(std::move(sorted), *window);
    return NamesPage{std::move(items), std::move(next)};
}

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
    for (const auto& [policy, target] : policy_targets_) {
        if (policy == policy_name) {
            return Fail(error_type::kDeleteConflict,
                        internal::StrCat({"policy ", policy, " is attached to ", target}));
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
    if (policy_targets_.count(key) != 0) {
        return {};
    }
    if (PoliciesOfCertificate((*cert)->certificate_id).size() >=
        internal::kMaxPoliciesPerCertificate) {
        return Fail(error_type::kLimitExceeded,
                    "target: certificate already has 10 policies attached");
    }
    policy_targets_.insert(key);
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
    auto id = NormaliseCertificateId(target.substr(prefix.size()), "target");
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
    for (const auto& [policy, target] : policy_targets_) {
        if (policy == policy_name) {
            sorted.emplace_back(target, target);
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

std::vector<Effect> Registry::TakeEffects() {
    std::vector<Effect> out;
    out.swap(effects_);
    return out;
}

}  // namespace sim::account
