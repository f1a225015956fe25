// SPDX-License-Identifier: Apache-2.0
// sim::module::mqtt: MQTT 3.1.1 encoding and decoding, as tables of bytes from the standard's
// packet layouts, including invalid inputs.
#include "sim/module/mqtt_codec.hpp"

#include <cctype>
#include <string>

#include <gtest/gtest.h>

namespace mq = sim::module::mqtt;

namespace {

std::string Bytes(std::initializer_list<int> values) {
    std::string out;
    for (const int v : values) {
        out.push_back(static_cast<char>(v));
    }
    return out;
}

template <class Case>
std::string CaseName(const ::testing::TestParamInfo<Case>& param_info) {
    std::string name = param_info.param.name;
    for (auto& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) {
            ch = '_';
        }
    }
    return name;
}

mq::Packet PacketOf(mq::PacketType type, std::uint8_t flags, std::string body) {
    mq::Packet packet;
    packet.type = type;
    packet.flags = flags;
    packet.body = std::move(body);
    return packet;
}

TEST(MqttCodec, ConnectMinimal) {
    mq::Connect connect;
    connect.client_id = "ab";
    connect.keep_alive_seconds = 60;
    auto bytes = mq::EncodeConnect(connect);
    ASSERT_TRUE(bytes) << bytes.error().message;
    // §3.1: fixed header, "MQTT", level 4, flags clean session, keep-alive 60, client id "ab".
    EXPECT_EQ(*bytes, Bytes({0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 2, 'a', 'b'}));
}

TEST(MqttCodec, ConnectWithWillAndUserName) {
    mq::Connect connect;
    connect.client_id = "c";
    connect.username = "u";
    connect.keep_alive_seconds = 300;
    connect.will = mq::Will{"t", "p", 1, true};
    auto bytes = mq::EncodeConnect(connect);
    ASSERT_TRUE(bytes);
    // flags: user name 0x80 | will retain 0x20 | will QoS 1 0x08 | will 0x04 | clean 0x02
    EXPECT_EQ(*bytes, Bytes({0x10, 22, 0, 4, 'M', 'Q', 'T', 'T', 4, 0xAE, 1, 44, 0, 1, 'c', 0, 1,
                             't', 0, 1, 'p', 0, 1, 'u'}));
}

TEST(MqttCodec, ConnectRefusesBadInput) {
    mq::Connect too_long;
    too_long.client_id = std::string(70000, 'x');
    EXPECT_FALSE(mq::EncodeConnect(too_long));
    mq::Connect bad_will;
    bad_will.client_id = "c";
    bad_will.will = mq::Will{"t", "p", 3, false};
    EXPECT_FALSE(mq::EncodeConnect(bad_will));
}

struct PublishCase {
    const char* name;
    std::string topic;
    std::string payload;
    int qos;
    bool retain;
    std::uint16_t id;
    bool ok;
    std::string expected;
};

class MqttPublishEncode : public ::testing::TestWithParam<PublishCase> {};

TEST_P(MqttPublishEncode, Table) {
    const auto& c = GetParam();
    auto bytes = mq::EncodePublish(c.topic, c.payload, c.qos, c.retain, c.id);
    ASSERT_EQ(bytes.has_value(), c.ok) << c.name;
    if (c.ok) {
        EXPECT_EQ(*bytes, c.expected) << c.name;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, MqttPublishEncode,
    ::testing::Values(
        PublishCase{"qos0", "a/b", "hi", 0, false, 0, true,
                    Bytes({0x30, 7, 0, 3, 'a', '/', 'b', 'h', 'i'})},
        PublishCase{"qos1 retain", "t", "", 1, true, 0x0102, true,
                    Bytes({0x33, 5, 0, 1, 't', 1, 2})},
        PublishCase{"empty topic", "", "x", 0, false, 0, false, ""},
        PublishCase{"wildcard plus", "a/+", "x", 0, false, 0, false, ""},
        PublishCase{"wildcard hash", "#", "x", 0, false, 0, false, ""},
        PublishCase{"qos2", "t", "x", 2, false, 1, false, ""},
        PublishCase{"qos1 id 0", "t", "x", 1, false, 0, false, ""}),
    CaseName<PublishCase>);

TEST(MqttCodec, LongPayloadUsesMultiByteLength) {
    const std::string payload(200, 'x');
    auto bytes = mq::EncodePublish("t", payload, 0, false, 0);
    ASSERT_TRUE(bytes);
    // remaining length 203 = 0xCB 0x01 (§2.2.3)
    EXPECT_EQ(bytes->substr(0, 3), Bytes({0x30, 0xCB, 0x01}));
    auto framed = mq::NextPacket(*bytes, 1024);
    ASSERT_TRUE(framed && *framed);
    EXPECT_EQ((*framed)->consumed, bytes->size());
    auto publish = mq::DecodePublish((*framed)->packet);
    ASSERT_TRUE(publish);
    EXPECT_EQ(publish->payload, payload);
}

TEST(MqttCodec, SubscribeUnsubscribePingDisconnect) {
    EXPECT_EQ(*mq::EncodeSubscribe(10, "a/#", 1), Bytes({0x82, 8, 0, 10, 0, 3, 'a', '/', '#', 1}));
    EXPECT_EQ(*mq::EncodeUnsubscribe(11, "a"), Bytes({0xA2, 5, 0, 11, 0, 1, 'a'}));
    EXPECT_EQ(mq::EncodePubAck(0x1234), Bytes({0x40, 2, 0x12, 0x34}));
    EXPECT_EQ(mq::EncodePingReq(), Bytes({0xC0, 0}));
    EXPECT_EQ(mq::EncodeDisconnect(), Bytes({0xE0, 0}));
    EXPECT_FALSE(mq::EncodeSubscribe(0, "a", 1));
    EXPECT_FALSE(mq::EncodeSubscribe(1, "", 1));
    EXPECT_FALSE(mq::EncodeSubscribe(1, "a", 3));
    EXPECT_FALSE(mq::EncodeUnsubscribe(0, "a"));
    EXPECT_FALSE(mq::EncodeUnsubscribe(1, ""));
}

struct FrameCase {
    const char* name;
    std::string stream;
    enum { kMore, kPacket, kError } expected;
    std::size_t consumed;
};

class MqttFraming : public ::testing::TestWithParam<FrameCase> {};

TEST_P(MqttFraming, Table) {
    const auto& c = GetParam();
    auto framed = mq::NextPacket(c.stream, 1000);
    switch (c.expected) {
        case FrameCase::kMore:
            ASSERT_TRUE(framed) << c.name << ": " << framed.error().message;
            EXPECT_FALSE(*framed) << c.name;
            break;
        case FrameCase::kPacket:
            ASSERT_TRUE(framed && *framed) << c.name;
            EXPECT_EQ((*framed)->consumed, c.consumed) << c.name;
            break;
        case FrameCase::kError:
            EXPECT_FALSE(framed) << c.name;
            break;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, MqttFraming,
    ::testing::Values(
        FrameCase{"empty", "", FrameCase::kMore, 0},
        FrameCase{"header only", Bytes({0x20}), FrameCase::kMore, 0},
        FrameCase{"body short", Bytes({0x20, 2, 0}), FrameCase::kMore, 0},
        FrameCase{"connack", Bytes({0x20, 2, 0, 0}), FrameCase::kPacket, 4},
        FrameCase{"connack then more", Bytes({0x20, 2, 0, 0, 0xD0}), FrameCase::kPacket, 4},
        FrameCase{"pingresp", Bytes({0xD0, 0}), FrameCase::kPacket, 2},
        FrameCase{"length continues", Bytes({0x30, 0x80}), FrameCase::kMore, 0},
        FrameCase{"type 0", Bytes({0x00, 0}), FrameCase::kError, 0},
        FrameCase{"type 15", Bytes({0xF0, 0}), FrameCase::kError, 0},
        FrameCase{"suback bad flags", Bytes({0x92, 3, 0, 1, 0}), FrameCase::kError, 0},
        FrameCase{"five length bytes", Bytes({0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}),
                  FrameCase::kError, 0},
        FrameCase{"over limit", Bytes({0x30, 0xE9, 0x07}), FrameCase::kError, 0}),
    CaseName<FrameCase>);

TEST(MqttCodec, DecodeConnAck) {
    auto ok = mq::DecodeConnAck(PacketOf(mq::PacketType::kConnAck, 0, Bytes({0, 0})));
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->return_code, 0);
    auto refused = mq::DecodeConnAck(PacketOf(mq::PacketType::kConnAck, 0, Bytes({0, 5})));
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->return_code, 5);
    auto present = mq::DecodeConnAck(PacketOf(mq::PacketType::kConnAck, 0, Bytes({1, 0})));
    ASSERT_TRUE(present);
    EXPECT_TRUE(present->session_present);
    EXPECT_FALSE(mq::DecodeConnAck(PacketOf(mq::PacketType::kConnAck, 0, Bytes({0, 6}))));
    EXPECT_FALSE(mq::DecodeConnAck(PacketOf(mq::PacketType::kConnAck, 0, Bytes({2, 0}))));
    EXPECT_FALSE(mq::DecodeConnAck(PacketOf(mq::PacketType::kConnAck, 0, Bytes({0}))));
    EXPECT_FALSE(mq::DecodeConnAck(PacketOf(mq::PacketType::kSubAck, 0, Bytes({0, 0}))));
}

TEST(MqttCodec, DecodePublish) {
    auto qos1 = mq::DecodePublish(
        PacketOf(mq::PacketType::kPublish, 0x0B, Bytes({0, 1, 't', 0, 7, 'p', 'l'})));
    ASSERT_TRUE(qos1);
    EXPECT_EQ(qos1->topic, "t");
    EXPECT_EQ(qos1->payload, "pl");
    EXPECT_EQ(qos1->qos, 1);
    EXPECT_TRUE(qos1->retain);
    EXPECT_TRUE(qos1->dup);
    EXPECT_EQ(qos1->packet_id, 7);
    auto qos0 = mq::DecodePublish(PacketOf(mq::PacketType::kPublish, 0, Bytes({0, 1, 't'})));
    ASSERT_TRUE(qos0);
    EXPECT_EQ(qos0->payload, "");
    // Invalid: QoS 3, topic cut short, empty topic, wildcard topic, QoS 1 without an id, id 0.
    EXPECT_FALSE(mq::DecodePublish(PacketOf(mq::PacketType::kPublish, 0x06, Bytes({0, 1, 't', 0, 1}))));
    EXPECT_FALSE(mq::DecodePublish(PacketOf(mq::PacketType::kPublish, 0, Bytes({0, 5, 't'}))));
    EXPECT_FALSE(mq::DecodePublish(PacketOf(mq::PacketType::kPublish, 0, Bytes({0, 0}))));
    EXPECT_FALSE(mq::DecodePublish(PacketOf(mq::PacketType::kPublish, 0, Bytes({0, 1, '#'}))));
    EXPECT_FALSE(mq::DecodePublish(PacketOf(mq::PacketType::kPublish, 0x02, Bytes({0, 1, 't', 0}))));
    EXPECT_FALSE(mq::DecodePublish(PacketOf(mq::PacketType::kPublish, 0x02, Bytes({0, 1, 't', 0, 0}))));
}

TEST(MqttCodec, DecodeAcks) {
    auto sub = mq::DecodeSubAck(PacketOf(mq::PacketType::kSubAck, 0, Bytes({0, 9, 1})));
    ASSERT_TRUE(sub);
    EXPECT_EQ(sub->packet_id, 9);
    EXPECT_EQ(sub->return_codes, std::vector<int>{1});
    auto denied = mq::DecodeSubAck(PacketOf(mq::PacketType::kSubAck, 0, Bytes({0, 9, 0x80})));
    ASSERT_TRUE(denied);
    EXPECT_EQ(denied->return_codes, std::vector<int>{0x80});
    EXPECT_FALSE(mq::DecodeSubAck(PacketOf(mq::PacketType::kSubAck, 0, Bytes({0, 9}))));
    EXPECT_FALSE(mq::DecodeSubAck(PacketOf(mq::PacketType::kSubAck, 0, Bytes({0, 9, 3}))));
    EXPECT_EQ(*mq::DecodePubAck(PacketOf(mq::PacketType::kPubAck, 0, Bytes({1, 2}))), 0x0102);
    EXPECT_FALSE(mq::DecodePubAck(PacketOf(mq::PacketType::kPubAck, 0, Bytes({1}))));
    EXPECT_FALSE(mq::DecodePubAck(PacketOf(mq::PacketType::kUnsubAck, 0, Bytes({1, 2}))));
    EXPECT_EQ(*mq::DecodeUnsubAck(PacketOf(mq::PacketType::kUnsubAck, 0, Bytes({0, 3}))), 3);
    EXPECT_FALSE(mq::DecodeUnsubAck(PacketOf(mq::PacketType::kUnsubAck, 0, Bytes({0, 3, 0}))));
}

}  // namespace
