// SPDX-License-Identifier: Apache-2.0
#pragma once
// MQTT 3.1.1 (OASIS standard, 29 October 2014) packet encoding and decoding for the module's
// client: what a client sends (CONNECT, PUBLISH, PUBACK, SUBSCRIBE, UNSUBSCRIBE, PINGREQ,
// DISCONNECT) and what it receives (CONNACK, PUBLISH, PUBACK, SUBACK, UNSUBACK, PINGRESP).
// Pure: bytes in, bytes or values out. Section numbers below are those of the standard.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/result.hpp"

namespace sim::module::mqtt {

enum class PacketType : std::uint8_t {
    kConnect = 1,
    kConnAck = 2,
    kPublish = 3,
    kPubAck = 4,
    kSubscribe = 8,
    kSubAck = 9,
    kUnsubscribe = 10,
    kUnsubAck = 11,
    kPingReq = 12,
    kPingResp = 13,
    kDisconnect = 14,
};

struct Will {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
};

struct Connect {
    std::string client_id;
    std::string username;  ///< Empty: no user name flag.
    std::uint16_t keep_alive_seconds = 60;
    bool clean_session = true;
    std::optional<Will> will;
};

/// §3.1. kInvalidArgument when a string exceeds 65,535 bytes or a QoS is not 0-2.
Result<std::string> EncodeConnect(const Connect& connect);
/// §3.3; `packet_id` is ignored for QoS 0. kInvalidArgument: empty topic, wildcard in the
/// topic, QoS not 0/1, QoS 1 with packet id 0, or a packet over 256 MiB.
Result<std::string> EncodePublish(std::string_view topic, std::string_view payload, int qos,
                                  bool retain, std::uint16_t packet_id);
std::string EncodePubAck(std::uint16_t packet_id);  ///< §3.4
/// §3.8, one topic filter. kInvalidArgument: empty filter, QoS not 0-2, packet id 0.
Result<std::string> EncodeSubscribe(std::uint16_t packet_id, std::string_view filter, int qos);
/// §3.10, one topic filter. kInvalidArgument: empty filter or packet id 0.
Result<std::string> EncodeUnsubscribe(std::uint16_t packet_id, std::string_view filter);
std::string EncodePingReq();     ///< §3.12
std::string EncodeDisconnect();  ///< §3.14

/// One whole control packet: the fixed header's type and flags, and the bytes after the
/// remaining length.
struct Packet {
    PacketType type = PacketType::kConnect;
    std::uint8_t flags = 0;
    std::string body;
};

/// Splits the first packet off a byte stream (§2.2). nullopt = more bytes needed. Errors
/// (kInvalidArgument): a remaining length over four bytes (§2.2.3), over `max_packet`, a
/// reserved packet type (0 or 15), or flags §2.2.2 fixes that differ.
struct Framed {
    Packet packet;
    std::size_t consumed = 0;  ///< Bytes of the stream the packet took.
};
Result<std::optional<Framed>> NextPacket(std::string_view stream, std::size_t max_packet);

struct ConnAck {
    bool session_present = false;
    int return_code = 0;  ///< §3.2.2.3: 0 accepted, 1-5 refused.
};
struct Publish {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
    bool dup = false;
    std::uint16_t packet_id = 0;  ///< 0 for QoS 0.
};
struct SubAck {
    std::uint16_t packet_id = 0;
    std::vector<int> return_codes;  ///< §3.9.3: 0-2 granted QoS, 0x80 failure.
};

/// Decoders of the packets a client receives; each checks the type and the body's length and
/// values (kInvalidArgument names what is wrong).
Result<ConnAck> DecodeConnAck(const Packet& packet);
Result<Publish> DecodePublish(const Packet& packet);
Result<std::uint16_t> DecodePubAck(const Packet& packet);
Result<SubAck> DecodeSubAck(const Packet& packet);
Result<std::uint16_t> DecodeUnsubAck(const Packet& packet);

}  // namespace sim::module::mqtt
