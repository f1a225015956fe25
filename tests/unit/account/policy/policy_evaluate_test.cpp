// SPDX-License-Identifier: Apache-2.0
// Evaluate: IAM semantics over AWS IoT resources ('AWS IoT Core policies'), with the policies an
// ExpressLink world actually uses.
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "policy_test_support.hpp"
#include <gtest/gtest.h>

#include "sim/account/policy.hpp"

namespace sim::account {
namespace {

using testing::Arn;
using testing::ModuleIdentity;
using testing::MustParse;

// Onboarding-by-claim guide, Appendix C step 12: "*" for both action and resource.
constexpr const char* kAppendixCPolicy = R"({
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})";

// The fleet-provisioning claim-certificate policy of a published ESP32 fleet-provisioning guide.
constexpr const char* kClaimPolicy = R"({
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["iot:Connect"], "Resource": ["*"]},
    {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"],
     "Resource": [
       "arn:aws:iot:us-east-1:123456789012:topic/$aws/certificates/create/*",
       "arn:aws:iot:us-east-1:123456789012:topic/$aws/provisioning-templates/tmpl/provision/*"]},
    {"Effect": "Allow", "Action": "iot:Subscribe",
     "Resource": [
       "arn:aws:iot:us-east-1:123456789012:topicfilter/$aws/certificates/create/*",
       "arn:aws:iot:us-east-1:123456789012:topicfilter/$aws/provisioning-templates/tmpl/provision/*"]}
  ]})";

constexpr const char* kDenyAdmin = R"({"Version":"2012-10-17","Statement":[
  {"Sid":"NoAdmin","Effect":"Deny","Action":"iot:Publish",
   "Resource":"arn:aws:iot:us-east-1:123456789012:topic/0123456789abcdef/admin/*"}]})";

constexpr const char* kNotResource = R"({"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"iot:Publish",
   "NotResource":"arn:aws:iot:us-east-1:123456789012:topic/secret/*"}]})";

constexpr const char* kNotActionDeny = R"({"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"iot:*","Resource":"*"},
  {"Effect":"Deny","NotAction":["iot:Connect","IOT:SUBSCRIBE"],"Resource":"*"}]})";

constexpr const char* kGroupPolicy = R"({"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"iot:Publish",
   "Resource":"arn:aws:iot:us-east-1:123456789012:topic/fleet/*"}]})";

constexpr const char* kConditions = R"({"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"iot:Connect","Resource":"*",
   "Condition":{"Bool":{"iot:Connection.Thing.IsAttached":"true"}}},
  {"Effect":"Allow","Action":"iot:Publish","Resource":"*",
   "Condition":{"ForAllValues:StringEquals":
     {"iot:Certificate.Subject.Organization.List":["Espressif","ModuleMaker","Other"]},
     "IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}},
  {"Effect":"Allow","Action":"iot:Subscribe","Resource":"*",
   "Condition":{"StringLike":{"iot:ClientId":"${iot:Connection.Thing.ThingName}*"}}},
  {"Effect":"Allow","Action":"iot:Receive","Resource":"*",
   "Condition":{"NumericEquals":{"iot:ClientId":"1"}}},
  {"Effect":"Allow","Action":"iot:GetRetainedMessage","Resource":"*",
   "Condition":{"StringNotEquals":{"iot:Connection.Thing.Attributes[missing]":"x"}}},
  {"Effect":"Allow","Action":"iot:ListRetainedMessages","Resource":"*",
   "Condition":{"Null":{"aws:SourceIp":"false"}}}]})";

constexpr const char* kVersion2008Variables = R"({"Version":"2008-10-17","Statement":[
  {"Effect":"Allow","Action":"iot:Connect",
   "Resource":"arn:aws:iot:us-east-1:123456789012:client/${iot:ClientId}"}]})";

constexpr const char* kShadowActions = R"({"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"iot:*ThingShadow",
   "Resource":"arn:aws:iot:us-east-1:123456789012:thing/${iot:Connection.Thing.ThingName}"}]})";

const std::map<std::string, std::string>& Documents() {
    static const std::map<std::string, std::string> kDocuments = {
        {"staging", testing::PolicyJson(testing::kStagingStatements)},
        {"appendix-c", kAppendixCPolicy},
        {"claim", kClaimPolicy},
        {"deny-admin", kDenyAdmin},
        {"not-resource", kNotResource},
        {"not-action-deny", kNotActionDeny},
        {"group", kGroupPolicy},
        {"conditions", kConditions},
        {"v2008", kVersion2008Variables},
        {"shadow", kShadowActions},
    };
    return kDocuments;
}

struct EvalCase {
    std::string name;
    std::vector<std::string> certificate_policies;
    std::vector<std::string> group_policies;
    Action action;
    std::string resource;  ///< Full ARN.
    Decision::Basis basis;
    std::function<void(ClientIdentity&)> adjust = nullptr;
    std::string action_name = {};
};

void PrintTo(const EvalCase& c, std::ostream* os) { *os << c.name; }

std::vector<NamedPolicy> Named(const std::vector<std::string>& names) {
    std::vector<NamedPolicy> out;
    for (const auto& name : names) {
        out.push_back(NamedPolicy{name, MustParse(Documents().at(name))});
    }
    return out;
}

class PolicyEvaluateTest : public ::testing::TestWithParam<EvalCase> {};

TEST_P(PolicyEvaluateTest, Decides) {
    const EvalCase& c = GetParam();
    ClientIdentity identity = ModuleIdentity();
    if (c.adjust) {
        c.adjust(identity);
    }
    const auto cert = Named(c.certificate_policies);
    const auto groups = Named(c.group_policies);
    const auto effective = EffectivePolicies(cert, groups);
    const AuthzRequest request{c.action, c.action_name, c.resource, &identity};
    const Decision decision = Evaluate(effective, request);
    EXPECT_EQ(decision.basis, c.basis) << decision.reason;
    EXPECT_EQ(decision.allowed, c.basis == Decision::Basis::kAllowed) << decision.reason;
    EXPECT_FALSE(decision.reason.empty());
    // Explain mode changes nothing but the reason.
    const Decision quiet = Evaluate(effective, request, Explain::kNo);
    EXPECT_EQ(quiet.allowed, decision.allowed);
    EXPECT_EQ(quiet.basis, decision.basis);
    EXPECT_TRUE(quiet.reason.empty());
}

constexpr auto kAllowed = Decision::Basis::kAllowed;
constexpr auto kDenied = Decision::Basis::kExplicitDeny;
constexpr auto kNoAllow = Decision::Basis::kNoAllow;
const std::string kThing = "0123456789abcdef";

void NoThing(ClientIdentity& identity) { identity.thing.reset(); }

INSTANTIATE_TEST_SUITE_P(
    Table, PolicyEvaluateTest,
    ::testing::Values(
        // Staging: a module lives under topics that begin with its ThingName.
        EvalCase{"StagingConnectAsThingName",
                 {"staging"},
                 {},
                 Action::kConnect,
                 Arn("client", kThing),
                 kAllowed},
        EvalCase{"StagingConnectOtherClientId",
                 {"staging"},
                 {},
                 Action::kConnect,
                 Arn("client", "someone-else"),
                 kNoAllow},
        EvalCase{"StagingPublishUnderThingName",
                 {"staging"},
                 {},
                 Action::kPublish,
                 Arn("topic", kThing + "/expresslink_config"),
                 kAllowed},
        EvalCase{"StagingPublishDeepUnderThingName",
                 {"staging"},
                 {},
                 Action::kPublish,
                 Arn("topic", kThing + "/a/b/c"),
                 kAllowed},
        EvalCase{"StagingDeniesPublishOutsideThingTopic",
                 {"staging"},
                 {},
                 Action::kPublish,
                 Arn("topic", "other/expresslink_config"),
                 kNoAllow},
        EvalCase{"StagingDeniesPublishToThingNamePrefixOfOther",
                 {"staging"},
                 {},
                 Action::kPublish,
                 Arn("topic", kThing + "0/x"),
                 kNoAllow},
        EvalCase{"StagingDeniesBareThingNameTopic",
                 {"staging"},
                 {},
                 Action::kPublish,
                 Arn("topic", kThing),
                 kNoAllow},
        EvalCase{"StagingReceive",
                 {"staging"},
                 {},
                 Action::kReceive,
                 Arn("topic", kThing + "/expresslink_config"),
                 kAllowed},
        EvalCase{"StagingRetainPublish",
                 {"staging"},
                 {},
                 Action::kRetainPublish,
                 Arn("topic", kThing + "/state"),
                 kAllowed},
        EvalCase{"StagingSubscribeWildcardFilterUnderThing",
                 {"staging"},
                 {},
                 Action::kSubscribe,
                 Arn("topicfilter", kThing + "/#"),
                 kAllowed},
        EvalCase{"StagingSubscribeHashEverywhereDenied",
                 {"staging"},
                 {},
                 Action::kSubscribe,
                 Arn("topicfilter", "#"),
                 kNoAllow},
        EvalCase{"StagingSubscribeUsesTopicfilterNotTopic",
                 {"staging"},
                 {},
                 Action::kSubscribe,
                 Arn("topic", kThing + "/x"),
                 kNoAllow},
        EvalCase{"StagingWithoutThingDeniesEverything",
                 {"staging"},
                 {},
                 Action::kPublish,
                 Arn("topic", kThing + "/x"),
                 kNoAllow,
                 NoThing},
        EvalCase{"StagingDetachedThingDenied",
                 {"staging"},
                 {},
                 Action::kConnect,
                 Arn("client", kThing),
                 kNoAllow,
                 [](ClientIdentity& i) { i.thing->is_attached = false; }},
        EvalCase{"StagingOtherAccountArnDenied",
                 {"staging"},
                 {},
                 Action::kPublish,
                 IotResourceArn("us-east-1", "999999999999", "topic", kThing + "/x"),
                 kNoAllow},
        // Appendix C: allow everything, including non-MQTT actions.
        EvalCase{"AppendixCConnect",
                 {"appendix-c"},
                 {},
                 Action::kConnect,
                 Arn("client", "anything"),
                 kAllowed},
        EvalCase{"AppendixCPublishAnywhere",
                 {"appendix-c"},
                 {},
                 Action::kPublish,
                 Arn("topic", "$aws/things/x/shadow/update"),
                 kAllowed},
        EvalCase{"AppendixCOtherAction",
                 {"appendix-c"},
                 {},
                 Action::kOther,
                 Arn("thing", "t"),
                 kAllowed,
                 nullptr,
                 "iot:UpdateThingShadow"},
        // Fleet-provisioning claim policy: $aws topics are literal text.
        EvalCase{"ClaimCreateCertificate",
                 {"claim"},
                 {},
                 Action::kPublish,
                 Arn("topic", "$aws/certificates/create/json"),
                 kAllowed},
        EvalCase{"ClaimSubscribeAccepted",
                 {"claim"},
                 {},
                 Action::kSubscribe,
                 Arn("topicfilter", "$aws/certificates/create/json/accepted"),
                 kAllowed},
        EvalCase{"ClaimSubscribePlusFilterIsLiteral",
                 {"claim"},
                 {},
                 Action::kSubscribe,
                 Arn("topicfilter", "$aws/certificates/+/json/accepted"),
                 kNoAllow},
        EvalCase{"ClaimOtherTemplateDenied",
                 {"claim"},
                 {},
                 Action::kPublish,
                 Arn("topic", "$aws/provisioning-templates/other/provision/json"),
                 kNoAllow},
        EvalCase{"ClaimNoRetainPublish",
                 {"claim"},
                 {},
                 Action::kRetainPublish,
                 Arn("topic", "$aws/certificates/create/json"),
                 kNoAllow},
        // Explicit deny wins, whatever the order of policies.
        EvalCase{"DenyWinsOverAllow",
                 {"appendix-c", "deny-admin"},
                 {},
                 Action::kPublish,
                 Arn("topic", kThing + "/admin/reboot"),
                 kDenied},
        EvalCase{"DenyWinsWhenFirst",
                 {"deny-admin", "staging"},
                 {},
                 Action::kPublish,
                 Arn("topic", kThing + "/admin/reboot"),
                 kDenied},
        EvalCase{"DenyDoesNotTouchOtherTopics",
                 {"deny-admin", "staging"},
                 {},
                 Action::kPublish,
                 Arn("topic", kThing + "/data"),
                 kAllowed},
        EvalCase{"DenyOnlyIsNoAllowElsewhere",
                 {"deny-admin"},
                 {},
                 Action::kPublish,
                 Arn("topic", kThing + "/data"),
                 kNoAllow},
        EvalCase{"NoPoliciesNoAllow", {}, {}, Action::kConnect, Arn("client", kThing), kNoAllow},
        // NotResource / NotAction.
        EvalCase{"NotResourceAllowsOthers",
                 {"not-resource"},
                 {},
                 Action::kPublish,
                 Arn("topic", "public/x"),
                 kAllowed},
        EvalCase{"NotResourceExcludesListed",
                 {"not-resource"},
                 {},
                 Action::kPublish,
                 Arn("topic", "secret/x"),
                 kNoAllow},
        EvalCase{"NotResourceOtherActionNotAllowed",
                 {"not-resource"},
                 {},
                 Action::kReceive,
                 Arn("topic", "public/x"),
                 kNoAllow},
        EvalCase{"NotActionDenyLeavesConnect",
                 {"not-action-deny"},
                 {},
                 Action::kConnect,
                 Arn("client", kThing),
                 kAllowed},
        EvalCase{"NotActionDenyCaseInsensitive",
                 {"not-action-deny"},
                 {},
                 Action::kSubscribe,
                 Arn("topicfilter", "a"),
                 kAllowed},
        EvalCase{"NotActionDenyHitsPublish",
                 {"not-action-deny"},
                 {},
                 Action::kPublish,
                 Arn("topic", "a"),
                 kDenied},
        EvalCase{"NotActionDenyHitsOtherAction",
                 {"not-action-deny"},
                 {},
                 Action::kOther,
                 Arn("thing", "t"),
                 kDenied,
                 nullptr,
                 "iot:GetThingShadow"},
        // Effective policies = certificate's ∪ thing groups'.
        EvalCase{"ThingGroupPolicyAdds",
                 {"staging"},
                 {"group"},
                 Action::kPublish,
                 Arn("topic", "fleet/telemetry"),
                 kAllowed},
        EvalCase{"WithoutGroupsNoFleetTopic",
                 {"staging"},
                 {},
                 Action::kPublish,
                 Arn("topic", "fleet/telemetry"),
                 kNoAllow},
        EvalCase{"GroupDenyApplies",
                 {"appendix-c"},
                 {"deny-admin"},
                 Action::kPublish,
                 Arn("topic", kThing + "/admin/x"),
                 kDenied},
        // Conditions.
        EvalCase{
            "BoolIsAttached", {"conditions"}, {}, Action::kConnect, Arn("client", "x"), kAllowed},
        EvalCase{"BoolIsAttachedWithoutThing",
                 {"conditions"},
                 {},
                 Action::kConnect,
                 Arn("client", "x"),
                 kNoAllow,
                 NoThing},
        EvalCase{"ForAllValuesAndIpAddress",
                 {"conditions"},
                 {},
                 Action::kPublish,
                 Arn("topic", "x"),
                 kAllowed},
        EvalCase{"ForAllValuesOneOrgOutside",
                 {"conditions"},
                 {},
                 Action::kPublish,
                 Arn("topic", "x"),
                 kNoAllow,
                 [](ClientIdentity& i) { i.subject.values["Organization"].push_back("Intruder"); }},
        EvalCase{"IpAddressOutsideRange",
                 {"conditions"},
                 {},
                 Action::kPublish,
                 Arn("topic", "x"),
                 kNoAllow,
                 [](ClientIdentity& i) { i.source_ip = "10.0.0.1"; }},
        EvalCase{"IpAddressUnknown",
                 {"conditions"},
                 {},
                 Action::kPublish,
                 Arn("topic", "x"),
                 kNoAllow,
                 [](ClientIdentity& i) { i.source_ip.clear(); }},
        EvalCase{"StringLikeWithVariable",
                 {"conditions"},
                 {},
                 Action::kSubscribe,
                 Arn("topicfilter", "x"),
                 kAllowed},
        EvalCase{"StringLikeWithVariableMismatch",
                 {"conditions"},
                 {},
                 Action::kSubscribe,
                 Arn("topicfilter", "x"),
                 kNoAllow,
                 [](ClientIdentity& i) { i.client_id = "other"; }},
        EvalCase{"UnsupportedOperatorNeverMatches",
                 {"conditions"},
                 {},
                 Action::kReceive,
                 Arn("topic", "x"),
                 kNoAllow},
        EvalCase{"NegatedOperatorOnMissingKeyHolds",
                 {"conditions"},
                 {},
                 Action::kGetRetainedMessage,
                 Arn("topic", "x"),
                 kAllowed},
        EvalCase{
            "NullFalseNeedsKey", {"conditions"}, {}, Action::kListRetainedMessages, "*", kAllowed},
        EvalCase{"NullFalseWithoutKey",
                 {"conditions"},
                 {},
                 Action::kListRetainedMessages,
                 "*",
                 kNoAllow,
                 [](ClientIdentity& i) { i.source_ip.clear(); }},
        // 2008-10-17 documents do not substitute variables.
        EvalCase{"Version2008KeepsVariablesLiteral",
                 {"v2008"},
                 {},
                 Action::kConnect,
                 Arn("client", kThing),
                 kNoAllow},
        EvalCase{"Version2008MatchesLiteralText",
                 {"v2008"},
                 {},
                 Action::kConnect,
                 Arn("client", "${iot:ClientId}"),
                 kAllowed},
        // Non-MQTT actions by name, with wildcards in the action.
        EvalCase{"ShadowActionWildcard",
                 {"shadow"},
                 {},
                 Action::kOther,
                 Arn("thing", kThing),
                 kAllowed,
                 nullptr,
                 "iot:UpdateThingShadow"},
        EvalCase{"ShadowActionOtherThing",
                 {"shadow"},
                 {},
                 Action::kOther,
                 Arn("thing", "other"),
                 kNoAllow,
                 nullptr,
                 "iot:GetThingShadow"},
        EvalCase{"ShadowActionNotMatchingName",
                 {"shadow"},
                 {},
                 Action::kOther,
                 Arn("thing", kThing),
                 kNoAllow,
                 nullptr,
                 "iot:DescribeJobExecution"},
        EvalCase{"ShadowPolicyDoesNotAllowPublish",
                 {"shadow"},
                 {},
                 Action::kPublish,
                 Arn("thing", kThing),
                 kNoAllow}),
    [](const auto& param_info) { return param_info.param.name; });

TEST(PolicyEvaluateReasonTest, NamesPolicyAndStatement) {
    const ClientIdentity identity = ModuleIdentity();
    const auto effective = Named({"staging", "deny-admin"});
    const std::string admin = Arn("topic", kThing + "/admin/x");
    const Decision deny = Evaluate(effective, AuthzRequest{Action::kPublish, {}, admin, &identity});
    EXPECT_EQ(deny.reason, "explicit deny by policy 'deny-admin' statement 0 (Sid \"NoAdmin\")");
    EXPECT_EQ(deny.policy_index, 1U);
    const std::string data = Arn("topic", kThing + "/data");
    const Decision allow = Evaluate(effective, AuthzRequest{Action::kPublish, {}, data, &identity});
    EXPECT_EQ(allow.reason, "allowed by policy 'staging' statement 1");
    const std::string other = Arn("topic", "x");
    const Decision none = Evaluate(effective, AuthzRequest{Action::kPublish, {}, other, &identity});
    EXPECT_EQ(none.reason, "no allow: no statement of 2 policies allows iot:Publish on " + other);
}

TEST(PolicyEvaluateTest, NullClientAndNullDocumentAreSafe) {
    std::vector<NamedPolicy> effective = {
        NamedPolicy{"empty", nullptr},
        NamedPolicy{"staging", MustParse(Documents().at("staging"))}};
    const std::string resource = Arn("client", kThing);
    const Decision decision =
        Evaluate(effective, AuthzRequest{Action::kConnect, {}, resource, nullptr});
    EXPECT_FALSE(decision.allowed);
    EXPECT_EQ(decision.basis, Decision::Basis::kNoAllow);
}

TEST(EffectivePoliciesTest, UnionKeepsEachNameOnce) {
    const auto doc = MustParse(kAppendixCPolicy);
    const std::vector<NamedPolicy> cert = {{"a", doc}, {"b", doc}};
    const std::vector<NamedPolicy> groups = {{"b", doc}, {"c", doc}, {"a", doc}};
    const auto effective = EffectivePolicies(cert, groups);
    ASSERT_EQ(effective.size(), 3U);
    EXPECT_EQ(effective[0].name, "a");
    EXPECT_EQ(effective[1].name, "b");
    EXPECT_EQ(effective[2].name, "c");
}

struct ActionCase {
    std::string text;
    Action action;
};

void PrintTo(const ActionCase& c, std::ostream* os) { *os << c.text; }

class ActionNameTest : public ::testing::TestWithParam<ActionCase> {};

TEST_P(ActionNameTest, ParsesCaseInsensitively) {
    EXPECT_EQ(ParseAction(GetParam().text), GetParam().action);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ActionNameTest,
    ::testing::Values(ActionCase{"iot:Connect", Action::kConnect},
                      ActionCase{"IOT:PUBLISH", Action::kPublish},
                      ActionCase{"iot:retainpublish", Action::kRetainPublish},
                      ActionCase{"iot:Subscribe", Action::kSubscribe},
                      ActionCase{"iot:Receive", Action::kReceive},
                      ActionCase{"iot:GetRetainedMessage", Action::kGetRetainedMessage},
                      ActionCase{"iot:ListRetainedMessages", Action::kListRetainedMessages},
                      ActionCase{"iot:UpdateThingShadow", Action::kOther},
                      ActionCase{"Publish", Action::kOther}, ActionCase{"", Action::kOther}));

TEST(ResourceArnTest, BuildsIotArns) {
    EXPECT_EQ(ClientArn("eu-west-1", "111122223333", "dev+1"),
              "arn:aws:iot:eu-west-1:111122223333:client/dev+1");
    EXPECT_EQ(TopicArn("eu-west-1", "111122223333", "$aws/things/t/shadow/update"),
              "arn:aws:iot:eu-west-1:111122223333:topic/$aws/things/t/shadow/update");
    EXPECT_EQ(TopicFilterArn("eu-west-1", "111122223333", "a/+/#"),
              "arn:aws:iot:eu-west-1:111122223333:topicfilter/a/+/#");
    EXPECT_EQ(ActionName(Action::kRetainPublish), "iot:RetainPublish");
    EXPECT_EQ(ActionName(Action::kOther), "");
}

}  // namespace
}  // namespace sim::account
