// SPDX-License-Identifier: Apache-2.0
// The account broker plugin in a real mosquitto, driven by real clients (mosquitto_pub,
// mosquitto_sub, Paho C++ over mTLS).
#include <algorithm>
#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <mqtt/async_client.h>
#include <nlohmann/json.hpp>

#include "sim/testing/mqtt_clients.hpp"
#include "sim/testing/support.hpp"

namespace sim::broker {
namespace {
using namespace std::chrono_literals;
using sim::testing::BackgroundCommand;
using sim::testing::CertFiles;
using sim::testing::RunCommand;
using sim::testing::TempDir;
using sim::testing::TestBroker;
using sim::testing::TestBrokerOptions;
using sim::testing::TestPki;
using sim::testing::WaitDisconnected;

class BrokerPluginTest : public ::testing::Test {
protected:
    void SetUp() override {
        pki_ = std::make_unique<TestPki>(dir_.path() / "pki");
        TestBrokerOptions options;
        options.plugin = ELSIM_BROKER_PLUGIN;
        options.plugin_options = {{"account_name", "test"}, {"mode", "explain"}};
        options.trusted_device_cas = {"acme"};
        broker_ = std::make_unique<TestBroker>(*pki_, dir_.path() / "broker", options);
        ASSERT_TRUE(broker_->ok()) << broker_->error();
        device_ = pki_->Device("device-1", "acme");
    }

    // mosquitto_pub/sub arguments for an mTLS connection with `cert`.
    std::vector<std::string> TlsArgs(const CertFiles& cert) const {
        return sim::testing::MosquittoTlsArgs(broker_->port(), pki_->ServerCa().cert,
                                              cert.cert.string(), cert.key.string());
    }

    std::vector<std::string> Pub(const CertFiles& cert, const std::string& client_id,
                                 const std::string& topic,
                                 const std::string& version = "mqttv311") {
        std::vector<std::string> argv = {"mosquitto_pub"};
        for (auto& a : TlsArgs(cert)) {
            argv.push_back(a);
        }
        for (const char* a : {"-V", version.c_str(), "-i", client_id.c_str(), "-t", topic.c_str(),
                              "-m", "hello", "-q", "1"}) {
            argv.emplace_back(a);
        }
        return argv;
    }

    std::unique_ptr<BackgroundCommand> Subscribe(const std::string& filter,
                                                 const std::string& client_id) {
        bool subscribed = false;
        auto sub = sim::testing::StartMosquittoSub(TlsArgs(device_), filter, client_id, subscribed);
        EXPECT_TRUE(subscribed) << sub->Output();
        return sub;
    }

    std::unique_ptr<mqtt::async_client> Paho(const std::string& client_id, int version = 4) {
        return sim::testing::PahoClient(broker_->port(), client_id, version);
    }

    mqtt::connect_options PahoOptions(const CertFiles& cert, int version = 4) const {
        return sim::testing::PahoConnectOptions(pki_->ServerCa().cert, cert, version);
    }

    TempDir dir_;
    std::unique_ptr<TestPki> pki_;
    std::unique_ptr<TestBroker> broker_;
    CertFiles device_;
};

TEST_F(BrokerPluginTest, AcceptsKnownCertificateOverMqtt311AndMqtt5) {
    const auto v311 = RunCommand(Pub(device_, "dev-311", "dt/device-1/hello"));
    EXPECT_EQ(v311.exit_code, 0) << v311.output;
    const auto v5 = RunCommand(Pub(device_, "dev-5", "dt/device-1/hello", "mqttv5"));
    EXPECT_EQ(v5.exit_code, 0) << v5.output;
    EXPECT_TRUE(broker_->process().WaitForLog(
        "decision=allow action=connect cert_id=" + device_.certificate_id + " client_id=dev-5",
        2s));
}

// mosquitto listens with a backlog of 100; the plugin raises it, so a burst of devices
// connecting while the broker is busy is queued by the kernel instead of dropped (each dropped
// SYN costs its client a 1 s retransmission). With the broker stopped (SIGSTOP) nothing is
// accepted, so how many TCP handshakes complete is exactly what the backlog admits.
TEST_F(BrokerPluginTest, QueuesABurstOfConnectsBeyondMosquittosBacklogOf100) {
    ASSERT_TRUE(broker_->process().WaitForLog("listen backlog raised", 5000ms)) << broker_->Log();
    constexpr int kConnects = 300;
    const int pid = broker_->process().Pid();
    ASSERT_GT(pid, 0);
    ASSERT_EQ(::kill(pid, SIGSTOP), 0);
    struct Resume {
        int pid;
        ~Resume() { ::kill(pid, SIGCONT); }
    } resume{pid};
    std::vector<int> sockets;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(broker_->port());
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < kConnects; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        ASSERT_GE(fd, 0);
        sockets.push_back(fd);
        (void)::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
    }
    // A handshake the backlog admits completes at once; give them 2 s all together.
    int established = 0;
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    for (const int fd : sockets) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd one{fd, POLLOUT, 0};
        int error = 0;
        socklen_t size = sizeof(error);
        if (::poll(&one, 1, static_cast<int>(std::max<long long>(0, left.count()))) == 1 &&
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 && error == 0) {
            ++established;
        }
    }
    for (const int fd : sockets) {
        ::close(fd);
    }
    EXPECT_EQ(established, kConnects) << "mosquitto's own backlog admits 101";
}

TEST_F(BrokerPluginTest, RefusesCertificateOfUnknownCaDuringTls) {
    const CertFiles stranger = pki_->Device("stranger", "unregistered-ca");
    const auto result = RunCommand(Pub(stranger, "stranger", "dt/x"));
    EXPECT_NE(result.exit_code, 0) << result.output;
    // The plugin is never asked: TLS fails first (mosquitto has no TLS-verification hook).
    EXPECT_EQ(broker_->Log().find("client_id=stranger"), std::string::npos);
}

TEST_F(BrokerPluginTest, PublishesPresenceEventsWithAwsFields) {
    auto sub = Subscribe("$aws/events/presence/+/+", "watcher");
    const auto pub = RunCommand(Pub(device_, "dev-events", "dt/device-1/x"));
    ASSERT_EQ(pub.exit_code, 0) << pub.output;
    // The payload line (topic, space, JSON), not mosquitto_sub's debug line about it.
    ASSERT_TRUE(sub->WaitForOutput("$aws/events/presence/disconnected/dev-events {", 5s))
        << sub->Output();
    const std::string output = sub->Output();
    const auto line_of = [&](const std::string& topic) {
        const auto at = output.find(topic + " ");
        EXPECT_NE(at, std::string::npos) << output;
        const auto start = at + topic.size() + 1;
        return nlohmann::json::parse(output.substr(start, output.find('\n', start) - start));
    };
    const auto connected = line_of("$aws/events/presence/connected/dev-events");
    EXPECT_EQ(connected["eventType"], "connected");
    EXPECT_EQ(connected["clientId"], "dev-events");
    EXPECT_EQ(connected["principalIdentifier"], device_.certificate_id);
    EXPECT_EQ(connected["ipAddress"], "127.0.0.1");
    EXPECT_GT(connected["timestamp"].get<std::int64_t>(), 1'600'000'000'000);
    const auto disconnected = line_of("$aws/events/presence/disconnected/dev-events");
    EXPECT_EQ(disconnected["disconnectReason"], "CLIENT_INITIATED_DISCONNECT");
    EXPECT_EQ(disconnected["clientInitiatedDisconnect"], true);
    EXPECT_EQ(disconnected["sessionIdentifier"], connected["sessionIdentifier"]);
}

TEST_F(BrokerPluginTest, PublishesSubscriptionEvents) {
    auto watcher = Subscribe("$aws/events/subscriptions/#", "watcher");
    auto sub = Subscribe("cmd/device-1/#", "subscriber");
    ASSERT_TRUE(watcher->WaitForOutput("$aws/events/subscriptions/subscribed/subscriber {", 5s))
        << watcher->Output();
    EXPECT_NE(watcher->Output().find("\"topics\":[\"cmd/device-1/#\"]"), std::string::npos)
        << watcher->Output();
}

TEST_F(BrokerPluginTest, ClosesMqtt311ConnectionOnQos2Publish) {
    auto client = Paho("qos2-client");
    client->connect(PahoOptions(device_))->wait();
    ASSERT_TRUE(client->is_connected());
    try {
        client->publish("dt/device-1/q2", "payload", 2, false)->wait_for(3s);
    } catch (const mqtt::exception&) {  // NOLINT(bugprone-empty-catch): either way, it must drop
    }
    EXPECT_TRUE(WaitDisconnected(*client, 3s));
    EXPECT_TRUE(broker_->process().WaitForLog("reason=qos2_not_supported", 1s));
}

TEST_F(BrokerPluginTest, Publish200KiBIsClosedUnacknowledgedWithClientError) {
    auto watcher = Subscribe("$aws/events/presence/disconnected/+", "watcher");
    auto client = Paho("big-payload");
    client->connect(PahoOptions(device_))->wait();
    ASSERT_TRUE(client->is_connected());
    bool acknowledged = false;
    try {
        acknowledged = client->publish("dt/device-1/big", std::string(200 * 1024, 'b'), 1, false)
                           ->wait_for(3s);
    } catch (const mqtt::exception&) {  // NOLINT(bugprone-empty-catch): lost, as expected
    }
    EXPECT_FALSE(acknowledged) << "AWS sends no PUBACK for a payload over 128 KB";
    EXPECT_TRUE(WaitDisconnected(*client, 3s));
    EXPECT_TRUE(broker_->process().WaitForLog("reason=payload_too_large client_id=big-payload", 1s))
        << broker_->Log();
    ASSERT_TRUE(watcher->WaitForOutput("$aws/events/presence/disconnected/big-payload {", 5s))
        << watcher->Output();
    EXPECT_NE(watcher->Output().find("\"disconnectReason\":\"CLIENT_ERROR\""), std::string::npos)
        << watcher->Output();
    // 128 KiB exactly is acknowledged.
    auto fits = Paho("fits");
    fits->connect(PahoOptions(device_))->wait();
    EXPECT_TRUE(
        fits->publish("dt/device-1/big", std::string(128 * 1024, 'b'), 1, false)->wait_for(3s));
    fits->disconnect()->wait();
}

TEST_F(BrokerPluginTest, ClosesConnectionOnTopicLongerThan256Bytes) {
    auto client = Paho("long-topic");
    client->connect(PahoOptions(device_))->wait();
    const std::string topic = "dt/" + std::string(254, 'x');  // 257 bytes
    try {
        client->publish(topic, "payload", 1, false)->wait_for(3s);
    } catch (const mqtt::exception&) {  // NOLINT(bugprone-empty-catch)
    }
    EXPECT_TRUE(WaitDisconnected(*client, 3s));
    EXPECT_TRUE(broker_->process().WaitForLog("reason=topic_too_long", 1s));
}

TEST_F(BrokerPluginTest, AcceptsTopicOfExactly256BytesAndSevenSlashes) {
    auto client = Paho("edge-topic");
    client->connect(PahoOptions(device_))->wait();
    // Each QoS 1 publish is acknowledged (PUBACK), not merely sent.
    EXPECT_TRUE(client->publish("dt/" + std::string(253, 'x'), "p", 1, false)->wait_for(3s));
    EXPECT_TRUE(client->publish("a/b/c/d/e/f/g/h", "p", 1, false)->wait_for(3s));
    std::this_thread::sleep_for(300ms);  // a kick would land on the next TICK (~100 ms)
    EXPECT_TRUE(client->is_connected());
    client->disconnect()->wait();
}

TEST_F(BrokerPluginTest, ClosesConnectionOnEightSlashTopicAndReservedTopic) {
    auto client = Paho("levels");
    client->connect(PahoOptions(device_))->wait();
    try {
        client->publish("a/b/c/d/e/f/g/h/i", "p", 1, false)->wait_for(3s);
    } catch (const mqtt::exception&) {  // NOLINT(bugprone-empty-catch)
    }
    EXPECT_TRUE(WaitDisconnected(*client, 3s));
    auto reserved = Paho("reserved");
    reserved->connect(PahoOptions(device_))->wait();
    try {
        reserved->publish("$aws/events/presence/connected/x", "p", 1, false)->wait_for(3s);
    } catch (const mqtt::exception&) {  // NOLINT(bugprone-empty-catch)
    }
    EXPECT_TRUE(WaitDisconnected(*reserved, 3s));
    EXPECT_TRUE(broker_->process().WaitForLog("reason=reserved_topic", 1s));
}

TEST_F(BrokerPluginTest, SecondConnectionWithSameClientIdDisconnectsTheFirst) {
    auto watcher = Subscribe("$aws/events/presence/disconnected/dup", "watcher");
    auto first = Paho("dup");
    first->connect(PahoOptions(device_))->wait();
    std::this_thread::sleep_for(1100ms);  // AWS allows 1 CONNECT/s per client id
    auto second = Paho("dup");
    second->connect(PahoOptions(device_))->wait();
    EXPECT_TRUE(WaitDisconnected(*first, 3s));
    EXPECT_TRUE(second->is_connected());
    EXPECT_TRUE(watcher->WaitForOutput("DUPLICATE_CLIENTID", 3s)) << watcher->Output();
    second->disconnect()->wait();
}

TEST_F(BrokerPluginTest, RefusesSecondConnectWithinOneSecondWithoutConnack) {
    const auto first = RunCommand(Pub(device_, "fast", "dt/device-1/x"));
    ASSERT_EQ(first.exit_code, 0) << first.output;
    const auto second = RunCommand(Pub(device_, "fast", "dt/device-1/x"));
    EXPECT_NE(second.exit_code, 0) << second.output;
    EXPECT_TRUE(broker_->process().WaitForLog("THROTTLED", 1s));
    std::this_thread::sleep_for(1s);
    const auto third = RunCommand(Pub(device_, "fast", "dt/device-1/x"));
    EXPECT_EQ(third.exit_code, 0) << third.output;
}

TEST_F(BrokerPluginTest, IgnoresSdkMetricsUsername) {
    auto argv = Pub(device_, "sdk-client", "dt/device-1/x");
    argv.insert(argv.end(), {"-u", "?SDK=IoTDeviceSDK/JS&Platform=Unix"});
    const auto result = RunCommand(argv);
    EXPECT_EQ(result.exit_code, 0) << result.output;
}

}  // namespace
}  // namespace sim::broker
