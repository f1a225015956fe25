// SPDX-License-Identifier: Apache-2.0
#include "sim/broker/mqtt_rules.hpp"

#include <string>

#include <gtest/gtest.h>

namespace sim::broker {
namespace {
using std::chrono::seconds;
using enum RuleViolation;  // the tables name violations bare: kNone, kReservedTopic, ...

struct TopicCase {
    std::string name;
    std::string topic;
    RuleViolation publish;
    RuleViolation subscribe;
};

class TopicRulesTest : public ::testing::TestWithParam<TopicCase> {};

TEST_P(TopicRulesTest, ClassifiesTopicForPublishAndSubscribe) {
    const auto& c = GetParam();
    EXPECT_EQ(CheckPublishTopic(c.topic), c.publish) << c.topic;
    EXPECT_EQ(CheckSubscribeFilter(c.topic), c.subscribe) << c.topic;
}

const std::string k253(253, 'x');

INSTANTIATE_TEST_SUITE_P(
    AwsIotTopics, TopicRulesTest,
    ::testing::Values(
        TopicCase{"Plain", "dt/thing/temp", kNone, kNone},
        TopicCase{"Empty", "", kEmptyTopic, kEmptyTopic},
        TopicCase{"Exactly256Bytes", "dt/" + k253, kNone, kNone},
        TopicCase{"257Bytes", "dt/x" + k253, kTopicTooLong, kTopicTooLong},
        TopicCase{"SevenSlashes", "a/b/c/d/e/f/g/h", kNone, kNone},
        TopicCase{"EightSlashes", "a/b/c/d/e/f/g/h/i", kTooManyTopicLevels, kTooManyTopicLevels},
        TopicCase{"BasicIngestPrefixNotCounted", "$aws/rules/r1/a/b/c/d/e/f/g/h", kNone,
                  kReservedTopic},
        TopicCase{"PlusWildcard", "a/+/c", kWildcardInTopic, kNone},
        TopicCase{"HashWildcard", "a/#", kWildcardInTopic, kNone},
        TopicCase{"HashNotLast", "a/#/c", kWildcardInTopic, kInvalidWildcard},
        TopicCase{"PlusInsideLevel", "a/b+/c", kWildcardInTopic, kInvalidWildcard},
        TopicCase{"EventsAreSubscribeOnly", "$aws/events/presence/connected/x", kReservedTopic,
                  kNone},
        TopicCase{"ShadowBothWays", "$aws/things/t1/shadow/update", kNone, kNone},
        TopicCase{"FleetCreate", "$aws/certificates/create/json", kNone, kNone},
        TopicCase{"FleetRegister", "$aws/provisioning-templates/t/provision/json", kNone, kNone},
        TopicCase{"SysReserved", "$SYS/broker/uptime", kReservedTopic, kReservedTopic},
        TopicCase{"OtherDollar", "$foo", kReservedTopic, kReservedTopic}),
    [](const auto& test_case) { return test_case.param.name; });

struct QosCase {
    int qos;
    RuleViolation expected;
};
class QosRuleTest : public ::testing::TestWithParam<QosCase> {};
TEST_P(QosRuleTest, AcceptsOnlyQos0And1) {
    EXPECT_EQ(CheckQos(GetParam().qos), GetParam().expected);
}
INSTANTIATE_TEST_SUITE_P(AwsIotQos, QosRuleTest,
                         ::testing::Values(QosCase{0, kNone}, QosCase{1, kNone},
                                           QosCase{2, kQos2NotSupported},
                                           QosCase{3, kQos2NotSupported},
                                           QosCase{-1, kQos2NotSupported}));

struct KeepAliveCase {
    long requested;
    long expected;
};
class KeepAliveTest : public ::testing::TestWithParam<KeepAliveCase> {};
TEST_P(KeepAliveTest, ClampsTo30Through1200Seconds) {
    EXPECT_EQ(ClampKeepAlive(seconds{GetParam().requested}), seconds{GetParam().expected});
}
INSTANTIATE_TEST_SUITE_P(AwsIotKeepAlive, KeepAliveTest,
                         ::testing::Values(KeepAliveCase{0, 1200}, KeepAliveCase{-5, 1200},
                                           KeepAliveCase{1, 30}, KeepAliveCase{29, 30},
                                           KeepAliveCase{30, 30}, KeepAliveCase{600, 600},
                                           KeepAliveCase{1200, 1200}, KeepAliveCase{1201, 1200},
                                           KeepAliveCase{65535, 1200}));

struct ClientIdCase {
    std::string client_id;
    RuleViolation expected;
};
class ClientIdTest : public ::testing::TestWithParam<ClientIdCase> {};
TEST_P(ClientIdTest, AppliesLengthAndDollarRules) {
    EXPECT_EQ(CheckClientId(GetParam().client_id), GetParam().expected);
}
INSTANTIATE_TEST_SUITE_P(AwsIotClientIds, ClientIdTest,
                         ::testing::Values(ClientIdCase{"thing-1", kNone}, ClientIdCase{"", kNone},
                                           ClientIdCase{std::string(128, 'c'), kNone},
                                           ClientIdCase{std::string(129, 'c'), kClientIdTooLong},
                                           ClientIdCase{"$aws-generated", kReservedClientId}));

struct UsernameCase {
    std::string username;
    bool metrics;
};
class UsernameTest : public ::testing::TestWithParam<UsernameCase> {};
TEST_P(UsernameTest, RecognisesSdkMetricsStrings) {
    EXPECT_EQ(IsSdkMetricsUsername(GetParam().username), GetParam().metrics);
}
INSTANTIATE_TEST_SUITE_P(SdkUsernames, UsernameTest,
                         ::testing::Values(UsernameCase{"?SDK=IoTDeviceSDK/JS&Platform=Unix", true},
                                           UsernameCase{"?", true}, UsernameCase{"", false},
                                           UsernameCase{"user?SDK", false},
                                           UsernameCase{"alice", false}));

TEST(FilterCountTest, AllowsAtMostEightFiltersPerSubscribe) {
    EXPECT_EQ(CheckFilterCount(8), kNone);
    EXPECT_EQ(CheckFilterCount(9), kTooManyFilters);
}

struct RateCase {
    std::string name;
    std::vector<std::pair<std::string, int>> attempts;  // (client id, ms since start)
    std::vector<bool> allowed;
};
class ConnectRateTest : public ::testing::TestWithParam<RateCase> {};
TEST_P(ConnectRateTest, AllowsOneConnectPerSecondPerClientId) {
    ConnectRateLimiter limiter;
    const sim::TimePoint start{std::chrono::seconds{1'700'000'000}};
    for (std::size_t i = 0; i < GetParam().attempts.size(); ++i) {
        const auto& [id, ms] = GetParam().attempts[i];
        EXPECT_EQ(limiter.Allow(id, start + std::chrono::milliseconds{ms}), GetParam().allowed[i])
            << "attempt " << i;
    }
}
INSTANTIATE_TEST_SUITE_P(
    Quota, ConnectRateTest,
    ::testing::Values(RateCase{"SecondWithinASecondRefused", {{"a", 0}, {"a", 999}}, {true, false}},
                      RateCase{"SecondAfterASecondAllowed", {{"a", 0}, {"a", 1000}}, {true, true}},
                      RateCase{"RefusedAttemptDoesNotExtendWindow",
                               {{"a", 0}, {"a", 500}, {"a", 1000}},
                               {true, false, true}},
                      RateCase{"ClientIdsAreIndependent", {{"a", 0}, {"b", 1}}, {true, true}}),
    [](const auto& test_case) { return test_case.param.name; });

}  // namespace
}  // namespace sim::broker
