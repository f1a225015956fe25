// SPDX-License-Identifier: Apache-2.0
// Claim-thing registration (ExpressLink Onboarding-by-Claim Customer/OEM Guide, Appendix A).
#include "sim/staging/oem_registration.hpp"

#include <algorithm>
#include <cctype>

#include "sim/staging/staging.hpp"

namespace sim::staging {

namespace {

sim::Unexpected<Error> Invalid(std::string message) {
    return sim::MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

}  // namespace

bool IsOemName(std::string_view name) {
    return !name.empty() && name.size() <= 64 &&
           std::all_of(name.begin(), name.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' ||
                      c == '-';
           });
}

sim::Result<OemRegistrationPlan> PlanOemRegistration(std::string_view oem_name,
                                                     std::string_view certificate_pem,
                                                     sim::Random& random) {
    if (!IsOemName(oem_name)) {
        return Invalid("--name: '" + std::string(oem_name) +
                       "' must be 1-64 characters of [A-Za-z0-9._-]");
    }
    // Appendix A, "DO NOT upload the private key!": refuse the whole upload rather than
    // silently drop the key, so the OEM learns that it leaked it.
    if (certificate_pem.find("PRIVATE KEY-----") != std::string_view::npos) {
        return Invalid("certificate: contains a private key (upload the certificate only)");
    }
    auto chain = pki::ParseCertificateChainPem(certificate_pem);
    if (!chain) {
        return Invalid("certificate: " + chain.error().message);
    }
    if (chain->size() != 1) {
        return Invalid("certificate: expected one certificate, found " +
                       std::to_string(chain->size()));
    }
    pki::CertificateInfo& certificate = chain->front();
    if (certificate.is_ca) {
        return Invalid("certificate: is a CA certificate, not a claim-thing certificate");
    }
    if (!certificate.has_client_auth) {
        return Invalid("certificate: its extended key usage does not allow clientAuth");
    }
    OemRegistrationPlan result;
    result.record.oem_name = std::string(oem_name);
    result.record.uuid = random.Uuid4();
    result.record.certificate_id = certificate.certificate_id;

    account::CertificatePlan cert_plan;
    cert_plan.logical_id = "claimCertificate";
    cert_plan.certificate_pem = certificate.pem;
    cert_plan.status = account::CertificateStatus::kActive;
    account::ThingPlan thing_plan;
    thing_plan.logical_id = "claimThing";
    thing_plan.thing_name = result.record.uuid;
    thing_plan.thing_type_name = std::string(kClaimThingType);
    thing_plan.attributes =
        std::map<std::string, std::string>{{std::string(attribute::kOemName), result.record.oem_name}};
    account::PolicyPlan policy_plan;
    policy_plan.logical_id = "claimPolicy";
    policy_plan.policy_name = std::string(kClaimPolicyName);
    result.plan.certificates.push_back(std::move(cert_plan));
    result.plan.things.push_back(std::move(thing_plan));
    result.plan.policies.push_back(std::move(policy_plan));
    result.certificate = std::move(certificate);
    return result;
}

account::AwsResult<OemRecord> ApplyOemRegistration(account::Registry& registry,
                                                   const OemRegistrationPlan& plan) {
    if (const auto* existing = registry.FindCertificate(plan.record.certificate_id);
        existing != nullptr) {
        return sim::Unexpected<account::AwsError>(account::AwsError{
            std::string(account::error_type::kResourceAlreadyExists),
            "certificate " + plan.record.certificate_id + " is already registered in staging",
            plan.record.certificate_id, existing->certificate_arn});
    }
    if (registry.FindThing(plan.record.uuid) != nullptr) {
        // A UUID collision (or a replayed seed): refuse rather than hijack a claim-thing.
        return account::Fail(account::error_type::kResourceAlreadyExists,
                             "thing " + plan.record.uuid + " already exists");
    }
    auto run = registry.RunTemplate(plan.plan);
    if (!run) {
        return sim::Unexpected<account::AwsError>(run.error());
    }
    return plan.record;
}

}  // namespace sim::staging
