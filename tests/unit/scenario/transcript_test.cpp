// SPDX-License-Identifier: Apache-2.0
// ScenarioFromTranscript: serial logs in the common forms become scenarios that check, with
// the commands, the answers (patterns where a new world differs), back-off retries folded,
// the claim put before the MSG it caused, and every other line kept as a comment.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sim/scenario/parse.hpp"
#include "sim/scenario/transcript.hpp"

namespace sim::scenario {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kWorld = R"(manufacturers: [{name: acme}]
accounts:
  - {name: staging, kind: staging, manufacturer: acme}
  - {name: oem-a, kind: oem}
)";

// The scenario made from `transcript`, which must also check.
std::string Made(const std::string& transcript) {
    TranscriptOptions options;
    options.source = "field.log";
    options.world = "../worlds/w.yaml";
    auto made = ScenarioFromTranscript(transcript, options);
    EXPECT_TRUE(made) << (made ? "" : made.error().message);
    if (!made) {
        return {};
    }
    auto parsed = ParseScenario(*made, "scenarios/claim/t.yaml", "claim/t",
                                [](const std::filesystem::path&) -> sim::Result<std::string> {
                                    return std::string(kWorld);
                                });
    EXPECT_TRUE(parsed) << ::testing::PrintToString(parsed ? Diagnostics{} : parsed.error())
                        << "\n"
                        << *made;
    return *made;
}

struct FormCase {
    const char* name;
    const char* transcript;
};

class TranscriptFormTest : public ::testing::TestWithParam<FormCase> {};

// Every form gives the same two steps: AT+CONNECT answered OK 1 CONNECTED, then CONNECT?.
TEST_P(TranscriptFormTest, ReadsTheCommandsAndAnswers) {
    const std::string made = Made(GetParam().transcript);
    EXPECT_THAT(made, HasSubstr("send: \"AT+CONNECT\"\n    expect: \"OK 1 CONNECTED\""));
    EXPECT_THAT(made, HasSubstr("send: \"AT+CONNECT?\"\n    expect: \"OK 1 0 CONNECTED STAGING\""));
}

INSTANTIATE_TEST_SUITE_P(
    Forms, TranscriptFormTest,
    ::testing::Values(
        FormCase{"Bare", "AT+CONNECT\nOK 1 CONNECTED\nAT+CONNECT?\nOK 1 0 CONNECTED STAGING\n"},
        FormCase{"Arrows", "> AT+CONNECT\n< OK 1 CONNECTED\n> AT+CONNECT?\n< OK 1 0 CONNECTED STAGING\n"},
        FormCase{"Timestamps", "00:00:02.392 > AT+CONNECT\n00:00:02.559 < OK 1 CONNECTED\n"
                               "[2026-01-05 12:00:00,123] AT+CONNECT?\n"
                               "2026-01-05T12:00:01Z OK 1 0 CONNECTED STAGING\n"},
        FormCase{"TxRx", "TX: AT+CONNECT\r\nRX: OK 1 CONNECTED\r\nTX: AT+CONNECT?\r\n"
                         "RX: OK 1 0 CONNECTED STAGING\r\n"},
        FormCase{"Logger", "DEBUG:root:-> AT+CONNECT\nDEBUG:root:<- OK 1 CONNECTED\n"
                           "DEBUG:root:send: AT+CONNECT?\nDEBUG:root:recv: OK 1 0 CONNECTED STAGING\n"}),
    [](const ::testing::TestParamInfo<FormCase>& param_info) {
        return std::string(param_info.param.name);
    });

TEST(TranscriptTest, KeepsUnknownLinesAsComments) {
    const std::string made = Made("boot banner v1.2\nAT+CONNECT\nOK 1 CONNECTED\n# a note\n"
                                  "OK stray answer\n");
    EXPECT_THAT(made, HasSubstr("# line 1: boot banner v1.2"));
    EXPECT_THAT(made, HasSubstr("# line 4: # a note"));
    EXPECT_THAT(made, HasSubstr("# line 5: an answer nobody asked for: OK stray answer"));
}

TEST(TranscriptTest, FoldsBackOffRetriesIntoOneStep) {
    const std::string made =
        Made("AT+CONNECT\nERR14 4 UNABLE TO CONNECT x\nAT+CONNECT\nERR14 1 UNABLE TO CONNECT "
             "Back-off in progress\nAT+CONNECT\nERR14 1 UNABLE TO CONNECT Back-off in progress\n"
             "AT+CONNECT\nOK 1 CONNECTED\n");
    EXPECT_THAT(made, HasSubstr("expect: \"ERR14 4 UNABLE TO CONNECT x\""));
    EXPECT_THAT(made, HasSubstr("name: \"line 7: AT+CONNECT\"\n    at: m1\n    send: "
                                "\"AT+CONNECT\"\n    expect: \"OK 1 CONNECTED\"\n    retry-while: "
                                "\"/^ERR14 1 /\""));
    EXPECT_THAT(made, Not(HasSubstr("line 3: AT+CONNECT")));
}

TEST(TranscriptTest, PutsTheClaimBeforeTheMessageItCaused) {
    const std::string made = Made(
        "AT+CONNECT\nOK 1 CONNECTED\nAT+CONNECT?\nOK 1 0 CONNECTED STAGING\nAT+EVENT?\nOK\n"
        "AT+EVENT?\nOK\nAT+EVENT?\nOK 1 0 MSG\nAT+EVENT?\nOK 3 0 CONLOST\n");
    EXPECT_THAT(made, HasSubstr("portal: {claim-thing: oem-a}"));
    const auto claim = made.find("claim: {by: portal, module: m1, endpoint: oem-a}");
    const auto msg = made.find("event: m1, expect: MSG");
    ASSERT_NE(claim, std::string::npos);
    EXPECT_LT(claim, msg);
    EXPECT_THAT(made, HasSubstr("# 2 empty AT+EVENT? poll(s)"));
    EXPECT_THAT(made, HasSubstr("event: m1, expect: CONLOST"));
}

TEST(TranscriptTest, MatchesWhatANewWorldMakesAnewByPattern) {
    const std::string made =
        Made("AT+CONF? ThingName\nOK 71e4da9ffde2229f914f8c26dd8c869b95\n"
             "AT+CONF Topic1=71e4da9ffde2229f914f8c26dd8c869b95/data\nOK\n"
             "AT+CONF? Endpoint\nOK qiyi17dm6aqdji-ats.iot.us-east-1.elsim.test\n"
             "AT+TIME?\nOK date 2026/01/05 time 12:00:00.12 SNTP\nAT+SEND1 ${x}\nOK\n");
    EXPECT_THAT(made, HasSubstr(R"(expect: "/^OK .+$/")"));
    EXPECT_THAT(made, HasSubstr(R"(send: "AT+CONF Topic1=${m1.thingName}/data")"));
    EXPECT_THAT(made, HasSubstr(R"(expect: "/^OK date .+ time .+ SNTP$/")"));
    EXPECT_THAT(made, HasSubstr(R"(send: "AT+SEND1 $${x}")"));
}

TEST(TranscriptTest, RefusesATranscriptWithoutCommands) {
    TranscriptOptions options;
    options.source = "empty.log";
    for (const char* text : {"", "hello\nworld\n", "OK\nERR2 PARSE ERROR\n", "AT+EVENT?\nOK\n"}) {
        auto made = ScenarioFromTranscript(text, options);
        ASSERT_FALSE(made) << text;
        EXPECT_THAT(made.error().message, HasSubstr("empty.log: ")) << text;
    }
}

}  // namespace
}  // namespace sim::scenario
