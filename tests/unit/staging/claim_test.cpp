// SPDX-License-Identifier: Apache-2.0
// Claim payload rules (misrouted-claim row 9) and the Endpoint value syntax.
#include <optional>
#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "sim/staging/claim.hpp"
#include "sim/staging/staging.hpp"

namespace sim::staging {
namespace {

constexpr const char* kStagingHost = "stagingaaaaaaa-ats.iot.us-east-1.elsim.test";
const std::string kTopic = "4a5b6c7d8e9f00112233445566778899aa/expresslink_config";

struct EndpointCase {
    const char* name;
    std::string text;
    bool ok;
    std::string host;
    std::optional<std::uint16_t> port;
};
std::ostream& operator<<(std::ostream& out, const EndpointCase& c) { return out << c.name; }

class EndpointValueTest : public ::testing::TestWithParam<EndpointCase> {};

TEST_P(EndpointValueTest, ParsesHostAndPort) {
    const auto& c = GetParam();
    const auto parsed = ParseEndpointValue(c.text);
    ASSERT_EQ(parsed.has_value(), c.ok) << (parsed ? parsed->ToString() : parsed.error().message);
    if (c.ok) {
        EXPECT_EQ(parsed->host, c.host);
        EXPECT_EQ(parsed->port, c.port);
        EXPECT_EQ(parsed->ToString(), c.text);
    } else {
        EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
        EXPECT_EQ(parsed.error().message.rfind("Endpoint: ", 0), 0u) << parsed.error().message;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, EndpointValueTest,
    ::testing::Values(
        EndpointCase{"AwsAtsEndpoint", "a1b2c3d4e5f6g7-ats.iot.us-east-1.amazonaws.com", true,
                     "a1b2c3d4e5f6g7-ats.iot.us-east-1.amazonaws.com", std::nullopt},
        EndpointCase{"WithPort", "oem.iot.us-east-1.elsim.test:8883", true,
                     "oem.iot.us-east-1.elsim.test", 8883},
        EndpointCase{"Ipv4WithPort", "127.0.0.3:8883", true, "127.0.0.3", 8883},
        EndpointCase{"SingleLabel", "localhost", true, "localhost", std::nullopt},
        EndpointCase{"MaxPort", "host:65535", true, "host", 65535},
        EndpointCase{"Empty", "", false, "", std::nullopt},
        EndpointCase{"PortZero", "host:0", false, "", std::nullopt},
        EndpointCase{"PortTooBig", "host:65536", false, "", std::nullopt},
        EndpointCase{"PortLeadingZero", "host:08883", false, "", std::nullopt},
        EndpointCase{"PortNotNumber", "host:mqtt", false, "", std::nullopt},
        EndpointCase{"EmptyPort", "host:", false, "", std::nullopt},
        EndpointCase{"NoHost", ":8883", false, "", std::nullopt},
        EndpointCase{"Scheme", "mqtts://host:8883", false, "", std::nullopt},
        EndpointCase{"Space", "my host", false, "", std::nullopt},
        EndpointCase{"LeadingSpace", " host", false, "", std::nullopt},
        EndpointCase{"TrailingDot", "host.example.", false, "", std::nullopt},
        EndpointCase{"EmptyLabel", "host..example", false, "", std::nullopt},
        EndpointCase{"LabelStartsWithDash", "-host.example", false, "", std::nullopt},
        EndpointCase{"LabelTooLong", std::string(64, 'a') + ".example", false, "", std::nullopt},
        EndpointCase{"NameTooLong", std::string(200, 'a').insert(100, ".") + "." +
                                        std::string(60, 'b'),
                     false, "", std::nullopt},
        EndpointCase{"Underscore", "my_host.example", false, "", std::nullopt},
        EndpointCase{"BadIpv4", "127.0.0.256", false, "", std::nullopt},
        EndpointCase{"ShortIpv4", "127.0.1", false, "", std::nullopt},
        EndpointCase{"Ipv6", "[::1]:8883", false, "", std::nullopt},
        EndpointCase{"Path", "host/path", false, "", std::nullopt}),
    [](const ::testing::TestParamInfo<EndpointCase>& p) { return std::string(p.param.name); });

struct ClaimCase {
    const char* name;
    std::string topic;
    std::string payload;
    bool retain;
    ClaimRefusal refusal;  // kNone: accepted
    std::string endpoint;  // when accepted
};
std::ostream& operator<<(std::ostream& out, const ClaimCase& c) { return out << c.name; }

class ClaimRulesTest : public ::testing::TestWithParam<ClaimCase> {};

TEST_P(ClaimRulesTest, AcceptsOnlyTheDocumentedMessage) {
    const auto& c = GetParam();
    ClaimRules rules;
    rules.staging_hosts = {kStagingHost, "127.0.0.2"};
    const auto decision = EvaluateClaim(rules, c.topic, c.payload, c.retain);
    EXPECT_EQ(decision.refusal, c.refusal) << decision.reason;
    EXPECT_EQ(decision.accepted, c.refusal == ClaimRefusal::kNone);
    if (decision.accepted) {
        EXPECT_EQ(decision.endpoint.ToString(), c.endpoint);
        EXPECT_EQ(decision.thing_name, "4a5b6c7d8e9f00112233445566778899aa");
        EXPECT_TRUE(decision.reason.empty());
    } else {
        EXPECT_FALSE(decision.reason.empty());
        EXPECT_EQ(decision.reason.find('\n'), std::string::npos);
    }
}

const std::string kOem = "a1b2c3d4e5f6g7-ats.iot.us-east-1.elsim.test";

INSTANTIATE_TEST_SUITE_P(
    Table, ClaimRulesTest,
    ::testing::Values(
        ClaimCase{"Documented", kTopic, R"({"Endpoint": ")" + kOem + R"("})", false,
                  ClaimRefusal::kNone, kOem},
        ClaimCase{"SpecSpacing", kTopic, R"({"Endpoint" : ")" + kOem + R"("})", false,
                  ClaimRefusal::kNone, kOem},
        ClaimCase{"Compact", kTopic, R"({"Endpoint":")" + kOem + R"(:8883"})", false,
                  ClaimRefusal::kNone, kOem + ":8883"},
        ClaimCase{"NewlinesAround", kTopic, "\n{\n \"Endpoint\": \"" + kOem + "\"\n}\n", false,
                  ClaimRefusal::kNone, kOem},
        ClaimCase{"TopicWithoutThing", "/expresslink_config", R"({"Endpoint": "h"})", false,
                  ClaimRefusal::kTopic, ""},
        ClaimCase{"TopicNested", "a/b/expresslink_config", R"({"Endpoint": "h"})", false,
                  ClaimRefusal::kTopic, ""},
        ClaimCase{"TopicOtherSuffix", "abc/expresslink_configx", R"({"Endpoint": "h"})", false,
                  ClaimRefusal::kTopic, ""},
        ClaimCase{"TopicWildcard", "+/expresslink_config", R"({"Endpoint": "h"})", false,
                  ClaimRefusal::kTopic, ""},
        ClaimCase{"Retained", kTopic, R"({"Endpoint": "h"})", true, ClaimRefusal::kRetained, ""},
        ClaimCase{"TooLarge", kTopic,
                  R"({"Endpoint": ")" + std::string(128 * 1024, 'a') + R"("})", false,
                  ClaimRefusal::kTooLarge, ""},
        ClaimCase{"PaddedTooLarge", kTopic,
                  R"({"Endpoint": "h")" + std::string(1100, ' ') + "}", false,
                  ClaimRefusal::kTooLarge, ""},
        ClaimCase{"InvalidJson", kTopic, R"({"Endpoint": "h")", false, ClaimRefusal::kNotJson,
                  ""},
        ClaimCase{"EmptyPayload", kTopic, "", false, ClaimRefusal::kNotJson, ""},
        ClaimCase{"TrailingGarbage", kTopic, R"({"Endpoint": "h"} x)", false,
                  ClaimRefusal::kNotJson, ""},
        ClaimCase{"InvalidUtf8", kTopic, "{\"Endpoint\": \"h\xff\"}", false,
                  ClaimRefusal::kNotJson, ""},
        ClaimCase{"Array", kTopic, R"(["Endpoint", "h"])", false, ClaimRefusal::kNotObject, ""},
        ClaimCase{"BareString", kTopic, R"("h")", false, ClaimRefusal::kNotObject, ""},
        ClaimCase{"ExtraKey", kTopic, R"({"Endpoint": "h", "Other": 1})", false,
                  ClaimRefusal::kWrongKeys, ""},
        ClaimCase{"DuplicateKey", kTopic, R"({"Endpoint": "h", "Endpoint": "g"})", false,
                  ClaimRefusal::kWrongKeys, ""},
        ClaimCase{"WrongCase", kTopic, R"({"endpoint": "h"})", false, ClaimRefusal::kWrongKeys,
                  ""},
        ClaimCase{"EmptyObject", kTopic, "{}", false, ClaimRefusal::kWrongKeys, ""},
        ClaimCase{"NumberValue", kTopic, R"({"Endpoint": 8883})", false,
                  ClaimRefusal::kNotString, ""},
        ClaimCase{"NullValue", kTopic, R"({"Endpoint": null})", false, ClaimRefusal::kNotString,
                  ""},
        ClaimCase{"EmptyValue", kTopic, R"({"Endpoint": ""})", false, ClaimRefusal::kBadEndpoint,
                  ""},
        ClaimCase{"BadHost", kTopic, R"({"Endpoint": "not a host"})", false,
                  ClaimRefusal::kBadEndpoint, ""},
        ClaimCase{"StagingItself", kTopic, std::string(R"({"Endpoint": ")") + kStagingHost + "\"}",
                  false, ClaimRefusal::kStagingEndpoint, ""},
        ClaimCase{"StagingItselfUpperCaseWithPort", kTopic,
                  R"({"Endpoint": "STAGINGAAAAAAA-ATS.IOT.US-EAST-1.ELSIM.TEST:443"})", false,
                  ClaimRefusal::kStagingEndpoint, ""},
        ClaimCase{"StagingAddress", kTopic, R"({"Endpoint": "127.0.0.2:8883"})", false,
                  ClaimRefusal::kStagingEndpoint, ""}),
    [](const ::testing::TestParamInfo<ClaimCase>& p) { return std::string(p.param.name); });

TEST(ClaimRecordTest, RecordsAnAcceptedClaimOnly) {
    ClaimRules rules;
    const TimePoint now{std::chrono::milliseconds{1'700'000'000'123}};
    const auto accepted = EvaluateClaim(rules, kTopic, R"({"Endpoint": "oem.test:8883"})");
    const auto record = ClaimRecord(accepted, "uuid-1", now);
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->thing_name, "4a5b6c7d8e9f00112233445566778899aa");
    EXPECT_TRUE(record->merge);
    ASSERT_TRUE(record->attributes.has_value());
    EXPECT_EQ(record->attributes->at("claimedBy"), "uuid-1");
    EXPECT_EQ(record->attributes->at("claimedEndpoint"), "oem.test:8883");
    EXPECT_EQ(record->attributes->at("claimedAt"), "1700000000123");

    const auto refused = EvaluateClaim(rules, kTopic, R"({"Endpoint": ""})");
    EXPECT_FALSE(ClaimRecord(refused, "uuid-1", now).has_value());
}

TEST(PresenceRecordTest, MergesConnectedFlagAndTime) {
    const TimePoint now{std::chrono::milliseconds{5'000}};
    const auto up = PresenceRecord("t", true, now);
    EXPECT_TRUE(up.merge);
    EXPECT_EQ(up.attributes->at("connected"), "true");
    EXPECT_EQ(up.attributes->at("connectedAt"), "5000");
    EXPECT_EQ(up.attributes->count("disconnectedAt"), 0u);
    const auto down = PresenceRecord("t", false, now);
    EXPECT_EQ(down.attributes->at("connected"), "false");
    EXPECT_EQ(down.attributes->at("disconnectedAt"), "5000");
}

}  // namespace
}  // namespace sim::staging
