// SPDX-License-Identifier: Apache-2.0
// ParsePolicyDocument: which documents CreatePolicy accepts and how it names what is wrong.
#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "sim/account/policy.hpp"

namespace sim::account {
namespace {

struct ValidCase {
    std::string name;
    std::string json;
    std::size_t statements;
    std::string version;
    PolicyEffect first_effect;
};

void PrintTo(const ValidCase& c, std::ostream* os) { *os << c.name; }

class PolicyParseValidTest : public ::testing::TestWithParam<ValidCase> {};

TEST_P(PolicyParseValidTest, AcceptsDocument) {
    const ValidCase& c = GetParam();
    auto parsed = ParsePolicyDocument(c.json);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed->statements.size(), c.statements);
    EXPECT_EQ(parsed->version, c.version);
    EXPECT_EQ(parsed->statements.at(0).effect, c.first_effect);
}

INSTANTIATE_TEST_SUITE_P(
    Documents, PolicyParseValidTest,
    ::testing::Values(
        ValidCase{"AppendixCAllowAll",
                  R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*",
                      "Resource":"*"}]})",
                  1, "2012-10-17", PolicyEffect::kAllow},
        ValidCase{"SingleStatementObject",
                  R"({"Version":"2012-10-17","Statement":{"Effect":"Deny",
                      "Action":"iot:Publish","Resource":"*"}})",
                  1, "2012-10-17", PolicyEffect::kDeny},
        ValidCase{"Version2008",
                  R"({"Version":"2008-10-17","Statement":[{"Effect":"Allow",
                      "Action":["iot:Connect"],"Resource":["*"]}]})",
                  1, "2008-10-17", PolicyEffect::kAllow},
        ValidCase{"NoVersionDefaultsTo2008",
                  R"({"Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]})", 1,
                  "2008-10-17", PolicyEffect::kAllow},
        ValidCase{"NotActionNotResourceSidId",
                  R"({"Version":"2012-10-17","Id":"x","Statement":[{"Sid":"s1",
                      "Effect":"Deny","NotAction":"iot:Connect",
                      "NotResource":"arn:aws:iot:us-east-1:123456789012:topic/ok/*"},
                      {"Effect":"Allow","Action":"iot:*","Resource":"*"}]})",
                  2, "2012-10-17", PolicyEffect::kDeny},
        ValidCase{"ConditionsIncludingUnsupportedOperator",
                  R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
                      "Action":"iot:Connect","Resource":"*","Condition":{
                        "Bool":{"iot:Connection.Thing.IsAttached":["true"]},
                        "ForAllValues:StringEquals":{
                          "iot:Certificate.Subject.Organization.List":["A","B"]},
                        "NumericLessThan":{"aws:CurrentTime":5},
                        "StringLikeIfExists":{"iot:ClientId":"dev-*"}}}]})",
                  1, "2012-10-17", PolicyEffect::kAllow},
        ValidCase{"OtherServiceActionsAndDollarTopics",
                  R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
                      "Action":["greengrass:Discover","iot:UpdateThingShadow"],
                      "Resource":"arn:aws:iot:us-east-1:123456789012:topic/$aws/things/*"}]})",
                  1, "2012-10-17", PolicyEffect::kAllow},
        ValidCase{"WhitespaceDoesNotCountTowardsLimit",
                  std::string(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",)") +
                      std::string(5000, ' ') + R"("Action":"*","Resource":"*"}]})",
                  1, "2012-10-17", PolicyEffect::kAllow}),
    [](const auto& param_info) { return param_info.param.name; });

struct InvalidCase {
    std::string name;
    std::string json;
    std::string message_part;  ///< The one-line reason must name the element.
};

void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.name; }

class PolicyParseInvalidTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(PolicyParseInvalidTest, RejectsWithReason) {
    const InvalidCase& c = GetParam();
    auto parsed = ParsePolicyDocument(c.json);
    ASSERT_FALSE(parsed) << "accepted: " << c.json;
    EXPECT_EQ(parsed.error().code, sim::ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message.find(c.message_part), std::string::npos)
        << parsed.error().message;
    EXPECT_EQ(parsed.error().message.find('\n'), std::string::npos);
}

std::string LongDocument() {
    std::string resources;
    for (int i = 0; i < 60; ++i) {
        resources += (i ? "," : "") + std::string("\"arn:aws:iot:us-east-1:123456789012:topic/t") +
                     std::to_string(i) + "\"";
    }
    return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Publish",)"
           R"("Resource":[)" +
           resources + "]}]}";
}

INSTANTIATE_TEST_SUITE_P(
    Documents, PolicyParseInvalidTest,
    ::testing::Values(
        InvalidCase{"NotJson", "{\"Version\": ", "not valid JSON"},
        InvalidCase{"Empty", "", "not valid JSON"},
        InvalidCase{"NotAnObject", "[1,2]", "must be a JSON object"},
        InvalidCase{"TooLong", LongDocument(), "exceed the limit of 2048"},
        InvalidCase{"BadVersion",
                    R"({"Version":"2020-01-01","Statement":[{"Effect":"Allow","Action":"*",
                        "Resource":"*"}]})",
                    "Version"},
        InvalidCase{"MissingStatement", R"({"Version":"2012-10-17"})", "Statement: missing"},
        InvalidCase{"EmptyStatement", R"({"Version":"2012-10-17","Statement":[]})",
                    "Statement: must not be empty"},
        InvalidCase{"StatementNotObject", R"({"Version":"2012-10-17","Statement":["x"]})",
                    "Statement[0]: must be an object"},
        InvalidCase{"MissingEffect",
                    R"({"Version":"2012-10-17","Statement":[{"Action":"*","Resource":"*"}]})",
                    "Statement[0].Effect: missing"},
        InvalidCase{"BadEffect",
                    R"({"Version":"2012-10-17","Statement":[{"Effect":"Permit","Action":"*",
                        "Resource":"*"}]})",
                    "Statement[0].Effect: must be \"Allow\" or \"Deny\""},
        InvalidCase{"LowercaseEffect",
                    R"({"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":"*",
                        "Resource":"*"}]})",
                    "Statement[0].Effect"},
        InvalidCase{"ActionNotStringOrArray",
                    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":42,
                        "Resource":"*"}]})",
                    "Statement[0].Action: must be a string or an array of strings"},
        InvalidCase{"ActionArrayWithNumber",
                    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
                        "Action":["iot:Connect",7],"Resource":"*"}]})",
                    "Statement[0].Action[1]: must be a string"},
        InvalidCase{"ActionEmptyArray",
                    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[],
                        "Resource":"*"}]})",
                    "Statement[0].Action: must not be an empty array"},
        InvalidCase{"ActionWithoutService",
                    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
                        "Action":"Publish","Resource":"*"}]})",
                    "invalid action \"Publish\""},
        InvalidCase{"ActionAndNotAction",
                    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*",
                        "NotAction":"iot:Connect","Resource":"*"}]})",
                    "exactly one of Action and NotAction"},
        InvalidCase{"MissingResource",
                    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
                        "Action":"*"}]})",
                    "exactly one of Resource and NotResource"},
        InvalidCase{"ResourceNotArn",
                    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*",
                        "Resource":"topic/a"}]})",
                    "Statement[0].Resource: invalid resource \"topic/a\""},
        InvalidCase{"UnknownStatementElement",
                    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*",
                        "Resource":"*","Principal":"*"}]})",
                    "Statement[0].Principal: unknown policy element"},
        InvalidCase{"UnknownTopLevelElement", R"({"Version":"2012-10-17","Statements":[]})",
                    "Statements: unknown"},
        InvalidCase{"ConditionNotObject",
                    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*",
                        "Resource":"*","Condition":"x"}]})",
                    "Statement[0].Condition: must be an object"},
        InvalidCase{"ConditionValueObject",
                    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*",
                        "Resource":"*","Condition":{"StringEquals":{"iot:ClientId":{}}}}]})",
                    "Statement[0].Condition.StringEquals.iot:ClientId"},
        InvalidCase{"SidNotString",
                    R"({"Version":"2012-10-17","Statement":[{"Sid":1,"Effect":"Allow",
                        "Action":"*","Resource":"*"}]})",
                    "Statement[0].Sid"},
        InvalidCase{"SecondStatementBroken",
                    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*",
                        "Resource":"*"},{"Effect":"Deny","Action":"*"}]})",
                    "Statement[1]"}),
    [](const auto& param_info) { return param_info.param.name; });

struct SizeCase {
    std::string name;
    std::size_t non_whitespace;
    std::size_t whitespace;
    bool ok;
};

void PrintTo(const SizeCase& c, std::ostream* os) { *os << c.name; }

class PolicySizeTest : public ::testing::TestWithParam<SizeCase> {};

TEST_P(PolicySizeTest, CountsCharactersExcludingWhitespace) {
    const SizeCase& c = GetParam();
    std::string text(c.non_whitespace, 'x');
    text.insert(text.size() / 2, std::string(c.whitespace, ' '));
    text.insert(0, std::string(c.whitespace / 2, '\n'));
    EXPECT_EQ(static_cast<bool>(ValidatePolicyDocumentSize(text)), c.ok);
}

INSTANTIATE_TEST_SUITE_P(Limits, PolicySizeTest,
                         ::testing::Values(SizeCase{"Empty", 0, 0, true},
                                           SizeCase{"AtLimit", 2048, 0, true},
                                           SizeCase{"AtLimitWithWhitespace", 2048, 4000, true},
                                           SizeCase{"OverLimit", 2049, 0, false},
                                           SizeCase{"OverLimitWithWhitespace", 2049, 10, false}),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace sim::account
