// SPDX-License-Identifier: Apache-2.0
#include "sim/core/net.hpp"

#include <array>
#include <cstddef>

namespace sim {

namespace {

// Parses one dotted-decimal IPv4 address into its four parts; false on any deviation from the
// inet_pton(AF_INET) grammar (see net.hpp).
bool ParseDottedQuad(std::string_view text, std::array<unsigned, 4>& parts) noexcept {
    std::size_t part = 0;
    std::size_t digits = 0;
    unsigned value = 0;
    for (const char c : text) {
        if (c == '.') {
            if (digits == 0 || part == 3) {
                return false;
            }
            parts[part++] = value;
            digits = 0;
            value = 0;
            continue;
        }
        if (c < '0' || c > '9') {
            return false;
        }
        if (digits == 1 && value == 0) {
            return false;  // a leading zero: "01", "00"
        }
        value = value * 10 + static_cast<unsigned>(c - '0');
        if (++digits > 3 || value > 255) {
            return false;
        }
    }
    if (digits == 0 || part != 3) {
        return false;
    }
    parts[3] = value;
    return true;
}

}  // namespace

bool IsLoopbackIpv4(std::string_view text) noexcept {
    std::array<unsigned, 4> parts{};
    return ParseDottedQuad(text, parts) && parts[0] == 127;
}

}  // namespace sim
