// SPDX-License-Identifier: Apache-2.0
// MqttFramer (the TLS tap's packet follower): keep-alive clamp in place, filters per SUBSCRIBE,
// every read split, malformed input. Pure: bytes in, bytes and counters out.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sim/broker/mqtt_rules.hpp"
#include "sim/broker/tap/mqtt_framer.hpp"
#include "sim/testing/mqtt_bytes.hpp"

namespace sim::broker::tap {
namespace {

using Bytes = sim::testing::MqttBytes;

using sim::testing::Append;
using sim::testing::AppendString;
using sim::testing::Packet;
using sim::testing::VarInt;

// A CONNECT: level 3 uses "MQIsdp", 4 and 5 "MQTT"; level 5 carries `properties` bytes.
// `padding` lengthens the client id so the remaining length needs more varint bytes.
Bytes Connect(std::uint8_t level, std::uint16_t keepalive, std::size_t padding = 0) {
    Bytes body;
    AppendString(body, level == 3 ? "MQIsdp" : "MQTT");
    body.push_back(level);
    body.push_back(0x02);  // clean session
    body.push_back(static_cast<std::uint8_t>(keepalive >> 8));
    body.push_back(static_cast<std::uint8_t>(keepalive & 0xff));
    if (level == 5) {
        body.push_back(5);  // properties: Session Expiry Interval = 0
        Append(body, {0x11, 0, 0, 0, 0});
    }
    AppendString(body, "client-" + std::string(padding, 'p'));
    return Packet(0x10, body);
}

// Where the keep-alive's high byte sits in Connect(level, ...).
std::size_t KeepAliveOffset(const Bytes& connect, std::uint8_t level) {
    std::size_t header = 1;
    while ((connect[header] & 0x80) != 0) {
        ++header;
    }
    ++header;
    return header + 2 + (level == 3 ? 6 : 4) + 2;
}

std::uint16_t KeepAliveIn(const Bytes& connect, std::uint8_t level) {
    const std::size_t at = KeepAliveOffset(connect, level);
    return static_cast<std::uint16_t>((connect[at] << 8) | connect[at + 1]);
}

Bytes Subscribe(std::uint8_t level, int filters, std::size_t property_bytes = 0) {
    Bytes body{0x00, 0x07};  // packet identifier
    if (level == 5) {
        Bytes properties;
        while (properties.size() < property_bytes) {
            properties.push_back(0x26);  // user property "k" = "v" (5 + 2 bytes)
            AppendString(properties, "k");
            AppendString(properties, "v");
        }
        Append(body, VarInt(static_cast<std::uint32_t>(properties.size())));
        Append(body, properties);
    }
    for (int i = 0; i < filters; ++i) {
        AppendString(body, "dt/thing/" + std::to_string(i) + "/#");
        body.push_back(0x01);
    }
    return Packet(0x82, body);
}

// Feeds `bytes` in pieces of `chunk` bytes; the framer may rewrite them in place.
void FeedInChunks(MqttFramer& framer, Bytes& bytes, std::size_t chunk) {
    // Client ids longer than 65535 bytes (the 4-byte length cases) have a wrong string length;
    // the framer follows the remaining length only.
    for (std::size_t at = 0; at < bytes.size(); at += chunk) {
        const std::size_t n = std::min(chunk, bytes.size() - at);
        framer.Feed(std::span<std::uint8_t>(bytes.data() + at, n));
    }
}

// ---- keep-alive boundaries -------------------------------------------------------------------

struct KeepAliveCase {
    std::string name;
    std::uint8_t level;
    std::uint16_t requested;
    std::uint16_t granted;  // what the broker must parse
};

class KeepAliveClampTest : public ::testing::TestWithParam<KeepAliveCase> {};

TEST_P(KeepAliveClampTest, RewritesKeepAliveBeforeTheBrokerParsesIt) {
    const auto& c = GetParam();
    Bytes connect = Connect(c.level, c.requested);
    MqttFramer framer;
    framer.Feed(connect);
    ASSERT_TRUE(framer.HasKeepAlive());
    EXPECT_EQ(framer.ProtocolLevel(), c.level);
    EXPECT_EQ(framer.RequestedKeepAlive(), c.requested);
    EXPECT_EQ(framer.GrantedKeepAlive(), c.granted);
    EXPECT_EQ(KeepAliveIn(connect, c.level), c.granted);
    EXPECT_EQ(framer.Packets(), 1u);
    // Nothing else in the packet changed.
    Bytes expected = Connect(c.level, c.granted);
    EXPECT_EQ(connect, expected);
}

INSTANTIATE_TEST_SUITE_P(
    AwsIotQuota, KeepAliveClampTest,
    ::testing::Values(
        // MQTT 3.1.1 (level 4): 0 or > 1200 -> 1200; 1..29 -> 30 (AWS IoT Core quotas).
        KeepAliveCase{"V4Zero", 4, 0, 1200}, KeepAliveCase{"V4One", 4, 1, 30},
        KeepAliveCase{"V4TwentyNine", 4, 29, 30}, KeepAliveCase{"V4Thirty", 4, 30, 30},
        KeepAliveCase{"V4Sixty", 4, 60, 60}, KeepAliveCase{"V4TwelveHundred", 4, 1200, 1200},
        KeepAliveCase{"V4TwelveHundredOne", 4, 1201, 1200}, KeepAliveCase{"V4Max", 4, 65535, 1200},
        // MQTT 3.1 (level 3, "MQIsdp"): the same rule.
        KeepAliveCase{"V3Five", 3, 5, 30}, KeepAliveCase{"V3Zero", 3, 0, 1200},
        // MQTT 5: 1..29 -> 30 here; 0 and > 1200 are left to mosquitto's max_keepalive.
        KeepAliveCase{"V5Zero", 5, 0, 0}, KeepAliveCase{"V5One", 5, 1, 30},
        KeepAliveCase{"V5TwentyNine", 5, 29, 30}, KeepAliveCase{"V5Thirty", 5, 30, 30},
        KeepAliveCase{"V5TwelveHundred", 5, 1200, 1200},
        KeepAliveCase{"V5TwelveHundredOne", 5, 1201, 1201},
        KeepAliveCase{"V5Max", 5, 65535, 65535}),
    [](const auto& test_case) { return test_case.param.name; });

TEST(KeepAliveClampRuleTest, MatchesTheBrokerCoreRuleForEveryValue) {
    for (std::uint32_t v = 0; v <= 65535; ++v) {
        const auto requested = static_cast<std::uint16_t>(v);
        ASSERT_EQ(ClampKeepAliveV311(requested),
                  sim::broker::ClampKeepAlive(std::chrono::seconds{requested}).count())
            << v;
        if (v != 0 && v <= 1200) {
            ASSERT_EQ(ClampKeepAliveV5(requested), ClampKeepAliveV311(requested)) << v;
        }
    }
}

// ---- every split point of a CONNECT ----------------------------------------------------------

struct SplitCase {
    std::string name;
    std::uint8_t level;
    std::uint16_t requested;
    std::size_t padding;  // 0: 1-byte remaining length; 200: 2 bytes
};

class ConnectSplitTest : public ::testing::TestWithParam<SplitCase> {};

// What the broker gets when the keep-alive's two bytes come in two reads.
std::uint16_t SplitGrant(std::uint8_t level, std::uint16_t requested) {
    if (level == 5) {
        return ClampKeepAliveV5(requested);
    }
    return requested == 0 ? std::uint16_t{0} : ClampKeepAliveV311(requested);
}

TEST_P(ConnectSplitTest, EverySplitPointClampsOrReportsWhatTheBrokerParsed) {
    const auto& c = GetParam();
    const Bytes original = Connect(c.level, c.requested, c.padding);
    const std::size_t keepalive_at = KeepAliveOffset(original, c.level);
    const std::uint16_t wanted =
        c.level == 5 ? ClampKeepAliveV5(c.requested) : ClampKeepAliveV311(c.requested);
    for (std::size_t split = 1; split < original.size(); ++split) {
        Bytes connect = original;
        MqttFramer framer;
        framer.Feed(std::span<std::uint8_t>(connect.data(), split));
        framer.Feed(std::span<std::uint8_t>(connect.data() + split, connect.size() - split));
        ASSERT_TRUE(framer.HasKeepAlive()) << "split " << split;
        EXPECT_EQ(framer.RequestedKeepAlive(), c.requested) << "split " << split;
        EXPECT_EQ(framer.Packets(), 1u) << "split " << split;
        // The framer reports exactly what ended up in the bytes the broker parses.
        EXPECT_EQ(KeepAliveIn(connect, c.level), framer.GrantedKeepAlive()) << "split " << split;
        if (split == keepalive_at + 1) {
            // The high byte was already handed over: every clamp but 3.1.1's 0 -> 1200 still
            // works (Not emulated: that one; see SplitKeepAlive).
            EXPECT_EQ(framer.GrantedKeepAlive(), SplitGrant(c.level, c.requested))
                << "split " << split;
        } else {
            EXPECT_EQ(framer.GrantedKeepAlive(), wanted) << "split " << split;
        }
    }
}

TEST_P(ConnectSplitTest, ByteByByteReadsClampLikeOneRead) {
    const auto& c = GetParam();
    Bytes connect = Connect(c.level, c.requested, c.padding);
    MqttFramer framer;
    FeedInChunks(framer, connect, 1);
    ASSERT_TRUE(framer.HasKeepAlive());
    // One byte at a time always splits the keep-alive bytes.
    EXPECT_EQ(framer.GrantedKeepAlive(), SplitGrant(c.level, c.requested));
    EXPECT_EQ(KeepAliveIn(connect, c.level), framer.GrantedKeepAlive());
}

INSTANTIATE_TEST_SUITE_P(ReadSplits, ConnectSplitTest,
                         ::testing::Values(SplitCase{"V4FiveShort", 4, 5, 0},
                                           SplitCase{"V4ZeroShort", 4, 0, 0},
                                           SplitCase{"V4ZeroLongLength", 4, 0, 200},
                                           SplitCase{"V4BigLongLength", 4, 5000, 200},
                                           SplitCase{"V5FiveShort", 5, 5, 0},
                                           SplitCase{"V5FiveLongLength", 5, 5, 200},
                                           SplitCase{"V3TwentyShort", 3, 20, 0}),
                         [](const auto& test_case) { return test_case.param.name; });

// ---- remaining-length varints of 1-4 bytes ---------------------------------------------------

struct LengthCase {
    std::string name;
    std::size_t padding;       // client id padding of the CONNECT
    std::size_t length_bytes;  // expected varint size
};

class RemainingLengthTest : public ::testing::TestWithParam<LengthCase> {};

TEST_P(RemainingLengthTest, FollowsPacketsWhateverTheLengthSize) {
    const auto& c = GetParam();
    Bytes stream = Connect(4, 5, c.padding);
    ASSERT_EQ(KeepAliveOffset(stream, 4), 1 + c.length_bytes + 8);
    // A big PUBLISH of the same size, then a SUBSCRIBE: the framer must land on it. (Over
    // 128 KB a PUBLISH is refused, see RefusalTest: then a PUBACK-typed packet of that size,
    // which the framer follows by its length alone.)
    Bytes publish_body;
    AppendString(publish_body, "dt/x");
    publish_body.resize(c.padding + 20, 0xAB);
    Append(stream, Packet(publish_body.size() > kMaxPublishPayload ? 0x40 : 0x30, publish_body));
    Append(stream, Subscribe(4, 3));
    MqttFramer framer;
    FeedInChunks(framer, stream, 4096);
    EXPECT_FALSE(framer.Broken());
    EXPECT_EQ(framer.GrantedKeepAlive(), 30);
    EXPECT_EQ(framer.Packets(), 3u);
    EXPECT_EQ(framer.LastSubscribeFilters(), 3);
}

INSTANTIATE_TEST_SUITE_P(Varints, RemainingLengthTest,
                         ::testing::Values(LengthCase{"OneByte", 0, 1},
                                           LengthCase{"TwoBytes", 200, 2},
                                           LengthCase{"ThreeBytes", 20'000, 3},
                                           LengthCase{"FourBytes", 2'100'000, 4}),
                         [](const auto& test_case) { return test_case.param.name; });

// ---- filters per SUBSCRIBE -------------------------------------------------------------------

struct SubscribeCase {
    std::string name;
    std::uint8_t level;
    int filters;
    std::size_t property_bytes;
};

class SubscribeCountTest : public ::testing::TestWithParam<SubscribeCase> {};

TEST_P(SubscribeCountTest, CountsTheFiltersOfEachSubscribe) {
    const auto& c = GetParam();
    Bytes stream = Connect(c.level, 60);
    Append(stream, Subscribe(c.level, 1));  // an earlier SUBSCRIBE: the newest one counts
    Append(stream, Packet(0xC0, {}));       // PINGREQ (remaining length 0)
    Append(stream, Subscribe(c.level, c.filters, c.property_bytes));
    for (const std::size_t chunk :
         {std::size_t{1}, std::size_t{3}, std::size_t{7}, stream.size()}) {
        Bytes copy = stream;
        MqttFramer framer;
        FeedInChunks(framer, copy, chunk);
        EXPECT_EQ(framer.LastSubscribeFilters(), c.filters) << "chunk " << chunk;
        EXPECT_EQ(framer.Packets(), 4u) << "chunk " << chunk;
        EXPECT_FALSE(framer.Broken());
        EXPECT_EQ(copy, stream) << "only the CONNECT keep-alive may change (60 does not)";
    }
}

INSTANTIATE_TEST_SUITE_P(
    Filters, SubscribeCountTest,
    ::testing::Values(SubscribeCase{"V4One", 4, 1, 0}, SubscribeCase{"V4Eight", 4, 8, 0},
                      SubscribeCase{"V4Nine", 4, 9, 0}, SubscribeCase{"V3Nine", 3, 9, 0},
                      SubscribeCase{"V5One", 5, 1, 0}, SubscribeCase{"V5Eight", 5, 8, 0},
                      SubscribeCase{"V5NineNoProperties", 5, 9, 0},
                      SubscribeCase{"V5NineWithProperties", 5, 9, 14},
                      SubscribeCase{"V5EightWithLongProperties", 5, 8, 200}),
    [](const auto& test_case) { return test_case.param.name; });

TEST(MqttFramerTest, NoSubscribeYetIsUnknown) {
    Bytes stream = Connect(4, 60);
    MqttFramer framer;
    framer.Feed(stream);
    EXPECT_EQ(framer.LastSubscribeFilters(), -1);
}

// ---- invalid input ---------------------------------------------------------------------------

struct MalformedCase {
    std::string name;
    Bytes bytes;
    bool broken;         // framing lost
    bool has_keepalive;  // a keep-alive was still read
};

class MalformedInputTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedInputTest, NeverCrashesAndChangesNothingItShouldNot) {
    const auto& c = GetParam();
    for (const std::size_t chunk :
         {std::size_t{1}, std::size_t{2}, std::size_t{5}, std::size_t{64}}) {
        Bytes copy = c.bytes;
        MqttFramer framer;
        FeedInChunks(framer, copy, chunk);
        EXPECT_EQ(framer.Broken(), c.broken) << "chunk " << chunk;
        EXPECT_EQ(framer.HasKeepAlive(), c.has_keepalive) << "chunk " << chunk;
        if (!c.has_keepalive) {
            EXPECT_EQ(copy, c.bytes) << "chunk " << chunk;
        }
    }
}

Bytes ConnectWithName(const std::string& name, std::uint8_t level) {
    Bytes body;
    AppendString(body, name);
    Append(body, {level, 0x02, 0x00, 0x05});
    AppendString(body, "c");
    return Packet(0x10, body);
}

INSTANTIATE_TEST_SUITE_P(
    Invalid, MalformedInputTest,
    ::testing::Values(
        MalformedCase{"FiveByteRemainingLength", {0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, true, false},
        MalformedCase{"FirstPacketIsPublish",
                      [] {
                          Bytes b = Packet(0x30, {0x00, 0x01, 'a', 0x00, 0x05});
                          return b;
                      }(),
                      false, false},
        MalformedCase{"UnknownProtocolName", ConnectWithName("MQTX", 4), false, false},
        MalformedCase{"MqttNameWithLevel3", ConnectWithName("MQTT", 3), false, true},
        MalformedCase{"UnknownProtocolLevel", ConnectWithName("MQTT", 9), false, false},
        MalformedCase{"LongProtocolName", ConnectWithName("MQTTMQTT", 4), false, false},
        MalformedCase{"TruncatedConnectBeforeKeepAlive", Packet(0x10, {0x00, 0x04, 'M', 'Q'}),
                      false, false},
        MalformedCase{"ConnectEndsInsideKeepAlive",
                      Packet(0x10, {0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00}), false,
                      false},
        MalformedCase{"SubscribeFilterLongerThanPacket",
                      [] {
                          Bytes b = Connect(4, 60);
                          Append(b, Packet(0x82, {0x00, 0x01, 0xFF, 0xFF, 'a'}));
                          return b;
                      }(),
                      false, true},
        MalformedCase{"HeaderOnly", {0x10}, false, false},
        MalformedCase{"Empty", {}, false, false}),
    [](const auto& test_case) { return test_case.param.name; });

TEST(MqttFramerTest, SecondConnectIsNotRewritten) {
    Bytes stream = Connect(4, 60);
    const Bytes second = Connect(4, 5);
    Append(stream, second);
    MqttFramer framer;
    framer.Feed(stream);
    EXPECT_EQ(framer.RequestedKeepAlive(), 60);
    EXPECT_TRUE(
        std::equal(second.begin(), second.end(), stream.end() - static_cast<long>(second.size())));
}

TEST(MqttFramerTest, RandomBytesNeverCrash) {
    std::mt19937 random(12345);  // fixed seed: the same input every run
    for (int round = 0; round < 2000; ++round) {
        Bytes bytes(static_cast<std::size_t>(random() % 300));
        for (auto& b : bytes) {
            b = static_cast<std::uint8_t>(random());
        }
        if (round % 2 == 0 && !bytes.empty()) {
            bytes[0] = 0x10;  // looks like a CONNECT
        }
        MqttFramer framer;
        FeedInChunks(framer, bytes, 1 + random() % 17);
        EXPECT_LE(framer.Packets(), bytes.size());
    }
}

TEST(MqttFramerTest, SubscribeCountStaysWhenLaterPacketsAreNotSubscribes) {
    Bytes stream = Connect(4, 60);
    Append(stream, Subscribe(4, 9));
    Append(stream, Packet(0xC0, {}));
    Append(stream, Packet(0xA2, {0x00, 0x02, 0x00, 0x01, 'a'}));  // UNSUBSCRIBE
    MqttFramer framer;
    framer.Feed(stream);
    EXPECT_EQ(framer.LastSubscribeFilters(), 9);
}

// ---- refusals: QoS 2 and payloads over 128 KB -------------------------------------------------

// A PUBLISH with `payload_bytes` of payload; MQTT 5 carries `property_bytes` of properties
// (User Property pairs padded to length).
Bytes Publish(std::uint8_t level, int qos, const std::string& topic, std::size_t payload_bytes,
              std::size_t property_bytes = 0) {
    Bytes body;
    AppendString(body, topic);
    if (qos > 0) {
        Append(body, {0x00, 0x09});
    }
    if (level == 5) {
        Append(body, VarInt(property_bytes));
        body.insert(body.end(), property_bytes, 0x01);  // opaque to the framer
    }
    body.insert(body.end(), payload_bytes, 'p');
    return Packet(static_cast<std::uint8_t>(0x30 | (qos << 1)), body);
}

struct RefusalCase {
    std::string name;
    std::uint8_t level;
    Bytes packet;
    Refusal expected;
};

class RefusalTest : public ::testing::TestWithParam<RefusalCase> {};

TEST_P(RefusalTest, RefusesBeforeTheBrokerParsesThePacket) {
    const auto& c = GetParam();
    Bytes stream = Connect(c.level, 60);
    Append(stream, Publish(c.level, 1, "dt/ok", 10));  // an ordinary packet first
    const std::size_t before = stream.size();
    Append(stream, c.packet);
    Append(stream, Packet(0xC0, {}));
    for (const std::size_t chunk : {std::size_t{1}, std::size_t{5}, std::size_t{16384},
                                    stream.size()}) {
        Bytes copy = stream;
        MqttFramer framer;
        FeedInChunks(framer, copy, chunk);
        EXPECT_EQ(framer.GetRefusal(), c.expected) << "chunk " << chunk;
        EXPECT_FALSE(framer.Broken());
        EXPECT_EQ(copy, stream) << "a refusal rewrites nothing";
        if (c.expected == Refusal::kNone) {
            EXPECT_EQ(framer.Packets(), 4u);
        } else {
            EXPECT_EQ(framer.Packets(), 2u) << "stops at the refused packet";
        }
    }
    // Refused by the time the broker has read at most the bytes before the payload.
    if (c.expected != Refusal::kNone) {
        MqttFramer framer;
        Bytes copy = stream;
        std::size_t fed = 0;
        while (!framer.Refused() && fed < copy.size()) {
            framer.Feed(std::span<std::uint8_t>(copy.data() + fed, 1));
            ++fed;
        }
        EXPECT_LE(fed - before, std::size_t{300}) << "refused " << (fed - before)
                                                  << " bytes into the packet";
    }
}

Bytes SubscribeQos(std::uint8_t level, std::uint8_t options) {
    Bytes body{0x00, 0x03};
    if (level == 5) {
        body.push_back(0);
    }
    AppendString(body, "cmd/a");
    body.push_back(0x01);
    AppendString(body, "cmd/b");
    body.push_back(options);
    return Packet(0x82, body);
}

constexpr std::size_t kLimit = kMaxPublishPayload;

INSTANTIATE_TEST_SUITE_P(
    Packets, RefusalTest,
    ::testing::Values(
        RefusalCase{"V4Qos2Publish", 4, Publish(4, 2, "dt/q2", 5), Refusal::kQos2Publish},
        RefusalCase{"V5Qos2Publish", 5, Publish(5, 2, "dt/q2", 5), Refusal::kQos2Publish},
        RefusalCase{"V4Qos2Subscribe", 4, SubscribeQos(4, 0x02), Refusal::kQos2Subscribe},
        RefusalCase{"V5Qos2SubscribeWithOptions", 5, SubscribeQos(5, 0x2E),
                    Refusal::kQos2Subscribe},
        RefusalCase{"V4Qos1Subscribe", 4, SubscribeQos(4, 0x01), Refusal::kNone},
        RefusalCase{"V4PayloadAtLimitQos0", 4, Publish(4, 0, "dt/big", kLimit), Refusal::kNone},
        RefusalCase{"V4PayloadAtLimitQos1", 4, Publish(4, 1, "dt/big", kLimit), Refusal::kNone},
        RefusalCase{"V4PayloadOverLimitQos0", 4, Publish(4, 0, "dt/big", kLimit + 1),
                    Refusal::kPayloadTooLarge},
        RefusalCase{"V4PayloadOverLimitQos1", 4, Publish(4, 1, "dt/big", kLimit + 1),
                    Refusal::kPayloadTooLarge},
        RefusalCase{"V4Payload200KiB", 4, Publish(4, 1, "dt/big", 200 * 1024),
                    Refusal::kPayloadTooLarge},
        RefusalCase{"V4EmptyTopicOverLimit", 4, Publish(4, 1, "", kLimit + 1),
                    Refusal::kPayloadTooLarge},
        RefusalCase{"V5PayloadAtLimitWithProperties", 5, Publish(5, 1, "dt/big", kLimit, 200),
                    Refusal::kNone},
        RefusalCase{"V5PayloadOverLimitWithProperties", 5,
                    Publish(5, 1, "dt/big", kLimit + 1, 200), Refusal::kPayloadTooLarge},
        RefusalCase{"V5PayloadOverLimitQos0", 5, Publish(5, 0, "dt/big", kLimit + 1),
                    Refusal::kPayloadTooLarge},
        RefusalCase{"V4TopicLongerThanPacket", 4,
                    Packet(0x32, {0x7f, 0xff, 'a', 'b', 0x00, 0x01}), Refusal::kNone}),
    [](const auto& test_case) { return test_case.param.name; });

TEST(MqttFramerTest, RefusalReasonsAreTheBrokersWords) {
    EXPECT_STREQ(RefusalReason(Refusal::kQos2Publish), "qos2_not_supported");
    EXPECT_STREQ(RefusalReason(Refusal::kQos2Subscribe), "qos2_not_supported");
    EXPECT_STREQ(RefusalReason(Refusal::kPayloadTooLarge), "payload_too_large");
    EXPECT_STREQ(RefusalReason(Refusal::kNone), "");
}

// The tap reads the client id from the CONNECT it is about to hand the broker (a blackhole for
// that client swallows it): every protocol level, a long id, and every cut-short prefix.
TEST(ConnectClientIdTest, ReadsTheIdOfEveryLevelAndNothingFromAPrefix) {
    for (const int level : {3, 4, 5}) {
        for (const std::size_t padding : {std::size_t{0}, std::size_t{300}}) {
            const Bytes connect = Connect(static_cast<std::uint8_t>(level), 60, padding);
            const std::string expected = "client-" + std::string(padding, 'p');
            const auto id = ConnectClientId(connect);
            ASSERT_TRUE(id) << "level " << level;
            EXPECT_EQ(*id, expected);
            for (std::size_t cut = 0; cut < connect.size(); ++cut) {
                const auto prefix = std::span<const std::uint8_t>(connect.data(), cut);
                const auto partial = ConnectClientId(prefix);
                // The id is the payload's first field: a prefix holds it whole or not at all.
                EXPECT_TRUE(!partial || *partial == expected) << "cut at " << cut;
                EXPECT_EQ(partial.has_value(), cut == connect.size())
                    << "level " << level << " cut at " << cut;
            }
        }
    }
    EXPECT_FALSE(ConnectClientId(Publish(4, 1, "dt/x", 3)));  // not a CONNECT
    EXPECT_FALSE(ConnectClientId(Packet(0x10, {0x00, 0x04, 'M', 'Q'})));  // ends in the name
}

}  // namespace
}  // namespace sim::broker::tap
