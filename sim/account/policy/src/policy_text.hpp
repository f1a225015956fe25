// SPDX-License-Identifier: Apache-2.0
#pragma once
// Internal ASCII helpers shared by the policy sources (not installed).

#include <cstddef>
#include <string_view>

namespace sim::account::detail {

constexpr char AsciiLower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool IEquals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (AsciiLower(a[i]) != AsciiLower(b[i])) {
            return false;
        }
    }
    return true;
}

constexpr bool IStartsWith(std::string_view text, std::string_view prefix) noexcept {
    return text.size() >= prefix.size() && IEquals(text.substr(0, prefix.size()), prefix);
}

constexpr bool IEndsWith(std::string_view text, std::string_view suffix) noexcept {
    return text.size() >= suffix.size() &&
           IEquals(text.substr(text.size() - suffix.size()), suffix);
}

}  // namespace sim::account::detail
