// SPDX-License-Identifier: Apache-2.0
// The claim-script over Paho MQTT C++ 1.2 (failures surface as mqtt::exception return codes).
#include "sim/core/net.hpp"
#include "sim/staging/claim_client.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <mqtt/async_client.h>
#include <nlohmann/json.hpp>

#include "sim/core/adapters.hpp"
#include "sim/core/net.hpp"
#include "sim/staging/claim.hpp"
#include "sim/staging/staging.hpp"
#include "sim/world/endpoints.hpp"
#include "sim/world/world_state.hpp"

namespace sim::staging {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kWorldDomain = ".elsim.test";
constexpr std::uint16_t kDefaultPort = 8883;

sim::Unexpected<Error> Bad(std::string message) {
    return sim::MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

bool EndsWith(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

bool IsThingName(std::string_view name) {
    return !name.empty() && name.size() <= 128 &&
           std::all_of(name.begin(), name.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '_' ||
                      c == '-';
           });
}

// A client id usable on AWS IoT: 1-128 characters, no MQTT wildcards, no '/', no spaces.
bool IsClientId(std::string_view id) {
    return !id.empty() && id.size() <= 128 &&
           std::none_of(id.begin(), id.end(), [](char c) {
               return c == '+' || c == '#' || c == '/' ||
                      std::isspace(static_cast<unsigned char>(c)) != 0 ||
                      std::iscntrl(static_cast<unsigned char>(c)) != 0;
           });
}

std::string Seconds(Clock::duration d) {
    std::ostringstream out;
    out.precision(2);
    out << std::fixed << std::chrono::duration<double>(d).count() << " s";
    return out.str();
}

// What the claim-thing's connection has seen: its loss, and presence events while watching.
struct Watch {
    std::mutex mutex;
    std::condition_variable changed;
    bool connection_lost = false;
    std::string lost_cause;
    std::vector<std::pair<bool, Clock::time_point>> presence;  // (connected?, when)
};

// One claim-thing connection (Paho async client, mTLS, MQTT 3.1.1, client id = UUID): what
// RunClaim and ClaimSession share. `watched_thing` non-empty: presence events of that thing
// are recorded in the Watch. Connect/Publish block up to `timeout`; they never throw (except the
// constructor, for a URI Paho refuses).
class ClaimConnection {
public:
    ClaimConnection(const std::string& uri, const std::string& client_id,
                    const fs::path& root_ca, const fs::path& cert, const fs::path& key,
                    std::chrono::milliseconds timeout, const std::string& watched_thing = {})
        : client_(uri, client_id, mqtt::create_options(MQTTVERSION_3_1_1)), timeout_(timeout) {
        auto watch = watch_;
        client_.set_connection_lost_handler([watch](const std::string& cause) {
            std::lock_guard lock(watch->mutex);
            watch->connection_lost = true;
            watch->lost_cause = cause.empty() ? "connection lost" : cause;
            watch->changed.notify_all();
        });
        if (!watched_thing.empty()) {
            client_.set_message_callback(
                [watch, connected = "$aws/events/presence/connected/" + watched_thing,
                 disconnected = "$aws/events/presence/disconnected/" + watched_thing](
                    mqtt::const_message_ptr message) {
                    const std::string& topic = message->get_topic();
                    if (topic != connected && topic != disconnected) {
                        return;
                    }
                    std::lock_guard lock(watch->mutex);
                    watch->presence.emplace_back(topic == connected, Clock::now());
                    watch->changed.notify_all();
                });
        }
        // No ssl error_handler: Paho C++ 1.2 crashes in it (see sim/module paho_mqtt_port).
        auto ssl = mqtt::ssl_options_builder()
                       .trust_store(root_ca.string())
                       .key_store(cert.string())
                       .private_key(key.string())
                       .enable_server_cert_auth(true)
                       .verify(true)
                       .ssl_version(MQTT_SSL_VERSION_TLS_1_2)
                       .finalize();
        connect_options_ =
            mqtt::connect_options_builder()
                .mqtt_version(MQTTVERSION_3_1_1)
                .clean_session(true)
                .keep_alive_interval(std::chrono::seconds{30})
                .connect_timeout(std::chrono::duration_cast<std::chrono::seconds>(timeout))
                .automatic_reconnect(false)
                .ssl(std::move(ssl))
                .finalize();
    }
    // Every owner leaves through here: no connection outlives its owner.
    ~ClaimConnection() {
        try {
            if (client_.is_connected()) {
                client_.disconnect()->wait_for(timeout_);
            }
        } catch (...) {  // NOLINT(bugprone-empty-catch): best effort at exit.
        }
    }
    ClaimConnection(const ClaimConnection&) = delete;
    ClaimConnection& operator=(const ClaimConnection&) = delete;

    // "" when connected; else why not.
    std::string Connect() {
        {
            std::lock_guard lock(watch_->mutex);
            watch_->connection_lost = false;
            watch_->lost_cause.clear();
        }
        try {
            if (!client_.connect(connect_options_)->wait_for(timeout_)) {
                return "no CONNACK within " + Seconds(timeout_);
            }
            return {};
        } catch (const mqtt::exception& e) {
            // Paho 1.2 (Paho C 1.3.12): rc 5 = CONNACK "not authorised"; -1 = TLS failure or the
            // broker closed without CONNACK (unknown/revoked certificate, wrong client id).
            if (e.get_return_code() == 5) {
                return "CONNACK 5 (not authorized)";
            }
            return std::string("connection refused or closed (") + e.what() + ")";
        }
    }

    // QoS 1 publish; "" on PUBACK, else the problem ("no PUBACK within ...", "publish failed").
    // `sent`: the PUBLISH was handed to the connection (Paho accepted it), so with an error the
    // broker may have received it and lost only the PUBACK on the way back.
    std::string Publish(const std::string& topic, const std::string& payload, bool& sent) {
        sent = false;
        mqtt::delivery_token_ptr token;
        try {
            token = client_.publish(topic, payload.data(), payload.size(), 1, false);
        } catch (const mqtt::exception& e) {
            return std::string("publish failed (") + e.what() + ") topic=" + topic;
        }
        sent = true;
        try {
            if (!token->wait_for(timeout_)) {
                return "claim sent, no PUBACK within " + Seconds(timeout_) + LostSuffix() +
                       " topic=" + topic;
            }
            return {};
        } catch (const mqtt::exception& e) {
            return std::string("claim sent, PUBACK lost (") + e.what() + ")" + LostSuffix() +
                   " topic=" + topic;
        }
    }

    // " (connection lost: <cause>)" when the connection-lost handler ran, else "".
    std::string LostSuffix() {
        std::lock_guard lock(watch_->mutex);
        return watch_->connection_lost ? " (connection lost: " + watch_->lost_cause + ")"
                                       : std::string();
    }

    // Never calls into Paho while holding the Watch's mutex: Paho runs the connection-lost
    // handler (which takes that mutex) while holding its own global lock, so the opposite
    // order here would deadlock against a broker that goes away.
    bool Up() {
        bool lost = false;
        {
            std::lock_guard lock(watch_->mutex);
            lost = watch_->connection_lost;
        }
        return !lost && client_.is_connected();
    }

    mqtt::async_client& client() { return client_; }
    Watch& watch() { return *watch_; }

private:
    std::shared_ptr<Watch> watch_ = std::make_shared<Watch>();
    mqtt::async_client client_;
    std::chrono::milliseconds timeout_;
    mqtt::connect_options connect_options_;
};

// The --staging/--world/--root-ca/--claim-cert/--claim-key part of PrepareClaim.
sim::Result<ClaimTarget> PrepareStaging(const std::string& staging_value,
                                        const fs::path& world_dir, const fs::path& root_ca,
                                        const fs::path& claim_cert, const fs::path& claim_key);

}  // namespace

sim::Result<MqttEndpoint> ResolveMqttEndpoint(std::string_view option, const std::string& value,
                                              const fs::path& world_dir, const fs::path& root_ca) {
    MqttEndpoint target;
    const std::string name(option);
    auto parsed = ParseEndpointValue(value);
    if (!parsed) {
        return Bad(name + ": " + parsed.error().message);
    }
    target.host = parsed->host;
    const std::uint16_t port = parsed->port.value_or(kDefaultPort);

    std::optional<sim::world::WorldState> world;
    if (!world_dir.empty()) {
        const fs::path file = world_dir / "world.json";
        auto text = sim::ReadFile(file);
        if (!text) {
            return Bad("--world: cannot read " + file.string() + ": " + text.error().message);
        }
        auto state = sim::world::WorldStateFromJson(*text);
        if (!state) {
            return Bad("--world: " + file.string() + ": " + state.error().message);
        }
        world = std::move(*state);
    }
    if (EndsWith(parsed->host, kWorldDomain)) {
        // An emulated endpoint: only the world's endpoints map knows its address.
        if (!world) {
            return Bad(name + ": '" + parsed->host + "' is an emulated endpoint; pass --world DIR");
        }
        // world.json's "endpoints" map is derived from its accounts (world_state.hpp), so the
        // parsed accounts give the same map without parsing the file a second time.
        sim::world::EndpointsMap map;
        for (const auto& account : world->accounts) {
            if (!sim::IsLoopbackIpv4(account.address)) {
                return Bad("--world: " + (world_dir / "world.json").string() + ": account '" +
                           account.name + "' address '" + account.address +
                           "' is not in 127.0.0.0/8");
            }
            map.Add(account.endpoint, sim::world::ResolvedAddress{account.address,
                                                                   account.mqtt_port});
        }
        const auto address = map.MakeResolver()(parsed->host, port);
        if (!address) {
            return Bad(name + ": '" + parsed->host + "' is not in the endpoints map of " +
                       (world_dir / "world.json").string());
        }
        target.uri = "ssl://" + address->ip + ":" + std::to_string(address->port);
    } else {
        target.uri = "ssl://" + parsed->host + ":" + std::to_string(port);
    }
    target.root_ca = root_ca;
    if (target.root_ca.empty()) {
        if (!world) {
            return Bad("--root-ca: required without --world");
        }
        target.root_ca = world->server_ca_file;
    }
    std::error_code ec;
    if (!fs::is_regular_file(target.root_ca, ec)) {
        return Bad("--root-ca: '" + target.root_ca.string() + "' is not a readable file");
    }
    return target;
}

namespace {

sim::Result<ClaimTarget> PrepareStaging(const std::string& staging_value,
                                        const fs::path& world_dir, const fs::path& root_ca,
                                        const fs::path& claim_cert, const fs::path& claim_key) {
    auto endpoint = ResolveMqttEndpoint("--staging", staging_value, world_dir, root_ca);
    if (!endpoint) {
        return sim::Unexpected<Error>(endpoint.error());
    }
    ClaimTarget target;
    target.uri = std::move(endpoint->uri);
    target.host = std::move(endpoint->host);
    target.root_ca = std::move(endpoint->root_ca);
    for (const auto& [path, option] : {std::pair{claim_cert, "--claim-cert"},
                                       std::pair{claim_key, "--claim-key"}}) {
        std::error_code ec;
        if (path.empty() || !fs::is_regular_file(path, ec)) {
            return Bad(std::string(option) + ": '" + path.string() + "' is not a readable file");
        }
    }
    return target;
}

}  // namespace

sim::Result<ClaimTarget> PrepareClaim(const ClaimOptions& options) {
    ClaimTarget target;
    if (!IsThingName(options.thing)) {
        return Bad("--thing: '" + options.thing + "' is not a ThingName ([a-zA-Z0-9:_-]{1,128})");
    }
    if (!IsClientId(options.uuid)) {
        return Bad("--uuid: '" + options.uuid +
                   "' is not usable as an MQTT client id (1-128 characters, no + # / or spaces)");
    }
    if (options.raw_payload) {
        target.payload = *options.raw_payload;
    } else {
        auto endpoint = ParseEndpointValue(options.endpoint);
        if (!endpoint) {
            return Bad("--endpoint: " + endpoint.error().message);
        }
        target.payload = nlohmann::json{{"Endpoint", endpoint->ToString()}}.dump();
    }
    target.topic = ConfigTopic(options.thing);
    auto staging = PrepareStaging(options.staging, options.world, options.root_ca,
                                  options.claim_cert, options.claim_key);
    if (!staging) {
        return sim::Unexpected<Error>(staging.error());
    }
    target.uri = std::move(staging->uri);
    target.host = std::move(staging->host);
    target.root_ca = std::move(staging->root_ca);
    return target;
}

int ExitCodeOf(const ClaimReport& report) {
    switch (report.outcome) {
        case ClaimReport::Outcome::kAccepted: return 0;
        case ClaimReport::Outcome::kRefused: return 1;
        case ClaimReport::Outcome::kBadInput: return 2;
    }
    return 1;
}

ClaimReport RunClaim(const ClaimOptions& options) {
    ClaimReport report;
    auto target = PrepareClaim(options);
    if (!target) {
        report.outcome = ClaimReport::Outcome::kBadInput;
        report.claim_line = target.error().message;
        return report;
    }
    report.uri = target->uri;
    report.outcome = ClaimReport::Outcome::kRefused;
    const auto timeout = options.timeout;

    try {
        ClaimConnection connection(target->uri, options.uuid, target->root_ca, options.claim_cert,
                                   options.claim_key, timeout,
                                   options.wait.count() > 0 ? options.thing : std::string());
        Watch& watch = connection.watch();
        if (auto error = connection.Connect(); !error.empty()) {
            report.claim_line = "claim refused at staging: " + error + " uri=" + target->uri +
                                " client_id=" + options.uuid;
            return report;
        }
        std::string watch_problem;
        bool watching = false;
        if (options.wait.count() > 0) {
            try {
                const std::vector<std::string> filters{
                    "$aws/events/presence/disconnected/" + options.thing,
                    "$aws/events/presence/connected/" + options.thing};
                auto token = connection.client().subscribe(
                    mqtt::string_collection::create(filters), std::vector<int>{1, 1});
                if (!token->wait_for(timeout)) {
                    watch_problem = "no SUBACK within " + Seconds(timeout);
                } else {
                    watching = true;
                }
            } catch (const mqtt::exception& e) {
                watch_problem = std::string("subscription to lifecycle events refused (") +
                                e.what() + ")";
            }
            // A refused subscription may cost the connection (the staging policy warns so):
            // then claim on a fresh connection without watching.
            bool lost = false;
            {
                std::unique_lock lock(watch.mutex);
                watch.changed.wait_for(lock, std::chrono::milliseconds{watching ? 0 : 300},
                                       [&] { return watch.connection_lost; });
                lost = watch.connection_lost;
            }
            if (lost || !connection.client().is_connected()) {
                watching = false;
                if (auto error = connection.Connect(); !error.empty()) {
                    report.claim_line = "claim refused at staging: reconnect failed: " + error;
                    return report;
                }
            }
        }

        const auto published_at = Clock::now();
        if (auto error = connection.Publish(target->topic, target->payload, report.sent);
            !error.empty()) {
            report.claim_line = (report.sent ? "claim unconfirmed by staging: "
                                             : "claim refused at staging: ") +
                                error;
            return report;
        }
        report.published = true;
        // AWS closes an MQTT 3.1.1 client whose publish it refuses, possibly after the PUBACK
        // (the emulator kicks at the next TICK): watch for that before saying yes.
        {
            std::unique_lock lock(watch.mutex);
            if (watch.changed.wait_for(lock, options.settle,
                                       [&] { return watch.connection_lost; })) {
                report.claim_line = "claim refused at staging: connection closed after publish (" +
                                    watch.lost_cause + ") topic=" + target->topic;
                return report;
            }
        }
        report.outcome = ClaimReport::Outcome::kAccepted;
        report.claim_line = "claim accepted by staging (PUBACK): thing=" + options.thing +
                            " topic=" + target->topic + " payload=" + target->payload +
                            " uri=" + target->uri;

        if (options.wait.count() > 0 && !watching) {
            report.watch_line = "cannot watch the module: " + watch_problem;
        } else if (watching) {
            const auto deadline = published_at + options.wait;
            std::unique_lock lock(watch.mutex);
            std::optional<Clock::time_point> left;
            std::optional<Clock::time_point> returned;
            auto scan = [&] {
                for (const auto& [connected, when] : watch.presence) {
                    if (!connected && !left) {
                        left = when;
                    } else if (connected && left && !returned) {
                        returned = when;
                    }
                }
                return returned.has_value() || watch.connection_lost;
            };
            // Watch the whole window: a module that leaves and comes back (e.g. it could not
            // reach the OEM endpoint and was factory-reset) is not a successful claim.
            watch.changed.wait_until(lock, deadline, scan);
            scan();
            const std::string window = std::to_string(options.wait.count()) + " s";
            if (returned) {
                report.outcome = ClaimReport::Outcome::kRefused;
                report.watch_line = "module disconnected after " + Seconds(*left - published_at) +
                                    ", then returned to staging after " +
                                    Seconds(*returned - published_at);
            } else if (left) {
                report.watch_line = "module disconnected after " + Seconds(*left - published_at) +
                                    " and did not return within " + window;
            } else if (watch.connection_lost) {
                report.outcome = ClaimReport::Outcome::kRefused;
                report.watch_line = "stopped watching: " + watch.lost_cause;
            } else {
                report.outcome = ClaimReport::Outcome::kRefused;
                report.watch_line = "module did not disconnect within " + window;
            }
        }
    } catch (const std::exception& e) {
        report.outcome = ClaimReport::Outcome::kRefused;
        report.claim_line = std::string("claim failed: ") + e.what();
    }
    return report;
}

// ---- ClaimSession ------------------------------------------------------------------------------

struct ClaimSession::Impl {
    ClaimSessionOptions options;
    ClaimTarget target;
    std::unique_ptr<ClaimConnection> connection;
    Clock::duration spacing{};

    std::mutex connect_mutex;  // one (re)connect at a time
    Clock::time_point last_connect{};
    std::atomic<std::size_t> connects{0};

    std::mutex pace_mutex;
    Clock::time_point next_slot{};

    // "" when the connection is up (reconnecting if it was lost), else why not.
    std::string EnsureConnected() {
        if (connection->Up()) {
            return {};
        }
        std::lock_guard lock(connect_mutex);
        if (connection->Up()) {
            return {};  // another caller reconnected meanwhile
        }
        // AWS IoT: one CONNECT per second per client id (AWS IoT Core quotas); faster
        // reconnects of the same claim-thing would be throttled (closed without CONNACK).
        std::this_thread::sleep_until(last_connect + std::chrono::milliseconds{1000});
        last_connect = Clock::now();
        connects.fetch_add(1);
        return connection->Connect();
    }

    // Waits for this claim's publish slot: at most max_publishes_per_second per connection.
    // Not emulated: the brokers do not enforce AWS IoT's 100 publishes/s per connection
    // (AWS IoT Core quotas, excess discarded); a session paces itself so that it would not
    // lose claims against real AWS either.
    void Pace() {
        Clock::time_point slot;
        {
            std::lock_guard lock(pace_mutex);
            slot = std::max(Clock::now(), next_slot);
            next_slot = slot + spacing;
        }
        std::this_thread::sleep_until(slot);
    }
};

ClaimSession::ClaimSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ClaimSession::~ClaimSession() = default;

sim::Result<std::unique_ptr<ClaimSession>> ClaimSession::Open(
    const ClaimSessionOptions& options) {
    if (!IsClientId(options.uuid)) {
        return Bad("--uuid: '" + options.uuid +
                   "' is not usable as an MQTT client id (1-128 characters, no + # / or spaces)");
    }
    if (options.max_publishes_per_second < 1 || options.max_publishes_per_second > 100) {
        return Bad("max_publishes_per_second: must be 1..100 (AWS IoT: 100 publishes/s per "
                   "connection), got " +
                   std::to_string(options.max_publishes_per_second));
    }
    auto target = PrepareStaging(options.staging, options.world, options.root_ca,
                                 options.claim_cert, options.claim_key);
    if (!target) {
        return sim::Unexpected<Error>(target.error());
    }
    auto impl = std::make_unique<Impl>();
    impl->options = options;
    impl->target = std::move(*target);
    impl->spacing = std::chrono::duration_cast<Clock::duration>(std::chrono::seconds{1}) /
                    options.max_publishes_per_second;
    try {
        impl->connection = std::make_unique<ClaimConnection>(
            impl->target.uri, options.uuid, impl->target.root_ca, options.claim_cert,
            options.claim_key, options.timeout);
    } catch (const std::exception& e) {
        return Bad("--staging: " + impl->target.uri + ": " + e.what());
    }
    impl->last_connect = Clock::now();
    impl->connects.store(1);
    if (auto error = impl->connection->Connect(); !error.empty()) {
        return sim::MakeError(ErrorCode::kUnavailable,
                              "staging refused the claim-thing: " + error +
                                  " uri=" + impl->target.uri + " client_id=" + options.uuid);
    }
    return std::unique_ptr<ClaimSession>(new ClaimSession(std::move(impl)));
}

ClaimReport ClaimSession::Claim(const std::string& thing, const std::string& endpoint) {
    ClaimReport report;
    report.uri = impl_->target.uri;
    if (!IsThingName(thing)) {
        report.claim_line = "--thing: '" + thing + "' is not a ThingName ([a-zA-Z0-9:_-]{1,128})";
        return report;
    }
    auto parsed = ParseEndpointValue(endpoint);
    if (!parsed) {
        report.claim_line = "--endpoint: " + parsed.error().message;
        return report;
    }
    const std::string payload = nlohmann::json{{"Endpoint", parsed->ToString()}}.dump();
    const std::string topic = ConfigTopic(thing);
    report.outcome = ClaimReport::Outcome::kRefused;
    impl_->Pace();
    if (auto error = impl_->EnsureConnected(); !error.empty()) {
        report.claim_line = "claim refused at staging: reconnect failed: " + error +
                            " uri=" + impl_->target.uri + " client_id=" + impl_->options.uuid;
        return report;
    }
    if (auto error = impl_->connection->Publish(topic, payload, report.sent); !error.empty()) {
        report.claim_line =
            (report.sent ? "claim unconfirmed by staging: " : "claim refused at staging: ") +
            error;
        return report;
    }
    report.published = true;
    report.outcome = ClaimReport::Outcome::kAccepted;
    report.claim_line = "claim accepted by staging (PUBACK): thing=" + thing + " topic=" + topic +
                        " payload=" + payload + " uri=" + impl_->target.uri;
    return report;
}

const std::string& ClaimSession::uri() const { return impl_->target.uri; }

std::size_t ClaimSession::connects() const { return impl_->connects.load(); }

}  // namespace sim::staging
