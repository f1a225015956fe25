// SPDX-License-Identifier: Apache-2.0
// `elsim claim` (RunClaim) against a real mosquitto with mTLS and a Paho stand-in module.
// The staging plugin is not loaded here: what is tested is the claim script itself — the
// payload and topic it publishes, how it reports PUBACK, refusals, a kick after PUBACK, and
// what --wait concludes from the presence lifecycle events (published here by the stand-in,
// as the account's broker would).
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <mqtt/async_client.h>

#include "sim/staging/claim_client.hpp"
#include "claim_broker_fixture.hpp"
#include "sim/testing/mqtt_clients.hpp"
#include "sim/testing/support.hpp"
#include "sim/world/world_state.hpp"

namespace sim::staging {
namespace {

using namespace std::chrono_literals;

constexpr const char* kThing = "4a5b6c7d8e9f00112233445566778899aa";
constexpr const char* kUuid = "0f8fad5b-d9cb-469f-a165-70867728950e";
constexpr const char* kOemEndpoint = "oemaaaaaaaaaaa-ats.iot.us-east-1.elsim.test:8883";

// A light stand-in for a staged module: subscribes to <ThingName>/expresslink_config.
using StandInModule = sim::testing::RecordingClient;

class ClaimScriptTest : public sim::testing::ClaimBrokerFixture {
protected:
    ClaimOptions Options() const {
        ClaimOptions options;
        SetConnection(options, kUuid);
        options.thing = kThing;
        options.endpoint = kOemEndpoint;
        options.settle = 300ms;
        options.timeout = 5s;
        return options;
    }
};

TEST_F(ClaimScriptTest, PublishesTheDocumentedClaimAndReportsPuback) {
    StandInModule module(broker_, pki_, module_cert_, kThing);
    ASSERT_TRUE(module.Connect());
    ASSERT_TRUE(module.Subscribe(std::string(kThing) + "/expresslink_config"));
    const auto report = RunClaim(Options());
    EXPECT_EQ(report.outcome, ClaimReport::Outcome::kAccepted) << report.claim_line;
    EXPECT_EQ(ExitCodeOf(report), 0);
    EXPECT_TRUE(report.published);
    EXPECT_NE(report.claim_line.find("PUBACK"), std::string::npos) << report.claim_line;
    const auto [topic, payload] = module.WaitMessage(5s);
    EXPECT_EQ(topic, std::string(kThing) + "/expresslink_config");
    EXPECT_EQ(payload, std::string(R"({"Endpoint":")") + kOemEndpoint + "\"}");
}

TEST_F(ClaimScriptTest, WaitSeesTheModuleLeaveAndNotReturn) {
    StandInModule module(broker_, pki_, module_cert_, kThing);
    ASSERT_TRUE(module.Connect());
    ASSERT_TRUE(module.Subscribe(std::string(kThing) + "/expresslink_config"));
    auto options = Options();
    options.wait = 3s;
    auto claim = std::async(std::launch::async, [options] { return RunClaim(options); });
    ASSERT_FALSE(module.WaitMessage(5s).first.empty());
    // What the account's broker publishes when the module drops its staging session.
    module.Publish(
        std::string("$aws/events/presence/disconnected/") + kThing,
        std::string(R"({"clientId":")") + kThing +
            R"(","eventType":"disconnected","disconnectReason":"CLIENT_INITIATED_DISCONNECT"})");
    module.Disconnect();
    const auto report = claim.get();
    EXPECT_EQ(report.outcome, ClaimReport::Outcome::kAccepted) << report.watch_line;
    EXPECT_NE(report.watch_line.find("module disconnected"), std::string::npos)
        << report.watch_line;
    EXPECT_NE(report.watch_line.find("did not return within 3 s"), std::string::npos)
        << report.watch_line;
}

TEST_F(ClaimScriptTest, WaitReportsAModuleThatReturnsToStaging) {
    StandInModule module(broker_, pki_, module_cert_, kThing);
    ASSERT_TRUE(module.Connect());
    ASSERT_TRUE(module.Subscribe(std::string(kThing) + "/expresslink_config"));
    auto options = Options();
    options.wait = 3s;
    auto claim = std::async(std::launch::async, [options] { return RunClaim(options); });
    ASSERT_FALSE(module.WaitMessage(5s).first.empty());
    module.Publish(std::string("$aws/events/presence/disconnected/") + kThing, "{}");
    module.Publish(std::string("$aws/events/presence/connected/") + kThing, "{}");
    const auto report = claim.get();
    EXPECT_EQ(report.outcome, ClaimReport::Outcome::kRefused);
    EXPECT_NE(report.watch_line.find("returned to staging"), std::string::npos)
        << report.watch_line;
}

TEST_F(ClaimScriptTest, WaitReportsAModuleThatDoesNotDisconnect) {
    auto options = Options();
    options.wait = 1s;
    const auto report = RunClaim(options);
    EXPECT_TRUE(report.published) << report.claim_line;
    EXPECT_EQ(report.outcome, ClaimReport::Outcome::kRefused);
    EXPECT_EQ(report.watch_line, "module did not disconnect within 1 s");
    EXPECT_EQ(ExitCodeOf(report), 1);
}

TEST_F(ClaimScriptTest, CloseAfterPubackIsReportedAsRefused) {
    // The staging broker refuses a claim by closing the claim-thing's connection, possibly
    // after the PUBACK. Here a second session with the same client id takes the first over,
    // which closes it the same way.
    StandInModule module(broker_, pki_, module_cert_, kThing);
    ASSERT_TRUE(module.Connect());
    ASSERT_TRUE(module.Subscribe(std::string(kThing) + "/expresslink_config"));
    auto options = Options();
    options.settle = 3s;
    auto claim = std::async(std::launch::async, [options] { return RunClaim(options); });
    ASSERT_FALSE(module.WaitMessage(5s).first.empty());
    StandInModule takeover(broker_, pki_, claim_cert_, kUuid);
    ASSERT_TRUE(takeover.Connect());
    const auto report = claim.get();
    EXPECT_TRUE(report.published);
    EXPECT_EQ(report.outcome, ClaimReport::Outcome::kRefused) << report.claim_line;
    EXPECT_NE(report.claim_line.find("connection closed after publish"), std::string::npos)
        << report.claim_line;
}

TEST_F(ClaimScriptTest, UntrustedClaimCertificateIsRefusedAtStaging) {
    auto options = Options();
    const auto stranger = pki_.Device("stranger", "unregistered");
    options.claim_cert = stranger.cert;
    options.claim_key = stranger.key;
    const auto report = RunClaim(options);
    EXPECT_EQ(report.outcome, ClaimReport::Outcome::kRefused);
    EXPECT_FALSE(report.published);
    EXPECT_EQ(report.claim_line.rfind("claim refused at staging: ", 0), 0u) << report.claim_line;
}

TEST_F(ClaimScriptTest, EmulatedEndpointIsLookedUpInTheWorld) {
    sim::world::WorldState world;
    world.region = "us-east-1";
    world.directory = dir_.path().string();
    world.server_ca_file = pki_.ServerCa().cert.string();
    sim::world::AccountState staging;
    staging.name = "staging";
    staging.kind = sim::world::AccountKind::kStaging;
    staging.account_id = "111122223333";
    staging.endpoint = "stagingaaaaaaa-ats.iot.us-east-1.elsim.test";
    staging.address = "127.0.0.1";
    staging.mqtt_port = broker_.port();
    world.accounts.push_back(staging);
    sim::testing::WriteTextFile(dir_.path() / "world.json", sim::world::WorldStateToJson(world));

    auto options = Options();
    options.world = dir_.path();
    options.root_ca.clear();  // serverCaFile of world.json
    options.staging = staging.endpoint;
    const auto report = RunClaim(options);
    EXPECT_EQ(report.outcome, ClaimReport::Outcome::kAccepted) << report.claim_line;
    EXPECT_EQ(report.uri, "ssl://127.0.0.1:" + std::to_string(broker_.port()));

    options.staging = "unknownaaaaaaa-ats.iot.us-east-1.elsim.test";
    const auto unknown = RunClaim(options);
    EXPECT_EQ(unknown.outcome, ClaimReport::Outcome::kBadInput);
    EXPECT_NE(unknown.claim_line.find("not in the endpoints map"), std::string::npos)
        << unknown.claim_line;

    // The endpoints come from the parsed accounts: one off loopback is refused, naming it.
    auto outside = world;
    outside.accounts.at(0).address = "10.0.0.1";
    sim::testing::WriteTextFile(dir_.path() / "world.json", sim::world::WorldStateToJson(outside));
    options.staging = staging.endpoint;
    const auto off_loopback = RunClaim(options);
    EXPECT_EQ(off_loopback.outcome, ClaimReport::Outcome::kBadInput);
    EXPECT_EQ(off_loopback.claim_line.rfind("--world: ", 0), 0u) << off_loopback.claim_line;
    EXPECT_NE(off_loopback.claim_line.find("account 'staging' address '10.0.0.1' is not in "
                                           "127.0.0.0/8"),
              std::string::npos)
        << off_loopback.claim_line;
    EXPECT_TRUE(off_loopback.uri.empty());

    // A world.json that does not parse is named in the one-line error.
    sim::testing::WriteTextFile(dir_.path() / "world.json", "{\"accounts\": 5}");
    const auto garbled = RunClaim(options);
    EXPECT_EQ(garbled.outcome, ClaimReport::Outcome::kBadInput);
    EXPECT_EQ(garbled.claim_line.rfind("--world: " + (dir_.path() / "world.json").string(), 0),
              0u)
        << garbled.claim_line;
}

struct BadInputCase {
    const char* name;
    void (*mutate)(ClaimOptions&);
    const char* message_start;
};
std::ostream& operator<<(std::ostream& out, const BadInputCase& c) { return out << c.name; }

class ClaimBadInputTest : public ::testing::TestWithParam<BadInputCase> {};

TEST_P(ClaimBadInputTest, IsRefusedBeforeAnyConnection) {
    ClaimOptions options;
    options.staging = "127.0.0.1:1";  // nothing listens: a connection attempt would fail
    options.claim_cert = "/etc/hostname";
    options.claim_key = "/etc/hostname";
    options.root_ca = "/etc/hostname";
    options.uuid = kUuid;
    options.thing = kThing;
    options.endpoint = kOemEndpoint;
    GetParam().mutate(options);
    const auto report = RunClaim(options);
    EXPECT_EQ(report.outcome, ClaimReport::Outcome::kBadInput);
    EXPECT_EQ(ExitCodeOf(report), 2);
    EXPECT_TRUE(report.uri.empty());
    EXPECT_EQ(report.claim_line.rfind(GetParam().message_start, 0), 0u) << report.claim_line;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ClaimBadInputTest,
    ::testing::Values(
        BadInputCase{"ThingWithSlash", [](ClaimOptions& o) { o.thing = "a/b"; }, "--thing"},
        BadInputCase{"EmptyThing", [](ClaimOptions& o) { o.thing.clear(); }, "--thing"},
        BadInputCase{"UuidWithWildcard", [](ClaimOptions& o) { o.uuid = "abc#"; }, "--uuid"},
        BadInputCase{"EmptyEndpoint", [](ClaimOptions& o) { o.endpoint.clear(); }, "--endpoint"},
        BadInputCase{"EndpointWithScheme",
                     [](ClaimOptions& o) { o.endpoint = "mqtts://oem.example.com"; }, "--endpoint"},
        BadInputCase{"StagingPortZero", [](ClaimOptions& o) { o.staging = "127.0.0.1:0"; },
                     "--staging"},
        BadInputCase{"EmulatedWithoutWorld",
                     [](ClaimOptions& o) { o.staging = "abc.iot.us-east-1.elsim.test"; },
                     "--staging"},
        BadInputCase{"NoRootCaNoWorld", [](ClaimOptions& o) { o.root_ca.clear(); }, "--root-ca"},
        BadInputCase{"MissingKey", [](ClaimOptions& o) { o.claim_key = "/nonexistent/key.pem"; },
                     "--claim-key"},
        BadInputCase{"MissingWorld", [](ClaimOptions& o) { o.world = "/nonexistent-world"; },
                     "--world"}),
    [](const ::testing::TestParamInfo<BadInputCase>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace sim::staging
