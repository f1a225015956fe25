// SPDX-License-Identifier: Apache-2.0
#pragma once
// Small POSIX helpers every adapter needs: whole writes and reads on a descriptor (short
// transfers continued, EINTR retried), a TCP port the OS reports free, and SIGPIPE ignored.
// Adapter (system calls). Thread-safe: each call touches only its own descriptor (SIGPIPE: the
// process's disposition, set once).

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "sim/core/result.hpp"

namespace sim {

/// Writes all of `bytes` to `fd`, continuing after short writes and retrying EINTR. Errors:
/// kIo with the OS reason alone ("Broken pipe"; the caller names the file or peer); on a
/// non-blocking descriptor a full buffer (EAGAIN) is an error too. Part of `bytes` may have
/// been written when it fails.
Status WriteAll(int fd, std::string_view bytes);

/// Reads `fd` until end of file, retrying EINTR, and stops early once more than `limit` bytes
/// were read (the text then holds more than `limit` bytes; the caller decides what that
/// means). Errors: kIo with the OS reason alone.
Result<std::string> ReadAll(int fd, std::size_t limit = std::numeric_limits<std::size_t>::max());

/// A TCP port the OS reports free on the IPv4 `address` right now (bind to port 0, read it
/// back, close): free for a moment only, as any such probe. Errors: kInvalidArgument when
/// `address` is not a dotted-quad IPv4 address, kUnavailable when no port can be bound there.
Result<std::uint16_t> FreeTcpPort(std::string_view address);

/// Ignores SIGPIPE for the whole process, from the first call on (later calls do nothing): a
/// write to a socket or pipe whose peer has gone then fails with EPIPE, handled as that
/// write's failure, instead of ending the process. For writes made by libraries that send
/// without MSG_NOSIGNAL (OpenSSL's socket BIO, libmosquitto), from whichever thread.
void IgnoreSigpipe();

}  // namespace sim
