// SPDX-License-Identifier: Apache-2.0
// The rules the TLS tap makes enforceable : SNI ('Transport security in AWS IoT Core') and at
// most 8 filters per SUBSCRIBE (AWS IoT Core quotas), as pure rules and as BrokerCore decisions.
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "sim/broker/broker_core.hpp"
#include "sim/broker/mqtt_rules.hpp"

namespace sim::broker {
namespace {

constexpr const char* kOwn = "abcdef0123456a-ats.iot.us-east-1.elsim.test";

struct SniCase {
    std::string name;
    std::string server_name;
    std::string own_endpoint;
    SniVerdict verdict;
};

class ServerNameRuleTest : public ::testing::TestWithParam<SniCase> {};

TEST_P(ServerNameRuleTest, ClassifiesTheSni) {
    const auto& c = GetParam();
    EXPECT_EQ(CheckServerName(c.server_name, c.own_endpoint), c.verdict) << c.server_name;
}

INSTANTIATE_TEST_SUITE_P(
    Sni, ServerNameRuleTest,
    ::testing::Values(SniCase{"Missing", "", kOwn, SniVerdict::kMissing},
                      SniCase{"MissingWithoutEndpoint", "", "", SniVerdict::kMissing},
                      SniCase{"OwnEndpoint", kOwn, kOwn, SniVerdict::kAccept},
                      SniCase{"OwnEndpointOtherCase", "ABCDEF0123456A-ats.IOT.us-east-1.elsim.TEST",
                              kOwn, SniVerdict::kAccept},
                      SniCase{"OwnEndpointTrailingDot", std::string(kOwn) + ".", kOwn,
                              SniVerdict::kAccept},
                      SniCase{"OtherAccount", "zzzzzz0123456a-ats.iot.us-east-1.elsim.test", kOwn,
                              SniVerdict::kOtherAccount},
                      SniCase{"OtherRegion", "abcdef0123456a-ats.iot.eu-west-1.elsim.test", kOwn,
                              SniVerdict::kOtherAccount},
                      SniCase{"OtherAccountNoEndpointConfigured",
                              "zzzz-ats.iot.us-east-1.elsim.test", "", SniVerdict::kAccept},
                      SniCase{"Ipv4Literal", "127.0.0.3", kOwn, SniVerdict::kAccept},
                      SniCase{"Localhost", "localhost", kOwn, SniVerdict::kAccept},
                      SniCase{"BareDomainIsNotAnEndpoint", "elsim.test", kOwn, SniVerdict::kAccept},
                      SniCase{"LookalikeDomain", "x.notelsim.test", kOwn, SniVerdict::kAccept},
                      SniCase{"RealAwsEndpoint", "abcdef0123456a-ats.iot.us-east-1.amazonaws.com",
                              kOwn, SniVerdict::kAccept}),
    [](const auto& test_case) { return test_case.param.name; });

TEST(ServerNameRuleTest, VerdictNamesAreTheLoggedReasons) {
    EXPECT_STREQ(ToString(SniVerdict::kMissing), "no_sni");
    EXPECT_STREQ(ToString(SniVerdict::kOtherAccount), "sni_other_account");
    EXPECT_STREQ(ToString(SniVerdict::kAccept), "accept");
}

// ---- BrokerCore ------------------------------------------------------------------------------

const sim::TimePoint kNow{std::chrono::seconds{1'700'000'000}};

ConnectInput Input(const std::string& client_id, int version,
                   std::optional<std::string> server_name) {
    ConnectInput input;
    input.session_key = 7;
    input.client_id = client_id;
    input.has_certificate = true;
    input.certificate.certificate_id = "cert-" + client_id;
    input.protocol_version = version;
    input.server_name = std::move(server_name);
    return input;
}

struct ConnectSniCase {
    std::string name;
    int version;
    std::optional<std::string> server_name;
    ConnectAction action;
    std::string reason;
};

class ConnectSniTest : public ::testing::TestWithParam<ConnectSniCase> {};

TEST_P(ConnectSniTest, RefusesWithoutConnackWhenTheSniIsWrong) {
    const auto& c = GetParam();
    OpenAccountView view;
    sim::SeededRandom random(1);
    BrokerSettings settings;
    settings.endpoint = kOwn;
    BrokerCore core(settings, view, random);
    const ConnectResult result = core.OnConnect(Input("dev", c.version, c.server_name), kNow);
    EXPECT_EQ(result.action, c.action);
    EXPECT_EQ(result.reason, c.reason);
    EXPECT_EQ(core.SessionCount(), c.action == ConnectAction::kAccept ? 1u : 0u);
    // A refused connect publishes nothing (no lifecycle event: AWS refuses in TLS).
    EXPECT_EQ(core.TakeEffects(true).publishes.empty(), c.action != ConnectAction::kAccept);
}

INSTANTIATE_TEST_SUITE_P(
    Sni, ConnectSniTest,
    ::testing::Values(
        ConnectSniTest::ParamType{"NoSniV311", 4, "", ConnectAction::kCloseWithoutConnack,
                                  "no_sni"},
        ConnectSniTest::ParamType{"NoSniV5", 5, "", ConnectAction::kCloseWithoutConnack, "no_sni"},
        ConnectSniTest::ParamType{"OtherAccountV311", 4, "q-ats.iot.us-east-1.elsim.test",
                                  ConnectAction::kCloseWithoutConnack, "sni_other_account"},
        ConnectSniTest::ParamType{"OtherAccountV5", 5, "q-ats.iot.us-east-1.elsim.test",
                                  ConnectAction::kCloseWithoutConnack, "sni_other_account"},
        ConnectSniTest::ParamType{"OwnEndpoint", 4, kOwn, ConnectAction::kAccept, "accepted"},
        ConnectSniTest::ParamType{"IpLiteral", 5, "127.0.0.1", ConnectAction::kAccept, "accepted"},
        ConnectSniTest::ParamType{"UnknownWithoutTap", 4, std::nullopt, ConnectAction::kAccept,
                                  "accepted"}),
    [](const auto& test_case) { return test_case.param.name; });

struct FilterCountCase {
    std::string name;
    int version;
    std::size_t filters;
    bool allowed;
    bool kick;
};

class SubscribeFilterCountTest : public ::testing::TestWithParam<FilterCountCase> {};

TEST_P(SubscribeFilterCountTest, DeniesEveryFilterOfASubscribeWithMoreThanEight) {
    const auto& c = GetParam();
    OpenAccountView view;
    sim::SeededRandom random(1);
    BrokerCore core(BrokerSettings{}, view, random);
    ASSERT_EQ(core.OnConnect(Input("dev", c.version, "127.0.0.1"), kNow).action,
              ConnectAction::kAccept);
    (void)core.TakeEffects(true);
    const AclResult result = core.OnSubscribe("dev", "dt/dev/#", 1, kNow, c.filters);
    EXPECT_EQ(result.allowed, c.allowed);
    EXPECT_EQ(result.kick, c.kick);
    EXPECT_EQ(result.reason, c.allowed ? "" : "too_many_filters");
    const BrokerEffects effects = core.TakeEffects(true);
    EXPECT_EQ(effects.kicks.size(), c.kick ? 1u : 0u);
    // A denied filter gets no subscribed event; an allowed one does.
    EXPECT_EQ(effects.publishes.size(), c.allowed ? 1u : 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Quota, SubscribeFilterCountTest,
    ::testing::Values(FilterCountCase{"UnknownCount", 4, 0, true, false},
                      FilterCountCase{"One", 4, 1, true, false},
                      FilterCountCase{"Eight", 4, 8, true, false},
                      FilterCountCase{"NineV311ClosesTheConnection", 4, 9, false, true},
                      FilterCountCase{"NineV5DeniesWith0x87", 5, 9, false, false},
                      FilterCountCase{"ManyV5", 5, 1000, false, false}),
    [](const auto& test_case) { return test_case.param.name; });

}  // namespace
}  // namespace sim::broker
