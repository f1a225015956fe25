// SPDX-License-Identifier: Apache-2.0
// Device connections (JITR, JITP, known certificates, claim certificates) and the fleet-
// provisioning MQTT API: decision tables over real certificates.

#include <chrono>
#include <optional>
#include <string>

#include "account_fixture.hpp"
#include <gtest/gtest.h>

#include "sim/account/registry.hpp"

// In sim::account::testing, beside the fixtures of account_fixture.hpp (Account, MakeCa, ...).
namespace sim::account::testing {
namespace {

using std::chrono::minutes;

const char* const kJitpTemplate = R"({
  "Parameters": {
    "AWS::IoT::Certificate::CommonName": {"Type": "String"},
    "AWS::IoT::Certificate::Country": {"Type": "String"},
    "AWS::IoT::Certificate::Id": {"Type": "String"}},
  "Resources": {
    "thing": {"Type": "AWS::IoT::Thing",
              "Properties": {"ThingName": {"Ref": "AWS::IoT::Certificate::CommonName"},
                             "AttributePayload": {"country": {"Ref": "AWS::IoT::Certificate::Country"}}}},
    "certificate": {"Type": "AWS::IoT::Certificate",
                    "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"},
                                   "Status": "ACTIVE"}},
    "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyName": "DevicePolicy"}}}})";

enum class CaSetup {
    kUnregistered,
    kJitr,               // ACTIVE, ENABLE, no template
    kJitrEventsOff,      // as kJitr with CA_CERTIFICATE events disabled
    kInactive,           // INACTIVE, ENABLE
    kAutoDisabled,       // ACTIVE, DISABLE
    kJitpBody,           // ACTIVE, ENABLE, templateBody + roleArn
    kJitpNamed,          // ACTIVE, ENABLE, templateName of an enabled JITP template
    kJitpNamedDisabled,  // ... of a disabled one
};

enum class Prior {
    kUnknown,
    kActive,
    kInactive,
    kRevoked,
    kConnectedOnce,         // a first connect already happened
    kActiveThenCaInactive,  // registered ACTIVE, then the CA set INACTIVE
};

struct ConnectCase {
    std::string name;
    CaSetup ca;
    Prior prior;
    bool with_country;  // subject has C=...
    bool expired;
    ConnectVerdict verdict;
    std::optional<std::string> status_after;  // nullopt: not registered
    std::size_t events;                       // registered events published by this connect
    std::optional<std::string> thing;         // thing that must exist afterwards
};

class AuthenticateDeviceTest : public ::testing::TestWithParam<ConnectCase> {};

TEST_P(AuthenticateDeviceTest, DecidesAndAutoRegisters) {
    const auto& c = GetParam();
    Account account;
    ASSERT_TRUE(account.registry.CreatePolicy("DevicePolicy", kAllowAllPolicy).has_value());
    const auto ca = MakeCa("Maker Root");
    std::optional<RegistrationConfig> config;
    if (c.ca == CaSetup::kJitpBody) {
        config = RegistrationConfig{kJitpTemplate, kRoleArn, {}};
    }
    if (c.ca == CaSetup::kJitpNamed || c.ca == CaSetup::kJitpNamedDisabled) {
        ASSERT_TRUE(
            account.registry
                .CreateProvisioningTemplate(
                    {"jitp", {}, kJitpTemplate, c.ca == CaSetup::kJitpNamed, kRoleArn, {}, "JITP"})
                .has_value());
        config = RegistrationConfig{{}, {}, "jitp"};
    }
    if (c.ca != CaSetup::kUnregistered) {
        account.RegisterCa(ca, c.ca != CaSetup::kAutoDisabled, config);
    }
    if (c.ca == CaSetup::kInactive) {
        ASSERT_TRUE(account.registry
                        .UpdateCACertificate({ca.info().certificate_id, "INACTIVE", {}, {}, false})
                        .has_value());
    }
    if (c.ca == CaSetup::kJitrEventsOff) {
        ASSERT_TRUE(
            account.registry.UpdateEventConfigurations({{"CA_CERTIFICATE", false}}).has_value());
    }
    auto subject = c.with_country ? Dn({{"C", "DE"}, {"CN", "dev-1"}}) : Dn({{"CN", "dev-1"}});
    const auto leaf = c.expired ? IssueLeaf(ca, subject, kStart - hours{48}, kStart - hours{1})
                                : IssueLeaf(ca, subject);
    switch (c.prior) {
        case Prior::kUnknown:
            break;
        case Prior::kActive:
        case Prior::kInactive:
        case Prior::kRevoked:
        case Prior::kActiveThenCaInactive: {
            const std::string status = c.prior == Prior::kInactive  ? "INACTIVE"
                                       : c.prior == Prior::kRevoked ? "REVOKED"
                                                                    : "ACTIVE";
            ASSERT_TRUE(
                account.registry.RegisterCertificate({leaf.pem, {}, status, false}).has_value());
            if (c.prior == Prior::kActiveThenCaInactive) {
                ASSERT_TRUE(
                    account.registry
                        .UpdateCACertificate({ca.info().certificate_id, "INACTIVE", {}, {}, false})
                        .has_value());
            }
            break;
        }
        case Prior::kConnectedOnce:
            account.registry.AuthenticateDevice({leaf, "dev-1", "127.0.0.9"});
            break;
    }
    account.registry.TakeEffects();
    account.registry.TakeChanges();

    const auto decision = account.registry.AuthenticateDevice({leaf, "dev-1", "127.0.0.9"});
    EXPECT_EQ(decision.verdict, c.verdict) << decision.reason;
    EXPECT_EQ(decision.certificate_id, leaf.certificate_id);
    EXPECT_FALSE(decision.reason.empty());
    const auto* cert = account.registry.FindCertificate(leaf.certificate_id);
    if (c.status_after) {
        ASSERT_NE(cert, nullptr);
        EXPECT_EQ(ToString(cert->status), *c.status_after);
        EXPECT_EQ(cert->ca_certificate_id, ca.info().certificate_id);
    } else {
        EXPECT_EQ(cert, nullptr);
        EXPECT_TRUE(account.registry.TakeChanges().empty());
    }
    const auto effects = account.registry.TakeEffects();
    EXPECT_EQ(effects.size(), c.events);
    for (const auto& effect : effects) {
        EXPECT_EQ(effect.topic, "$aws/events/certificates/registered/" + ca.info().certificate_id);
    }
    if (c.thing) {
        ASSERT_NE(account.registry.FindThing(*c.thing), nullptr);
        EXPECT_EQ(account.registry.FindThing(*c.thing)->attributes.at("country"), "DE");
        EXPECT_EQ(account.registry.PoliciesOfCertificate(leaf.certificate_id),
                  std::vector<std::string>{"DevicePolicy"});
        EXPECT_EQ(account.registry.ThingForConnection(leaf.certificate_id, "dev-1"), *c.thing);
    } else {
        EXPECT_EQ(account.registry.FindThing("dev-1"), nullptr);
    }
}

constexpr auto kAccept = ConnectVerdict::kAccept;
constexpr auto kRefuse = ConnectVerdict::kRefuse;
constexpr auto kClose = ConnectVerdict::kCloseAfterRegistration;

INSTANTIATE_TEST_SUITE_P(
    Table, AuthenticateDeviceTest,
    ::testing::Values(ConnectCase{"UnknownCaRefused",
                                  CaSetup::kUnregistered,
                                  Prior::kUnknown,
                                  true,
                                  false,
                                  kRefuse,
                                  {},
                                  0,
                                  {}},
                      ConnectCase{"JitrFirstConnect",
                                  CaSetup::kJitr,
                                  Prior::kUnknown,
                                  true,
                                  false,
                                  kClose,
                                  "PENDING_ACTIVATION",
                                  1,
                                  {}},
                      ConnectCase{"JitrAgainWhilePending",
                                  CaSetup::kJitr,
                                  Prior::kConnectedOnce,
                                  true,
                                  false,
                                  kClose,
                                  "PENDING_ACTIVATION",
                                  1,
                                  {}},
                      ConnectCase{"JitrEventsDisabled",
                                  CaSetup::kJitrEventsOff,
                                  Prior::kUnknown,
                                  true,
                                  false,
                                  kClose,
                                  "PENDING_ACTIVATION",
                                  0,
                                  {}},
                      ConnectCase{"CaInactiveRefused",
                                  CaSetup::kInactive,
                                  Prior::kUnknown,
                                  true,
                                  false,
                                  kRefuse,
                                  {},
                                  0,
                                  {}},
                      ConnectCase{"AutoRegistrationDisabledRefused",
                                  CaSetup::kAutoDisabled,
                                  Prior::kUnknown,
                                  true,
                                  false,
                                  kRefuse,
                                  {},
                                  0,
                                  {}},
                      ConnectCase{"ExpiredNotRegistered",
                                  CaSetup::kJitr,
                                  Prior::kUnknown,
                                  true,
                                  true,
                                  kRefuse,
                                  {},
                                  0,
                                  {}},
                      ConnectCase{"JitpProvisions", CaSetup::kJitpBody, Prior::kUnknown, true,
                                  false, kClose, "ACTIVE", 0, "dev-1"},
                      ConnectCase{"JitpMissingParameterStaysPending",
                                  CaSetup::kJitpBody,
                                  Prior::kUnknown,
                                  false,
                                  false,
                                  kClose,
                                  "PENDING_ACTIVATION",
                                  0,
                                  {}},
                      ConnectCase{"JitpNamedTemplate", CaSetup::kJitpNamed, Prior::kUnknown, true,
                                  false, kClose, "ACTIVE", 0, "dev-1"},
                      ConnectCase{"JitpDisabledTemplateStaysPending",
                                  CaSetup::kJitpNamedDisabled,
                                  Prior::kUnknown,
                                  true,
                                  false,
                                  kClose,
                                  "PENDING_ACTIVATION",
                                  0,
                                  {}},
                      ConnectCase{"JitpThenConnectAccepted", CaSetup::kJitpBody,
                                  Prior::kConnectedOnce, true, false, kAccept, "ACTIVE", 0,
                                  "dev-1"},
                      ConnectCase{"KnownActiveAccepted",
                                  CaSetup::kAutoDisabled,
                                  Prior::kActive,
                                  true,
                                  false,
                                  kAccept,
                                  "ACTIVE",
                                  0,
                                  {}},
                      ConnectCase{"KnownInactiveRefused",
                                  CaSetup::kJitr,
                                  Prior::kInactive,
                                  true,
                                  false,
                                  kRefuse,
                                  "INACTIVE",
                                  0,
                                  {}},
                      ConnectCase{"KnownRevokedRefused",
                                  CaSetup::kJitr,
                                  Prior::kRevoked,
                                  true,
                                  false,
                                  kRefuse,
                                  "REVOKED",
                                  0,
                                  {}},
                      ConnectCase{"RegisteredCertKeepsWorkingAfterCaDeactivated",
                                  CaSetup::kJitr,
                                  Prior::kActiveThenCaInactive,
                                  true,
                                  false,
                                  kAccept,
                                  "ACTIVE",
                                  0,
                                  {}}),
    CaseName{});

TEST(AuthenticateDeviceTest, JitrEventPayloadHasTheDocumentedFields) {
    Account account;
    const auto ca = MakeCa("Root");
    account.RegisterCa(ca, true);
    const auto leaf = IssueLeaf(ca, "d");
    account.clock.Advance(std::chrono::milliseconds{1234});
    account.registry.AuthenticateDevice({leaf, "d", "127.0.0.5"});
    const auto effects = account.registry.TakeEffects();
    ASSERT_EQ(effects.size(), 1U);
    const auto payload = nlohmann::json::parse(effects[0].payload);
    EXPECT_EQ(payload["certificateId"], leaf.certificate_id);
    EXPECT_EQ(payload["caCertificateId"], ca.info().certificate_id);
    EXPECT_EQ(payload["timestamp"], sim::ToEpochMillis(account.clock.Now()));
    EXPECT_EQ(payload["certificateStatus"], "PENDING_ACTIVATION");
    EXPECT_EQ(payload["awsAccountId"], "123456789012");
    EXPECT_TRUE(payload.contains("certificateRegistrationTimestamp"));
    EXPECT_EQ(payload["sourceIp"], "127.0.0.5");
}

TEST(AuthenticateDeviceTest, JitpFailedRunIsRetriedOnNextConnectOnceFixed) {
    Account account;
    const auto ca = MakeCa("Root");
    account.RegisterCa(ca, true, RegistrationConfig{kJitpTemplate, kRoleArn, {}});
    const auto leaf = IssueLeaf(ca, Dn({{"C", "DE"}, {"CN", "dev-1"}}));
    // The policy the template names is missing: provisioning fails, nothing but the
    // PENDING_ACTIVATION certificate is left.
    auto decision = account.registry.AuthenticateDevice({leaf, "dev-1", "127.0.0.1"});
    EXPECT_EQ(decision.verdict, ConnectVerdict::kCloseAfterRegistration);
    EXPECT_NE(decision.reason.find("DevicePolicy"), std::string::npos) << decision.reason;
    EXPECT_EQ(account.registry.FindCertificate(leaf.certificate_id)->status,
              CertificateStatus::kPendingActivation);
    EXPECT_EQ(account.registry.FindThing("dev-1"), nullptr);
    ASSERT_TRUE(account.registry.CreatePolicy("DevicePolicy", kAllowAllPolicy).has_value());
    decision = account.registry.AuthenticateDevice({leaf, "dev-1", "127.0.0.1"});
    EXPECT_EQ(decision.verdict, ConnectVerdict::kCloseAfterRegistration);
    EXPECT_EQ(account.registry.FindCertificate(leaf.certificate_id)->status,
              CertificateStatus::kActive);
    decision = account.registry.AuthenticateDevice({leaf, "dev-1", "127.0.0.1"});
    EXPECT_EQ(decision.verdict, ConnectVerdict::kAccept);
    EXPECT_EQ(decision.thing_name, "dev-1");
}

// ---- Provisioning claims and the fleet-provisioning MQTT API -----------------------------

const char* const kFleetTemplate = R"({
  "Parameters": {"SerialNumber": {"Type": "String"},
                 "Region": {"Type": "String", "Default": "eu"},
                 "AWS::IoT::Certificate::Id": {"Type": "String"}},
  "Resources": {
    "thing": {"Type": "AWS::IoT::Thing",
              "Properties": {"ThingName": {"Fn::Join": ["", ["dev_", {"Ref": "SerialNumber"}]]},
                             "AttributePayload": {"region": {"Ref": "Region"}}}},
    "certificate": {"Type": "AWS::IoT::Certificate",
                    "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"},
                                   "Status": "ACTIVE"}},
    "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyName": "DevicePolicy"}}},
  "DeviceConfiguration": {"Fallback": "yes"}})";

struct FleetAccount : Account {
    FleetAccount() {
        EXPECT_TRUE(registry.CreatePolicy("DevicePolicy", kAllowAllPolicy).has_value());
        EXPECT_TRUE(
            registry
                .CreateProvisioningTemplate({"fleet", {}, kFleetTemplate, true, kRoleArn, {}, {}})
                .has_value());
        EXPECT_TRUE(
            registry
                .CreateProvisioningTemplate({"off", {}, kFleetTemplate, false, kRoleArn, {}, {}})
                .has_value());
        EXPECT_TRUE(registry
                        .CreateProvisioningTemplate(
                            {"jitp", {}, kFleetTemplate, true, kRoleArn, {}, "JITP"})
                        .has_value());
    }
    const pki::CertificateAuthority service_ca = MakeCa("AWS IoT emulated CA");
};

TEST(FleetProvisioningTest, CreateCertificateThenRegisterThingActivatesAndAttaches) {
    FleetAccount account;
    const auto cert = IssueLeaf(account.service_ca, "AWS IoT Certificate");
    const auto created = account.registry.FleetCreateCertificate({cert, ""});
    ASSERT_TRUE(created.has_value());
    EXPECT_EQ(account.registry.FindCertificate(cert.certificate_id)->status,
              CertificateStatus::kPendingActivation);
    EXPECT_FALSE(created->certificate_ownership_token.empty());
    const auto registered = account.registry.FleetRegisterThing(
        {"fleet", created->certificate_ownership_token, {{"SerialNumber", "77"}}, {}, ""});
    ASSERT_TRUE(registered.has_value()) << registered.error().message;
    EXPECT_EQ(registered->thing_name, "dev_77");
    EXPECT_EQ(registered->device_configuration.at("Fallback"), "yes");
    EXPECT_EQ(account.registry.FindCertificate(cert.certificate_id)->status,
              CertificateStatus::kActive);
    EXPECT_EQ(account.registry.FindThing("dev_77")->attributes.at("region"), "eu");
    EXPECT_EQ(account.registry.ThingForConnection(cert.certificate_id, "dev_77"), "dev_77");
    // The token provisions once.
    account.registry.TakeChanges();
    const auto again = account.registry.FleetRegisterThing(
        {"fleet", created->certificate_ownership_token, {{"SerialNumber", "77"}}, {}, ""});
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error().type, error_type::kInvalidCertificateOwnershipToken);
    EXPECT_TRUE(account.registry.TakeChanges().empty());
}

struct FleetCase {
    std::string name;
    std::string template_name;
    std::optional<std::string> token;  // nullopt: use the issued token
    std::map<std::string, std::string> parameters;
    std::map<std::string, std::string> overrides;
    std::chrono::minutes wait;
    std::string error_type;  // "" for success
    std::string expected_thing;
};
class FleetRegisterThingTest : public ::testing::TestWithParam<FleetCase> {};
TEST_P(FleetRegisterThingTest, AcceptsOrRejects) {
    const auto& c = GetParam();
    FleetAccount account;
    const auto cert = IssueLeaf(account.service_ca, "AWS IoT Certificate");
    const auto created = account.registry.FleetCreateCertificate({cert, ""});
    ASSERT_TRUE(created.has_value());
    account.registry.TakeChanges();
    account.clock.Advance(c.wait);
    const auto result = account.registry.FleetRegisterThing(
        {c.template_name, c.token.value_or(created->certificate_ownership_token), c.parameters,
         c.overrides, ""});
    if (!c.error_type.empty()) {
        ASSERT_FALSE(result.has_value());
        EXPECT_EQ(result.error().type, c.error_type) << result.error().message;
        EXPECT_TRUE(account.registry.TakeChanges().empty());
        EXPECT_EQ(account.registry.FindCertificate(cert.certificate_id)->status,
                  CertificateStatus::kPendingActivation);
        return;
    }
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_EQ(result->thing_name, c.expected_thing);
}
INSTANTIATE_TEST_SUITE_P(
    Table, FleetRegisterThingTest,
    ::testing::Values(
        FleetCase{"Valid", "fleet", {}, {{"SerialNumber", "1"}}, {}, minutes{59}, "", "dev_1"},
        FleetCase{"HookOverrideWins",
                  "fleet",
                  {},
                  {{"SerialNumber", "1"}},
                  {{"SerialNumber", "2"}},
                  minutes{0},
                  "",
                  "dev_2"},
        FleetCase{"EmptyToken",
                  "fleet",
                  "",
                  {{"SerialNumber", "1"}},
                  {},
                  minutes{0},
                  "InvalidCertificateOwnershipToken",
                  ""},
        FleetCase{"UnknownToken",
                  "fleet",
                  "deadbeef",
                  {{"SerialNumber", "1"}},
                  {},
                  minutes{0},
                  "InvalidCertificateOwnershipToken",
                  ""},
        FleetCase{"ExpiredToken",
                  "fleet",
                  {},
                  {{"SerialNumber", "1"}},
                  {},
                  minutes{61},
                  "InvalidCertificateOwnershipToken",
                  ""},
        FleetCase{"UnknownTemplate",
                  "nope",
                  {},
                  {{"SerialNumber", "1"}},
                  {},
                  minutes{0},
                  "ResourceNotFoundException",
                  ""},
        FleetCase{"DisabledTemplate",
                  "off",
                  {},
                  {{"SerialNumber", "1"}},
                  {},
                  minutes{0},
                  "AccessDenied",
                  ""},
        FleetCase{"JitpTemplate",
                  "jitp",
                  {},
                  {{"SerialNumber", "1"}},
                  {},
                  minutes{0},
                  "AccessDenied",
                  ""},
        FleetCase{"MissingParameter", "fleet", {}, {}, {}, minutes{0}, "InvalidPayload", ""},
        FleetCase{"BadThingName",
                  "fleet",
                  {},
                  {{"SerialNumber", "a b"}},
                  {},
                  minutes{0},
                  "InvalidRequestException",
                  ""}),
    CaseName{});

TEST(FleetProvisioningTest, TickDeletesUnactivatedCertificatesAfterAnHour) {
    FleetAccount account;
    const auto kept = IssueLeaf(account.service_ca, "kept");
    const auto dropped = IssueLeaf(account.service_ca, "dropped");
    ASSERT_TRUE(account.registry.FleetCreateCertificate({kept, ""}).has_value());
    ASSERT_TRUE(account.registry.FleetCreateCertificate({dropped, ""}).has_value());
    ASSERT_TRUE(account.registry.AttachPolicy("DevicePolicy", account.CertArn(kept.certificate_id))
                    .has_value());
    account.clock.Advance(minutes{59});
    account.registry.Tick();
    EXPECT_NE(account.registry.FindCertificate(dropped.certificate_id), nullptr);
    account.clock.Advance(minutes{2});
    account.registry.TakeChanges();
    account.registry.Tick();
    EXPECT_EQ(account.registry.FindCertificate(dropped.certificate_id), nullptr);
    EXPECT_NE(account.registry.FindCertificate(kept.certificate_id), nullptr);  // attached
    EXPECT_EQ(account.registry.TakeChanges().size(), 3U);  // 2 tokens + 1 certificate
}

TEST(ProvisioningClaimTest, ClaimCertificateIsHiddenAndExpiresAfterFiveMinutes) {
    FleetAccount account;
    const auto claim = IssueLeaf(account.service_ca, "claim");
    EXPECT_EQ(account.registry.CreateProvisioningClaim({"nope", claim}).error().type,
              error_type::kResourceNotFound);
    EXPECT_EQ(account.registry.CreateProvisioningClaim({"jitp", claim}).error().type,
              error_type::kInvalidRequest);
    const auto response = account.registry.CreateProvisioningClaim({"fleet", claim});
    ASSERT_TRUE(response.has_value()) << response.error().message;
    EXPECT_EQ(response->expiration, kStart + minutes{5});
    EXPECT_TRUE(account.registry.ListCertificates({})->certificates.empty());
    auto decision = account.registry.AuthenticateDevice({claim, "c", "127.0.0.1"});
    EXPECT_EQ(decision.verdict, ConnectVerdict::kAccept);
    EXPECT_TRUE(decision.is_provisioning_claim);
    account.clock.Advance(minutes{6});
    decision = account.registry.AuthenticateDevice({claim, "c", "127.0.0.1"});
    EXPECT_EQ(decision.verdict, ConnectVerdict::kRefuse);
    account.registry.TakeEffects();
    account.registry.Tick();
    EXPECT_EQ(account.registry.FindCertificate(claim.certificate_id), nullptr);
    const auto effects = account.registry.TakeEffects();
    ASSERT_EQ(effects.size(), 1U);
    EXPECT_EQ(effects[0].kind, Effect::Kind::kDisconnectCertificate);
}

// Tick looks at certificates only once the earliest claim may have expired; each claim still
// expires on time, the later one after the earlier one was removed.
TEST(ProvisioningClaimTest, ClaimsMadeAtDifferentTimesExpireEachOnTime) {
    FleetAccount account;
    const auto first = IssueLeaf(account.service_ca, "claim-1");
    const auto second = IssueLeaf(account.service_ca, "claim-2");
    ASSERT_TRUE(account.registry.CreateProvisioningClaim({"fleet", first}).has_value());
    account.clock.Advance(minutes{3});
    ASSERT_TRUE(account.registry.CreateProvisioningClaim({"fleet", second}).has_value());
    account.clock.Advance(minutes{1});
    account.registry.Tick();  // 4 min: neither has expired
    EXPECT_NE(account.registry.FindCertificate(first.certificate_id), nullptr);
    EXPECT_NE(account.registry.FindCertificate(second.certificate_id), nullptr);
    account.clock.Advance(minutes{2});
    account.registry.Tick();  // 6 min: the first has
    EXPECT_EQ(account.registry.FindCertificate(first.certificate_id), nullptr);
    EXPECT_NE(account.registry.FindCertificate(second.certificate_id), nullptr);
    account.clock.Advance(minutes{1});
    account.registry.Tick();  // 7 min: the second has 1 min left
    EXPECT_NE(account.registry.FindCertificate(second.certificate_id), nullptr);
    account.clock.Advance(minutes{2});
    account.registry.Tick();  // 9 min
    EXPECT_EQ(account.registry.FindCertificate(second.certificate_id), nullptr);
}

}  // namespace
}  // namespace sim::account::testing
