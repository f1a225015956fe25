// SPDX-License-Identifier: Apache-2.0
// The AWS IoT device SDK v2 for JavaScript (npm aws-iot-device-sdk-v2, installed by
// scripts/setup-npm-tests) runs its fleet-provisioning flow, through its identity client,
// against a real account broker: only endpoint, port and CA differ from a run against AWS.
// Fails (never skips) when node or the package is missing.
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pki/authority.hpp"
#include "pki/key.hpp"
#include "sim/control_plane/aws_client.hpp"
#include "sim/device/fleet_setup.hpp"
#include "sim/testing/support.hpp"
#include "account_broker_fixture.hpp"

namespace {
namespace fs = std::filesystem;
using nlohmann::json;

class FleetNpmTest : public sim::testing::AccountBrokerFixture,
                     public ::testing::WithParamInterface<int> {
protected:
    void SetUp() override {
        ASSERT_TRUE(fs::is_directory(fs::path(FLEET_NPM_DIR) / "node_modules" /
                                     "aws-iot-device-sdk-v2"))
            << "aws-iot-device-sdk-v2 is not installed in " << FLEET_NPM_DIR
            << ": run scripts/setup-npm-tests";
        ASSERT_EQ(sim::testing::RunCommand({"node", "--version"}).exit_code, 0)
            << "node is missing: run scripts/setup-npm-tests";
        ASSERT_NO_FATAL_FAILURE(StartAccount());
        sim::device::FleetSetUpOptions options;
        options.account_id = sim::testing::kTestAccountId;
        options.template_name = "esp32_fleet_prov_template";
        options.thing_name_prefix = "esp32dkc_";
        options.directory = dir_.path();
        auto claim = sim::device::SetUpFleetByClaim(*client_, options);
        ASSERT_TRUE(claim) << claim.error().message;
        claim_ = *claim;
    }

    // Runs the SDK flow; the exit code and output.
    sim::testing::CommandResult RunSdk(const std::string& mode, const std::string& serial,
                                       const std::string& csr = {}) {
        const json config = {{"endpoint", "127.0.0.1"},
                             {"port", broker_->port()},
                             {"ca", pki_->ServerCa().cert.string()},
                             {"claimCert", claim_.cert.string()},
                             {"claimKey", claim_.key.string()},
                             {"templateName", "esp32_fleet_prov_template"},
                             {"parameters", {{"SerialNumber", serial}}},
                             {"mode", mode},
                             {"mqtt", GetParam()},
                             {"csr", csr},
                             {"out", dir_.path().string()}};
        const std::string file = WriteFile("sdk-" + mode + ".json", config.dump());
        return sim::testing::RunCommand(
            {"env", std::string("NODE_PATH=") + FLEET_NPM_DIR + "/node_modules", "node",
             FLEET_NPM_SCRIPT, file},
            std::chrono::seconds{60});
    }

    std::string ThingCertificateStatus(const std::string& thing) {
        const json principals =
            Call("GET", sim::controlplane::AwsClient::Path({"things", thing, "principals"}));
        const auto arns = principals.value("principals", json::array());
        if (arns.size() != 1) {
            return "principals: " + principals.dump();
        }
        const std::string arn = arns[0];
        const std::string id = arn.substr(arn.rfind('/') + 1);
        return Call("GET", sim::controlplane::AwsClient::Path({"certificates", id}))
            ["certificateDescription"]
                .value("status", "");
    }

    sim::device::ClaimIdentity claim_;
};

TEST_P(FleetNpmTest, CreateKeysRegisterThingThenReconnectWithTheNewCertificate) {
    const auto result = RunSdk("keys", "npm1");
    ASSERT_EQ(result.exit_code, 0) << result.output << broker_->Log();
    EXPECT_NE(result.output.find(R"("step":"reconnected")"), std::string::npos) << result.output;
    EXPECT_EQ(ThingCertificateStatus("esp32dkc_npm1"), "ACTIVE");
}

TEST_P(FleetNpmTest, CreateCertificateFromCsrThenRegisterThing) {
    auto key = pki::Key::Generate(pki::KeyType::kEcP256);
    ASSERT_TRUE(key);
    auto csr = pki::CreateCsrPem(*key, pki::DistinguishedName{{{"CN", "npm-device"}}});
    ASSERT_TRUE(csr);
    const auto result = RunSdk("csr", "npm2", WriteFile("device.csr", *csr));
    ASSERT_EQ(result.exit_code, 0) << result.output << broker_->Log();
    EXPECT_NE(result.output.find(R"("thingName":"esp32dkc_npm2")"), std::string::npos)
        << result.output;
    EXPECT_EQ(ThingCertificateStatus("esp32dkc_npm2"), "ACTIVE");
}

TEST_P(FleetNpmTest, RegisterThingWithAWrongTokenIsRejected) {
    const auto result = RunSdk("badtoken", "npm3");
    ASSERT_EQ(result.exit_code, 0) << result.output << broker_->Log();
    EXPECT_NE(result.output.find("InvalidCertificateOwnershipToken"), std::string::npos)
        << result.output;
    EXPECT_EQ(Call("GET", "/things").value("things", json::array()).size(), 0U);
}

INSTANTIATE_TEST_SUITE_P(Mqtt, FleetNpmTest, ::testing::Values(3, 5),
                         [](const ::testing::TestParamInfo<int>& param_info) {
                             return param_info.param == 3 ? std::string("Mqtt311")
                                                          : std::string("Mqtt5");
                         });

}  // namespace
