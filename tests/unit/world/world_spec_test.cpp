// SPDX-License-Identifier: Apache-2.0
#include "sim/world/world_spec.hpp"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sim::world {
namespace {

constexpr const char* kValid = R"(region: eu-west-1
manufacturers:
  - name: acme
accounts:
  - name: staging
    kind: staging
  - name: oem-a
    kind: oem
    account_id: "222233334444"
  - name: oem-b
    kind: oem
    address: 127.0.0.9
    port: 18883
)";

TEST(WorldSpecTest, ParsesAValidWorldWithDefaults) {
    const auto spec = ParseWorldSpec(kValid, "w.yaml");
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(spec->region, "eu-west-1");
    ASSERT_EQ(spec->accounts.size(), 3U);
    EXPECT_EQ(spec->accounts[0].kind, AccountKind::kStaging);
    EXPECT_EQ(spec->accounts[0].manufacturer, "acme");
    EXPECT_EQ(spec->accounts[0].address, "");  // from the leased block, at start
    EXPECT_EQ(spec->accounts[0].port, 8883);
    EXPECT_EQ(spec->accounts[0].account_id.size(), 12U);
    EXPECT_EQ(spec->accounts[1].account_id, "222233334444");
    EXPECT_EQ(spec->accounts[1].address, "");
    EXPECT_EQ(spec->accounts[2].address, "127.0.0.9");
    EXPECT_EQ(spec->accounts[2].port, 18883);
    EXPECT_EQ(spec->accounts[2].control_plane_port, 8443);  // the default
    EXPECT_EQ(spec->accounts[2].line, 10);
    EXPECT_NE(spec->accounts[0].account_id, spec->accounts[1].account_id);
    EXPECT_TRUE(spec->accounts[0].setup.empty());
}

TEST(WorldSpecTest, LambdaFunctionsServeHookArnsByCommandOrUrl) {
    const auto spec = ParseWorldSpec(
        "accounts:\n  - name: a\n    kind: oem\n    lambda_functions:\n"
        "      - {arn: 'arn:aws:lambda:us-east-1:1:function:f', command: [python3, -c, 'x']}\n"
        "      - {arn: 'arn:aws:lambda:us-east-1:1:function:g', url: 'http://127.0.0.9:80/h'}\n",
        "w.yaml");
    ASSERT_TRUE(spec) << spec.error().message;
    const auto& functions = spec->accounts[0].lambda_functions;
    ASSERT_EQ(functions.size(), 2U);
    EXPECT_EQ(functions[0].arn, "arn:aws:lambda:us-east-1:1:function:f");
    EXPECT_EQ(functions[0].command, (std::vector<std::string>{"python3", "-c", "x"}));
    EXPECT_TRUE(functions[0].url.empty());
    EXPECT_EQ(functions[1].url, "http://127.0.0.9:80/h");
    EXPECT_TRUE(functions[1].command.empty());
}

TEST(WorldSpecTest, SixteenAccountsWithoutAddressesFitOneBlockAndTheSeventeenthNeedsOne) {
    std::string yaml = "accounts:\n";
    for (int i = 0; i < 16; ++i) {
        yaml += "  - {name: a" + std::to_string(i) + ", kind: oem}\n";
    }
    ASSERT_TRUE(ParseWorldSpec(yaml, "w.yaml"));
    const auto explicit_address = ParseWorldSpec(
        yaml + "  - {name: a16, kind: oem, account_id: '999999999999', address: 127.0.0.9}\n",
        "w.yaml");
    EXPECT_TRUE(explicit_address) << explicit_address.error().message;
    const auto too_many = ParseWorldSpec(yaml + "  - {name: a16, kind: oem}\n", "w.yaml");
    ASSERT_FALSE(too_many);
    EXPECT_EQ(too_many.error().message,
              "w.yaml:18: account 'a16' is number 17; a world leases 16 addresses (give it an "
              "address)");
}

struct BadCase {
    std::string name;
    std::string yaml;
    std::string message;  // expected "w.yaml:<line>: <reason>" prefix
};

class BadWorldSpecTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadWorldSpecTest, RefusesWithLineAndReason) {
    const auto spec = ParseWorldSpec(GetParam().yaml, "w.yaml");
    ASSERT_FALSE(spec);
    EXPECT_EQ(spec.error().code, sim::ErrorCode::kInvalidArgument);
    EXPECT_THAT(spec.error().message, ::testing::StartsWith(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Refusals, BadWorldSpecTest,
    ::testing::Values(
        BadCase{"UnknownTopKey", "accounts:\n  - {name: a, kind: oem}\nregoin: x\n",
                "w.yaml:3: unknown key 'regoin' in the world"},
        BadCase{"UnknownAccountKey", "accounts:\n  - name: a\n    kind: oem\n    prot: 1\n",
                "w.yaml:4: unknown key 'prot' in an account"},
        BadCase{"DuplicateAccount",
                "accounts:\n  - name: a\n    kind: oem\n  - name: a\n    kind: oem\n",
                "w.yaml:4: duplicate account 'a'"},
        BadCase{"DuplicateAddress",
                "accounts:\n  - {name: a, kind: oem, address: 127.0.0.5}\n"
                "  - {name: b, kind: oem, address: 127.0.0.5}\n",
                "w.yaml:3: address 127.0.0.5:8883 is used by another account"},
        BadCase{"NonLoopbackAddress", "accounts:\n  - {name: a, kind: oem, address: 10.0.0.1}\n",
                "w.yaml:2: address 10.0.0.1 is not in 127.0.0.0/8"},
        BadCase{"BadKind", "accounts:\n  - name: a\n    kind: prod\n",
                "w.yaml:3: kind 'prod' is not staging or oem"},
        BadCase{"MissingKind", "accounts:\n  - name: a\n", "w.yaml:2: account 'a' has no kind"},
        BadCase{"BadAccountId", "accounts:\n  - {name: a, kind: oem, account_id: '12'}\n",
                "w.yaml:2: account_id must be 12 digits"},
        BadCase{"PortOutOfRange", "accounts:\n  - {name: a, kind: oem, port: 70000}\n",
                "w.yaml:2: port 70000 is out of range"},
        BadCase{"PortNotNumber", "accounts:\n  - {name: a, kind: oem, port: abc}\n",
                "w.yaml:2: port must be a number"},
        BadCase{"ControlPlanePortOutOfRange",
                "accounts:\n  - {name: a, kind: oem, control_plane_port: 0}\n",
                "w.yaml:2: control_plane_port 0 is out of range"},
        BadCase{"ControlPlanePortIsMqttPort",
                "accounts:\n  - {name: a, kind: oem, port: 9000, control_plane_port: 9000}\n",
                "w.yaml:2: control_plane_port and port are both 9000"},
        BadCase{"StagingWithoutManufacturer", "accounts:\n  - {name: s, kind: staging}\n",
                "w.yaml:2: staging account 's' needs a manufacturer"},
        BadCase{"UnknownManufacturer",
                "manufacturers: [{name: acme}]\naccounts:\n"
                "  - {name: s, kind: staging, manufacturer: other}\n",
                "w.yaml:3: unknown manufacturer 'other'"},
        BadCase{"ManufacturerOnOem",
                "manufacturers: [{name: acme}]\naccounts:\n"
                "  - {name: o, kind: oem, manufacturer: acme}\n",
                "w.yaml:3: only a staging account has a manufacturer"},
        BadCase{"BadName", "accounts:\n  - {name: Bad_Name, kind: oem}\n",
                "w.yaml:2: account name 'Bad_Name' must match"},
        BadCase{"NoAccounts", "region: us-east-1\n", "w.yaml:1: accounts must be a non-empty list"},
        BadCase{"NotAMapping", "- a\n- b\n", "w.yaml:1: the world file must be a mapping"},
        BadCase{"NotYaml", "accounts: [\n", "w.yaml:2: not YAML"},
        BadCase{"LambdaFunctionsNotAList",
                "accounts:\n  - {name: a, kind: oem, lambda_functions: {arn: x}}\n",
                "w.yaml:2: lambda_functions must be a list"},
        BadCase{"LambdaFunctionWithoutArn",
                "accounts:\n  - name: a\n    kind: oem\n    lambda_functions:\n"
                "      - {command: [true]}\n",
                "w.yaml:5: a lambda function needs an arn"},
        BadCase{"LambdaFunctionArnNotAnArn",
                "accounts:\n  - name: a\n    kind: oem\n    lambda_functions:\n"
                "      - {arn: check, command: [true]}\n",
                "w.yaml:5: arn 'check' is not an ARN"},
        BadCase{"LambdaFunctionBothCommandAndUrl",
                "accounts:\n  - name: a\n    kind: oem\n    lambda_functions:\n"
                "      - {arn: 'arn:aws:lambda:us-east-1:1:function:f', command: [true], "
                "url: 'http://127.0.0.1:1/'}\n",
                "w.yaml:5: lambda function arn:aws:lambda:us-east-1:1:function:f needs exactly "
                "one of command and url"},
        BadCase{"LambdaFunctionNeitherCommandNorUrl",
                "accounts:\n  - name: a\n    kind: oem\n    lambda_functions:\n"
                "      - {arn: 'arn:aws:lambda:us-east-1:1:function:f'}\n",
                "w.yaml:5: lambda function arn:aws:lambda:us-east-1:1:function:f needs exactly"},
        BadCase{"LambdaFunctionEmptyCommand",
                "accounts:\n  - name: a\n    kind: oem\n    lambda_functions:\n"
                "      - {arn: 'arn:aws:lambda:us-east-1:1:function:f', command: []}\n",
                "w.yaml:5: command must be a non-empty list"},
        BadCase{"LambdaFunctionUrlNotLoopback",
                "accounts:\n  - name: a\n    kind: oem\n    lambda_functions:\n"
                "      - {arn: 'arn:aws:lambda:us-east-1:1:function:f', "
                "url: 'http://example.com/hook'}\n",
                "w.yaml:5: url 'http://example.com/hook' must be http://ADDRESS:PORT/PATH"},
        BadCase{"LambdaFunctionUrlHttps",
                "accounts:\n  - name: a\n    kind: oem\n    lambda_functions:\n"
                "      - {arn: 'arn:aws:lambda:us-east-1:1:function:f', "
                "url: 'https://127.0.0.1:9/hook'}\n",
                "w.yaml:5: url 'https://127.0.0.1:9/hook' must be"},
        BadCase{"LambdaFunctionDuplicate",
                "accounts:\n  - name: a\n    kind: oem\n    lambda_functions:\n"
                "      - {arn: 'arn:aws:lambda:us-east-1:1:function:f', command: [true]}\n"
                "      - {arn: 'arn:aws:lambda:us-east-1:1:function:f', command: [false]}\n",
                "w.yaml:6: duplicate lambda function"},
        BadCase{"LambdaFunctionUnknownKey",
                "accounts:\n  - name: a\n    kind: oem\n    lambda_functions:\n"
                "      - {arn: 'arn:aws:lambda:us-east-1:1:function:f', command: [true], "
                "timeout: 3}\n",
                "w.yaml:5: unknown key 'timeout' in a lambda function"}),
    [](const auto& test_case) { return test_case.param.name; });

TEST(WorldPlanTest, EndpointsLookLikeAwsAtsEndpointsUnderTest) {
    const auto spec = ParseWorldSpec(kValid, "w.yaml");
    ASSERT_TRUE(spec);
    sim::SeededRandom random(42);
    const auto plan = PlanWorld(*spec, random);
    ASSERT_EQ(plan.accounts.size(), 3U);
    for (const auto& account : plan.accounts) {
        EXPECT_THAT(account.endpoint,
                    ::testing::MatchesRegex("[a-z0-9]{14}-ats\\.iot\\.eu-west-1\\.elsim\\.test"));
    }
    EXPECT_NE(plan.accounts[0].endpoint, plan.accounts[1].endpoint);
    sim::SeededRandom same_seed(42);
    EXPECT_EQ(PlanWorld(*spec, same_seed).accounts[0].endpoint, plan.accounts[0].endpoint);
}

struct AddressCase {
    std::string address;
    bool loopback;
};
class LoopbackTest : public ::testing::TestWithParam<AddressCase> {};
TEST_P(LoopbackTest, AcceptsOnly127Slash8) {
    EXPECT_EQ(IsLoopbackV4(GetParam().address), GetParam().loopback);
}
INSTANTIATE_TEST_SUITE_P(
    Addresses, LoopbackTest,
    ::testing::Values(AddressCase{"127.0.0.1", true}, AddressCase{"127.255.255.254", true},
                      AddressCase{"128.0.0.1", false}, AddressCase{"0.0.0.0", false},
                      AddressCase{"localhost", false}, AddressCase{"127.0.0", false},
                      AddressCase{"::1", false}));

}  // namespace
}  // namespace sim::world
