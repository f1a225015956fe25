// SPDX-License-Identifier: Apache-2.0
// Claim-thing registration (OEM guide Appendix A): certificate only, UUID back, and the
// resulting identity connects only as (that certificate, that UUID).
#include <functional>
#include <memory>
#include <ostream>
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "sim/account/policy.hpp"
#include "sim/staging/oem_registration.hpp"
#include "sim/staging/staging.hpp"
#include "staging_fixture.hpp"

namespace sim::staging {
namespace {

using testing::kStart;
using testing::MakeCa;
using testing::Must;
using testing::StagingFixture;

const pki::CertificateAuthority& AwsCa() {
    static const auto ca = MakeCa("elsim emulated AWS IoT CA");
    return ca;
}

std::string ClaimCertificatePem(pki::ExtendedKeyUsage eku = pki::ExtendedKeyUsage::kClientAuth) {
    pki::IssueSpec spec;
    spec.subject = pki::DistinguishedName{{{"CN", "AWS IoT Certificate"}}};
    spec.not_before = kStart - std::chrono::hours{1};
    spec.not_after = kStart + std::chrono::hours{24 * 365};
    spec.eku = eku;
    return Must(AwsCa().Issue(spec, Must(pki::Key::Generate(pki::KeyType::kEcP256), "key")),
                "issue")
        .pem;
}

struct Case {
    const char* name;
    std::string oem_name;
    std::function<std::string()> pem;
    bool ok;
    std::string error_start;
};
std::ostream& operator<<(std::ostream& out, const Case& c) { return out << c.name; }

class PlanOemRegistrationTest : public ::testing::TestWithParam<Case> {};

TEST_P(PlanOemRegistrationTest, ValidatesTheUpload) {
    const auto& c = GetParam();
    SeededRandom random{1};
    const auto plan = PlanOemRegistration(c.oem_name, c.pem(), random);
    ASSERT_EQ(plan.has_value(), c.ok) << (plan ? plan->record.uuid : plan.error().message);
    if (plan) {
        EXPECT_TRUE(std::regex_match(
            plan->record.uuid,
            std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
            << plan->record.uuid;
        EXPECT_EQ(plan->record.oem_name, c.oem_name);
        EXPECT_EQ(plan->record.certificate_id, plan->certificate.certificate_id);
    } else {
        EXPECT_EQ(plan.error().message.rfind(c.error_start, 0), 0u) << plan.error().message;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, PlanOemRegistrationTest,
    ::testing::Values(
        Case{"ClaimCertificate", "acme-oem", [] { return ClaimCertificatePem(); }, true, ""},
        Case{"EmptyName", "", [] { return ClaimCertificatePem(); }, false, "--name"},
        Case{"NameWithSpace", "acme oem", [] { return ClaimCertificatePem(); }, false, "--name"},
        Case{"NameTooLong", std::string(65, 'a'), [] { return ClaimCertificatePem(); }, false,
             "--name"},
        Case{"WithPrivateKey", "acme",
             [] {
                 return ClaimCertificatePem() +
                        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
             },
             false, "certificate: contains a private key"},
        Case{"WithRsaPrivateKey", "acme",
             [] {
                 return "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n" +
                        ClaimCertificatePem();
             },
             false, "certificate: contains a private key"},
        Case{"NotPem", "acme", [] { return std::string("hello"); }, false, "certificate:"},
        Case{"Empty", "acme", [] { return std::string(); }, false, "certificate:"},
        Case{"TwoCertificates", "acme",
             [] { return ClaimCertificatePem() + ClaimCertificatePem(); }, false,
             "certificate: expected one"},
        Case{"CaCertificate", "acme", [] { return AwsCa().pem(); }, false,
             "certificate: is a CA"},
        Case{"ServerOnly", "acme",
             [] { return ClaimCertificatePem(pki::ExtendedKeyUsage::kServerAuth); }, false,
             "certificate: its extended key usage"}),
    [](const ::testing::TestParamInfo<Case>& p) { return std::string(p.param.name); });

TEST(PlanOemRegistrationTest, UuidComesFromTheInjectedRandom) {
    const std::string pem = ClaimCertificatePem();
    SeededRandom a{9};
    SeededRandom b{9};
    EXPECT_EQ(PlanOemRegistration("acme", pem, a)->record.uuid,
              PlanOemRegistration("acme", pem, b)->record.uuid);
}

TEST(ApplyOemRegistrationTest, ClaimThingConnectsOnlyWithItsUuid) {
    StagingFixture f;
    const std::string pem = ClaimCertificatePem();
    const auto plan = PlanOemRegistration("acme-oem", pem, f.random);
    ASSERT_TRUE(plan.has_value()) << plan.error().message;
    const auto record = ApplyOemRegistration(f.registry, *plan);
    ASSERT_TRUE(record.has_value()) << record.error().message;
    EXPECT_EQ(*record, plan->record);
    EXPECT_TRUE(IsClaimThing(f.registry, record->uuid));

    const auto* cert = f.registry.FindCertificate(record->certificate_id);
    ASSERT_NE(cert, nullptr);
    EXPECT_EQ(cert->status, account::CertificateStatus::kActive);
    EXPECT_FALSE(cert->ca_certificate_id.has_value());
    EXPECT_EQ(f.registry.FindThing(record->uuid)->attributes.at("oemName"), "acme-oem");

    // Connect: the registry associates the thing only when the client id is the UUID; the
    // claim policy then allows iot:Connect only in that case.
    auto policy = account::ParsePolicyDocument(
        f.registry.FindPolicy(kClaimPolicyName)->DefaultDocument());
    ASSERT_TRUE(policy.has_value());
    const std::vector<account::NamedPolicy> attached{
        {std::string(kClaimPolicyName),
         std::make_shared<const account::PolicyDocument>(*policy)}};
    for (const auto& client_id : {record->uuid, std::string("someone-else")}) {
        const auto decision = f.registry.AuthenticateDevice(
            account::DeviceConnectRequest{plan->certificate, client_id, "127.0.0.1"});
        ASSERT_EQ(decision.verdict, account::ConnectVerdict::kAccept) << decision.reason;
        account::ClientIdentity identity;
        identity.client_id = client_id;
        if (decision.thing_name) {
            identity.thing = account::ThingContext{*decision.thing_name, {}, {}, true};
        }
        const std::string arn = account::ClientArn(testing::kRegion, testing::kAccountId,
                                                   client_id);
        const auto allowed = account::Evaluate(
            attached, account::AuthzRequest{account::Action::kConnect, {}, arn, &identity});
        EXPECT_EQ(allowed.allowed, client_id == record->uuid) << client_id << allowed.reason;
    }
}

TEST(ApplyOemRegistrationTest, SameCertificateTwiceIsRefusedWithoutChange) {
    StagingFixture f;
    const std::string pem = ClaimCertificatePem();
    const auto first = PlanOemRegistration("acme", pem, f.random);
    ASSERT_TRUE(ApplyOemRegistration(f.registry, *first).has_value());
    f.registry.TakeChanges();
    const auto second = PlanOemRegistration("acme", pem, f.random);
    const auto refused = ApplyOemRegistration(f.registry, *second);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().type, account::error_type::kResourceAlreadyExists);
    EXPECT_TRUE(f.registry.TakeChanges().empty());
    EXPECT_EQ(f.registry.FindThing(second->record.uuid), nullptr);
}

TEST(ApplyOemRegistrationTest, RevokedClaimCertificateIsRefusedAtStaging) {
    StagingFixture f;
    const auto plan = PlanOemRegistration("acme", ClaimCertificatePem(), f.random);
    ASSERT_TRUE(ApplyOemRegistration(f.registry, *plan).has_value());
    ASSERT_TRUE(f.registry.UpdateCertificate(plan->record.certificate_id, "REVOKED").has_value());
    const auto decision = f.registry.AuthenticateDevice(
        account::DeviceConnectRequest{plan->certificate, plan->record.uuid, "127.0.0.1"});
    EXPECT_EQ(decision.verdict, account::ConnectVerdict::kRefuse);
}

TEST(ApplyOemRegistrationTest, UnregisteredClaimCertificateIsRefusedAtStaging) {
    StagingFixture f;
    const auto plan = PlanOemRegistration("acme", ClaimCertificatePem(), f.random);
    const auto decision = f.registry.AuthenticateDevice(
        account::DeviceConnectRequest{plan->certificate, plan->record.uuid, "127.0.0.1"});
    EXPECT_EQ(decision.verdict, account::ConnectVerdict::kRefuse);
}

}  // namespace
}  // namespace sim::staging
