// SPDX-License-Identifier: Apache-2.0
// A world of real mosquitto brokers: start, trust, stop, and refuse bad world files.
#include "sim/world/world.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sim/control_plane/aws_client.hpp"
#include "sim/core/adapters.hpp"
#include "sim/testing/support.hpp"
#include "world_fixture.hpp"
#include "sim/world/world_pki.hpp"

namespace sim::world {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using sim::testing::RunCommand;
using sim::testing::TempDir;

// A world of one staging and two OEM accounts on 127.0.0.2-4, an MQTT port and a control-plane
// port free right now (the default 8443 would collide with other worlds on this machine).
std::string WorldYaml(std::uint16_t port, std::uint16_t control_plane_port) {
    return "region: us-east-1\n"
           "manufacturers:\n"
           "  - name: acme\n"
           "accounts:\n" +
           sim::testing::WorldAccountLines(
               {{"staging", "staging"}, {"oem-a", "oem"}, {"oem-b", "oem"}}, port,
               control_plane_port);
}

std::uint16_t FreeControlPlanePort() { return sim::testing::FreePort("127.0.0.2"); }

class WorldTest : public ::testing::Test {
protected:
    void SetUp() override {
        port_ = sim::testing::FreePort("127.0.0.2");
        config_ = dir_.path() / "world.yaml";
        control_plane_port_ = FreeControlPlanePort();
        sim::testing::WriteTextFile(config_, WorldYaml(port_, control_plane_port_));
        options_ = sim::testing::TestWorldOptions(config_, dir_.path() / "world");
    }

    // A module birth certificate (CN = serial = ThingName) from the world's manufacturer CA
    // "acme". The ThingName is returned in `thing_name`.
    sim::testing::CertFiles AcmeModule(const WorldState& state, std::string& thing_name) {
        const auto& m = state.manufacturers.at(0);
        return sim::testing::ModuleBirthCertificate(*sim::ReadFile(m.ca_certificate_file),
                                                    *sim::ReadFile(m.ca_key_file), dir_.path(),
                                                    thing_name);
    }

    // The control plane of `account` (world.json's controlPlaneUrl; the account id is the
    // access key id).
    std::unique_ptr<sim::controlplane::AwsClient> ControlPlane(const AccountState& account) {
        sim::controlplane::ClientConfig config;
        config.endpoint = account.control_plane_url;
        config.credentials = {account.account_id, "any-secret", ""};
        return std::make_unique<sim::controlplane::AwsClient>(
            config, std::make_shared<sim::SystemClock>());
    }

    // mosquitto_pub to an account, verifying the server by the world's root CA and the
    // endpoint's address (the server certificate carries it as an IP SAN).
    int Publish(const WorldState& state, const AccountState& account,
                const sim::testing::CertFiles& device, const std::string& client_id) {
        const auto result = RunCommand(
            {"mosquitto_pub", "-h", account.address, "-p", std::to_string(account.mqtt_port),
             "--cafile", state.server_ca_file, "--cert", device.cert.string(), "--key",
             device.key.string(), "-i", client_id, "-t", client_id + "/x", "-m", "x", "-q", "1"});
        last_output_ = result.output;
        return result.exit_code;
    }

    TempDir dir_;
    std::uint16_t port_ = 0;
    std::uint16_t control_plane_port_ = 0;
    fs::path config_;
    UpOptions options_;
    std::string last_output_;
};

TEST_F(WorldTest, StartsStagingAndTwoOemAccountsInUnderOneSecondWithWarmPki) {
    sim::SeededRandom random(1);
    auto plan = ValidateWorld(options_, random);
    ASSERT_TRUE(plan) << plan.error().message;
    {
        auto cold = RunningWorld::Start(options_, *plan);  // generates the PKI
        ASSERT_TRUE(cold) << cold.error().message;
    }
    const auto start = std::chrono::steady_clock::now();
    auto world = RunningWorld::Start(options_, *plan);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(world) << world.error().message;
    EXPECT_LT(elapsed, 1s);
    std::printf("warm world start: %lld ms\n",
                static_cast<long long>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()));

    const auto state = ReadWorld(options_.directory);
    ASSERT_TRUE(state) << state.error().message;
    ASSERT_EQ(state->accounts.size(), 3U);
    EXPECT_EQ(state->accounts[0].address, "127.0.0.2");
    EXPECT_EQ(state->accounts[2].address, "127.0.0.4");
    const auto doc = nlohmann::json::parse(*sim::ReadFile(options_.directory / "world.json"));
    for (const auto& account : state->accounts) {
        EXPECT_TRUE(ProcessAlive(account.broker_pid));
        EXPECT_EQ(doc["endpoints"][account.endpoint],
                  account.address + ":" + std::to_string(port_));
    }
    EXPECT_TRUE(fs::exists(options_.directory / "endpoints.json"));
    EXPECT_TRUE(fs::exists(options_.directory / "world.pid"));

    // Staging trusts the manufacturer's modules (first login creates the thing); OEM accounts
    // do not (no CA registered).
    std::string thing_name;
    const auto device = AcmeModule(*state, thing_name);
    EXPECT_EQ(Publish(*state, state->accounts[0], device, thing_name), 0) << last_output_;
    EXPECT_NE(Publish(*state, state->accounts[1], device, thing_name), 0) << last_output_;
    for (const auto& account : state->accounts) {
        EXPECT_EQ(account.control_plane_url,
                  "http://" + account.address + ":" + std::to_string(control_plane_port_));
    }
    auto staging = ControlPlane(state->accounts[0]);
    auto thing = staging->Call("GET", sim::controlplane::AwsClient::Path({"things", thing_name}));
    ASSERT_TRUE(thing) << thing.error().message;
    EXPECT_EQ(thing->value("thingTypeName", ""), "ExpressLinkModule");
    auto endpoint = staging->Call("GET", "/endpoint", {{"endpointType", "iot:Data-ATS"}});
    ASSERT_TRUE(endpoint) << endpoint.error().message;
    EXPECT_EQ(endpoint->value("endpointAddress", ""), state->accounts[0].endpoint);
    (*world)->Stop();
    EXPECT_FALSE(fs::exists(options_.directory / "world.pid"));
    for (const auto& account : state->accounts) {
        EXPECT_FALSE(ProcessAlive(account.broker_pid));
    }
}

TEST_F(WorldTest, HotAddedCaIsTrustedWithoutRestart) {
    sim::SeededRandom random(2);
    auto plan = ValidateWorld(options_, random);
    ASSERT_TRUE(plan) << plan.error().message;
    auto world = RunningWorld::Start(options_, *plan);
    ASSERT_TRUE(world) << world.error().message;
    const auto& state = (*world)->State();
    std::string thing_name;
    const auto device = AcmeModule(state, thing_name);
    const auto& oem = state.accounts[1];
    ASSERT_NE(Publish(state, oem, device, thing_name), 0) << last_output_;
    const auto pid_before = oem.broker_pid;
    // Register the manufacturer CA (SNI_ONLY), the module's certificate and a policy through
    // the account's control plane: the CA is in the capath when the reply returns.
    using sim::controlplane::AwsClient;
    auto client = ControlPlane(oem);
    const std::string ca_pem = *sim::ReadFile(state.manufacturers[0].ca_certificate_file);
    ASSERT_TRUE(client->Call("POST", "/cacertificate", {{"setAsActive", "true"}},
                             {{"caCertificate", ca_pem}, {"certificateMode", "SNI_ONLY"}}));
    ASSERT_TRUE(client->Call("POST", "/certificate/register", {},
                             {{"certificatePem", device.cert_pem},
                              {"caCertificatePem", ca_pem},
                              {"status", "ACTIVE"}}));
    ASSERT_TRUE(client->Call(
        "POST", AwsClient::Path({"policies", "all"}), {},
        {{"policyDocument",
          R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]})"}}));
    ASSERT_TRUE(client->Call(
        "PUT", AwsClient::Path({"target-policies", "all"}), {},
        {{"target", "arn:aws:iot:us-east-1:" + oem.account_id + ":cert/" + device.certificate_id}}));
    EXPECT_EQ(Publish(state, oem, device, thing_name), 0) << last_output_;
    EXPECT_EQ(oem.broker_pid, pid_before);
    EXPECT_TRUE(ProcessAlive(pid_before));
}

TEST_F(WorldTest, UpAndDownLeaveNoProcessBehind) {
    const auto up = WorldUp(options_);
    ASSERT_TRUE(up) << up.error().message;
    const auto state = ReadWorld(options_.directory);
    ASSERT_TRUE(state);
    EXPECT_TRUE(ProcessAlive(state->supervisor_pid));
    EXPECT_NE(state->supervisor_pid, ::getpid());
    for (const auto& account : state->accounts) {
        EXPECT_TRUE(ProcessAlive(account.broker_pid));
    }
    const auto down = WorldDown(options_.directory);
    ASSERT_TRUE(down) << down.error().message;
    EXPECT_FALSE(ProcessAlive(state->supervisor_pid));
    for (const auto& account : state->accounts) {
        EXPECT_FALSE(ProcessAlive(account.broker_pid));
    }
    EXPECT_FALSE(WorldDown(options_.directory));  // nothing runs there any more
}

TEST_F(WorldTest, BrokersDieWhenTheSupervisorIsKilled) {
    ASSERT_TRUE(WorldUp(options_));
    const auto state = ReadWorld(options_.directory);
    ASSERT_TRUE(state);
    ASSERT_EQ(::kill(state->supervisor_pid, SIGKILL), 0);
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    bool any_alive = true;
    while (any_alive && std::chrono::steady_clock::now() < deadline) {
        any_alive = false;
        for (const auto& account : state->accounts) {
            any_alive = any_alive || ProcessAlive(account.broker_pid);
        }
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_FALSE(any_alive);
    EXPECT_TRUE(WorldDown(options_.directory));  // a stale world.pid is cleaned up
}

TEST_F(WorldTest, RefusesWorldFileWithUnknownKeyBeforeWritingAnything) {
    sim::testing::WriteTextFile(config_, WorldYaml(port_, control_plane_port_) + "colour: blue\n");
    const auto up = WorldUp(options_);
    ASSERT_FALSE(up);
    EXPECT_EQ(up.error().message, config_.string() + ":8: unknown key 'colour' in the world");
    EXPECT_FALSE(fs::exists(options_.directory));
}

TEST_F(WorldTest, RefusesAddressAlreadyInUseNamingTheLine) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    ::inet_pton(AF_INET, "127.0.0.3", &addr.sin_addr);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    sim::SeededRandom random(3);
    const auto plan = ValidateWorld(options_, random);
    ::close(fd);
    ASSERT_FALSE(plan);
    EXPECT_EQ(plan.error().message, config_.string() + ":6: account 'oem-a': 127.0.0.3:" +
                                        std::to_string(port_) + " is already in use");
    EXPECT_FALSE(fs::exists(options_.directory));
}

TEST_F(WorldTest, RefusesMissingMosquittoAndMissingPlugin) {
    sim::SeededRandom random(4);
    options_.mosquitto = "/nonexistent/mosquitto";
    const auto no_broker = ValidateWorld(options_, random);
    ASSERT_FALSE(no_broker);
    EXPECT_EQ(no_broker.error().code, sim::ErrorCode::kNotFound);
    EXPECT_NE(no_broker.error().message.find("/nonexistent/mosquitto"), std::string::npos);
    options_.mosquitto.clear();
    options_.plugin = "/nonexistent/plugin.so";
    const auto no_plugin = ValidateWorld(options_, random);
    ASSERT_FALSE(no_plugin);
    EXPECT_NE(no_plugin.error().message.find("broker plugin not found"), std::string::npos);
}

TEST(WorldCliTest, UpStatusDownThroughElsim) {
    const std::string elsim = ELSIM_EXECUTABLE;
    if (elsim.empty()) {
        GTEST_SKIP() << "elsim not built in this configuration";
    }
    TempDir dir;
    const auto port = sim::testing::FreePort("127.0.0.2");
    sim::testing::WriteTextFile(dir.path() / "world.yaml", WorldYaml(port, FreeControlPlanePort()));
    const std::string world_dir = (dir.path() / "w").string();
    const auto up =
        RunCommand({elsim, "world", "up", "--config", (dir.path() / "world.yaml").string(), "--dir",
                    world_dir, "--plugin", ELSIM_BROKER_PLUGIN});
    ASSERT_EQ(up.exit_code, 0) << up.output;
    const auto status = RunCommand({elsim, "world", "status", "--dir", world_dir});
    EXPECT_EQ(status.exit_code, 0) << status.output;
    EXPECT_NE(status.output.find("oem-b"), std::string::npos) << status.output;
    const auto down = RunCommand({elsim, "world", "down", "--dir", world_dir});
    EXPECT_EQ(down.exit_code, 0) << down.output;
    const auto after = RunCommand({elsim, "world", "status", "--dir", world_dir});
    EXPECT_EQ(after.exit_code, 1) << after.output;
    sim::testing::WriteTextFile(dir.path() / "bad.yaml", "accounts: []\n");
    const auto bad = RunCommand(
        {elsim, "world", "up", "--config", (dir.path() / "bad.yaml").string(), "--dir", world_dir});
    EXPECT_EQ(bad.exit_code, 2) << bad.output;
    EXPECT_NE(bad.output.find("bad.yaml:1: accounts must be a non-empty list"), std::string::npos)
        << bad.output;
}

TEST(WorldCliTest, DefaultWorldFileIsValid) {
    const auto text = sim::ReadFile(ELSIM_DEFAULT_WORLD);
    ASSERT_TRUE(text);
    const auto spec = ParseWorldSpec(*text, "default.yaml");
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(spec->accounts.size(), 3U);
}

}  // namespace
}  // namespace sim::world
