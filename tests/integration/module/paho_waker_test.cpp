// SPDX-License-Identifier: Apache-2.0
// sim::module::PahoWaker against a real mosquitto over mutual TLS: it publishes (and gets
// PUBACKs) only while an Activation is alive, and Start refuses what cannot work.
#include "sim/module/paho_waker.hpp"

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "sim/testing/support.hpp"

namespace {

using namespace std::chrono_literals;
using sim::module::PahoWaker;
using sim::module::PahoWakerOptions;
using sim::testing::TempDir;
using sim::testing::TestBroker;
using sim::testing::TestBrokerOptions;
using sim::testing::TestPki;

TestBrokerOptions TrustingAcme() {
    TestBrokerOptions options;
    options.trusted_device_cas = {"acme"};
    return options;
}

PahoWakerOptions OptionsFor(TestPki& pki, const TestBroker& broker, const std::string& device,
                            const std::string& ca) {
    const auto files = pki.Device(device, ca);
    PahoWakerOptions options;
    options.uri = "ssl://127.0.0.1:" + std::to_string(broker.port());
    options.client_id = device;
    options.topic = device + "/waker";
    options.root_ca_file = pki.ServerCa().cert;
    options.certificate_file = files.cert;
    options.private_key_file = files.key;
    options.period = 2ms;
    options.attempts = 1;
    options.connect_timeout = std::chrono::seconds{5};
    return options;
}

template <class Predicate>
bool WaitFor(Predicate predicate, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (predicate()) {
            return true;
        }
        std::this_thread::sleep_for(10ms);
    }
    return predicate();
}

TEST(PahoWakerTest, PublishesOnlyWhileActive) {
    TempDir dir;
    TestPki pki(dir.path() / "pki");
    TestBroker broker(pki, dir.path() / "broker", TrustingAcme());
    ASSERT_TRUE(broker.ok()) << broker.error();
    auto waker = PahoWaker::Start(OptionsFor(pki, broker, "waker-1", "acme"));
    ASSERT_TRUE(waker.has_value()) << waker.error().message;

    std::this_thread::sleep_for(100ms);
    EXPECT_EQ((*waker)->Published(), 0U) << "inactive waker published";
    {
        const PahoWaker::Activation outer((*waker).get());
        const PahoWaker::Activation inner((*waker).get());  // nested: counted
        EXPECT_TRUE(WaitFor([&] { return (*waker)->Acknowledged() >= 20; }, 5000ms))
            << "PUBACKs while active: " << (*waker)->Acknowledged();
    }
    // In-flight publishes complete, then nothing more is sent.
    ASSERT_TRUE(WaitFor([&] { return (*waker)->Acknowledged() == (*waker)->Published(); },
                        2000ms));
    const auto published = (*waker)->Published();
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ((*waker)->Published(), published) << "published after the last Activation ended";
    const PahoWaker::Activation none(nullptr);  // a null waker: no effect, no crash
}

struct StartCase {
    const char* name;
    enum class Breakage { kBadUri, kClosedPort, kUntrustedDevice } breakage;
    sim::ErrorCode expected;
};

class PahoWakerStartTest : public ::testing::TestWithParam<StartCase> {};

TEST_P(PahoWakerStartTest, RefusesWhatCannotConnect) {
    TempDir dir;
    TestPki pki(dir.path() / "pki");
    TestBroker broker(pki, dir.path() / "broker", TrustingAcme());
    ASSERT_TRUE(broker.ok()) << broker.error();
    auto options = OptionsFor(pki, broker, "waker-2", "acme");
    switch (GetParam().breakage) {
        case StartCase::Breakage::kBadUri:
            options.uri = "nonsense://127.0.0.1:1";
            break;
        case StartCase::Breakage::kClosedPort:
            options.uri = "ssl://127.0.0.1:" + std::to_string(sim::testing::FreePort());
            break;
        case StartCase::Breakage::kUntrustedDevice:
            options = OptionsFor(pki, broker, "waker-3", "other");
            break;
    }
    auto waker = PahoWaker::Start(options);
    ASSERT_FALSE(waker.has_value());
    EXPECT_EQ(waker.error().code, GetParam().expected) << waker.error().message;
    EXPECT_NE(waker.error().message.find(options.client_id), std::string::npos)
        << waker.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Table, PahoWakerStartTest,
    ::testing::Values(
        StartCase{"BadUri", StartCase::Breakage::kBadUri, sim::ErrorCode::kInvalidArgument},
        StartCase{"ClosedPort", StartCase::Breakage::kClosedPort, sim::ErrorCode::kUnavailable},
        StartCase{"UntrustedDevice", StartCase::Breakage::kUntrustedDevice,
                  sim::ErrorCode::kUnavailable}),
    [](const ::testing::TestParamInfo<StartCase>& param_info) {
        return std::string(param_info.param.name);
    });

}  // namespace
