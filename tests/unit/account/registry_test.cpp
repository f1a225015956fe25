// SPDX-License-Identifier: Apache-2.0
// Registry control-plane operations, family by family: tables of valid and invalid requests
// with the AWS error type each must produce, and the rule that a failed request changes
// nothing (no change rows, no effects).

#include "sim/account/registry.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "account_fixture.hpp"
#include <gtest/gtest.h>

#include "sim/core/hex.hpp"

// In sim::account::testing, beside the fixtures of account_fixture.hpp (Account, MakeCa, ...).
namespace sim::account::testing {
namespace {

/// Asserts `result` failed with `type` and that the registry recorded no change.
template <class R>
void ExpectFailedWithoutChange(const R& result, std::string_view type, Registry& registry) {
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().type, type) << result.error().message;
    EXPECT_FALSE(result.error().message.empty());
    EXPECT_TRUE(registry.TakeChanges().empty()) << "a failed request changed state";
    EXPECT_TRUE(registry.TakeEffects().empty()) << "a failed request queued effects";
}

// ---- Errors ------------------------------------------------------------------------------

struct StatusCase {
    std::string name;
    std::string type;
    int status;
};
class HttpStatusTest : public ::testing::TestWithParam<StatusCase> {};
TEST_P(HttpStatusTest, MapsTypeToStatus) {
    EXPECT_EQ(HttpStatusOf(GetParam().type), GetParam().status);
}
INSTANTIATE_TEST_SUITE_P(
    Table, HttpStatusTest,
    ::testing::Values(StatusCase{"InvalidRequest", "InvalidRequestException", 400},
                      StatusCase{"Throttling", "ThrottlingException", 400},
                      StatusCase{"Unauthorized", "UnauthorizedException", 401},
                      StatusCase{"NotFound", "ResourceNotFoundException", 404},
                      StatusCase{"CertificateState", "CertificateStateException", 406},
                      StatusCase{"AlreadyExists", "ResourceAlreadyExistsException", 409},
                      StatusCase{"DeleteConflict", "DeleteConflictException", 409},
                      StatusCase{"VersionsLimit", "VersionsLimitExceededException", 409},
                      StatusCase{"LimitExceeded", "LimitExceededException", 410},
                      StatusCase{"InternalFailure", "InternalFailureException", 500},
                      StatusCase{"ServiceUnavailable", "ServiceUnavailableException", 503},
                      StatusCase{"AccessDenied", "AccessDenied", 403},
                      StatusCase{"Unknown", "NoSuchThing", 400}),
    CaseName{});

// ---- Registration code and endpoint ------------------------------------------------------

TEST(RegistrationCodeTest, CreatedOnceThenStableUntilDeleted) {
    Account account;
    auto first = account.registry.GetRegistrationCode();
    ASSERT_TRUE(first.has_value());
    EXPECT_TRUE(sim::IsLowerHex(*first, 64));
    EXPECT_EQ(*account.registry.GetRegistrationCode(), *first);
    EXPECT_EQ(account.registry.TakeChanges().size(), 1U);
    ASSERT_TRUE(account.registry.DeleteRegistrationCode().has_value());
    account.registry.TakeChanges();
    ExpectFailedWithoutChange(account.registry.DeleteRegistrationCode(),
                              error_type::kResourceNotFound, account.registry);
    EXPECT_NE(*account.registry.GetRegistrationCode(), *first);
}

struct EndpointCase {
    std::string name;
    std::optional<std::string> type;
    std::optional<std::string> address;  // nullopt: InvalidRequestException
};
class DescribeEndpointTest : public ::testing::TestWithParam<EndpointCase> {};
TEST_P(DescribeEndpointTest, ReturnsTestDomainHost) {
    Account account;
    const auto address = account.registry.DescribeEndpoint(GetParam().type);
    if (GetParam().address) {
        ASSERT_TRUE(address.has_value());
        EXPECT_EQ(*address, *GetParam().address);
    } else {
        ASSERT_FALSE(address.has_value());
        EXPECT_EQ(address.error().type, error_type::kInvalidRequest);
    }
}
INSTANTIATE_TEST_SUITE_P(
    Table, DescribeEndpointTest,
    ::testing::Values(
        EndpointCase{"Default", std::nullopt, "a1b2c3d4e5f6g7.iot.us-east-1.elsim.test"},
        EndpointCase{"Ats", "iot:Data-ATS", "a1b2c3d4e5f6g7-ats.iot.us-east-1.elsim.test"},
        EndpointCase{"Data", "iot:Data", "a1b2c3d4e5f6g7.iot.us-east-1.elsim.test"},
        EndpointCase{"Credentials", "iot:CredentialProvider",
                     "a1b2c3d4e5f6g7.credentials.iot.us-east-1.elsim.test"},
        EndpointCase{"Jobs", "iot:Jobs", "a1b2c3d4e5f6g7.jobs.iot.us-east-1.elsim.test"},
        EndpointCase{"Unknown", "iot:Nope", std::nullopt}),
    CaseName{});

TEST(EventConfigurationsTest, UnknownTypeRefusedAndThingEventsPublishedWhenEnabled) {
    Account account;
    EXPECT_TRUE(account.registry.DescribeEventConfigurations().at("CA_CERTIFICATE"));
    EXPECT_FALSE(account.registry.DescribeEventConfigurations().at("THING"));
    ExpectFailedWithoutChange(account.registry.UpdateEventConfigurations({{"NOPE", true}}),
                              error_type::kInvalidRequest, account.registry);
    ASSERT_TRUE(account.registry.CreateThing({"quiet", {}, {}, {}}).has_value());
    EXPECT_TRUE(account.registry.TakeEffects().empty());
    ASSERT_TRUE(account.registry.UpdateEventConfigurations({{"THING", true}}).has_value());
    ASSERT_TRUE(account.registry.CreateThing({"loud", {}, {}, {}}).has_value());
    const auto effects = account.registry.TakeEffects();
    ASSERT_EQ(effects.size(), 1U);
    EXPECT_EQ(effects[0].topic, "$aws/events/thing/loud/created");
    const auto payload = nlohmann::json::parse(effects[0].payload);
    EXPECT_EQ(payload["eventType"], "THING_EVENT");
    EXPECT_EQ(payload["operation"], "CREATED");
    EXPECT_EQ(payload["accountId"], "123456789012");
}

// ---- RegisterCACertificate ---------------------------------------------------------------

enum class CaKind { kGood, kNotCa, kExpired, kGarbage };
enum class Verification { kNone, kGood, kWrongCn, kOtherSigner, kGarbage };

struct RegisterCaCase {
    std::string name;
    std::optional<std::string> mode;
    CaKind ca;
    Verification verification;
    bool have_code;
    std::string error_type;  // "" means success
};

class RegisterCaTest : public ::testing::TestWithParam<RegisterCaCase> {};

TEST_P(RegisterCaTest, EnforcesModeAndVerification) {
    const auto& c = GetParam();
    Account account;
    std::string code;
    if (c.have_code) {
        code = *account.registry.GetRegistrationCode();
        account.registry.TakeChanges();
    }
    const auto ca = MakeCa("Maker Root");
    const auto other = MakeCa("Other Root");
    RegisterCaCertificateRequest request;
    request.certificate_mode = c.mode;
    switch (c.ca) {
        case CaKind::kGood:
            request.ca_certificate = ca.pem();
            break;
        case CaKind::kNotCa:
            request.ca_certificate = IssueLeaf(ca, "leaf").pem;
            break;
        case CaKind::kExpired:
            request.ca_certificate =
                MakeCa("Old", kStart - std::chrono::hours{48}, kStart - std::chrono::hours{24})
                    .pem();
            break;
        case CaKind::kGarbage:
            request.ca_certificate =
                "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n";
            break;
    }
    switch (c.verification) {
        case Verification::kNone:
            break;
        case Verification::kGood:
            request.verification_certificate = IssueLeaf(ca, code.empty() ? "x" : code).pem;
            break;
        case Verification::kWrongCn:
            request.verification_certificate = IssueLeaf(ca, "not-the-code").pem;
            break;
        case Verification::kOtherSigner:
            request.verification_certificate = IssueLeaf(other, code).pem;
            break;
        case Verification::kGarbage:
            request.verification_certificate = "garbage";
            break;
    }
    const auto response = account.registry.RegisterCACertificate(request);
    if (c.error_type.empty()) {
        ASSERT_TRUE(response.has_value()) << response.error().message;
        EXPECT_EQ(response->certificate_id, ca.info().certificate_id);
        EXPECT_EQ(response->certificate_arn,
                  "arn:aws:iot:us-east-1:123456789012:cacert/" + ca.info().certificate_id);
        const auto described = account.registry.DescribeCACertificate(response->certificate_id);
        ASSERT_TRUE(described.has_value());
        EXPECT_EQ(described->status, CaStatus::kInactive);  // setAsActive defaults to false
        EXPECT_EQ(described->auto_registration_status, AutoRegistrationStatus::kDisable);
        EXPECT_EQ(ToString(described->certificate_mode), c.mode.value_or("DEFAULT"));
        EXPECT_EQ(account.registry.TakeChanges().size(), 1U);
    } else {
        ExpectFailedWithoutChange(response, c.error_type, account.registry);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, RegisterCaTest,
    ::testing::Values(
        RegisterCaCase{"DefaultWithVerification", std::nullopt, CaKind::kGood, Verification::kGood,
                       true, ""},
        RegisterCaCase{"ExplicitDefault", "DEFAULT", CaKind::kGood, Verification::kGood, true, ""},
        RegisterCaCase{"SniOnlyWithout", "SNI_ONLY", CaKind::kGood, Verification::kNone, false, ""},
        RegisterCaCase{"DefaultWithoutVerification", std::nullopt, CaKind::kGood,
                       Verification::kNone, true, "InvalidRequestException"},
        RegisterCaCase{"SniOnlyWithVerification", "SNI_ONLY", CaKind::kGood, Verification::kGood,
                       true, "InvalidRequestException"},
        RegisterCaCase{"WrongCn", std::nullopt, CaKind::kGood, Verification::kWrongCn, true,
                       "RegistrationCodeValidationException"},
        RegisterCaCase{"NoCodeYet", std::nullopt, CaKind::kGood, Verification::kGood, false,
                       "RegistrationCodeValidationException"},
        RegisterCaCase{"SignedByAnotherCa", std::nullopt, CaKind::kGood, Verification::kOtherSigner,
                       true, "CertificateValidationException"},
        RegisterCaCase{"GarbageVerification", std::nullopt, CaKind::kGood, Verification::kGarbage,
                       true, "CertificateValidationException"},
        RegisterCaCase{"NotACa", "SNI_ONLY", CaKind::kNotCa, Verification::kNone, false,
                       "CertificateValidationException"},
        RegisterCaCase{"ExpiredCa", "SNI_ONLY", CaKind::kExpired, Verification::kNone, false,
                       "CertificateValidationException"},
        RegisterCaCase{"GarbageCa", "SNI_ONLY", CaKind::kGarbage, Verification::kNone, false,
                       "CertificateValidationException"},
        RegisterCaCase{"UnknownMode", "STRICT", CaKind::kGood, Verification::kNone, false,
                       "InvalidRequestException"}),
    CaseName{});

TEST(RegisterCaTest, SameCaTwiceIsAlreadyExistsWithIdAndArn) {
    Account account;
    const auto ca = MakeCa("Root");
    const auto id = account.RegisterCa(ca, false);
    account.registry.TakeChanges();
    RegisterCaCertificateRequest request;
    request.ca_certificate = ca.pem();
    request.certificate_mode = "SNI_ONLY";
    const auto again = account.registry.RegisterCACertificate(request);
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error().resource_id, id);
    EXPECT_EQ(again.error().resource_arn, CaCertificateArn(account.registry.Settings(), id));
    ExpectFailedWithoutChange(again, error_type::kResourceAlreadyExists, account.registry);
}

TEST(RegisterCaTest, DefaultModeIsOneAccountPerRegionSniOnlyIsMany) {
    InMemoryDefaultModeCaIndex world_index;
    Account first("111111111111", &world_index);
    Account second("222222222222", &world_index);
    const auto ca = MakeCa("Shared Root");
    auto default_request = [&](Account& account) {
        RegisterCaCertificateRequest request;
        request.ca_certificate = ca.pem();
        request.verification_certificate =
            IssueLeaf(ca, *account.registry.GetRegistrationCode()).pem;
        account.registry.TakeChanges();
        return request;
    };
    ASSERT_TRUE(first.registry.RegisterCACertificate(default_request(first)).has_value());
    ExpectFailedWithoutChange(second.registry.RegisterCACertificate(default_request(second)),
                              error_type::kResourceAlreadyExists, second.registry);
    EXPECT_EQ(second.RegisterCa(ca, true).size(), 64U);  // SNI_ONLY in the second account
    // Deleting the first account's CA frees DEFAULT mode in the region.
    ASSERT_TRUE(first.registry.DeleteCACertificate(ca.info().certificate_id).has_value());
    ASSERT_TRUE(
        second.registry.UpdateCACertificate({ca.info().certificate_id, "INACTIVE", {}, {}, false})
            .has_value());
    ASSERT_TRUE(second.registry.DeleteCACertificate(ca.info().certificate_id).has_value());
    EXPECT_TRUE(second.registry.RegisterCACertificate(default_request(second)).has_value());
}

TEST(RegisterCaTest, AtMostTenCasWithTheSameSubject) {
    Account account;
    for (int i = 0; i < 10; ++i) {
        account.RegisterCa(MakeCa("Same Subject"), false);
    }
    account.registry.TakeChanges();
    RegisterCaCertificateRequest request;
    request.ca_certificate = MakeCa("Same Subject").pem();
    request.certificate_mode = "SNI_ONLY";
    ExpectFailedWithoutChange(account.registry.RegisterCACertificate(request),
                              error_type::kLimitExceeded, account.registry);
}

struct RegistrationConfigCase {
    std::string name;
    RegistrationConfig config;
    bool create_jitp_template;
    bool create_fleet_template;
    std::string error_type;
};
class RegistrationConfigTest : public ::testing::TestWithParam<RegistrationConfigCase> {};
TEST_P(RegistrationConfigTest, ValidatesJitpSettings) {
    const auto& c = GetParam();
    Account account;
    if (c.create_jitp_template) {
        ASSERT_TRUE(account.registry
                        .CreateProvisioningTemplate(
                            {"jitp", {}, R"({"Resources":{}})", true, kRoleArn, {}, "JITP"})
                        .has_value());
    }
    if (c.create_fleet_template) {
        ASSERT_TRUE(account.registry
                        .CreateProvisioningTemplate(
                            {"fleet", {}, R"({"Resources":{}})", true, kRoleArn, {}, {}})
                        .has_value());
    }
    account.registry.TakeChanges();
    RegisterCaCertificateRequest request;
    request.ca_certificate = MakeCa("Root").pem();
    request.certificate_mode = "SNI_ONLY";
    request.registration_config = c.config;
    const auto response = account.registry.RegisterCACertificate(request);
    if (c.error_type.empty()) {
        ASSERT_TRUE(response.has_value()) << response.error().message;
        EXPECT_EQ(
            account.registry.DescribeCACertificate(response->certificate_id)->registration_config,
            c.config);
    } else {
        ExpectFailedWithoutChange(response, c.error_type, account.registry);
    }
}
INSTANTIATE_TEST_SUITE_P(
    Table, RegistrationConfigTest,
    ::testing::Values(
        RegistrationConfigCase{
            "BodyAndRole", {R"({"Resources":{}})", kRoleArn, {}}, false, false, ""},
        RegistrationConfigCase{"TemplateName", {{}, {}, "jitp"}, true, false, ""},
        RegistrationConfigCase{"BodyWithoutRole",
                               {R"({"Resources":{}})", {}, {}},
                               false,
                               false,
                               "InvalidRequestException"},
        RegistrationConfigCase{
            "RoleWithoutBody", {{}, kRoleArn, {}}, false, false, "InvalidRequestException"},
        RegistrationConfigCase{
            "BadBody", {"{not json", kRoleArn, {}}, false, false, "InvalidRequestException"},
        RegistrationConfigCase{"NameAndBody",
                               {R"({"Resources":{}})", kRoleArn, "jitp"},
                               true,
                               false,
                               "InvalidRequestException"},
        RegistrationConfigCase{
            "UnknownTemplate", {{}, {}, "missing"}, false, false, "ResourceNotFoundException"},
        RegistrationConfigCase{
            "FleetTemplateRefused", {{}, {}, "fleet"}, false, true, "InvalidRequestException"}),
    CaseName{});

struct UpdateCaCase {
    std::string name;
    UpdateCaCertificateRequest request;  // certificate_id filled in by the test
    std::string error_type;
};
class UpdateCaTest : public ::testing::TestWithParam<UpdateCaCase> {};
TEST_P(UpdateCaTest, AppliesOrRefuses) {
    Account account;
    const auto id = account.RegisterCa(MakeCa("Root"), true,
                                       RegistrationConfig{R"({"Resources":{}})", kRoleArn, {}});
    account.registry.TakeChanges();
    auto request = GetParam().request;
    if (request.certificate_id.empty()) {
        request.certificate_id = id;
    }
    const auto result = account.registry.UpdateCACertificate(request);
    if (!GetParam().error_type.empty()) {
        ExpectFailedWithoutChange(result, GetParam().error_type, account.registry);
        return;
    }
    ASSERT_TRUE(result.has_value()) << result.error().message;
    const auto ca = account.registry.DescribeCACertificate(id);
    if (request.new_status) {
        EXPECT_EQ(ToString(ca->status), *request.new_status);
    }
    if (request.new_auto_registration_status) {
        EXPECT_EQ(ToString(ca->auto_registration_status), *request.new_auto_registration_status);
    }
    if (request.remove_auto_registration) {
        EXPECT_TRUE(ca->registration_config.Empty());
    }
    EXPECT_EQ(ca->customer_version, 2);
}
INSTANTIATE_TEST_SUITE_P(
    Table, UpdateCaTest,
    ::testing::Values(
        UpdateCaCase{"Deactivate", {"", "INACTIVE", {}, {}, false}, ""},
        UpdateCaCase{"DisableAndRemove", {"", {}, "DISABLE", {}, true}, ""},
        UpdateCaCase{"BadStatus", {"", "REVOKED", {}, {}, false}, "InvalidRequestException"},
        UpdateCaCase{"BadAutoStatus", {"", {}, "MAYBE", {}, false}, "InvalidRequestException"},
        UpdateCaCase{"RemoveAndSet",
                     {"", {}, {}, RegistrationConfig{{}, {}, "x"}, true},
                     "InvalidRequestException"},
        UpdateCaCase{"BadId", {"abc", "ACTIVE", {}, {}, false}, "InvalidRequestException"},
        UpdateCaCase{"UnknownId",
                     {std::string(64, 'b'), "ACTIVE", {}, {}, false},
                     "ResourceNotFoundException"}),
    CaseName{});

TEST(DeleteCaTest, RefusedWhileActiveThenAllowed) {
    Account account;
    const auto id = account.RegisterCa(MakeCa("Root"), true);
    account.registry.TakeChanges();
    ExpectFailedWithoutChange(account.registry.DeleteCACertificate(id),
                              error_type::kCertificateState, account.registry);
    ASSERT_TRUE(account.registry.UpdateCACertificate({id, "INACTIVE", {}, {}, false}).has_value());
    ASSERT_TRUE(account.registry.DeleteCACertificate(id).has_value());
    EXPECT_EQ(account.registry.DescribeCACertificate(id).error().type,
              error_type::kResourceNotFound);
}

// ---- Device certificates -----------------------------------------------------------------

enum class Signer { kRegisteredActive, kRegisteredInactive, kUnregistered };

struct RegisterCertCase {
    std::string name;
    Signer signer;
    bool pass_ca_pem;
    bool expired;
    std::optional<std::string> status;
    bool set_as_active;
    std::string expected_status;  // when successful
    std::string error_type;
};
class RegisterCertificateTest : public ::testing::TestWithParam<RegisterCertCase> {};
TEST_P(RegisterCertificateTest, RegistersUnderTheSigningCa) {
    const auto& c = GetParam();
    Account account;
    const auto ca = MakeCa("Root");
    if (c.signer != Signer::kUnregistered) {
        account.RegisterCa(ca, false);
        if (c.signer == Signer::kRegisteredInactive) {
            ASSERT_TRUE(
                account.registry
                    .UpdateCACertificate({ca.info().certificate_id, "INACTIVE", {}, {}, false})
                    .has_value());
        }
    }
    account.registry.TakeChanges();
    const auto leaf = c.expired
                          ? IssueLeaf(ca, Dn({{"CN", "old"}}), kStart - std::chrono::hours{48},
                                      kStart - std::chrono::hours{1})
                          : IssueLeaf(ca, "device");
    RegisterDeviceCertificateRequest request;
    request.certificate_pem = leaf.pem;
    if (c.pass_ca_pem) {
        request.ca_certificate_pem = ca.pem();
    }
    request.status = c.status;
    request.set_as_active = c.set_as_active;
    const auto response = account.registry.RegisterCertificate(request);
    if (!c.error_type.empty()) {
        ExpectFailedWithoutChange(response, c.error_type, account.registry);
        return;
    }
    ASSERT_TRUE(response.has_value()) << response.error().message;
    EXPECT_EQ(response->certificate_id, leaf.certificate_id);
    const auto cert = account.registry.DescribeCertificate(leaf.certificate_id);
    EXPECT_EQ(ToString(cert->status), c.expected_status);
    EXPECT_EQ(cert->ca_certificate_id, ca.info().certificate_id);
    EXPECT_EQ(cert->certificate_mode, CertificateMode::kSniOnly);  // inherits the CA's mode
}
INSTANTIATE_TEST_SUITE_P(
    Table, RegisterCertificateTest,
    ::testing::Values(
        RegisterCertCase{
            "DefaultInactive", Signer::kRegisteredActive, false, false, {}, false, "INACTIVE", ""},
        RegisterCertCase{"StatusActive", Signer::kRegisteredActive, false, false, "ACTIVE", false,
                         "ACTIVE", ""},
        RegisterCertCase{
            "SetAsActive", Signer::kRegisteredActive, true, false, {}, true, "ACTIVE", ""},
        RegisterCertCase{"Revoked", Signer::kRegisteredActive, false, false, "REVOKED", false,
                         "REVOKED", ""},
        RegisterCertCase{"PendingRefused", Signer::kRegisteredActive, false, false,
                         "PENDING_ACTIVATION", false, "", "InvalidRequestException"},
        RegisterCertCase{"UnknownCa",
                         Signer::kUnregistered,
                         false,
                         false,
                         {},
                         false,
                         "",
                         "CertificateValidationException"},
        RegisterCertCase{"UnknownCaPem",
                         Signer::kUnregistered,
                         true,
                         false,
                         {},
                         false,
                         "",
                         "CertificateValidationException"},
        RegisterCertCase{"InactiveCa",
                         Signer::kRegisteredInactive,
                         false,
                         false,
                         {},
                         false,
                         "",
                         "CertificateStateException"},
        RegisterCertCase{"Expired",
                         Signer::kRegisteredActive,
                         false,
                         true,
                         {},
                         false,
                         "",
                         "CertificateValidationException"}),
    CaseName{});

TEST(RegisterCertificateTest, WithoutCaIsSniOnlyAndDuplicateIsAlreadyExists) {
    Account account;
    const auto leaf = IssueLeaf(MakeCa("Unregistered"), "device");
    const auto response =
        account.registry.RegisterCertificateWithoutCA({leaf.pem, {}, "ACTIVE", false});
    ASSERT_TRUE(response.has_value()) << response.error().message;
    EXPECT_EQ(response->certificate_arn,
              "arn:aws:iot:us-east-1:123456789012:cert/" + leaf.certificate_id);
    const auto cert = account.registry.DescribeCertificate(leaf.certificate_id);
    EXPECT_EQ(cert->certificate_mode, CertificateMode::kSniOnly);
    EXPECT_FALSE(cert->ca_certificate_id.has_value());
    account.registry.TakeChanges();
    const auto again = account.registry.RegisterCertificateWithoutCA({leaf.pem, {}, {}, false});
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error().resource_id, leaf.certificate_id);
    ExpectFailedWithoutChange(again, error_type::kResourceAlreadyExists, account.registry);
}

struct UpdateCertCase {
    std::string name;
    std::string from;
    std::string to;
    std::string error_type;
    bool kicks;
};
class UpdateCertificateTest : public ::testing::TestWithParam<UpdateCertCase> {};
TEST_P(UpdateCertificateTest, FollowsTheLifecycle) {
    const auto& c = GetParam();
    Account account;
    const auto leaf = IssueLeaf(MakeCa("Root"), "device");
    std::string id;
    if (c.from == "PENDING_ACTIVATION") {
        id = account.registry.FleetCreateCertificate({leaf, ""})->certificate_id;
    } else {
        id = account.registry.RegisterCertificateWithoutCA({leaf.pem, {}, c.from, false})
                 ->certificate_id;
    }
    account.registry.TakeChanges();
    const auto result = account.registry.UpdateCertificate(id, c.to);
    if (!c.error_type.empty()) {
        ExpectFailedWithoutChange(result, c.error_type, account.registry);
        EXPECT_EQ(ToString(account.registry.FindCertificate(id)->status), c.from);
        return;
    }
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_EQ(ToString(account.registry.FindCertificate(id)->status), c.to);
    const auto effects = account.registry.TakeEffects();
    if (c.kicks) {
        ASSERT_EQ(effects.size(), 1U);
        EXPECT_EQ(effects[0].kind, Effect::Kind::kDisconnectCertificate);
        EXPECT_EQ(effects[0].certificate_id, id);
    } else {
        EXPECT_TRUE(effects.empty());
    }
}
INSTANTIATE_TEST_SUITE_P(
    Table, UpdateCertificateTest,
    ::testing::Values(
        UpdateCertCase{"ActivateInactive", "INACTIVE", "ACTIVE", "", false},
        UpdateCertCase{"DeactivateKicks", "ACTIVE", "INACTIVE", "", true},
        UpdateCertCase{"RevokeActiveKicks", "ACTIVE", "REVOKED", "", true},
        UpdateCertCase{"RevokeInactive", "INACTIVE", "REVOKED", "", false},
        UpdateCertCase{"IdempotentActive", "ACTIVE", "ACTIVE", "", false},
        UpdateCertCase{"ActivatePending", "PENDING_ACTIVATION", "ACTIVE", "", false},
        UpdateCertCase{"RevokedIsFinal", "REVOKED", "ACTIVE", "CertificateStateException", false},
        UpdateCertCase{"RevokedToInactive", "REVOKED", "INACTIVE", "CertificateStateException",
                       false},
        UpdateCertCase{"PendingActivationNotSettable", "ACTIVE", "PENDING_ACTIVATION",
                       "InvalidRequestException", false},
        UpdateCertCase{"PendingTransferNotSettable", "ACTIVE", "PENDING_TRANSFER",
                       "InvalidRequestException", false},
        UpdateCertCase{"RegisterInactiveDeprecated", "ACTIVE", "REGISTER_INACTIVE",
                       "InvalidRequestException", false},
        UpdateCertCase{"UnknownStatus", "ACTIVE", "ENABLED", "InvalidRequestException", false}),
    CaseName{});

TEST(UpdateCertificateTest, UnknownAndMalformedIds) {
    Account account;
    ExpectFailedWithoutChange(account.registry.UpdateCertificate(std::string(64, 'c'), "ACTIVE"),
                              error_type::kResourceNotFound, account.registry);
    ExpectFailedWithoutChange(account.registry.UpdateCertificate("short", "ACTIVE"),
                              error_type::kInvalidRequest, account.registry);
}

struct DeleteCertCase {
    std::string name;
    std::string status;
    bool policy_attached;
    bool thing_attached;
    bool force;
    std::string error_type;
};
class DeleteCertificateTest : public ::testing::TestWithParam<DeleteCertCase> {};
TEST_P(DeleteCertificateTest, RefusedWhileActiveOrAttached) {
    const auto& c = GetParam();
    Account account;
    const auto leaf = IssueLeaf(MakeCa("Root"), "device");
    const auto id = account.registry.RegisterCertificateWithoutCA({leaf.pem, {}, c.status, false})
                        ->certificate_id;
    const auto arn = account.CertArn(id);
    ASSERT_TRUE(account.registry.CreatePolicy("P", kAllowAllPolicy).has_value());
    if (c.policy_attached) {
        ASSERT_TRUE(account.registry.AttachPolicy("P", arn).has_value());
    }
    if (c.thing_attached) {
        ASSERT_TRUE(account.registry.CreateThing({"t", {}, {}, {}}).has_value());
        ASSERT_TRUE(account.registry.AttachThingPrincipal("t", arn).has_value());
    }
    account.registry.TakeChanges();
    const auto result = account.registry.DeleteCertificate(id, c.force);
    if (!c.error_type.empty()) {
        ExpectFailedWithoutChange(result, c.error_type, account.registry);
        EXPECT_NE(account.registry.FindCertificate(id), nullptr);
        return;
    }
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_EQ(account.registry.FindCertificate(id), nullptr);
    EXPECT_TRUE(account.registry.PoliciesOfCertificate(id).empty());
}
INSTANTIATE_TEST_SUITE_P(
    Table, DeleteCertificateTest,
    ::testing::Values(
        DeleteCertCase{"Inactive", "INACTIVE", false, false, false, ""},
        DeleteCertCase{"Revoked", "REVOKED", false, false, false, ""},
        DeleteCertCase{"Active", "ACTIVE", false, false, false, "CertificateStateException"},
        DeleteCertCase{"PolicyAttached", "INACTIVE", true, false, false, "DeleteConflictException"},
        DeleteCertCase{"PolicyAttachedForced", "INACTIVE", true, false, true, ""},
        DeleteCertCase{"ThingAttached", "INACTIVE", false, true, false, "DeleteConflictException"},
        DeleteCertCase{"ThingAttachedForced", "INACTIVE", false, true, true,
                       "DeleteConflictException"}),
    CaseName{});

TEST(ListCertificatesTest, PagesWithBase64MarkersAndNoMarkerOnLastPage) {
    Account account;
    const auto ca = MakeCa("Root");
    std::vector<std::string> ids;
    for (int i = 0; i < 7; ++i) {
        account.clock.Advance(std::chrono::seconds{1});
        ids.push_back(account.registry
                          .RegisterCertificateWithoutCA(
                              {IssueLeaf(ca, "d" + std::to_string(i)).pem, {}, {}, false})
                          ->certificate_id);
    }
    std::vector<std::string> seen;
    PageRequest page{3, std::nullopt, true};
    int pages = 0;
    while (true) {
        const auto response = account.registry.ListCertificates(page);
        ASSERT_TRUE(response.has_value()) << response.error().message;
        ++pages;
        for (const auto& summary : response->certificates) {
            seen.push_back(summary.certificate_id);
        }
        if (!response->next_marker) {
            break;
        }
        EXPECT_TRUE(sim::Base64Decode(*response->next_marker).has_value());
        page.marker = response->next_marker;
    }
    EXPECT_EQ(pages, 3);
    EXPECT_EQ(seen, ids);  // ascending by creation date
    const auto descending = account.registry.ListCertificates({250, std::nullopt, false});
    ASSERT_EQ(descending->certificates.size(), 7U);
    EXPECT_EQ(descending->certificates.front().certificate_id, ids.back());
    EXPECT_FALSE(descending->next_marker.has_value());
}

struct PageCase {
    std::string name;
    PageRequest page;
};
class BadPageTest : public ::testing::TestWithParam<PageCase> {};
TEST_P(BadPageTest, IsInvalidRequest) {
    Account account;
    EXPECT_EQ(account.registry.ListCertificates(GetParam().page).error().type,
              error_type::kInvalidRequest);
    EXPECT_EQ(account.registry.ListThings({GetParam().page, {}, {}, {}, false}).error().type,
              error_type::kInvalidRequest);
}
INSTANTIATE_TEST_SUITE_P(Table, BadPageTest,
                         ::testing::Values(PageCase{"Zero", {0, {}, true}},
                                           PageCase{"TooLarge", {251, {}, true}},
                                           PageCase{"Negative", {-1, {}, true}},
                                           PageCase{"BadMarker", {10, "!!!", true}},
                                           PageCase{"EmptyMarker", {10, "", true}}),
                         CaseName{});

// ---- Things ------------------------------------------------------------------------------

struct CreateThingCase {
    std::string name;
    CreateThingRequest request;
    std::string error_type;
};
class CreateThingTest : public ::testing::TestWithParam<CreateThingCase> {};
TEST_P(CreateThingTest, ValidatesLikeTheModel) {
    Account account;
    ASSERT_TRUE(account.registry.CreateThingType({"Sensor", {}, {}}).has_value());
    account.registry.TakeChanges();
    const auto response = account.registry.CreateThing(GetParam().request);
    if (!GetParam().error_type.empty()) {
        ExpectFailedWithoutChange(response, GetParam().error_type, account.registry);
        return;
    }
    ASSERT_TRUE(response.has_value()) << response.error().message;
    EXPECT_EQ(response->thing_arn,
              "arn:aws:iot:us-east-1:123456789012:thing/" + GetParam().request.thing_name);
    EXPECT_EQ(response->thing_id.size(), 36U);
    const auto thing = account.registry.DescribeThing(GetParam().request.thing_name);
    EXPECT_EQ(thing->version, 1);
}
std::map<std::string, std::string> Attributes(int count) {
    std::map<std::string, std::string> out;
    for (int i = 0; i < count; ++i) {
        out["a" + std::to_string(i)] = "v";
    }
    return out;
}
INSTANTIATE_TEST_SUITE_P(
    Table, CreateThingTest,
    ::testing::Values(
        CreateThingCase{"Plain", {"thing-1", {}, {}, {}}, ""},
        CreateThingCase{"AllowedCharacters", {"a:b_c-D9", {}, {}, {}}, ""},
        CreateThingCase{"MaxLength", {std::string(128, 'x'), {}, {}, {}}, ""},
        CreateThingCase{"TooLong", {std::string(129, 'x'), {}, {}, {}}, "InvalidRequestException"},
        CreateThingCase{"Empty", {"", {}, {}, {}}, "InvalidRequestException"},
        CreateThingCase{"Slash", {"a/b", {}, {}, {}}, "InvalidRequestException"},
        CreateThingCase{"Space", {"a b", {}, {}, {}}, "InvalidRequestException"},
        CreateThingCase{"ThreeAttributes", {"t", {}, Attributes(3), {}}, ""},
        CreateThingCase{
            "FourAttributesWithoutType", {"t", {}, Attributes(4), {}}, "InvalidRequestException"},
        CreateThingCase{"FiftyAttributesWithType", {"t", "Sensor", Attributes(50), {}}, ""},
        CreateThingCase{
            "FiftyOneWithType", {"t", "Sensor", Attributes(51), {}}, "InvalidRequestException"},
        CreateThingCase{"BadAttributeName",
                        {"t", {}, std::map<std::string, std::string>{{"a b", "v"}}, {}},
                        "InvalidRequestException"},
        CreateThingCase{"BadAttributeValue",
                        {"t", {}, std::map<std::string, std::string>{{"a", "v v"}}, {}},
                        "InvalidRequestException"},
        CreateThingCase{
            "LongAttributeValue",
            {"t", {}, std::map<std::string, std::string>{{"a", std::string(801, 'v')}}, {}},
            "InvalidRequestException"},
        CreateThingCase{"UnknownType", {"t", "Nope", {}, {}}, "ResourceNotFoundException"},
        CreateThingCase{"BillingGroup", {"t", {}, {}, "bg"}, "ResourceNotFoundException"}),
    CaseName{});

TEST(CreateThingTest, IdempotentForIdenticalInputOtherwiseAlreadyExists) {
    Account account;
    const auto first = account.registry.CreateThing({"t", {}, Attributes(1), {}});
    ASSERT_TRUE(first.has_value());
    account.registry.TakeChanges();
    const auto again = account.registry.CreateThing({"t", {}, Attributes(1), {}});
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->thing_id, first->thing_id);
    EXPECT_TRUE(account.registry.TakeChanges().empty());
    const auto different = account.registry.CreateThing({"t", {}, Attributes(2), {}});
    ASSERT_FALSE(different.has_value());
    EXPECT_EQ(different.error().resource_id, first->thing_id);
    ExpectFailedWithoutChange(different, error_type::kResourceAlreadyExists, account.registry);
}

struct UpdateThingCase {
    std::string name;
    UpdateThingRequest request;
    std::map<std::string, std::string> expected_attributes;
    std::string error_type;
};
class UpdateThingTest : public ::testing::TestWithParam<UpdateThingCase> {};
TEST_P(UpdateThingTest, MergesReplacesOrRefuses) {
    Account account;
    ASSERT_TRUE(
        account.registry
            .CreateThing({"t", {}, std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}}, {}})
            .has_value());
    account.registry.TakeChanges();
    const auto result = account.registry.UpdateThing(GetParam().request);
    if (!GetParam().error_type.empty()) {
        ExpectFailedWithoutChange(result, GetParam().error_type, account.registry);
        EXPECT_EQ(account.registry.FindThing("t")->version, 1);
        return;
    }
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_EQ(account.registry.FindThing("t")->attributes, GetParam().expected_attributes);
    EXPECT_EQ(account.registry.FindThing("t")->version, 2);
}
using Attrs = std::map<std::string, std::string>;
INSTANTIATE_TEST_SUITE_P(
    Table, UpdateThingTest,
    ::testing::Values(
        UpdateThingCase{"Merge",
                        {"t", {}, false, Attrs{{"c", "3"}, {"a", ""}}, true, {}},
                        Attrs{{"b", "2"}, {"c", "3"}},
                        ""},
        UpdateThingCase{
            "Replace", {"t", {}, false, Attrs{{"c", "3"}}, false, {}}, Attrs{{"c", "3"}}, ""},
        UpdateThingCase{"ExpectedVersionMatches",
                        {"t", {}, false, {}, false, 1},
                        Attrs{{"a", "1"}, {"b", "2"}},
                        ""},
        UpdateThingCase{
            "ExpectedVersionStale", {"t", {}, false, {}, false, 7}, {}, "VersionConflictException"},
        UpdateThingCase{"TooManyAfterMerge",
                        {"t", {}, false, Attrs{{"c", "3"}, {"d", "4"}}, true, {}},
                        {},
                        "InvalidRequestException"},
        UpdateThingCase{
            "UnknownThing", {"nope", {}, false, {}, false, {}}, {}, "ResourceNotFoundException"},
        UpdateThingCase{
            "UnknownType", {"t", "Nope", false, {}, false, {}}, {}, "ResourceNotFoundException"},
        UpdateThingCase{
            "TypeAndRemoveType", {"t", "X", true, {}, false, {}}, {}, "InvalidRequestException"}),
    CaseName{});

TEST(DeleteThingTest, SilentWhenMissingRefusedWhileAttachedOrStale) {
    Account account;
    EXPECT_TRUE(account.registry.DeleteThing("never", std::nullopt).has_value());
    const auto leaf = IssueLeaf(MakeCa("Root"), "device");
    const auto id =
        account.registry.RegisterCertificateWithoutCA({leaf.pem, {}, {}, false})->certificate_id;
    ASSERT_TRUE(account.registry.CreateThing({"t", {}, {}, {}}).has_value());
    ASSERT_TRUE(account.registry.AttachThingPrincipal("t", account.CertArn(id)).has_value());
    account.registry.TakeChanges();
    ExpectFailedWithoutChange(account.registry.DeleteThing("t", std::nullopt),
                              error_type::kInvalidRequest, account.registry);
    ASSERT_TRUE(account.registry.DetachThingPrincipal("t", account.CertArn(id)).has_value());
    account.registry.TakeChanges();
    ExpectFailedWithoutChange(account.registry.DeleteThing("t", 5), error_type::kVersionConflict,
                              account.registry);
    EXPECT_TRUE(account.registry.DeleteThing("t", 1).has_value());
    EXPECT_EQ(account.registry.FindThing("t"), nullptr);
}

TEST(ListThingsTest, FiltersAndPagesByName) {
    Account account;
    for (const char* name : {"c", "a", "b", "d"}) {
        ASSERT_TRUE(
            account.registry.CreateThing({name, {}, Attrs{{"kind", std::string("k") + name}}, {}})
                .has_value());
    }
    auto page = account.registry.ListThings({{2, {}, true}, {}, {}, {}, false});
    ASSERT_EQ(page->things.size(), 2U);
    EXPECT_EQ(page->things[0].thing_name, "a");
    ASSERT_TRUE(page->next_token.has_value());
    page = account.registry.ListThings({{2, page->next_token, true}, {}, {}, {}, false});
    EXPECT_EQ(page->things[1].thing_name, "d");
    EXPECT_FALSE(page->next_token.has_value());
    const auto filtered = account.registry.ListThings({{}, "kind", "kb", {}, false});
    ASSERT_EQ(filtered->things.size(), 1U);
    EXPECT_EQ(filtered->things[0].thing_name, "b");
    const auto prefixed = account.registry.ListThings({{}, "kind", "k", {}, true});
    EXPECT_EQ(prefixed->things.size(), 4U);
}

// ---- Thing principals --------------------------------------------------------------------

struct AttachCase {
    std::string name;
    std::optional<std::string> first_type;   // attach to thing "one" first (nullopt: skip)
    std::optional<std::string> second_type;  // then to thing "two"
    std::string error_type;                  // of the second attach
};
class AttachThingPrincipalTest : public ::testing::TestWithParam<AttachCase> {};
TEST_P(AttachThingPrincipalTest, HonoursExclusivity) {
    const auto& c = GetParam();
    Account account;
    const auto leaf = IssueLeaf(MakeCa("Root"), "device");
    const auto arn = account.CertArn(
        account.registry.RegisterCertificateWithoutCA({leaf.pem, {}, {}, false})->certificate_id);
    ASSERT_TRUE(account.registry.CreateThing({"one", {}, {}, {}}).has_value());
    ASSERT_TRUE(account.registry.CreateThing({"two", {}, {}, {}}).has_value());
    if (c.first_type) {
        ASSERT_TRUE(account.registry.AttachThingPrincipal("one", arn, *c.first_type).has_value());
    }
    account.registry.TakeChanges();
    const auto result = account.registry.AttachThingPrincipal("two", arn, c.second_type);
    if (!c.error_type.empty()) {
        ExpectFailedWithoutChange(result, c.error_type, account.registry);
        return;
    }
    ASSERT_TRUE(result.has_value()) << result.error().message;
    const auto things = account.registry.ListPrincipalThings(arn, {});
    EXPECT_EQ(things->names.size(), c.first_type ? 2U : 1U);
}
INSTANTIATE_TEST_SUITE_P(
    Table, AttachThingPrincipalTest,
    ::testing::Values(
        AttachCase{"First", {}, {}, ""},
        AttachCase{"NonExclusiveTwice", "NON_EXCLUSIVE_THING", "NON_EXCLUSIVE_THING", ""},
        AttachCase{"ExclusiveAlone", {}, "EXCLUSIVE_THING", ""},
        AttachCase{"AfterExclusive", "EXCLUSIVE_THING", {}, "InvalidRequestException"},
        AttachCase{"ExclusiveAfterOther", "NON_EXCLUSIVE_THING", "EXCLUSIVE_THING",
                   "InvalidRequestException"},
        AttachCase{"BadType", {}, "SOMETIMES", "InvalidRequestException"}),
    CaseName{});

TEST(AttachThingPrincipalTest, UnknownThingOrPrincipal) {
    Account account;
    ASSERT_TRUE(account.registry.CreateThing({"t", {}, {}, {}}).has_value());
    account.registry.TakeChanges();
    ExpectFailedWithoutChange(
        account.registry.AttachThingPrincipal("nope", account.CertArn(std::string(64, 'a'))),
        error_type::kResourceNotFound, account.registry);
    ExpectFailedWithoutChange(
        account.registry.AttachThingPrincipal("t", account.CertArn(std::string(64, 'a'))),
        error_type::kResourceNotFound, account.registry);
    ExpectFailedWithoutChange(
        account.registry.AttachThingPrincipal("t", "arn:aws:iot:eu-west-1:999999999999:cert/ab"),
        error_type::kInvalidRequest, account.registry);
}

TEST(ThingForConnectionTest, ExclusiveThingElseThingNamedLikeClientId) {
    Account account;
    const auto ca = MakeCa("Root");
    const auto a =
        account.registry.RegisterCertificateWithoutCA({IssueLeaf(ca, "a").pem, {}, {}, false})
            ->certificate_id;
    const auto b =
        account.registry.RegisterCertificateWithoutCA({IssueLeaf(ca, "b").pem, {}, {}, false})
            ->certificate_id;
    for (const char* name : {"x", "y"}) {
        ASSERT_TRUE(account.registry.CreateThing({name, {}, {}, {}}).has_value());
    }
    ASSERT_TRUE(account.registry.AttachThingPrincipal("x", account.CertArn(a), "EXCLUSIVE_THING")
                    .has_value());
    ASSERT_TRUE(account.registry.AttachThingPrincipal("x", account.CertArn(b)).has_value());
    ASSERT_TRUE(account.registry.AttachThingPrincipal("y", account.CertArn(b)).has_value());
    EXPECT_EQ(account.registry.ThingForConnection(a, "whatever"), "x");
    EXPECT_EQ(account.registry.ThingForConnection(b, "y"), "y");
    EXPECT_EQ(account.registry.ThingForConnection(b, "z"), std::nullopt);
}

// ---- Policies ----------------------------------------------------------------------------

struct CreatePolicyCase {
    std::string name;
    std::string policy_name;
    std::string document;
    std::string error_type;
};
class CreatePolicyTest : public ::testing::TestWithParam<CreatePolicyCase> {};
TEST_P(CreatePolicyTest, ValidatesNameAndDocument) {
    Account account;
    const auto response =
        account.registry.CreatePolicy(GetParam().policy_name, GetParam().document);
    if (!GetParam().error_type.empty()) {
        ExpectFailedWithoutChange(response, GetParam().error_type, account.registry);
        return;
    }
    ASSERT_TRUE(response.has_value()) << response.error().message;
    EXPECT_EQ(response->policy_version_id, "1");
    EXPECT_EQ(response->policy_arn,
              "arn:aws:iot:us-east-1:123456789012:policy/" + GetParam().policy_name);
    EXPECT_EQ(account.registry.GetPolicy(GetParam().policy_name)->policy_document,
              GetParam().document);
}
std::string PolicyOfSize(std::size_t non_whitespace) {
    // {"Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"<pad>"}]} plus spaces.
    const std::string head =
        R"({"Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"arn:aws:iot:us-east-1:123456789012:topic/)";
    const std::string tail = R"("}]})";
    return head + std::string(non_whitespace - head.size() - tail.size(), 'r') + tail +
           std::string(100, ' ');
}
INSTANTIATE_TEST_SUITE_P(
    Table, CreatePolicyTest,
    ::testing::Values(
        CreatePolicyCase{"Valid", "Device_Policy+1=,.@-", kAllowAllPolicy, ""},
        CreatePolicyCase{"At2048", "P", PolicyOfSize(2048), ""},
        CreatePolicyCase{"Over2048", "P", PolicyOfSize(2049), "MalformedPolicyException"},
        CreatePolicyCase{"NotJson", "P", "{nope", "MalformedPolicyException"},
        CreatePolicyCase{"NoStatement", "P", R"({"Version":"2012-10-17"})",
                         "MalformedPolicyException"},
        CreatePolicyCase{"BadEffect", "P",
                         R"({"Statement":[{"Effect":"Maybe","Action":"iot:*","Resource":"*"}]})",
                         "MalformedPolicyException"},
        CreatePolicyCase{"NoResource", "P",
                         R"({"Statement":[{"Effect":"Allow","Action":"iot:*"}]})",
                         "MalformedPolicyException"},
        CreatePolicyCase{"EmptyName", "", kAllowAllPolicy, "InvalidRequestException"},
        CreatePolicyCase{"SpaceInName", "a b", kAllowAllPolicy, "InvalidRequestException"},
        CreatePolicyCase{"LongName", std::string(129, 'p'), kAllowAllPolicy,
                         "InvalidRequestException"}),
    CaseName{});

TEST(PolicyVersionsTest, FiveVersionsDefaultSwitchingAndDeleteRules) {
    Account account;
    ASSERT_TRUE(account.registry.CreatePolicy("P", kAllowAllPolicy).has_value());
    account.registry.TakeChanges();
    ExpectFailedWithoutChange(account.registry.CreatePolicy("P", kAllowAllPolicy),
                              error_type::kResourceAlreadyExists, account.registry);
    for (int i = 2; i <= 5; ++i) {
        const auto version = account.registry.CreatePolicyVersion("P", kAllowAllPolicy, i == 3);
        ASSERT_TRUE(version.has_value());
        EXPECT_EQ(version->policy_version_id, std::to_string(i));
    }
    account.registry.TakeChanges();
    ExpectFailedWithoutChange(account.registry.CreatePolicyVersion("P", kAllowAllPolicy, false),
                              error_type::kVersionsLimitExceeded, account.registry);
    EXPECT_EQ(account.registry.GetPolicy("P")->default_version_id, "3");
    ExpectFailedWithoutChange(account.registry.DeletePolicyVersion("P", "3"),
                              error_type::kDeleteConflict, account.registry);
    ExpectFailedWithoutChange(account.registry.DeletePolicy("P"), error_type::kDeleteConflict,
                              account.registry);
    ExpectFailedWithoutChange(account.registry.GetPolicyVersion("P", "9"),
                              error_type::kResourceNotFound, account.registry);
    ExpectFailedWithoutChange(account.registry.GetPolicyVersion("P", "x"),
                              error_type::kInvalidRequest, account.registry);
    for (const char* version : {"1", "2", "4", "5"}) {
        ASSERT_TRUE(account.registry.DeletePolicyVersion("P", version).has_value());
    }
    EXPECT_EQ(account.registry.ListPolicyVersions("P")->size(), 1U);
    ASSERT_TRUE(account.registry.CreatePolicyVersion("P", kAllowAllPolicy, false).has_value());
    ASSERT_TRUE(account.registry.SetDefaultPolicyVersion("P", "6").has_value());
    ASSERT_TRUE(account.registry.DeletePolicyVersion("P", "3").has_value());
    EXPECT_TRUE(account.registry.DeletePolicy("P").has_value());
}

TEST(AttachPolicyTest, TargetsLimitsAndDeleteConflict) {
    Account account;
    const auto leaf = IssueLeaf(MakeCa("Root"), "device");
    const auto id =
        account.registry.RegisterCertificateWithoutCA({leaf.pem, {}, {}, false})->certificate_id;
    const auto arn = account.CertArn(id);
    for (int i = 0; i < 11; ++i) {
        ASSERT_TRUE(
            account.registry.CreatePolicy("P" + std::to_string(i), kAllowAllPolicy).has_value());
    }
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(account.registry.AttachPolicy("P" + std::to_string(i), arn).has_value());
    }
    ASSERT_TRUE(account.registry.AttachPolicy("P0", arn).has_value());  // already attached: no-op
    account.registry.TakeChanges();
    ExpectFailedWithoutChange(account.registry.AttachPolicy("P10", arn), error_type::kLimitExceeded,
                              account.registry);
    ExpectFailedWithoutChange(account.registry.AttachPolicy("Nope", arn),
                              error_type::kResourceNotFound, account.registry);
    ExpectFailedWithoutChange(account.registry.AttachPolicy("P10", "us-east-1:cognito-id"),
                              error_type::kInvalidRequest, account.registry);
    ExpectFailedWithoutChange(account.registry.DeletePolicy("P0"), error_type::kDeleteConflict,
                              account.registry);
    const auto attached = account.registry.ListAttachedPolicies(arn, {4, {}, true});
    ASSERT_EQ(attached->policies.size(), 4U);
    EXPECT_TRUE(attached->next_marker.has_value());
    EXPECT_EQ(account.registry.ListTargetsForPolicy("P0", {})->targets,
              std::vector<std::string>{arn});
    const auto effective = account.registry.GetEffectivePolicies(arn, std::nullopt);
    ASSERT_EQ(effective->size(), 10U);
    EXPECT_EQ((*effective)[0].policy_document, kAllowAllPolicy);
    ASSERT_TRUE(account.registry.DetachPolicy("P0", arn).has_value());
    EXPECT_TRUE(account.registry.DeletePolicy("P0").has_value());
    EXPECT_EQ(account.registry.GetEffectivePolicies(arn, "nothing").error().type,
              error_type::kResourceNotFound);
}

// ---- Provisioning templates --------------------------------------------------------------

struct CreateTemplateCase {
    std::string name;
    CreateProvisioningTemplateRequest request;
    std::string error_type;
};
class CreateTemplateTest : public ::testing::TestWithParam<CreateTemplateCase> {};
TEST_P(CreateTemplateTest, ValidatesLikeTheModel) {
    Account account;
    const auto response = account.registry.CreateProvisioningTemplate(GetParam().request);
    if (!GetParam().error_type.empty()) {
        ExpectFailedWithoutChange(response, GetParam().error_type, account.registry);
        return;
    }
    ASSERT_TRUE(response.has_value()) << response.error().message;
    EXPECT_EQ(response->default_version_id, 1);
    EXPECT_EQ(response->template_arn, "arn:aws:iot:us-east-1:123456789012:provisioningtemplate/" +
                                          GetParam().request.template_name);
}
constexpr const char* kBody = R"({"Resources":{}})";
INSTANTIATE_TEST_SUITE_P(
    Table, CreateTemplateTest,
    ::testing::Values(
        CreateTemplateCase{"Fleet", {"fleet_1-A", "d", kBody, true, kRoleArn, {}, {}}, ""},
        CreateTemplateCase{"Jitp", {"j", {}, kBody, false, kRoleArn, {}, "JITP"}, ""},
        CreateTemplateCase{"FleetHook",
                           {"f",
                            {},
                            kBody,
                            true,
                            kRoleArn,
                            PreProvisioningHook{"2020-04-01", "arn:aws:lambda:x"},
                            {}},
                           ""},
        CreateTemplateCase{"JitpHookRefused",
                           {"j", {}, kBody, true, kRoleArn, PreProvisioningHook{{}, "arn"}, "JITP"},
                           "InvalidRequestException"},
        CreateTemplateCase{"NameTooLong",
                           {std::string(37, 'n'), {}, kBody, true, kRoleArn, {}, {}},
                           "InvalidRequestException"},
        CreateTemplateCase{
            "NameBadChar", {"a.b", {}, kBody, true, kRoleArn, {}, {}}, "InvalidRequestException"},
        CreateTemplateCase{"BodyTooLong",
                           {"t", {}, std::string(10241, ' '), true, kRoleArn, {}, {}},
                           "InvalidRequestException"},
        CreateTemplateCase{
            "BodyNotJson", {"t", {}, "nope", true, kRoleArn, {}, {}}, "InvalidRequestException"},
        CreateTemplateCase{
            "ShortRole", {"t", {}, kBody, true, "arn:short", {}, {}}, "InvalidRequestException"},
        CreateTemplateCase{
            "BadType", {"t", {}, kBody, true, kRoleArn, {}, "OTHER"}, "InvalidRequestException"},
        CreateTemplateCase{"LongDescription",
                           {"t", std::string(501, 'd'), kBody, true, kRoleArn, {}, {}},
                           "InvalidRequestException"}),
    CaseName{});

TEST(TemplateVersionsTest, VersionsDefaultsUpdatesAndDeletes) {
    Account account;
    ASSERT_TRUE(
        account.registry.CreateProvisioningTemplate({"t", {}, kBody, false, kRoleArn, {}, {}})
            .has_value());
    account.registry.TakeChanges();
    ExpectFailedWithoutChange(
        account.registry.CreateProvisioningTemplate({"t", {}, kBody, false, kRoleArn, {}, {}}),
        error_type::kResourceAlreadyExists, account.registry);
    for (int i = 2; i <= 5; ++i) {
        const auto version = account.registry.CreateProvisioningTemplateVersion(
            "t", R"({"Resources":{},"DeviceConfiguration":{"v":")" + std::to_string(i) + "\"}}",
            i == 4);
        ASSERT_TRUE(version.has_value());
        EXPECT_EQ(version->version_id, i);
    }
    account.registry.TakeChanges();
    ExpectFailedWithoutChange(account.registry.CreateProvisioningTemplateVersion("t", kBody, false),
                              error_type::kVersionsLimitExceeded, account.registry);
    EXPECT_EQ(account.registry.DescribeProvisioningTemplate("t")->default_version_id, 4);
    EXPECT_NE(account.registry.FindProvisioningTemplate("t")->DefaultBody().find("\"4\""),
              std::string::npos);
    ExpectFailedWithoutChange(account.registry.DeleteProvisioningTemplateVersion("t", 4),
                              error_type::kDeleteConflict, account.registry);
    ExpectFailedWithoutChange(account.registry.DescribeProvisioningTemplateVersion("t", 9),
                              error_type::kResourceNotFound, account.registry);
    const auto versions = account.registry.ListProvisioningTemplateVersions("t", {2, {}, true});
    ASSERT_EQ(versions->versions.size(), 2U);
    EXPECT_EQ(versions->versions[0].version_id, 1);
    EXPECT_TRUE(versions->next_token.has_value());
    UpdateProvisioningTemplateRequest update;
    update.template_name = "t";
    update.enabled = true;
    update.default_version_id = 2;
    ASSERT_TRUE(account.registry.UpdateProvisioningTemplate(update).has_value());
    EXPECT_TRUE(account.registry.FindProvisioningTemplate("t")->enabled);
    update.default_version_id = 42;
    account.registry.TakeChanges();
    ExpectFailedWithoutChange(account.registry.UpdateProvisioningTemplate(update),
                              error_type::kResourceNotFound, account.registry);
    EXPECT_TRUE(account.registry.FindProvisioningTemplate("t")->enabled);
    ASSERT_TRUE(account.registry.DeleteProvisioningTemplateVersion("t", 4).has_value());
    ASSERT_TRUE(account.registry.DeleteProvisioningTemplate("t").has_value());
    EXPECT_EQ(account.registry.ListProvisioningTemplates({})->templates.size(), 0U);
}

TEST(TemplateVersionsTest, TemplateUsedByCaCannotBeDeleted) {
    Account account;
    ASSERT_TRUE(
        account.registry.CreateProvisioningTemplate({"j", {}, kBody, true, kRoleArn, {}, "JITP"})
            .has_value());
    account.RegisterCa(MakeCa("Root"), true, RegistrationConfig{{}, {}, "j"});
    account.registry.TakeChanges();
    ExpectFailedWithoutChange(account.registry.DeleteProvisioningTemplate("j"),
                              error_type::kDeleteConflict, account.registry);
}

// ---- RegisterThing (REST) and RunTemplate ------------------------------------------------

TEST(RegisterThingTest, CreatesThingPolicyAndAttachesToExistingCertificate) {
    Account account;
    const auto leaf = IssueLeaf(MakeCa("Root"), "device");
    const auto id =
        account.registry.RegisterCertificateWithoutCA({leaf.pem, {}, {}, false})->certificate_id;
    const std::string body = R"({
      "Parameters": {"Name": {"Type": "String"}, "CertId": {"Type": "String"}},
      "Resources": {
        "thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": {"Ref": "Name"}}},
        "cert": {"Type": "AWS::IoT::Certificate",
                 "Properties": {"CertificateId": {"Ref": "CertId"}, "Status": "ACTIVE"},
                 "OverrideSettings": {"Status": "REPLACE"}},
        "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyDocument": "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iot:Connect\",\"Resource\":\"*\"}]}"}}}})";
    const auto response =
        account.registry.RegisterThing({body, {{"Name", "dev1"}, {"CertId", id}}});
    ASSERT_TRUE(response.has_value()) << response.error().message;
    EXPECT_EQ(response->certificate_pem, leaf.pem);
    EXPECT_EQ(response->resource_arns.at("thing"), "arn:aws:iot:us-east-1:123456789012:thing/dev1");
    EXPECT_EQ(response->resource_arns.at("certificate"), account.CertArn(id));
    EXPECT_EQ(account.registry.FindCertificate(id)->status, CertificateStatus::kActive);
    EXPECT_EQ(account.registry.PoliciesOfCertificate(id).size(), 1U);
    EXPECT_EQ(account.registry.ThingForConnection(id, "dev1"), "dev1");
}

struct RunCase {
    std::string name;
    std::string resources;  // Resources members; ${ID} is replaced by the certificate id
    std::string error_type;
};
class RunTemplateAllOrNothingTest : public ::testing::TestWithParam<RunCase> {};
TEST_P(RunTemplateAllOrNothingTest, FailedRunChangesNothing) {
    Account account;
    const auto leaf = IssueLeaf(MakeCa("Root"), "device");
    const auto id = account.registry.RegisterCertificateWithoutCA({leaf.pem, {}, "REVOKED", false})
                        ->certificate_id;
    ASSERT_TRUE(account.registry.CreateThing({"existing", {}, Attrs{{"a", "1"}}, {}}).has_value());
    account.registry.TakeChanges();
    std::string resources = GetParam().resources;
    if (const auto at = resources.find("${ID}"); at != std::string::npos) {
        resources.replace(at, 5, id);
    }
    const auto before = account.registry.Snapshot();
    const auto response =
        account.registry.RegisterThing({R"({"Resources":{)" + resources + "}}", {}});
    ExpectFailedWithoutChange(response, GetParam().error_type, account.registry);
    EXPECT_EQ(account.registry.Snapshot(), before);
}
INSTANTIATE_TEST_SUITE_P(
    Table, RunTemplateAllOrNothingTest,
    ::testing::Values(
        RunCase{
            "UnknownPolicyName",
            R"("t":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":"new"}},"p":{"Type":"AWS::IoT::Policy","Properties":{"PolicyName":"Nope"}})",
            "ResourceRegistrationFailureException"},
        RunCase{
            "UnknownCertificate",
            R"("t":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":"new"}},"c":{"Type":"AWS::IoT::Certificate","Properties":{"CertificateId":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}})",
            "ResourceRegistrationFailureException"},
        RunCase{
            "RevokedCertificateReplace",
            R"("t":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":"new"}},"c":{"Type":"AWS::IoT::Certificate","Properties":{"CertificateId":"${ID}"},"OverrideSettings":{"Status":"REPLACE"}})",
            "ResourceRegistrationFailureException"},
        RunCase{
            "ExistingThingFail",
            R"("t":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":"existing","AttributePayload":{"b":"2"}},"OverrideSettings":{"AttributePayload":"FAIL"}})",
            "ResourceRegistrationFailureException"},
        RunCase{
            "BadThingName",
            R"("t":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":"bad name"}},"p":{"Type":"AWS::IoT::Policy","Properties":{"PolicyDocument":"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iot:*\",\"Resource\":\"*\"}]}"}})",
            "InvalidRequestException"},
        RunCase{
            "MalformedPolicyDocument",
            R"("t":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":"new"}},"p":{"Type":"AWS::IoT::Policy","Properties":{"PolicyDocument":"{}"}})",
            "ResourceRegistrationFailureException"},
        RunCase{
            "UnknownThingType",
            R"("t":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":"new","ThingTypeName":"Nope"}})",
            "ResourceRegistrationFailureException"},
        RunCase{
            "CsrNotEmulated",
            R"("c":{"Type":"AWS::IoT::Certificate","Properties":{"CertificateSigningRequest":"x"}})",
            "ResourceRegistrationFailureException"}),
    CaseName{});

struct OverrideCase {
    std::string name;
    std::string override_setting;  // "" for none
    Attrs expected;
};
class ThingOverrideTest : public ::testing::TestWithParam<OverrideCase> {};
TEST_P(ThingOverrideTest, AppliesAttributePayloadOverride) {
    Account account;
    ASSERT_TRUE(account.registry.CreateThing({"t", {}, Attrs{{"a", "1"}}, {}}).has_value());
    const std::string overrides =
        GetParam().override_setting.empty()
            ? ""
            : R"(,"OverrideSettings":{"AttributePayload":")" + GetParam().override_setting + "\"}";
    const auto response = account.registry.RegisterThing(
        {R"({"Resources":{"t":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":"t","AttributePayload":{"b":"2"}})" +
             overrides + "}}}",
         {}});
    ASSERT_TRUE(response.has_value()) << response.error().message;
    EXPECT_EQ(account.registry.FindThing("t")->attributes, GetParam().expected);
}
INSTANTIATE_TEST_SUITE_P(
    Table, ThingOverrideTest,
    ::testing::Values(OverrideCase{"DefaultDoNothing", "", Attrs{{"a", "1"}}},
                      OverrideCase{"DoNothing", "DO_NOTHING", Attrs{{"a", "1"}}},
                      OverrideCase{"Replace", "REPLACE", Attrs{{"b", "2"}}},
                      OverrideCase{"Merge", "MERGE", Attrs{{"a", "1"}, {"b", "2"}}}),
    CaseName{});

}  // namespace
}  // namespace sim::account::testing
