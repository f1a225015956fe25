// SPDX-License-Identifier: Apache-2.0
#pragma once
// MqttPort over Paho MQTT C++ 1.2 (async client, MQTT 3.1.1, mutual TLS).
//
// - Trust store = the RootCA key's PEM, key store = the Certificate key's PEM (a chain works),
//   private key = the identity's key file. Paho takes file paths, so PEM values are written
//   once to `cache_dir` under a name derived from their content and shared by all modules.
// - The Endpoint host is resolved through the Resolver and Paho connects to `ssl://IP:port`,
//   verifying the server certificate against that IP (world server certificates carry the
//   addresses as SANs). Not emulated: SNI = Endpoint host name. Paho C 1.3 sends the URI host
//   as SNI and has no override, so the SNI is the IP literal; mosquitto ignores SNI anyway
//   (DESIGN.md, reference/deps.md §4).
// - Failure hints (PG-CMD 4.7.2.2): no network (fault knob) → 2; unresolved host or refused /
//   unreachable TCP → 3; TLS failure or the broker closing before CONNACK (e.g. a JITP first
//   connect) → 4; CONNACK refused, or no CONNACK within connect_timeout at a reachable
//   endpoint → 5. A refused registration SUBACK (hint 6) is decided by
//   the interpreter from MqttSubscribeResult.
// Thread-safety: all methods may be called from any thread; events come from Paho threads.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "sim/module/mqtt_port.hpp"
#include "sim/world/endpoints.hpp"

namespace sim::module {

struct PahoOptions {
    world::Resolver resolver;
    std::filesystem::path private_key_file;  ///< PEM private key of the birth certificate.
    /// Optional: a file holding exactly `*certificate_pem` (the identity's cert.pem). While the
    /// Certificate key still holds that value, Paho reads this file as key store and nothing is
    /// written to `cache_dir` for it. Without it, every module's certificate is staged in
    /// `cache_dir` at its first connect (one file write per module).
    std::filesystem::path certificate_file;
    std::shared_ptr<const std::string> certificate_pem;
    std::filesystem::path cache_dir;         ///< Where PEM files for Paho are written.
    std::chrono::seconds connect_timeout{10};
    std::shared_ptr<spdlog::logger> logger;  ///< Optional.
};

std::unique_ptr<MqttPort> MakePahoMqttPort(PahoOptions options, MqttEventSink sink);

}  // namespace sim::module
