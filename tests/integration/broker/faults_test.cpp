// SPDX-License-Identifier: Apache-2.0
// Server-side faults of an account broker (sim/broker/README.md "Faults"): rules posted to the
// account's control plane (/_elsim/faults), applied by the plugin and the TLS tap of a real
// mosquitto to real Paho clients over mutual TLS, and an api-error answered to the real AWS CLI.
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <mqtt/async_client.h>
#include <openssl/ssl.h>

#include "account_broker_fixture.hpp"
#include "sim/testing/mqtt_clients.hpp"

namespace sim::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class BrokerFaultsTest : public AccountBrokerFixture {
protected:
    void SetUp() override {
        ASSERT_NO_FATAL_FAILURE(StartAccount());
        device_ = Observer();
    }

    std::string Arm(const nlohmann::json& rule) {
        const auto reply = Call("POST", "/_elsim/faults", rule);
        return reply.value("faultId", "");
    }

    // True when a Paho 3.1.1 client `client_id` connects within `timeout`.
    bool Connects(const std::string& client_id, std::chrono::seconds timeout = 8s) {
        auto client = PahoClient(broker_->port(), client_id);
        try {
            auto token = client->connect(PahoConnectOptions(pki_->ServerCa().cert, device_));
            if (!token->wait_for(timeout) || !client->is_connected()) {
                return false;
            }
            client->disconnect()->wait_for(2s);
            return true;
        } catch (const mqtt::exception&) {
            return false;
        }
    }

    nlohmann::json Faults() { return Call("GET", "/_elsim/faults").value("faults", nlohmann::json()); }

    // True when a TLS handshake with the broker (the device certificate, no MQTT) completes
    // within `timeout`.
    bool TlsHandshakeCompletes(std::chrono::seconds timeout) {
        std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                              &SSL_CTX_free);
        if (!ctx ||
            SSL_CTX_load_verify_locations(ctx.get(), pki_->ServerCa().cert.c_str(), nullptr) != 1 ||
            SSL_CTX_use_certificate_file(ctx.get(), device_.cert.c_str(), SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx.get(), device_.key.c_str(), SSL_FILETYPE_PEM) != 1) {
            ADD_FAILURE() << "client TLS set-up failed";
            return false;
        }
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(broker_->port());
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            ADD_FAILURE() << "TCP connect failed";
            if (fd >= 0) {
                ::close(fd);
            }
            return false;
        }
        timeval limit{static_cast<time_t>(timeout.count()), 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
        std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), &SSL_free);
        SSL_set_fd(ssl.get(), fd);
        const bool done = SSL_connect(ssl.get()) == 1;
        ssl.reset();
        ::close(fd);
        return done;
    }

    // Waits until the broker has taken rule `id` up (its next TICK): from then on it reaches
    // the connections that are open.
    bool Applied(const std::string& id, std::chrono::seconds timeout = 5s) {
        const auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            for (const auto& item : Faults()) {
                if (item.value("id", "") == id && item.value("applied", false)) {
                    return true;
                }
            }
            std::this_thread::sleep_for(10ms);
        }
        return false;
    }

    CertFiles device_;
};

TEST_F(BrokerFaultsTest, RefusedTlsHandshakeOnceThenTheRetryConnects) {
    EXPECT_FALSE(Arm({{"kind", "refuse-tls"}, {"count", 1}}).empty());
    EXPECT_FALSE(Connects("tls-1"));
    EXPECT_TRUE(Connects("tls-1"));
    const auto deadline = Clock::now() + 2s;
    while (broker_->Log().find("fault fired fault-1 refuse-tls") == std::string::npos &&
           Clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_NE(broker_->Log().find("fault fired fault-1 refuse-tls"), std::string::npos);
}

TEST_F(BrokerFaultsTest, WithheldConnackTimesTheClientOutOnlyForItsClientId) {
    Arm({{"kind", "withhold-connack"}, {"client", "quiet"}});
    EXPECT_TRUE(Connects("other"));  // another client id is not touched
    const auto start = Clock::now();
    EXPECT_FALSE(Connects("quiet", 3s));
    EXPECT_GE(Clock::now() - start, 3s);
    EXPECT_TRUE(Connects("quiet"));  // spent: count 1
    EXPECT_TRUE(Faults().empty());
}

TEST_F(BrokerFaultsTest, DelayedPubackArrivesLate) {
    RecordingClient fast(*broker_, *pki_, device_, "fast");
    ASSERT_TRUE(fast.Connect());
    auto start = Clock::now();
    ASSERT_TRUE(fast.Publish("t/fast", "1"));
    EXPECT_LT(Clock::now() - start, 1s);

    Arm({{"kind", "delay-puback"}, {"client", "slow"}, {"delayMs", 1500}});
    RecordingClient slow(*broker_, *pki_, device_, "slow");
    ASSERT_TRUE(slow.Connect());
    start = Clock::now();
    ASSERT_TRUE(slow.Publish("t/slow", "1"));
    EXPECT_GE(Clock::now() - start, 1400ms);
}

TEST_F(BrokerFaultsTest, DropNowClosesTheOpenConnection) {
    auto client = PahoClient(broker_->port(), "victim");
    client->connect(PahoConnectOptions(pki_->ServerCa().cert, device_))->wait();
    ASSERT_TRUE(client->is_connected());
    Arm({{"kind", "drop"}, {"client", "victim"}});
    EXPECT_TRUE(WaitDisconnected(*client, 2s));
}

TEST_F(BrokerFaultsTest, BlackholeSwallowsThePubackThenEnds) {
    RecordingClient client(*broker_, *pki_, device_, "hole");
    ASSERT_TRUE(client.Connect());
    const auto id = Arm({{"kind", "blackhole"}, {"client", "hole"}, {"windowMs", 1000}});
    ASSERT_TRUE(Applied(id));  // the next TICK applies it to open connections
    EXPECT_FALSE(client.Publish("t/hole", "1"));  // no PUBACK in 5 s: it was discarded
    EXPECT_TRUE(Connects("after-the-hole"));
}

// A network black hole lets nothing through: a client that connects while it lasts never
// reaches the account. With a client id, the hole is known from the CONNECT on: the CONNECT is
// swallowed before the account sees it (no connect decision, no session taken over).
TEST_F(BrokerFaultsTest, BlackholeForOneClientSwallowsItsNewConnectBeforeTheAccountSeesIt) {
    const auto id = Arm({{"kind", "blackhole"}, {"client", "ghost"}, {"windowMs", 4000}});
    ASSERT_TRUE(Applied(id));
    const auto armed = Clock::now();
    EXPECT_FALSE(Connects("ghost", 2s));
    EXPECT_TRUE(Connects("other"));  // another client id is not touched
    EXPECT_EQ(broker_->Log().find("client_id=ghost"), std::string::npos) << broker_->Log();
    std::this_thread::sleep_until(armed + 4100ms);
    EXPECT_TRUE(Connects("ghost"));  // the hole is over
}

// For every client, the hole starts at the TLS handshake: it gets no answer.
TEST_F(BrokerFaultsTest, BlackholeForEveryClientLeavesNewHandshakesUnanswered) {
    EXPECT_TRUE(TlsHandshakeCompletes(3s));
    const auto id = Arm({{"kind", "blackhole"}, {"windowMs", 3000}});
    ASSERT_TRUE(Applied(id));
    const auto armed = Clock::now();
    EXPECT_FALSE(TlsHandshakeCompletes(1s));
    std::this_thread::sleep_until(armed + 3100ms);
    EXPECT_TRUE(TlsHandshakeCompletes(3s));
    EXPECT_TRUE(Connects("after-the-hole"));
}

TEST_F(BrokerFaultsTest, ApiErrorIsAnsweredOnceAndTheAwsCliRetriesThroughIt) {
    Arm({{"kind", "api-error"}, {"operation", "ListThings"}, {"error", "ThrottlingException"}});
    // The AWS CLI retries throttling errors by itself (botocore's retry handler): it succeeds,
    // and the fault was used.
    const auto cli = AwsCli({"list-things"});
    EXPECT_EQ(cli.exit_code, 0) << cli.output;
    EXPECT_TRUE(Faults().empty());

    Arm({{"kind", "api-error"}, {"error", "InternalFailureException"}});
    auto reply = client_->Call("GET", "/things");
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().type, "InternalFailureException");
    EXPECT_EQ(reply.error().status, 500);
    EXPECT_TRUE(client_->Call("GET", "/things").has_value());
}

TEST_F(BrokerFaultsTest, BadRulesAreRefusedNamingTheMember) {
    auto reply = client_->Call("POST", "/_elsim/faults", {}, {{"kind", "delay-puback"}});
    ASSERT_FALSE(reply);
    EXPECT_EQ(reply.error().status, 400);
    EXPECT_EQ(reply.error().type, "InvalidRequestException");
    EXPECT_NE(reply.error().message.find("delayMs"), std::string::npos) << reply.error().message;
    reply = client_->Call("POST", "/_elsim/faults", {}, {{"kind", "meltdown"}});
    ASSERT_FALSE(reply);
    EXPECT_NE(reply.error().message.find("kind"), std::string::npos);
    EXPECT_TRUE(Faults().empty());
}

}  // namespace
}  // namespace sim::testing
