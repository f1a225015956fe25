// SPDX-License-Identifier: Apache-2.0
#include "sim/broker/broker_core.hpp"

#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace sim::broker {
namespace {
using namespace std::chrono_literals;
using nlohmann::json;

class TestPrincipal final : public Principal {};

// A scripted account: verdicts per certificate, denials per (access, name).
class ScriptedAccount final : public AccountView {
public:
    std::map<std::string, Identification::Verdict> verdicts;
    std::set<std::pair<Access, std::string>> denied;
    std::vector<AccountEffect> effects;
    int ticks = 0;
    int explained = 0;  ///< Authorize calls that asked for an explanation.

    Identification Identify(const DeviceConnect& request) override {
        Identification id;
        const auto it = verdicts.find(request.certificate.certificate_id);
        id.verdict = it == verdicts.end() ? Identification::Verdict::kAccept : it->second;
        id.reason = "scripted";
        id.certificate_id = request.certificate.certificate_id;
        if (id.verdict == Identification::Verdict::kAccept) {
            id.principal = std::make_shared<TestPrincipal>();
        }
        if (id.verdict == Identification::Verdict::kCloseAfterRegistration) {
            effects.push_back({AccountEffect::Kind::kPublish,
                               "$aws/events/certificates/registered/ca", "{}", ""});
        }
        return id;
    }
    AuthzAnswer Authorize(const Principal& /*principal*/, Access access, std::string_view name,
                          bool explain) override {
        const bool deny = denied.count({access, std::string(name)}) > 0;
        explained += explain ? 1 : 0;
        return {!deny, deny && explain ? "scripted deny" : ""};
    }
    std::vector<AccountEffect> TakeEffects() override {
        std::vector<AccountEffect> out;
        out.swap(effects);
        return out;
    }
    void Tick() override { ++ticks; }
};

const sim::TimePoint kStart{std::chrono::seconds{1'700'000'000}};

class BrokerCoreTest : public ::testing::Test {
protected:
    BrokerCoreTest() : core_(Settings(), account_, random_) {}
    static BrokerSettings Settings() {
        BrokerSettings s;
        s.explain = true;
        return s;
    }
    ConnectInput Input(const std::string& client_id, int version = 4,
                       const std::string& cert = "cert-a", std::uint64_t key = 1) {
        ConnectInput input;
        input.session_key = key;
        input.client_id = client_id;
        input.has_certificate = true;
        input.certificate.certificate_id = cert;
        input.source_ip = "127.0.0.9";
        input.protocol_version = version;
        return input;
    }
    std::vector<std::string> Topics(const BrokerEffects& effects) {
        std::vector<std::string> topics;
        for (const auto& m : effects.publishes) {
            topics.push_back(m.topic);
        }
        return topics;
    }

    ScriptedAccount account_;
    sim::SeededRandom random_{7};
    BrokerCore core_;
};

struct ConnectCase {
    std::string name;
    Identification::Verdict verdict;
    bool connect_denied;
    int protocol_version;
    ConnectAction expected;
};

class ConnectDecisionTest : public BrokerCoreTest,
                            public ::testing::WithParamInterface<ConnectCase> {};

TEST_P(ConnectDecisionTest, MapsAccountAnswersToWireOutcome) {
    const auto& c = GetParam();
    account_.verdicts["cert-a"] = c.verdict;
    if (c.connect_denied) {
        account_.denied.insert({Access::kConnect, "dev"});
    }
    const auto result = core_.OnConnect(Input("dev", c.protocol_version), kStart);
    EXPECT_EQ(result.action, c.expected) << result.reason;
    EXPECT_EQ(result.certificate_id, "cert-a");
    EXPECT_EQ(core_.SessionCount(), c.expected == ConnectAction::kAccept ? 1U : 0U);
}

INSTANTIATE_TEST_SUITE_P(
    Outcomes, ConnectDecisionTest,
    ::testing::Values(ConnectCase{"ActiveAllowedV311", Identification::Verdict::kAccept, false, 4,
                                  ConnectAction::kAccept},
                      ConnectCase{"ActiveAllowedV5", Identification::Verdict::kAccept, false, 5,
                                  ConnectAction::kAccept},
                      ConnectCase{"RefusedCertV311", Identification::Verdict::kRefuse, false, 4,
                                  ConnectAction::kCloseWithoutConnack},
                      // Chosen: MQTT 5 gets CONNACK 0x87 for a refused
                      // certificate; MQTT 3.1.1 is dropped.
                      ConnectCase{"RefusedCertV5", Identification::Verdict::kRefuse, false, 5,
                                  ConnectAction::kRefuseWithConnack},
                      ConnectCase{"JustRegisteredV5",
                                  Identification::Verdict::kCloseAfterRegistration, false, 5,
                                  ConnectAction::kCloseWithoutConnack},
                      ConnectCase{"ConnectDeniedV311", Identification::Verdict::kAccept, true, 4,
                                  ConnectAction::kCloseWithoutConnack},
                      ConnectCase{"ConnectDeniedV5", Identification::Verdict::kAccept, true, 5,
                                  ConnectAction::kRefuseWithConnack}),
    [](const auto& test_case) { return test_case.param.name; });

// The plugin's own refusals (a staging claim refused after the policy allowed the publish).
struct KickCase {
    const char* name;
    bool connected;
    std::size_t expected_kicks;
};
class KickTest : public BrokerCoreTest, public ::testing::WithParamInterface<KickCase> {};

TEST_P(KickTest, KicksOnlyLiveSessionsOnce) {
    const auto& c = GetParam();
    if (c.connected) {
        ASSERT_EQ(core_.OnConnect(Input("dev", 4), kStart).action, ConnectAction::kAccept);
    }
    core_.Kick("dev", DisconnectReason::kAuthError);
    core_.Kick("dev", DisconnectReason::kAuthError);
    EXPECT_EQ(core_.TakeEffects(true).kicks.size(), c.expected_kicks);
}

INSTANTIATE_TEST_SUITE_P(Sessions, KickTest,
                         ::testing::Values(KickCase{"Live", true, 1},
                                           KickCase{"Unknown", false, 0}),
                         [](const auto& test_case) { return test_case.param.name; });

TEST_F(BrokerCoreTest, RefusesClientWithoutCertificate) {
    auto input = Input("dev");
    input.has_certificate = false;
    EXPECT_EQ(core_.OnConnect(input, kStart).action, ConnectAction::kCloseWithoutConnack);
}

TEST_F(BrokerCoreTest, RefusesReservedAndOverlongClientIds) {
    EXPECT_EQ(core_.OnConnect(Input("$sys"), kStart).action, ConnectAction::kCloseWithoutConnack);
    EXPECT_EQ(core_.OnConnect(Input(std::string(129, 'x')), kStart).action,
              ConnectAction::kCloseWithoutConnack);
}

TEST_F(BrokerCoreTest, RegistrationEventGoesOutEvenThoughClientIsDropped) {
    account_.verdicts["cert-a"] = Identification::Verdict::kCloseAfterRegistration;
    core_.OnConnect(Input("dev"), kStart);
    EXPECT_EQ(Topics(core_.TakeEffects(false)),
              std::vector<std::string>{"$aws/events/certificates/registered/ca"});
}

TEST_F(BrokerCoreTest, ThrottlesSecondConnectWithinOneSecond) {
    ASSERT_EQ(core_.OnConnect(Input("dev", 4, "cert-a", 1), kStart).action, ConnectAction::kAccept);
    core_.OnDisconnect(1, "dev", DisconnectCause::kClientDisconnect, kStart + 10ms);
    const auto again = core_.OnConnect(Input("dev", 4, "cert-a", 2), kStart + 500ms);
    EXPECT_EQ(again.action, ConnectAction::kCloseWithoutConnack);
    EXPECT_NE(again.reason.find("THROTTLED"), std::string::npos);
    EXPECT_EQ(core_.OnConnect(Input("dev", 4, "cert-a", 3), kStart + 1s).action,
              ConnectAction::kAccept);
}

TEST_F(BrokerCoreTest, ConnectAndDisconnectPublishPresenceEvents) {
    core_.OnConnect(Input("dev"), kStart);
    core_.OnDisconnect(1, "dev", DisconnectCause::kClientDisconnect, kStart + 2s);
    const auto effects = core_.TakeEffects(false);
    ASSERT_EQ(effects.publishes.size(), 2U);
    const auto connected = json::parse(effects.publishes[0].payload);
    const auto disconnected = json::parse(effects.publishes[1].payload);
    EXPECT_EQ(connected["ipAddress"], "127.0.0.9");
    EXPECT_EQ(connected["principalIdentifier"], "cert-a");
    EXPECT_EQ(connected["timestamp"], 1'700'000'000'000);
    EXPECT_EQ(disconnected["timestamp"], 1'700'000'002'000);
    EXPECT_EQ(disconnected["sessionIdentifier"], connected["sessionIdentifier"]);
    EXPECT_EQ(disconnected["disconnectReason"], "CLIENT_INITIATED_DISCONNECT");
    EXPECT_EQ(core_.SessionCount(), 0U);
}

TEST_F(BrokerCoreTest, DuplicateClientIdEndsOldSessionAndIgnoresItsLateDisconnect) {
    core_.OnConnect(Input("dev", 4, "cert-a", 1), kStart);
    core_.OnConnect(Input("dev", 4, "cert-b", 2), kStart + 2s);
    core_.OnDisconnect(1, "dev", DisconnectCause::kConnectionLost, kStart + 2s);
    const auto effects = core_.TakeEffects(false);
    ASSERT_EQ(effects.publishes.size(), 3U);
    EXPECT_EQ(json::parse(effects.publishes[1].payload)["disconnectReason"], "DUPLICATE_CLIENTID");
    EXPECT_EQ(json::parse(effects.publishes[2].payload)["eventType"], "connected");
    EXPECT_EQ(json::parse(effects.publishes[2].payload)["versionNumber"], 2);
    EXPECT_EQ(core_.CertificateOf("dev"), "cert-b");
}

struct PublishCase {
    std::string name;
    std::string topic;
    int qos;
    bool retain;
    int protocol_version;
    bool deny_publish;
    bool deny_retain;
    bool allowed;
    bool kick;
    std::string disconnect_reason;  // for a kick
};

class PublishDecisionTest : public BrokerCoreTest,
                            public ::testing::WithParamInterface<PublishCase> {};

TEST_P(PublishDecisionTest, AppliesRulesThenPolicies) {
    const auto& c = GetParam();
    if (c.deny_publish) {
        account_.denied.insert({Access::kPublish, c.topic});
    }
    if (c.deny_retain) {
        account_.denied.insert({Access::kRetainPublish, c.topic});
    }
    ASSERT_EQ(core_.OnConnect(Input("dev", c.protocol_version), kStart).action,
              ConnectAction::kAccept);
    core_.TakeEffects(true);
    const auto result = core_.OnPublish("dev", c.topic, c.qos, c.retain);
    EXPECT_EQ(result.allowed, c.allowed) << result.reason;
    EXPECT_EQ(result.kick, c.kick);
    const auto effects = core_.TakeEffects(true);
    EXPECT_EQ(effects.kicks.size(), c.kick ? 1U : 0U);
    if (c.kick) {
        core_.OnDisconnect(1, "dev", DisconnectCause::kAdministrative, kStart + 1s);
        const auto after = core_.TakeEffects(true);
        ASSERT_EQ(after.publishes.size(), 1U);
        EXPECT_EQ(json::parse(after.publishes[0].payload)["disconnectReason"], c.disconnect_reason);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Publishes, PublishDecisionTest,
    ::testing::Values(
        PublishCase{"Allowed", "dt/a", 1, false, 4, false, false, true, false, ""},
        PublishCase{"Qos2Kicks", "dt/a", 2, false, 5, false, false, false, true, "CLIENT_ERROR"},
        PublishCase{"LongTopicKicks", std::string(257, 't'), 0, false, 4, false, false, false, true,
                    "CLIENT_ERROR"},
        PublishCase{"ReservedTopicKicks", "$aws/events/x", 0, false, 4, false, false, false, true,
                    "FORBIDDEN_ACCESS"},
        PublishCase{"DeniedV311Kicks", "dt/a", 1, false, 4, true, false, false, true, "AUTH_ERROR"},
        PublishCase{"DeniedV5GetsReasonCodeOnly", "dt/a", 1, false, 5, true, false, false, false,
                    ""},
        PublishCase{"RetainNeedsRetainPublish", "dt/a", 1, true, 5, false, true, false, false, ""},
        PublishCase{"RetainAllowed", "dt/a", 1, true, 4, false, false, true, false, ""}),
    [](const auto& test_case) { return test_case.param.name; });

TEST_F(BrokerCoreTest, DeniedSubscribeKicksOnMqtt311AndNotOnMqtt5) {
    account_.denied.insert({Access::kSubscribe, "cmd/#"});
    core_.OnConnect(Input("v311", 4, "cert-a", 1), kStart);
    core_.OnConnect(Input("v5", 5, "cert-a", 2), kStart);
    EXPECT_TRUE(core_.OnSubscribe("v311", "cmd/#", 1, kStart).kick);
    const auto v5 = core_.OnSubscribe("v5", "cmd/#", 1, kStart);
    EXPECT_FALSE(v5.allowed);
    EXPECT_FALSE(v5.kick);
    EXPECT_EQ(core_.TakeEffects(true).kicks, std::vector<std::string>{"v311"});
}

TEST_F(BrokerCoreTest, AllowedSubscribeAndUnsubscribePublishEvents) {
    core_.OnConnect(Input("dev"), kStart);
    core_.TakeEffects(true);
    EXPECT_TRUE(core_.OnSubscribe("dev", "cmd/dev/#", 1, kStart).allowed);
    core_.OnUnsubscribe("dev", "cmd/dev/#", kStart);
    EXPECT_EQ(Topics(core_.TakeEffects(true)),
              (std::vector<std::string>{"$aws/events/subscriptions/subscribed/dev",
                                        "$aws/events/subscriptions/unsubscribed/dev"}));
}

TEST_F(BrokerCoreTest, Qos2SubscribeAndBadFiltersKick) {
    core_.OnConnect(Input("a", 4, "cert-a", 1), kStart);
    core_.OnConnect(Input("b", 4, "cert-a", 2), kStart);
    EXPECT_TRUE(core_.OnSubscribe("a", "x/y", 2, kStart).kick);
    EXPECT_TRUE(core_.OnSubscribe("b", "x/#/y", 1, kStart).kick);
}

TEST_F(BrokerCoreTest, ReceiveDeniedSilentlyAndUnknownClientsFailClosed) {
    account_.denied.insert({Access::kReceive, "secret"});
    core_.OnConnect(Input("dev"), kStart);
    const auto denied = core_.OnReceive("dev", "secret");
    EXPECT_FALSE(denied.allowed);
    EXPECT_FALSE(denied.kick);
    EXPECT_TRUE(core_.OnReceive("dev", "public").allowed);
    EXPECT_FALSE(core_.OnReceive("nobody", "public").allowed);
    EXPECT_FALSE(core_.OnPublish("nobody", "public", 0, false).allowed);
    EXPECT_FALSE(core_.OnSubscribe("nobody", "public", 0, kStart).allowed);
}

TEST_F(BrokerCoreTest, CertificateLeavingActiveKicksEverySessionUsingIt) {
    core_.OnConnect(Input("one", 4, "cert-a", 1), kStart);
    core_.OnConnect(Input("two", 4, "cert-a", 2), kStart);
    core_.OnConnect(Input("other", 4, "cert-b", 3), kStart);
    account_.effects.push_back({AccountEffect::Kind::kDisconnectCertificate, "", "", "cert-a"});
    core_.OnTick();
    EXPECT_EQ(account_.ticks, 1);
    auto kicks = core_.TakeEffects(true).kicks;
    std::sort(kicks.begin(), kicks.end());
    EXPECT_EQ(kicks, (std::vector<std::string>{"one", "two"}));
    core_.OnDisconnect(1, "one", DisconnectCause::kUnknown, kStart + 1s);
    EXPECT_EQ(json::parse(core_.TakeEffects(true).publishes.at(0).payload)["disconnectReason"],
              "API_INITIATED_DISCONNECT");
}

TEST_F(BrokerCoreTest, KicksWaitForTheTick) {
    account_.denied.insert({Access::kPublish, "dt/a"});
    core_.OnConnect(Input("dev"), kStart);
    core_.OnPublish("dev", "dt/a", 1, false);
    EXPECT_TRUE(core_.TakeEffects(false).kicks.empty());
    EXPECT_EQ(core_.TakeEffects(true).kicks, std::vector<std::string>{"dev"});
    EXPECT_TRUE(core_.TakeEffects(true).kicks.empty());
}

// Strict mode: allowed requests are evaluated without an explanation (the hot path), and every
// refusal still carries the account's reason, for the log.
TEST(BrokerCoreStrictMode, RefusalsCarryTheReasonAllowedRequestsAreNotExplained) {
    ScriptedAccount account;
    sim::SeededRandom random{7};
    BrokerSettings settings;
    settings.explain = false;
    BrokerCore core(settings, account, random);
    account.denied.insert({Access::kPublish, "secret"});
    account.denied.insert({Access::kSubscribe, "secret/#"});
    account.denied.insert({Access::kReceive, "hidden"});
    ConnectInput input;
    input.session_key = 1;
    input.client_id = "dev";
    input.has_certificate = true;
    input.certificate.certificate_id = "cert-a";
    input.source_ip = "127.0.0.9";
    input.protocol_version = 5;
    ASSERT_EQ(core.OnConnect(input, kStart).action, ConnectAction::kAccept);
    EXPECT_TRUE(core.OnPublish("dev", "public", 1, false).allowed);
    EXPECT_TRUE(core.OnReceive("dev", "public").allowed);
    EXPECT_EQ(account.explained, 0);

    struct Case {
        const char* name;
        AclResult result;
    };
    const Case cases[] = {
        {"publish", core.OnPublish("dev", "secret", 1, false)},
        {"subscribe", core.OnSubscribe("dev", "secret/#", 1, kStart)},
        {"receive", core.OnReceive("dev", "hidden")},
    };
    for (const auto& c : cases) {
        EXPECT_FALSE(c.result.allowed) << c.name;
        EXPECT_NE(c.result.reason.find("scripted deny"), std::string::npos)
            << c.name << ": " << c.result.reason;
    }
    EXPECT_EQ(account.explained, 3);

    account.denied.insert({Access::kConnect, "dev2"});
    input.client_id = "dev2";
    input.session_key = 2;
    const auto refused = core.OnConnect(input, kStart);
    EXPECT_EQ(refused.action, ConnectAction::kRefuseWithConnack);
    EXPECT_NE(refused.reason.find("scripted deny"), std::string::npos) << refused.reason;
}

}  // namespace
}  // namespace sim::broker
