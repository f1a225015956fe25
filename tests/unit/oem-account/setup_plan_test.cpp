// SPDX-License-Identifier: Apache-2.0
// The OEM account set-up documents: option checks (a table, invalid inputs included), the device
// policy against the real policy evaluator, the JITP template against the real evaluator.

#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "sim/account/policy.hpp"
#include "sim/account/template.hpp"
#include "sim/oem_account/setup_plan.hpp"

namespace sim::oem_account {
namespace {

constexpr const char* kAccount = "123456789012";
constexpr const char* kThing = "4a1b2c3d4e5f60718293a4b5c6d7e8f9a0";

SetupOptions ValidOptions() {
    SetupOptions options;
    options.account_id = kAccount;
    return options;
}

struct OptionsCase {
    const char* name;
    void (*mutate)(SetupOptions&);
    const char* error_field;  // nullptr: valid
};

void PrintTo(const OptionsCase& c, std::ostream* os) { *os << c.name; }

class ValidateSetupOptionsTest : public ::testing::TestWithParam<OptionsCase> {};

TEST_P(ValidateSetupOptionsTest, AcceptsOrNamesTheField) {
    SetupOptions options = ValidOptions();
    GetParam().mutate(options);
    const auto status = ValidateSetupOptions(options);
    if (GetParam().error_field == nullptr) {
        EXPECT_TRUE(status.has_value()) << status.error().message;
    } else {
        ASSERT_FALSE(status.has_value());
        EXPECT_EQ(status.error().code, sim::ErrorCode::kInvalidArgument);
        EXPECT_EQ(status.error().message.rfind(GetParam().error_field, 0), 0U)
            << status.error().message;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ValidateSetupOptionsTest,
    ::testing::Values(
        OptionsCase{"Defaults", [](SetupOptions&) {}, nullptr},
        OptionsCase{"TemplateName36", [](SetupOptions& o) { o.template_name = std::string(36, 'a'); },
                    nullptr},
        OptionsCase{"PolicyNamePunctuation", [](SetupOptions& o) { o.policy_name = "a.b,c-d_e+f=g@h"; },
                    nullptr},
        OptionsCase{"AccountIdShort", [](SetupOptions& o) { o.account_id = "12345"; }, "account_id"},
        OptionsCase{"AccountIdLetters", [](SetupOptions& o) { o.account_id = "12345678901a"; },
                    "account_id"},
        OptionsCase{"AccountIdEmpty", [](SetupOptions& o) { o.account_id.clear(); }, "account_id"},
        OptionsCase{"RegionEmpty", [](SetupOptions& o) { o.region.clear(); }, "region"},
        OptionsCase{"RegionSlash", [](SetupOptions& o) { o.region = "us/east"; }, "region"},
        OptionsCase{"TemplateName37", [](SetupOptions& o) { o.template_name = std::string(37, 'a'); },
                    "template_name"},
        OptionsCase{"TemplateNameSpace", [](SetupOptions& o) { o.template_name = "my template"; },
                    "template_name"},
        OptionsCase{"TemplateNameEmpty", [](SetupOptions& o) { o.template_name.clear(); },
                    "template_name"},
        OptionsCase{"PolicyNameSpace", [](SetupOptions& o) { o.policy_name = "my policy"; },
                    "policy_name"},
        OptionsCase{"PolicyNameTooLong", [](SetupOptions& o) { o.policy_name = std::string(129, 'p'); },
                    "policy_name"},
        OptionsCase{"RoleNameSlash", [](SetupOptions& o) { o.role_name = "a/b"; }, "role_name"}),
    [](const ::testing::TestParamInfo<OptionsCase>& param_info) {
        return std::string(param_info.param.name);
    });

// ---- The device policy, evaluated for a module connected as its ThingName --------------------

struct PolicyCase {
    const char* name;
    account::Action action;
    std::string resource;
    std::string client_id;
    bool allowed;
};

void PrintTo(const PolicyCase& c, std::ostream* os) { *os << c.name; }

class DevicePolicyTest : public ::testing::TestWithParam<PolicyCase> {};

TEST_P(DevicePolicyTest, AllowsOnlyTheModulesOwnClientIdAndTopics) {
    const auto options = ValidOptions();
    auto document = account::ParsePolicyDocument(DevicePolicyDocument(options));
    ASSERT_TRUE(document.has_value()) << document.error().message;
    const std::vector<account::NamedPolicy> policies = {
        {options.policy_name, std::make_shared<const account::PolicyDocument>(*document)}};
    account::ClientIdentity client;
    client.client_id = GetParam().client_id;
    client.thing = account::ThingContext{kThing, "", {}, true};
    account::AuthzRequest request;
    request.action = GetParam().action;
    request.resource = GetParam().resource;
    request.client = &client;
    EXPECT_EQ(account::Evaluate(policies, request).allowed, GetParam().allowed);
}

std::string Arn(const std::string& resource) {
    return std::string("arn:aws:iot:us-east-1:") + kAccount + ":" + resource;
}

INSTANTIATE_TEST_SUITE_P(
    Table, DevicePolicyTest,
    ::testing::Values(
        PolicyCase{"ConnectAsThingName", account::Action::kConnect,
                   Arn(std::string("client/") + kThing), kThing, true},
        PolicyCase{"ConnectAsOtherClientId", account::Action::kConnect, Arn("client/other"),
                   "other", false},
        PolicyCase{"PublishUnderThingName", account::Action::kPublish,
                   Arn(std::string("topic/") + kThing + "/onboarded"), kThing, true},
        PolicyCase{"PublishUnderOtherThing", account::Action::kPublish,
                   Arn("topic/4ffffffffffffffffffffffffffffffff0/onboarded"), kThing, false},
        PolicyCase{"PublishTopLevel", account::Action::kPublish, Arn("topic/onboarded"), kThing,
                   false},
        PolicyCase{"SubscribeJobs", account::Action::kSubscribe,
                   Arn(std::string("topicfilter/$aws/things/") + kThing + "/jobs/notify-next"),
                   kThing, true},
        PolicyCase{"ReceiveJobs", account::Action::kReceive,
                   Arn(std::string("topic/$aws/things/") + kThing + "/jobs/notify-next"), kThing,
                   true},
        PolicyCase{"SubscribeOtherThingsJobs", account::Action::kSubscribe,
                   Arn("topicfilter/$aws/things/other/jobs/notify-next"), kThing, false}),
    [](const ::testing::TestParamInfo<PolicyCase>& param_info) {
        return std::string(param_info.param.name);
    });

// ---- The JITP template -----------------------------------------------------------------------

TEST(JitpTemplateTest, ThingNamedByCommonNameCertificateActivePolicyAttached) {
    const auto options = ValidOptions();
    const std::string body = JitpTemplateBody(options);
    ASSERT_TRUE(account::ValidateTemplateBody(body).has_value());
    auto plan = account::EvaluateTemplate(
        body, {{"AWS::IoT::Certificate::CommonName", kThing},
               {"AWS::IoT::Certificate::Id", std::string(64, 'c')}});
    ASSERT_TRUE(plan.has_value()) << plan.error().message;
    ASSERT_EQ(plan->things.size(), 1U);
    EXPECT_EQ(plan->things[0].thing_name, kThing);
    ASSERT_EQ(plan->certificates.size(), 1U);
    EXPECT_EQ(plan->certificates[0].certificate_id, std::string(64, 'c'));
    EXPECT_EQ(plan->certificates[0].status, account::CertificateStatus::kActive);
    ASSERT_EQ(plan->policies.size(), 1U);
    EXPECT_EQ(plan->policies[0].policy_name, options.policy_name);
}

TEST(JitpTemplateTest, WithoutTheCommonNameParameterEvaluationFails) {
    auto plan = account::EvaluateTemplate(JitpTemplateBody(ValidOptions()),
                                          {{"AWS::IoT::Certificate::Id", std::string(64, 'c')}});
    EXPECT_FALSE(plan.has_value());
}

struct JsonCase {
    const char* name;
    const char* a;
    const char* b;
    bool same;
};

void PrintTo(const JsonCase& c, std::ostream* os) { *os << c.name; }

class SameJsonTest : public ::testing::TestWithParam<JsonCase> {};

TEST_P(SameJsonTest, ComparesParsedValues) {
    EXPECT_EQ(SameJson(GetParam().a, GetParam().b), GetParam().same);
}

INSTANTIATE_TEST_SUITE_P(Table, SameJsonTest,
                         ::testing::Values(JsonCase{"ReorderedMembers", R"({"a":1,"b":2})",
                                                    R"({ "b" : 2, "a" : 1 })", true},
                                           JsonCase{"OtherValue", R"({"a":1})", R"({"a":2})", false},
                                           JsonCase{"NotJson", "not json", "not json", false},
                                           JsonCase{"Empty", "", "{}", false}));

TEST(ProvisioningRoleArnTest, NamesTheAccountAndRole) {
    EXPECT_EQ(ProvisioningRoleArn(ValidOptions()),
              "arn:aws:iam::123456789012:role/ExpressLinkProvisioningRole");
}

}  // namespace
}  // namespace sim::oem_account
