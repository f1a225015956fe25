// SPDX-License-Identifier: Apache-2.0
#include "sim/module/errors.hpp"

#include <array>

namespace sim::module {

namespace {

// Index = error number; texts as printed in PG-CMD Table 1.
constexpr std::array<std::string_view, kMaxAtError + 1> kTexts = {
    "",
    "OVERFLOW",
    "PARSE ERROR",
    "COMMAND NOT FOUND",
    "PARAMETER ERROR",
    "INVALID ESCAPE",
    "NO CONNECTION",
    "OUT OF RANGE",
    "PARAMETER UNDEFINED",
    "INVALID KEY LENGTH",
    "INVALID KEY NAME",
    "UNKNOWN KEY",
    "KEY READONLY",
    "KEY WRITEONLY",
    "UNABLE TO CONNECT",
    "TIME NOT AVAILABLE",
    "LOCATION NOT AVAILABLE",
    "MODE NOT AVAILABLE",
    "ACTIVE CONNECTION",
    "HOST IMAGE NOT AVAILABLE",
    "INVALID ADDRESS",
    "INVALID OTA UPDATE",
    "[reserved]",
    "INVALID SIGNATURE",
    "SHADOW ERROR",
    "NOT ALLOWED",
    "INVALID CERTIFICATE",
    "BLE ERROR",
    "CONFIGURATION ERROR",
    "INSUFFICIENT SECURITY",
};

}  // namespace

std::string_view ErrorText(AtError error) noexcept {
    const auto n = static_cast<int>(error);
    if (n < kMinAtError || n > kMaxAtError) {
        return "UNKNOWN ERROR";
    }
    return kTexts[static_cast<std::size_t>(n)];
}

std::string FormatError(AtError error, std::string_view detail) {
    std::string line = "ERR" + std::to_string(static_cast<int>(error)) + " ";
    line += ErrorText(error);
    if (!detail.empty()) {
        line += ' ';
        line += detail;
    }
    return line;
}

std::string FormatConnectError(int hint, std::string_view detail) {
    std::string line = "ERR14 " + std::to_string(hint) + " UNABLE TO CONNECT";
    if (!detail.empty()) {
        line += ' ';
        line += detail;
    }
    return line;
}

}  // namespace sim::module
