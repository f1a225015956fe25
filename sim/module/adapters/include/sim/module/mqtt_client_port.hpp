// SPDX-License-Identifier: Apache-2.0
#pragma once
// MqttPort over the module's own MQTT 3.1.1 client on OpenSSL (sim/module/mqtt_codec.hpp),
// driven by the process's one event loop (sim/module/event_loop.hpp): one loop thread serves
// every module of the process, whatever the fleet size.
//
// - TLS: mutual TLS 1.2 or later. The client context is built once per identity (the Certificate
//   and RootCA values plus the birth key, decoded once and kept in memory; nothing is written to
//   disk) and built again only when the Certificate or RootCA key changes. Trust stores decoded
//   from the same RootCA are shared by every module of the process.
// - The Endpoint host is sent as TLS SNI and verified against the server certificate, as real
//   modules do, while the TCP connection goes to the address the resolver (the world's
//   endpoints map) gives for it.
// - Failure hints (PG-CMD 4.7.2.2) come from the stage that failed: no network (fault knob) → 2;
//   the host does not resolve, the TCP connect is refused or fails, or the connect timeout ends
//   it → 3; the TLS handshake fails or times out, or the broker closes the connection after the
//   handshake before any CONNACK (e.g. a JITP first connect, or a TLS 1.3 client certificate the
//   broker rejects after the client finished its handshake) → 4; CONNACK refused, a first packet
//   other than CONNACK, or no CONNACK within the connect timeout → 5. A refused registration
//   SUBACK (hint 6) is decided by the interpreter from MqttSubscribeResult.
// - Timers (connect timeout, keep-alive) run on the TimerService's clock: the world clock when
//   the fleet has one.
// Thread-safety: all methods may be called from any thread; events come from the loop thread.

#include <chrono>
#include <filesystem>
#include <memory>

#include <spdlog/logger.h>

#include "sim/world/endpoints.hpp"
#include "sim/module/mqtt_port.hpp"
#include "sim/module/timer_service.hpp"

namespace sim::module {

struct MqttClientOptions {
    world::Resolver resolver;
    std::filesystem::path private_key_file;  ///< PEM private key of the birth certificate.
    std::chrono::seconds connect_timeout{10};
    /// Connect timeout and keep-alive run here, on its clock. Not owned; must outlive the port.
    /// Null: no connect timeout and no PINGREQ.
    TimerService* timers = nullptr;
    std::shared_ptr<spdlog::logger> logger;  ///< Optional.
};

std::unique_ptr<MqttPort> MakeMqttClientPort(MqttClientOptions options, MqttEventSink sink);

/// Counters of the process's module connections (all ports), for benchmarks and tests.
struct MqttClientStats {
    std::uint64_t connects = 0;        ///< TCP connects started.
    std::uint64_t tls_contexts = 0;    ///< Client TLS contexts built.
    std::uint64_t trust_stores = 0;    ///< RootCA trust stores decoded.
    std::uint64_t keys_decoded = 0;    ///< Private keys decoded.
};
MqttClientStats GetMqttClientStats();

}  // namespace sim::module
