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
#include "sim/world/address_block.hpp"
#include "sim/world/address_lease.hpp"
#include "sim/world/mosquitto_process.hpp"
#include "sim/world/world_pki.hpp"

namespace sim::world {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using sim::testing::RunCommand;
using sim::testing::TempDir;

// A world of one staging and two OEM accounts on the world's leased addresses, at the default
// ports (8883 MQTT, 8443 control plane): the lease keeps worlds side by side apart.
std::string WorldYaml() {
    return "region: us-east-1\n"
           "manufacturers:\n"
           "  - name: acme\n"
           "accounts:\n" +
           sim::testing::WorldAccountLines(
               {{"staging", "staging"}, {"oem-a", "oem"}, {"oem-b", "oem"}});
}

// Staging on a leased address (line 5) and oem-a on `address` (line 6).
std::string WorldWithOemAt(const std::string& address) {
    return "region: us-east-1\nmanufacturers:\n  - name: acme\naccounts:\n"
           "  - {name: staging, kind: staging}\n  - {name: oem-a, kind: oem, address: " +
           address + "}\n";
}

// True when the lease on `block` is held by someone (one attempt, no port probed).
bool BlockLeased(std::uint32_t block) {
    LeaseOptions probe;
    probe.first_block = block;
    probe.max_attempts = 1;
    probe.ports.clear();
    return !AddressLease::Acquire(probe).has_value();
}

class WorldTest : public ::testing::Test {
protected:
    void SetUp() override {
        config_ = dir_.path() / "world.yaml";
        sim::testing::WriteTextFile(config_, WorldYaml());
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
    // The accounts take the first three addresses of one leased block, in file order; the block
    // stays leased while the world runs.
    const auto block = BlockOf(state->accounts[0].address);
    ASSERT_TRUE(block) << block.error().message;
    for (std::uint32_t i = 0; i < 3; ++i) {
        EXPECT_EQ(state->accounts[i].address, *BlockAddress(*block, i));
    }
    EXPECT_TRUE(BlockLeased(*block));
    const auto doc = nlohmann::json::parse(*sim::ReadFile(options_.directory / "world.json"));
    for (const auto& account : state->accounts) {
        EXPECT_TRUE(ProcessAlive(account.broker_pid));
        EXPECT_EQ(doc["endpoints"][account.endpoint], account.address + ":8883");
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
        EXPECT_EQ(account.control_plane_url, "http://" + account.address + ":8443");
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
    EXPECT_FALSE(BlockLeased(*block));  // released with the brokers
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
    // The supervisor holds the lease, not `up`'s caller.
    const auto block = BlockOf(state->accounts[0].address);
    ASSERT_TRUE(block) << block.error().message;
    EXPECT_TRUE(BlockLeased(*block));
    const auto down = WorldDown(options_.directory);
    ASSERT_TRUE(down) << down.error().message;
    EXPECT_FALSE(ProcessAlive(state->supervisor_pid));
    for (const auto& account : state->accounts) {
        EXPECT_FALSE(ProcessAlive(account.broker_pid));
    }
    EXPECT_FALSE(BlockLeased(*block));
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
    // The killed supervisor's lease died with it.
    const auto block = BlockOf(state->accounts[0].address);
    ASSERT_TRUE(block) << block.error().message;
    EXPECT_FALSE(BlockLeased(*block));
    EXPECT_TRUE(WorldDown(options_.directory));  // a stale world.pid is cleaned up
}

TEST_F(WorldTest, RefusesWorldFileWithUnknownKeyBeforeWritingAnything) {
    sim::testing::WriteTextFile(config_, WorldYaml() + "colour: blue\n");
    const auto up = WorldUp(options_);
    ASSERT_FALSE(up);
    EXPECT_EQ(up.error().message, config_.string() + ":8: unknown key 'colour' in the world");
    EXPECT_FALSE(fs::exists(options_.directory));
}

TEST_F(WorldTest, RefusesExplicitAddressAlreadyInUseNamingTheLine) {
    // An address of a block this test leases, so that no other world uses it meanwhile.
    auto lease = AddressLease::Acquire();
    ASSERT_TRUE(lease) << lease.error().message;
    const std::string address = (*lease)->Addresses().at(5);
    sim::testing::WriteTextFile(config_, WorldWithOemAt(address));
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(8883);
    ::inet_pton(AF_INET, address.c_str(), &addr.sin_addr);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    sim::SeededRandom random(3);
    const auto plan = ValidateWorld(options_, random);
    ::close(fd);
    ASSERT_FALSE(plan);
    EXPECT_EQ(plan.error().message,
              config_.string() + ":6: account 'oem-a': " + address + ":8883 is already in use");
    EXPECT_FALSE(fs::exists(options_.directory));
}

TEST_F(WorldTest, ExplicitAddressIsHonouredNextToLeasedOnes) {
    auto lease = AddressLease::Acquire();
    ASSERT_TRUE(lease) << lease.error().message;
    const std::string address = (*lease)->Addresses().at(0);
    sim::testing::WriteTextFile(config_, WorldWithOemAt(address));
    sim::SeededRandom random(5);
    auto plan = ValidateWorld(options_, random);
    ASSERT_TRUE(plan) << plan.error().message;
    auto world = RunningWorld::Start(options_, *plan);
    ASSERT_TRUE(world) << world.error().message;
    const auto& state = (*world)->State();
    EXPECT_EQ(state.accounts[1].address, address);
    EXPECT_NE(state.accounts[0].address, address);
    EXPECT_TRUE(BlockOf(state.accounts[0].address));  // leased
    EXPECT_TRUE(PortAcceptsConnections(address, 8883, 200ms));
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
    sim::testing::WriteTextFile(dir.path() / "world.yaml", WorldYaml());
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
