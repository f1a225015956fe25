// SPDX-License-Identifier: Apache-2.0
#pragma once
// The ExpressLink error table (PG-CMD Table 1, v1.3) and the formatting of error response lines.
// Pure.

#include <string>
#include <string_view>

namespace sim::module {

/// ExpressLink error numbers. The numeric value is the number printed after `ERR`.
enum class AtError {
    kOverflow = 1,                ///< More bytes received than fit in the receive buffer.
    kParseError = 2,              ///< Command not formatted correctly.
    kCommandNotFound = 3,         ///< Unknown command.
    kParameterError = 4,          ///< Parameter not accepted (bad/missing suffix, value too long).
    kInvalidEscape = 5,           ///< Bad escape sequence.
    kNoConnection = 6,            ///< Command needs an active AWS IoT connection.
    kOutOfRange = 7,              ///< Index out of range (0 or > MaxTopic, ...).
    kParameterUndefined = 8,      ///< Key/entry referenced is empty (e.g. empty Topic#).
    kInvalidKeyLength = 9,        ///< Key longer than 16 characters.
    kInvalidKeyName = 10,         ///< Non-alphanumeric character in key.
    kUnknownKey = 11,             ///< Key not in the dictionary.
    kKeyReadonly = 12,            ///< Key cannot be written.
    kKeyWriteonly = 13,           ///< Key cannot be read.
    kUnableToConnect = 14,        ///< Connection failed (followed by a hint number).
    kTimeNotAvailable = 15,       ///< No time fix.
    kLocationNotAvailable = 16,   ///< No location fix.
    kModeNotAvailable = 17,       ///< Requested mode not supported.
    kActiveConnection = 18,       ///< An active connection prevents the command.
    kHostImageNotAvailable = 19,  ///< Host-OTA command but no valid image.
    kInvalidAddress = 20,         ///< OTA buffer pointer out of bounds.
    kInvalidOtaUpdate = 21,       ///< OTA update failed / none pending.
    kReserved22 = 22,             ///< Reserved (was INVALID QUERY before v1.0).
    kInvalidSignature = 23,       ///< Signature verification failed.
    kShadowError = 24,            ///< Shadow disabled, not initialised, rejected, not onboarded.
    kNotAllowed = 25,             ///< Busy or in a conflicting mode.
    kInvalidCertificate = 26,     ///< Certificate invalid or corrupted (since v1.1.2).
    kBleError = 27,               ///< BLE command failed (since v1.2).
    kConfigurationError = 28,     ///< Required configuration not set (since v1.2).
    kInsufficientSecurity = 29,   ///< BLE characteristic lacks security level.
};

inline constexpr int kMinAtError = 1;
inline constexpr int kMaxAtError = 29;

/// The spec's text for an error ("OVERFLOW", "PARSE ERROR", ...); "[reserved]" for 22.
std::string_view ErrorText(AtError error) noexcept;

/// `ERR{n} {text}` or, with a detail, `ERR{n} {text} {detail}` (no EOL).
std::string FormatError(AtError error, std::string_view detail = {});

/// `ERR14 {hint} UNABLE TO CONNECT[ {detail}]` (PG-CMD 4.7.2.2: the hint follows the number).
std::string FormatConnectError(int hint, std::string_view detail = {});

}  // namespace sim::module
