// SPDX-License-Identifier: Apache-2.0
// ConnectWindowed (sim/module/connect_window.hpp) against a real mosquitto over mutual TLS:
// every module connects with at most `window` connects in flight, the stop flag stops it, and
// a module pointed at a closed port fails after the configured attempts with no wait after
// its last failure.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sim/module/connect_window.hpp"
#include "sim/module/fleet.hpp"
#include "sim/testing/support.hpp"
#include "sim/world/endpoints.hpp"

namespace sim::module {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using SteadyClock = std::chrono::steady_clock;

constexpr std::size_t kModules = 6;

class ConnectWindowTest : public ::testing::Test {
protected:
    void SetUp() override {
        pki_ = std::make_unique<sim::testing::TestPki>(dir_.path() / "pki");
        const auto& maker = pki_->DeviceCa("maker");
        for (std::size_t i = 0; i < kModules; ++i) {
            std::string thing;
            const auto files = sim::testing::ModuleBirthCertificate(
                maker.cert_pem, maker.key_pem, dir_.path() / "birth", thing);
            // The layout `elsim pki modules` writes: DIR/<ThingName>/{cert.pem,key.pem}.
            sim::testing::WriteTextFile(dir_.path() / "ids" / thing / "cert.pem", files.cert_pem);
            sim::testing::WriteTextFile(dir_.path() / "ids" / thing / "key.pem", files.key_pem);
        }
        sim::testing::TestBrokerOptions broker_options;
        broker_options.trusted_device_cas = {"maker"};
        broker_options.verbose_log = false;
        broker_ = std::make_unique<sim::testing::TestBroker>(*pki_, dir_.path() / "broker",
                                                             broker_options);
        ASSERT_TRUE(broker_->ok()) << broker_->error();
    }
    void TearDown() override {
        fleet_.reset();
        broker_.reset();
    }

    // Starts a fleet of `count` modules whose Factory Endpoint is localhost:`port`.
    const std::vector<std::shared_ptr<SoftwareModule>>& StartFleet(std::uint16_t port,
                                                                   std::size_t count = kModules) {
        FleetOptions options;
        options.staging_endpoint = "localhost:" + std::to_string(port);
        options.root_ca_file = pki_->ServerCa().cert.string();
        options.resolver = world::EndpointsMap{}.MakeResolver();
        auto identities = ListIdentities(dir_.path() / "ids");
        EXPECT_TRUE(identities) << identities.error().message;
        identities->resize(count);
        auto fleet = Fleet::Start(options, *identities);
        EXPECT_TRUE(fleet) << fleet.error().message;
        fleet_ = std::move(*fleet);
        return fleet_->modules();
    }

    sim::testing::TempDir dir_;
    std::unique_ptr<sim::testing::TestPki> pki_;
    std::unique_ptr<sim::testing::TestBroker> broker_;
    std::unique_ptr<Fleet> fleet_;
};

struct WindowCase {
    const char* name;
    std::size_t window;
    std::size_t min_peak;  ///< The least concurrency the run must show.
    std::size_t max_peak;
};
void PrintTo(const WindowCase& c, std::ostream* out) { *out << c.name; }

class ConnectWindowSizeTest : public ConnectWindowTest,
                              public ::testing::WithParamInterface<WindowCase> {};

TEST_P(ConnectWindowSizeTest, ConnectsEveryModuleWithinTheWindow) {
    const auto& modules = StartFleet(broker_->port());
    ConnectWindowOptions options;
    options.window = GetParam().window;
    std::vector<std::size_t> finished;
    std::size_t connected_reported = 0;
    options.on_progress = [&](const ConnectProgress& p) {
        finished.push_back(p.finished);
        connected_reported += p.module_connected ? 1 : 0;
        EXPECT_EQ(p.total, kModules);
        EXPECT_EQ(p.connected + p.failed, p.finished);
    };
    const auto result = ConnectWindowed(modules, options);
    EXPECT_EQ(result.connected, kModules) << result.first_error;
    EXPECT_EQ(result.failed, 0U);
    EXPECT_EQ(result.not_attempted, 0U);
    EXPECT_EQ(result.failed_attempts, 0U);
    EXPECT_EQ(result.first_error, "");
    EXPECT_GE(result.peak_in_flight, GetParam().min_peak);
    EXPECT_LE(result.peak_in_flight, GetParam().max_peak);
    EXPECT_THAT(finished, ElementsAre(1, 2, 3, 4, 5, 6));
    EXPECT_EQ(connected_reported, kModules);
    for (const auto& module : modules) {
        EXPECT_THAT(module->Command("AT+CONNECT?"), ElementsAre("OK 1 0 CONNECTED STAGING"))
            << module->profile().thing_name;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ConnectWindowSizeTest,
    ::testing::Values(WindowCase{"WindowOfTwo", 2, 1, 2},
                      // 0 is taken as 1: one connect at a time.
                      WindowCase{"WindowZeroIsOne", 0, 1, 1},
                      // Six workers start together: the counter must see them overlap.
                      WindowCase{"WindowOfSix", 6, 2, 6}),
    [](const ::testing::TestParamInfo<WindowCase>& p) { return std::string(p.param.name); });

TEST_F(ConnectWindowTest, StopFlagStopsStartingModules) {
    const auto& modules = StartFleet(broker_->port());
    std::atomic<bool> stop{false};
    ConnectWindowOptions options;
    options.window = 2;
    options.stop = &stop;
    options.on_progress = [&stop](const ConnectProgress&) { stop.store(true); };
    const auto result = ConnectWindowed(modules, options);
    // One finished and set the flag; at most two more were in flight or just taken.
    EXPECT_GE(result.connected, 1U);
    EXPECT_LE(result.connected + result.failed, 3U);
    EXPECT_EQ(result.connected + result.failed + result.not_attempted, kModules);
    EXPECT_GE(result.not_attempted, 3U);
    EXPECT_THAT(modules.back()->Command("AT+CONNECT?"), ElementsAre(StartsWith("OK 0 ")));
}

TEST_F(ConnectWindowTest, StopFlagAlreadySetStartsNothing) {
    const auto& modules = StartFleet(broker_->port());
    std::atomic<bool> stop{true};
    ConnectWindowOptions options;
    options.window = 2;
    options.stop = &stop;
    const auto result = ConnectWindowed(modules, options);
    EXPECT_EQ(result.not_attempted, kModules);
    EXPECT_EQ(result.connected + result.failed + result.failed_attempts, 0U);
    EXPECT_EQ(result.peak_in_flight, 0U);
}

TEST_F(ConnectWindowTest, ClosedPortFailsAfterTheAttemptsWithoutAFinalWait) {
    const auto& modules = StartFleet(sim::testing::FreePort(), 1);
    ConnectWindowOptions options;
    options.attempts = 3;
    options.retry_delay = std::chrono::milliseconds{400};  // waits 400 ms, then 800 ms
    std::mutex mutex;
    std::vector<SteadyClock::time_point> failures;
    std::vector<std::string> answers;
    options.on_failure = [&](const std::string& thing, const std::string& answer) {
        std::lock_guard lock(mutex);
        failures.push_back(SteadyClock::now());
        answers.push_back(thing + " " + answer);
    };
    const auto start = SteadyClock::now();
    const auto result = ConnectWindowed(modules, options);
    const auto end = SteadyClock::now();
    EXPECT_EQ(result.connected, 0U);
    EXPECT_EQ(result.failed, 1U);
    EXPECT_EQ(result.failed_attempts, 3U);
    ASSERT_EQ(failures.size(), 3U);
    EXPECT_THAT(answers[0], HasSubstr("ERR14"));
    EXPECT_EQ(result.first_error, answers[0]);
    EXPECT_THAT(result.first_error, StartsWith(modules[0]->profile().thing_name + " "));
    // The back-offs happened between the attempts...
    EXPECT_GE(failures[1] - failures[0], std::chrono::milliseconds{400});
    EXPECT_GE(failures[2] - failures[1], std::chrono::milliseconds{800});
    // ...but none after the last one (it would be 1600 ms).
    EXPECT_LT(end - failures[2], std::chrono::milliseconds{300});
    EXPECT_LT(end - start, std::chrono::milliseconds{1200 + 1000});
}

TEST_F(ConnectWindowTest, StopFlagCutsABackOffShort) {
    const auto& modules = StartFleet(sim::testing::FreePort(), 1);
    std::atomic<bool> stop{false};
    ConnectWindowOptions options;
    options.attempts = 3;
    options.retry_delay = std::chrono::seconds{20};
    options.stop = &stop;
    options.on_failure = [&stop](const std::string&, const std::string&) { stop.store(true); };
    const auto start = SteadyClock::now();
    const auto result = ConnectWindowed(modules, options);
    EXPECT_LT(SteadyClock::now() - start, std::chrono::seconds{3});
    EXPECT_EQ(result.failed_attempts, 1U);
    EXPECT_EQ(result.failed, 1U);
    EXPECT_EQ(result.not_attempted, 0U);
}

}  // namespace
}  // namespace sim::module
