// SPDX-License-Identifier: Apache-2.0
// Registry events through a real account broker ("registry events when enabled by
// UpdateEventConfigurations"; AWS IoT Core Developer Guide, 'Registry events'): the real
// AWS CLI enables THING events and creates, updates and deletes things; a Paho subscriber to
// `$aws/events/#` sees `$aws/events/thing/<name>/created|updated|deleted` with the documented
// fields, and nothing while the event type is disabled.
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <mqtt/async_client.h>
#include <nlohmann/json.hpp>

#include "account_broker_fixture.hpp"
#include "sim/control_plane/aws_client.hpp"
#include "sim/testing/mqtt_clients.hpp"
#include "sim/testing/support.hpp"

namespace {
using namespace std::chrono_literals;
using nlohmann::json;
using sim::testing::CertFiles;

constexpr const char* kAccountId = sim::testing::kTestAccountId;
constexpr const char* kThingEventPrefix = "$aws/events/thing/";
// How long "nothing is published" is watched: several broker TICKs (the plugin publishes
// registry effects at TICK, about every 100 ms).
constexpr auto kQuietWindow = 1500ms;

class RegistryEventsTest : public sim::testing::AccountBrokerFixture {
protected:
    void SetUp() override { StartAccount(); }

    void TearDown() override {
        if (subscriber_ && subscriber_->is_connected()) {
            subscriber_->disconnect()->wait_for(2s);
        }
    }

    // The real AWS CLI against the account's control plane; the JSON it printed (null if none).
    json Aws(const std::vector<std::string>& args) {
        const auto result = AwsCli(args);
        EXPECT_EQ(result.exit_code, 0) << args.front() << ": " << result.output;
        if (result.output.find_first_not_of(" \n") == std::string::npos) {
            return nullptr;
        }
        return json::parse(result.output, nullptr, false);
    }

    // Connects the observer with Paho (MQTT 3.1.1, mutual TLS) and subscribes to $aws/events/#.
    void Subscribe(const CertFiles& observer) {
        subscriber_ = sim::testing::PahoClient(broker_->port(), "registry-observer");
        const auto options = sim::testing::PahoConnectOptions(pki_->ServerCa().cert, observer);
        subscriber_->start_consuming();
        subscriber_->connect(options)->wait_for(5s);
        ASSERT_TRUE(subscriber_->is_connected());
        ASSERT_TRUE(subscriber_->subscribe("$aws/events/#", 1)->wait_for(5s));
    }

    // The next message on `$aws/events/thing/...` within `timeout` (lifecycle events such as
    // our own subscription are skipped).
    mqtt::const_message_ptr NextThingEvent(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left <= 0ms) {
                return nullptr;
            }
            mqtt::const_message_ptr message;
            if (subscriber_->try_consume_message_for(&message, left) && message &&
                message->get_topic().rfind(kThingEventPrefix, 0) == 0) {
                return message;
            }
        }
    }

    // Checks a THING_EVENT payload's documented fields ('Registry events').
    static void ExpectThingEvent(const json& event, const std::string& operation,
                                 const std::string& thing_name, const std::string& thing_id,
                                 std::int64_t version, const json& attributes) {
        EXPECT_EQ(event.value("eventType", ""), "THING_EVENT");
        ASSERT_TRUE(event.contains("eventId") && event["eventId"].is_string());
        EXPECT_FALSE(event["eventId"].get<std::string>().empty());
        ASSERT_TRUE(event.contains("timestamp") && event["timestamp"].is_number_integer());
        const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        const auto timestamp = event["timestamp"].get<std::int64_t>();
        EXPECT_GT(timestamp, now_ms - 60'000) << "timestamp is in milliseconds";
        EXPECT_LE(timestamp, now_ms + 1'000);
        EXPECT_EQ(event.value("operation", ""), operation);
        EXPECT_EQ(event.value("accountId", ""), kAccountId);
        EXPECT_EQ(event.value("thingId", ""), thing_id);
        EXPECT_EQ(event.value("thingName", ""), thing_name);
        EXPECT_EQ(event.value("versionNumber", -1), version);
        ASSERT_TRUE(event.contains("thingTypeName"));
        EXPECT_TRUE(event["thingTypeName"].is_null());
        EXPECT_EQ(event.value("attributes", json()), attributes);
    }

    std::unique_ptr<mqtt::async_client> subscriber_;
};

TEST_F(RegistryEventsTest, ThingEventsArePublishedOnlyWhileEnabled) {
    ASSERT_NO_FATAL_FAILURE(Subscribe(Observer()));

    // Off by default: a new thing publishes nothing.
    const json before = Aws({"describe-event-configurations"});
    EXPECT_EQ(before["eventConfigurations"]["THING"].value("Enabled", true), false)
        << before.dump();
    Aws({"create-thing", "--thing-name", "quiet-1"});
    EXPECT_EQ(NextThingEvent(kQuietWindow), nullptr) << "THING events are off by default";

    Aws({"update-event-configurations", "--event-configurations", R"({"THING":{"Enabled":true}})"});
    const json enabled = Aws({"describe-event-configurations"});
    EXPECT_EQ(enabled["eventConfigurations"]["THING"].value("Enabled", false), true);

    const json created = Aws({"create-thing", "--thing-name", "lamp-1", "--attribute-payload",
                              R"({"attributes":{"colour":"red"}})"});
    const std::string thing_id = created.value("thingId", "");
    ASSERT_FALSE(thing_id.empty()) << created.dump();
    auto message = NextThingEvent(5s);
    ASSERT_NE(message, nullptr) << "no $aws/events/thing/lamp-1/created";
    EXPECT_EQ(message->get_topic(), "$aws/events/thing/lamp-1/created");
    ExpectThingEvent(json::parse(message->to_string()), "CREATED", "lamp-1", thing_id, 1,
                     {{"colour", "red"}});

    Aws({"update-thing", "--thing-name", "lamp-1", "--attribute-payload",
         R"({"attributes":{"colour":"blue","room":"hall"}})"});
    message = NextThingEvent(5s);
    ASSERT_NE(message, nullptr) << "no $aws/events/thing/lamp-1/updated";
    EXPECT_EQ(message->get_topic(), "$aws/events/thing/lamp-1/updated");
    ExpectThingEvent(json::parse(message->to_string()), "UPDATED", "lamp-1", thing_id, 2,
                     {{"colour", "blue"}, {"room", "hall"}});

    Aws({"delete-thing", "--thing-name", "lamp-1"});
    message = NextThingEvent(5s);
    ASSERT_NE(message, nullptr) << "no $aws/events/thing/lamp-1/deleted";
    EXPECT_EQ(message->get_topic(), "$aws/events/thing/lamp-1/deleted");
    ExpectThingEvent(json::parse(message->to_string()), "DELETED", "lamp-1", thing_id, 2,
                     {{"colour", "blue"}, {"room", "hall"}});

    // Disabled again: create, update and delete publish nothing.
    Aws({"update-event-configurations", "--event-configurations",
         R"({"THING":{"Enabled":false}})"});
    Aws({"create-thing", "--thing-name", "quiet-2"});
    Aws({"update-thing", "--thing-name", "quiet-2", "--attribute-payload",
         R"({"attributes":{"a":"b"}})"});
    Aws({"delete-thing", "--thing-name", "quiet-2"});
    EXPECT_EQ(NextThingEvent(kQuietWindow), nullptr) << "THING events were disabled";
}

}  // namespace
