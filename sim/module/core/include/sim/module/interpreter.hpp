// SPDX-License-Identifier: Apache-2.0
#pragma once
// The software ExpressLink module as a pure state machine (a pure core; adapters do the I/O):
//   Step Interpret(const ModuleState&, const Event&)  →  next state + effects.
// Events are bytes from the host link, MQTT outcomes reported by the adapter, and timers.
// Effects are data (write a response line, connect, publish, subscribe, start a timer, persist
// the configuration, move the EVENT pin); adapters execute them in order. No I/O, no clock: the
// adapter stamps every event with the time it observed (`Event::now`).
//
// MQTT sessions are numbered (`attempt`): each MqttConnect effect carries a fresh number and
// every MQTT event must echo it. Events of an older attempt are ignored, so a late callback
// from a session the module already abandoned (RESET, onboarding disconnect) changes nothing.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "sim/core/ports.hpp"
#include "sim/module/at_parser.hpp"
#include "sim/module/config.hpp"
#include "sim/module/events.hpp"

namespace sim::module {

// ---------------------------------------------------------------------------------------------
// Events (inputs)

/// Bytes received on the serial link (any bytes, any chunking).
struct BytesReceived {
    std::string bytes;
};
/// The host side of the link went away (TCP client closed): forget a partial line.
struct LinkDropped {};
/// The MQTT CONNACK arrived (accepted) for `attempt`.
struct MqttConnected {
    std::uint64_t attempt = 0;
};
/// The connection attempt failed before MQTT login completed. `hint` per PG-CMD 4.7.2.2:
/// 2 network, 3 endpoint unreachable/unresolved, 4 TLS, 5 MQTT login (CONNACK refused).
struct MqttConnectFailed {
    std::uint64_t attempt = 0;
    int hint = 3;
    std::string detail;
};
/// An established (or establishing) session was closed by the broker or the network.
struct MqttConnectionLost {
    std::uint64_t attempt = 0;
    std::string reason;
};
/// A PUBLISH from the broker.
struct MqttMessage {
    std::uint64_t attempt = 0;
    std::string topic;
    std::string payload;
};
/// The SUBACK (ok) or a refusal/failure (not ok) of the MqttSubscribe with `request`.
struct MqttSubscribeResult {
    std::uint64_t attempt = 0;
    std::uint64_t request = 0;
    bool ok = false;
};
enum class TimerKind { kSleepWake };
/// A timer started by a StartTimer effect expired.
struct TimerFired {
    TimerKind kind = TimerKind::kSleepWake;
    std::uint64_t generation = 0;
};
/// CONFMODE credential entry finished (a vendor mechanism; the runner injects it).
struct ConfModeCompleted {};
/// Outcome of a DiagPing effect.
struct PingResult {
    bool ok = false;
    std::chrono::milliseconds round_trip{0};
    std::string detail;
};

using EventBody = std::variant<BytesReceived, LinkDropped, MqttConnected, MqttConnectFailed,
                               MqttConnectionLost, MqttMessage, MqttSubscribeResult, TimerFired,
                               ConfModeCompleted, PingResult>;

struct Event {
    sim::TimePoint now;  ///< When the adapter observed it (back-off, TIME?).
    EventBody body;
};

// ---------------------------------------------------------------------------------------------
// Effects (outputs)

/// Write one response line to the host; the adapter appends CR LF (PG-CMD 4.6.1).
struct WriteLine {
    std::string line;
};
struct MqttWill {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
};
/// Open an MQTT 3.1.1 session over mutual TLS. Report MqttConnected or MqttConnectFailed (and
/// later MqttConnectionLost) with the same attempt.
struct MqttConnect {
    std::uint64_t attempt = 0;
    std::string host;   ///< Endpoint host name; the adapter resolves it (unresolved → hint 3).
    std::uint16_t port = 8883;
    std::string sni;    ///< Server name to present and verify: the Endpoint host name.
    std::string client_id;  ///< ThingName (Assumed; the guide does not name it).
    std::string username;   ///< The metrics string of spec 1.1.2 (PG-PROV v1.1.2 11.1.5).
    std::chrono::seconds keep_alive{60};
    std::optional<MqttWill> will;
    std::string root_ca_pem;      ///< Trust store: the RootCA key.
    std::string certificate_pem;  ///< Client certificate: the Certificate key.
};
/// Close the session of `attempt` (no CONLOST is reported back for it).
struct MqttDisconnect {
    std::uint64_t attempt = 0;
};
struct MqttPublish {
    std::uint64_t attempt = 0;
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
};
/// Subscribe; report MqttSubscribeResult with `request`.
struct MqttSubscribe {
    std::uint64_t attempt = 0;
    std::uint64_t request = 0;
    std::string topic;
    int qos = 1;
};
struct MqttUnsubscribe {
    std::uint64_t attempt = 0;
    std::string topic;
};
/// Fire TimerFired{kind, generation} after `after`. Older generations are stale.
struct StartTimer {
    TimerKind kind = TimerKind::kSleepWake;
    std::uint64_t generation = 0;
    std::chrono::milliseconds after{0};
};
/// Store the persistent keys (Config::SerializePersistent) in the module's file.
struct PersistConfig {
    std::string json;
};
/// The EVENT pin changed (high = event queue non-empty).
struct SetEventPin {
    bool high = false;
};
/// `DIAG PING host`: measure reachability, report PingResult.
struct DiagPing {
    std::string host;
};

using Effect = std::variant<WriteLine, MqttConnect, MqttDisconnect, MqttPublish, MqttSubscribe,
                            MqttUnsubscribe, StartTimer, PersistConfig, SetEventPin, DiagPing>;

// ---------------------------------------------------------------------------------------------
// State

enum class LinkState {
    kDisconnected,
    kConnecting,   ///< MqttConnect issued, waiting for CONNACK.
    kRegistering,  ///< CONNACK received, waiting for the reserved-topic SUBACK (hint 6).
    kConnected,
};

struct StoredMessage {
    std::size_t index = 0;  ///< Topic index at arrival (0 = not in the topic list).
    std::string topic;
    std::string payload;
};

struct PendingSubscription {
    std::size_t index = 0;
    std::string topic;
};

struct ModuleState {
    explicit ModuleState(std::shared_ptr<const ModuleProfile> module_profile);

    std::shared_ptr<const ModuleProfile> profile;  ///< Shared, immutable; `config` points into it.
    Config config;
    LineAssembler assembler;
    EventQueue events;
    std::deque<StoredMessage> messages;

    LinkState link = LinkState::kDisconnected;
    bool connect_blocking = false;     ///< CONNECT (answers the line) vs CONNECT! (event).
    bool session_staging = false;      ///< The current session went to the staging endpoint.
    std::uint64_t attempt = 0;         ///< Current MQTT session number.
    std::uint64_t next_request = 1;
    std::uint64_t registration_request = 0;
    std::map<std::uint64_t, PendingSubscription> pending_subscriptions;

    std::deque<AssembledLine> pending_lines;  ///< Lines received while a command blocks.
    bool ping_in_progress = false;
    std::optional<std::string> pem_key;  ///< `CONF {cert}=pem` input in progress.
    std::string pem_buffer;

    bool confmode = false;
    bool sleeping = false;
    std::uint64_t sleep_generation = 0;

    unsigned consecutive_failures = 0;
    sim::TimePoint backoff_until{};
    std::uint64_t backoff_rng = 0;

    bool event_pin = false;  ///< Last level reported with SetEventPin.
    /// The module has a time source: set by its first MQTT connection (the time it took from
    /// the network), kept across RESET, lost at power-off. Until then TIME? answers ERR15.
    bool time_synchronised = false;
};

/// A freshly powered module: persistent keys at their factory values (restore saved ones with
/// `state.config.RestorePersistent`), one STARTUP event queued, EVENT pin high.
ModuleState PowerOn(std::shared_ptr<const ModuleProfile> profile);

struct Step {
    ModuleState next;
    std::vector<Effect> effects;
};

/// The pure transition function.
Step Interpret(const ModuleState& state, const Event& event);
/// The same transition applied in place (what adapters use: no state copy).
std::vector<Effect> Apply(ModuleState& state, const Event& event);

/// True while the module cannot take a new command line (blocking CONNECT, DIAG PING).
bool IsBusy(const ModuleState& state);
/// True when Endpoint differs from the factory (staging) endpoint (PG-PROV 12.3.2).
bool IsOnboarded(const ModuleState& state);

/// The MQTT username: `?SDK=..&SDKVersion=..&Platform=ExpressLink&Metadata=(Vendor=..; ...)`
/// (spec v1.1.2 11.1.5): metadata at most 256 characters, CustomName truncated first.
std::string MetricsUsername(const ModuleProfile& profile, std::string_view custom_name);

/// MQTT 3.1.1 topic-filter matching (`+`, `#`); used to assign MSG topic indices.
bool TopicMatches(std::string_view filter, std::string_view topic);

/// `YYYY/MM/DD hh:mm:ss.xx` in UTC (TIME?).
std::string FormatTime(sim::TimePoint now);
/// The whole TIME? answer for a synchronised module: `OK date YYYY/MM/DD time hh:mm:ss.xx
/// SNTP` (kWords) or `OK YYYY/MM/DD hh:mm:ss.xx SNTP` (kPlaceholders).
std::string FormatTimeAnswer(sim::TimePoint now, ModuleProfile::TimeForm form);

}  // namespace sim::module
