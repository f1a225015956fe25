// SPDX-License-Identifier: Apache-2.0
// The configuration dictionary (PG-CONF Tables 2-3): access rights, buffers, resets, storage.
#include <string>

#include <gtest/gtest.h>

#include "sim/module/config.hpp"

namespace sim::module {
namespace {

ModuleProfile TestProfile() {
    ModuleProfile profile;
    profile.thing_name = "0123abcd";
    profile.certificate_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    profile.staging_endpoint = "staging.elsim.test";
    profile.root_ca_pem = "-----BEGIN CERTIFICATE-----\nROOT\n-----END CERTIFICATE-----\n";
    return profile;
}

struct WriteCase {
    std::string name;
    std::string key;
    std::string value;
    std::optional<AtError> error;  // none = OK
    bool persistent = false;
};

class ConfigWriteTest : public ::testing::TestWithParam<WriteCase> {};

TEST_P(ConfigWriteTest, WritesOrRefuses) {
    const auto& c = GetParam();
    const ModuleProfile profile = TestProfile();
    Config config(&profile);
    const std::string before = config.SerializePersistent();
    auto result = config.Write(c.key, c.value);
    if (c.error) {
        ASSERT_FALSE(result.has_value());
        EXPECT_EQ(result.error(), *c.error);
        EXPECT_EQ(config.SerializePersistent(), before) << "nothing changes on error";
    } else {
        ASSERT_TRUE(result.has_value());
        EXPECT_EQ(*result, c.persistent);
        EXPECT_EQ(config.Value(c.key), c.value);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Spec, ConfigWriteTest,
    ::testing::Values(
        WriteCase{"Topic1", "Topic1", "data", std::nullopt, false},
        WriteCase{"TopicEmpty", "Topic1", "", std::nullopt, false},
        WriteCase{"Topic16", "Topic16", "x", std::nullopt, false},
        WriteCase{"Topic17Unknown", "Topic17", "x", AtError::kUnknownKey},
        WriteCase{"Topic0Unknown", "Topic0", "x", AtError::kUnknownKey},
        WriteCase{"Topic01Unknown", "Topic01", "x", AtError::kUnknownKey},
        WriteCase{"TopicTooLong", "Topic1", std::string(129, 't'), AtError::kParameterError},
        WriteCase{"TopicAtBuffer", "Topic1", std::string(128, 't'), std::nullopt, false},
        WriteCase{"CaseSensitive", "VERSION", "1.0", AtError::kUnknownKey},
        WriteCase{"VersionReadonly", "Version", "1.0", AtError::kKeyReadonly},
        WriteCase{"ThingNameReadonly", "ThingName", "x", AtError::kKeyReadonly},
        WriteCase{"CertificateReadonly", "Certificate", "x", AtError::kKeyReadonly},
        WriteCase{"AboutReadonly", "About", "x", AtError::kKeyReadonly},
        WriteCase{"TechSpecReadonly", "TechSpec", "x", AtError::kKeyReadonly},
        WriteCase{"KeyTooLong", "ABCDEFGHIJKLMNOPQ", "x", AtError::kInvalidKeyLength},
        WriteCase{"KeyBadChar", "Topic-1", "x", AtError::kInvalidKeyName},
        WriteCase{"KeyEmpty", "", "x", AtError::kInvalidKeyName},
        WriteCase{"EndpointPersistent", "Endpoint", "oem.elsim.test:8883", std::nullopt, true},
        WriteCase{"EndpointTooLong", "Endpoint", std::string(129, 'e'), AtError::kParameterError},
        WriteCase{"PassphraseWritable", "Passphrase", "secret", std::nullopt, true},
        WriteCase{"QosOne", "QoS", "1", std::nullopt, false},
        WriteCase{"QosTwoRefused", "QoS", "2", AtError::kParameterError},
        WriteCase{"QosTooLong", "QoS", "10", AtError::kParameterError},
        WriteCase{"KeepAliveNumber", "KeepAlive", "30", std::nullopt, true},
        WriteCase{"KeepAliveText", "KeepAlive", "abc", AtError::kParameterError},
        WriteCase{"KeepAliveTooBig", "KeepAlive", "65536", AtError::kParameterError},
        WriteCase{"LwtValid", "LWTConfig", R"({"topic": "a/b", "qos": 1, "retain": 0})",
                  std::nullopt, true},
        WriteCase{"LwtInvalidJson", "LWTConfig", "{bad", AtError::kParameterError},
        WriteCase{"LwtBadQos", "LWTConfig", R"({"topic": "a", "qos": 2})",
                  AtError::kParameterError},
        WriteCase{"RootCaNotPem", "RootCA", "hello", AtError::kInvalidCertificate},
        WriteCase{"RootCaPem", "RootCA",
                  "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n", std::nullopt,
                  true},
        WriteCase{"Shadow1", "Shadow1", "named", std::nullopt, false},
        WriteCase{"Shadow2Unknown", "Shadow2", "named", AtError::kUnknownKey},
        WriteCase{"EnableShadowBad", "EnableShadow", "x", AtError::kParameterError},
        WriteCase{"NoSuchKey", "Wifi", "x", AtError::kUnknownKey}),
    [](const auto& i) { return i.param.name; });

struct ReadCase {
    std::string name;
    std::string key;
    std::optional<std::string> value;
    AtError error = AtError::kUnknownKey;
};

class ConfigReadTest : public ::testing::TestWithParam<ReadCase> {};

TEST_P(ConfigReadTest, Reads) {
    const auto& c = GetParam();
    const ModuleProfile profile = TestProfile();
    const Config config(&profile);
    auto result = config.Read(c.key);
    if (c.value) {
        ASSERT_TRUE(result.has_value());
        EXPECT_EQ(*result, *c.value);
    } else {
        ASSERT_FALSE(result.has_value());
        EXPECT_EQ(result.error(), c.error);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Spec, ConfigReadTest,
    ::testing::Values(ReadCase{"ThingName", "ThingName", "0123abcd"},
                      ReadCase{"About", "About", "elsim SoftwareModule"},
                      ReadCase{"TechSpec", "TechSpec", "v1.3"},
                      ReadCase{"EndpointDefault", "Endpoint", "staging.elsim.test"},
                      ReadCase{"ShadowTokenDefault", "ShadowToken", "ExpressLink"},
                      ReadCase{"QosDefault", "QoS", "0"},
                      ReadCase{"TopicEmpty", "Topic3", ""},
                      ReadCase{"KeepAliveDefault", "KeepAlive", "60"},
                      ReadCase{"PassphraseWriteonly", "Passphrase", std::nullopt,
                               AtError::kKeyWriteonly},
                      ReadCase{"OtaCertificateWriteonly", "OTAcertificate", std::nullopt,
                               AtError::kKeyWriteonly},
                      ReadCase{"Unknown", "Nope", std::nullopt, AtError::kUnknownKey},
                      ReadCase{"TooLong", std::string(17, 'K'), std::nullopt,
                               AtError::kInvalidKeyLength},
                      ReadCase{"BadName", "Topic_1", std::nullopt, AtError::kInvalidKeyName}),
    [](const auto& i) { return i.param.name; });

TEST(ConfigTest, ResetClearsVolatileKeysOnly) {
    const ModuleProfile profile = TestProfile();
    Config config(&profile);
    ASSERT_TRUE(config.Write("Topic1", "a").has_value());
    ASSERT_TRUE(config.Write("QoS", "1").has_value());
    ASSERT_TRUE(config.Write("Endpoint", "oem.test").has_value());
    config.ResetVolatile();
    EXPECT_EQ(config.Value("Topic1"), "");
    EXPECT_EQ(config.Value("QoS"), "0");
    EXPECT_EQ(config.Value("Endpoint"), "oem.test");
}

TEST(ConfigTest, FactoryResetRestoresOnlyYColumn) {
    const ModuleProfile profile = TestProfile();
    Config config(&profile);
    const std::string new_root = "-----BEGIN CERTIFICATE-----\nNEW\n-----END CERTIFICATE-----\n";
    ASSERT_TRUE(config.Write("Endpoint", "oem.test").has_value());
    ASSERT_TRUE(config.Write("CustomName", "Lamp").has_value());
    ASSERT_TRUE(config.Write("RootCA", new_root).has_value());
    ASSERT_TRUE(config.Write("KeepAlive", "30").has_value());
    config.FactoryReset();
    EXPECT_EQ(config.Value("Endpoint"), "staging.elsim.test");  // Y
    EXPECT_EQ(config.Value("CustomName"), "");                  // Y
    EXPECT_EQ(config.Value("RootCA"), new_root);                // N
    EXPECT_EQ(config.Value("KeepAlive"), "30");                 // N
}

TEST(ConfigTest, PersistentKeysRoundTrip) {
    const ModuleProfile profile = TestProfile();
    Config config(&profile);
    ASSERT_TRUE(config.Write("Endpoint", "oem.test:9883").has_value());
    ASSERT_TRUE(config.Write("Topic1", "volatile").has_value());
    Config restored(&profile);
    ASSERT_TRUE(restored.RestorePersistent(config.SerializePersistent()).has_value());
    EXPECT_EQ(restored.Value("Endpoint"), "oem.test:9883");
    EXPECT_EQ(restored.Value("Topic1"), "");
}

struct RestoreCase {
    std::string name;
    std::string json;
};

class ConfigRestoreTest : public ::testing::TestWithParam<RestoreCase> {};

TEST_P(ConfigRestoreTest, RefusesBadFilesWithoutChange) {
    const ModuleProfile profile = TestProfile();
    Config config(&profile);
    auto status = config.RestorePersistent(GetParam().json);
    EXPECT_FALSE(status.has_value());
    EXPECT_FALSE(status.error().message.empty());
    EXPECT_EQ(config.Value("Endpoint"), "staging.elsim.test");
}

INSTANTIATE_TEST_SUITE_P(
    Invalid, ConfigRestoreTest,
    ::testing::Values(RestoreCase{"NotJson", "{"}, RestoreCase{"Array", "[]"},
                      RestoreCase{"ReadonlyKey", R"({"Endpoint": "x", "ThingName": "y"})"},
                      RestoreCase{"VolatileKey", R"({"Topic1": "x"})"},
                      RestoreCase{"NonString", R"({"Endpoint": 5})"},
                      RestoreCase{"TooLong", "{\"Endpoint\": \"" + std::string(200, 'x') + "\"}"}),
    [](const auto& i) { return i.param.name; });

struct EndpointCase {
    std::string name;
    std::string endpoint;
    std::optional<std::string> host;
    std::uint16_t port = 8883;
};

class EndpointTest : public ::testing::TestWithParam<EndpointCase> {};

TEST_P(EndpointTest, Parses) {
    const auto& c = GetParam();
    auto address = ParseEndpoint(c.endpoint);
    ASSERT_EQ(address.has_value(), c.host.has_value());
    if (address) {
        EXPECT_EQ(address->host, *c.host);
        EXPECT_EQ(address->port, c.port);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Forms, EndpointTest,
    ::testing::Values(EndpointCase{"HostOnly", "a1-ats.iot.us-east-1.elsim.test",
                                   "a1-ats.iot.us-east-1.elsim.test", 8883},
                      EndpointCase{"HostPort", "oem.test:9000", "oem.test", 9000},
                      EndpointCase{"Ip", "127.0.0.2", "127.0.0.2", 8883},
                      EndpointCase{"Empty", "", std::nullopt},
                      EndpointCase{"PortZero", "h:0", std::nullopt},
                      EndpointCase{"PortText", "h:abc", std::nullopt},
                      EndpointCase{"PortTooBig", "h:70000", std::nullopt},
                      EndpointCase{"Space", "bad host", std::nullopt},
                      EndpointCase{"OnlyPort", ":8883", std::nullopt}),
    [](const auto& i) { return i.param.name; });

}  // namespace
}  // namespace sim::module
