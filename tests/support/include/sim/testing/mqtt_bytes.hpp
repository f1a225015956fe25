// SPDX-License-Identifier: Apache-2.0
#pragma once
// MQTT packet bytes for tests that write packets by hand (unit tests of the TLS tap's framer,
// the raw TLS client of the MQTT-limits integration test). Header-only and pure; target
// sim::test_mqtt_bytes. Encodings: MQTT 3.1.1 §1.5.3 (UTF-8 string: 2-byte big-endian length,
// then the bytes) and §2.2.3 (remaining length: 7 bits a byte, high bit = more follow).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sim::testing {

using MqttBytes = std::vector<std::uint8_t>;

/// The variable-length "remaining length" of `value` (1-4 bytes for values below 2^28).
inline MqttBytes VarInt(std::size_t value) {
    MqttBytes out;
    do {
        auto byte = static_cast<std::uint8_t>(value % 128);
        value /= 128;
        if (value > 0) {
            byte = static_cast<std::uint8_t>(byte | 0x80);
        }
        out.push_back(byte);
    } while (value > 0);
    return out;
}

/// Appends `more` to `out`.
inline void Append(MqttBytes& out, const MqttBytes& more) {
    out.insert(out.end(), more.begin(), more.end());
}

/// Appends `text` as an MQTT string (length-prefixed; `text` must be shorter than 64 KiB).
inline void AppendString(MqttBytes& out, const std::string& text) {
    out.push_back(static_cast<std::uint8_t>(text.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(text.size() & 0xff));
    out.insert(out.end(), text.begin(), text.end());
}

/// A whole packet: the fixed header byte, the remaining length, then `body`.
inline MqttBytes Packet(std::uint8_t header, const MqttBytes& body) {
    MqttBytes out{header};
    Append(out, VarInt(body.size()));
    Append(out, body);
    return out;
}

}  // namespace sim::testing
