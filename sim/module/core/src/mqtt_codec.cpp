// SPDX-License-Identifier: Apache-2.0
#include "sim/module/mqtt_codec.hpp"

namespace sim::module::mqtt {

namespace {

constexpr std::size_t kMaxRemaining = 268'435'455;  // §2.2.3: four length bytes

void PutU16(std::string& out, std::uint16_t value) {
    out.push_back(static_cast<char>(value >> 8));
    out.push_back(static_cast<char>(value & 0xFF));
}

bool PutString(std::string& out, std::string_view text) {  // §1.5.3
    if (text.size() > 0xFFFF) {
        return false;
    }
    PutU16(out, static_cast<std::uint16_t>(text.size()));
    out.append(text);
    return true;
}

Result<std::string> Frame(std::uint8_t first, const std::string& body) {
    if (body.size() > kMaxRemaining) {
        return MakeError(ErrorCode::kInvalidArgument, "MQTT packet over 256 MiB");
    }
    std::string out;
    out.reserve(body.size() + 5);
    out.push_back(static_cast<char>(first));
    std::size_t length = body.size();
    do {  // §2.2.3
        auto byte = static_cast<std::uint8_t>(length % 128);
        length /= 128;
        if (length > 0) {
            byte |= 0x80;
        }
        out.push_back(static_cast<char>(byte));
    } while (length > 0);
    out += body;
    return out;
}

std::string FrameSmall(std::uint8_t first, const std::string& body) {
    return *Frame(first, body);  // callers pass a few bytes
}

bool HasWildcard(std::string_view topic) {
    return topic.find_first_of("+#") != std::string_view::npos;
}

class Reader {
public:
    explicit Reader(std::string_view bytes) : bytes_(bytes) {}
    std::optional<std::uint16_t> U16() {
        if (bytes_.size() - at_ < 2) {
            return std::nullopt;
        }
        const auto high = static_cast<std::uint8_t>(bytes_[at_]);
        const auto low = static_cast<std::uint8_t>(bytes_[at_ + 1]);
        at_ += 2;
        return static_cast<std::uint16_t>((high << 8) | low);
    }
    std::optional<std::string> String() {
        const auto length = U16();
        if (!length || bytes_.size() - at_ < *length) {
            return std::nullopt;
        }
        std::string out(bytes_.substr(at_, *length));
        at_ += *length;
        return out;
    }
    std::string Rest() {
        std::string out(bytes_.substr(at_));
        at_ = bytes_.size();
        return out;
    }
    std::size_t Left() const { return bytes_.size() - at_; }

private:
    std::string_view bytes_;
    std::size_t at_ = 0;
};

Unexpected<Error> Malformed(const char* what) {
    return MakeError(ErrorCode::kInvalidArgument, std::string("malformed ") + what);
}

Result<std::uint16_t> DecodeIdOnly(const Packet& packet, PacketType type, const char* name) {
    if (packet.type != type) {
        return MakeError(ErrorCode::kInvalidArgument, std::string("not a ") + name);
    }
    if (packet.body.size() != 2) {
        return Malformed(name);
    }
    Reader reader(packet.body);
    return *reader.U16();
}

}  // namespace

Result<std::string> EncodeConnect(const Connect& connect) {
    std::string body;
    PutString(body, "MQTT");  // §3.1.2.1
    body.push_back(4);        // §3.1.2.2: protocol level 4 = 3.1.1
    std::uint8_t flags = 0;
    if (connect.clean_session) {
        flags |= 0x02;
    }
    if (connect.will) {
        if (connect.will->qos < 0 || connect.will->qos > 2) {
            return MakeError(ErrorCode::kInvalidArgument, "will QoS must be 0, 1 or 2");
        }
        flags |= 0x04;
        flags |= static_cast<std::uint8_t>(connect.will->qos << 3);
        if (connect.will->retain) {
            flags |= 0x20;
        }
    }
    if (!connect.username.empty()) {
        flags |= 0x80;
    }
    body.push_back(static_cast<char>(flags));
    PutU16(body, connect.keep_alive_seconds);
    bool fits = PutString(body, connect.client_id);  // §3.1.3
    if (connect.will) {
        fits = fits && PutString(body, connect.will->topic) && PutString(body, connect.will->payload);
    }
    if (!connect.username.empty()) {
        fits = fits && PutString(body, connect.username);
    }
    if (!fits) {
        return MakeError(ErrorCode::kInvalidArgument, "CONNECT field over 65,535 bytes");
    }
    return Frame(0x10, body);
}

Result<std::string> EncodePublish(std::string_view topic, std::string_view payload, int qos,
                                  bool retain, std::uint16_t packet_id) {
    if (topic.empty() || HasWildcard(topic)) {  // §3.3.2.1
        return MakeError(ErrorCode::kInvalidArgument, "PUBLISH topic empty or with a wildcard");
    }
    if (qos != 0 && qos != 1) {
        return MakeError(ErrorCode::kInvalidArgument, "PUBLISH QoS must be 0 or 1");
    }
    if (qos == 1 && packet_id == 0) {  // §2.3.1
        return MakeError(ErrorCode::kInvalidArgument, "PUBLISH QoS 1 needs a packet id");
    }
    std::string body;
    if (!PutString(body, topic)) {
        return MakeError(ErrorCode::kInvalidArgument, "PUBLISH topic over 65,535 bytes");
    }
    if (qos > 0) {
        PutU16(body, packet_id);
    }
    body.append(payload);
    auto first = static_cast<std::uint8_t>(0x30 | (qos << 1) | (retain ? 1 : 0));
    return Frame(first, body);
}

std::string EncodePubAck(std::uint16_t packet_id) {
    std::string body;
    PutU16(body, packet_id);
    return FrameSmall(0x40, body);
}

Result<std::string> EncodeSubscribe(std::uint16_t packet_id, std::string_view filter, int qos) {
    if (filter.empty() || packet_id == 0 || qos < 0 || qos > 2) {  // §3.8.3
        return MakeError(ErrorCode::kInvalidArgument,
                         "SUBSCRIBE needs a filter, a packet id and QoS 0-2");
    }
    std::string body;
    PutU16(body, packet_id);
    if (!PutString(body, filter)) {
        return MakeError(ErrorCode::kInvalidArgument, "SUBSCRIBE filter over 65,535 bytes");
    }
    body.push_back(static_cast<char>(qos));
    return Frame(0x82, body);  // §3.8.1: flags 0010
}

Result<std::string> EncodeUnsubscribe(std::uint16_t packet_id, std::string_view filter) {
    if (filter.empty() || packet_id == 0) {  // §3.10.3
        return MakeError(ErrorCode::kInvalidArgument, "UNSUBSCRIBE needs a filter and a packet id");
    }
    std::string body;
    PutU16(body, packet_id);
    if (!PutString(body, filter)) {
        return MakeError(ErrorCode::kInvalidArgument, "UNSUBSCRIBE filter over 65,535 bytes");
    }
    return Frame(0xA2, body);  // §3.10.1: flags 0010
}

std::string EncodePingReq() { return FrameSmall(0xC0, {}); }
std::string EncodeDisconnect() { return FrameSmall(0xE0, {}); }

Result<std::optional<Framed>> NextPacket(std::string_view stream, std::size_t max_packet) {
    if (stream.empty()) {
        return std::optional<Framed>();
    }
    const auto first = static_cast<std::uint8_t>(stream[0]);
    const auto type = static_cast<std::uint8_t>(first >> 4);
    const auto flags = static_cast<std::uint8_t>(first & 0x0F);
    if (type == 0 || type == 15) {
        return MakeError(ErrorCode::kInvalidArgument, "reserved MQTT packet type");
    }
    // §2.2.2: every packet but PUBLISH has fixed flags.
    const bool two = type == 6 || type == 8 || type == 10;
    if (type != 3 && flags != (two ? 2 : 0)) {
        return MakeError(ErrorCode::kInvalidArgument, "wrong fixed-header flags");
    }
    std::size_t length = 0;
    std::size_t multiplier = 1;
    std::size_t at = 1;
    while (true) {
        if (at >= stream.size()) {
            return std::optional<Framed>();
        }
        if (at > 4) {
            return MakeError(ErrorCode::kInvalidArgument, "remaining length over four bytes");
        }
        const auto byte = static_cast<std::uint8_t>(stream[at++]);
        length += (byte & 0x7F) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) == 0) {
            break;
        }
    }
    if (length > max_packet) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "packet of " + std::to_string(length) + " bytes over the limit");
    }
    if (stream.size() - at < length) {
        return std::optional<Framed>();
    }
    Framed framed;
    framed.packet.type = static_cast<PacketType>(type);
    framed.packet.flags = flags;
    framed.packet.body.assign(stream.substr(at, length));
    framed.consumed = at + length;
    return std::optional<Framed>(std::move(framed));
}

Result<ConnAck> DecodeConnAck(const Packet& packet) {
    if (packet.type != PacketType::kConnAck) {
        return MakeError(ErrorCode::kInvalidArgument, "not a CONNACK");
    }
    if (packet.body.size() != 2 || (static_cast<std::uint8_t>(packet.body[0]) & 0xFE) != 0) {
        return Malformed("CONNACK");  // §3.2.2.1: bits 7-1 reserved
    }
    ConnAck ack;
    ack.session_present = (packet.body[0] & 1) != 0;
    ack.return_code = static_cast<std::uint8_t>(packet.body[1]);
    if (ack.return_code > 5) {
        return Malformed("CONNACK return code");
    }
    return ack;
}

Result<Publish> DecodePublish(const Packet& packet) {
    if (packet.type != PacketType::kPublish) {
        return MakeError(ErrorCode::kInvalidArgument, "not a PUBLISH");
    }
    Publish publish;
    publish.retain = (packet.flags & 1) != 0;
    publish.qos = (packet.flags >> 1) & 3;
    publish.dup = (packet.flags & 8) != 0;
    if (publish.qos == 3) {  // §3.3.1.2
        return Malformed("PUBLISH QoS");
    }
    Reader reader(packet.body);
    auto topic = reader.String();
    if (!topic || topic->empty() || HasWildcard(*topic)) {
        return Malformed("PUBLISH topic");
    }
    publish.topic = std::move(*topic);
    if (publish.qos > 0) {
        const auto id = reader.U16();
        if (!id || *id == 0) {
            return Malformed("PUBLISH packet id");
        }
        publish.packet_id = *id;
    }
    publish.payload = reader.Rest();
    return publish;
}

Result<std::uint16_t> DecodePubAck(const Packet& packet) {
    return DecodeIdOnly(packet, PacketType::kPubAck, "PUBACK");
}

Result<SubAck> DecodeSubAck(const Packet& packet) {
    if (packet.type != PacketType::kSubAck) {
        return MakeError(ErrorCode::kInvalidArgument, "not a SUBACK");
    }
    Reader reader(packet.body);
    const auto id = reader.U16();
    if (!id || reader.Left() == 0) {
        return Malformed("SUBACK");
    }
    SubAck ack;
    ack.packet_id = *id;
    for (const char c : reader.Rest()) {
        const auto code = static_cast<std::uint8_t>(c);
        if (code > 2 && code != 0x80) {  // §3.9.3
            return Malformed("SUBACK return code");
        }
        ack.return_codes.push_back(code);
    }
    return ack;
}

Result<std::uint16_t> DecodeUnsubAck(const Packet& packet) {
    return DecodeIdOnly(packet, PacketType::kUnsubAck, "UNSUBACK");
}

}  // namespace sim::module::mqtt
