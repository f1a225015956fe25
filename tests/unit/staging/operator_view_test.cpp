// SPDX-License-Identifier: Apache-2.0
// The staging operator's view: present, connected, claimed.
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sim/staging/operator_view.hpp"

namespace sim::staging {
namespace {

const std::string kUuid = "0f8fad5b-d9cb-469f-a165-70867728950e";

struct Case {
    const char* name;
    std::map<std::string, std::string> attributes;
    bool connected;
    ModuleStatus status;
    bool has_claim;
};
std::ostream& operator<<(std::ostream& out, const Case& c) { return out << c.name; }

class OperatorViewTest : public ::testing::TestWithParam<Case> {};

TEST_P(OperatorViewTest, DerivesStatusFromAttributes) {
    const auto& c = GetParam();
    const std::vector<ThingRecord> things{
        {"4a01", "ExpressLinkModule", c.attributes},
        {kUuid, "ExpressLinkClaimThing", {{"oemName", "acme"}}},
        {"unrelated", "", {}},
    };
    const auto view = BuildOperatorView(things);
    ASSERT_EQ(view.modules.size(), 1u);
    const auto& module = view.modules.front();
    EXPECT_EQ(module.thing_name, "4a01");
    EXPECT_TRUE(module.present);
    EXPECT_EQ(module.connected, c.connected);
    EXPECT_EQ(module.status, c.status) << ToString(module.status);
    ASSERT_EQ(module.claim.has_value(), c.has_claim);
    if (module.claim) {
        EXPECT_EQ(module.claim->claimed_by, kUuid);
        EXPECT_EQ(module.claim->oem_name, "acme");
        EXPECT_EQ(module.claim->endpoint, "oem.test:8883");
    }
    ASSERT_EQ(view.claim_things.size(), 1u);
    EXPECT_EQ(view.claim_things.front().oem_name, "acme");
    const std::string text = RenderOperatorView(view);
    EXPECT_NE(text.find("4a01"), std::string::npos);
    EXPECT_NE(text.find(ToString(c.status)), std::string::npos);
}

const std::map<std::string, std::string> kClaim{
    {"claimedBy", kUuid}, {"claimedEndpoint", "oem.test:8883"}, {"claimedAt", "2000"}};

std::map<std::string, std::string> With(std::map<std::string, std::string> base,
                                        std::map<std::string, std::string> more) {
    base.insert(more.begin(), more.end());
    return base;
}

INSTANTIATE_TEST_SUITE_P(
    Table, OperatorViewTest,
    ::testing::Values(
        Case{"NeverConnectedAttributes", {}, false, ModuleStatus::kStaged, false},
        Case{"ConnectedUnclaimed", {{"connected", "true"}, {"connectedAt", "1000"}}, true,
             ModuleStatus::kStaged, false},
        Case{"ClaimedWhileConnected",
             With(kClaim, {{"connected", "true"}, {"connectedAt", "1000"}}), true,
             ModuleStatus::kClaimed, true},
        Case{"ClaimedAndLeft",
             With(kClaim, {{"connected", "false"}, {"connectedAt", "1000"},
                           {"disconnectedAt", "2100"}}),
             false, ModuleStatus::kClaimed, true},
        Case{"ReturnedAfterFactoryReset",
             With(kClaim, {{"connected", "true"}, {"connectedAt", "9000"}}), true,
             ModuleStatus::kReturned, true},
        Case{"MalformedClaimTimeIgnored",
             {{"claimedBy", kUuid}, {"claimedEndpoint", "x"}, {"claimedAt", "soon"}}, false,
             ModuleStatus::kStaged, false},
        Case{"MalformedConnectTimeMeansNotReturned",
             With(kClaim, {{"connected", "true"}, {"connectedAt", "-5"}}), true,
             ModuleStatus::kClaimed, true},
        Case{"ConnectedFlagNotTrue", {{"connected", "yes"}}, false, ModuleStatus::kStaged,
             false}),
    [](const ::testing::TestParamInfo<Case>& p) { return std::string(p.param.name); });

TEST(OperatorViewOrderTest, SortsModulesAndShowsUnknownClaimer) {
    const std::vector<ThingRecord> things{
        {"b", "ExpressLinkModule",
         {{"claimedBy", "gone"}, {"claimedEndpoint", "e"}, {"claimedAt", "1"}}},
        {"a", "ExpressLinkModule", {}},
    };
    const auto view = BuildOperatorView(things);
    ASSERT_EQ(view.modules.size(), 2u);
    EXPECT_EQ(view.modules[0].thing_name, "a");
    EXPECT_EQ(view.modules[1].claim->oem_name, "");
    EXPECT_TRUE(view.claim_things.empty());
}

}  // namespace
}  // namespace sim::staging
