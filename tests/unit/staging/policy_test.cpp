// SPDX-License-Identifier: Apache-2.0
// The staging and claim-thing policies, evaluated by the real policy evaluator
// (sim/account/policy): what a staged module and a claim-thing may and may not do.
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sim/account/policy.hpp"
#include "sim/staging/staging.hpp"

namespace sim::staging {
namespace {

constexpr const char* kRegion = "us-east-1";
constexpr const char* kAccount = "111122223333";
constexpr const char* kThing = "4a5b6c7d8e9f00112233445566778899aa";
constexpr const char* kOther = "5a5b6c7d8e9f00112233445566778899aa";
constexpr const char* kUuid = "0f8fad5b-d9cb-469f-a165-70867728950e";

enum class Who { kModule, kClaimThing, kModuleWithoutThing };

struct Case {
    const char* name;
    Who who;
    account::Action action;
    std::string client_id;
    std::string resource;  // client id, topic or topic filter (without the ARN prefix)
    bool allowed;
};

std::ostream& operator<<(std::ostream& out, const Case& c) { return out << c.name; }

std::string Resource(account::Action action, const std::string& name) {
    switch (action) {
        case account::Action::kConnect: return account::ClientArn(kRegion, kAccount, name);
        case account::Action::kSubscribe: return account::TopicFilterArn(kRegion, kAccount, name);
        default: return account::TopicArn(kRegion, kAccount, name);
    }
}

std::vector<account::NamedPolicy> Policy(const std::string& name, const std::string& text) {
    auto parsed = account::ParsePolicyDocument(text);
    EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().message);
    return {account::NamedPolicy{
        name, std::make_shared<const account::PolicyDocument>(parsed ? *parsed
                                                                      : account::PolicyDocument{})}};
}

class StagingPolicyTest : public ::testing::TestWithParam<Case> {};

TEST_P(StagingPolicyTest, AllowsOnlyWhatTheStagingRulesAllow) {
    const Case& c = GetParam();
    const auto policies =
        c.who == Who::kClaimThing
            ? Policy("claim", ClaimThingPolicyDocument(kRegion, kAccount))
            : Policy("staging", StagingPolicyDocument(kRegion, kAccount));
    account::ClientIdentity identity;
    identity.client_id = c.client_id;
    if (c.who == Who::kModule) {
        identity.thing = account::ThingContext{kThing, "ExpressLinkModule", {}, true};
    } else if (c.who == Who::kClaimThing) {
        identity.thing = account::ThingContext{kUuid, "ExpressLinkClaimThing", {}, true};
    }
    const std::string arn = Resource(c.action, c.resource);
    account::AuthzRequest request{c.action, {}, arn, &identity};
    const auto decision = account::Evaluate(policies, request);
    EXPECT_EQ(decision.allowed, c.allowed) << decision.reason;
}

using A = account::Action;
const std::string kT = kThing;

INSTANTIATE_TEST_SUITE_P(
    Table, StagingPolicyTest,
    ::testing::Values(
        // A module in staging (PG-PROV 12.1): connect as its ThingName only.
        Case{"ModuleConnectsAsThingName", Who::kModule, A::kConnect, kT, kT, true},
        Case{"ModuleCannotConnectAsOther", Who::kModule, A::kConnect, kOther, kOther, false},
        Case{"ModuleWithoutThingCannotConnect", Who::kModuleWithoutThing, A::kConnect, kT, kT,
             false},
        // Topics that begin with its ThingName, including the configuration topic.
        Case{"ModuleSubscribesConfigTopic", Who::kModule, A::kSubscribe, kT,
             kT + "/expresslink_config", true},
        Case{"ModuleReceivesConfigTopic", Who::kModule, A::kReceive, kT,
             kT + "/expresslink_config", true},
        Case{"ModulePublishesUnderThingName", Who::kModule, A::kPublish, kT, kT + "/data", true},
        Case{"ModulePublishesThingNameItself", Who::kModule, A::kPublish, kT, kT, true},
        Case{"ModuleSubscribesWildcardUnderThing", Who::kModule, A::kSubscribe, kT, kT + "/#",
             true},
        Case{"ModuleSubscribesJobs", Who::kModule, A::kSubscribe, kT,
             "$aws/things/" + kT + "/jobs/notify-next", true},
        Case{"ModulePublishesStreams", Who::kModule, A::kPublish, kT,
             "$aws/things/" + kT + "/streams/s1/get/json", true},
        // Outside: denied (the broker drops the connection on a denied subscribe, PG-MSG 5.1.7).
        Case{"ModuleCannotSubscribeEverything", Who::kModule, A::kSubscribe, kT, "#", false},
        Case{"ModuleCannotSubscribeBareState", Who::kModule, A::kSubscribe, kT, "state", false},
        Case{"ModuleCannotSubscribeOtherThing", Who::kModule, A::kSubscribe, kT,
             std::string(kOther) + "/expresslink_config", false},
        Case{"ModuleCannotPublishOtherThing", Who::kModule, A::kPublish, kT,
             std::string(kOther) + "/expresslink_config", false},
        Case{"ModuleCannotUseNamePrefix", Who::kModule, A::kPublish, kT, kT + "x/data", false},
        Case{"ModuleCannotRetainPublish", Who::kModule, A::kRetainPublish, kT, kT + "/data",
             false},
        Case{"ModuleCannotSubscribeOtherJobs", Who::kModule, A::kSubscribe, kT,
             std::string("$aws/things/") + kOther + "/jobs/notify-next", false},
        Case{"ModuleCannotWatchPresence", Who::kModule, A::kSubscribe, kT,
             "$aws/events/presence/connected/" + kT, false},
        // A claim-thing: connect as its UUID, publish claims, watch presence.
        Case{"ClaimThingConnectsAsUuid", Who::kClaimThing, A::kConnect, kUuid, kUuid, true},
        Case{"ClaimThingCannotConnectAsModule", Who::kClaimThing, A::kConnect, kUuid, kT, false},
        Case{"ClaimThingPublishesClaim", Who::kClaimThing, A::kPublish, kUuid,
             kT + "/expresslink_config", true},
        Case{"ClaimThingCannotPublishElsewhere", Who::kClaimThing, A::kPublish, kUuid,
             kT + "/data", false},
        Case{"ClaimThingCannotPublishBareConfig", Who::kClaimThing, A::kPublish, kUuid,
             "expresslink_config", false},
        Case{"ClaimThingCannotRetainClaims", Who::kClaimThing, A::kRetainPublish, kUuid,
             kT + "/expresslink_config", false},
        Case{"ClaimThingCannotSubscribeConfig", Who::kClaimThing, A::kSubscribe, kUuid,
             kT + "/expresslink_config", false},
        Case{"ClaimThingCannotReceiveConfig", Who::kClaimThing, A::kReceive, kUuid,
             kT + "/expresslink_config", false},
        Case{"ClaimThingWatchesDisconnect", Who::kClaimThing, A::kSubscribe, kUuid,
             "$aws/events/presence/disconnected/" + kT, true},
        Case{"ClaimThingWatchesConnect", Who::kClaimThing, A::kSubscribe, kUuid,
             "$aws/events/presence/connected/" + kT, true},
        Case{"ClaimThingReceivesDisconnect", Who::kClaimThing, A::kReceive, kUuid,
             "$aws/events/presence/disconnected/" + kT, true},
        Case{"ClaimThingCannotWatchSubscriptions", Who::kClaimThing, A::kSubscribe, kUuid,
             "$aws/events/subscriptions/subscribed/" + kT, false},
        Case{"ClaimThingCannotSubscribeEverything", Who::kClaimThing, A::kSubscribe, kUuid, "#",
             false}),
    [](const ::testing::TestParamInfo<Case>& p) { return std::string(p.param.name); });

TEST(StagingPolicyDocumentTest, FitsTheAwsSizeLimit) {
    EXPECT_TRUE(account::ValidatePolicyDocumentSize(StagingPolicyDocument(kRegion, kAccount)));
    EXPECT_TRUE(account::ValidatePolicyDocumentSize(ClaimThingPolicyDocument(kRegion, kAccount)));
}

TEST(ConfigTopicTest, AppendsTheSuffix) {
    EXPECT_EQ(ConfigTopic("abc"), "abc/expresslink_config");
}

}  // namespace
}  // namespace sim::staging
