// SPDX-License-Identifier: Apache-2.0
#pragma once
// UTF-8 decoding shared by the renderers (JUnit XML, HTML): malformed input is dropped, never
// passed through.

#include <cstddef>
#include <string_view>

namespace sim::scenario::detail {

// Decodes one UTF-8 sequence at `i`; returns its length and code point, or 0 when malformed.
inline std::size_t DecodeUtf8(std::string_view text, std::size_t i, char32_t& code) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(i);
    std::size_t length = 0;
    if (lead < 0x80) {
        code = lead;
        return 1;
    }
    if ((lead & 0xE0) == 0xC0) {
        length = 2;
        code = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
        length = 3;
        code = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
        length = 4;
        code = lead & 0x07;
    } else {
        return 0;
    }
    if (i + length > text.size()) {
        return 0;
    }
    for (std::size_t k = 1; k < length; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) {
            return 0;
        }
        code = (code << 6) | (byte(i + k) & 0x3F);
    }
    static constexpr char32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kMinimum[length] || code > 0x10FFFF) {
        return 0;  // overlong or out of range
    }
    return length;
}

// Calls visit(code, bytes) for each well-formed UTF-8 sequence of `text`, in order; malformed
// bytes are skipped.
template <class Visit>
void ForEachCodePoint(std::string_view text, Visit visit) {
    std::size_t i = 0;
    while (i < text.size()) {
        char32_t code = 0;
        const std::size_t length = DecodeUtf8(text, i, code);
        if (length == 0) {
            ++i;
            continue;
        }
        visit(code, text.substr(i, length));
        i += length;
    }
}

}  // namespace sim::scenario::detail
