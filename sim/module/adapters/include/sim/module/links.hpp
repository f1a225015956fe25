// SPDX-License-Identifier: Apache-2.0
#pragma once
// Serial links between a host and software modules: a pseudo-terminal (what pyserial, screen
// and minicom open), a loopback TCP port, or this process's stdin/stdout. One I/O thread polls
// every link. Output is written non-blocking: if the host does not read, bytes are dropped as
// on a real UART, so a silent host can never wedge a module.
//
// UART pacing (optional): every byte costs 10 bit times at 115200 baud (8N1), about 87 µs,
// in both directions, as on the real serial port (PG-CMD 4.1.1).

#include <cstdint>
#include <memory>
#include <string>

#include "sim/core/result.hpp"
#include "sim/module/software_module.hpp"

namespace sim::module {

class LinkServer {
public:
    explicit LinkServer(bool uart_pacing);
    /// Stops the I/O thread and closes every link.
    ~LinkServer();
    LinkServer(const LinkServer&) = delete;
    LinkServer& operator=(const LinkServer&) = delete;

    /// Opens a pty in raw mode for `module`; returns the /dev/pts/N path hosts open.
    Result<std::string> AttachPty(std::shared_ptr<SoftwareModule> module);
    /// Listens on ip:port (loopback only; port 0 = any free port) for one host at a time; a
    /// new connection replaces the old one. Returns the bound port.
    Result<std::uint16_t> AttachTcp(std::shared_ptr<SoftwareModule> module, const std::string& ip,
                                    std::uint16_t port);
    /// Uses stdin/stdout. `Closed()` turns true at end of input.
    Status AttachStdio(std::shared_ptr<SoftwareModule> module);
    /// True once the stdio link reached end of input.
    bool Closed() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sim::module
