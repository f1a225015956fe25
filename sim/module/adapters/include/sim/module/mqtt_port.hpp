// SPDX-License-Identifier: Apache-2.0
#pragma once
// The narrow MQTT port the module runtime drives (our own interface, not a library's).
// One port per module. Every call is non-blocking; outcomes come back through the sink given at
// construction as interpreter events (MqttConnected, MqttConnectFailed, MqttConnectionLost,
// MqttMessage, MqttSubscribeResult) carrying the attempt number of the call.

#include <functional>

#include "sim/module/interpreter.hpp"

namespace sim::module {

/// Receives events from MQTT threads. Must be thread-safe and must not block for long.
using MqttEventSink = std::function<void(EventBody)>;

class MqttPort {
public:
    virtual ~MqttPort() = default;
    virtual void Connect(const MqttConnect& request) = 0;
    virtual void Disconnect(const MqttDisconnect& request) = 0;
    virtual void Publish(const MqttPublish& request) = 0;
    virtual void Subscribe(const MqttSubscribe& request) = 0;
    virtual void Unsubscribe(const MqttUnsubscribe& request) = 0;
    /// Fault knob: while false, Connect fails at once with hint 2 (no network).
    virtual void SetNetworkAvailable(bool available) = 0;
};

}  // namespace sim::module
