// SPDX-License-Identifier: Apache-2.0
#pragma once
// Pure checks on network address text. No sockets, no resolver: a host name is never looked up.

#include <string_view>

namespace sim {

/// True when `text` is an IPv4 address in dotted-decimal form inside 127.0.0.0/8 (the only
/// addresses the project may send traffic to).
///
/// The accepted form is exactly what glibc's inet_pton(AF_INET) accepts, which both former
/// copies of this check used: four decimal parts of 1-3 digits, each 0-255, separated by
/// single dots, no leading zero in a part of more than one digit ("0127.0.0.1" and
/// "127.0.0.01" are refused, so octal-looking text never means something else), nothing
/// before or after. Refused: "", "localhost" (no name is resolved), " 127.0.0.1",
/// "127.0.0.1 ", "127.0.0", "127.0.0.1.5", "127.0.0.256", "127.1" (the inet_aton shorthand),
/// "::1" and every IPv6 form including "::ffff:127.0.0.1", and any text with an embedded NUL.
bool IsLoopbackIpv4(std::string_view text) noexcept;

}  // namespace sim
