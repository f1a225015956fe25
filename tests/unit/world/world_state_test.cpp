// SPDX-License-Identifier: Apache-2.0
#include "sim/world/world_state.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace sim::world {
namespace {

WorldState Sample() {
    WorldState state;
    state.region = "us-east-1";
    state.supervisor_pid = 42;
    state.directory = "/w";
    state.server_ca_file = "/w/pki/root-ca.pem";
    state.manufacturers = {
        {"acme", "/w/pki/manufacturers/acme-ca.pem", "/w/pki/manufacturers/acme-ca.key"}};
    AccountState staging;
    staging.name = "staging";
    staging.kind = AccountKind::kStaging;
    staging.account_id = "111111111111";
    staging.endpoint = "abcdefghijklmn-ats.iot.us-east-1.elsim.test";
    staging.address = "127.0.0.2";
    staging.mqtt_port = 8883;
    staging.broker_pid = 43;
    state.accounts.push_back(staging);
    return state;
}

TEST(WorldStateTest, RoundTripsAndCarriesTheEndpointMap) {
    const std::string text = WorldStateToJson(Sample());
    const auto doc = nlohmann::json::parse(text);
    EXPECT_EQ(doc["endpoints"]["abcdefghijklmn-ats.iot.us-east-1.elsim.test"], "127.0.0.2:8883");
    EXPECT_EQ(doc["accounts"][0]["kind"], "staging");
    EXPECT_EQ(doc["accounts"][0]["controlPlaneUrl"], "");
    const auto back = WorldStateFromJson(text);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->supervisor_pid, 42);
    ASSERT_EQ(back->accounts.size(), 1U);
    EXPECT_EQ(back->accounts[0].endpoint, "abcdefghijklmn-ats.iot.us-east-1.elsim.test");
    EXPECT_EQ(back->accounts[0].kind, AccountKind::kStaging);
    EXPECT_EQ(back->manufacturers.at(0).name, "acme");
}

struct BadJsonCase {
    std::string name;
    std::string text;
    std::string message;
};
class BadWorldStateTest : public ::testing::TestWithParam<BadJsonCase> {};
TEST_P(BadWorldStateTest, NamesTheField) {
    const auto state = WorldStateFromJson(GetParam().text);
    ASSERT_FALSE(state);
    EXPECT_THAT(state.error().message, ::testing::HasSubstr(GetParam().message));
}
INSTANTIATE_TEST_SUITE_P(Refusals, BadWorldStateTest,
                         ::testing::Values(BadJsonCase{"NotJson", "{", "not a JSON object"},
                                           BadJsonCase{"Array", "[]", "not a JSON object"},
                                           BadJsonCase{"MissingRegion", "{}", "field 'region'"},
                                           BadJsonCase{"WrongType",
                                                       R"({"region":"r","supervisorPid":"x"})",
                                                       "field 'supervisorPid'"}),
                         [](const auto& test_case) { return test_case.param.name; });

}  // namespace
}  // namespace sim::world
