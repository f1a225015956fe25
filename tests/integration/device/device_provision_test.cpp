// SPDX-License-Identifier: Apache-2.0
// `elsim device provision` against a real account broker: the fleet-by-claim set-up (claim
// policy, claim certificate, fleet policy, FLEET_PROVISIONING template with a thing-name prefix)
// made with the real AWS CLI over the control plane, then the verb run as a process.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sim/testing/support.hpp"
#include "account_broker_fixture.hpp"
#include "fleet_seed.hpp"

namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using sim::testing::CommandResult;

constexpr const char* kTemplateName = sim::testing::kEsp32TemplateName;
const std::string kArn = std::string("arn:aws:iot:us-east-1:") + sim::testing::kTestAccountId;

class DeviceProvisionTest : public sim::testing::AccountBrokerFixture {
protected:
    void SetUp() override {
        ASSERT_NO_FATAL_FAILURE(StartAccount());
        // The documents of the ESP32 walk-through, plus the create-from-csr topics.
        const auto seed = sim::testing::Esp32FleetSeed(/*csr=*/true);
        const json claim_policy = sim::device::ClaimPolicyDocument(seed);
        const json fleet_policy = sim::device::FleetPolicyDocument(seed);
        const json fleet_template = sim::device::FleetTemplateBody(seed);
        Cli({"create-policy", "--policy-name", "esp32_claim_policy", "--policy-document",
             claim_policy.dump()});
        Cli({"create-policy", "--policy-name", "esp32_fleet_policy", "--policy-document",
             fleet_policy.dump()});
        Cli({"create-provisioning-template", "--template-name", kTemplateName, "--template-body",
             fleet_template.dump(), "--provisioning-role-arn",
             "arn:aws:iam::123456789012:role/esp32_fleet_prov_role", "--enabled"});
        claim_cert_ = dir_.path() / "claim.pem";
        claim_key_ = dir_.path() / "claim.key";
        const json created =
            Cli({"create-keys-and-certificate", "--set-as-active", "--certificate-pem-outfile",
                 claim_cert_.string(), "--private-key-outfile", claim_key_.string()});
        Cli({"attach-policy", "--policy-name", "esp32_claim_policy", "--target",
             created.value("certificateArn", "")});
    }

    json Cli(const std::vector<std::string>& args) {
        const CommandResult result = AwsCli(args);
        EXPECT_EQ(result.exit_code, 0) << args.front() << ": " << result.output;
        try {
            return result.output.empty() ? json::object() : json::parse(result.output);
        } catch (const json::exception&) {
            return json::object();
        }
    }

    CommandResult Provision(const std::vector<std::string>& extra) {
        std::vector<std::string> argv = {ELSIM_EXECUTABLE,
                                         "device",
                                         "provision",
                                         "--endpoint",
                                         "127.0.0.1:" + std::to_string(broker_->port()),
                                         "--root-ca",
                                         pki_->ServerCa().cert.string(),
                                         "--claim-cert",
                                         claim_cert_.string(),
                                         "--claim-key",
                                         claim_key_.string()};
        argv.insert(argv.end(), extra.begin(), extra.end());
        return sim::testing::RunCommand(argv, std::chrono::seconds{60});
    }

    // The thing exists, its principal is the certificate of `out`, which is ACTIVE.
    void ExpectProvisioned(const fs::path& out, const std::string& thing) {
        ASSERT_TRUE(fs::is_regular_file(out / "cert.pem"));
        ASSERT_TRUE(fs::is_regular_file(out / "key.pem"));
        EXPECT_EQ(fs::status(out / "key.pem").permissions() & fs::perms::all,
                  fs::perms::owner_read | fs::perms::owner_write);
        const json identity = json::parse(sim::ReadFile(out / "identity.json").value());
        EXPECT_EQ(identity.value("thingName", ""), thing);
        const std::string certificate_id = identity.value("certificateId", "");
        const json described =
            Cli({"describe-certificate", "--certificate-id", certificate_id});
        EXPECT_EQ(described["certificateDescription"].value("status", ""), "ACTIVE");
        EXPECT_EQ(Cli({"describe-thing", "--thing-name", thing}).value("thingName", ""), thing);
        const json principals = Cli({"list-thing-principals", "--thing-name", thing});
        EXPECT_EQ(principals.value("principals", json::array()),
                  (json{described["certificateDescription"].value("certificateArn", "")}));
    }

    fs::path claim_cert_;
    fs::path claim_key_;
};

TEST_F(DeviceProvisionTest, CreateKeysAndCertificateFlowProvisionsAnActiveThing) {
    const fs::path out = dir_.path() / "device-0001";
    const auto result = Provision({"--template", kTemplateName, "--parameter",
                                   "SerialNumber=0001", "--out", out.string()});
    ASSERT_EQ(result.exit_code, 0) << result.output << broker_->Log();
    EXPECT_NE(result.output.find("CreateKeysAndCertificate accepted"), std::string::npos);
    EXPECT_NE(result.output.find("reconnected with the new certificate"), std::string::npos);
    ExpectProvisioned(out, "esp32dkc_0001");
}

TEST_F(DeviceProvisionTest, CsrFlowInCborKeepsTheKeyOnTheDevice) {
    const fs::path out = dir_.path() / "device-0002";
    const auto result =
        Provision({"--template", kTemplateName, "--parameter", "SerialNumber=0002", "--csr",
                   "--format", "cbor", "--out", out.string()});
    ASSERT_EQ(result.exit_code, 0) << result.output << broker_->Log();
    EXPECT_NE(result.output.find("CreateCertificateFromCsr accepted"), std::string::npos);
    ExpectProvisioned(out, "esp32dkc_0002");
    EXPECT_NE(sim::ReadFile(out / "key.pem").value().find("PRIVATE KEY"), std::string::npos);
}

TEST_F(DeviceProvisionTest, TemplateOutsideTheClaimPolicyFailsAtSubscribe) {
    const fs::path out = dir_.path() / "device-0005";
    const auto result = Provision({"--template", "no_such_template", "--parameter",
                                   "SerialNumber=0005", "--out", out.string()});
    EXPECT_EQ(result.exit_code, 1) << result.output;
    EXPECT_NE(result.output.find("subscribe failed: subscription refused"), std::string::npos)
        << result.output;
    EXPECT_FALSE(fs::exists(out));
}

TEST_F(DeviceProvisionTest, WrongTemplateFailsAtRegisterThingNamingTheErrorCode) {
    // A claim policy that also names the missing template, so that the request reaches
    // RegisterThing.
    const json extra = {
        {"Version", "2012-10-17"},
        {"Statement",
         {{{"Effect", "Allow"},
           {"Action", {"iot:Publish", "iot:Receive", "iot:Subscribe"}},
           {"Resource",
            {kArn + ":topic/$aws/provisioning-templates/no_such_template/provision/*",
             kArn + ":topicfilter/$aws/provisioning-templates/no_such_template/provision/*"}}}}}};
    Cli({"create-policy", "--policy-name", "extra_claim_policy", "--policy-document",
         extra.dump()});
    const json claim = Cli({"list-certificates"});
    Cli({"attach-policy", "--policy-name", "extra_claim_policy", "--target",
         claim["certificates"][0].value("certificateArn", "")});
    const fs::path out = dir_.path() / "device-0003";
    const auto result = Provision({"--template", "no_such_template", "--parameter",
                                   "SerialNumber=0003", "--out", out.string()});
    EXPECT_EQ(result.exit_code, 1) << result.output;
    EXPECT_NE(result.output.find("register-thing failed: RegisterThing rejected: statusCode="),
              std::string::npos)
        << result.output;
    EXPECT_EQ(result.output.find("errorCode= "), std::string::npos) << result.output;
    EXPECT_FALSE(fs::exists(out));
    EXPECT_EQ(Cli({"list-things"}).value("things", json::array()).size(), 0U);
    // The certificate issued before the refusal stays PENDING_ACTIVATION, unregistered.
    const json certificates = Cli({"list-certificates"});
    EXPECT_EQ(certificates.value("certificates", json::array()).size(), 2U);
}

// The device trusts only its root CA: a server certificate from another CA ends the flow at
// the claim connection, before anything is asked of the account.
TEST_F(DeviceProvisionTest, AServerOutsideTheRootCaFailsAtConnectClaimAndCreatesNothing) {
    const fs::path out = dir_.path() / "device-0006";
    const auto result = sim::testing::RunCommand(
        {ELSIM_EXECUTABLE, "device", "provision", "--endpoint",
         "127.0.0.1:" + std::to_string(broker_->port()), "--root-ca",
         pki_->DeviceCa("not-the-server-ca").cert.string(), "--claim-cert", claim_cert_.string(),
         "--claim-key", claim_key_.string(), "--template", kTemplateName, "--parameter",
         "SerialNumber=0006", "--csr", "--out", out.string()},
        std::chrono::seconds{60});
    EXPECT_EQ(result.exit_code, 1) << result.output;
    EXPECT_NE(result.output.find("connect-claim failed"), std::string::npos) << result.output;
    EXPECT_FALSE(fs::exists(out));
    EXPECT_EQ(Cli({"list-certificates"}).value("certificates", json::array()).size(), 1U);
    EXPECT_EQ(Cli({"list-things"}).value("things", json::array()).size(), 0U);
}

TEST_F(DeviceProvisionTest, BadInputExitsTwoAndWritesNothing) {
    const fs::path out = dir_.path() / "device-0004";
    for (const auto& extra : std::vector<std::vector<std::string>>{
             {"--template", kTemplateName, "--parameter", "SerialNumber", "--out", out.string()},
             {"--template", "bad name", "--out", out.string()},
             {"--template", kTemplateName, "--format", "xml", "--out", out.string()},
             {"--template", kTemplateName, "--out", (dir_.path() / "missing" / "x").string()},
             {"--template", kTemplateName, "--out", out.string(), "--root-ca", "/nonexistent"}}) {
        const auto result = Provision(extra);
        EXPECT_EQ(result.exit_code, 2) << result.output;
        EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1)
            << result.output;
        EXPECT_FALSE(fs::exists(out));
    }
    // An existing identity is never overwritten.
    const fs::path full = dir_.path() / "full";
    sim::testing::WriteTextFile(full / "cert.pem", "keep");
    EXPECT_EQ(Provision({"--template", kTemplateName, "--out", full.string()}).exit_code, 2);
    EXPECT_EQ(sim::ReadFile(full / "cert.pem").value(), "keep");
    EXPECT_EQ(Cli({"list-certificates"}).value("certificates", json::array()).size(), 1U);
}

}  // namespace
