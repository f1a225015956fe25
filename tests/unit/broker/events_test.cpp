// SPDX-License-Identifier: Apache-2.0
#include "sim/broker/events.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace sim::broker {
namespace {
using nlohmann::json;

PresenceFields Fields() {
    PresenceFields f;
    f.client_id = "thing-1";
    f.timestamp_ms = 1'700'000'000'123;
    f.session_identifier = "00000000-0000-4000-8000-000000000000";
    f.principal_identifier = std::string(64, 'a');
    f.version_number = 3;
    return f;
}

TEST(LifecycleEventTest, ConnectedCarriesDocumentedFields) {
    const auto event = ConnectedEvent(Fields(), "127.0.0.5");
    EXPECT_EQ(event.topic, "$aws/events/presence/connected/thing-1");
    const auto doc = json::parse(event.payload);
    EXPECT_EQ(doc["clientId"], "thing-1");
    EXPECT_EQ(doc["timestamp"], 1'700'000'000'123);
    EXPECT_EQ(doc["eventType"], "connected");
    EXPECT_EQ(doc["sessionIdentifier"], "00000000-0000-4000-8000-000000000000");
    EXPECT_EQ(doc["principalIdentifier"], std::string(64, 'a'));
    EXPECT_EQ(doc["ipAddress"], "127.0.0.5");
    EXPECT_EQ(doc["versionNumber"], 3);
    EXPECT_FALSE(doc.contains("thingName"));
    EXPECT_FALSE(doc.contains("disconnectReason"));
}

struct DisconnectCase {
    DisconnectReason reason;
    std::string text;
    bool client_initiated;
};
class DisconnectedEventTest : public ::testing::TestWithParam<DisconnectCase> {};
TEST_P(DisconnectedEventTest, NamesTheReasonAsAwsDoes) {
    const auto event = DisconnectedEvent(Fields(), GetParam().reason);
    EXPECT_EQ(event.topic, "$aws/events/presence/disconnected/thing-1");
    const auto doc = json::parse(event.payload);
    EXPECT_EQ(doc["eventType"], "disconnected");
    EXPECT_EQ(doc["disconnectReason"], GetParam().text);
    EXPECT_EQ(doc["clientInitiatedDisconnect"], GetParam().client_initiated);
    EXPECT_FALSE(doc.contains("ipAddress"));
}
INSTANTIATE_TEST_SUITE_P(
    Reasons, DisconnectedEventTest,
    ::testing::Values(
        DisconnectCase{DisconnectReason::kClientInitiatedDisconnect, "CLIENT_INITIATED_DISCONNECT",
                       true},
        DisconnectCase{DisconnectReason::kAuthError, "AUTH_ERROR", false},
        DisconnectCase{DisconnectReason::kDuplicateClientId, "DUPLICATE_CLIENTID", false},
        DisconnectCase{DisconnectReason::kKeepAliveTimeout, "MQTT_KEEP_ALIVE_TIMEOUT", false},
        DisconnectCase{DisconnectReason::kApiInitiatedDisconnect, "API_INITIATED_DISCONNECT",
                       false},
        DisconnectCase{DisconnectReason::kThrottled, "THROTTLED", false},
        DisconnectCase{DisconnectReason::kForbiddenAccess, "FORBIDDEN_ACCESS", false},
        DisconnectCase{DisconnectReason::kConnectionLost, "CONNECTION_LOST", false}));

TEST(LifecycleEventTest, ThingNameOnlyWhenKnown) {
    auto fields = Fields();
    fields.thing_name = "thing-1";
    EXPECT_EQ(json::parse(ConnectedEvent(fields, "127.0.0.1").payload)["thingName"], "thing-1");
}

TEST(SubscriptionEventTest, ListsTopics) {
    const auto subscribed = SubscriptionEvent(true, Fields(), {"a/b", "c/#"});
    EXPECT_EQ(subscribed.topic, "$aws/events/subscriptions/subscribed/thing-1");
    const auto doc = json::parse(subscribed.payload);
    EXPECT_EQ(doc["eventType"], "subscribed");
    EXPECT_EQ(doc["topics"], json::array({"a/b", "c/#"}));
    const auto unsubscribed = SubscriptionEvent(false, Fields(), {"a/b"});
    EXPECT_EQ(unsubscribed.topic, "$aws/events/subscriptions/unsubscribed/thing-1");
    EXPECT_EQ(json::parse(unsubscribed.payload)["eventType"], "unsubscribed");
}

struct LifecycleIdCase {
    std::string client_id;
    bool has_events;
};
class LifecycleClientIdTest : public ::testing::TestWithParam<LifecycleIdCase> {};
TEST_P(LifecycleClientIdTest, NoEventsForWildcardClientIds) {
    EXPECT_EQ(HasLifecycleEvents(GetParam().client_id), GetParam().has_events);
}
INSTANTIATE_TEST_SUITE_P(ClientIds, LifecycleClientIdTest,
                         ::testing::Values(LifecycleIdCase{"thing-1", true},
                                           LifecycleIdCase{"a+b", false},
                                           LifecycleIdCase{"a#", false},
                                           LifecycleIdCase{"", false}));

}  // namespace
}  // namespace sim::broker
