// SPDX-License-Identifier: Apache-2.0
// The registry's CA certificate operations: RegisterCACertificate, DescribeCACertificate,
// ListCACertificates, UpdateCACertificate, DeleteCACertificate (AWS IoT API Reference).
//
// Every mutating operation follows the order registry.cpp describes: validate, look up, check
// the state rules, and only then mutate, MarkChanged() and queue effects.

#include <algorithm>
#include <chrono>
#include <utility>

#include "registry_internal.hpp"

#include "sim/account/registry.hpp"

namespace sim::account {

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
            return Fail(error_type::kInvalidRequest, "registrationConfig." + valid.error().message);
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
    auto ca = internal::ParsePem(request.ca_certificate, "caCertificate");
    if (!ca) {
        return sim::Unexpected<AwsError>(std::move(ca).error());
    }
    if (!ca->is_ca) {
        return Fail(error_type::kCertificateValidation,
                    "caCertificate: not a CA certificate (basicConstraints CA:TRUE missing)");
    }
    if (auto valid = internal::CheckValidity(*ca, now, "caCertificate"); !valid) {
        return sim::Unexpected<AwsError>(valid.error());
    }
    if (const auto existing = cas_.find(ca->certificate_id); existing != cas_.end()) {
        AwsError error{std::string(error_type::kResourceAlreadyExists),
                       "caCertificate: the CA certificate is already registered",
                       existing->second.certificate_id, existing->second.certificate_arn};
        return sim::Unexpected<AwsError>(std::move(error));
    }

    // DEFAULT mode proves possession with a verification certificate whose CN is the
    // registration code, signed by the CA; SNI_ONLY mode takes none (AWS IoT API Reference,
    // RegisterCACertificate, certificateMode).
    if (mode == CertificateMode::kDefault) {
        if (!request.verification_certificate) {
            return Fail(error_type::kInvalidRequest,
                        "verificationCertificate: required in DEFAULT certificate mode");
        }
        auto verification =
            internal::ParsePem(*request.verification_certificate, "verificationCertificate");
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
            // CN mismatch is a RegistrationCodeValidationException (the natural reading of the
            // name; AWS does not document the split from CertificateValidationException).
            return Fail(error_type::kRegistrationCodeValidation,
                        "verificationCertificate: its common name is not the registration code");
        }
        if (!pki::IsSignedBy(*verification, *ca)) {
            return Fail(error_type::kCertificateValidation,
                        "verificationCertificate: not signed by the CA certificate");
        }
        if (auto valid = internal::CheckValidity(*verification, now, "verificationCertificate");
            !valid) {
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
        // Assumed (AWS does not document the error): ResourceAlreadyExistsException.
        return Fail(error_type::kResourceAlreadyExists,
                    "caCertificate: registered in DEFAULT mode by another account in " +
                        settings_.region + "; register it in SNI_ONLY mode");
    }

    auto entry = internal::NewCertificateEntry<CaCertificate>(
        settings_, std::move(*ca), request.set_as_active ? CaStatus::kActive : CaStatus::kInactive,
        mode, now, NewGenerationId());
    entry.auto_registration_status = request.allow_auto_registration
                                         ? AutoRegistrationStatus::kEnable
                                         : AutoRegistrationStatus::kDisable;
    entry.registration_config = std::move(config);
    MarkChanged("ca", entry.certificate_id);
    return internal::StoreNew(cas_, std::move(entry));
}

AwsResult<CaCertificate> Registry::DescribeCACertificate(std::string_view ca_certificate_id) const {
    return internal::DescribeById<CaCertificate>(
        ca_certificate_id, "caCertificateId", "CA certificate",
        [this](std::string_view id) { return FindCaCertificate(id); });
}

AwsStatus Registry::UpdateCACertificate(const UpdateCaCertificateRequest& request) {
    auto id = internal::NormaliseCertificateId(request.certificate_id, "caCertificateId");
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
    return internal::CertificatePage(cas_, *window, [&](const CaCertificate& ca) {
        return !template_name || ca.registration_config.template_name == template_name;
    });
}

AwsStatus Registry::DeleteCACertificate(std::string_view ca_certificate_id) {
    auto id = internal::NormaliseCertificateId(ca_certificate_id, "caCertificateId");
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
    // Assumed (AWS does not document it): device certificates registered under the CA stay
    // registered and usable; they keep their caCertificateId.
    if (it->second.certificate_mode == CertificateMode::kDefault &&
        default_mode_index_ != nullptr) {
        default_mode_index_->Release(settings_.region, *id, settings_.account_id);
    }
    cas_.erase(it);
    MarkChanged("ca", *id);
    return {};
}

}  // namespace sim::account
