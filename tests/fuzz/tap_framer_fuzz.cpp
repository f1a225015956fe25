// SPDX-License-Identifier: Apache-2.0
// libFuzzer target over the TLS tap's MqttFramer, which parses raw client bytes inside
// mosquitto. Input: one byte choosing the read size (1..64, or everything), then the bytes a
// client sends. Properties: no crash or sanitizer report; at most the two CONNECT keep-alive
// bytes change; the packet count never exceeds the bytes fed; once broken or refused, the
// framer changes nothing more.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "sim/broker/tap/mqtt_framer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::size_t chunk = data[0] == 0 ? size : static_cast<std::size_t>(data[0] % 64) + 1;
    const std::vector<std::uint8_t> original(data + 1, data + size);
    std::vector<std::uint8_t> bytes = original;
    sim::broker::tap::MqttFramer framer;
    std::size_t fed = 0;
    while (fed < bytes.size()) {
        const std::size_t n = std::min(chunk, bytes.size() - fed);
        const bool stopped = framer.Broken() || framer.Refused();
        const std::vector<std::uint8_t> before(bytes.begin() + static_cast<long>(fed),
                                               bytes.begin() + static_cast<long>(fed + n));
        const auto packets = framer.Packets();
        framer.Feed(std::span<std::uint8_t>(bytes.data() + fed, n));
        if (stopped && (packets != framer.Packets() ||
                        !std::equal(before.begin(), before.end(), bytes.begin() +
                                                                      static_cast<long>(fed)))) {
            std::abort();  // a stopped framer observed or changed something
        }
        fed += n;
    }
    std::size_t changed = 0;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        changed += bytes[i] != original[i] ? 1 : 0;
    }
    if (changed > 2 || framer.Packets() > bytes.size()) {
        std::abort();
    }
    // A keep-alive outside 30..1200 was left as is. Except 0 (MQTT 3.1/3.1.1): when its two
    // bytes arrive in two reads the high byte was already handed on (MqttFramer's documented
    // "Not emulated" case, SplitKeepAlive).
    if (framer.HasKeepAlive() && framer.ProtocolLevel() != 5 &&
        framer.RequestedKeepAlive() != 0 &&
        (framer.GrantedKeepAlive() < 30 || framer.GrantedKeepAlive() > 1200) &&
        framer.RequestedKeepAlive() == framer.GrantedKeepAlive()) {
        std::abort();
    }
    return 0;
}
