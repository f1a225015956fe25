// SPDX-License-Identifier: Apache-2.0
// `setup:` in world files, YAML values as JSON, and a world parsed from a node of another
// document (world_spec_yaml.hpp).
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "sim/world/world_spec.hpp"
#include "sim/world/world_spec_yaml.hpp"

namespace sim::world {
namespace {

using nlohmann::json;

constexpr const char* kWithSetup = R"(manufacturers:
  - name: acme
accounts:
  - name: staging
    kind: staging
  - name: oem-a
    kind: oem
    setup:
      - RegisterCACertificate:
          caCertificate: ${acme.caCertificate}
          certificateMode: SNI_ONLY
          setAsActive: true
          allowAutoRegistration: "true"
        save: {acmeCaId: $.certificateId, acme-arn: $.certificateArn}
      - UpdateCACertificate: {certificateId: "${acmeCaId}", registrationConfig: {templateName: T}}
      - ListThings:
      - CreatePolicy:
          policyName: P
          policyDocument: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "iot:*"}]}
)";

TEST(WorldSetupTest, ParsesOperationsArgumentsAndSavesInFileOrder) {
    const auto spec = ParseWorldSpec(kWithSetup, "w.yaml");
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_TRUE(spec->accounts[0].setup.empty());
    const auto& setup = spec->accounts[1].setup;
    ASSERT_EQ(setup.size(), 4U);

    EXPECT_EQ(setup[0].operation, "RegisterCACertificate");
    EXPECT_EQ(setup[0].line, 9);
    EXPECT_EQ(setup[0].arguments, json::parse(R"({"caCertificate": "${acme.caCertificate}",
        "certificateMode": "SNI_ONLY", "setAsActive": true, "allowAutoRegistration": "true"})"));
    ASSERT_EQ(setup[0].save.size(), 2U);
    EXPECT_EQ(setup[0].save[0],
              (std::pair<std::string, std::string>{"acmeCaId", "$.certificateId"}));
    EXPECT_EQ(setup[0].save[1],
              (std::pair<std::string, std::string>{"acme-arn", "$.certificateArn"}));

    EXPECT_EQ(setup[1].operation, "UpdateCACertificate");
    EXPECT_EQ(setup[1].line, 15);
    EXPECT_EQ(setup[1].arguments, json::parse(R"({"certificateId": "${acmeCaId}",
        "registrationConfig": {"templateName": "T"}})"));
    EXPECT_TRUE(setup[1].save.empty());

    EXPECT_EQ(setup[2].operation, "ListThings");
    EXPECT_EQ(setup[2].arguments, json::object());  // no arguments written

    EXPECT_EQ(setup[3].arguments["policyDocument"], json::parse(R"({"Version": "2012-10-17",
                              "Statement": [{"Effect": "Allow", "Action": "iot:*"}]})"));
}

struct BadSetupCase {
    std::string name;
    std::string setup;    // the text after "    setup:" in the only account
    std::string message;  // the whole expected error
};

class BadSetupTest : public ::testing::TestWithParam<BadSetupCase> {};

TEST_P(BadSetupTest, RefusesWithTheLineOfTheOffendingNode) {
    // Line 1: accounts:, 2: - name, 3: kind, 4: setup:, 5 onwards: the case's text.
    const std::string yaml = "accounts:\n  - name: a\n    kind: oem\n    setup:" + GetParam().setup;
    const auto spec = ParseWorldSpec(yaml, "w.yaml");
    ASSERT_FALSE(spec) << "accepted:\n" << yaml;
    EXPECT_EQ(spec.error().code, sim::ErrorCode::kInvalidArgument);
    EXPECT_EQ(spec.error().message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Refusals, BadSetupTest,
    ::testing::Values(
        BadSetupCase{"NotAList", " {CreateThing: {thingName: t}}\n",
                     "w.yaml:4: setup must be a list of operations (- Operation: {arguments})"},
        BadSetupCase{"ScalarNotAList", " CreateThing\n",
                     "w.yaml:4: setup must be a list of operations (- Operation: {arguments})"},
        BadSetupCase{"ItemNotAMap", "\n      - CreateThing\n",
                     "w.yaml:5: a setup call must be a mapping (- Operation: {arguments})"},
        BadSetupCase{"TwoOperationsInOneItem",
                     "\n      - CreateThing: {thingName: t}\n        DeleteThing: {thingName: t}\n",
                     "w.yaml:6: a setup call has two operations, 'CreateThing' and "
                     "'DeleteThing' (one per list item)"},
        BadSetupCase{"LowercaseOperation", "\n      - createThing: {thingName: t}\n",
                     "w.yaml:5: setup operation 'createThing' must be an AWS IoT action name "
                     "([A-Z][A-Za-z0-9]*)"},
        BadSetupCase{"OperationWithPunctuation", "\n      - Create-Thing: {thingName: t}\n",
                     "w.yaml:5: setup operation 'Create-Thing' must be an AWS IoT action name "
                     "([A-Z][A-Za-z0-9]*)"},
        BadSetupCase{"ArgumentsNotAMap", "\n      - CreateThing: [thingName, t]\n",
                     "w.yaml:5: arguments of CreateThing must be a mapping"},
        BadSetupCase{"ArgumentsScalar", "\n      - CreateThing:\n          t\n",
                     "w.yaml:6: arguments of CreateThing must be a mapping"},
        BadSetupCase{"OnlySave", "\n      - save: {x: $.a}\n",
                     "w.yaml:5: a setup call needs an operation (- Operation: {arguments})"},
        BadSetupCase{"SaveNotAMap", "\n      - CreateThing: {thingName: t}\n        save: [x]\n",
                     "w.yaml:6: save must be a mapping of NAME: JSONPATH"},
        BadSetupCase{
            "SaveNameWithDot",
            "\n      - CreateThing: {thingName: t}\n        save: {thing.arn: $.thingArn}\n",
            "w.yaml:6: save name 'thing.arn' must match [A-Za-z][A-Za-z0-9_-]*"},
        BadSetupCase{"SaveNameStartsWithDigit",
                     "\n      - CreateThing: {thingName: t}\n        save: {1arn: $.thingArn}\n",
                     "w.yaml:6: save name '1arn' must match [A-Za-z][A-Za-z0-9_-]*"},
        BadSetupCase{"SavePathNotJsonPath",
                     "\n      - CreateThing: {thingName: t}\n        save: {arn: thingArn}\n",
                     "w.yaml:6: save 'arn': 'thingArn' is not a JSONPath (it starts with $)"},
        BadSetupCase{"SavePathNotScalar",
                     "\n      - CreateThing: {thingName: t}\n        save: {arn: [$.a]}\n",
                     "w.yaml:6: save 'arn' must be a JSONPath such as $.certificateId"},
        BadSetupCase{"DuplicateSaveName",
                     "\n      - CreateThing: {thingName: t}\n"
                     "        save: {arn: $.a, arn: $.b}\n",
                     "w.yaml:6: duplicate save name 'arn'"}),
    [](const auto& test_case) { return test_case.param.name; });

struct JsonCase {
    std::string name;
    std::string yaml;      // the value of key v
    std::string expected;  // JSON text
};

class YamlToJsonTest : public ::testing::TestWithParam<JsonCase> {};

// The JSON kind, with signed and unsigned integers as one (json::parse reads 42 as unsigned).
std::string Kind(const json& value) {
    if (value.is_number_integer()) {
        return "integer";
    }
    return value.type_name();
}

TEST_P(YamlToJsonTest, ConvertsPlainScalarsByValueAndKeepsQuotedOnesAsText) {
    const YAML::Node doc = YAML::Load("v: " + GetParam().yaml);
    const json actual = YamlToJson(doc["v"]);
    const json expected = json::parse(GetParam().expected);
    EXPECT_EQ(actual, expected) << actual.dump() << " for " << GetParam().yaml;
    EXPECT_EQ(Kind(actual), Kind(expected)) << actual.dump();
}

INSTANTIATE_TEST_SUITE_P(
    Values, YamlToJsonTest,
    ::testing::Values(
        JsonCase{"PlainText", "SNI_ONLY", R"("SNI_ONLY")"}, JsonCase{"PlainTrue", "true", "true"},
        JsonCase{"PlainFalse", "false", "false"}, JsonCase{"CapitalTrue", "True", "true"},
        JsonCase{"QuotedTrue", "\"true\"", R"("true")"},
        JsonCase{"SingleQuotedFalse", "'false'", R"("false")"},
        JsonCase{"YesIsText", "yes", R"("yes")"},  // YAML 1.1's yes/no/on/off are not booleans
        JsonCase{"Integer", "42", "42"}, JsonCase{"Negative", "-7", "-7"},
        JsonCase{"PlusSign", "+7", "7"}, JsonCase{"Zero", "0", "0"},
        JsonCase{"QuotedInteger", "\"42\"", R"("42")"},
        JsonCase{"LeadingZeroIsText", "012345678901", R"("012345678901")"},
        JsonCase{"Uint64", "18446744073709551615", "18446744073709551615"},
        JsonCase{"TooLargeIsText", "99999999999999999999", R"("99999999999999999999")"},
        JsonCase{"Decimal", "2.5", "2.5"}, JsonCase{"Exponent", "1e3", "1000.0"},
        JsonCase{"LeadingDot", ".5", "0.5"}, JsonCase{"VersionIsText", "1.2.3", R"("1.2.3")"},
        JsonCase{"DateIsText", "2012-10-17", R"("2012-10-17")"},
        JsonCase{"InfinityIsText", ".inf", R"(".inf")"},
        JsonCase{"BareExponentIsText", "1e", R"("1e")"}, JsonCase{"Null", "null", "null"},
        JsonCase{"Tilde", "~", "null"}, JsonCase{"Empty", "", "null"},
        JsonCase{"QuotedNull", "'null'", R"("null")"},
        JsonCase{"ExplicitStrTag", "!!str 42", R"("42")"},
        JsonCase{"BlockScalar", "|\n  a\n  b\n", R"("a\nb\n")"},
        JsonCase{"Placeholder", "${acme.caCertificate}", R"("${acme.caCertificate}")"},
        JsonCase{"List", "[1, a, true, '2']", R"([1, "a", true, "2"])"},
        JsonCase{"NestedMap", "{a: {b: [x, {c: 1.5}]}, 'd': \"e\"}",
                 R"({"a": {"b": ["x", {"c": 1.5}]}, "d": "e"})"},
        JsonCase{"NumericKeyStaysAKey", "{1: one}", R"({"1": "one"})"}),
    [](const auto& test_case) { return test_case.param.name; });

TEST(WorldSpecNodeTest, ParsesAWorldInsideAnotherDocumentWithThatDocumentsLines) {
    const YAML::Node scenario = YAML::Load(R"(description: a story
world:
  manufacturers: [{name: acme}]
  accounts:
    - name: staging
      kind: staging
    - name: oem-b
      kind: oem
      setup:
        - CreateThing: {thingName: t}
steps: []
)");
    const auto spec = ParseWorldSpecNode(scenario["world"], "s.yaml");
    ASSERT_TRUE(spec) << spec.error().message;
    ASSERT_EQ(spec->accounts.size(), 2U);
    EXPECT_EQ(spec->accounts[1].line, 7);
    ASSERT_EQ(spec->accounts[1].setup.size(), 1U);
    EXPECT_EQ(spec->accounts[1].setup[0].line, 10);
}

struct NodeCase {
    std::string name;
    std::string document;
    std::string message;
};

class BadWorldNodeTest : public ::testing::TestWithParam<NodeCase> {};

TEST_P(BadWorldNodeTest, RefusesNamingTheLineInTheOuterDocument) {
    const YAML::Node document = YAML::Load(GetParam().document);
    const auto spec = ParseWorldSpecNode(document["world"], "s.yaml");
    ASSERT_FALSE(spec);
    EXPECT_EQ(spec.error().message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Refusals, BadWorldNodeTest,
    ::testing::Values(NodeCase{"NotAMap", "description: x\nworld: [a, b]\n",
                               "s.yaml:2: the world must be a mapping with 'accounts'"},
                      NodeCase{"UnknownKey",
                               "description: x\nworld:\n  accounts: [{name: a, kind: oem}]\n"
                               "  colour: blue\n",
                               "s.yaml:4: unknown key 'colour' in the world"},
                      NodeCase{
                          "BadSetupInside",
                          "description: x\nworld:\n  accounts:\n    - name: a\n      kind: oem\n"
                          "      setup:\n        - listThings: {}\n",
                          "s.yaml:7: setup operation 'listThings' must be an AWS IoT action name "
                          "([A-Z][A-Za-z0-9]*)"}),
    [](const auto& test_case) { return test_case.param.name; });

}  // namespace
}  // namespace sim::world
