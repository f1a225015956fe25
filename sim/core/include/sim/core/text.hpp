// SPDX-License-Identifier: Apache-2.0
#pragma once
// Text for one-line messages. Pure, header-only.
#include <string>
#include <string_view>

namespace sim {

/// `text` with every ASCII control character written as an escape ("\n", "\t", "\x0b"), so a
/// message quoting outside text (a parser's error, a user's value) stays one printable line.
inline std::string OneLine(std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\r') {
            out += "\\r";
        } else if (byte < 0x20 || byte == 0x7f) {
            out += "\\x";
            out += kHex[byte >> 4];
            out += kHex[byte & 0x0f];
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace sim
