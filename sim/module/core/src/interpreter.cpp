// SPDX-License-Identifier: Apache-2.0
// The module's state machine, after the AWS IoT ExpressLink Programmer's Guide v1.3. PG-* tags
// name the guide's chapters (PG-CMD commands, PG-EVT events, PG-PROV onboarding; the list is in
// sim/module/README.md), followed by the guide's own section numbers.
#include "sim/module/interpreter.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

namespace sim::module {

namespace {

constexpr std::size_t kMaxPendingLines = 16;  // Assumed: lines typed during a blocking command.

struct Context {
    ModuleState& state;
    const sim::TimePoint now;
    std::vector<Effect>& effects;

    void Write(std::string line) { effects.emplace_back(WriteLine{std::move(line)}); }
    void Error(AtError error, std::string_view detail = {}) {
        Write(FormatError(error, detail));
    }
    void Raise(EventId id, std::uint64_t parameter = 0, std::string detail = {}) {
        state.events.Push(ModuleEvent{id, parameter, std::move(detail)});
    }
    void Persist() { effects.emplace_back(PersistConfig{state.config.SerializePersistent()}); }
};

std::uint64_t SplitMix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto up = [](char c) {
                   return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
               };
               return up(x) == up(y);
           });
}

std::optional<std::uint64_t> ParseDecimal(std::string_view s) {
    std::uint64_t value = 0;
    if (s.empty()) {
        return std::nullopt;
    }
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size()) {
        return std::nullopt;
    }
    return value;
}

std::string ConfigTopic(const ModuleState& state) {
    return state.profile->thing_name + "/expresslink_config";
}

std::string JobsTopic(const ModuleState& state) {
    // The reserved Jobs topic an onboarded module registers for (PG-OTA 9.3, PG-PROV 12.3.2.5).
    return "$aws/things/" + state.profile->thing_name + "/jobs/notify-next";
}

void ProcessLine(Context& ctx, AssembledLine line);

// --- Connection ------------------------------------------------------------------------------

// After a blocking command answered, run the lines the host sent meanwhile.
void DrainPendingLines(Context& ctx) {
    while (!ctx.state.pending_lines.empty() && !IsBusy(ctx.state)) {
        AssembledLine line = std::move(ctx.state.pending_lines.front());
        ctx.state.pending_lines.pop_front();
        ProcessLine(ctx, std::move(line));
    }
}

void ReportConnectOutcome(Context& ctx, int hint, std::string_view detail) {
    if (ctx.state.connect_blocking) {
        ctx.state.connect_blocking = false;
        if (hint == 0) {
            ctx.Write("OK 1 CONNECTED");
        } else {
            ctx.Write(FormatConnectError(hint, detail));
        }
        DrainPendingLines(ctx);
    } else {
        // CONNECT!: the CONNECT event carries the hint, 0 = success (PG-CMD 4.7.1).
        ctx.Raise(EventId::kConnect, static_cast<std::uint64_t>(hint));
    }
}

// A failed attempt: start or lengthen the back-off (Assumed algorithm, see ModuleProfile).
void ConnectFailed(Context& ctx, int hint, std::string_view detail) {
    auto& state = ctx.state;
    state.link = LinkState::kDisconnected;
    state.pending_subscriptions.clear();
    ++state.consecutive_failures;
    const auto& profile = *state.profile;
    const unsigned shift = std::min(state.consecutive_failures - 1, 20U);
    auto delay = profile.backoff_base * (std::int64_t{1} << shift);
    delay = std::min(delay, profile.backoff_max);
    const auto jitter_range = static_cast<std::uint64_t>(delay.count() / 4);
    if (jitter_range > 0) {
        delay += std::chrono::milliseconds{
            static_cast<std::int64_t>(SplitMix64(state.backoff_rng) % jitter_range)};
    }
    state.backoff_until = ctx.now + delay;
    ReportConnectOutcome(ctx, hint, detail);
}

void StartConnect(Context& ctx, bool blocking) {
    auto& state = ctx.state;
    if (state.confmode) {
        // PG-CMD 4.7.5.5 says ERR14, 4.7.2.5 says ERR25; ERR25 NOT ALLOWED is used.
        ctx.Error(AtError::kNotAllowed);
        return;
    }
    if (state.link == LinkState::kConnecting || state.link == LinkState::kRegistering) {
        ctx.Error(AtError::kNotAllowed);  // A CONNECT! is in progress (PG-CMD 4.7.1).
        return;
    }
    if (!blocking) {
        ctx.Write("OK");
    }
    if (state.link == LinkState::kConnected) {
        if (blocking) {
            ctx.Write("OK 1 CONNECTED");
        } else {
            ctx.Raise(EventId::kConnect, 0);
        }
        return;
    }
    if (ctx.now < state.backoff_until) {
        // Too soon after a failure: hint 1, the back-off is not extended (PG-CMD 4.7.1).
        if (blocking) {
            ctx.Write(FormatConnectError(1, "Back-off in progress"));
        } else {
            ctx.Raise(EventId::kConnect, 1);
        }
        return;
    }
    state.connect_blocking = blocking;
    const std::string endpoint = state.config.Value("Endpoint");
    const auto address = ParseEndpoint(endpoint);
    if (!address) {
        ConnectFailed(ctx, 3, "Invalid Endpoint?");  // The spec's own example text.
        return;
    }
    MqttConnect connect;
    connect.attempt = ++state.attempt;
    connect.host = address->host;
    connect.port = address->port;
    connect.sni = address->host;
    connect.client_id = state.profile->thing_name;
    connect.username = MetricsUsername(*state.profile, state.config.Value("CustomName"));
    connect.keep_alive = state.config.KeepAlive();
    if (auto lwt = ParseLwtConfig(state.config.Value("LWTConfig")); lwt && lwt->has_value()) {
        connect.will = MqttWill{(*lwt)->topic, state.config.Value("LWTMessage"), (*lwt)->qos,
                                (*lwt)->retain};
    }
    connect.root_ca_pem = state.config.Value("RootCA");
    connect.certificate_pem = state.profile->certificate_pem;
    state.link = LinkState::kConnecting;
    state.session_staging = !IsOnboarded(state);
    ctx.effects.emplace_back(std::move(connect));
}

// Every connected → not-connected transition raises CONLOST (PG-CMD 4.7.3.2).
void DropSession(Context& ctx, bool tell_adapter) {
    auto& state = ctx.state;
    const bool was_connected = state.link == LinkState::kConnected;
    if (tell_adapter && state.link != LinkState::kDisconnected) {
        ctx.effects.emplace_back(MqttDisconnect{state.attempt});
    }
    state.link = LinkState::kDisconnected;
    state.pending_subscriptions.clear();
    if (was_connected) {
        ctx.Raise(EventId::kConlost);
    }
}

void OnConnected(Context& ctx, const MqttConnected& event) {
    auto& state = ctx.state;
    if (event.attempt != state.attempt || state.link != LinkState::kConnecting) {
        if (event.attempt != state.attempt) {
            ctx.effects.emplace_back(MqttDisconnect{event.attempt});  // An abandoned session.
        }
        return;
    }
    // Not emulated: SNTP itself. The module takes the host clock as its time once it has
    // reached the network (its first MQTT connection).
    state.time_synchronised = true;
    // Staging: the one automatic subscription (PG-PROV 12.3.2). Onboarded: the reserved Jobs
    // topic (PG-OTA 9.3). CONNECT answers only after its SUBACK, so a claim published right after
    // `OK 1 CONNECTED` cannot be missed; a refusal is hint 6.
    std::string topic;
    if (state.session_staging) {
        topic = ConfigTopic(state);
    } else if (state.profile->register_jobs) {
        topic = JobsTopic(state);
    }
    if (topic.empty()) {
        state.link = LinkState::kConnected;
        state.consecutive_failures = 0;
        ReportConnectOutcome(ctx, 0, {});
        return;
    }
    state.link = LinkState::kRegistering;
    state.registration_request = state.next_request++;
    ctx.effects.emplace_back(MqttSubscribe{state.attempt, state.registration_request, topic, 1});
}

void OnSubscribeResult(Context& ctx, const MqttSubscribeResult& event) {
    auto& state = ctx.state;
    if (event.attempt != state.attempt) {
        return;
    }
    if (state.link == LinkState::kRegistering && event.request == state.registration_request) {
        if (event.ok) {
            state.link = LinkState::kConnected;
            state.consecutive_failures = 0;
            ReportConnectOutcome(ctx, 0, {});
        } else {
            ctx.effects.emplace_back(MqttDisconnect{state.attempt});
            ConnectFailed(ctx, 6, "Failed to register for reserved topics");
        }
        return;
    }
    auto it = state.pending_subscriptions.find(event.request);
    if (it == state.pending_subscriptions.end()) {
        return;
    }
    const PendingSubscription pending = it->second;
    state.pending_subscriptions.erase(it);
    // No event if Topic# changed before the ack (PG-MSG SUBSCRIBE).
    if (state.config.Topic(pending.index) == pending.topic) {
        ctx.Raise(event.ok ? EventId::kSuback : EventId::kSubnack, pending.index);
    }
}

void OnConnectFailed(Context& ctx, const MqttConnectFailed& event) {
    auto& state = ctx.state;
    if (event.attempt != state.attempt ||
        (state.link != LinkState::kConnecting && state.link != LinkState::kRegistering)) {
        return;
    }
    const int hint = (event.hint >= 2 && event.hint <= 6) ? event.hint : 4;
    ConnectFailed(ctx, hint, event.detail);
}

void OnConnectionLost(Context& ctx, const MqttConnectionLost& event) {
    auto& state = ctx.state;
    if (event.attempt != state.attempt) {
        return;
    }
    if (state.link == LinkState::kConnecting) {
        ConnectFailed(ctx, 4, event.reason);
    } else if (state.link == LinkState::kRegistering) {
        ConnectFailed(ctx, 6, "Connection dropped while registering for reserved topics");
    } else if (state.link == LinkState::kConnected) {
        DropSession(ctx, false);
    }
}

void StoreMessage(Context& ctx, std::size_t index, std::string topic, std::string payload) {
    auto& state = ctx.state;
    ctx.Raise(EventId::kMsg, index);
    if (state.messages.size() >= state.profile->max_messages) {
        // The message is lost and OVERRUN is queued; MSG events may then outnumber the stored
        // messages (PG-MSG "Queue overflow").
        ctx.Raise(EventId::kOverrun, 0, Escape(topic));
        return;
    }
    state.messages.push_back(StoredMessage{index, std::move(topic), std::move(payload)});
}

// PG-PROV 12.3.2: the onboarding message on <ThingName>/expresslink_config while in staging.
void OnConfigMessage(Context& ctx, const MqttMessage& message) {
    auto& state = ctx.state;
    std::optional<std::string> endpoint;
    const auto json = nlohmann::json::parse(message.payload, nullptr, false);
    if (!json.is_discarded() && json.is_object() && json.contains("Endpoint") &&
        json["Endpoint"].is_string()) {
        const auto& value = json["Endpoint"].get_ref<const std::string&>();
        if (ParseEndpoint(value) && value.size() <= 128) {
            endpoint = value;
        }
    }
    // MSG 0 + GET0 in every case (step 4). Assumed: a message without a usable Endpoint
    // (invalid JSON, missing/empty/malformed value) changes nothing else.
    StoreMessage(ctx, 0, message.topic, message.payload);
    if (!endpoint) {
        return;
    }
    state.config.SetInternal("Endpoint", *endpoint);
    ctx.Persist();
    // Step 5: the module disconnects by itself → CONLOST (after the MSG event, as listed).
    DropSession(ctx, true);
}

void OnMessage(Context& ctx, const MqttMessage& message) {
    auto& state = ctx.state;
    if (message.attempt != state.attempt ||
        (state.link != LinkState::kConnected && state.link != LinkState::kRegistering)) {
        return;
    }
    if (state.session_staging && message.topic == ConfigTopic(state)) {
        OnConfigMessage(ctx, message);
        return;
    }
    if (!state.session_staging && message.topic.rfind("$aws/things/", 0) == 0 &&
        message.topic.find("/jobs/") != std::string::npos) {
        // Not emulated: OTA and Jobs processing; reserved-topic traffic is consumed silently.
        return;
    }
    std::size_t index = 0;
    for (std::size_t i = 1; i <= state.profile->max_topic; ++i) {
        const std::string filter = state.config.Topic(i);
        if (!filter.empty() && TopicMatches(filter, message.topic)) {
            index = i;
            break;
        }
    }
    StoreMessage(ctx, index, message.topic, message.payload);
}

// --- Commands --------------------------------------------------------------------------------

// Suffix and parameter shape checks shared by commands (PG-CMD 4.2: ERR4).
bool RejectSuffix(Context& ctx, const Command& command) {
    if (command.index) {
        ctx.Error(AtError::kParameterError);
        return true;
    }
    return false;
}

bool RejectParameter(Context& ctx, const Command& command) {
    if (command.parameter) {
        ctx.Error(AtError::kParameterError);  // Assumed: a parameter where none is defined.
        return true;
    }
    return false;
}

// Topic# checks for SEND/SUBSCRIBE/UNSUBSCRIBE/GET#: ERR4 missing suffix, ERR7, ERR8.
std::optional<std::size_t> TopicIndex(Context& ctx, const Command& command) {
    if (!command.index) {
        ctx.Error(AtError::kParameterError);
        return std::nullopt;
    }
    if (*command.index < 1 || *command.index > ctx.state.profile->max_topic) {
        ctx.Error(AtError::kOutOfRange);
        return std::nullopt;
    }
    const auto index = static_cast<std::size_t>(*command.index);
    if (ctx.state.config.Topic(index).empty()) {
        ctx.Error(AtError::kParameterUndefined);
        return std::nullopt;
    }
    return index;
}

bool RequireConnection(Context& ctx) {
    if (ctx.state.link != LinkState::kConnected) {
        ctx.Error(AtError::kNoConnection);
        return false;
    }
    return true;
}

void CmdConnectQuery(Context& ctx, const Command& command) {
    if (RejectSuffix(ctx, command) || RejectParameter(ctx, command)) {
        return;
    }
    const bool connected = ctx.state.link == LinkState::kConnected;
    const bool onboarded = IsOnboarded(ctx.state);
    ctx.Write(std::string("OK ") + (connected ? "1 " : "0 ") + (onboarded ? "1 " : "0 ") +
              (connected ? "CONNECTED " : "DISCONNECTED ") + (onboarded ? "CUSTOMER" : "STAGING"));
}

void CmdDisconnect(Context& ctx, const Command& command) {
    if (RejectSuffix(ctx, command) || RejectParameter(ctx, command)) {
        return;
    }
    if (ctx.state.link == LinkState::kConnecting || ctx.state.link == LinkState::kRegistering) {
        ctx.Error(AtError::kNotAllowed);  // CONNECT! in progress.
        return;
    }
    DropSession(ctx, true);
    ctx.Write("OK 0 DISCONNECTED");
}

void CmdSend(Context& ctx, const Command& command) {
    const auto index = TopicIndex(ctx, command);
    if (!index || !RequireConnection(ctx)) {
        return;
    }
    ctx.effects.emplace_back(MqttPublish{ctx.state.attempt, ctx.state.config.Topic(*index),
                                         command.parameter.value_or(""), ctx.state.config.Qos(),
                                         false});
    ctx.Write("OK");
}

void WriteTwoLineMessage(Context& ctx, const StoredMessage& message) {
    ctx.Write("OK1 " + Escape(message.topic));
    ctx.Write(Escape(message.payload));
}

void CmdGet(Context& ctx, const Command& command) {
    if (RejectParameter(ctx, command)) {
        return;
    }
    auto& messages = ctx.state.messages;
    if (!command.index) {
        // GET: next message on any topic, in arrival order.
        if (messages.empty()) {
            ctx.Write("OK");
            return;
        }
        WriteTwoLineMessage(ctx, messages.front());
        messages.pop_front();
        return;
    }
    if (*command.index == 0) {
        auto it = std::find_if(messages.begin(), messages.end(),
                               [](const StoredMessage& m) { return m.index == 0; });
        if (it == messages.end()) {
            ctx.Write("OK");
            return;
        }
        WriteTwoLineMessage(ctx, *it);
        messages.erase(it);
        return;
    }
    const auto index = TopicIndex(ctx, command);  // Works while disconnected (PG-MSG GET#).
    if (!index) {
        return;
    }
    auto it = std::find_if(messages.begin(), messages.end(),
                           [&](const StoredMessage& m) { return m.index == *index; });
    if (it == messages.end()) {
        ctx.Write("OK");
        return;
    }
    ctx.Write("OK " + Escape(it->payload));
    messages.erase(it);
}

void CmdSubscribe(Context& ctx, const Command& command, bool subscribe) {
    if (RejectParameter(ctx, command)) {
        return;
    }
    const auto index = TopicIndex(ctx, command);
    if (!index || !RequireConnection(ctx)) {
        return;
    }
    auto& state = ctx.state;
    const std::string topic = state.config.Topic(*index);
    // Only the latest request for an index can raise an event (PG-MSG SUBSCRIBE).
    for (auto it = state.pending_subscriptions.begin(); it != state.pending_subscriptions.end();) {
        it = it->second.index == *index ? state.pending_subscriptions.erase(it) : std::next(it);
    }
    if (subscribe) {
        const std::uint64_t request = state.next_request++;
        state.pending_subscriptions[request] = PendingSubscription{*index, topic};
        // Assumed: host subscriptions use QoS 1 (the spec does not say).
        ctx.effects.emplace_back(MqttSubscribe{state.attempt, request, topic, 1});
    } else {
        ctx.effects.emplace_back(MqttUnsubscribe{state.attempt, topic});
    }
    ctx.Write("OK");
}

void WritePem(Context& ctx, const std::string& value) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start <= value.size()) {
        std::size_t end = value.find('\n', start);
        if (end == std::string::npos) {
            end = value.size();
        }
        std::string line = value.substr(start, end - start);
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (!line.empty()) {
            lines.push_back(Escape(line));
        }
        start = end + 1;
    }
    ctx.Write("OK" + std::to_string(lines.size()) + " pem");
    for (auto& line : lines) {
        ctx.Write(std::move(line));
    }
}

void CmdConfQuery(Context& ctx, const Command& command) {
    if (RejectSuffix(ctx, command)) {
        return;
    }
    if (!command.parameter || command.parameter->empty()) {
        ctx.Error(AtError::kParameterError);
        return;
    }
    std::string_view key = *command.parameter;
    std::string_view qualifier;
    if (const auto space = key.find(' '); space != std::string_view::npos) {
        qualifier = key.substr(space + 1);
        key = key.substr(0, space);
    }
    auto value = ctx.state.config.Read(key);
    if (!value) {
        ctx.Error(value.error());
        return;
    }
    if (!qualifier.empty()) {
        // `pem` (case-insensitive since v1.1.2) on certificate keys only (PG-OTA 9.11.2).
        auto info = ctx.state.config.Lookup(key);
        if (!EqualsIgnoreCase(qualifier, "pem") || !info || !info->certificate) {
            ctx.Error(AtError::kParameterError);
            return;
        }
        WritePem(ctx, *value);
        return;
    }
    // Assumed: an empty key answers a bare `OK` (the ExpressLink Programmer's Guide does not say).
    ctx.Write(value->empty() ? std::string("OK") : "OK " + Escape(*value));
}

// `CONF key=value` and the end of a PEM input: write, persist when a persistent key changed.
void WriteKey(Context& ctx, std::string_view key, std::string value) {
    auto written = ctx.state.config.Write(key, std::move(value));
    if (!written) {
        ctx.Error(written.error());
        return;
    }
    if (*written) {
        ctx.Persist();
    }
    ctx.Write("OK");
}

void CmdConf(Context& ctx, const Command& command) {
    if (RejectSuffix(ctx, command)) {
        return;
    }
    if (!command.parameter) {
        ctx.Error(AtError::kParameterError);
        return;
    }
    const std::string& parameter = *command.parameter;
    const auto equals = parameter.find('=');
    if (equals == std::string::npos) {
        ctx.Error(AtError::kParameterError);
        return;
    }
    const std::string key = parameter.substr(0, equals);
    std::string value = parameter.substr(equals + 1);
    auto info = ctx.state.config.Lookup(key);
    if (info && info->certificate && info->access != Access::kRead &&
        EqualsIgnoreCase(value, "pem")) {
        // `CONF {cert}=pem`: the PEM lines follow; the answer comes after the END line.
        ctx.state.pem_key = key;
        ctx.state.pem_buffer.clear();
        ctx.state.assembler.SetRawMode(true);
        return;
    }
    WriteKey(ctx, key, std::move(value));
}

// True when every character of `text` belongs to the base64 alphabet of a PEM body (RFC 7468).
bool IsPemBodyLine(const std::string& text) {
    return std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '+' || c == '/' || c == '=';
    });
}

// A raw line while `CONF {cert}=pem` input is in progress.
void PemLine(Context& ctx, AssembledLine line) {
    auto& state = ctx.state;
    auto finish = [&]() {
        state.pem_key.reset();
        state.pem_buffer.clear();
        state.assembler.SetRawMode(false);
    };
    const bool starts_with_at = line.text.size() >= 2 &&
                                (line.text[0] == 'A' || line.text[0] == 'a') &&
                                (line.text[1] == 'T' || line.text[1] == 't');
    // Inside the PEM body a base64 line may well start with "AT" (about one line in a thousand):
    // there only a line no base64 body can hold (a space, '?', '_', ...) reads as a command.
    const bool in_body = state.pem_buffer.find("-----BEGIN") != std::string::npos;
    const bool is_command = starts_with_at && (!in_body || !IsPemBodyLine(line.text));
    if (line.overflow || is_command) {
        // Assumed: an AT line (or an over-long line) aborts the PEM input with ERR4; an AT line
        // then runs as a command, so a host can never be stuck in this mode. Between the BEGIN and
        // END lines a line of base64 characters only is taken as body even when it starts with
        // "AT" (a bare `AT+CONNECT` there is swallowed; the PEM is then refused at its END line).
        finish();
        ctx.Error(line.overflow ? AtError::kOverflow : AtError::kParameterError);
        if (is_command) {
            ProcessLine(ctx, AssembledLine{line.text.substr(2), false, false});
        }
        return;
    }
    state.pem_buffer += line.text;
    state.pem_buffer += '\n';
    if (line.text.find("-----END CERTIFICATE-----") == std::string::npos) {
        if (state.pem_buffer.size() > 2 * kMaxCommandBytes) {
            finish();
            ctx.Error(AtError::kParameterError);
        }
        return;
    }
    const std::string key = *state.pem_key;
    std::string value = std::move(state.pem_buffer);
    finish();
    WriteKey(ctx, key, std::move(value));
}

void ResetCommon(Context& ctx) {
    auto& state = ctx.state;
    if (state.link != LinkState::kDisconnected) {
        ctx.effects.emplace_back(MqttDisconnect{state.attempt});
        ++state.attempt;  // Late callbacks of the old session are stale from now on.
    }
    state.link = LinkState::kDisconnected;
    state.connect_blocking = false;
    state.pending_subscriptions.clear();
    state.config.ResetVolatile();
    state.messages.clear();
    state.confmode = false;
    state.sleeping = false;
    // RESET/FACTORY_RESET clear pending events, then STARTUP is queued (PG-EVT 7.2.1.3).
    state.events.Clear();
    ctx.Raise(EventId::kStartup);
}

void CmdReset(Context& ctx, const Command& command, bool factory) {
    if (RejectSuffix(ctx, command) || RejectParameter(ctx, command)) {
        return;
    }
    ResetCommon(ctx);
    if (factory) {
        ctx.state.config.FactoryReset();  // Restores the "Y" keys, Endpoint to staging (PG-CONF).
        ctx.Persist();
    }
    ctx.Write("OK");
}

void CmdSleep(Context& ctx, const Command& command) {
    auto& state = ctx.state;
    std::optional<std::uint64_t> seconds;
    if (command.parameter) {
        seconds = ParseDecimal(*command.parameter);
        if (!seconds || *seconds > 86400ULL * 365) {
            ctx.Error(AtError::kParameterError);  // `AT+SLEEP SOME TEXT` → ERR4.
            return;
        }
    }
    if (state.link != LinkState::kDisconnected) {
        ctx.Error(AtError::kActiveConnection);
        return;
    }
    const auto requested = command.index.value_or(0);
    const auto deepest = static_cast<std::uint64_t>(std::max(state.profile->deepest_sleep_mode, 0));
    const auto mode = std::min(requested, deepest);
    // The event queue is emptied before sleeping; STARTUP comes on wake (PG-CMD 4.7.4).
    // Assumed: the emulated UART stays awake in every mode, any AT line wakes the module, and
    // volatile keys survive every sleep mode.
    state.events.Clear();
    state.sleeping = true;
    ++state.sleep_generation;
    ctx.Write("OK " + std::to_string(mode));
    if (seconds) {
        ctx.effects.emplace_back(StartTimer{TimerKind::kSleepWake, state.sleep_generation,
                                            std::chrono::seconds{*seconds}});
    }
}

void CmdConfmode(Context& ctx, const Command& command) {
    if (RejectSuffix(ctx, command)) {
        return;
    }
    if (!ctx.state.profile->confmode_available) {
        ctx.Error(AtError::kModeNotAvailable);
        return;
    }
    if (ctx.state.link != LinkState::kDisconnected) {
        ctx.Error(AtError::kActiveConnection);
        return;
    }
    ctx.state.confmode = true;
    ctx.Write("OK CONFMODE ENABLED");
}

void CmdEvent(Context& ctx, const Command& command) {
    if (RejectSuffix(ctx, command) || RejectParameter(ctx, command)) {
        return;
    }
    auto event = ctx.state.events.Pop();
    ctx.Write(event ? FormatEvent(*event) : std::string("OK"));
}

void CmdTime(Context& ctx, const Command& command) {
    if (RejectSuffix(ctx, command) || RejectParameter(ctx, command)) {
        return;
    }
    // ERR15 TIME NOT AVAILABLE until the module has a time source: a module without SNTP
    // never has one; the others take the time when they first reach the network.
    if (!ctx.state.profile->time_available || !ctx.state.time_synchronised) {
        ctx.Error(AtError::kTimeNotAvailable);
        return;
    }
    ctx.Write(FormatTimeAnswer(ctx.now, ctx.state.profile->time_form));
}

void CmdDiag(Context& ctx, const Command& command) {
    if (RejectSuffix(ctx, command)) {
        return;
    }
    const std::string parameter = command.parameter.value_or("");
    const auto space = parameter.find(' ');
    const std::string sub = parameter.substr(0, space);
    if (EqualsIgnoreCase(sub, "PING") && space != std::string::npos &&
        space + 1 < parameter.size()) {
        ctx.state.ping_in_progress = true;
        ctx.effects.emplace_back(DiagPing{parameter.substr(space + 1)});
        return;
    }
    ctx.Error(AtError::kParameterError);  // DIAG is vendor-specific; only PING is offered.
}

void CmdOta(Context& ctx, const Command& command, bool query) {
    if (RejectSuffix(ctx, command)) {
        return;
    }
    const std::string parameter = command.parameter.value_or("");
    if (query) {
        if (!parameter.empty() && !EqualsIgnoreCase(parameter, "DOC")) {
            ctx.Error(AtError::kParameterError);
            return;
        }
        ctx.Write("OK 0 IDLE");  // Not emulated: OTA; the state machine stays IDLE (PG-OTA).
        return;
    }
    const std::string sub = parameter.substr(0, parameter.find(' '));
    if (EqualsIgnoreCase(sub, "READ") || EqualsIgnoreCase(sub, "SEEK")) {
        ctx.Error(AtError::kHostImageNotAvailable);
    } else if (EqualsIgnoreCase(sub, "ACCEPT") || EqualsIgnoreCase(sub, "APPLY") ||
               EqualsIgnoreCase(sub, "CLOSE") || EqualsIgnoreCase(sub, "FLUSH")) {
        ctx.Error(AtError::kInvalidOtaUpdate);  // Nothing is ever pending.
    } else {
        ctx.Error(AtError::kParameterError);
    }
}

void CmdShadow(Context& ctx, const Command& command) {
    if (command.index && *command.index > ctx.state.profile->max_shadow) {
        ctx.Error(AtError::kOutOfRange);
        return;
    }
    // Staging and disabled shadows are ERR24 per PG-SVC. Not emulated: the Device Shadow
    // service; onboarded modules answer ERR24 as well.
    ctx.Error(AtError::kShadowError);
}

void CmdWhere(Context& ctx, const Command& command) {
    if (!RejectSuffix(ctx, command) && !RejectParameter(ctx, command)) {
        ctx.Error(AtError::kLocationNotAvailable);  // Not emulated: location (optional).
    }
}

template <bool kBlocking>
void CmdConnect(Context& ctx, const Command& command) {
    if (!RejectSuffix(ctx, command) && !RejectParameter(ctx, command)) {
        StartConnect(ctx, kBlocking);
    }
}

using Handler = void (*)(Context&, const Command&);

// Command word (upper case, as ParseCommand leaves it) -> handler. Words not listed, which
// includes removed/legacy commands (STAT, JOB, DEFENDER, CONFIG), EVENT!, OTW, GPIO and BLE,
// are not emulated: ERR3.
constexpr std::pair<std::string_view, Handler> kCommands[] = {
    {"CONNECT", CmdConnect<true>},
    {"CONNECT!", CmdConnect<false>},
    {"CONNECT?", CmdConnectQuery},
    {"DISCONNECT", CmdDisconnect},
    {"SEND", CmdSend},
    {"GET", CmdGet},
    {"SUBSCRIBE", [](Context& ctx, const Command& c) { CmdSubscribe(ctx, c, true); }},
    {"UNSUBSCRIBE", [](Context& ctx, const Command& c) { CmdSubscribe(ctx, c, false); }},
    {"CONF", CmdConf},
    {"CONF?", CmdConfQuery},
    {"EVENT?", CmdEvent},
    {"RESET", [](Context& ctx, const Command& c) { CmdReset(ctx, c, false); }},
    {"FACTORY_RESET", [](Context& ctx, const Command& c) { CmdReset(ctx, c, true); }},
    {"SLEEP", CmdSleep},
    {"CONFMODE", CmdConfmode},
    {"TIME?", CmdTime},
    {"WHERE?", CmdWhere},
    {"DIAG", CmdDiag},
    {"OTA?", [](Context& ctx, const Command& c) { CmdOta(ctx, c, true); }},
    {"OTA", [](Context& ctx, const Command& c) { CmdOta(ctx, c, false); }},
    {"SHADOW", CmdShadow},
};

void Dispatch(Context& ctx, const Command& command) {
    if (command.word.empty()) {
        ctx.Write("OK");  // `AT` (PG-CMD 4.6.3).
        return;
    }
    for (const auto& [word, handler] : kCommands) {
        if (word == command.word) {
            handler(ctx, command);
            return;
        }
    }
    ctx.Error(AtError::kCommandNotFound);
}

void ProcessLine(Context& ctx, AssembledLine line) {
    auto& state = ctx.state;
    if (IsBusy(state)) {
        if (state.pending_lines.size() < kMaxPendingLines) {
            state.pending_lines.push_back(std::move(line));
        }
        return;
    }
    if (state.pem_key) {
        PemLine(ctx, std::move(line));
        return;
    }
    if (state.sleeping) {
        state.sleeping = false;  // Any command wakes the module; STARTUP is queued.
        ++state.sleep_generation;
        ctx.Raise(EventId::kStartup);
    }
    if (line.overflow) {
        ctx.Error(AtError::kOverflow);
        return;
    }
    auto command = ParseCommand(line.text);
    if (!command) {
        ctx.Error(command.error().error);
        return;
    }
    Dispatch(ctx, *command);
}

void OnTimer(Context& ctx, const TimerFired& timer) {
    auto& state = ctx.state;
    if (timer.kind == TimerKind::kSleepWake && state.sleeping &&
        timer.generation == state.sleep_generation) {
        state.sleeping = false;
        ctx.Raise(EventId::kStartup);
    }
}

void OnPing(Context& ctx, const PingResult& result) {
    if (!ctx.state.ping_in_progress) {
        return;
    }
    ctx.state.ping_in_progress = false;
    if (result.ok) {
        ctx.Write("OK Received ping response in " + std::to_string(result.round_trip.count()) +
                  "ms");
    } else {
        ctx.Write("OK No ping response " + Escape(result.detail));
    }
    DrainPendingLines(ctx);
}

}  // namespace

ModuleState::ModuleState(std::shared_ptr<const ModuleProfile> module_profile)
    : profile(std::move(module_profile)),
      config(profile.get()),
      events(profile->max_event),
      backoff_rng(profile->backoff_seed) {}

ModuleState PowerOn(std::shared_ptr<const ModuleProfile> profile) {
    ModuleState state(std::move(profile));
    state.events.Push(ModuleEvent{EventId::kStartup, 0, {}});
    state.event_pin = true;
    return state;
}

bool IsBusy(const ModuleState& state) {
    return state.ping_in_progress ||
           (state.connect_blocking && (state.link == LinkState::kConnecting ||
                                       state.link == LinkState::kRegistering));
}

bool IsOnboarded(const ModuleState& state) {
    return state.config.Value("Endpoint") != state.profile->staging_endpoint;
}

std::vector<Effect> Apply(ModuleState& state, const Event& event) {
    std::vector<Effect> effects;
    Context ctx{state, event.now, effects};
    std::visit(
        [&](const auto& body) {
            using T = std::decay_t<decltype(body)>;
            if constexpr (std::is_same_v<T, BytesReceived>) {
                std::string_view bytes = body.bytes;
                while (auto line = state.assembler.Feed(bytes)) {
                    ProcessLine(ctx, std::move(*line));
                }
            } else if constexpr (std::is_same_v<T, LinkDropped>) {
                if (!state.pem_key) {
                    state.assembler.Clear();
                }
            } else if constexpr (std::is_same_v<T, MqttConnected>) {
                OnConnected(ctx, body);
            } else if constexpr (std::is_same_v<T, MqttConnectFailed>) {
                OnConnectFailed(ctx, body);
            } else if constexpr (std::is_same_v<T, MqttConnectionLost>) {
                OnConnectionLost(ctx, body);
            } else if constexpr (std::is_same_v<T, MqttMessage>) {
                OnMessage(ctx, body);
            } else if constexpr (std::is_same_v<T, MqttSubscribeResult>) {
                OnSubscribeResult(ctx, body);
            } else if constexpr (std::is_same_v<T, TimerFired>) {
                OnTimer(ctx, body);
            } else if constexpr (std::is_same_v<T, ConfModeCompleted>) {
                if (state.confmode) {
                    state.confmode = false;
                    ctx.Raise(EventId::kConfmode);
                }
            } else if constexpr (std::is_same_v<T, PingResult>) {
                OnPing(ctx, body);
            }
        },
        event.body);
    const bool pin = !state.events.Empty();
    if (pin != state.event_pin) {
        state.event_pin = pin;
        effects.emplace_back(SetEventPin{pin});
    }
    return effects;
}

Step Interpret(const ModuleState& state, const Event& event) {
    Step step{state, {}};
    step.effects = Apply(step.next, event);
    return step;
}

namespace {

// Metadata values: alphanumerics, dash, period and space, surrounding spaces trimmed (PG-PROV
// v1.1.2 11.1.5).
std::string Sanitize(std::string_view value) {
    std::string out;
    for (const char c : value) {
        if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            c == '-' || c == '.' || c == ' ') {
            out.push_back(c);
        }
    }
    const auto first = out.find_first_not_of(' ');
    if (first == std::string::npos) {
        return {};
    }
    return out.substr(first, out.find_last_not_of(' ') - first + 1);
}

}  // namespace

std::string MetricsUsername(const ModuleProfile& profile, std::string_view custom_name) {
    const std::string about = profile.about;
    const auto space = about.find(' ');
    const std::string vendor = Sanitize(about.substr(0, space));
    const std::string model = space == std::string::npos ? std::string{} : Sanitize(about.substr(space + 1));
    const std::string head = "Vendor=" + vendor + "; Model=" + model +
                             "; FWversion=" + Sanitize(profile.version) +
                             "; TechSpec=" + Sanitize(profile.tech_spec) + "; CustomName=";
    constexpr std::size_t kMaxMetadata = 256;
    std::string custom = Sanitize(custom_name);
    std::string metadata = head;
    if (metadata.size() < kMaxMetadata) {
        custom.resize(std::min(custom.size(), kMaxMetadata - metadata.size()));
        metadata += custom;
    } else {
        metadata.resize(kMaxMetadata);
    }
    return "?SDK=elsim&SDKVersion=" + Sanitize(profile.version) +
           "&Platform=ExpressLink&Metadata=(" + metadata + ")";
}

bool TopicMatches(std::string_view filter, std::string_view topic) {
    std::size_t f = 0;
    std::size_t t = 0;
    while (true) {
        const std::size_t f_end = std::min(filter.find('/', f), filter.size());
        const std::string_view level = filter.substr(f, f_end - f);
        if (level == "#") {
            return f_end == filter.size();  // `#` must be last and matches the rest.
        }
        if (t > topic.size()) {
            return false;
        }
        const std::size_t t_end = std::min(topic.find('/', t), topic.size());
        const std::string_view part = topic.substr(t, t_end - t);
        if (level != "+" && level != part) {
            return false;
        }
        const bool filter_done = f_end == filter.size();
        const bool topic_done = t_end == topic.size();
        if (filter_done || topic_done) {
            if (filter_done && topic_done) {
                return true;
            }
            // "a/#" also matches "a" (MQTT 3.1.1 4.7.1.2).
            return topic_done && filter.substr(f_end) == "/#";
        }
        f = f_end + 1;
        t = t_end + 1;
    }
}

std::string FormatTime(sim::TimePoint now) {
    using namespace std::chrono;
    const auto day = floor<days>(now);
    const year_month_day ymd{day};
    const auto since_midnight = now - day;
    const auto h = duration_cast<hours>(since_midnight);
    const auto m = duration_cast<minutes>(since_midnight - h);
    const auto s = duration_cast<seconds>(since_midnight - h - m);
    const auto cs = duration_cast<milliseconds>(since_midnight - h - m - s).count() / 10;
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%04d/%02u/%02u %02d:%02d:%02d.%02d",
                  static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()), static_cast<int>(h.count()),
                  static_cast<int>(m.count()), static_cast<int>(s.count()), static_cast<int>(cs));
    return buffer;
}

std::string FormatTimeAnswer(sim::TimePoint now, ModuleProfile::TimeForm form) {
    const std::string stamp = FormatTime(now);  // "YYYY/MM/DD hh:mm:ss.xx"
    if (form == ModuleProfile::TimeForm::kPlaceholders) {
        return "OK " + stamp + " SNTP";
    }
    const auto space = stamp.find(' ');
    return "OK date " + stamp.substr(0, space) + " time " + stamp.substr(space + 1) + " SNTP";
}

}  // namespace sim::module
