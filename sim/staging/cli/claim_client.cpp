// SPDX-License-Identifier: Apache-2.0
// The claim-script over Paho MQTT C++ 1.2 (reference/deps.md §4 for how failures surface).
#include "sim/staging/claim_client.hpp"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <mqtt/async_client.h>
#include <nlohmann/json.hpp>

#include "sim/core/adapters.hpp"
#include "sim/module/endpoints.hpp"
#include "sim/staging/claim.hpp"
#include "sim/staging/staging.hpp"
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

// Presence events the claim-thing sees while watching, in arrival order.
struct Watch {
    std::mutex mutex;
    std::condition_variable changed;
    bool connection_lost = false;
    std::string lost_cause;
    std::vector<std::pair<bool, Clock::time_point>> presence;  // (connected?, when)
};

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
    auto staging = ParseEndpointValue(options.staging);
    if (!staging) {
        return Bad("--staging: " + staging.error().message);
    }
    target.host = staging->host;
    const std::uint16_t port = staging->port.value_or(kDefaultPort);

    std::optional<sim::world::WorldState> world;
    if (!options.world.empty()) {
        const fs::path file = options.world / "world.json";
        auto text = sim::ReadFile(file);
        if (!text) {
            return Bad("--world: cannot read " + file.string() + ": " + text.error().message);
        }
        auto parsed = sim::world::WorldStateFromJson(*text);
        if (!parsed) {
            return Bad("--world: " + file.string() + ": " + parsed.error().message);
        }
        world = std::move(*parsed);
    }
    if (EndsWith(staging->host, kWorldDomain)) {
        // An emulated endpoint: only the world's map knows its address (DESIGN.md "The world").
        if (!world) {
            return Bad("--staging: '" + staging->host + "' is an emulated endpoint; pass --world DIR");
        }
        auto map = sim::module::EndpointsMap::Load(options.world / "world.json");
        if (!map) {
            return Bad("--world: " + map.error().message);
        }
        const auto address = map->MakeResolver()(staging->host, port);
        if (!address) {
            return Bad("--staging: '" + staging->host + "' is not in the endpoints map of " +
                       (options.world / "world.json").string());
        }
        target.uri = "ssl://" + address->ip + ":" + std::to_string(address->port);
    } else {
        target.uri = "ssl://" + staging->host + ":" + std::to_string(port);
    }
    target.root_ca = options.root_ca;
    if (target.root_ca.empty()) {
        if (!world) {
            return Bad("--root-ca: required without --world");
        }
        target.root_ca = world->server_ca_file;
    }
    for (const auto& [path, option] : {std::pair{target.root_ca, "--root-ca"},
                                       std::pair{options.claim_cert, "--claim-cert"},
                                       std::pair{options.claim_key, "--claim-key"}}) {
        std::error_code ec;
        if (path.empty() || !fs::is_regular_file(path, ec)) {
            return Bad(std::string(option) + ": '" + path.string() + "' is not a readable file");
        }
    }
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
    auto watch = std::make_shared<Watch>();
    const std::string connected_topic = "$aws/events/presence/connected/" + options.thing;
    const std::string disconnected_topic = "$aws/events/presence/disconnected/" + options.thing;

    try {
        mqtt::async_client client(target->uri, options.uuid,
                                  mqtt::create_options(MQTTVERSION_3_1_1));
        // Every return below leaves through this guard: no connection outlives RunClaim.
        struct DisconnectGuard {
            mqtt::async_client& client;
            std::chrono::milliseconds timeout;
            ~DisconnectGuard() {
                try {
                    if (client.is_connected()) {
                        client.disconnect()->wait_for(timeout);
                    }
                } catch (...) {  // NOLINT(bugprone-empty-catch): best effort at exit.
                }
            }
        } guard{client, timeout};
        client.set_connection_lost_handler([watch](const std::string& cause) {
            std::lock_guard lock(watch->mutex);
            watch->connection_lost = true;
            watch->lost_cause = cause.empty() ? "connection lost" : cause;
            watch->changed.notify_all();
        });
        client.set_message_callback([watch, connected_topic, disconnected_topic](
                                        mqtt::const_message_ptr message) {
            const std::string& topic = message->get_topic();
            if (topic != connected_topic && topic != disconnected_topic) {
                return;
            }
            std::lock_guard lock(watch->mutex);
            watch->presence.emplace_back(topic == connected_topic, Clock::now());
            watch->changed.notify_all();
        });
        // No ssl error_handler: Paho C++ 1.2 crashes in it (see sim/module paho_mqtt_port).
        auto ssl = mqtt::ssl_options_builder()
                       .trust_store(target->root_ca.string())
                       .key_store(options.claim_cert.string())
                       .private_key(options.claim_key.string())
                       .enable_server_cert_auth(true)
                       .verify(true)
                       .ssl_version(MQTT_SSL_VERSION_TLS_1_2)
                       .finalize();
        const auto connect_options =
            mqtt::connect_options_builder()
                .mqtt_version(MQTTVERSION_3_1_1)
                .clean_session(true)
                .keep_alive_interval(std::chrono::seconds{30})
                .connect_timeout(std::chrono::duration_cast<std::chrono::seconds>(timeout))
                .automatic_reconnect(false)
                .ssl(std::move(ssl))
                .finalize();
        auto connect = [&]() -> std::string {
            try {
                if (!client.connect(connect_options)->wait_for(timeout)) {
                    return "no CONNACK within " + Seconds(timeout);
                }
                return {};
            } catch (const mqtt::exception& e) {
                // deps.md §4: rc 5 = CONNACK "not authorised"; -1 = TLS failure or the broker
                // closed without CONNACK (unknown/revoked certificate, wrong client id).
                if (e.get_return_code() == 5) {
                    return "CONNACK 5 (not authorized)";
                }
                return std::string("connection refused or closed (") + e.what() + ")";
            }
        };
        if (auto error = connect(); !error.empty()) {
            report.claim_line = "claim refused at staging: " + error + " uri=" + target->uri +
                                " client_id=" + options.uuid;
            return report;
        }
        std::string watch_problem;
        bool watching = false;
        if (options.wait.count() > 0) {
            try {
                const std::vector<std::string> filters{disconnected_topic, connected_topic};
                auto token = client.subscribe(mqtt::string_collection::create(filters),
                                              std::vector<int>{1, 1});
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
                std::unique_lock lock(watch->mutex);
                watch->changed.wait_for(lock, std::chrono::milliseconds{watching ? 0 : 300},
                                        [&] { return watch->connection_lost; });
                lost = watch->connection_lost;
                watch->connection_lost = false;
            }
            if (lost || !client.is_connected()) {
                watching = false;
                if (auto error = connect(); !error.empty()) {
                    report.claim_line = "claim refused at staging: reconnect failed: " + error;
                    return report;
                }
            }
        }

        const auto published_at = Clock::now();
        try {
            auto token = client.publish(target->topic, target->payload.data(),
                                        target->payload.size(), 1, false);
            if (!token->wait_for(timeout)) {
                report.claim_line = "claim refused at staging: no PUBACK within " +
                                    Seconds(timeout) + " topic=" + target->topic;
                return report;
            }
        } catch (const mqtt::exception& e) {
            report.claim_line = std::string("claim refused at staging: publish failed (") +
                                e.what() + ") topic=" + target->topic;
            return report;
        }
        report.published = true;
        // AWS closes an MQTT 3.1.1 client whose publish it refuses, possibly after the PUBACK
        // (the emulator kicks at the next TICK, deps.md §2f): watch for that before saying yes.
        {
            std::unique_lock lock(watch->mutex);
            if (watch->changed.wait_for(lock, options.settle,
                                        [&] { return watch->connection_lost; })) {
                report.claim_line = "claim refused at staging: connection closed after publish (" +
                                    watch->lost_cause + ") topic=" + target->topic;
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
            std::unique_lock lock(watch->mutex);
            std::optional<Clock::time_point> left;
            std::optional<Clock::time_point> returned;
            auto scan = [&] {
                for (const auto& [connected, when] : watch->presence) {
                    if (!connected && !left) {
                        left = when;
                    } else if (connected && left && !returned) {
                        returned = when;
                    }
                }
                return returned.has_value() || watch->connection_lost;
            };
            // Watch the whole window: a module that leaves and comes back (e.g. it could not
            // reach the OEM endpoint and was factory-reset) is not a successful claim.
            watch->changed.wait_until(lock, deadline, scan);
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
            } else if (watch->connection_lost) {
                report.outcome = ClaimReport::Outcome::kRefused;
                report.watch_line = "stopped watching: " + watch->lost_cause;
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

}  // namespace sim::staging
