// SPDX-License-Identifier: Apache-2.0
// Registry events through a real account broker (issue 5 "registry events when enabled by
// UpdateEventConfigurations"; reference/aws-iot-core.md §8, `registry-events.md`): the real
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

#include "sim/control_plane/aws_client.hpp"
#include "sim/core/adapters.hpp"
#include "sim/testing/support.hpp"
#include "sim/world/mosquitto_process.hpp"

namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using sim::controlplane::AwsClient;
using sim::testing::CertFiles;
using sim::testing::RunCommand;
using sim::testing::TempDir;
using sim::testing::TestBroker;
using sim::testing::TestBrokerOptions;
using sim::testing::TestPki;

constexpr const char* kAccountId = "123456789012";
constexpr const char* kEndpoint = "abcdefghijklmn-ats.iot.us-east-1.elsim.test";
constexpr const char* kAllowAll =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]})";
constexpr const char* kThingEventPrefix = "$aws/events/thing/";
// How long "nothing is published" is watched: several broker TICKs (the plugin publishes
// registry effects at TICK, about every 100 ms).
constexpr auto kQuietWindow = 1500ms;

class RegistryEventsTest : public ::testing::Test {
protected:
    void SetUp() override {
        pki_ = std::make_unique<TestPki>(dir_.path() / "pki");
        control_port_ = sim::testing::FreePort("127.0.0.1");
        const fs::path broker_dir = dir_.path() / "broker";
        TestBrokerOptions options;
        options.plugin = ELSIM_BROKER_PLUGIN;
        options.plugin_options = {{"account_name", "oem"},
                                  {"mode", "explain"},
                                  {"account_dir", (dir_.path() / "state").string()},
                                  {"account_id", kAccountId},
                                  {"region", "us-east-1"},
                                  {"endpoint", kEndpoint},
                                  {"kind", "oem"},
                                  {"capath", (broker_dir / "capath").string()},
                                  {"control_plane", "127.0.0.1:" + std::to_string(control_port_)},
                                  {"connect_interval_ms", "0"}};
        broker_ = std::make_unique<TestBroker>(*pki_, broker_dir, options);
        ASSERT_TRUE(broker_->ok()) << broker_->error();
        ASSERT_TRUE(sim::world::PortAcceptsConnections("127.0.0.1", control_port_, 2s));
        sim::controlplane::ClientConfig config;
        config.endpoint = ControlPlaneUrl();
        config.credentials = {kAccountId, "any-secret", ""};
        client_ = std::make_unique<AwsClient>(config, std::make_shared<sim::SystemClock>());
    }

    void TearDown() override {
        if (subscriber_ && subscriber_->is_connected()) {
            subscriber_->disconnect()->wait_for(2s);
        }
    }

    std::string ControlPlaneUrl() const {
        return "http://127.0.0.1:" + std::to_string(control_port_);
    }

    // The real AWS CLI against the account's control plane; the JSON it printed (null if none).
    json Aws(std::vector<std::string> args) {
        std::vector<std::string> argv = {"env",
                                         std::string("AWS_ACCESS_KEY_ID=") + kAccountId,
                                         "AWS_SECRET_ACCESS_KEY=any-secret",
                                         "AWS_PAGER=",
                                         "AWS_CONFIG_FILE=/dev/null",
                                         "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
                                         "/usr/bin/aws",
                                         "iot",
                                         "--endpoint-url",
                                         ControlPlaneUrl(),
                                         "--region",
                                         "us-east-1",
                                         "--output",
                                         "json"};
        argv.insert(argv.end(), args.begin(), args.end());
        const auto result = RunCommand(argv, 30s);
        EXPECT_EQ(result.exit_code, 0) << args.front() << ": " << result.output;
        if (result.output.find_first_not_of(" \n") == std::string::npos) {
            return nullptr;
        }
        return json::parse(result.output, nullptr, false);
    }

    // An ACTIVE certificate the account issues (CreateKeysAndCertificate) with an allow-all
    // policy: allowed to subscribe to `$aws/events/#` and to receive every event.
    CertFiles Observer() {
        auto created = client_->Call("POST", "/keys-and-certificate", {{"setAsActive", "true"}});
        EXPECT_TRUE(created) << (created ? "" : created.error().message);
        if (!created) {
            return {};
        }
        CertFiles files;
        files.cert = dir_.path() / "observer.pem";
        files.key = dir_.path() / "observer.key";
        sim::testing::WriteTextFile(files.cert, created->value("certificatePem", ""));
        sim::testing::WriteTextFile(files.key, (*created)["keyPair"].value("PrivateKey", ""));
        EXPECT_TRUE(client_->Call("POST", AwsClient::Path({"policies", "AllowAll"}), {},
                                  {{"policyDocument", kAllowAll}}));
        EXPECT_TRUE(client_->Call("PUT", AwsClient::Path({"target-policies", "AllowAll"}), {},
                                  {{"target", created->value("certificateArn", "")}}));
        return files;
    }

    // Connects the observer with Paho (MQTT 3.1.1, mutual TLS) and subscribes to $aws/events/#.
    void Subscribe(const CertFiles& observer) {
        subscriber_ = std::make_unique<mqtt::async_client>(
            "ssl://127.0.0.1:" + std::to_string(broker_->port()), "registry-observer",
            mqtt::create_options(MQTTVERSION_3_1_1));
        auto ssl = mqtt::ssl_options_builder()
                       .trust_store(pki_->ServerCa().cert.string())
                       .key_store(observer.cert.string())
                       .private_key(observer.key.string())
                       .enable_server_cert_auth(true)
                       .verify(true)
                       .finalize();
        auto options = mqtt::connect_options_builder()
                           .ssl(ssl)
                           .connect_timeout(5s)
                           .keep_alive_interval(30s)
                           .clean_session(true)
                           .finalize();
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

    // Checks a THING_EVENT payload's documented fields (registry-events.md, aws-iot-core.md §8).
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

    TempDir dir_;
    std::unique_ptr<TestPki> pki_;
    std::unique_ptr<TestBroker> broker_;
    std::uint16_t control_port_ = 0;
    std::unique_ptr<AwsClient> client_;
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
