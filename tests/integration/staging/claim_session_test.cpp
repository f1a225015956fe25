// SPDX-License-Identifier: Apache-2.0
// staging::ClaimSession (a claim-thing session kept open for many claims) against a real
// mosquitto with mTLS and a Paho stand-in that receives every <ThingName>/expresslink_config.
// As in claim_script_test.cpp the staging plugin is not loaded: what is tested is the client —
// one CONNECT for many claims, the payloads, the per-connection publish pacing (AWS IoT: 100
// publishes/s per connection), bad input, and the reconnect after the session was lost.
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <mqtt/async_client.h>

#include "sim/staging/claim_client.hpp"
#include "claim_broker_fixture.hpp"
#include "sim/testing/mqtt_clients.hpp"
#include "sim/testing/support.hpp"

namespace sim::staging {
namespace {

using namespace std::chrono_literals;

constexpr const char* kUuid = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
constexpr const char* kOemEndpoint = "oembbbbbbbbbbb-ats.iot.us-east-1.elsim.test";

std::string Thing(int i) {
    std::string name = "5a5b6c7d8e9f0011223344556677889900";
    name.replace(name.size() - 2, 2, (i < 10 ? "0" : "") + std::to_string(i));
    return name;
}

// A Paho client on the test broker; records every message it receives.
using Listener = sim::testing::RecordingClient;

class ClaimSessionTest : public sim::testing::ClaimBrokerFixture {
protected:
    ClaimSessionOptions Options() const {
        ClaimSessionOptions options;
        SetConnection(options, kUuid);
        options.timeout = 5s;
        return options;
    }
};

TEST_F(ClaimSessionTest, ClaimsManyModulesOverOneConnection) {
    Listener modules(broker_, pki_, module_cert_, "stand-in-modules");
    ASSERT_TRUE(modules.Connect());
    ASSERT_TRUE(modules.Subscribe("+/expresslink_config"));
    auto session = ClaimSession::Open(Options());
    ASSERT_TRUE(session.has_value()) << session.error().message;
    constexpr int kClaims = 5;
    for (int i = 0; i < kClaims; ++i) {
        const auto report = (*session)->Claim(Thing(i), kOemEndpoint);
        EXPECT_EQ(report.outcome, ClaimReport::Outcome::kAccepted) << report.claim_line;
        EXPECT_TRUE(report.published);
    }
    EXPECT_EQ((*session)->connects(), 1U);
    const auto received = modules.WaitFor(kClaims, 5s);
    ASSERT_EQ(received.size(), static_cast<std::size_t>(kClaims));
    for (int i = 0; i < kClaims; ++i) {
        EXPECT_EQ(received[static_cast<std::size_t>(i)].first, Thing(i) + "/expresslink_config");
        EXPECT_EQ(received[static_cast<std::size_t>(i)].second,
                  std::string(R"({"Endpoint":")") + kOemEndpoint + "\"}");
    }
}

TEST_F(ClaimSessionTest, PacesPublishesFromManyThreadsToTheConfiguredRate) {
    auto options = Options();
    options.max_publishes_per_second = 20;  // one publish per 50 ms
    auto session = ClaimSession::Open(options);
    ASSERT_TRUE(session.has_value()) << session.error().message;
    constexpr int kClaims = 10;
    std::vector<std::thread> threads;
    std::mutex mutex;
    int accepted = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kClaims; ++i) {
        threads.emplace_back([&, i] {
            const auto report = (*session)->Claim(Thing(i), kOemEndpoint);
            std::lock_guard lock(mutex);
            accepted += report.outcome == ClaimReport::Outcome::kAccepted ? 1 : 0;
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(accepted, kClaims);
    // Ten publishes spaced by 50 ms span at least 450 ms, whatever the callers do.
    EXPECT_GE(elapsed, 440ms);
}

TEST_F(ClaimSessionTest, ReconnectsAfterTheSessionWasTakenOver) {
    auto session = ClaimSession::Open(Options());
    ASSERT_TRUE(session.has_value()) << session.error().message;
    {
        // A second connection with the claim-thing's client id takes the session over.
        Listener intruder(broker_, pki_, claim_cert_, kUuid);
        ASSERT_TRUE(intruder.Connect());
    }
    std::this_thread::sleep_for(300ms);
    const auto report = (*session)->Claim(Thing(1), kOemEndpoint);
    EXPECT_EQ(report.outcome, ClaimReport::Outcome::kAccepted) << report.claim_line;
    EXPECT_EQ((*session)->connects(), 2U);
}

struct BadInputCase {
    std::string name;
    std::string thing;
    std::string endpoint;
    std::string expected;  // in claim_line
};

class ClaimSessionBadInputTest : public ClaimSessionTest,
                                 public ::testing::WithParamInterface<BadInputCase> {};

TEST_P(ClaimSessionBadInputTest, IsRefusedWithoutPublishing) {
    auto session = ClaimSession::Open(Options());
    ASSERT_TRUE(session.has_value()) << session.error().message;
    const auto report = (*session)->Claim(GetParam().thing, GetParam().endpoint);
    EXPECT_EQ(report.outcome, ClaimReport::Outcome::kBadInput);
    EXPECT_FALSE(report.published);
    EXPECT_NE(report.claim_line.find(GetParam().expected), std::string::npos) << report.claim_line;
}

INSTANTIATE_TEST_SUITE_P(
    Claims, ClaimSessionBadInputTest,
    ::testing::Values(BadInputCase{"SlashInThing", "a/b", kOemEndpoint, "--thing"},
                      BadInputCase{"EmptyThing", "", kOemEndpoint, "--thing"},
                      BadInputCase{"SchemeInEndpoint", Thing(1), "https://x.test", "--endpoint"},
                      BadInputCase{"EmptyEndpoint", Thing(1), "", "--endpoint"}),
    [](const ::testing::TestParamInfo<BadInputCase>& param_info) { return param_info.param.name; });

TEST_F(ClaimSessionTest, OpenRefusesBadOptionsNamingThem) {
    struct Case {
        std::function<void(ClaimSessionOptions&)> change;
        std::string expected;
    };
    const std::vector<Case> cases = {
        {[](ClaimSessionOptions& o) { o.uuid = "has space"; }, "--uuid"},
        {[](ClaimSessionOptions& o) { o.max_publishes_per_second = 0; }, "max_publishes"},
        {[](ClaimSessionOptions& o) { o.max_publishes_per_second = 101; }, "max_publishes"},
        {[](ClaimSessionOptions& o) { o.claim_cert = "/nonexistent.pem"; }, "--claim-cert"},
        {[](ClaimSessionOptions& o) { o.staging = "a b"; }, "--staging"},
    };
    for (const auto& c : cases) {
        auto options = Options();
        c.change(options);
        auto session = ClaimSession::Open(options);
        ASSERT_FALSE(session.has_value()) << c.expected;
        EXPECT_EQ(session.error().code, ErrorCode::kInvalidArgument);
        EXPECT_NE(session.error().message.find(c.expected), std::string::npos)
            << session.error().message;
    }
}

TEST_F(ClaimSessionTest, OpenReportsARefusedConnectionAsUnavailable) {
    auto options = Options();
    options.claim_cert = module_cert_.cert;  // a certificate whose CA the broker trusts...
    options.claim_key = claim_cert_.key;     // ...with the wrong key: TLS fails
    options.timeout = 3s;
    auto session = ClaimSession::Open(options);
    ASSERT_FALSE(session.has_value());
    EXPECT_EQ(session.error().code, ErrorCode::kUnavailable);
    EXPECT_NE(session.error().message.find("staging refused the claim-thing"), std::string::npos)
        << session.error().message;
}

}  // namespace
}  // namespace sim::staging
