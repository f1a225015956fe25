// SPDX-License-Identifier: Apache-2.0
// A module's first login to staging (ExpressLink Programmer's Guide 12.1.4).
#include "sim/staging/first_login.hpp"

#include <algorithm>
#include <cctype>
#include <memory>

#include "sim/staging/staging.hpp"

namespace sim::staging {

namespace {

bool IsThingNameChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '_' || c == '-';
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

}  // namespace

sim::Result<std::string> ThingNameOfBirthCertificate(const pki::CertificateInfo& certificate) {
    const auto common_name = certificate.subject.Get("CN");
    if (!common_name || common_name->empty()) {
        return sim::MakeError(ErrorCode::kInvalidArgument,
                              "birth certificate has no subject CN (the ThingName)");
    }
    if (!EqualsIgnoreCase(*common_name, certificate.serial_hex)) {
        return sim::MakeError(ErrorCode::kInvalidArgument,
                              "birth certificate CN '" + *common_name +
                                  "' does not match serial '" + certificate.serial_hex + "'");
    }
    if (common_name->size() > 128 ||
        !std::all_of(common_name->begin(), common_name->end(), IsThingNameChar)) {
        return sim::MakeError(ErrorCode::kInvalidArgument,
                              "birth certificate CN '" + *common_name +
                                  "' is not a valid thing name");
    }
    return *common_name;
}

FirstLoginPlan PlanFirstLogin(const account::Registry& registry,
                              const pki::CertificateInfo& certificate, sim::TimePoint now) {
    FirstLoginPlan result;
    result.certificate_id = certificate.certificate_id;
    if (const auto name = ThingNameOfBirthCertificate(certificate); name) {
        result.thing_name = *name;
    }
    if (registry.FindCertificate(certificate.certificate_id) != nullptr) {
        // Later logins reuse what the first one made; the certificate's status is checked by
        // AuthenticateDevice (REVOKED/INACTIVE stay refused).
        result.kind = FirstLoginKind::kKnown;
        result.reason = "certificate already registered";
        return result;
    }
    auto refuse = [&](std::string reason) {
        result.kind = FirstLoginKind::kRefuse;
        result.reason = std::move(reason);
        return result;
    };
    const account::CaCertificate* manufacturer = nullptr;
    // The staging account trusts only its manufacturer's CA (the one registered CA); the
    // signature is checked here because the plugin sees the leaf only
    // (mosquitto_client_certificate).
    for (const auto& listed : registry.ListCACertificates(account::PageRequest{250, {}, true})
                                  .value_or(account::ListCertificatesResponse{})
                                  .certificates) {
        const account::CaCertificate* ca = registry.FindCaCertificate(listed.certificate_id);
        if (ca != nullptr && ca->info.subject == certificate.issuer &&
            pki::IsSignedBy(certificate, ca->info)) {
            manufacturer = ca;
            break;
        }
    }
    if (manufacturer == nullptr) {
        return refuse("not signed by the manufacturer CA of this staging account");
    }
    if (manufacturer->status != account::CaStatus::kActive) {
        return refuse("manufacturer CA " + manufacturer->certificate_id + " is INACTIVE");
    }
    if (certificate.is_ca) {
        return refuse("a CA certificate is not a birth certificate");
    }
    if (!pki::IsValidAt(certificate, now)) {
        return refuse("birth certificate expired or not yet valid");
    }
    const auto name = ThingNameOfBirthCertificate(certificate);
    if (!name) {
        return refuse(name.error().message);
    }
    if (IsClaimThing(registry, *name)) {
        return refuse("ThingName " + *name + " names a claim-thing");
    }
    // The "ExpressLink template": certificate ACTIVE under the manufacturer CA, the thing
    // (reused when a cleaned-up certificate comes back), the staging policy.
    account::CertificatePlan cert_plan;
    cert_plan.logical_id = "certificate";
    cert_plan.certificate_pem = certificate.pem;
    cert_plan.parsed_certificate = std::make_shared<const pki::CertificateInfo>(certificate);
    cert_plan.ca_certificate_pem = manufacturer->info.pem;
    cert_plan.status = account::CertificateStatus::kActive;
    account::ThingPlan thing_plan;
    thing_plan.logical_id = "thing";
    thing_plan.thing_name = *name;
    thing_plan.thing_type_name = std::string(kModuleThingType);
    account::PolicyPlan policy_plan;
    policy_plan.logical_id = "policy";
    policy_plan.policy_name = std::string(kStagingPolicyName);
    result.plan.certificates.push_back(std::move(cert_plan));
    result.plan.things.push_back(std::move(thing_plan));
    result.plan.policies.push_back(std::move(policy_plan));
    result.kind = FirstLoginKind::kCreate;
    result.reason = "first login: thing " + *name + " created";
    return result;
}

account::AwsResult<std::string> ApplyFirstLogin(account::Registry& registry,
                                                const FirstLoginPlan& plan) {
    if (plan.kind != FirstLoginKind::kCreate) {
        return plan.thing_name;
    }
    auto run = registry.RunTemplate(plan.plan);
    if (!run) {
        return sim::Unexpected<account::AwsError>(run.error());
    }
    return run->thing_name.value_or(plan.thing_name);
}

}  // namespace sim::staging
