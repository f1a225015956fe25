// SPDX-License-Identifier: Apache-2.0
// The provisioning-template evaluator: each intrinsic function, parameters and defaults,
// resource properties, OverrideSettings, DeviceConfiguration, and the invalid inputs.

#include "sim/account/template.hpp"

#include <map>
#include <optional>
#include <ostream>
#include <string>

#include "account_fixture.hpp"
#include <gtest/gtest.h>

namespace sim::account {
namespace {

using Params = std::map<std::string, std::string>;

struct EvalCase {
    std::string name;
    std::string body;
    Params parameters;
    std::optional<std::string> thing_name;  // expected ThingName; nullopt: expect an error
    std::string error_substring;            // part of the expected error message
};

class EvaluateTemplateTest : public ::testing::TestWithParam<EvalCase> {};

TEST_P(EvaluateTemplateTest, ResolvesThingNameOrFails) {
    const auto& c = GetParam();
    const auto plan = EvaluateTemplate(c.body, c.parameters);
    if (c.thing_name) {
        ASSERT_TRUE(plan.has_value()) << plan.error().message;
        ASSERT_EQ(plan->things.size(), 1U);
        EXPECT_EQ(plan->things[0].thing_name, *c.thing_name);
    } else {
        ASSERT_FALSE(plan.has_value());
        EXPECT_EQ(plan.error().type, error_type::kInvalidRequest);
        EXPECT_NE(plan.error().message.find(c.error_substring), std::string::npos)
            << plan.error().message;
    }
}

std::string ThingTemplate(const std::string& parameters, const std::string& thing_name_expr,
                          const std::string& extra = "") {
    return R"({"Parameters":{)" + parameters +
           R"(},"Resources":{"thing":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":)" +
           thing_name_expr + "}}}" + extra + "}";
}

constexpr const char* kP = R"("Name":{"Type":"String"})";
constexpr const char* kMappings =
    R"(,"Mappings":{"Region":{"eu":{"Prefix":"EU"},"us":{"Prefix":"US"}}})";

INSTANTIATE_TEST_SUITE_P(
    Table, EvaluateTemplateTest,
    ::testing::Values(
        EvalCase{"LiteralName", ThingTemplate("", R"("fixed")"), {}, "fixed", ""},
        EvalCase{
            "RefGiven", ThingTemplate(kP, R"({"Ref":"Name"})"), {{"Name", "dev1"}}, "dev1", ""},
        EvalCase{"RefDefault",
                 ThingTemplate(R"("Name":{"Type":"String","Default":"dflt"})", R"({"Ref":"Name"})"),
                 {},
                 "dflt",
                 ""},
        EvalCase{"GivenBeatsDefault",
                 ThingTemplate(R"("Name":{"Type":"String","Default":"dflt"})", R"({"Ref":"Name"})"),
                 {{"Name", "given"}},
                 "given",
                 ""},
        EvalCase{"MissingParameterFails",
                 ThingTemplate(kP, R"({"Ref":"Name"})"),
                 {},
                 {},
                 "missing parameter: Name"},
        EvalCase{"RefToUnknownFails",
                 ThingTemplate("", R"({"Ref":"Nope"})"),
                 {},
                 {},
                 "Ref to unknown parameter Nope"},
        EvalCase{"RefNotStringFails",
                 ThingTemplate("", R"({"Ref":3})"),
                 {},
                 {},
                 "Ref takes a parameter name"},
        EvalCase{"Join",
                 ThingTemplate(kP, R"({"Fn::Join":["-",["a",{"Ref":"Name"},"c"]]})"),
                 {{"Name", "b"}},
                 "a-b-c",
                 ""},
        EvalCase{"JoinWrongArityFails",
                 ThingTemplate("", R"({"Fn::Join":["-"]})"),
                 {},
                 {},
                 "Fn::Join takes"},
        EvalCase{"JoinNonStringFails",
                 ThingTemplate("", R"({"Fn::Join":["-",["a",1]]})"),
                 {},
                 {},
                 "is not a string"},
        EvalCase{"SelectSplit",
                 ThingTemplate(kP, R"({"Fn::Select":[1,{"Fn::Split":[".",{"Ref":"Name"}]}]})"),
                 {{"Name", "x.y.z"}},
                 "y",
                 ""},
        EvalCase{"SelectStringIndex",
                 ThingTemplate("", R"({"Fn::Select":["0",["p","q"]]})"),
                 {},
                 "p",
                 ""},
        EvalCase{"SelectOutOfRangeFails",
                 ThingTemplate("", R"({"Fn::Select":[5,["p"]]})"),
                 {},
                 {},
                 "out of range"},
        EvalCase{"SelectNegativeFails",
                 ThingTemplate("", R"({"Fn::Select":[-1,["p"]]})"),
                 {},
                 {},
                 "non-negative integer"},
        EvalCase{"SplitEmptyDelimiterFails",
                 ThingTemplate("", R"({"Fn::Select":[0,{"Fn::Split":["","ab"]}]})"),
                 {},
                 {},
                 "Fn::Split takes"},
        EvalCase{"SubParameter",
                 ThingTemplate(kP, R"({"Fn::Sub":"dev-${Name}-x"})"),
                 {{"Name", "7"}},
                 "dev-7-x",
                 ""},
        EvalCase{"SubVariables",
                 ThingTemplate("", R"({"Fn::Sub":["${A}_${B}",{"A":"one","B":"two"}]})"),
                 {},
                 "one_two",
                 ""},
        EvalCase{"SubEscape", ThingTemplate("", R"({"Fn::Sub":"a${!B}"})"), {}, "a${B}", ""},
        EvalCase{"SubUnknownFails",
                 ThingTemplate("", R"({"Fn::Sub":"${Zed}"})"),
                 {},
                 {},
                 "unknown variable ${Zed}"},
        EvalCase{"SubUnterminatedFails",
                 ThingTemplate("", R"({"Fn::Sub":"${Zed"})"),
                 {},
                 {},
                 "unterminated"},
        EvalCase{
            "FindInMap",
            ThingTemplate(
                R"("R":{"Type":"String"})",
                R"({"Fn::Join":["",[{"Fn::FindInMap":["Region",{"Ref":"R"},"Prefix"]},"-1"]]})",
                kMappings),
            {{"R", "eu"}},
            "EU-1",
            ""},
        EvalCase{"FindInMapMissingKeyFails",
                 ThingTemplate(R"("R":{"Type":"String"})",
                               R"({"Fn::FindInMap":["Region",{"Ref":"R"},"Prefix"]})", kMappings),
                 {{"R", "ap"}},
                 {},
                 "has no key ap"},
        EvalCase{"FindInMapUnknownMapFails",
                 ThingTemplate("", R"({"Fn::FindInMap":["Nope","a","b"]})"),
                 {},
                 {},
                 "no mapping Nope"},
        EvalCase{"UnknownFunctionFails",
                 ThingTemplate("", R"({"Fn::If":["c","a","b"]})"),
                 {},
                 {},
                 "unsupported function Fn::If"},
        EvalCase{"ThingNameNotStringFails", ThingTemplate("", "42"), {}, {}, "expected a string"},
        EvalCase{"ThingNameMissingFails",
                 R"({"Resources":{"t":{"Type":"AWS::IoT::Thing","Properties":{}}}})",
                 {},
                 {},
                 "ThingName: required"},
        EvalCase{"NotJsonFails", "{nope", {}, {}, "not a JSON object"},
        EvalCase{"ArrayBodyFails", "[]", {}, {}, "not a JSON object"},
        EvalCase{"TooLongFails", std::string(10241, ' '), {}, {}, "longer than 10240"},
        EvalCase{"UnknownTypeFails",
                 R"({"Resources":{"t":{"Type":"AWS::IoT::JobTemplate"}}})",
                 {},
                 {},
                 "unsupported type"},
        EvalCase{"ParameterTypeNumberFails",
                 R"({"Parameters":{"N":{"Type":"Number"}},"Resources":{}})",
                 {},
                 {},
                 "only String"},
        EvalCase{
            "TwoThingsFail",
            R"({"Resources":{"a":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":"a"}},"b":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":"b"}}}})",
            {},
            {},
            "at most one"}),
    testing::CaseName{});

// ---- Resources: certificates, policies, overrides, device configuration ------------------

struct ResourceCase {
    std::string name;
    std::string resources;  // the Resources object's members
    bool ok;
    std::string error_substring;
};

class TemplateResourceTest : public ::testing::TestWithParam<ResourceCase> {};

TEST_P(TemplateResourceTest, AcceptsOrRefusesResource) {
    const auto& c = GetParam();
    const auto plan = EvaluateTemplate(R"({"Resources":{)" + c.resources + "}}", {});
    ASSERT_EQ(plan.has_value(), c.ok) << (plan ? "" : plan.error().message);
    if (!c.ok) {
        EXPECT_NE(plan.error().message.find(c.error_substring), std::string::npos)
            << plan.error().message;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, TemplateResourceTest,
    ::testing::Values(
        ResourceCase{
            "CertificateById",
            R"("c":{"Type":"AWS::IoT::Certificate","Properties":{"CertificateId":"x","Status":"Active"}})",
            true, ""},
        ResourceCase{"CertificateNoIdentifierFails",
                     R"("c":{"Type":"AWS::IoT::Certificate","Properties":{"Status":"ACTIVE"}})",
                     false, "exactly one of CertificateId"},
        ResourceCase{
            "CertificateTwoIdentifiersFails",
            R"("c":{"Type":"AWS::IoT::Certificate","Properties":{"CertificateId":"x","CertificatePem":"y"}})",
            false, "exactly one of CertificateId"},
        ResourceCase{
            "CertificateBadStatusFails",
            R"("c":{"Type":"AWS::IoT::Certificate","Properties":{"CertificateId":"x","Status":"REVOKED"}})",
            false, "expected ACTIVE or INACTIVE"},
        ResourceCase{
            "CaPemWithoutPemFails",
            R"("c":{"Type":"AWS::IoT::Certificate","Properties":{"CertificateId":"x","CACertificatePem":"y"}})",
            false, "only with CertificatePem"},
        ResourceCase{"PolicyByName",
                     R"("p":{"Type":"AWS::IoT::Policy","Properties":{"PolicyName":"P"}})", true,
                     ""},
        ResourceCase{
            "PolicyDocumentObject",
            R"("p":{"Type":"AWS::IoT::Policy","Properties":{"PolicyDocument":{"Statement":[]}}})",
            true, ""},
        ResourceCase{
            "PolicyBothFails",
            R"("p":{"Type":"AWS::IoT::Policy","Properties":{"PolicyName":"P","PolicyDocument":"{}"}})",
            false, "exactly one of PolicyName"},
        ResourceCase{"PolicyNeitherFails", R"("p":{"Type":"AWS::IoT::Policy","Properties":{}})",
                     false, "exactly one of PolicyName"},
        ResourceCase{
            "PolicyOverrideFails",
            R"("p":{"Type":"AWS::IoT::Policy","Properties":{"PolicyName":"P"},"OverrideSettings":{}})",
            false, "not supported for policies"},
        ResourceCase{
            "ThingOverrides",
            R"("t":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":"t"},"OverrideSettings":{"AttributePayload":"MERGE","ThingTypeName":"REPLACE","ThingGroups":"DO_NOTHING"}})",
            true, ""},
        ResourceCase{
            "ThingOverrideUnknownValueFails",
            R"("t":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":"t"},"OverrideSettings":{"AttributePayload":"SOMETIMES"}})",
            false, "expected DO_NOTHING"},
        ResourceCase{
            "ThingTypeMergeFails",
            R"("t":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":"t"},"OverrideSettings":{"ThingTypeName":"MERGE"}})",
            false, "MERGE is not allowed"},
        ResourceCase{
            "ThingOverrideUnknownKeyFails",
            R"("t":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":"t"},"OverrideSettings":{"Status":"FAIL"}})",
            false, "unsupported key Status"},
        ResourceCase{
            "AttributeNotStringFails",
            R"("t":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":"t","AttributePayload":{"a":1}}})",
            false, "AttributePayload.a: expected a string"},
        ResourceCase{
            "ThingGroupsNotListFails",
            R"("t":{"Type":"AWS::IoT::Thing","Properties":{"ThingName":"t","ThingGroups":"g"}})",
            false, "expected a list"}),
    testing::CaseName{});

TEST(EvaluateTemplateTest, FleetTemplateProducesFullPlan) {
    const std::string body = R"({
      "Parameters": {"SerialNumber": {"Type": "String"},
                     "AWS::IoT::Certificate::Id": {"Type": "String"}},
      "Resources": {
        "thing": {"Type": "AWS::IoT::Thing",
                  "Properties": {"ThingName": {"Fn::Join": ["", ["dev_", {"Ref": "SerialNumber"}]]},
                                 "AttributePayload": {"serial": {"Ref": "SerialNumber"}}},
                  "OverrideSettings": {"AttributePayload": "MERGE"}},
        "certificate": {"Type": "AWS::IoT::Certificate",
                        "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"},
                                       "Status": "ACTIVE"}},
        "policy": {"Type": "AWS::IoT::Policy",
                   "Properties": {"PolicyDocument": {"Version": "2012-10-17",
                     "Statement": [{"Effect": "Allow", "Action": "iot:Connect",
                                    "Resource": {"Fn::Sub": "client/${SerialNumber}"}}]}}}},
      "DeviceConfiguration": {"Fallback": "true", "Serial": {"Ref": "SerialNumber"}}
    })";
    const auto plan = EvaluateTemplate(
        body, {{"SerialNumber", "42"}, {"AWS::IoT::Certificate::Id", std::string(64, 'a')}});
    ASSERT_TRUE(plan.has_value()) << plan.error().message;
    ASSERT_EQ(plan->things.size(), 1U);
    EXPECT_EQ(plan->things[0].thing_name, "dev_42");
    EXPECT_EQ(plan->things[0].attributes, (Params{{"serial", "42"}}));
    EXPECT_EQ(plan->things[0].override_settings.at("AttributePayload"), OverrideAction::kMerge);
    ASSERT_EQ(plan->certificates.size(), 1U);
    EXPECT_EQ(plan->certificates[0].certificate_id, std::string(64, 'a'));
    EXPECT_EQ(plan->certificates[0].status, CertificateStatus::kActive);
    ASSERT_EQ(plan->policies.size(), 1U);
    EXPECT_NE(plan->policies[0].policy_document->find("client/42"), std::string::npos);
    EXPECT_EQ(plan->device_configuration, (Params{{"Fallback", "true"}, {"Serial", "42"}}));
}

TEST(EvaluateTemplateTest, DeviceConfigurationMustBeFlat) {
    const auto plan =
        EvaluateTemplate(R"({"Resources":{},"DeviceConfiguration":{"a":{"b":"c"}}})", {});
    ASSERT_FALSE(plan.has_value());
    EXPECT_NE(plan.error().message.find("DeviceConfiguration.a"), std::string::npos);
}

// ---- JITP parameters from the certificate subject ----------------------------------------

TEST(JitpParametersTest, TakesOnlyPresentSubjectFieldsPlusId) {
    const auto ca = testing::MakeCa("Maker Root");
    const auto leaf = testing::IssueLeaf(
        ca, testing::Dn({{"C", "US"}, {"O", "Acme"}, {"CN", "device-1"}, {"serialNumber", "SN9"}}));
    const auto parameters = JitpParameters(leaf);
    EXPECT_EQ(parameters, (Params{{"AWS::IoT::Certificate::Country", "US"},
                                  {"AWS::IoT::Certificate::Organization", "Acme"},
                                  {"AWS::IoT::Certificate::CommonName", "device-1"},
                                  {"AWS::IoT::Certificate::SerialNumber", "SN9"},
                                  {"AWS::IoT::Certificate::Id", leaf.certificate_id}}));
}

// ---- The project's JITP template body --------------------------------------------------

// Byte for byte the body the three former hand-written copies produced (setup_plan.cpp,
// bench_connect.cpp, the broker tests): keys sorted, compact.
TEST(JitpTemplateBodyTest, IsTheCompactSortedBodyTheHandWrittenCopiesProduced) {
    EXPECT_EQ(
        JitpTemplateBody(JitpTemplatePolicy::Named("ExpressLinkDevicePolicy")),
        R"({"Parameters":{"AWS::IoT::Certificate::CommonName":{"Type":"String"},)"
        R"("AWS::IoT::Certificate::Id":{"Type":"String"}},"Resources":{"certificate":)"
        R"({"Properties":{"CertificateId":{"Ref":"AWS::IoT::Certificate::Id"},"Status":"ACTIVE"},)"
        R"("Type":"AWS::IoT::Certificate"},"policy":{"Properties":{"PolicyName":)"
        R"("ExpressLinkDevicePolicy"},"Type":"AWS::IoT::Policy"},"thing":{"Properties":)"
        R"({"ThingName":{"Ref":"AWS::IoT::Certificate::CommonName"}},"Type":"AWS::IoT::Thing"}}})");
    EXPECT_TRUE(ValidateTemplateBody(JitpTemplateBody(JitpTemplatePolicy::FromDocument("{}"))));
}

struct JitpBodyCase {
    std::string name;
    JitpTemplatePolicy policy;
    Params parameters;
    std::optional<std::string> thing_name;  // nullopt: evaluation must fail
    std::string error_substring;
};

void PrintTo(const JitpBodyCase& c, std::ostream* os) { *os << c.name; }

class JitpTemplateBodyEvalTest : public ::testing::TestWithParam<JitpBodyCase> {};

TEST_P(JitpTemplateBodyEvalTest, EvaluatesWithJitpParametersOrFails) {
    const auto& c = GetParam();
    const auto plan = EvaluateTemplate(JitpTemplateBody(c.policy), c.parameters);
    if (!c.thing_name) {
        ASSERT_FALSE(plan.has_value());
        EXPECT_NE(plan.error().message.find(c.error_substring), std::string::npos)
            << plan.error().message;
        return;
    }
    ASSERT_TRUE(plan.has_value()) << plan.error().message;
    ASSERT_EQ(plan->things.size(), 1U);
    EXPECT_EQ(plan->things[0].thing_name, *c.thing_name);
    ASSERT_EQ(plan->certificates.size(), 1U);
    EXPECT_EQ(plan->certificates[0].certificate_id, c.parameters.at("AWS::IoT::Certificate::Id"));
    EXPECT_EQ(plan->certificates[0].status, CertificateStatus::kActive);
    ASSERT_EQ(plan->policies.size(), 1U);
    if (c.policy.kind == JitpTemplatePolicy::Kind::kPolicyName) {
        EXPECT_EQ(plan->policies[0].policy_name, c.policy.value);
        EXPECT_FALSE(plan->policies[0].policy_document.has_value());
    } else {
        EXPECT_EQ(plan->policies[0].policy_document, c.policy.value);
        EXPECT_FALSE(plan->policies[0].policy_name.has_value());
    }
}

// What JitpParameters gives for a module birth certificate (CN = ThingName).
Params ModuleParameters() {
    return {{"AWS::IoT::Certificate::CommonName", "0123456789abcdef"},
            {"AWS::IoT::Certificate::Id", std::string(64, 'a')}};
}

INSTANTIATE_TEST_SUITE_P(
    Table, JitpTemplateBodyEvalTest,
    ::testing::Values(JitpBodyCase{"NamedPolicy",
                                   JitpTemplatePolicy::Named("ExpressLinkDevicePolicy"),
                                   ModuleParameters(), "0123456789abcdef", ""},
                      JitpBodyCase{"PolicyDocument",
                                   JitpTemplatePolicy::FromDocument(
                                       R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",)"
                                       R"("Action":"iot:Connect","Resource":"*"}]})"),
                                   ModuleParameters(), "0123456789abcdef", ""},
                      // Quotes and backslashes in the name are escaped, not spliced into the JSON.
                      JitpBodyCase{"NameNeedingEscapes", JitpTemplatePolicy::Named("a\"b\\c"),
                                   ModuleParameters(), "0123456789abcdef", ""},
                      JitpBodyCase{"CertificateWithoutCommonName", JitpTemplatePolicy::Named("P"),
                                   Params{{"AWS::IoT::Certificate::Id", std::string(64, 'a')}},
                                   std::nullopt, "AWS::IoT::Certificate::CommonName"},
                      JitpBodyCase{"NoCertificateId", JitpTemplatePolicy::Named("P"),
                                   Params{{"AWS::IoT::Certificate::CommonName", "m"}}, std::nullopt,
                                   "AWS::IoT::Certificate::Id"}),
    [](const auto& test_case) { return test_case.param.name; });

}  // namespace
}  // namespace sim::account
