// SPDX-License-Identifier: Apache-2.0
#pragma once
// MQTT client helpers for integration tests against a TestBroker (or any mTLS broker on
// loopback): Paho C++ connect options for mutual TLS, the mosquitto_pub/sub TLS arguments, a
// mosquitto_sub in the background, and a Paho client that records every message it receives.
//
// Contracts: nothing here asserts; callers check the returned bools. Every wait is bounded by
// the timeout given. A RecordingClient disconnects (bounded, 2 s) on destruction.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <mqtt/async_client.h>

#include "sim/testing/support.hpp"

namespace sim::testing {

/// "ssl://127.0.0.1:<port>".
std::string SslUri(std::uint16_t port);

/// Paho SSL options for mutual TLS: the server is verified against `server_ca`, `cert` is the
/// client certificate and key.
mqtt::ssl_options PahoTls(const std::filesystem::path& server_ca, const CertFiles& cert);

/// Paho connect options: mutual TLS (PahoTls), 5 s connect timeout, 30 s keep-alive, clean
/// session (3.1.1, `version` 4) or clean start (MQTT 5, `version` 5).
mqtt::connect_options PahoConnectOptions(const std::filesystem::path& server_ca,
                                         const CertFiles& cert, int version = 4);

/// A Paho client to 127.0.0.1:`port` speaking MQTT 3.1.1 (`version` 4) or 5.
std::unique_ptr<mqtt::async_client> PahoClient(std::uint16_t port, const std::string& client_id,
                                               int version = 4);

/// Polls until `client` is disconnected; true when it was within `timeout`.
bool WaitDisconnected(mqtt::async_client& client, std::chrono::milliseconds timeout);

/// mosquitto_pub/sub arguments for mutual TLS to 127.0.0.1:`port`.
std::vector<std::string> MosquittoTlsArgs(std::uint16_t port, const std::filesystem::path& cafile,
                                          const std::string& cert, const std::string& key);

/// Starts `stdbuf -oL mosquitto_sub <tls_args> -V mqttv311 -i <client_id> -t <filter> -v -q 1 -d`
/// (stdout line-buffered so lines arrive live) and waits up to 5 s for its SUBACK; `subscribed`
/// tells whether it came. The subscriber runs until the returned command is destroyed.
std::unique_ptr<BackgroundCommand> StartMosquittoSub(const std::vector<std::string>& tls_args,
                                                     const std::string& filter,
                                                     const std::string& client_id,
                                                     bool& subscribed);

/// A Paho MQTT 3.1.1 client with mutual TLS that records every message it receives.
class RecordingClient {
public:
    using Message = std::pair<std::string, std::string>;  ///< topic, payload

    RecordingClient(std::uint16_t port, const std::filesystem::path& server_ca,
                    const CertFiles& cert, const std::string& client_id);
    /// To `broker`, trusting `pki`'s server CA.
    RecordingClient(const TestBroker& broker, const TestPki& pki, const CertFiles& cert,
                    const std::string& client_id)
        : RecordingClient(broker.port(), pki.ServerCa().cert, cert, client_id) {}
    ~RecordingClient();
    RecordingClient(const RecordingClient&) = delete;
    RecordingClient& operator=(const RecordingClient&) = delete;
    RecordingClient(RecordingClient&&) = delete;
    RecordingClient& operator=(RecordingClient&&) = delete;

    /// Each true when the broker answered within 5 s.
    bool Connect();
    bool Subscribe(const std::string& filter);
    bool Publish(const std::string& topic, const std::string& payload);
    bool Disconnect();
    /// Waits until `count` messages arrived (or the timeout); returns what arrived.
    std::vector<Message> WaitFor(std::size_t count, std::chrono::milliseconds timeout);
    /// The first message received, waiting up to `timeout`; an empty topic on timeout.
    Message WaitMessage(std::chrono::milliseconds timeout);

private:
    mqtt::async_client client_;
    mqtt::connect_options options_;
    std::mutex mutex_;
    std::vector<Message> messages_;
};

}  // namespace sim::testing
