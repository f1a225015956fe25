// SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sim {

/// The value of one hex digit of either case, or -1.
int HexDigitValue(char c) noexcept;

/// Lowercase hex of the bytes ("00ff").
std::string HexEncode(std::span<const std::uint8_t> bytes);
std::string HexEncode(std::string_view bytes);
/// Decodes hex of either case; nullopt on odd length or a non-hex character.
std::optional<std::vector<std::uint8_t>> HexDecode(std::string_view hex);
/// True when `text` is exactly `length` lowercase hex characters.
bool IsLowerHex(std::string_view text, std::size_t length);

/// Base64 (RFC 4648, with padding), used for pagination markers.
std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace sim
