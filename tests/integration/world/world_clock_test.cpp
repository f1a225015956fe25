// SPDX-License-Identifier: Apache-2.0
// The world clock across the processes of a real world: the brokers (TLS handshake, plugin,
// control plane), `elsim world clock`, and this test process all read DIR/clock.
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sim/control_plane/aws_client.hpp"
#include "sim/core/adapters.hpp"
#include "sim/core/world_clock.hpp"
#include "sim/testing/support.hpp"
#include "sim/world/world.hpp"
#include "world_fixture.hpp"

namespace sim::world {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using sim::testing::RunCommand;
using sim::testing::TempDir;

class WorldClockTest : public ::testing::Test {
protected:
    void SetUp() override {
        config_ = dir_.path() / "world.yaml";
        sim::testing::WriteTextFile(
            config_, "region: us-east-1\nclock: virtual\nmanufacturers:\n  - name: acme\n"
                     "accounts:\n" +
                         sim::testing::WorldAccountLines({{"staging", "staging"}, {"oem-a", "oem"}}));
        options_ = sim::testing::TestWorldOptions(config_, dir_.path() / "world");
        options_.seed = 7;
        sim::SeededRandom random(3);
        auto plan = ValidateWorld(options_, random);
        ASSERT_TRUE(plan) << plan.error().message;
        auto world = RunningWorld::Start(options_, *plan);
        ASSERT_TRUE(world) << world.error().message;
        world_ = std::move(*world);
    }

    // mosquitto_pub to the staging account with a module birth certificate: its first login
    // creates the thing, and a module may publish under its ThingName.
    int PublishToStaging(const sim::testing::CertFiles& device, const std::string& thing_name) {
        const auto& state = world_->State();
        const auto& staging = state.accounts.at(0);
        const auto result = RunCommand(
            {"mosquitto_pub", "-h", staging.address, "-p", std::to_string(staging.mqtt_port),
             "--cafile", state.server_ca_file, "--cert", device.cert.string(), "--key",
             device.key.string(), "-i", thing_name, "-t", thing_name + "/x", "-m", "x", "-q",
             "1"});
        last_output_ = result.output;
        return result.exit_code;
    }

    TempDir dir_;
    fs::path config_;
    UpOptions options_;
    std::unique_ptr<RunningWorld> world_;
    std::string last_output_;
};

TEST_F(WorldClockTest, CertificateThatExpiresAtTIsAcceptedBeforeAdvanceAndRefusedAfter) {
    const auto& maker = world_->State().manufacturers.at(0);
    std::string thing_name;
    // Valid for 24 hours from now (ModuleBirthCertificate).
    const auto device = sim::testing::ModuleBirthCertificate(
        *sim::ReadFile(maker.ca_certificate_file), *sim::ReadFile(maker.ca_key_file), dir_.path(),
        thing_name);
    ASSERT_EQ(PublishToStaging(device, thing_name), 0) << last_output_;

    const auto started = std::chrono::steady_clock::now();
    ASSERT_TRUE(world_->Clock()->Advance(25h));
    EXPECT_NE(PublishToStaging(device, thing_name), 0) << "expired in world time";
    EXPECT_LT(std::chrono::steady_clock::now() - started, 10s) << "no real waiting";

    // Refused by the TLS handshake (the tap sets OpenSSL's verify time to the world's): the
    // plugin allowed the first CONNECT and never saw another from that certificate.
    // mosquitto writes its log line about the failed handshake after the client has gone: wait
    // for it (up to 5 s).
    const auto log_file = world_->State().accounts.at(0).log_file;
    auto log = sim::ReadFile(log_file);
    for (int i = 0; i < 100 && log && log->find("certificate verify failed") == std::string::npos;
         ++i) {
        std::this_thread::sleep_for(50ms);
        log = sim::ReadFile(log_file);
    }
    ASSERT_TRUE(log);
    const std::string allowed = "decision=allow action=connect cert_id=" + device.certificate_id;
    const auto first = log->find(allowed);
    ASSERT_NE(first, std::string::npos) << *log;
    EXPECT_EQ(log->find(allowed, first + 1), std::string::npos) << *log;
    EXPECT_EQ(log->find("decision=deny action=connect reason=certificate expired"),
              std::string::npos)
        << *log;
    EXPECT_NE(log->find("certificate verify failed", first), std::string::npos) << *log;
}

TEST_F(WorldClockTest, TheCliTheControlPlaneAndThisProcessAgreeOnTheTime) {
#ifndef ELSIM_EXECUTABLE_BUILT
    GTEST_SKIP() << "needs the elsim executable";
#else
    const std::string dir = world_->State().directory;
    const auto moved = RunCommand({ELSIM_EXECUTABLE, "world", "clock", "advance", "24h", "--dir", dir});
    ASSERT_EQ(moved.exit_code, 0) << moved.output;
    EXPECT_NE(moved.output.find("virtual, 1d ahead of the wall clock"), std::string::npos)
        << moved.output;
    const auto shown = RunCommand({ELSIM_EXECUTABLE, "world", "clock", "--dir", dir});
    ASSERT_EQ(shown.exit_code, 0) << shown.output;
    EXPECT_NE(shown.output.find("generation 2"), std::string::npos) << shown.output;

    // This process sees the CLI's change.
    auto mine = sim::WorldClock::OpenInWorld(dir);
    ASSERT_TRUE(mine && *mine);
    const auto world_now = (*mine)->Now();
    EXPECT_GE(world_now - std::chrono::system_clock::now(), 24h - 1min);

    // The control plane in the OEM account's broker process stamps its registry with it.
    const auto& oem = world_->State().accounts.at(1);
    sim::controlplane::ClientConfig config;
    config.endpoint = oem.control_plane_url;
    config.credentials = {oem.account_id, "any-secret", ""};
    sim::controlplane::AwsClient client(config, std::make_shared<sim::SystemClock>());
    auto created = client.CallOperation("CreateKeysAndCertificate", {{"setAsActive", true}});
    ASSERT_TRUE(created) << created.error().message;
    auto described = client.CallOperation(
        "DescribeCertificate", {{"certificateId", (*created)["certificateId"]}});
    ASSERT_TRUE(described) << described.error().message;
    const double creation = (*described)["certificateDescription"]["creationDate"].get<double>();
    const double expected = sim::ToEpochSeconds((*mine)->Now());
    EXPECT_NEAR(creation, expected, 60.0) << "creationDate is world time, a day ahead";

    // Bad input: a one-line error, the clock unchanged.
    const auto bad = RunCommand({ELSIM_EXECUTABLE, "world", "clock", "advance", "5x", "--dir", dir});
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_NE(bad.output.find("bad duration '5x'"), std::string::npos) << bad.output;
    EXPECT_EQ((*mine)->Read().generation, 2U);
    const auto none = RunCommand({ELSIM_EXECUTABLE, "world", "clock", "--dir", dir_.path().string()});
    EXPECT_EQ(none.exit_code, 2);
    EXPECT_NE(none.output.find("no world clock in"), std::string::npos) << none.output;
#endif
}

TEST_F(WorldClockTest, SeededAccountsTellTheirSeedAndTheClockFile) {
    const auto log = sim::ReadFile(world_->State().accounts.at(0).log_file);
    ASSERT_TRUE(log);
    EXPECT_NE(log->find("clock=" + (fs::path(world_->State().directory) / "clock").string()),
              std::string::npos)
        << *log;
}

}  // namespace
}  // namespace sim::world
