// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include "sim/core/result.hpp"

namespace sim::module {

/// A work-around for Paho C 1.3's receive loop, not part of any module's behaviour.
///
/// Paho C runs every client of a process on one receive thread that blocks in poll() on the
/// clients' sockets for POLLIN with a 1 s timeout; whether a new socket's non-blocking TCP
/// connect has completed (POLLOUT) is only checked, with a zero timeout, before that poll. In
/// a process whose other sockets are quiet, a module's connect therefore waits up to ~1 s
/// before its TLS handshake starts, and a new socket is not polled at all until the current
/// poll returns. The waker is one extra Paho client of the process, connected with its own
/// identity, that publishes a small QoS 1 message to its own topic every `period` while
/// active: the broker's PUBACK makes the receive thread's poll return at least that often.
/// It changes nothing the brokers see of the modules themselves (one more client, on its own
/// client id and topic).
struct PahoWakerOptions {
    std::string uri;                      ///< "ssl://127.x.y.z:port" of a broker of the world.
    std::string client_id;                ///< The waker's thing name (its policy's client id).
    std::string topic;                    ///< A topic the waker may publish on.
    std::filesystem::path root_ca_file;   ///< Trust store (the world's server CA).
    std::filesystem::path certificate_file;
    std::filesystem::path private_key_file;
    std::chrono::milliseconds period{5};  ///< Between two publishes while active.
    /// Connect attempts; a refused attempt is retried after `retry_after` (the first connect of
    /// a certificate to an OEM account is closed by JITP; AWS allows 1 CONNECT/s per client id).
    int attempts = 3;
    std::chrono::milliseconds retry_after{1100};
    std::chrono::seconds connect_timeout{10};
};

class PahoWaker {
public:
    /// Connects (retrying as above) and starts the publishing thread, inactive. Errors:
    /// kInvalidArgument for a URI Paho refuses; kUnavailable "waker <client id>: ..." when no
    /// attempt connected.
    static sim::Result<std::unique_ptr<PahoWaker>> Start(const PahoWakerOptions& options);
    /// Stops the thread and disconnects.
    ~PahoWaker();
    PahoWaker(const PahoWaker&) = delete;
    PahoWaker& operator=(const PahoWaker&) = delete;

    /// Publishes while at least one Activation is alive (nested and concurrent use counted).
    class Activation {
    public:
        explicit Activation(PahoWaker* waker);  ///< nullptr: does nothing.
        ~Activation();
        Activation(const Activation&) = delete;
        Activation& operator=(const Activation&) = delete;

    private:
        PahoWaker* waker_;
    };

    /// Publishes sent and PUBACKs received so far (cost accounting).
    std::size_t Published() const;
    std::size_t Acknowledged() const;

private:
    struct Impl;
    explicit PahoWaker(std::unique_ptr<Impl> impl);
    void Activate();
    void Deactivate();
    std::unique_ptr<Impl> impl_;
};

}  // namespace sim::module
