// SPDX-License-Identifier: Apache-2.0
#include "sim/core/posix_io.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <mutex>
#include <system_error>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sim {
namespace {

// The OS reason alone: the caller names what it was reading or writing.
Unexpected<Error> OsError(int error) {
    return MakeError(ErrorCode::kIo, std::generic_category().message(error));
}

}  // namespace

Status WriteAll(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return OsError(errno);
        }
        if (n == 0) {
            return OsError(EIO);
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

Result<std::string> ReadAll(int fd, std::size_t limit) {
    std::string text;
    std::array<char, 4096> buffer{};
    while (text.size() <= limit) {
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n > 0) {
            text.append(buffer.data(), static_cast<std::size_t>(n));
        } else if (n == 0) {
            break;
        } else if (errno != EINTR) {
            return OsError(errno);
        }
    }
    return text;
}

Result<std::uint16_t> FreeTcpPort(std::string_view address) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    const std::string text(address);
    if (::inet_pton(AF_INET, text.c_str(), &sa.sin_addr) != 1) {
        return MakeError(ErrorCode::kInvalidArgument, "'" + text + "' is not an IPv4 address");
    }
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return MakeError(ErrorCode::kUnavailable,
                         text + ": socket: " + std::generic_category().message(errno));
    }
    socklen_t len = sizeof sa;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0;
    const int error = errno;
    ::close(fd);
    if (!ok) {
        return MakeError(ErrorCode::kUnavailable, text + ": cannot bind a port (" +
                                                      std::generic_category().message(error) + ")");
    }
    return static_cast<std::uint16_t>(ntohs(sa.sin_port));
}

void IgnoreSigpipe() {
    static std::once_flag once;
    std::call_once(once, [] { std::signal(SIGPIPE, SIG_IGN); });
}

}  // namespace sim
