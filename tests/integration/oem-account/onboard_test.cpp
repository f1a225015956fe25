// SPDX-License-Identifier: Apache-2.0
// The main job end to end: `elsim onboard` as a user runs it, and ConfigureOemAccount's
// idempotence against a real OEM account's control plane.

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "onboarding_world.hpp"
#include "sim/testing/support.hpp"

namespace sim::oem_account::testing {
namespace {

// Runs `elsim ARGUMENTS` with a closed stdin (sim::testing::RunCommand closes it): the main
// job must work that way too (it once failed with "cannot start mosquitto: Bad file
// descriptor" when a broker's pipe took fd 0; sim/elsim/main.cpp now keeps 0-2 open).
sim::testing::CommandResult RunElsim(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), ELSIM_EXECUTABLE);
    return sim::testing::RunCommand(arguments, std::chrono::seconds{80});  // ctest: 90 s
}

TEST(OnboardTest, MainJobWithThreeModulesExitsZeroAndPrintsTheSummary) {
    OnboardingWorld scratch;  // only for its directory
    const auto world_file = WriteWorldFile(scratch.dir());
    const auto run = RunElsim({"onboard", "--modules", "3", "--world", world_file.string()});
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_NE(run.output.find("onboarded 3/3 modules in "), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("RegisterCACertificate created"), std::string::npos);
    EXPECT_NE(run.output.find("verified: thing exists, certificate ACTIVE"), std::string::npos);
}

TEST(OnboardTest, BadInputExitsTwoAndStartsNothing) {
    EXPECT_EQ(RunElsim({"onboard", "--modules", "0"}).exit_code, 2);
    const auto missing = RunElsim({"onboard", "--world", "/nonexistent/world.yaml"});
    EXPECT_EQ(missing.exit_code, 2) << missing.output;
    EXPECT_NE(missing.output.find("--world"), std::string::npos) << missing.output;
}

TEST(OemAccountSetupTest, ReRunningOnAConfiguredAccountSucceedsAndChangesNothing) {
    OnboardingWorld world;
    ASSERT_TRUE(world.Start());
    auto ca_pem = sim::ReadFile(world.dir() / "world" / "pki" / "manufacturers" / "acme-ca.pem");
    ASSERT_TRUE(ca_pem.has_value());
    SetupOptions options;
    options.account_id = world.Account("oem-a").account_id;
    auto first = ConfigureOemAccount(world.Client("oem-a"), *ca_pem, options);
    ASSERT_TRUE(first.has_value()) << first.error().message;
    ASSERT_EQ(first->steps.size(), 4U);
    for (const auto& step : first->steps) {
        EXPECT_NE(step.outcome, "exists") << step.operation;
    }
    auto second = ConfigureOemAccount(world.Client("oem-a"), *ca_pem, options);
    ASSERT_TRUE(second.has_value()) << second.error().message;
    ASSERT_EQ(second->steps.size(), 4U);
    for (const auto& step : second->steps) {
        EXPECT_EQ(step.outcome, "exists") << step.operation << " " << step.detail;
    }
    EXPECT_EQ(second->ca_certificate_id, first->ca_certificate_id);
    // The CA as Appendix B leaves it, the template as Appendix C links it.
    auto ca = world.Client("oem-a").Call(
        "GET", controlplane::AwsClient::Path({"cacertificate", first->ca_certificate_id}));
    ASSERT_TRUE(ca.has_value());
    EXPECT_EQ((*ca)["certificateDescription"]["status"], "ACTIVE");
    EXPECT_EQ((*ca)["certificateDescription"]["autoRegistrationStatus"], "ENABLE");
    EXPECT_EQ((*ca)["certificateDescription"]["certificateMode"], "SNI_ONLY");
    EXPECT_EQ((*ca)["registrationConfig"]["templateName"], options.template_name);
}

// The real AWS CLI as the oracle: what Appendix B and C leave behind, read with `aws iot`.
TEST(OemAccountSetupTest, AwsCliSeesTheCaAndTheJitpTemplateAsTheGuideLeavesThem) {
    OnboardingWorld world;
    ASSERT_TRUE(world.Start());
    ASSERT_TRUE(world.SetUpOem("oem-a"));
    const auto account = world.Account("oem-a");
    auto aws = [&](const std::vector<std::string>& arguments) {
        return sim::testing::RunAwsIot(account.account_id, account.control_plane_url, arguments);
    };
    const auto list = aws({"list-ca-certificates"});
    ASSERT_EQ(list.exit_code, 0) << list.output;
    const auto cas = nlohmann::json::parse(list.output, nullptr, false);
    ASSERT_TRUE(cas.is_object()) << list.output;
    ASSERT_EQ(cas["certificates"].size(), 1U) << list.output;
    const std::string ca_id = cas["certificates"][0]["certificateId"];
    const auto ca = aws({"describe-ca-certificate", "--certificate-id", ca_id});
    ASSERT_EQ(ca.exit_code, 0) << ca.output;
    const auto described = nlohmann::json::parse(ca.output, nullptr, false);
    EXPECT_EQ(described["certificateDescription"]["status"], "ACTIVE");
    EXPECT_EQ(described["certificateDescription"]["autoRegistrationStatus"], "ENABLE");
    EXPECT_EQ(described["certificateDescription"]["certificateMode"], "SNI_ONLY");
    EXPECT_EQ(described["registrationConfig"]["templateName"], "ExpressLinkJitpTemplate");
    const auto tpl =
        aws({"describe-provisioning-template", "--template-name", "ExpressLinkJitpTemplate"});
    ASSERT_EQ(tpl.exit_code, 0) << tpl.output;
    const auto t = nlohmann::json::parse(tpl.output, nullptr, false);
    EXPECT_EQ(t["type"], "JITP");
    EXPECT_EQ(t["enabled"], true);
    const auto body = nlohmann::json::parse(t.value("templateBody", ""), nullptr, false);
    EXPECT_EQ(body["Resources"]["thing"]["Properties"]["ThingName"]["Ref"],
              "AWS::IoT::Certificate::CommonName");
    EXPECT_EQ(body["Resources"]["policy"]["Properties"]["PolicyName"], "ExpressLinkDevicePolicy");
    const auto policy = aws({"get-policy", "--policy-name", "ExpressLinkDevicePolicy"});
    EXPECT_EQ(policy.exit_code, 0) << policy.output;
}

TEST(OemAccountSetupTest, NotACaCertificateIsRefusedBeforeAnyCall) {
    OnboardingWorld world;  // no world started: a call would fail with kUnavailable
    controlplane::ClientConfig config;
    config.endpoint = "http://127.0.0.1:9";
    config.credentials.access_key_id = "123456789012";
    config.credentials.secret_access_key = "x";
    controlplane::AwsClient client(config, std::make_shared<sim::SystemClock>());
    SetupOptions options;
    options.account_id = "123456789012";
    auto report = ConfigureOemAccount(client, "not a certificate", options);
    ASSERT_FALSE(report.has_value());
    EXPECT_EQ(report.error().code, sim::ErrorCode::kInvalidArgument);
    options.account_id = "12";
    report = ConfigureOemAccount(client, "x", options);
    ASSERT_FALSE(report.has_value());
    EXPECT_NE(report.error().message.find("account_id"), std::string::npos);
}

}  // namespace
}  // namespace sim::oem_account::testing
