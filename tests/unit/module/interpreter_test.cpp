// SPDX-License-Identifier: Apache-2.0
// The module state machine: every command's answers and error paths, connection, onboarding,
// events and resets. Lines and examples come from PG-CMD/PG-MSG/PG-EVT/PG-PROV.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "module_harness.hpp"
#include "sim/module/interpreter.hpp"

namespace sim::module {
namespace {

using ::testing::ElementsAre;

constexpr const char* kThing = "0123abcd";
const std::string kCertificate =
    "-----BEGIN CERTIFICATE-----\nMIIBcert\nline2\n-----END CERTIFICATE-----\n";

std::shared_ptr<ModuleProfile> MakeProfile() {
    auto profile = std::make_shared<ModuleProfile>();
    profile->thing_name = kThing;
    profile->certificate_pem = kCertificate;
    profile->staging_endpoint = "staging.elsim.test";
    profile->root_ca_pem = "-----BEGIN CERTIFICATE-----\nROOT\n-----END CERTIFICATE-----\n";
    profile->backoff_seed = 7;
    return profile;
}

class Module : public ModuleHarness {
public:
    explicit Module(std::shared_ptr<const ModuleProfile> profile = MakeProfile())
        : ModuleHarness(std::move(profile)) {}
};

struct LineCase {
    std::string name;
    std::string input;
    std::vector<std::string> output;
};

class CommandTableTest : public ::testing::TestWithParam<LineCase> {};

TEST_P(CommandTableTest, Answers) {
    Module module;
    module.DrainEvents();
    EXPECT_EQ(module.Send(GetParam().input), GetParam().output);
}

const std::string kOverflowLine = "AT+SEND1 " + std::string(kMaxCommandBytes + 1, 'x') + "\n";

INSTANTIATE_TEST_SUITE_P(
    Spec, CommandTableTest,
    ::testing::Values(
        // PG-CMD 4.5 examples.
        LineCase{"JunkThenAt", "abcdefAT\n", {"OK"}},
        LineCase{"AtLfCr", "AT\n\r", {"OK"}},
        LineCase{"AtCrLf", "AT\r\n", {"OK"}},
        LineCase{"AtCrCr", "AT\r\r", {"OK"}},
        LineCase{"SleepNineA", "AT+SLEEP9A\n", {"ERR4 PARAMETER ERROR"}},
        LineCase{"SleepNineFallsBack", "AT+SLEEP9\n", {"OK 3"}},
        LineCase{"SleepText", "AT+SLEEP SOME TEXT\n", {"ERR4 PARAMETER ERROR"}},
        LineCase{"SleepDefault", "AT+SLEEP\n", {"OK 0"}},
        LineCase{"Overflow", kOverflowLine, {"ERR1 OVERFLOW"}},
        LineCase{"OverflowThenWorks", kOverflowLine + "AT\n", {"ERR1 OVERFLOW", "OK"}},
        LineCase{"ParseError", "ATX\n", {"ERR2 PARSE ERROR"}},
        LineCase{"EmptyCommand", "AT+\n", {"ERR2 PARSE ERROR"}},
        LineCase{"NulInCommand", std::string("AT+\0\n", 5), {"ERR2 PARSE ERROR"}},
        LineCase{"Unknown", "AT+FOO\n", {"ERR3 COMMAND NOT FOUND"}},
        LineCase{"LegacyStat", "AT+STAT\n", {"ERR3 COMMAND NOT FOUND"}},
        LineCase{"LegacySendTopic", "AT+SENDX\n", {"ERR3 COMMAND NOT FOUND"}},
        LineCase{"BadEscape", "AT+CONF Topic1=a\\qb\n", {"ERR5 INVALID ESCAPE"}},
        LineCase{"LowerCaseCommand", "at+conf? ThingName\r\n", {"OK 0123abcd"}},
        // Connection.
        LineCase{"ConnectQuery", "AT+CONNECT?\n", {"OK 0 0 DISCONNECTED STAGING"}},
        LineCase{"ConnectQueryCustomer", "AT+CONF Endpoint=oem.elsim.test\nAT+CONNECT?\n",
                 {"OK", "OK 0 1 DISCONNECTED CUSTOMER"}},
        LineCase{"ConnectSuffix", "AT+CONNECT1\n", {"ERR4 PARAMETER ERROR"}},
        LineCase{"ConnectParameter", "AT+CONNECT now\n", {"ERR4 PARAMETER ERROR"}},
        LineCase{"DisconnectWhenDisconnected", "AT+DISCONNECT\n", {"OK 0 DISCONNECTED"}},
        LineCase{"ConnectBadEndpoint", "AT+CONF Endpoint=bad:port\nAT+CONNECT\n",
                 {"OK", "ERR14 3 UNABLE TO CONNECT Invalid Endpoint?"}},
        // Messaging.
        LineCase{"SendNoSuffix", "AT+SEND hi\n", {"ERR4 PARAMETER ERROR"}},
        LineCase{"SendZero", "AT+SEND0 hi\n", {"ERR7 OUT OF RANGE"}},
        LineCase{"SendBeyondMaxTopic", "AT+SEND17 hi\n", {"ERR7 OUT OF RANGE"}},
        LineCase{"SendEmptyTopic", "AT+SEND1 hi\n", {"ERR8 PARAMETER UNDEFINED"}},
        LineCase{"SendDisconnected", "AT+CONF Topic1=data\nAT+SEND1 Hello World!\n",
                 {"OK", "ERR6 NO CONNECTION"}},
        LineCase{"SubscribeZero", "AT+SUBSCRIBE0\n", {"ERR7 OUT OF RANGE"}},
        LineCase{"SubscribeEmpty", "AT+SUBSCRIBE2\n", {"ERR8 PARAMETER UNDEFINED"}},
        LineCase{"SubscribeDisconnected", "AT+CONF Topic2=t\nAT+SUBSCRIBE2\n",
                 {"OK", "ERR6 NO CONNECTION"}},
        LineCase{"UnsubscribeNoSuffix", "AT+UNSUBSCRIBE\n", {"ERR4 PARAMETER ERROR"}},
        LineCase{"UnsubscribeDisconnected", "AT+CONF Topic2=t\nAT+UNSUBSCRIBE2\n",
                 {"OK", "ERR6 NO CONNECTION"}},
        LineCase{"GetEmpty", "AT+GET\n", {"OK"}},
        LineCase{"GetZeroEmpty", "AT+GET0\n", {"OK"}},
        LineCase{"GetTopicUndefined", "AT+GET1\n", {"ERR8 PARAMETER UNDEFINED"}},
        LineCase{"GetOutOfRange", "AT+GET17\n", {"ERR7 OUT OF RANGE"}},
        LineCase{"GetTopicWorksDisconnected", "AT+CONF Topic1=a\nAT+GET1\n", {"OK", "OK"}},
        // Configuration.
        LineCase{"ConfAbout", "AT+CONF? About\n", {"OK elsim SoftwareModule"}},
        LineCase{"ConfVersionCase", "AT+CONF VERSION=1.0\n", {"ERR11 UNKNOWN KEY"}},
        LineCase{"ConfReadonly", "AT+CONF ThingName=x\n", {"ERR12 KEY READONLY"}},
        LineCase{"ConfWriteonly", "AT+CONF? Passphrase\n", {"ERR13 KEY WRITEONLY"}},
        LineCase{"ConfKeyLength", "AT+CONF? ABCDEFGHIJKLMNOPQ\n", {"ERR9 INVALID KEY LENGTH"}},
        LineCase{"ConfKeyName", "AT+CONF Topic#1=x\n", {"ERR10 INVALID KEY NAME"}},
        LineCase{"ConfNoEquals", "AT+CONF Topic1\n", {"ERR4 PARAMETER ERROR"}},
        LineCase{"ConfNoParameter", "AT+CONF\n", {"ERR4 PARAMETER ERROR"}},
        LineCase{"ConfQueryNoParameter", "AT+CONF?\n", {"ERR4 PARAMETER ERROR"}},
        LineCase{"ConfTooLong", "AT+CONF Topic1=" + std::string(129, 'x') + "\n",
                 {"ERR4 PARAMETER ERROR"}},
        LineCase{"ConfEmptyValue", "AT+CONF Topic1=\nAT+CONF? Topic1\n", {"OK", "OK"}},
        LineCase{"ConfEscapesBothWays",
                 "AT+CONF Topic1=a\\Ab\\Dc\\\\d\nAT+CONF? Topic1\n",
                 {"OK", "OK a\\Ab\\Dc\\\\d"}},
        LineCase{"ConfCertificatePem", "AT+CONF? Certificate pem\n",
                 {"OK4 pem", "-----BEGIN CERTIFICATE-----", "MIIBcert", "line2",
                  "-----END CERTIFICATE-----"}},
        LineCase{"ConfCertificatePemUpper", "AT+CONF? Certificate PEM\n",
                 {"OK4 pem", "-----BEGIN CERTIFICATE-----", "MIIBcert", "line2",
                  "-----END CERTIFICATE-----"}},
        LineCase{"ConfCertificateOneLine", "AT+CONF? Certificate\n",
                 {"OK -----BEGIN CERTIFICATE-----\\AMIIBcert\\Aline2\\A-----END "
                  "CERTIFICATE-----\\A"}},
        LineCase{"ConfPemOnNonCertificate", "AT+CONF? About pem\n", {"ERR4 PARAMETER ERROR"}},
        LineCase{"ConfRootCaNotPem", "AT+CONF RootCA=hello\n", {"ERR26 INVALID CERTIFICATE"}},
        LineCase{"ConfPemInput",
                 "AT+CONF RootCA=pem\r\n-----BEGIN CERTIFICATE-----\r\nNEWROOT\r\n"
                 "-----END CERTIFICATE-----\r\nAT+CONF? RootCA pem\n",
                 {"OK", "OK3 pem", "-----BEGIN CERTIFICATE-----", "NEWROOT",
                  "-----END CERTIFICATE-----"}},
        LineCase{"ConfPemInputAbortedByCommand", "AT+CONF RootCA=pem\nMIIB\nAT\n",
                 {"ERR4 PARAMETER ERROR", "OK"}},
        // A body line may start with "AT" (base64 is any letters): it is PEM, not a command.
        LineCase{"ConfPemBodyLineStartingWithAt",
                 "AT+CONF RootCA=pem\n-----BEGIN CERTIFICATE-----\nATCDEF+/==\natxy\nAT\n"
                 "-----END CERTIFICATE-----\nAT+CONF? RootCA pem\n",
                 {"OK", "OK5 pem", "-----BEGIN CERTIFICATE-----", "ATCDEF+/==", "atxy", "AT",
                  "-----END CERTIFICATE-----"}},
        // Inside the body a line no base64 can hold is a command and aborts the input.
        LineCase{"ConfPemBodyAbortedByCommandWithSpace",
                 "AT+CONF RootCA=pem\n-----BEGIN CERTIFICATE-----\nMIIB\nAT+CONF? About\n",
                 {"ERR4 PARAMETER ERROR", "OK elsim SoftwareModule"}},
        LineCase{"ConfPemBodyAbortedByQuery",
                 "AT+CONF RootCA=pem\n-----BEGIN CERTIFICATE-----\nMIIB\nAT+TIME?\n",
                 {"ERR4 PARAMETER ERROR", "ERR15 TIME NOT AVAILABLE"}},
        // Events, time, location, modes, OTA, shadow, diag.
        LineCase{"EventEmpty", "AT+EVENT?\n", {"OK"}},
        LineCase{"EventSuffix", "AT+EVENT?1\n", {"ERR4 PARAMETER ERROR"}},
        LineCase{"TimeBeforeAnyConnection", "AT+TIME?\n", {"ERR15 TIME NOT AVAILABLE"}},
        LineCase{"TimeSuffix", "AT+TIME?1\n", {"ERR4 PARAMETER ERROR"}},
        LineCase{"Where", "AT+WHERE?\n", {"ERR16 LOCATION NOT AVAILABLE"}},
        LineCase{"Confmode", "AT+CONFMODE\n", {"ERR17 MODE NOT AVAILABLE"}},
        LineCase{"OtaQuery", "AT+OTA?\n", {"OK 0 IDLE"}},
        LineCase{"OtaQueryDoc", "AT+OTA? DOC\n", {"OK 0 IDLE"}},
        LineCase{"OtaAccept", "AT+OTA ACCEPT\n", {"ERR21 INVALID OTA UPDATE"}},
        LineCase{"OtaRead", "AT+OTA READ 16\n", {"ERR19 HOST IMAGE NOT AVAILABLE"}},
        LineCase{"OtaJunk", "AT+OTA DANCE\n", {"ERR4 PARAMETER ERROR"}},
        LineCase{"ShadowInStaging", "AT+SHADOW INIT\n", {"ERR24 SHADOW ERROR"}},
        LineCase{"ShadowIndexOutOfRange", "AT+SHADOW5 INIT\n", {"ERR7 OUT OF RANGE"}},
        LineCase{"DiagUnknown", "AT+DIAG SCAN 5\n", {"ERR4 PARAMETER ERROR"}},
        LineCase{"DiagPingNoHost", "AT+DIAG PING\n", {"ERR4 PARAMETER ERROR"}},
        LineCase{"Reset", "AT+RESET\nAT+EVENT?\nAT+EVENT?\n", {"OK", "OK 2 0 STARTUP", "OK"}},
        LineCase{"FactoryReset", "AT+CONF Endpoint=x.test\nAT+FACTORY_RESET\nAT+CONF? Endpoint\n",
                 {"OK", "OK", "OK staging.elsim.test"}}),
    [](const auto& i) { return i.param.name; });

TEST(InterpreterTest, StartupEventAfterPowerOn) {
    Module module;
    EXPECT_TRUE(module.state().event_pin);
    EXPECT_THAT(module.Send("AT+EVENT?\n"), ElementsAre("OK 2 0 STARTUP"));
    EXPECT_THAT(module.Effects<SetEventPin>(), ElementsAre(::testing::Field(&SetEventPin::high, false)));
    EXPECT_THAT(module.Send("AT+EVENT?\n"), ElementsAre("OK"));
}

TEST(InterpreterTest, InterpretLeavesTheInputStateAlone) {
    const ModuleState before = PowerOn(MakeProfile());
    const Step step = Interpret(before, Event{{}, BytesReceived{"AT+CONF Topic1=x\n"}});
    EXPECT_EQ(before.config.Topic(1), "");
    EXPECT_EQ(step.next.config.Topic(1), "x");
}

TEST(InterpreterTest, BlockingConnectInStagingSubscribesToConfigTopic) {
    Module module;
    module.state().config.SetInternal("CustomName", "Lamp 2");
    ASSERT_TRUE(module.Send("AT+CONNECT\n").empty());
    auto connects = module.Effects<MqttConnect>();
    ASSERT_EQ(connects.size(), 1U);
    EXPECT_EQ(connects[0].host, "staging.elsim.test");
    EXPECT_EQ(connects[0].port, 8883);
    EXPECT_EQ(connects[0].sni, "staging.elsim.test");
    EXPECT_EQ(connects[0].client_id, kThing);
    EXPECT_EQ(connects[0].keep_alive, std::chrono::seconds{60});
    EXPECT_EQ(connects[0].certificate_pem, kCertificate);
    EXPECT_EQ(connects[0].username,
              "?SDK=elsim&SDKVersion=1.0.0&Platform=ExpressLink&Metadata=(Vendor=elsim; "
              "Model=SoftwareModule; FWversion=1.0.0; TechSpec=v1.3; CustomName=Lamp 2)");
    EXPECT_FALSE(connects[0].will.has_value());
    // Host lines typed while CONNECT blocks run after it answers.
    EXPECT_TRUE(module.Send("AT+CONNECT?\n").empty());
    EXPECT_TRUE(module.Feed(MqttConnected{connects[0].attempt}).empty());
    auto subs = module.Effects<MqttSubscribe>();
    ASSERT_EQ(subs.size(), 1U);
    EXPECT_EQ(subs[0].topic, std::string(kThing) + "/expresslink_config");
    EXPECT_THAT(module.Feed(MqttSubscribeResult{subs[0].attempt, subs[0].request, true}),
                ElementsAre("OK 1 CONNECTED", "OK 1 0 CONNECTED STAGING"));
    EXPECT_THAT(module.Send("AT+CONNECT\n"), ElementsAre("OK 1 CONNECTED"));
}

TEST(InterpreterTest, LastWillAndKeepAliveComeFromConfig) {
    Module module;
    module.Send("AT+CONF LWTConfig={\"topic\": \"0123abcd/lwt\", \"qos\": 1, \"retain\": 1}\n"
                "AT+CONF LWTMessage=gone\nAT+CONF KeepAlive=15\n");
    module.Send("AT+CONNECT\n");
    auto connects = module.Effects<MqttConnect>();
    ASSERT_EQ(connects.size(), 1U);
    ASSERT_TRUE(connects[0].will.has_value());
    EXPECT_EQ(connects[0].will->topic, "0123abcd/lwt");
    EXPECT_EQ(connects[0].will->payload, "gone");
    EXPECT_EQ(connects[0].will->qos, 1);
    EXPECT_TRUE(connects[0].will->retain);
    EXPECT_EQ(connects[0].keep_alive, std::chrono::seconds{15});
}

struct FailureCase {
    std::string name;
    int hint;
    std::string detail;
    std::string line;
};

class ConnectFailureTest : public ::testing::TestWithParam<FailureCase> {};

TEST_P(ConnectFailureTest, AnswersErr14WithHintThenBacksOff) {
    const auto& c = GetParam();
    Module module;
    module.Send("AT+CONNECT\n");
    const auto attempt = module.Effects<MqttConnect>().at(0).attempt;
    EXPECT_THAT(module.Feed(MqttConnectFailed{attempt, c.hint, c.detail}), ElementsAre(c.line));
    // Too soon: hint 1, no connect attempted.
    EXPECT_THAT(module.Send("AT+CONNECT\n"),
                ElementsAre("ERR14 1 UNABLE TO CONNECT Back-off in progress"));
    EXPECT_TRUE(module.Effects<MqttConnect>().empty());
    // base 1 s + jitter < 0.25 s.
    module.Advance(std::chrono::milliseconds{1250});
    EXPECT_TRUE(module.Send("AT+CONNECT\n").empty());
    EXPECT_EQ(module.Effects<MqttConnect>().size(), 1U);
}

INSTANTIATE_TEST_SUITE_P(
    Hints, ConnectFailureTest,
    ::testing::Values(
        FailureCase{"Network", 2, "Failed to access network",
                    "ERR14 2 UNABLE TO CONNECT Failed to access network"},
        FailureCase{"Unreachable", 3, "", "ERR14 3 UNABLE TO CONNECT"},
        FailureCase{"Tls", 4, "Failed to securely authenticate with AWS",
                    "ERR14 4 UNABLE TO CONNECT Failed to securely authenticate with AWS"},
        FailureCase{"Login", 5, "", "ERR14 5 UNABLE TO CONNECT"},
        FailureCase{"BogusHintIsTls", 42, "x", "ERR14 4 UNABLE TO CONNECT x"}),
    [](const auto& i) { return i.param.name; });

TEST(InterpreterTest, BackoffGrowsWithConsecutiveFailures) {
    Module module;
    module.Send("AT+CONNECT\n");
    module.Feed(MqttConnectFailed{module.Effects<MqttConnect>().at(0).attempt, 3, ""});
    for (int failure = 1; failure <= 5; ++failure) {
        // Probe in 100 ms steps until an attempt is let through.
        std::chrono::milliseconds blocked{0};
        while (module.Send("AT+CONNECT\n") ==
               std::vector<std::string>{"ERR14 1 UNABLE TO CONNECT Back-off in progress"}) {
            module.Advance(std::chrono::milliseconds{100});
            blocked += std::chrono::milliseconds{100};
        }
        const auto expected = std::chrono::milliseconds{1000 << (failure - 1)};
        EXPECT_GE(blocked, expected) << "failure " << failure;
        EXPECT_LE(blocked, expected + expected / 4 + std::chrono::milliseconds{100});
        const auto connects = module.Effects<MqttConnect>();
        ASSERT_EQ(connects.size(), 1U);
        // Alternate the kind of failure: a drop while registering counts as well (hint 6).
        if (failure % 2 == 0) {
            module.Feed(MqttConnectFailed{connects[0].attempt, 4, ""});
        } else {
            module.Feed(MqttConnected{connects[0].attempt});
            EXPECT_THAT(module.Feed(MqttConnectionLost{connects[0].attempt, "drop"}),
                        ElementsAre(::testing::StartsWith("ERR14 6 ")));
        }
    }
}

TEST(InterpreterTest, RegistrationRefusedIsHint6) {
    Module module;
    module.Send("AT+CONNECT\n");
    const auto attempt = module.Effects<MqttConnect>().at(0).attempt;
    module.Feed(MqttConnected{attempt});
    const auto sub = module.Effects<MqttSubscribe>().at(0);
    EXPECT_THAT(module.Feed(MqttSubscribeResult{attempt, sub.request, false}),
                ElementsAre("ERR14 6 UNABLE TO CONNECT Failed to register for reserved topics"));
    EXPECT_EQ(module.Effects<MqttDisconnect>().size(), 1U);
    EXPECT_THAT(module.Send("AT+CONNECT?\n"), ElementsAre("OK 0 0 DISCONNECTED STAGING"));
}

TEST(InterpreterTest, NonBlockingConnectRaisesConnectEvent) {
    Module module;
    module.DrainEvents();
    EXPECT_THAT(module.Send("AT+CONNECT!\n"), ElementsAre("OK"));
    const auto attempt = module.Effects<MqttConnect>().at(0).attempt;
    // While CONNECT! runs: power/connection commands are ERR25, others work.
    EXPECT_THAT(module.Send("AT+CONNECT!\nAT+DISCONNECT\nAT\n"),
                ElementsAre("ERR25 NOT ALLOWED", "ERR25 NOT ALLOWED", "OK"));
    module.Feed(MqttConnected{attempt});
    const auto sub = module.Effects<MqttSubscribe>().at(0);
    EXPECT_TRUE(module.Feed(MqttSubscribeResult{attempt, sub.request, true}).empty());
    EXPECT_THAT(module.Send("AT+EVENT?\n"), ElementsAre("OK 6 0 CONNECT"));
    // Already connected: OK and an immediate CONNECT 0.
    EXPECT_THAT(module.Send("AT+CONNECT!\nAT+EVENT?\n"), ElementsAre("OK", "OK 6 0 CONNECT"));
}

TEST(InterpreterTest, NonBlockingConnectFailureAndBackoffAreEvents) {
    Module module;
    module.DrainEvents();
    module.Send("AT+CONNECT!\n");
    module.Feed(MqttConnectFailed{module.Effects<MqttConnect>().at(0).attempt, 5, ""});
    EXPECT_THAT(module.Send("AT+CONNECT!\nAT+EVENT?\nAT+EVENT?\n"),
                ElementsAre("OK", "OK 6 5 CONNECT", "OK 6 1 CONNECT"));
}

TEST(InterpreterTest, DisconnectRaisesConlost) {
    Module module;
    module.Connect();
    module.DrainEvents();
    EXPECT_THAT(module.Send("AT+DISCONNECT\n"), ElementsAre("OK 0 DISCONNECTED"));
    EXPECT_EQ(module.Effects<MqttDisconnect>().size(), 1U);
    EXPECT_THAT(module.Send("AT+EVENT?\n"), ElementsAre("OK 3 0 CONLOST"));
}

TEST(InterpreterTest, BrokerDropRaisesConlostOnce) {
    Module module;
    module.Connect();
    module.DrainEvents();
    module.Feed(MqttConnectionLost{module.state().attempt, "keep-alive timeout"});
    module.Feed(MqttConnectionLost{module.state().attempt, "again"});
    EXPECT_THAT(module.Send("AT+EVENT?\nAT+EVENT?\nAT+CONNECT?\n"),
                ElementsAre("OK 3 0 CONLOST", "OK", "OK 0 0 DISCONNECTED STAGING"));
}

TEST(InterpreterTest, SendPublishesWithQosKey) {
    Module module;
    module.Connect();
    EXPECT_THAT(module.Send("AT+CONF Topic1=0123abcd/data\nAT+CONF QoS=1\nAT+SEND1 Hello\\AWorld!\n"),
                ElementsAre("OK", "OK", "OK"));
    auto publishes = module.Effects<MqttPublish>();
    ASSERT_EQ(publishes.size(), 1U);
    EXPECT_EQ(publishes[0].topic, "0123abcd/data");
    EXPECT_EQ(publishes[0].payload, "Hello\nWorld!");
    EXPECT_EQ(publishes[0].qos, 1);
}

TEST(InterpreterTest, SubscribeAckMessagesAndGet) {
    Module module;
    module.Connect();
    module.DrainEvents();
    module.Send("AT+CONF Topic1=0123abcd/state\nAT+CONF Topic2=0123abcd/+/x\n");
    EXPECT_THAT(module.Send("AT+SUBSCRIBE1\n"), ElementsAre("OK"));
    const auto sub = module.Effects<MqttSubscribe>().at(0);
    EXPECT_EQ(sub.topic, "0123abcd/state");
    module.Feed(MqttSubscribeResult{sub.attempt, sub.request, true});
    const auto attempt = module.state().attempt;
    module.Feed(MqttMessage{attempt, "0123abcd/state", "on\r\n"});
    module.Feed(MqttMessage{attempt, "0123abcd/q/x", "wild"});
    module.Feed(MqttMessage{attempt, "other/topic", "stray"});
    EXPECT_THAT(module.Send("AT+EVENT?\nAT+EVENT?\nAT+EVENT?\nAT+EVENT?\n"),
                ElementsAre("OK 8 1 SUBACK", "OK 1 1 MSG", "OK 1 2 MSG", "OK 1 0 MSG"));
    EXPECT_THAT(module.Send("AT+GET2\n"), ElementsAre("OK wild"));
    EXPECT_THAT(module.Send("AT+GET0\n"), ElementsAre("OK1 other/topic", "stray"));
    EXPECT_THAT(module.Send("AT+GET\n"), ElementsAre("OK1 0123abcd/state", "on\\D\\A"));
    EXPECT_THAT(module.Send("AT+GET\nAT+GET1\n"), ElementsAre("OK", "OK"));
}

TEST(InterpreterTest, SubnackAndNoEventWhenTopicChangedBeforeAck) {
    Module module;
    module.Connect();
    module.DrainEvents();
    module.Send("AT+CONF Topic1=a\nAT+SUBSCRIBE1\n");
    const auto first = module.Effects<MqttSubscribe>().at(0);
    module.Feed(MqttSubscribeResult{first.attempt, first.request, false});
    module.Send("AT+SUBSCRIBE1\n");
    const auto second = module.Effects<MqttSubscribe>().at(0);
    module.Send("AT+CONF Topic1=b\n");
    module.Feed(MqttSubscribeResult{second.attempt, second.request, true});
    EXPECT_THAT(module.Send("AT+EVENT?\nAT+EVENT?\n"), ElementsAre("OK 9 1 SUBNACK", "OK"));
    module.Send("AT+UNSUBSCRIBE1\n");
    EXPECT_EQ(module.Effects<MqttUnsubscribe>().at(0).topic, "b");
}

TEST(InterpreterTest, MessageQueueOverrun) {
    auto profile = MakeProfile();
    profile->max_messages = 2;
    Module module(profile);
    module.Connect();
    module.DrainEvents();
    const auto attempt = module.state().attempt;
    for (const char* payload : {"1", "2", "3"}) {
        module.Feed(MqttMessage{attempt, "x/y", payload});
    }
    EXPECT_THAT(module.Send("AT+EVENT?\nAT+EVENT?\nAT+EVENT?\nAT+EVENT?\n"),
                ElementsAre("OK 1 0 MSG", "OK 1 0 MSG", "OK 1 0 MSG", "OK 4 0 OVERRUN x/y"));
    EXPECT_THAT(module.Send("AT+GET0\nAT+GET0\nAT+GET0\n"),
                ElementsAre("OK1 x/y", "1", "OK1 x/y", "2", "OK"));
}

TEST(InterpreterTest, EventQueueDropsOldest) {
    auto profile = MakeProfile();
    profile->max_event = 2;
    Module module(profile);
    module.Connect();
    const auto attempt = module.state().attempt;
    module.Feed(MqttMessage{attempt, "a", "1"});  // STARTUP dropped
    module.Feed(MqttMessage{attempt, "b", "2"});
    EXPECT_THAT(module.Send("AT+EVENT?\nAT+EVENT?\nAT+EVENT?\n"),
                ElementsAre("OK 1 0 MSG", "OK 1 0 MSG", "OK"));
    EXPECT_EQ(module.state().events.Dropped(), 1U);
}

TEST(InterpreterTest, OnboardingByClaim) {
    Module module;
    module.Connect();
    module.DrainEvents();
    const auto attempt = module.state().attempt;
    const std::string topic = std::string(kThing) + "/expresslink_config";
    const std::string claim = R"({"Endpoint" : "oem.elsim.test"})";
    EXPECT_TRUE(module.Feed(MqttMessage{attempt, topic, claim}).empty());
    EXPECT_EQ(module.Effects<MqttDisconnect>().size(), 1U);
    ASSERT_EQ(module.Effects<PersistConfig>().size(), 1U);
    EXPECT_NE(module.Effects<PersistConfig>()[0].json.find("oem.elsim.test"), std::string::npos);
    EXPECT_THAT(module.Send("AT+EVENT?\nAT+EVENT?\nAT+GET0\nAT+CONNECT?\n"),
                ElementsAre("OK 1 0 MSG", "OK 3 0 CONLOST", "OK1 " + topic, claim,
                            "OK 0 1 DISCONNECTED CUSTOMER"));
    // The next CONNECT goes to the OEM endpoint and registers for Jobs.
    module.Send("AT+CONNECT\n");
    const auto connect = module.Effects<MqttConnect>().at(0);
    EXPECT_EQ(connect.host, "oem.elsim.test");
    module.Feed(MqttConnected{connect.attempt});
    const auto sub = module.Effects<MqttSubscribe>().at(0);
    EXPECT_EQ(sub.topic, "$aws/things/0123abcd/jobs/notify-next");
    EXPECT_THAT(module.Feed(MqttSubscribeResult{connect.attempt, sub.request, true}),
                ElementsAre("OK 1 CONNECTED"));
    EXPECT_THAT(module.Send("AT+CONNECT?\n"), ElementsAre("OK 1 1 CONNECTED CUSTOMER"));
    // In the customer account the config topic is just a topic; shadow still ERR24.
    module.Feed(MqttMessage{connect.attempt, topic, R"({"Endpoint":"evil.test"})"});
    EXPECT_THAT(module.Send("AT+CONF? Endpoint\nAT+SHADOW INIT\n"),
                ElementsAre("OK oem.elsim.test", "ERR24 SHADOW ERROR"));
    // FACTORY_RESET brings it back to staging (PG-PROV 12.4).
    EXPECT_THAT(module.Send("AT+FACTORY_RESET\nAT+CONNECT?\n"),
                ElementsAre("OK", "OK 0 0 DISCONNECTED STAGING"));
}

struct ClaimCase {
    std::string name;
    std::string payload;
};

class BadClaimTest : public ::testing::TestWithParam<ClaimCase> {};

TEST_P(BadClaimTest, IsDeliveredButChangesNothing) {
    Module module;
    module.Connect();
    module.DrainEvents();
    const std::string topic = std::string(kThing) + "/expresslink_config";
    module.Feed(MqttMessage{module.state().attempt, topic, GetParam().payload});
    EXPECT_TRUE(module.Effects<MqttDisconnect>().empty());
    EXPECT_THAT(module.Send("AT+EVENT?\nAT+CONNECT?\n"),
                ElementsAre("OK 1 0 MSG", "OK 1 0 CONNECTED STAGING"));
}

INSTANTIATE_TEST_SUITE_P(
    Invalid, BadClaimTest,
    ::testing::Values(ClaimCase{"NotJson", "{Endpoint"}, ClaimCase{"Array", "[1]"},
                      ClaimCase{"NoEndpoint", R"({"endpoint": "x.test"})"},
                      ClaimCase{"EmptyEndpoint", R"({"Endpoint": ""})"},
                      ClaimCase{"NumberEndpoint", R"({"Endpoint": 5})"},
                      ClaimCase{"BadHost", R"({"Endpoint": "a b"})"}),
    [](const auto& i) { return i.param.name; });

TEST(InterpreterTest, StaleSessionEventsAreIgnoredAfterReset) {
    Module module;
    module.Send("AT+CONNECT!\n");
    const auto attempt = module.Effects<MqttConnect>().at(0).attempt;
    EXPECT_THAT(module.Send("AT+RESET\n"), ElementsAre("OK"));
    EXPECT_EQ(module.Effects<MqttDisconnect>().size(), 1U);
    module.Feed(MqttConnected{attempt});
    EXPECT_EQ(module.Effects<MqttDisconnect>().size(), 1U);  // the late session is closed
    EXPECT_THAT(module.Send("AT+CONNECT?\nAT+EVENT?\nAT+EVENT?\n"),
                ElementsAre("OK 0 0 DISCONNECTED STAGING", "OK 2 0 STARTUP", "OK"));
}

TEST(InterpreterTest, ResetDropsVolatileStateAndMessages) {
    Module module;
    module.Connect();
    module.Send("AT+CONF Topic1=t\nAT+CONF Endpoint=staging.elsim.test\n");
    module.Feed(MqttMessage{module.state().attempt, "t", "m"});
    EXPECT_THAT(module.Send("AT+RESET\nAT+CONF? Topic1\nAT+GET\nAT+EVENT?\nAT+EVENT?\n"),
                ElementsAre("OK", "OK", "OK", "OK 2 0 STARTUP", "OK"));
}

TEST(InterpreterTest, SleepRulesAndWake) {
    Module module;
    module.DrainEvents();
    EXPECT_THAT(module.Send("AT+SLEEP2 30\n"), ElementsAre("OK 2"));
    auto timers = module.Effects<StartTimer>();
    ASSERT_EQ(timers.size(), 1U);
    EXPECT_EQ(timers[0].after, std::chrono::seconds{30});
    module.Feed(TimerFired{TimerKind::kSleepWake, timers[0].generation});
    EXPECT_THAT(module.Send("AT+EVENT?\n"), ElementsAre("OK 2 0 STARTUP"));
    // A stale timer does nothing; a command wakes the module.
    module.Send("AT+SLEEP\n");
    module.Feed(TimerFired{TimerKind::kSleepWake, timers[0].generation});
    EXPECT_THAT(module.Send("AT+EVENT?\nAT+EVENT?\n"), ElementsAre("OK 2 0 STARTUP", "OK"));
    module.Connect();
    EXPECT_THAT(module.Send("AT+SLEEP\n"), ElementsAre("ERR18 ACTIVE CONNECTION"));
}

// TIME? once the module has been connected (its time source), per profile.
struct TimeCase {
    std::string name;
    bool time_available;
    ModuleProfile::TimeForm form;
    bool connect;
    std::string input;
    std::vector<std::string> output;
};

class TimeTest : public ::testing::TestWithParam<TimeCase> {};

TEST_P(TimeTest, Answers) {
    auto profile = MakeProfile();
    profile->time_available = GetParam().time_available;
    profile->time_form = GetParam().form;
    Module module(profile);
    module.DrainEvents();
    if (GetParam().connect) {
        module.Connect();
    }
    EXPECT_EQ(module.Send(GetParam().input), GetParam().output);
}

using Form = ModuleProfile::TimeForm;
INSTANTIATE_TEST_SUITE_P(
    Time, TimeTest,
    ::testing::Values(
        TimeCase{"WordsAfterConnect", true, Form::kWords, true, "AT+TIME?\n",
                 {"OK date 2023/11/14 time 22:13:20.00 SNTP"}},
        TimeCase{"PlaceholdersAfterConnect", true, Form::kPlaceholders, true, "AT+TIME?\n",
                 {"OK 2023/11/14 22:13:20.00 SNTP"}},
        TimeCase{"NotAvailableBeforeConnect", true, Form::kWords, false, "AT+TIME?\n",
                 {"ERR15 TIME NOT AVAILABLE"}},
        TimeCase{"NeverWithoutTimeSource", false, Form::kWords, true, "AT+TIME?\n",
                 {"ERR15 TIME NOT AVAILABLE"}},
        TimeCase{"KeptAfterDisconnect", true, Form::kWords, true, "AT+DISCONNECT\nAT+TIME?\n",
                 {"OK 0 DISCONNECTED", "OK date 2023/11/14 time 22:13:20.00 SNTP"}},
        TimeCase{"KeptAcrossReset", true, Form::kWords, true, "AT+RESET\nAT+TIME?\n",
                 {"OK", "OK date 2023/11/14 time 22:13:20.00 SNTP"}}),
    [](const auto& param_info) { return param_info.param.name; });

TEST(FormatTimeAnswerTest, BothForms) {
    const sim::TimePoint t{std::chrono::milliseconds{1700000000123}};
    EXPECT_EQ(FormatTimeAnswer(t, Form::kWords), "OK date 2023/11/14 time 22:13:20.12 SNTP");
    EXPECT_EQ(FormatTimeAnswer(t, Form::kPlaceholders), "OK 2023/11/14 22:13:20.12 SNTP");
    EXPECT_EQ(FormatTimeAnswer(sim::TimePoint{}, Form::kWords),
              "OK date 1970/01/01 time 00:00:00.00 SNTP");
}

TEST(InterpreterTest, ConfmodeWhenTheProfileEnablesIt) {
    auto profile = MakeProfile();
    profile->confmode_available = true;
    Module module(profile);
    module.DrainEvents();
    EXPECT_THAT(module.Send("AT+CONFMODE\nAT+CONNECT\nAT+CONF? About\n"),
                ElementsAre("OK CONFMODE ENABLED", "ERR25 NOT ALLOWED", "OK elsim SoftwareModule"));
    module.Feed(ConfModeCompleted{});
    EXPECT_THAT(module.Send("AT+EVENT?\n"), ElementsAre("OK 7 0 CONFMODE"));
}

TEST(InterpreterTest, DiagPingBlocksUntilResult) {
    Module module;
    EXPECT_TRUE(module.Send("AT+DIAG PING 127.0.0.1\nAT\n").empty());
    EXPECT_EQ(module.Effects<DiagPing>().at(0).host, "127.0.0.1");
    EXPECT_THAT(module.Feed(PingResult{true, std::chrono::milliseconds{3}, ""}),
                ElementsAre("OK Received ping response in 3ms", "OK"));
}

TEST(InterpreterTest, PersistOnlyForPersistentKeys) {
    Module module;
    module.Send("AT+CONF Topic1=x\n");
    EXPECT_TRUE(module.Effects<PersistConfig>().empty());
    module.Send("AT+CONF CustomName=Lamp\n");
    EXPECT_EQ(module.Effects<PersistConfig>().size(), 1U);
}

TEST(InterpreterTest, MetricsUsernameTruncatesCustomName) {
    ModuleProfile profile;
    const std::string username = MetricsUsername(profile, std::string(400, 'n') + "!@#");
    const auto open = username.find("Metadata=(");
    ASSERT_NE(open, std::string::npos);
    const std::string metadata = username.substr(open + 10, username.size() - open - 11);
    EXPECT_EQ(metadata.size(), 256U);
    EXPECT_EQ(username.back(), ')');
}

struct MatchCase {
    std::string filter;
    std::string topic;
    bool match;
};

class TopicMatchTest : public ::testing::TestWithParam<MatchCase> {};

TEST_P(TopicMatchTest, Matches) {
    EXPECT_EQ(TopicMatches(GetParam().filter, GetParam().topic), GetParam().match)
        << GetParam().filter << " vs " << GetParam().topic;
}

INSTANTIATE_TEST_SUITE_P(
    Mqtt311, TopicMatchTest,
    ::testing::Values(MatchCase{"a/b", "a/b", true}, MatchCase{"a/b", "a/c", false},
                      MatchCase{"a/+", "a/b", true}, MatchCase{"a/+", "a/b/c", false},
                      MatchCase{"a/#", "a/b/c", true}, MatchCase{"a/#", "a", true},
                      MatchCase{"#", "x/y", true}, MatchCase{"+/+", "x/y", true},
                      MatchCase{"a/b", "a/b/", false}, MatchCase{"a/+/c", "a//c", true},
                      MatchCase{"a/#/c", "a/b/c", false}, MatchCase{"a", "ab", false}));

}  // namespace
}  // namespace sim::module
