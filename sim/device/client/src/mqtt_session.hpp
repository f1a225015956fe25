// SPDX-License-Identifier: Apache-2.0
#pragma once
// One MQTT 3.1.1 connection over mutual TLS (libmosquitto), driven by the calling thread: no
// network thread of its own, so a device costs one thread however many run at once. Every
// call blocks up to `timeout` and never throws; the text returned says why an operation
// failed ("" when it succeeded).

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/result.hpp"
#include "sim/device/tls_identity.hpp"

struct mosquitto;
struct mosquitto_message;

namespace sim::device::detail {

/// "ssl://host:port" → (host, port). Errors: kInvalidArgument.
sim::Result<std::pair<std::string, int>> SplitUri(const std::string& uri);

class MqttSession {
public:
    MqttSession(std::string host, int port, const std::string& client_id,
                std::shared_ptr<const TlsIdentity> tls, std::chrono::milliseconds timeout);
    ~MqttSession();
    MqttSession(const MqttSession&) = delete;
    MqttSession& operator=(const MqttSession&) = delete;

    /// "" once CONNACK 0 came.
    std::string Connect();
    /// "" when every filter was granted (QoS 1).
    std::string Subscribe(const std::vector<std::string>& filters);
    /// QoS 1; "" on PUBACK.
    std::string Publish(const std::string& topic, const std::string& payload);
    /// The next message on `accepted` or `rejected` (others are dropped), or why none came.
    sim::Result<std::pair<std::string, std::string>> Await(const std::string& accepted,
                                                           const std::string& rejected);
    /// Sends DISCONNECT and closes the connection (nothing when not connected).
    void Disconnect();

private:
    // Runs the network loop until `done()` holds (true) or the timeout passes (false).
    bool RunUntil(const std::function<bool()>& done);
    std::string Timeout(const char* what) const;

    static void OnConnect(mosquitto* mosq, void* self, int rc);
    static void OnDisconnect(mosquitto* mosq, void* self, int rc);
    static void OnSubscribe(mosquitto* mosq, void* self, int mid, int count, const int* granted);
    static void OnPublish(mosquitto* mosq, void* self, int mid);
    static void OnMessage(mosquitto* mosq, void* self, const mosquitto_message* message);

    std::string host_;
    int port_;
    std::shared_ptr<const TlsIdentity> tls_;
    std::chrono::milliseconds timeout_;
    mosquitto* mosq_ = nullptr;
    bool connack_ = false;
    int connack_code_ = -1;
    bool connected_ = false;
    bool lost_ = false;
    std::string lost_cause_;
    int suback_mid_ = -1;
    std::vector<int> granted_;
    std::set<int> acknowledged_;
    std::deque<std::pair<std::string, std::string>> messages_;
};

}  // namespace sim::device::detail
