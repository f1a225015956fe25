// SPDX-License-Identifier: Apache-2.0
// SHADOW commands (PG-SVC, "Device Shadow"): the software module
// does not emulate the Device Shadow service, so every SHADOW command answers
// `ERR24 SHADOW ERROR` in every state — the spec's own answer in staging and while EnableShadow
// is 0 ("Shadow disabled, not initialized, rejected, or device not onboarded", Table 1), and a
// documented divergence once onboarded with EnableShadow=1 (sim/module/README.md). A shadow
// index above MaxShadow is ERR7 first; malformed command words stay parse errors. Nothing is
// published, subscribed or persisted by a SHADOW command.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "module_harness.hpp"
#include "sim/module/interpreter.hpp"

namespace sim::module {
namespace {

using ::testing::ElementsAre;

constexpr const char* kThing = "5ad0ff1ce";
constexpr const char* kStaging = "staging.elsim.test";
constexpr const char* kOem = "oem.elsim.test";

std::shared_ptr<ModuleProfile> MakeProfile() {
    auto profile = std::make_shared<ModuleProfile>();
    profile->thing_name = kThing;
    profile->certificate_pem =
        "-----BEGIN CERTIFICATE-----\nMIIBshadow\n-----END CERTIFICATE-----\n";
    profile->staging_endpoint = kStaging;
    profile->root_ca_pem = "-----BEGIN CERTIFICATE-----\nROOT\n-----END CERTIFICATE-----\n";
    profile->backoff_seed = 11;
    return profile;
}

// The module with the effects of its last event kept, so a case can check that a SHADOW
// command had no side effect besides its answer.
class Module : public ModuleHarness {
public:
    Module() : ModuleHarness(MakeProfile()) {}
};

enum class Setting {
    kStagingDisconnected,
    kStagingConnected,
    kOnboardedDisconnected,
    kOnboardedConnected,
    kOnboardedConnectedShadowEnabled,  // EnableShadow=1, Shadow1 named: a real module would work.
};

const char* ToString(Setting setting) {
    switch (setting) {
        case Setting::kStagingDisconnected:
            return "StagingDisconnected";
        case Setting::kStagingConnected:
            return "StagingConnected";
        case Setting::kOnboardedDisconnected:
            return "OnboardedDisconnected";
        case Setting::kOnboardedConnected:
            return "OnboardedConnected";
        case Setting::kOnboardedConnectedShadowEnabled:
            return "OnboardedShadowEnabled";
    }
    return "?";
}

void Prepare(Module& module, Setting setting) {
    module.DrainEvents();
    if (setting != Setting::kStagingDisconnected && setting != Setting::kStagingConnected) {
        // Onboarded is decided only by Endpoint (PG-PROV 12.3.2 step 1).
        ASSERT_THAT(module.Send(std::string("AT+CONF Endpoint=") + kOem + "\n"), ElementsAre("OK"));
    }
    if (setting == Setting::kOnboardedConnectedShadowEnabled) {
        ASSERT_THAT(module.Send("AT+CONF EnableShadow=1\nAT+CONF Shadow1=named\n"),
                    ElementsAre("OK", "OK"));
    }
    if (setting == Setting::kStagingConnected || setting == Setting::kOnboardedConnected ||
        setting == Setting::kOnboardedConnectedShadowEnabled) {
        module.Connect();
    }
    const bool onboarded =
        setting != Setting::kStagingDisconnected && setting != Setting::kStagingConnected;
    const bool connected =
        setting != Setting::kStagingDisconnected && setting != Setting::kOnboardedDisconnected;
    ASSERT_THAT(
        module.Send("AT+CONNECT?\n"),
        ElementsAre(std::string("OK ") + (connected ? "1 " : "0 ") + (onboarded ? "1 " : "0 ") +
                    (connected ? "CONNECTED " : "DISCONNECTED ") +
                    (onboarded ? "CUSTOMER" : "STAGING")));
    module.DrainEvents();
}

constexpr const char* kShadowError = "ERR24 SHADOW ERROR";

struct ShadowCase {
    std::string name;
    std::string line;
    std::string answer;  // the same in every setting
};

// Every SHADOW form of PG-SVC (unnamed and named shadow 1), the index bounds and malformed
// lines. MaxShadow is 1 in the default profile.
std::vector<ShadowCase> ShadowCases() {
    return {
        {"Init", "AT+SHADOW INIT", kShadowError},
        {"InitNamed", "AT+SHADOW1 INIT", kShadowError},
        {"Doc", "AT+SHADOW DOC", kShadowError},
        {"GetDoc", "AT+SHADOW GET DOC", kShadowError},
        {"GetDocNamed", "AT+SHADOW1 GET DOC", kShadowError},
        {"Update", R"(AT+SHADOW UPDATE {"state":{"reported":{"led":1}}})", kShadowError},
        {"UpdateNamed", R"(AT+SHADOW1 UPDATE {"state":{"desired":{"led":0}}})", kShadowError},
        {"UpdateNotJson", "AT+SHADOW UPDATE not-json", kShadowError},
        {"GetUpdate", "AT+SHADOW GET UPDATE", kShadowError},
        {"Subscribe", "AT+SHADOW SUBSCRIBE", kShadowError},
        {"SubscribeNamed", "AT+SHADOW1 SUBSCRIBE", kShadowError},
        {"Unsubscribe", "AT+SHADOW UNSUBSCRIBE", kShadowError},
        {"GetDelta", "AT+SHADOW GET DELTA", kShadowError},
        {"Delete", "AT+SHADOW DELETE", kShadowError},
        {"DeleteNamed", "AT+SHADOW1 DELETE", kShadowError},
        {"GetDelete", "AT+SHADOW GET DELETE", kShadowError},
        {"LowerCase", "AT+shadow init", kShadowError},
        // Invalid inputs.
        {"NoParameter", "AT+SHADOW", kShadowError},
        {"UnknownSubcommand", "AT+SHADOW DANCE", kShadowError},
        // Assumed: index 0 is the unnamed shadow (as in the events), so availability decides.
        {"IndexZero", "AT+SHADOW0 INIT", kShadowError},
        {"IndexAboveMaxShadow", "AT+SHADOW2 INIT", "ERR7 OUT OF RANGE"},
        {"IndexFarAboveMaxShadow", "AT+SHADOW99 UPDATE {}", "ERR7 OUT OF RANGE"},
        {"QueryForm", "AT+SHADOW? INIT", "ERR3 COMMAND NOT FOUND"},
        {"MisspelledWord", "AT+SHADOWS INIT", "ERR3 COMMAND NOT FOUND"},
    };
}

using ShadowParam = std::tuple<Setting, ShadowCase>;

class ShadowTest : public ::testing::TestWithParam<ShadowParam> {};

TEST_P(ShadowTest, AnswersWithoutSideEffects) {
    const auto& [setting, c] = GetParam();
    Module module;
    Prepare(module, setting);
    if (HasFatalFailure()) {
        return;
    }
    EXPECT_THAT(module.Send(c.line + "\n"), ElementsAre(c.answer)) << c.line;
    EXPECT_EQ(module.SideEffects(), 0U) << "a SHADOW command must not publish, subscribe, "
                                           "persist or connect";
    // No shadow event is queued, and the module is where it was.
    EXPECT_THAT(module.Send("AT+EVENT?\n"), ElementsAre("OK"));
    EXPECT_THAT(module.Send("AT\n"), ElementsAre("OK"));
}

INSTANTIATE_TEST_SUITE_P(
    EverySetting, ShadowTest,
    ::testing::Combine(::testing::Values(Setting::kStagingDisconnected, Setting::kStagingConnected,
                                         Setting::kOnboardedDisconnected,
                                         Setting::kOnboardedConnected,
                                         Setting::kOnboardedConnectedShadowEnabled),
                       ::testing::ValuesIn(ShadowCases())),
    [](const ::testing::TestParamInfo<ShadowParam>& param_info) {
        return std::string(ToString(std::get<0>(param_info.param))) + "_" +
               std::get<1>(param_info.param).name;
    });

// The shadow configuration keys themselves are ordinary keys (Table 3): settable and readable,
// and ShadowToken keeps the spec's default.
struct KeyCase {
    std::string name;
    std::string lines;
    std::vector<std::string> answers;
};

class ShadowKeyTest : public ::testing::TestWithParam<KeyCase> {};

TEST_P(ShadowKeyTest, Answers) {
    Module module;
    module.DrainEvents();
    EXPECT_EQ(module.Send(GetParam().lines), GetParam().answers);
}

INSTANTIATE_TEST_SUITE_P(
    Table3, ShadowKeyTest,
    ::testing::Values(
        KeyCase{"ShadowTokenDefault", "AT+CONF? ShadowToken\n", {"OK ExpressLink"}},
        KeyCase{"EnableShadowDefault", "AT+CONF? EnableShadow\n", {"OK 0"}},
        KeyCase{
            "EnableShadowSet", "AT+CONF EnableShadow=1\nAT+CONF? EnableShadow\n", {"OK", "OK 1"}},
        KeyCase{"EnableShadowNotBoolean", "AT+CONF EnableShadow=2\n", {"ERR4 PARAMETER ERROR"}},
        KeyCase{"Shadow1Named", "AT+CONF Shadow1=lamp\nAT+CONF? Shadow1\n", {"OK", "OK lamp"}},
        KeyCase{"Shadow2AboveMaxShadow", "AT+CONF Shadow2=x\n", {"ERR11 UNKNOWN KEY"}},
        KeyCase{"EnabledStillShadowError",
                "AT+CONF EnableShadow=1\nAT+SHADOW INIT\n",
                {"OK", kShadowError}}),
    [](const ::testing::TestParamInfo<KeyCase>& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace sim::module
