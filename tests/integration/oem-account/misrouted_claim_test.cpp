// SPDX-License-Identifier: Apache-2.0
// Issue 6's misrouted-claim rows (sim/staging/README.md table) against a real world: staging and
// OEM accounts on mosquitto + plugin + control plane, software modules over Paho, the claim
// script. Each test names its row.

#include <chrono>
#include <ostream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "onboarding_world.hpp"
#include "pki/certificate.hpp"

namespace sim::oem_account::testing {
namespace {

using controlplane::AwsClient;
using Clock = std::chrono::steady_clock;

bool StartsWith(const std::string& text, const std::string& prefix) {
    return text.rfind(prefix, 0) == 0;
}

// No MSG event within `window` (the module was not reached).
::testing::AssertionResult NoMessage(module::SoftwareModule& module,
                                     std::chrono::milliseconds window) {
    auto event = WaitForEvent(module, " MSG", window);
    if (event) {
        return ::testing::AssertionFailure() << "unexpected " << *event;
    }
    return ::testing::AssertionSuccess();
}

// The certificate's status in an account, or the AWS error type.
std::string CertificateStatus(AwsClient& client, const std::string& certificate_id) {
    auto reply = client.Call("GET", AwsClient::Path({"certificates", certificate_id}));
    if (!reply) {
        return reply.error().type;
    }
    return (*reply)["certificateDescription"].value("status", "");
}

// Connects module `index` to staging and claims it for `oem` (with one of its claim-things)
// until it leaves staging.
::testing::AssertionResult ClaimIntoOem(OnboardingWorld& world, module::SoftwareModule& module,
                                        std::size_t index, const std::string& oem) {
    if (auto r = ConnectToStaging(module); !r) {
        return r;
    }
    return ClaimUntilLeft(module, world.Claim(world.ClaimThingOf(oem), world.ThingName(index),
                                              EndpointOf(world.Account(oem))));
}

// Onboards module `index` into `oem` (complete set-up must be done). Returns false on failure.
::testing::AssertionResult Onboard(OnboardingWorld& world, module::SoftwareModule& module,
                                   std::size_t index, const std::string& oem) {
    if (auto r = ClaimIntoOem(world, module, index, oem); !r) {
        return r;
    }
    auto connected = ConnectWithRetry(module, 1, std::chrono::seconds{15});
    if (!connected) {
        return ::testing::AssertionFailure() << "connect to " << oem << ": "
                                             << connected.error().message;
    }
    const std::string where = At(module, "AT+CONNECT?");
    if (where.find("CONNECTED CUSTOMER") == std::string::npos) {
        return ::testing::AssertionFailure() << "CONNECT?: " << where;
    }
    return ::testing::AssertionSuccess();
}

TEST(MisroutedClaimTest, Row01_ClaimOfUnknownThingNameIsAcceptedButDeliveredToNoOne) {
    OnboardingWorld world;
    ASSERT_TRUE(world.Start());
    ASSERT_TRUE(world.SetUpOem("oem-a"));
    auto modules = world.Modules(1);
    ASSERT_TRUE(ConnectToStaging(*modules[0]));
    const auto claimer = world.ClaimThingOf("oem-a");
    // A ThingName that no module in this staging account has (34 hex, like pki's).
    const std::string unknown = "4" + std::string(33, 'a');
    const auto report =
        staging::RunClaim(world.Claim(claimer, unknown, EndpointOf(world.Account("oem-a"))));
    EXPECT_EQ(report.outcome, staging::ClaimReport::Outcome::kAccepted) << report.claim_line;
    EXPECT_TRUE(NoMessage(*modules[0], std::chrono::milliseconds{800}));
    EXPECT_NE(At(*modules[0], "AT+CONNECT?").find("CONNECTED STAGING"), std::string::npos);
}

TEST(MisroutedClaimTest, Row02_OfflineModuleGetsNothingWhenItReconnects) {
    OnboardingWorld world;
    ASSERT_TRUE(world.Start());
    ASSERT_TRUE(world.SetUpOem("oem-a"));
    auto modules = world.Modules(1);
    auto& module = *modules[0];
    ASSERT_TRUE(ConnectToStaging(module));  // its thing now exists in staging
    ASSERT_TRUE(StartsWith(At(module, "AT+DISCONNECT"), "OK"));
    const auto claimer = world.ClaimThingOf("oem-a");
    const auto report = staging::RunClaim(
        world.Claim(claimer, world.ThingName(0), EndpointOf(world.Account("oem-a"))));
    EXPECT_EQ(report.outcome, staging::ClaimReport::Outcome::kAccepted) << report.claim_line;
    // Claims are neither retained nor queued: back in staging, nothing arrives.
    ASSERT_TRUE(ConnectToStaging(module));
    EXPECT_TRUE(NoMessage(module, std::chrono::milliseconds{800}));
    EXPECT_NE(At(module, "AT+CONNECT?").find("CONNECTED STAGING"), std::string::npos);
}

TEST(MisroutedClaimTest, Row03_EndpointThatDoesNotResolveGivesErr14Hint3) {
    OnboardingWorld world;
    ASSERT_TRUE(world.Start());
    auto modules = world.Modules(1);
    auto& module = *modules[0];
    ASSERT_TRUE(ConnectToStaging(module));
    const auto claimer = world.ClaimThingOf("oem-a");
    ASSERT_TRUE(ClaimUntilLeft(
        module, world.Claim(claimer, world.ThingName(0),
                            "zzzzzzzzzzzzzz-ats.iot.us-east-1.elsim.test")));
    const std::string answer = At(module, "AT+CONNECT");
    EXPECT_TRUE(StartsWith(answer, "ERR14 3")) << answer;
    EXPECT_NE(At(module, "AT+CONNECT?").find("DISCONNECTED CUSTOMER"), std::string::npos);
}

TEST(MisroutedClaimTest, Row04_OemWithoutManufacturerCaFailsTls) {
    OnboardingWorld world;
    ASSERT_TRUE(world.Start());
    ASSERT_TRUE(world.SetUpOem("oem-a", SetupVariant::kWithoutCa));
    auto modules = world.Modules(1);
    auto& module = *modules[0];
    ASSERT_TRUE(ClaimIntoOem(world, module, 0, "oem-a"));
    std::vector<std::string> failures;
    auto connected = ConnectWithRetry(module, 1, std::chrono::seconds{10}, &failures);
    EXPECT_FALSE(connected.has_value());
    ASSERT_EQ(failures.size(), 2U);
    for (const auto& failure : failures) {
        EXPECT_TRUE(StartsWith(failure, "ERR14 4")) << failure;
    }
    EXPECT_EQ(CertificateStatus(world.Client("oem-a"), world.CertificateId(0)),
              "ResourceNotFoundException");
}

TEST(MisroutedClaimTest, Row05_CaWithoutAutoRegistrationNeverActivates) {
    OnboardingWorld world;
    ASSERT_TRUE(world.Start());
    ASSERT_TRUE(world.SetUpOem("oem-a", SetupVariant::kWithoutAutoRegistration));
    auto modules = world.Modules(1);
    auto& module = *modules[0];
    ASSERT_TRUE(ClaimIntoOem(world, module, 0, "oem-a"));
    std::vector<std::string> failures;
    EXPECT_FALSE(ConnectWithRetry(module, 1, std::chrono::seconds{10}, &failures).has_value());
    ASSERT_EQ(failures.size(), 2U);
    for (const auto& failure : failures) {
        EXPECT_TRUE(StartsWith(failure, "ERR14 4") || StartsWith(failure, "ERR14 5")) << failure;
    }
    EXPECT_NE(CertificateStatus(world.Client("oem-a"), world.CertificateId(0)), "ACTIVE");
}

TEST(MisroutedClaimTest, Row05_CaWithoutTemplateLeavesCertificatePendingActivation) {
    OnboardingWorld world;
    ASSERT_TRUE(world.Start());
    ASSERT_TRUE(world.SetUpOem("oem-a", SetupVariant::kWithoutTemplate));
    auto modules = world.Modules(1);
    auto& module = *modules[0];
    ASSERT_TRUE(ClaimIntoOem(world, module, 0, "oem-a"));
    std::vector<std::string> failures;
    EXPECT_FALSE(ConnectWithRetry(module, 1, std::chrono::seconds{10}, &failures).has_value());
    EXPECT_EQ(failures.size(), 2U);
    // JITR: registered PENDING_ACTIVATION by the first connect, never ACTIVE by itself.
    EXPECT_EQ(CertificateStatus(world.Client("oem-a"), world.CertificateId(0)),
              "PENDING_ACTIVATION");
}

TEST(MisroutedClaimTest, Row06_AnotherManufacturersModuleIsNotReachedThroughThisStaging) {
    OnboardingWorld world;
    ASSERT_TRUE(world.Start(/*explain=*/false, /*second_manufacturer=*/true));
    ASSERT_TRUE(world.SetUpOem("oem-a"));
    // A globex module lives in globex's staging account (staging-b).
    auto modules = world.Modules(1, /*manufacturer=*/1, "staging-b");
    auto& module = *modules[0];
    ASSERT_TRUE(ConnectToStaging(module));
    const auto claimer = world.ClaimThingOf("oem-a");  // registered in acme's staging only
    const std::string oem_endpoint = EndpointOf(world.Account("oem-a"));
    // Through acme's staging: accepted (MQTT does not know things) but delivered to no one.
    const auto report = staging::RunClaim(world.Claim(claimer, world.ThingName(0), oem_endpoint));
    EXPECT_EQ(report.outcome, staging::ClaimReport::Outcome::kAccepted) << report.claim_line;
    EXPECT_TRUE(NoMessage(module, std::chrono::milliseconds{800}));
    // Through globex's staging, where this claim-thing is not registered: refused at CONNECT.
    std::this_thread::sleep_for(std::chrono::milliseconds{1100});  // 1 CONNECT/s per client id
    const auto refused =
        staging::RunClaim(world.Claim(claimer, world.ThingName(0), oem_endpoint, "staging-b"));
    EXPECT_EQ(refused.outcome, staging::ClaimReport::Outcome::kRefused) << refused.claim_line;
    EXPECT_NE(At(module, "AT+CONNECT?").find("CONNECTED STAGING"), std::string::npos);
}

TEST(MisroutedClaimTest, Row07_TwoOemsClaimTheSameModuleLastClaimWinsTheStagingRecord) {
    OnboardingWorld world;
    ASSERT_TRUE(world.Start());
    ASSERT_TRUE(world.SetUpOem("oem-a"));
    ASSERT_TRUE(world.SetUpOem("oem-b"));
    auto modules = world.Modules(1);
    auto& module = *modules[0];
    ASSERT_TRUE(ConnectToStaging(module));
    const auto claimer_a = world.ClaimThingOf("oem-a");
    const auto claimer_b = world.ClaimThingOf("oem-b");
    const std::string endpoint_a = EndpointOf(world.Account("oem-a"));
    ASSERT_TRUE(ClaimUntilLeft(module, world.Claim(claimer_a, world.ThingName(0), endpoint_a)));
    // The second OEM's claim comes after the module left: accepted by staging, not delivered.
    const auto second = staging::RunClaim(
        world.Claim(claimer_b, world.ThingName(0), EndpointOf(world.Account("oem-b"))));
    EXPECT_EQ(second.outcome, staging::ClaimReport::Outcome::kAccepted) << second.claim_line;
    // The staging record names the last accepted claim; the module went where the first sent it.
    auto thing = world.Client("staging").Call("GET", AwsClient::Path({"things", world.ThingName(0)}));
    ASSERT_TRUE(thing.has_value()) << thing.error().message;
    EXPECT_EQ((*thing)["attributes"].value("claimedBy", ""), claimer_b.uuid) << thing->dump();
    EXPECT_EQ(At(module, "AT+CONF? Endpoint"), "OK " + endpoint_a);
    auto connected = ConnectWithRetry(module, 1, std::chrono::seconds{15});
    ASSERT_TRUE(connected.has_value()) << connected.error().message;
    EXPECT_EQ(CertificateStatus(world.Client("oem-a"), world.CertificateId(0)), "ACTIVE");
    EXPECT_EQ(CertificateStatus(world.Client("oem-b"), world.CertificateId(0)),
              "ResourceNotFoundException");
}

TEST(MisroutedClaimTest, Row08_UnregisteredOrRevokedClaimThingIsRefusedAtStaging) {
    OnboardingWorld world;
    ASSERT_TRUE(world.Start());
    auto modules = world.Modules(1);
    auto& module = *modules[0];
    ASSERT_TRUE(ConnectToStaging(module));
    const std::string oem_endpoint = EndpointOf(world.Account("oem-a"));

    // Never registered: a certificate made like a claim-thing's but not uploaded to staging.
    auto registered = world.ClaimThingOf("oem-a");
    ClaimThing stranger = registered;
    {
        auto world_state_dir = world.dir() / "world" / "pki";
        auto ca = pki::LoadCaFiles(world_state_dir / "issuing-ca.pem",
                                   world_state_dir / "issuing-ca.key");
        ASSERT_TRUE(ca.has_value());
        auto out = pki::StagedDirectory::Begin(world.dir() / "stranger", true);
        ASSERT_TRUE(out.has_value());
        ASSERT_TRUE(pki::WriteClaim(*ca, std::chrono::system_clock::now(), *out).has_value());
        ASSERT_TRUE(out->Commit().has_value());
        stranger.certificate_file = world.dir() / "stranger" / "cert.pem";
        stranger.key_file = world.dir() / "stranger" / "private.key";
    }
    auto refused = staging::RunClaim(world.Claim(stranger, world.ThingName(0), oem_endpoint));
    EXPECT_EQ(refused.outcome, staging::ClaimReport::Outcome::kRefused) << refused.claim_line;

    // Revoked by the staging operator.
    auto id = pki::CertificateIdOfFile(registered.certificate_file);
    ASSERT_TRUE(id.has_value());
    auto revoked = world.Client("staging").Call("PUT", AwsClient::Path({"certificates", *id}),
                                                {{"newStatus", "REVOKED"}});
    ASSERT_TRUE(revoked.has_value()) << revoked.error().type << ": " << revoked.error().message;
    refused = staging::RunClaim(world.Claim(registered, world.ThingName(0), oem_endpoint));
    EXPECT_EQ(refused.outcome, staging::ClaimReport::Outcome::kRefused) << refused.claim_line;
    EXPECT_TRUE(NoMessage(module, std::chrono::milliseconds{500}));
    EXPECT_NE(At(module, "AT+CONNECT?").find("CONNECTED STAGING"), std::string::npos);
}

struct BadPayload {
    const char* name;
    const char* payload;
};

void PrintTo(const BadPayload& payload, std::ostream* os) { *os << payload.name; }

class BadClaimPayloadTest : public ::testing::TestWithParam<BadPayload> {};

TEST_P(BadClaimPayloadTest, Row09_RefusedAtStagingAndModuleNeverBricked) {
    OnboardingWorld world;
    ASSERT_TRUE(world.Start());
    auto modules = world.Modules(1);
    auto& module = *modules[0];
    ASSERT_TRUE(ConnectToStaging(module));
    const auto claimer = world.ClaimThingOf("oem-a");
    auto claim = world.Claim(claimer, world.ThingName(0), "");
    claim.raw_payload = GetParam().payload;
    const auto report = staging::RunClaim(claim);
    EXPECT_EQ(report.outcome, staging::ClaimReport::Outcome::kRefused) << report.claim_line;
    EXPECT_TRUE(NoMessage(module, std::chrono::milliseconds{500}));
    EXPECT_NE(At(module, "AT+CONNECT?").find("CONNECTED STAGING"), std::string::npos);
    EXPECT_EQ(At(module, "AT+CONF? Endpoint"), "OK " + EndpointOf(world.Account("staging")));
}

INSTANTIATE_TEST_SUITE_P(
    MisroutedClaimTest, BadClaimPayloadTest,
    ::testing::Values(BadPayload{"NotJson", "not json"},
                      BadPayload{"EndpointNotAString", R"({"Endpoint": 5})"},
                      BadPayload{"WrongKeyCase", R"({"endpoint": "a1-ats.iot.us-east-1.elsim.test"})"},
                      BadPayload{"ExtraMember",
                                 R"({"Endpoint": "a1-ats.iot.us-east-1.elsim.test", "x": 1})"},
                      BadPayload{"EmptyEndpoint", R"({"Endpoint": ""})"},
                      BadPayload{"SchemeInEndpoint", R"({"Endpoint": "https://a.example"})"}),
    [](const ::testing::TestParamInfo<BadPayload>& param_info) {
        return std::string(param_info.param.name);
    });

// Deactivates the manufacturer CA in an OEM account (UpdateCACertificate newStatus=INACTIVE).
::testing::AssertionResult DeactivateManufacturerCa(OnboardingWorld& world,
                                                    const std::string& account) {
    auto ca_pem = sim::ReadFile(world.dir() / "world" / "pki" / "manufacturers" / "acme-ca.pem");
    if (!ca_pem) {
        return ::testing::AssertionFailure() << ca_pem.error().message;
    }
    auto ca = pki::ParseCertificatePem(*ca_pem);
    if (!ca) {
        return ::testing::AssertionFailure() << ca.error().message;
    }
    auto deactivated = world.Client(account).Call(
        "PUT", AwsClient::Path({"cacertificate", ca->certificate_id}), {{"newStatus", "INACTIVE"}},
        nlohmann::json::object());
    if (!deactivated) {
        return ::testing::AssertionFailure() << deactivated.error().message;
    }
    return ::testing::AssertionSuccess();
}

TEST(MisroutedClaimTest, Row10_ManufacturerCaDeactivatedBeforeOnboardingModuleNeverActive) {
    OnboardingWorld world;
    ASSERT_TRUE(world.Start());
    ASSERT_TRUE(world.SetUpOem("oem-a"));
    ASSERT_TRUE(DeactivateManufacturerCa(world, "oem-a"));
    auto modules = world.Modules(1);
    auto& module = *modules[0];
    ASSERT_TRUE(ClaimIntoOem(world, module, 0, "oem-a"));
    std::vector<std::string> failures;
    EXPECT_FALSE(ConnectWithRetry(module, 1, std::chrono::seconds{10}, &failures).has_value());
    ASSERT_EQ(failures.size(), 2U);
    for (const auto& failure : failures) {
        EXPECT_TRUE(StartsWith(failure, "ERR14 4") || StartsWith(failure, "ERR14 5")) << failure;
    }
    EXPECT_NE(CertificateStatus(world.Client("oem-a"), world.CertificateId(0)), "ACTIVE");
    // The staging account is unaffected: FACTORY_RESET brings the module back there.
    EXPECT_TRUE(StartsWith(At(module, "AT+FACTORY_RESET"), "OK"));
    ASSERT_TRUE(WaitForEvent(module, " STARTUP", std::chrono::seconds{5}).has_value());
    EXPECT_TRUE(ConnectToStaging(module));
}

// Issue 6 row 10, second half: AWS keeps already registered certificates working when their CA
// is deactivated (aws-iot-core.md §2.3, deactivate-ca-cert.md); only new auto-registrations stop.
TEST(MisroutedClaimTest, Row10_ManufacturerCaDeactivatedAfterOnboardingKeepsOldModuleRefusesNew) {
    OnboardingWorld world;
    ASSERT_TRUE(world.Start());
    ASSERT_TRUE(world.SetUpOem("oem-a"));
    auto modules = world.Modules(2);
    auto& onboarded = *modules[0];
    ASSERT_TRUE(Onboard(world, onboarded, 0, "oem-a"));
    ASSERT_TRUE(DeactivateManufacturerCa(world, "oem-a"));
    ASSERT_TRUE(StartsWith(At(onboarded, "AT+DISCONNECT"), "OK"));
    std::this_thread::sleep_for(std::chrono::milliseconds{1100});  // 1 CONNECT/s per client id
    const std::string again = At(onboarded, "AT+CONNECT");
    EXPECT_TRUE(StartsWith(again, "OK")) << again;

    auto& newcomer = *modules[1];
    ASSERT_TRUE(ClaimIntoOem(world, newcomer, 1, "oem-a"));
    std::vector<std::string> failures;
    EXPECT_FALSE(ConnectWithRetry(newcomer, 1, std::chrono::seconds{10}, &failures).has_value());
    EXPECT_NE(CertificateStatus(world.Client("oem-a"), world.CertificateId(1)), "ACTIVE");
}

TEST(MisroutedClaimTest, Row11_RevokedAfterOnboardingKickedWithinOneSecondRefusedAfter) {
    OnboardingWorld world;
    ASSERT_TRUE(world.Start());
    ASSERT_TRUE(world.SetUpOem("oem-a"));
    auto modules = world.Modules(1);
    auto& module = *modules[0];
    ASSERT_TRUE(Onboard(world, module, 0, "oem-a"));
    ASSERT_EQ(CertificateStatus(world.Client("oem-a"), world.CertificateId(0)), "ACTIVE");
    auto revoked = world.Client("oem-a").Call(
        "PUT", AwsClient::Path({"certificates", world.CertificateId(0)}),
        {{"newStatus", "REVOKED"}});
    ASSERT_TRUE(revoked.has_value()) << revoked.error().message;
    const auto revoked_at = Clock::now();
    auto lost = WaitForEvent(module, " CONLOST", std::chrono::milliseconds{1500});
    ASSERT_TRUE(lost.has_value()) << "no CONLOST after the revocation";
    EXPECT_LE(Clock::now() - revoked_at, std::chrono::milliseconds{1100});
    const std::string answer = At(module, "AT+CONNECT");
    EXPECT_TRUE(StartsWith(answer, "ERR14")) << answer;
}

TEST(MisroutedClaimTest, Row12_FactoryResetReturnsToStagingClaimableByAnotherOem) {
    OnboardingWorld world;
    ASSERT_TRUE(world.Start());
    ASSERT_TRUE(world.SetUpOem("oem-a"));
    ASSERT_TRUE(world.SetUpOem("oem-b"));
    auto modules = world.Modules(1);
    auto& module = *modules[0];
    ASSERT_TRUE(Onboard(world, module, 0, "oem-a"));
    EXPECT_TRUE(StartsWith(At(module, "AT+FACTORY_RESET"), "OK"));
    ASSERT_TRUE(WaitForEvent(module, " STARTUP", std::chrono::seconds{5}).has_value());
    ASSERT_TRUE(Onboard(world, module, 0, "oem-b"));
    EXPECT_EQ(At(module, "AT+CONF? Endpoint"), "OK " + EndpointOf(world.Account("oem-b")));
    EXPECT_EQ(CertificateStatus(world.Client("oem-b"), world.CertificateId(0)), "ACTIVE");
}

}  // namespace
}  // namespace sim::oem_account::testing
