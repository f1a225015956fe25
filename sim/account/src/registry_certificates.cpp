// SPDX-License-Identifier: Apache-2.0
// The registry's device certificate operations: RegisterCertificate(WithoutCA),
// RegisterIssuedCertificate, DescribeCertificate, ListCertificates(ByCA), UpdateCertificate,
// DeleteCertificate (AWS IoT API Reference).
//
// Every mutating operation follows the order registry.cpp describes: validate, look up, check
// the state rules, and only then mutate, MarkChanged() and queue effects.

#include <algorithm>
#include <chrono>
#include <utility>

#include "registry_internal.hpp"

#include "sim/account/registry.hpp"

namespace sim::account {

// ---- Device certificates -----------------------------------------------------------------------

namespace {

AwsResult<CertificateStatus> ReadRegisterStatus(const RegisterDeviceCertificateRequest& request) {
    if (request.set_as_active) {
        return CertificateStatus::kActive;
    }
    if (!request.status) {
        // Registered, not activated (AWS IoT Core Developer Guide, 'Activate or deactivate a
        // client certificate': certificates can be registered without activating them).
        return CertificateStatus::kInactive;
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
// SHA-256, so the same PEM twice is ResourceAlreadyExists with its id and ARN, as on AWS).
AwsResult<NewDeviceCertificate> ReadNewDeviceCertificate(
    const RegisterDeviceCertificateRequest& request,
    const std::map<std::string, Certificate, std::less<>>& registered, TimePoint now) {
    auto status = ReadRegisterStatus(request);
    if (!status) {
        return sim::Unexpected<AwsError>(status.error());
    }
    auto cert = internal::ParsePem(request.certificate_pem, "certificatePem");
    if (!cert) {
        return sim::Unexpected<AwsError>(std::move(cert).error());
    }
    if (const auto existing = registered.find(cert->certificate_id); existing != registered.end()) {
        return sim::Unexpected<AwsError>(
            AwsError{std::string(error_type::kResourceAlreadyExists),
                     "certificatePem: the certificate is already provisioned or registered",
                     existing->second.certificate_id, existing->second.certificate_arn});
    }
    if (auto valid = internal::CheckValidity(*cert, now, "certificatePem"); !valid) {
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
    // the issuer's subject whose key verifies the signature (AWS IoT API Reference,
    // RegisterCertificate).
    const CaCertificate* signer = nullptr;
    if (request.ca_certificate_pem) {
        auto ca = internal::ParsePem(*request.ca_certificate_pem, "caCertificatePem");
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

    // The certificate inherits the CA's mode (AWS IoT API Reference, CertificateDescription).
    auto entry = internal::NewCertificateEntry<Certificate>(settings_, std::move(read->info),
                                                            read->status, signer->certificate_mode,
                                                            now, NewGenerationId());
    entry.ca_certificate_id = signer->certificate_id;
    MarkChanged("certificate", entry.certificate_id);
    return internal::StoreNew(certificates_, std::move(entry));
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
    auto entry = internal::NewCertificateEntry<Certificate>(settings_, std::move(read->info),
                                                            read->status, CertificateMode::kSniOnly,
                                                            now, NewGenerationId());
    MarkChanged("certificate", entry.certificate_id);
    return internal::StoreNew(certificates_, std::move(entry));
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
    auto entry = internal::NewCertificateEntry<Certificate>(
        settings_, pki::CertificateInfo(cert),
        request.set_as_active ? CertificateStatus::kActive : CertificateStatus::kInactive,
        CertificateMode::kDefault, now, NewGenerationId());
    MarkChanged("certificate", entry.certificate_id);
    return internal::StoreNew(certificates_, std::move(entry));
}

AwsResult<Certificate> Registry::DescribeCertificate(std::string_view certificate_id) const {
    return internal::DescribeById<Certificate>(
        certificate_id, "certificateId", "certificate",
        [this](std::string_view id) { return FindCertificate(id); });
}

AwsStatus Registry::UpdateCertificate(std::string_view certificate_id,
                                      std::string_view new_status) {
    auto id = internal::NormaliseCertificateId(certificate_id, "certificateId");
    if (!id) {
        return sim::Unexpected<AwsError>(id.error());
    }
    const auto status = ParseCertificateStatus(new_status);
    if (!status) {
        return Fail(error_type::kInvalidRequest,
                    "newStatus: unknown status \"" + std::string(new_status) + "\"");
    }
    // AWS IoT API Reference, UpdateCertificate: PENDING_TRANSFER and PENDING_ACTIVATION are
    // internal; REGISTER_INACTIVE is deprecated.
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
        // Revocation is final (AWS documents the intent, not the error type).
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
    // Provisioning-claim certificates are not listed (AWS IoT API Reference,
    // CreateProvisioningClaim).
    return internal::CertificatePage(
        certificates_, *window, [](const Certificate& cert) { return !cert.claim_template_name; });
}

AwsResult<ListCertificatesResponse> Registry::ListCertificatesByCA(
    std::string_view ca_certificate_id, const PageRequest& page) const {
    auto id = internal::NormaliseCertificateId(ca_certificate_id, "caCertificateId");
    if (!id) {
        return sim::Unexpected<AwsError>(id.error());
    }
    auto window = internal::ReadPage(page, "pageSize", "marker", page.ascending);
    if (!window) {
        return sim::Unexpected<AwsError>(window.error());
    }
    return internal::CertificatePage(certificates_, *window, [&](const Certificate& cert) {
        return cert.ca_certificate_id == *id;
    });
}

AwsStatus Registry::DeleteCertificate(std::string_view certificate_id, bool force_delete) {
    auto id = internal::NormaliseCertificateId(certificate_id, "certificateId");
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
    if (const auto things = thing_principals_.WithSecond(arn); !things.empty()) {
        return Fail(error_type::kDeleteConflict,
                    "certificate " + *id + " is attached to thing " + things.front()->first.first);
    }
    std::vector<std::pair<std::string, std::string>> attached;
    for (const auto& entry : policy_targets_.WithSecond(arn)) {
        attached.push_back(entry->first);
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

}  // namespace sim::account
