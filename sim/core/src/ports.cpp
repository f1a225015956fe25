// SPDX-License-Identifier: Apache-2.0
#include "sim/core/ports.hpp"

#include "sim/core/hex.hpp"

namespace sim {

std::string Random::Hex(std::size_t bytes) {
    std::string raw;
    raw.reserve(bytes);
    while (raw.size() < bytes) {
        std::uint64_t v = Next64();
        for (int i = 0; i < 8 && raw.size() < bytes; ++i) {
            raw.push_back(static_cast<char>(v & 0xff));
            v >>= 8;
        }
    }
    return HexEncode(raw);
}

std::string Random::Uuid4() {
    std::string h = Hex(16);
    h[12] = '4';                                   // version 4
    h[16] = "89ab"[Next64() % 4];                  // RFC 4122 variant
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
           "-" + h.substr(20, 12);
}

double ToEpochSeconds(TimePoint t) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    return static_cast<double>(ms) / 1000.0;
}

std::int64_t ToEpochMillis(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace sim
