// SPDX-License-Identifier: Apache-2.0
// AWS IoT operations by name: request members placed by the model's binding (path labels,
// query string, headers, JSON body, payload), string-typed members given as maps, the one-line
// errors, and agreement with the operations the router serves.
#include "sim/control_plane/operations.hpp"

#include <algorithm>
#include <ostream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sim/control_plane/router.hpp"

namespace sim::controlplane {
namespace {

using nlohmann::json;
using testing::HasSubstr;

constexpr std::string_view kCertArn = "arn:aws:iot:us-east-1:123456789012:cert/abc123";
constexpr std::string_view kEncodedCertArn =
    "arn%3Aaws%3Aiot%3Aus-east-1%3A123456789012%3Acert%2Fabc123";

struct Case {
    std::string name;
    std::string operation;
    json arguments;
    std::string method;
    std::string path;
    QueryParams query;
    HeaderList headers;
    json body;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class BuildOperationRequestTest : public testing::TestWithParam<Case> {};

TEST_P(BuildOperationRequestTest, PlacesEachMemberWhereTheModelBindsIt) {
    const Case& c = GetParam();
    auto request = BuildOperationRequest(c.operation, c.arguments);
    ASSERT_TRUE(request) << request.error().message;
    EXPECT_EQ(request->method, c.method);
    EXPECT_EQ(request->path, c.path);
    EXPECT_EQ(request->query, c.query);
    EXPECT_EQ(request->headers, c.headers);
    EXPECT_EQ(request->body, c.body) << request->body.dump();
}

const json kPolicy = {
    {"Version", "2012-10-17"},
    {"Statement",
     json::array({{{"Effect", "Allow"}, {"Action", "iot:Connect"}, {"Resource", "*"}}})}};

INSTANTIATE_TEST_SUITE_P(
    Operations, BuildOperationRequestTest,
    testing::Values(
        Case{
            "CreateThingLabelWithColon",
            "CreateThing",
            {{"thingName", "maker:device_1"}, {"attributePayload", {{"attributes", {{"a", "1"}}}}}},
            "POST",
            "/things/maker%3Adevice_1",
            {},
            {},
            {{"attributePayload", {{"attributes", {{"a", "1"}}}}}}},
        Case{"CreateThingWithoutBodyMembersSendsEmptyObject",
             "CreateThing",
             {{"thingName", "t"}},
             "POST",
             "/things/t",
             {},
             {},
             json::object()},
        Case{"DescribeThingLabelSlashIsOneSegment",
             "DescribeThing",
             {{"thingName", "a/b c"}},
             "GET",
             "/things/a%2Fb%20c",
             {},
             {},
             nullptr},
        Case{"NumberLabelIsText",
             "DescribeThing",
             {{"thingName", 123}},
             "GET",
             "/things/123",
             {},
             {},
             nullptr},
        Case{"UpdateCertificateStatusInQuery",
             "UpdateCertificate",
             {{"certificateId", "abc"}, {"newStatus", "REVOKED"}},
             "PUT",
             "/certificates/abc",
             {{"newStatus", "REVOKED"}},
             {},
             nullptr},
        Case{"RegisterCACertificateFlagsInQueryRestInBody",
             "RegisterCACertificate",
             {{"caCertificate", "PEM"},
              {"certificateMode", "SNI_ONLY"},
              {"allowAutoRegistration", false},
              {"setAsActive", true}},
             "POST",
             "/cacertificate",
             {{"setAsActive", "true"}, {"allowAutoRegistration", "false"}},
             {},
             {{"caCertificate", "PEM"}, {"certificateMode", "SNI_ONLY"}}},
        Case{"AttachThingPrincipalArnInHeader",
             "AttachThingPrincipal",
             {{"thingName", "T"}, {"principal", kCertArn}},
             "PUT",
             "/things/T/principals",
             {},
             {{"x-amzn-principal", std::string(kCertArn)}},
             nullptr},
        Case{"DetachThingPrincipalArnInHeader",
             "DetachThingPrincipal",
             {{"thingName", "T"}, {"principal", kCertArn}},
             "DELETE",
             "/things/T/principals",
             {},
             {{"x-amzn-principal", std::string(kCertArn)}},
             nullptr},
        Case{"ListPrincipalThingsHeaderAndQuery",
             "ListPrincipalThings",
             {{"principal", kCertArn}, {"maxResults", 10}},
             "GET",
             "/principals/things",
             {{"maxResults", "10"}},
             {{"x-amzn-principal", std::string(kCertArn)}},
             nullptr},
        Case{"ListThingsQueryInModelOrder",
             "ListThings",
             {{"usePrefixAttributeValue", true}, {"attributeName", "color"}, {"maxResults", 5}},
             "GET",
             "/things",
             {{"maxResults", "5"}, {"attributeName", "color"}, {"usePrefixAttributeValue", "true"}},
             {},
             nullptr},
        Case{"ListThingsNoArguments",
             "ListThings",
             json::object(),
             "GET",
             "/things",
             {},
             {},
             nullptr},
        Case{"NullArgumentsAreNoArguments",
             "DescribeEndpoint",
             nullptr,
             "GET",
             "/endpoint",
             {},
             {},
             nullptr},
        Case{"NullMemberIsAbsent",
             "DescribeEndpoint",
             {{"endpointType", nullptr}},
             "GET",
             "/endpoint",
             {},
             {},
             nullptr},
        Case{"DescribeEndpointType",
             "DescribeEndpoint",
             {{"endpointType", "iot:Data-ATS"}},
             "GET",
             "/endpoint",
             {{"endpointType", "iot:Data-ATS"}},
             {},
             nullptr},
        Case{"LocationNameDiffersFromMemberName",
             "DescribeCACertificate",
             {{"certificateId", "ca1"}},
             "GET",
             "/cacertificate/ca1",
             {},
             {},
             nullptr},
        Case{"AscendingOrderIsIsAscendingOrder",
             "ListCACertificates",
             {{"ascendingOrder", true}},
             "GET",
             "/cacertificates",
             {{"isAscendingOrder", "true"}},
             {},
             nullptr},
        Case{"DeleteCACertificate",
             "DeleteCACertificate",
             {{"certificateId", "ca1"}},
             "DELETE",
             "/cacertificate/ca1",
             {},
             {},
             nullptr},
        Case{"PolicyDocumentAsMapBecomesJsonText",
             "CreatePolicy",
             {{"policyName", "p"}, {"policyDocument", kPolicy}},
             "POST",
             "/policies/p",
             {},
             {},
             {{"policyDocument", kPolicy.dump()}}},
        Case{"PolicyDocumentAsTextIsKept",
             "CreatePolicy",
             {{"policyName", "p"}, {"policyDocument", "{\"Version\": \"2012-10-17\"}"}},
             "POST",
             "/policies/p",
             {},
             {},
             {{"policyDocument", "{\"Version\": \"2012-10-17\"}"}}},
        Case{"TemplateBodyAsMapBooleanStaysBoolean",
             "CreateProvisioningTemplate",
             {{"templateName", "jitp"},
              {"templateBody", {{"Resources", json::object()}}},
              {"provisioningRoleArn", "arn:aws:iam::123456789012:role/r"},
              {"enabled", true}},
             "POST",
             "/provisioning-templates",
             {},
             {},
             {{"templateName", "jitp"},
              {"templateBody", "{\"Resources\":{}}"},
              {"provisioningRoleArn", "arn:aws:iam::123456789012:role/r"},
              {"enabled", true}}},
        Case{"NumberForStringBodyMemberIsText",
             "UpdateThing",
             {{"thingName", "t"}, {"thingTypeName", 42}, {"expectedVersion", 3}},
             "PATCH",
             "/things/t",
             {},
             {},
             {{"thingTypeName", "42"}, {"expectedVersion", 3}}},
        Case{"ListAttachedPoliciesArnLabelAndQuery",
             "ListAttachedPolicies",
             {{"target", kCertArn}, {"recursive", false}, {"pageSize", 10}},
             "POST",
             "/attached-policies/" + std::string(kEncodedCertArn),
             {{"recursive", "false"}, {"pageSize", "10"}},
             {},
             nullptr},
        Case{"ListTargetsForPolicy",
             "ListTargetsForPolicy",
             {{"policyName", "p"}},
             "POST",
             "/policy-targets/p",
             {},
             {},
             nullptr},
        Case{"AttachPolicyTargetInBody",
             "AttachPolicy",
             {{"policyName", "p"}, {"target", kCertArn}},
             "PUT",
             "/target-policies/p",
             {},
             {},
             {{"target", kCertArn}}},
        Case{"CreateKeysAndCertificate",
             "CreateKeysAndCertificate",
             {{"setAsActive", true}},
             "POST",
             "/keys-and-certificate",
             {{"setAsActive", "true"}},
             {},
             nullptr},
        Case{"CreateProvisioningClaim",
             "CreateProvisioningClaim",
             {{"templateName", "fp"}},
             "POST",
             "/provisioning-templates/fp/provisioning-claim",
             {},
             {},
             nullptr},
        Case{"TransferCertificateQueryAndBody",
             "TransferCertificate",
             {{"certificateId", "c"},
              {"targetAwsAccount", "210987654321"},
              {"transferMessage", "m"}},
             "PATCH",
             "/transfer-certificate/c",
             {{"targetAwsAccount", "210987654321"}},
             {},
             {{"transferMessage", "m"}}},
        Case{"GreedyLabelKeepsSlash",
             "GetTopicRuleDestination",
             {{"arn", "arn:aws:iot:us-east-1:1:ruledestination/http/a b"}},
             "GET",
             "/destinations/arn%3Aaws%3Aiot%3Aus-east-1%3A1%3Aruledestination/http/a%20b",
             {},
             {},
             nullptr},
        Case{"PayloadMemberIsTheWholeBody",
             "CreateTopicRule",
             {{"ruleName", "r"},
              {"topicRulePayload", {{"sql", "SELECT * FROM 't'"}, {"actions", json::array()}}},
              {"tags", "a=b"}},
             "POST",
             "/rules/r",
             {},
             {{"x-amz-tagging", "a=b"}},
             {{"sql", "SELECT * FROM 't'"}, {"actions", json::array()}}},
        Case{"UpdateEventConfigurationsBody",
             "UpdateEventConfigurations",
             {{"eventConfigurations", {{"THING", {{"Enabled", true}}}}}},
             "PATCH",
             "/event-configurations",
             {},
             {},
             {{"eventConfigurations", {{"THING", {{"Enabled", true}}}}}}},
        Case{"UpdateEventConfigurationsNothingGiven",
             "UpdateEventConfigurations",
             json::object(),
             "PATCH",
             "/event-configurations",
             {},
             {},
             json::object()}),
    [](const testing::TestParamInfo<Case>& param) { return param.param.name; });

struct ErrorCase {
    std::string name;
    std::string operation;
    json arguments;
    std::string message;  // the whole one-line message
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class BuildOperationRequestErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(BuildOperationRequestErrorTest, RefusesWithOneLine) {
    const ErrorCase& c = GetParam();
    auto request = BuildOperationRequest(c.operation, c.arguments);
    ASSERT_FALSE(request) << request->path;
    EXPECT_EQ(request.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(request.error().message, c.message);
    EXPECT_EQ(request.error().message.find('\n'), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Operations, BuildOperationRequestErrorTest,
    testing::Values(
        ErrorCase{"UnknownOperation", "ListThing", json::object(),
                  "unknown AWS IoT operation 'ListThing'"},
        ErrorCase{"OperationNamesAreCaseSensitive", "listThings", json::object(),
                  "unknown AWS IoT operation 'listThings'"},
        ErrorCase{"EmptyOperation", "", json::object(), "unknown AWS IoT operation ''"},
        ErrorCase{"UnknownMember",
                  "ListThings",
                  {{"thingname", "x"}},
                  "ListThings: unknown member 'thingname'"},
        ErrorCase{"WireNameIsNotAMemberName",
                  "ListCACertificates",
                  {{"isAscendingOrder", true}},
                  "ListCACertificates: unknown member 'isAscendingOrder'"},
        ErrorCase{"MissingRequiredQueryMember",
                  "UpdateCertificate",
                  {{"certificateId", "c"}},
                  "UpdateCertificate: missing required member 'newStatus'"},
        ErrorCase{"NullRequiredMemberIsMissing",
                  "UpdateCertificate",
                  {{"certificateId", "c"}, {"newStatus", nullptr}},
                  "UpdateCertificate: missing required member 'newStatus'"},
        ErrorCase{"MissingRequiredLabel", "DescribeThing", json::object(),
                  "DescribeThing: missing required member 'thingName'"},
        ErrorCase{"MissingRequiredHeader",
                  "AttachThingPrincipal",
                  {{"thingName", "t"}},
                  "AttachThingPrincipal: missing required member 'principal'"},
        ErrorCase{"MissingRequiredBodyMember",
                  "CreatePolicy",
                  {{"policyName", "p"}},
                  "CreatePolicy: missing required member 'policyDocument'"},
        ErrorCase{"ObjectForLabel",
                  "UpdateCertificate",
                  {{"certificateId", {{"a", 1}}}, {"newStatus", "REVOKED"}},
                  "UpdateCertificate: member 'certificateId' is a path label and takes a string, "
                  "number or boolean, not object"},
        ErrorCase{"ArrayForQuery",
                  "ListThings",
                  {{"attributeName", json::array({"a"})}},
                  "ListThings: member 'attributeName' is a query string and takes a string, "
                  "number or boolean, not array"},
        ErrorCase{"ObjectForHeader",
                  "AttachThingPrincipal",
                  {{"thingName", "t"}, {"principal", json::object()}},
                  "AttachThingPrincipal: member 'principal' is a header and takes a string, "
                  "number or boolean, not object"},
        ErrorCase{"EmptyLabel",
                  "DescribeThing",
                  {{"thingName", ""}},
                  "DescribeThing: member 'thingName' is a path label and cannot be empty"},
        ErrorCase{"ArgumentsNotAnObject", "ListThings", json::array({1}),
                  "ListThings: arguments must be an object of request members, not array"},
        ErrorCase{"ArgumentsAString", "ListThings", "maxResults=5",
                  "ListThings: arguments must be an object of request members, not string"}),
    [](const testing::TestParamInfo<ErrorCase>& param) { return param.param.name; });

TEST(IotOperationsTest, KnownOperationsAreSortedAndCoverOnboarding) {
    const auto names = KnownOperations();
    EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
    for (const char* name : {"DescribeEndpoint",
                             "ListThings",
                             "CreateKeysAndCertificate",
                             "CreateProvisioningClaim",
                             "CreateProvisioningTemplate",
                             "CreateProvisioningTemplateVersion",
                             "DescribeProvisioningTemplate",
                             "ListProvisioningTemplates",
                             "UpdateProvisioningTemplate",
                             "DeleteProvisioningTemplate",
                             "AttachPolicy",
                             "DetachPolicy",
                             "AttachThingPrincipal",
                             "DetachThingPrincipal",
                             "ListTargetsForPolicy",
                             "ListThingPrincipals",
                             "ListPrincipalThings",
                             "ListAttachedPolicies",
                             "DescribeEventConfigurations",
                             "UpdateEventConfigurations",
                             "DeleteCACertificate",
                             "TransferCertificate",
                             "RegisterCACertificate",
                             "UpdateCertificate"}) {
        EXPECT_TRUE(std::binary_search(names.begin(), names.end(), name)) << name;
        EXPECT_TRUE(FindOperation(name).has_value()) << name;
    }
    EXPECT_FALSE(FindOperation("ListThing").has_value());
}

TEST(IotOperationsTest, EveryServedOperationHasTheModelsMethodAndPath) {
    const auto served = ServedOperations();
    ASSERT_FALSE(served.empty());
    for (const auto& operation : served) {
        const auto info = FindOperation(operation.name);
        ASSERT_TRUE(info.has_value()) << operation.name;
        EXPECT_EQ(info->method, operation.method) << operation.name;
        EXPECT_EQ(info->request_uri, operation.path) << operation.name;
    }
}

// A request built for each served operation (required members only) is routed back to it.
TEST(IotOperationsTest, BuiltRequestsRouteToTheirOperation) {
    for (const auto& operation : ServedOperations()) {
        const auto info = FindOperation(operation.name);
        ASSERT_TRUE(info.has_value()) << operation.name;
        json arguments = json::object();
        for (const auto& member : info->members) {
            if (member.required) {
                arguments[std::string(member.name)] =
                    member.is_string ? json("arn:aws:iot:us-east-1:1:cert/x") : json(1);
            }
        }
        auto built = BuildOperationRequest(operation.name, arguments);
        ASSERT_TRUE(built) << built.error().message;
        HttpRequest http;
        http.method = built->method;
        http.raw_path = built->path;
        for (const auto& [name, value] : built->query) {
            http.raw_query += (http.raw_query.empty() ? "" : "&") + UriEncode(name, false) + "=" +
                              UriEncode(value, false);
        }
        http.headers = built->headers;
        http.body = built->body.is_null() ? std::string() : built->body.dump();
        auto parsed = ParseRequest(http);
        if (!parsed && parsed.error().message.find("validation error") != std::string::npos) {
            // Routed, then refused by the model's constraints (the placeholder values do not
            // satisfy every pattern and length): validation runs only on a matched operation.
            EXPECT_EQ(parsed.error().type, "InvalidRequestException") << operation.name;
            continue;
        }
        ASSERT_TRUE(parsed) << operation.name << ": " << parsed.error().message;
        EXPECT_EQ(parsed->operation, operation.name);
        for (const auto& label : parsed->labels) {
            EXPECT_TRUE(label == "arn:aws:iot:us-east-1:1:cert/x" || label == "1")
                << operation.name << ": " << label;
        }
    }
}

TEST(IotOperationsTest, MembersCarryLocationWireNameTypeAndRequired) {
    const auto info = FindOperation("AttachThingPrincipal");
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->method, "PUT");
    EXPECT_EQ(info->request_uri, "/things/{thingName}/principals");
    ASSERT_EQ(info->members.size(), 2U);
    const auto& principal = info->members[1];
    EXPECT_EQ(principal.name, "principal");
    EXPECT_EQ(principal.location, MemberLocation::kHeader);
    EXPECT_EQ(principal.location_name, "x-amzn-principal");
    EXPECT_TRUE(principal.is_string);
    EXPECT_TRUE(principal.required);
}

}  // namespace
}  // namespace sim::controlplane
