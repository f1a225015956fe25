// SPDX-License-Identifier: Apache-2.0
// A module's first login to staging creates its thing; later logins reuse it (PG-PROV 12.1.4).
#include <functional>
#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "sim/staging/first_login.hpp"
#include "sim/staging/staging.hpp"
#include "staging_fixture.hpp"

namespace sim::staging {
namespace {

using testing::BirthCertificate;
using testing::kStart;
using testing::Leaf;
using testing::MakeCa;
using testing::StagingFixture;
using std::chrono::hours;

struct NameCase {
    const char* name;
    std::function<pki::CertificateInfo(const pki::CertificateAuthority&)> make;
    bool ok;
};
std::ostream& operator<<(std::ostream& out, const NameCase& c) { return out << c.name; }

class ThingNameTest : public ::testing::TestWithParam<NameCase> {};

TEST_P(ThingNameTest, CommonNameMustEqualSerial) {
    static const auto ca = MakeCa("Names CA");
    const auto cert = GetParam().make(ca);
    const auto name = ThingNameOfBirthCertificate(cert);
    ASSERT_EQ(name.has_value(), GetParam().ok) << (name ? *name : name.error().message);
    if (name) {
        EXPECT_EQ(*name, *cert.subject.Get("CN"));
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ThingNameTest,
    ::testing::Values(
        NameCase{"PkiBirthCertificate", [](const auto& ca) { return BirthCertificate(ca); }, true},
        NameCase{"UpperCaseCnMatches",
                 [](const auto& ca) {
                     return Leaf(ca, {{"CN", "4ABC01"}}, {0x4a, 0xbc, 0x01});
                 },
                 true},
        NameCase{"CnDiffersFromSerial",
                 [](const auto& ca) { return Leaf(ca, {{"CN", "4abc02"}}, {0x4a, 0xbc, 0x01}); },
                 false},
        NameCase{"NoCn",
                 [](const auto& ca) { return Leaf(ca, {{"O", "x"}}, {0x4a, 0xbc, 0x01}); },
                 false},
        NameCase{"CnIsAWord",
                 [](const auto& ca) { return Leaf(ca, {{"CN", "device-7"}}); }, false}),
    [](const ::testing::TestParamInfo<NameCase>& p) { return std::string(p.param.name); });

struct LoginCase {
    const char* name;
    // Makes the certificate a module presents, given the fixture (its manufacturer CA).
    std::function<pki::CertificateInfo(StagingFixture&)> make;
    FirstLoginKind expected;
};
std::ostream& operator<<(std::ostream& out, const LoginCase& c) { return out << c.name; }

class FirstLoginTest : public ::testing::TestWithParam<LoginCase> {};

TEST_P(FirstLoginTest, PlansOnlyForBirthCertificatesOfTheManufacturer) {
    StagingFixture fixture;
    const auto cert = GetParam().make(fixture);
    const auto plan = PlanFirstLogin(fixture.registry, cert, fixture.clock.Now());
    EXPECT_EQ(plan.kind, GetParam().expected) << plan.reason;
    EXPECT_FALSE(plan.reason.empty());
    EXPECT_EQ(plan.certificate_id, cert.certificate_id);
    if (plan.kind == FirstLoginKind::kRefuse) {
        // Nothing changes for a refused login.
        ASSERT_TRUE(ApplyFirstLogin(fixture.registry, plan).has_value());
        EXPECT_TRUE(fixture.registry.TakeChanges().empty());
        EXPECT_EQ(fixture.registry.FindCertificate(cert.certificate_id), nullptr);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, FirstLoginTest,
    ::testing::Values(
        LoginCase{"BirthCertificate",
                  [](StagingFixture& f) { return BirthCertificate(f.manufacturer); },
                  FirstLoginKind::kCreate},
        LoginCase{"OtherManufacturer",
                  [](StagingFixture&) {
                      static const auto other = MakeCa("Other Manufacturer CA");
                      return BirthCertificate(other);
                  },
                  FirstLoginKind::kRefuse},
        LoginCase{"LookAlikeCaSameSubject",
                  [](StagingFixture&) {
                      static const auto fake = MakeCa("Manufacturer CA");
                      return BirthCertificate(fake);
                  },
                  FirstLoginKind::kRefuse},
        LoginCase{"Expired",
                  [](StagingFixture& f) {
                      return BirthCertificate(f.manufacturer, kStart - hours{48},
                                              kStart - hours{1});
                  },
                  FirstLoginKind::kRefuse},
        LoginCase{"NotYetValid",
                  [](StagingFixture& f) {
                      return BirthCertificate(f.manufacturer, kStart + hours{1},
                                              kStart + hours{48});
                  },
                  FirstLoginKind::kRefuse},
        LoginCase{"CnSerialMismatch",
                  [](StagingFixture& f) {
                      return Leaf(f.manufacturer, {{"CN", "4abc02"}}, {0x4a, 0xbc, 0x01});
                  },
                  FirstLoginKind::kRefuse},
        LoginCase{"AlreadyRegistered",
                  [](StagingFixture& f) {
                      auto cert = BirthCertificate(f.manufacturer);
                      auto plan = PlanFirstLogin(f.registry, cert, f.clock.Now());
                      EXPECT_TRUE(ApplyFirstLogin(f.registry, plan).has_value());
                      return cert;
                  },
                  FirstLoginKind::kKnown}),
    [](const ::testing::TestParamInfo<LoginCase>& p) { return std::string(p.param.name); });

TEST(FirstLoginApplyTest, CreatesThingAttachesPolicyAndLetsTheSameConnectionIn) {
    StagingFixture f;
    const auto cert = BirthCertificate(f.manufacturer);
    const std::string thing = *ThingNameOfBirthCertificate(cert);
    const auto plan = PlanFirstLogin(f.registry, cert, f.clock.Now());
    ASSERT_EQ(plan.kind, FirstLoginKind::kCreate) << plan.reason;
    const auto applied = ApplyFirstLogin(f.registry, plan);
    ASSERT_TRUE(applied.has_value()) << applied.error().message;
    EXPECT_EQ(*applied, thing);

    const auto* stored = f.registry.FindThing(thing);
    ASSERT_NE(stored, nullptr);
    EXPECT_EQ(stored->thing_type_name, std::string(kModuleThingType));
    const auto* certificate = f.registry.FindCertificate(cert.certificate_id);
    ASSERT_NE(certificate, nullptr);
    EXPECT_EQ(certificate->status, account::CertificateStatus::kActive);
    EXPECT_TRUE(certificate->ca_certificate_id.has_value());
    EXPECT_EQ(f.registry.PoliciesOfCertificate(cert.certificate_id),
              std::vector<std::string>{std::string(kStagingPolicyName)});

    // First login is not dropped: the same attempt is accepted, associated with the thing.
    const auto decision =
        f.registry.AuthenticateDevice(account::DeviceConnectRequest{cert, thing, "127.0.0.1"});
    EXPECT_EQ(decision.verdict, account::ConnectVerdict::kAccept) << decision.reason;
    EXPECT_EQ(decision.thing_name, thing);

    // A later login reuses everything.
    f.registry.TakeChanges();
    const auto again = PlanFirstLogin(f.registry, cert, f.clock.Now());
    EXPECT_EQ(again.kind, FirstLoginKind::kKnown);
    ASSERT_TRUE(ApplyFirstLogin(f.registry, again).has_value());
    EXPECT_TRUE(f.registry.TakeChanges().empty());
}

TEST(FirstLoginApplyTest, RevokedBirthCertificateStaysRefused) {
    StagingFixture f;
    const auto cert = BirthCertificate(f.manufacturer);
    ASSERT_TRUE(
        ApplyFirstLogin(f.registry, PlanFirstLogin(f.registry, cert, f.clock.Now())).has_value());
    ASSERT_TRUE(f.registry.UpdateCertificate(cert.certificate_id, "REVOKED").has_value());
    EXPECT_EQ(PlanFirstLogin(f.registry, cert, f.clock.Now()).kind, FirstLoginKind::kKnown);
    const auto decision = f.registry.AuthenticateDevice(
        account::DeviceConnectRequest{cert, *ThingNameOfBirthCertificate(cert), "127.0.0.1"});
    EXPECT_EQ(decision.verdict, account::ConnectVerdict::kRefuse);
}

TEST(FirstLoginApplyTest, DeactivatedManufacturerCaRefusesNewModules) {
    StagingFixture f;
    const auto ca_id = pki::ParseCertificatePem(f.manufacturer.pem())->certificate_id;
    account::UpdateCaCertificateRequest update;
    update.certificate_id = ca_id;
    update.new_status = "INACTIVE";
    ASSERT_TRUE(f.registry.UpdateCACertificate(update).has_value());
    const auto plan =
        PlanFirstLogin(f.registry, BirthCertificate(f.manufacturer), f.clock.Now());
    EXPECT_EQ(plan.kind, FirstLoginKind::kRefuse);
    EXPECT_NE(plan.reason.find("INACTIVE"), std::string::npos) << plan.reason;
}

TEST(SetUpStagingAccountTest, IsIdempotent) {
    StagingFixture f;
    const auto ca = pki::ParseCertificatePem(f.manufacturer.pem());
    ASSERT_TRUE(SetUpStagingAccount(f.registry, *ca).has_value());
    EXPECT_TRUE(f.registry.TakeChanges().empty());
    EXPECT_NE(f.registry.FindPolicy(kStagingPolicyName), nullptr);
    EXPECT_NE(f.registry.FindPolicy(kClaimPolicyName), nullptr);
    const auto* registered = f.registry.FindCaCertificate(ca->certificate_id);
    ASSERT_NE(registered, nullptr);
    EXPECT_EQ(registered->status, account::CaStatus::kActive);
    EXPECT_EQ(registered->auto_registration_status, account::AutoRegistrationStatus::kDisable);
}

}  // namespace
}  // namespace sim::staging
