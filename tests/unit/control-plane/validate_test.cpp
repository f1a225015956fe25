// SPDX-License-Identifier: Apache-2.0
// ValidateRequest: request members checked against the AWS IoT service model's shapes (types,
// required members, lengths, patterns, enums, ranges, list and map sizes). Pure: a table of
// valid and invalid requests.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sim/control_plane/operations.hpp"
#include "sim/control_plane/validate.hpp"

namespace sim::controlplane {
namespace {

using nlohmann::json;

struct ValidateCase {
    std::string name;
    std::string operation;
    std::vector<std::pair<std::string, std::string>> labels;
    QueryParams query;
    json body;
    std::string expected;  // "" = valid; else a substring of the message
    int nested_depth = 0;  // > 0: attributes.a is an object nested this deep (built in the test)
};

// {"a": {"a": {... `depth` levels ... "leaf"}}}
json Nested(int depth) {
    json inner = "leaf";
    for (int i = 0; i < depth; ++i) {
        json outer = json::object();
        outer["a"] = std::move(inner);  // moved, never copied: copying JSON recurses
        inner = std::move(outer);
    }
    return inner;
}

class ValidateTest : public ::testing::TestWithParam<ValidateCase> {};

TEST_P(ValidateTest, ChecksMembersAgainstTheModel) {
    const auto& c = GetParam();
    const auto operation = FindOperation(c.operation);
    ASSERT_TRUE(operation.has_value()) << c.operation;
    json body = c.body;
    if (c.nested_depth > 0) {
        body["attributePayload"]["attributes"]["a"] = Nested(c.nested_depth);
    }
    const auto result = ValidateRequest(*operation, {c.labels, c.query, body});
    if (c.expected.empty()) {
        EXPECT_FALSE(result.has_value()) << *result;
        return;
    }
    ASSERT_TRUE(result.has_value());
    EXPECT_NE(result->find(c.expected), std::string::npos) << *result;
    EXPECT_EQ(result->find('\n'), std::string::npos) << "one line";
}

const std::vector<std::pair<std::string, std::string>> kThing{{"thingName", "t1"}};

INSTANTIATE_TEST_SUITE_P(
    Requests, ValidateTest,
    ::testing::Values(
        ValidateCase{"CreateThingValid", "CreateThing", kThing, {},
                     {{"attributePayload", {{"attributes", {{"model", "x"}}}}}}, ""},
        ValidateCase{"UnknownMembersIgnored", "CreateThing", kThing, {}, {{"surplus", 1}}, ""},
        ValidateCase{"ThingNamePattern", "CreateThing", {{"thingName", "a b"}}, {}, json::object(),
                     "1 validation error detected: Value 'a b' at 'thingName' failed to satisfy "
                     "constraint: Member must satisfy regular expression pattern: "
                     "[a-zA-Z0-9:_-]+"},
        ValidateCase{"ThingNameTooLong", "CreateThing", {{"thingName", std::string(129, 't')}}, {},
                     json::object(), "Member must have length less than or equal to 128"},
        ValidateCase{"AttributeValueNumber", "CreateThing", kThing, {},
                     {{"attributePayload", {{"attributes", {{"a", 1}}}}}},
                     "Value '1' at 'attributePayload.attributes.a' failed to satisfy constraint: "
                     "Member must be a string"},
        ValidateCase{"AttributeValueDeeplyNested", "UpdateThing", kThing, {}, json::object(),
                     "Value '(an object)' at 'attributePayload.attributes.a'", 60'000},
        ValidateCase{"AttributeValueTooLong", "CreateThing", kThing, {},
                     {{"attributePayload", {{"attributes", {{"a", std::string(801, 'v')}}}}}},
                     "Member must have length less than or equal to 800"},
        ValidateCase{"AttributeNamePattern", "CreateThing", kThing, {},
                     {{"attributePayload", {{"attributes", {{"a b", "v"}}}}}},
                     "at 'attributePayload.attributes.key'"},
        ValidateCase{"AttributesNotAMap", "CreateThing", kThing, {},
                     {{"attributePayload", {{"attributes", json::array({"a"})}}}},
                     "Member must be a map"},
        ValidateCase{"MergeNotBoolean", "UpdateThing", kThing, {},
                     {{"attributePayload", {{"merge", "yes"}}}}, "Member must be a boolean"},
        ValidateCase{"ExpectedVersionNotInteger", "UpdateThing", kThing, {},
                     {{"expectedVersion", "3"}}, "Member must be an integer"},
        ValidateCase{"PolicyDocumentRequired", "CreatePolicy", {{"policyName", "p"}}, {},
                     json::object(),
                     "Value 'null' at 'policyDocument' failed to satisfy constraint: Member must "
                     "not be null"},
        ValidateCase{"PolicyNamePattern", "CreatePolicy", {{"policyName", "p*"}}, {},
                     {{"policyDocument", "{}"}}, "at 'policyName'"},
        ValidateCase{"StatusEnum", "UpdateCertificate", {{"certificateId", std::string(64, 'a')}},
                     {{"newStatus", "ENABLED"}}, json::object(),
                     "Member must satisfy enum value set: [ACTIVE, INACTIVE, REVOKED, "
                     "PENDING_TRANSFER, REGISTER_INACTIVE, PENDING_ACTIVATION]"},
        ValidateCase{"StatusRequired", "UpdateCertificate",
                     {{"certificateId", std::string(64, 'a')}}, {}, json::object(),
                     "at 'newStatus' failed to satisfy constraint: Member must not be null"},
        ValidateCase{"StatusValid", "UpdateCertificate", {{"certificateId", std::string(64, 'a')}},
                     {{"newStatus", "INACTIVE"}}, json::object(), ""},
        ValidateCase{"CertificateIdLength", "DescribeCertificate", {{"certificateId", "abc"}}, {},
                     json::object(), "Member must have length greater than or equal to 64"},
        ValidateCase{"MaxResultsZero", "ListThings", {}, {{"maxResults", "0"}}, json::object(),
                     "Member must have value greater than or equal to 1"},
        ValidateCase{"MaxResultsTooLarge", "ListThings", {}, {{"maxResults", "251"}},
                     json::object(), "Member must have value less than or equal to 250"},
        ValidateCase{"MaxResultsText", "ListThings", {}, {{"maxResults", "ten"}}, json::object(),
                     "Value 'ten' at 'maxResults' failed to satisfy constraint: Member must be an "
                     "integer"},
        ValidateCase{"QueryBoolean", "CreateKeysAndCertificate", {}, {{"setAsActive", "yes"}},
                     json::object(), "Member must be a boolean"},
        ValidateCase{"ListItems", "CreateThingType", {{"thingTypeName", "tt"}}, {},
                     {{"thingTypeProperties", {{"searchableAttributes", {"ok", "not ok"}}}}},
                     "at 'thingTypeProperties.searchableAttributes.2.member'"},
        ValidateCase{"NestedStructureType", "CreateThingType", {{"thingTypeName", "tt"}}, {},
                     {{"thingTypeProperties", "x"}}, "Member must be a structure"},
        ValidateCase{"TwoErrors", "CreateThing", {{"thingName", "a b"}}, {},
                     {{"thingTypeName", 5}}, "2 validation errors detected: "},
        ValidateCase{"NullMemberIsAbsent", "CreateThing", kThing, {},
                     {{"thingTypeName", nullptr}}, ""}),
    [](const auto& test_case) { return test_case.param.name; });

TEST(ValidateTest, EveryPatternOfTheModelCompiles) {
    // A std::regex that does not compile throws on first use; every operation is checked once
    // with an empty request, which builds them all.
    for (const auto& name : KnownOperations()) {
        const auto operation = FindOperation(name);
        ASSERT_TRUE(operation.has_value());
        const QueryParams query;
        const json body = json::object();
        EXPECT_NO_THROW((void)ValidateRequest(*operation, {{}, query, body})) << name;
    }
}

}  // namespace
}  // namespace sim::controlplane
