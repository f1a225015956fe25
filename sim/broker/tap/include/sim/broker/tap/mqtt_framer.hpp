// SPDX-License-Identifier: Apache-2.0
#pragma once
// MqttFramer: follows the MQTT packets a broker receives on one connection, across arbitrary
// read splits, and applies the two AWS IoT rules that mosquitto 2.0.11 gives plugins no hook for
// (AWS IoT Core endpoints and quotas; AWS IoT Core Developer Guide, 'MQTT'):
//   - the CONNECT keep-alive clamp, by rewriting the two keep-alive bytes in the receive buffer
//     before the broker parses them;
//   - the number of topic filters in each SUBSCRIBE (the plugin refuses more than 8);
//   - the packets AWS IoT closes the connection on before answering anything (Refused()): a
//     QoS 2 PUBLISH, a QoS 2 SUBSCRIBE and a PUBLISH whose payload is over 128 KB. They are
//     seen before the broker has parsed the packet, so the tap can fail the read and the broker
//     closes the connection without a PUBREC, SUBACK or PUBACK.
//
// Contract:
// - Feed() is given every byte the broker reads, in order, in the buffer the broker will parse;
//   it may modify the two CONNECT keep-alive bytes in place and nothing else.
// - Pure: no I/O, allocation-free after construction, never throws, never reads or writes
//   outside the span it is given. Malformed input (bad remaining length, bad lengths inside a
//   packet) makes the framer stop observing (Broken()); the broker disconnects such a client.
//   Once Refused(), the framer observes nothing more either.
// - Not thread-safe: one framer per connection, fed by the thread that reads that connection.
// - Used by libelsim_tls_tap.so (sim/broker/tap/src/tls_tap.cpp), which keeps one framer per
//   SSL object; header-only so the tap depends on nothing but OpenSSL and libdl.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace sim::broker::tap {

/// AWS IoT keep-alive for MQTT 3.1/3.1.1 (AWS IoT Core quotas): 0 or > 1200 s -> 1200 s;
/// 1..29 s -> 30 s. Same rule as sim::broker::ClampKeepAlive (the unit test checks they agree).
constexpr std::uint16_t ClampKeepAliveV311(std::uint16_t requested) noexcept {
    if (requested == 0 || requested > 1200) {
        return 1200;
    }
    return requested < 30 ? std::uint16_t{30} : requested;
}

/// MQTT 5: only 1..29 s -> 30 s here; 0 and > 1200 s are left to mosquitto's
/// `max_keepalive 1200`, which grants 1200 s and tells the client with Server Keep Alive in the
/// CONNACK (MQTT 5 §3.2.2.3.14).
// Assumed: AWS's MQTT 5 keep-alive answer (the quotas give the 3.1.1 rule only): 1..29
// becomes 30 silently (rewritten before mosquitto parses it), 0 or > 1200 becomes 1200 with
// Server Keep Alive 1200 in the CONNACK.
constexpr std::uint16_t ClampKeepAliveV5(std::uint16_t requested) noexcept {
    return requested >= 1 && requested < 30 ? std::uint16_t{30} : requested;
}

/// Why the connection must be closed before the broker answers the packet being read.
enum class Refusal : std::uint8_t { kNone, kQos2Publish, kQos2Subscribe, kPayloadTooLarge };

/// The reason word the broker logs for a refusal ("" for kNone).
constexpr const char* RefusalReason(Refusal refusal) noexcept {
    switch (refusal) {
        case Refusal::kQos2Publish:
        case Refusal::kQos2Subscribe:
            return "qos2_not_supported";
        case Refusal::kPayloadTooLarge:
            return "payload_too_large";
        case Refusal::kNone:
            break;
    }
    return "";
}

/// AWS IoT Core endpoints and quotas, "Message broker and protocol limits and quotas": the
/// payload of a PUBLISH is at most 128 KB; larger publish requests are rejected ("MQTT message
/// payload": the client gets a CLIENT_ERROR, reason PAYLOAD_LIMIT_EXCEEDED).
// Assumed: 128 KB means 128 x 1024 bytes, and the payload excludes the topic, the packet
// identifier and MQTT 5 properties.
constexpr std::uint32_t kMaxPublishPayload = 128u * 1024u;

/// The client id of the CONNECT that `bytes` begin with: the first field of its payload, after
/// the fixed header, the protocol name, level, flags, keep-alive and, for MQTT 5, the
/// properties (MQTT 3.1.1 §3.1.2-3.1.3, MQTT 5 §3.1.2-3.1.3). Nothing when `bytes` do not begin
/// with a CONNECT, end before the client id, or are malformed. The view points into `bytes`.
inline std::optional<std::string_view> ConnectClientId(
    std::span<const std::uint8_t> bytes) noexcept {
    std::size_t at = 0;
    auto take = [&](std::size_t count) {
        const bool ok = bytes.size() - at >= count;
        at = ok ? at + count : bytes.size() + 1;
        return ok;
    };
    auto varint = [&](std::uint32_t& value) {
        value = 0;
        for (int shift = 0; shift < 28; shift += 7) {
            if (at >= bytes.size()) {
                return false;
            }
            const std::uint8_t b = bytes[at++];
            value |= static_cast<std::uint32_t>(b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                return true;
            }
        }
        return false;
    };
    auto length = [&](std::uint16_t& value) {
        if (bytes.size() - at < 2) {
            return false;
        }
        value = static_cast<std::uint16_t>((bytes[at] << 8) | bytes[at + 1]);
        at += 2;
        return true;
    };
    std::uint32_t remaining = 0;
    std::uint16_t name_length = 0;
    if (bytes.empty() || bytes[0] != 0x10 || !take(1) || !varint(remaining) ||
        !length(name_length) || !take(name_length) || at >= bytes.size()) {
        return std::nullopt;
    }
    const std::uint8_t level = bytes[at];
    if (!take(4)) {  // level, flags, keep-alive
        return std::nullopt;
    }
    if (level == 5) {
        std::uint32_t properties = 0;
        if (!varint(properties) || !take(properties)) {
            return std::nullopt;
        }
    }
    std::uint16_t id_length = 0;
    if (!length(id_length) || bytes.size() - at < id_length) {
        return std::nullopt;
    }
    return std::string_view(reinterpret_cast<const char*>(bytes.data() + at), id_length);
}

class MqttFramer {
public:
    static constexpr std::uint8_t kConnect = 1;
    static constexpr std::uint8_t kPublish = 3;
    static constexpr std::uint8_t kSubscribe = 8;

    /// Observes (and for the CONNECT keep-alive, rewrites) `bytes`, the next bytes received.
    void Feed(std::span<std::uint8_t> bytes) noexcept {
        for (std::size_t i = 0; i < bytes.size() && state_ != State::kBroken && !Refused();) {
            i += Step(bytes, i);
        }
    }

    /// True once the CONNECT's keep-alive was read (it is the first packet).
    bool HasKeepAlive() const noexcept { return keepalive_seen_; }
    /// The keep-alive the client asked for, in seconds (valid when HasKeepAlive()).
    std::uint16_t RequestedKeepAlive() const noexcept { return requested_keepalive_; }
    /// The keep-alive the broker parsed after the rewrite (equal to the request when no rewrite
    /// was needed or possible).
    std::uint16_t GrantedKeepAlive() const noexcept { return granted_keepalive_; }
    /// 3 (MQTT 3.1), 4 (3.1.1), 5, or 0 before a CONNECT was seen / for an unknown protocol.
    std::uint8_t ProtocolLevel() const noexcept { return protocol_level_; }
    /// Topic filters in the most recent complete SUBSCRIBE; -1 before any.
    int LastSubscribeFilters() const noexcept { return last_subscribe_filters_; }
    /// Complete packets seen so far.
    std::uint64_t Packets() const noexcept { return packets_; }
    /// Framing was lost on malformed input; nothing more is observed.
    bool Broken() const noexcept { return state_ == State::kBroken; }
    /// The packet being read must not reach the broker (see Refusal); nothing more is observed.
    bool Refused() const noexcept { return refusal_ != Refusal::kNone; }
    Refusal GetRefusal() const noexcept { return refusal_; }

private:
    enum class State : std::uint8_t { kHeader, kLength, kBody, kBroken };
    // Inside a PUBLISH body (MQTT 3.1.1 §3.3.2, MQTT 5 §3.3.2): topic length, topic, packet
    // identifier (QoS > 0), MQTT 5 property length; the payload is what remains.
    enum class Pub : std::uint8_t { kTopicLength, kTopic, kPacketId, kPropertyLength, kDone };
    // Inside a SUBSCRIBE body (MQTT 3.1.1 §3.8.3, MQTT 5 §3.8.2-3.8.3).
    enum class Sub : std::uint8_t {
        kPacketId,
        kPropertyLength,
        kProperties,
        kFilterLength,
        kFilter,
        kOptions,
    };

    // Consumes bytes from `bytes[at]` on; returns how many (>= 1 unless broken).
    std::size_t Step(std::span<std::uint8_t> bytes, std::size_t at) noexcept {
        switch (state_) {
            case State::kHeader:
                packet_type_ = static_cast<std::uint8_t>(bytes[at] >> 4);
                publish_qos_ = static_cast<std::uint8_t>((bytes[at] >> 1) & 0x03);
                if (packet_type_ == kPublish && publish_qos_ == 2) {
                    // 'MQTT': QoS 0 and 1 only; no PUBACK (here: PUBREC) for QoS 2.
                    // Assumed: the connection is closed, as for other packets AWS refuses.
                    refusal_ = Refusal::kQos2Publish;
                    return 1;
                }
                remaining_ = 0;
                length_shift_ = 0;
                body_offset_ = 0;
                state_ = State::kLength;
                return 1;
            case State::kLength: {
                const std::uint8_t b = bytes[at];
                remaining_ |= static_cast<std::uint32_t>(b & 0x7f) << length_shift_;
                length_shift_ = static_cast<std::uint8_t>(length_shift_ + 7);
                if ((b & 0x80) != 0) {
                    if (length_shift_ >= 28) {
                        state_ = State::kBroken;  // a fifth length byte (MQTT §2.2.3)
                    }
                    return 1;
                }
                BeginBody();
                return 1;
            }
            case State::kBody:
                return Body(bytes, at);
            case State::kBroken:
                break;
        }
        return bytes.size() - at;
    }

    void BeginBody() noexcept {
        // Only the first packet can be the CONNECT (a later one is a protocol error the broker
        // answers by closing the connection).
        in_connect_ = packets_ == 0 && packet_type_ == kConnect;
        in_subscribe_ = packet_type_ == kSubscribe;
        in_publish_ = packet_type_ == kPublish;
        pub_ = Pub::kTopicLength;
        pub_need_ = 2;
        pub_value_ = 0;
        pub_header_ = 0;
        pub_length_shift_ = 0;
        sub_ = Sub::kPacketId;
        sub_count_ = 0;
        sub_need_ = 2;
        sub_length_shift_ = 0;
        if (remaining_ == 0) {
            EndPacket();
        } else {
            state_ = State::kBody;
        }
    }

    void EndPacket() noexcept {
        if (in_subscribe_) {
            last_subscribe_filters_ = sub_count_;
        }
        in_connect_ = false;
        in_subscribe_ = false;
        in_publish_ = false;
        ++packets_;
        state_ = State::kHeader;
    }

    std::size_t Body(std::span<std::uint8_t> bytes, std::size_t at) noexcept {
        const std::size_t available = bytes.size() - at;
        const std::uint32_t left = remaining_ - body_offset_;
        std::size_t take = available < left ? available : static_cast<std::size_t>(left);
        if (in_connect_) {
            take = ConnectBytes(bytes, at, take);
        } else if (in_subscribe_) {
            take = SubscribeBytes(bytes, at, take);
        } else if (in_publish_) {
            take = PublishBytes(bytes, at, take);
        }
        body_offset_ += static_cast<std::uint32_t>(take);
        if (body_offset_ == remaining_ && !Refused()) {
            EndPacket();
        }
        return take;
    }

    // CONNECT variable header (MQTT 3.1.1 §3.1.2, MQTT 5 §3.1.2): protocol name (2-byte length +
    // "MQTT" or "MQIsdp"), protocol level (1), connect flags (1), keep-alive (2, big endian).
    // Looks at one byte at a time until the keep-alive is done, then skips the rest.
    std::size_t ConnectBytes(std::span<std::uint8_t> bytes, std::size_t at,
                             std::size_t take) noexcept {
        const std::uint32_t offset = body_offset_;
        if (offset >= kMaxNameLength + 6 || keepalive_done_) {
            return take;
        }
        const std::uint8_t b = bytes[at];
        if (offset == 0) {
            name_length_ = static_cast<std::uint16_t>(b << 8);
        } else if (offset == 1) {
            name_length_ = static_cast<std::uint16_t>(name_length_ | b);
            if (name_length_ != 4 && name_length_ != 6) {
                keepalive_done_ = true;  // not MQTT 3.1/3.1.1/5: leave it to the broker
            }
        } else if (offset < 2u + name_length_) {
            const char* name = name_length_ == 4 ? "MQTT" : "MQIsdp";
            if (b != static_cast<std::uint8_t>(name[offset - 2])) {
                keepalive_done_ = true;  // not MQTT: the broker refuses it
            }
        } else if (offset == 2u + name_length_) {
            protocol_level_ = (b == 3 || b == 4 || b == 5) ? b : 0;
            if (protocol_level_ == 0) {
                keepalive_done_ = true;
            }
        } else if (offset == 4u + name_length_) {
            KeepAlive(bytes, at);
            return 2 <= take ? 2 : take;
        } else if (offset == 5u + name_length_) {
            // The high byte arrived in an earlier read: only the low byte is still ours.
            SplitKeepAlive(bytes[at]);
        }
        return 1;
    }

    void KeepAlive(std::span<std::uint8_t> bytes, std::size_t at) noexcept {
        const bool both = at + 1 < bytes.size() && body_offset_ + 1 < remaining_;
        if (!both) {
            // The low byte comes with the next read (if any). MQTT 3.1/3.1.1: a high byte above
            // 0x04 means more than 1200 s whatever the low byte is, so 1200's high byte can be
            // written now and its low byte later.
            high_byte_ = bytes[at];
            delivered_high_ = high_byte_;
            if (protocol_level_ != 5 && high_byte_ > (1200 >> 8)) {
                delivered_high_ = 1200 >> 8;
                bytes[at] = delivered_high_;
            }
            return;
        }
        requested_keepalive_ = static_cast<std::uint16_t>((bytes[at] << 8) | bytes[at + 1]);
        granted_keepalive_ = Clamp(requested_keepalive_);
        bytes[at] = static_cast<std::uint8_t>(granted_keepalive_ >> 8);
        bytes[at + 1] = static_cast<std::uint8_t>(granted_keepalive_ & 0xff);
        keepalive_seen_ = true;
        keepalive_done_ = true;
    }

    // Not emulated: MQTT 3.1/3.1.1 keep-alive 0 -> 1200 when the two keep-alive bytes arrive
    // in two reads (the high byte 0x00 was already handed to the broker, and 0x00 could still
    // be 30..255). Real clients write a CONNECT in one TLS record and mosquitto reads the whole
    // CONNECT body with one SSL_read, so it takes a client that splits its CONNECT across TLS
    // records between those two bytes. Every other clamp still works (see KeepAlive).
    void SplitKeepAlive(std::uint8_t& low) noexcept {
        requested_keepalive_ = static_cast<std::uint16_t>((high_byte_ << 8) | low);
        const std::uint16_t wanted = Clamp(requested_keepalive_);
        if ((wanted >> 8) == delivered_high_) {
            low = static_cast<std::uint8_t>(wanted & 0xff);
        }
        granted_keepalive_ = static_cast<std::uint16_t>((delivered_high_ << 8) | low);
        keepalive_seen_ = true;
        keepalive_done_ = true;
    }

    std::uint16_t Clamp(std::uint16_t requested) const noexcept {
        return protocol_level_ == 5 ? ClampKeepAliveV5(requested) : ClampKeepAliveV311(requested);
    }

    // SUBSCRIBE: packet identifier (2), MQTT 5 properties (varint length + bytes), then filters,
    // each a 2-byte length, the filter, and 1 options byte. Counts whole filters.
    std::size_t SubscribeBytes(std::span<std::uint8_t> bytes, std::size_t at,
                               std::size_t take) noexcept {
        switch (sub_) {
            case Sub::kPacketId:
                if (--sub_need_ == 0) {
                    sub_ = protocol_level_ == 5 ? Sub::kPropertyLength : Sub::kFilterLength;
                    sub_need_ = 2;
                    sub_value_ = 0;
                }
                return 1;
            case Sub::kPropertyLength: {
                const std::uint8_t b = bytes[at];
                sub_value_ |= static_cast<std::uint32_t>(b & 0x7f) << sub_length_shift_;
                sub_length_shift_ = static_cast<std::uint8_t>(sub_length_shift_ + 7);
                if ((b & 0x80) != 0) {
                    if (sub_length_shift_ >= 28) {
                        state_ = State::kBroken;
                    }
                    return 1;
                }
                sub_ = sub_value_ == 0 ? Sub::kFilterLength : Sub::kProperties;
                sub_need_ = sub_value_;
                if (sub_ == Sub::kFilterLength) {
                    sub_need_ = 2;
                    sub_value_ = 0;
                }
                return 1;
            }
            case Sub::kProperties:
            case Sub::kFilter: {
                const std::size_t n = take < sub_need_ ? take : static_cast<std::size_t>(sub_need_);
                sub_need_ -= static_cast<std::uint32_t>(n);
                if (sub_need_ == 0) {
                    sub_ = sub_ == Sub::kProperties ? Sub::kFilterLength : Sub::kOptions;
                    sub_need_ = 2;
                    sub_value_ = 0;
                }
                return n;
            }
            case Sub::kFilterLength:
                sub_value_ = (sub_value_ << 8) | bytes[at];
                if (--sub_need_ == 0) {
                    sub_ = sub_value_ == 0 ? Sub::kOptions : Sub::kFilter;
                    sub_need_ = sub_value_;
                }
                return 1;
            case Sub::kOptions:
                if ((bytes[at] & 0x03) == 2) {
                    // 'MQTT': no SUBACK for a QoS 2 subscription.
                    // Assumed: the connection is closed, as for other packets AWS refuses.
                    refusal_ = Refusal::kQos2Subscribe;
                    return take;
                }
                ++sub_count_;
                sub_ = Sub::kFilterLength;
                sub_need_ = 2;
                sub_value_ = 0;
                return 1;
        }
        return take;
    }

    // PUBLISH: reads up to the payload, then checks its size against kMaxPublishPayload.
    std::size_t PublishBytes(std::span<std::uint8_t> bytes, std::size_t at,
                             std::size_t take) noexcept {
        switch (pub_) {
            case Pub::kTopicLength:
            case Pub::kPacketId:
                pub_value_ = (pub_value_ << 8) | bytes[at];
                ++pub_header_;
                if (--pub_need_ == 0) {
                    if (pub_ == Pub::kTopicLength) {
                        pub_ = pub_value_ == 0 ? AfterTopic() : Pub::kTopic;
                        pub_need_ = pub_ == Pub::kTopic ? pub_value_ : 2;
                    } else {
                        pub_ = AfterPacketId();
                    }
                    pub_value_ = 0;
                    CheckPayload();
                }
                return 1;
            case Pub::kTopic: {
                const std::size_t n = take < pub_need_ ? take : static_cast<std::size_t>(pub_need_);
                pub_need_ -= static_cast<std::uint32_t>(n);
                pub_header_ += static_cast<std::uint32_t>(n);
                if (pub_need_ == 0) {
                    pub_ = AfterTopic();
                    pub_need_ = 2;
                    CheckPayload();
                }
                return n;
            }
            case Pub::kPropertyLength: {
                const std::uint8_t b = bytes[at];
                ++pub_header_;
                pub_value_ |= static_cast<std::uint32_t>(b & 0x7f) << pub_length_shift_;
                pub_length_shift_ = static_cast<std::uint8_t>(pub_length_shift_ + 7);
                if ((b & 0x80) != 0) {
                    if (pub_length_shift_ >= 28) {
                        pub_ = Pub::kDone;  // malformed: left to the broker
                    }
                    return 1;
                }
                pub_header_ += pub_value_ > remaining_ ? remaining_ : pub_value_;
                pub_ = Pub::kDone;
                CheckPayload();
                return 1;
            }
            case Pub::kDone:
                break;
        }
        return take;
    }

    Pub AfterTopic() const noexcept {
        if (publish_qos_ != 0) {
            return Pub::kPacketId;
        }
        return protocol_level_ == 5 ? Pub::kPropertyLength : Pub::kDone;
    }
    Pub AfterPacketId() const noexcept {
        return protocol_level_ == 5 ? Pub::kPropertyLength : Pub::kDone;
    }

    // Once everything before the payload is known (kDone), the payload is the rest.
    void CheckPayload() noexcept {
        if (pub_ != Pub::kDone || pub_header_ > remaining_) {
            return;  // not yet, or malformed (left to the broker)
        }
        if (remaining_ - pub_header_ > kMaxPublishPayload) {
            refusal_ = Refusal::kPayloadTooLarge;
        }
    }

    static constexpr std::uint32_t kMaxNameLength = 6;

    State state_ = State::kHeader;
    std::uint8_t packet_type_ = 0;
    std::uint8_t length_shift_ = 0;
    std::uint32_t remaining_ = 0;
    std::uint32_t body_offset_ = 0;
    std::uint64_t packets_ = 0;

    bool in_connect_ = false;
    bool keepalive_done_ = false;
    bool keepalive_seen_ = false;
    std::uint16_t name_length_ = 0;
    std::uint8_t protocol_level_ = 0;  // SUBSCRIBEs parse as MQTT 3.1.1 until a CONNECT says 5
    std::uint8_t high_byte_ = 0;       // as the client sent it
    std::uint8_t delivered_high_ = 0;  // as the broker got it
    std::uint16_t requested_keepalive_ = 0;
    std::uint16_t granted_keepalive_ = 0;

    Refusal refusal_ = Refusal::kNone;
    std::uint8_t publish_qos_ = 0;
    bool in_publish_ = false;
    Pub pub_ = Pub::kTopicLength;
    std::uint8_t pub_length_shift_ = 0;
    std::uint32_t pub_need_ = 0;
    std::uint32_t pub_value_ = 0;
    std::uint32_t pub_header_ = 0;  // body bytes before the payload

    bool in_subscribe_ = false;
    Sub sub_ = Sub::kPacketId;
    std::uint8_t sub_length_shift_ = 0;
    std::uint32_t sub_need_ = 0;
    std::uint32_t sub_value_ = 0;
    int sub_count_ = 0;
    int last_subscribe_filters_ = -1;
};

}  // namespace sim::broker::tap
