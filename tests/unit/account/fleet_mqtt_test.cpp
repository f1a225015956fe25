// SPDX-License-Identifier: Apache-2.0
// The fleet-provisioning MQTT API (sim/account fleet_mqtt): topics, JSON/CBOR payloads,
// accepted/rejected replies, the ownership token's bindings, the pre-provisioning hook's
// input and output.

#include "sim/account/fleet_mqtt.hpp"

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "account_fixture.hpp"

namespace sim::account::testing {
namespace {

using nlohmann::json;
using std::chrono::minutes;

const char* const kTemplate = R"({
  "Parameters": {"SerialNumber": {"Type": "String"},
                 "AWS::IoT::Certificate::Id": {"Type": "String"}},
  "Resources": {
    "thing": {"Type": "AWS::IoT::Thing",
              "Properties": {"ThingName": {"Fn::Join": ["", ["esp32dkc_", {"Ref": "SerialNumber"}]]}}},
    "certificate": {"Type": "AWS::IoT::Certificate",
                    "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"},
                                   "Status": "ACTIVE"}},
    "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyName": "esp32_fleet_policy"}}},
  "DeviceConfiguration": {"Fallback": "yes"}})";

// Issues with a pki CA, as the adapter does with the account's AWS IoT CA.
class TestIssuer final : public FleetIssuer {
public:
    AwsResult<Keys> CreateKeysAndCertificate() override {
        ++issued;
        const pki::Key key = NewKey();
        pki::IssueSpec spec;
        spec.subject = Dn({{"CN", "AWS IoT Certificate"}});
        spec.not_before = kStart - std::chrono::hours{1};
        spec.not_after = kStart + std::chrono::hours{24 * 365};
        auto cert = ca.Issue(spec, key);
        auto info = pki::ParseCertificatePem(cert->pem);
        return Keys{*info, key.PrivatePem()};
    }
    AwsResult<pki::CertificateInfo> CreateCertificateFromCsr(std::string_view csr) override {
        pki::CsrIssueOptions options;
        options.not_before = kStart - std::chrono::hours{1};
        options.not_after = kStart + std::chrono::hours{24 * 365};
        auto cert = ca.IssueFromCsr(csr, options);
        if (!cert) {
            return Fail(error_type::kInvalidRequest,
                        "certificateSigningRequest: " + cert.error().message);
        }
        ++issued;
        return *pki::ParseCertificatePem(cert->pem);
    }
    pki::CertificateAuthority ca = MakeCa("AWS IoT emulated CA");
    int issued = 0;
};

std::string Csr() {
    auto csr = pki::CreateCsrPem(NewKey(), Dn({{"CN", "device"}}));
    EXPECT_TRUE(csr.has_value());
    return csr ? *csr : std::string{};
}

std::string Cbor(const json& value) {
    const auto bytes = json::to_cbor(value);
    return std::string(bytes.begin(), bytes.end());
}

json Decode(const FleetReply& reply, bool cbor) {
    return cbor ? json::from_cbor(reply.payload) : json::parse(reply.payload);
}

struct FleetMqttAccount : Account {
    FleetMqttAccount() {
        EXPECT_TRUE(registry.CreatePolicy("esp32_fleet_policy", kAllowAllPolicy).has_value());
        EXPECT_TRUE(registry
                        .CreateProvisioningTemplate(
                            {"esp32_fleet_prov_template", {}, kTemplate, true, kRoleArn, {}, {}})
                        .has_value());
        EXPECT_TRUE(
            registry.CreateProvisioningTemplate({"off", {}, kTemplate, false, kRoleArn, {}, {}})
                .has_value());
    }
    FleetReply Send(std::string_view topic, std::string_view payload,
                    const FleetCaller& from = {"claim", "device-1"}) {
        return HandleFleetRequest(registry, issuer, topic, payload, from);
    }
    // A certificate created over MQTT by `from`; returns its token.
    std::string CreateToken(const FleetCaller& from = {"claim", "device-1"}) {
        const auto reply = Send("$aws/certificates/create/json", "{}", from);
        EXPECT_TRUE(reply.accepted) << reply.payload;
        return json::parse(reply.payload).at("certificateOwnershipToken").get<std::string>();
    }
    TestIssuer issuer;
};

// ---- Topics ------------------------------------------------------------------------------

struct TopicCase {
    std::string name;
    std::string topic;
    bool request;
    FleetOperation operation;
    PayloadFormat format;
    std::string template_name;
};
void PrintTo(const TopicCase& c, std::ostream* os) { *os << c.name; }
class FleetTopicTest : public ::testing::TestWithParam<TopicCase> {};
TEST_P(FleetTopicTest, RecognisesOnlyRequestTopics) {
    const auto& c = GetParam();
    const auto parsed = ParseFleetTopic(c.topic);
    ASSERT_EQ(parsed.has_value(), c.request);
    if (c.request) {
        EXPECT_EQ(parsed->operation, c.operation);
        EXPECT_EQ(parsed->format, c.format);
        EXPECT_EQ(parsed->template_name, c.template_name);
    }
}
constexpr auto kKeys = FleetOperation::kCreateKeysAndCertificate;
constexpr auto kCsr = FleetOperation::kCreateCertificateFromCsr;
constexpr auto kRegister = FleetOperation::kRegisterThing;
constexpr auto kJson = PayloadFormat::kJson;
constexpr auto kCborFormat = PayloadFormat::kCbor;
INSTANTIATE_TEST_SUITE_P(
    Table, FleetTopicTest,
    ::testing::Values(
        TopicCase{"CreateJson", "$aws/certificates/create/json", true, kKeys, kJson, ""},
        TopicCase{"CreateCbor", "$aws/certificates/create/cbor", true, kKeys, kCborFormat, ""},
        TopicCase{"CsrJson", "$aws/certificates/create-from-csr/json", true, kCsr, kJson, ""},
        TopicCase{"ProvisionCbor", "$aws/provisioning-templates/t1/provision/cbor", true,
                  kRegister, kCborFormat, "t1"},
        TopicCase{"Accepted", "$aws/certificates/create/json/accepted", false, kKeys, kJson, ""},
        TopicCase{"Rejected", "$aws/provisioning-templates/t1/provision/json/rejected", false,
                  kKeys, kJson, ""},
        TopicCase{"Xml", "$aws/certificates/create/xml", false, kKeys, kJson, ""},
        TopicCase{"NoFormat", "$aws/certificates/create/", false, kKeys, kJson, ""},
        TopicCase{"EmptyTemplate", "$aws/provisioning-templates//provision/json", false, kKeys,
                  kJson, ""},
        TopicCase{"NotProvision", "$aws/provisioning-templates/t1/other/json", false, kKeys,
                  kJson, ""},
        TopicCase{"Shadow", "$aws/things/x/shadow/update", false, kKeys, kJson, ""}),
    CaseName{});

// ---- Accepted flows ----------------------------------------------------------------------

TEST(FleetMqttTest, CreateKeysThenRegisterThingActivatesTheCertificate) {
    FleetMqttAccount account;
    const auto created = account.Send("$aws/certificates/create/json", "{}");
    ASSERT_TRUE(created.accepted) << created.payload;
    EXPECT_EQ(created.topic, "$aws/certificates/create/json/accepted");
    const json body = json::parse(created.payload);
    for (const char* member :
         {"certificateId", "certificatePem", "privateKey", "certificateOwnershipToken"}) {
        EXPECT_TRUE(body.contains(member) && body[member].is_string()) << member;
    }
    const std::string id = body["certificateId"].get<std::string>();
    EXPECT_EQ(account.registry.FindCertificate(id)->status, CertificateStatus::kPendingActivation);

    const json request = {{"certificateOwnershipToken", body["certificateOwnershipToken"]},
                          {"parameters", {{"SerialNumber", "0001"}}}};
    const auto registered = account.Send(
        "$aws/provisioning-templates/esp32_fleet_prov_template/provision/json", request.dump());
    ASSERT_TRUE(registered.accepted) << registered.payload;
    EXPECT_EQ(registered.topic,
              "$aws/provisioning-templates/esp32_fleet_prov_template/provision/json/accepted");
    EXPECT_EQ(json::parse(registered.payload),
              (json{{"deviceConfiguration", {{"Fallback", "yes"}}},
                    {"thingName", "esp32dkc_0001"}}));
    EXPECT_EQ(account.registry.FindCertificate(id)->status, CertificateStatus::kActive);
    EXPECT_EQ(account.registry.PoliciesOfCertificate(id),
              std::vector<std::string>{"esp32_fleet_policy"});
    EXPECT_EQ(account.registry.ThingForConnection(id, "esp32dkc_0001"), "esp32dkc_0001");
}

TEST(FleetMqttTest, CsrFlowInCborAnswersInCbor) {
    FleetMqttAccount account;
    const auto created = account.Send("$aws/certificates/create-from-csr/cbor",
                                      Cbor({{"certificateSigningRequest", Csr()}}));
    ASSERT_TRUE(created.accepted) << created.error_message;
    const json body = Decode(created, true);
    EXPECT_FALSE(body.contains("privateKey"));  // the key never left the device
    ASSERT_TRUE(body.contains("certificatePem"));
    const auto registered = account.Send(
        "$aws/provisioning-templates/esp32_fleet_prov_template/provision/cbor",
        Cbor({{"certificateOwnershipToken", body["certificateOwnershipToken"]},
              {"parameters", {{"SerialNumber", "0002"}}}}));
    ASSERT_TRUE(registered.accepted) << registered.error_message;
    EXPECT_EQ(Decode(registered, true)["thingName"], "esp32dkc_0002");
}

TEST(FleetMqttTest, EmptyCborPayloadCreatesKeys) {
    FleetMqttAccount account;
    const auto created = account.Send("$aws/certificates/create/cbor", "");
    ASSERT_TRUE(created.accepted);
    EXPECT_TRUE(Decode(created, true).contains("privateKey"));
}

// ---- Rejections: a table of invalid requests; none changes the registry --------------------

struct RejectCase {
    std::string name;
    std::string topic;
    // The payload; "@token" is replaced by a token the default caller obtained first.
    std::string payload;
    int status_code;
    std::string error_code;
    minutes wait{0};
    FleetCaller caller{"claim", "device-1"};
    bool use_token_twice = false;
};
void PrintTo(const RejectCase& c, std::ostream* os) { *os << c.name; }
class FleetMqttRejectTest : public ::testing::TestWithParam<RejectCase> {};
TEST_P(FleetMqttRejectTest, RejectsAndChangesNothing) {
    const auto& c = GetParam();
    FleetMqttAccount account;
    const std::string token = account.CreateToken();
    std::string payload = c.payload;
    if (const auto at = payload.find("@token"); at != std::string::npos) {
        payload.replace(at, 6, token);
    }
    if (c.use_token_twice) {
        ASSERT_TRUE(account.Send(c.topic, payload).accepted);
    }
    account.clock.Advance(c.wait);
    account.registry.TakeChanges();
    const int issued = account.issuer.issued;
    const bool cbor = c.topic.substr(c.topic.size() - 4) == "cbor";
    const auto reply = account.Send(c.topic, payload, c.caller);
    EXPECT_FALSE(reply.accepted);
    EXPECT_EQ(reply.topic, c.topic + "/rejected");
    const json body = Decode(reply, cbor);
    EXPECT_EQ(body.size(), 3U);
    EXPECT_EQ(body["statusCode"], c.status_code) << body.dump();
    EXPECT_EQ(body["errorCode"], c.error_code) << body.dump();
    EXPECT_TRUE(body["errorMessage"].is_string());
    EXPECT_TRUE(account.registry.TakeChanges().empty());
    if (c.topic.find("provision/") != std::string::npos || c.name != "BadCsr") {
        EXPECT_EQ(account.issuer.issued, issued);
    }
}
const std::string kProvision = "$aws/provisioning-templates/esp32_fleet_prov_template/provision/";
const std::string kGoodRegister =
    R"({"certificateOwnershipToken":"@token","parameters":{"SerialNumber":"7"}})";
INSTANTIATE_TEST_SUITE_P(
    Table, FleetMqttRejectTest,
    ::testing::Values(
        RejectCase{"GarbageJson", "$aws/certificates/create/json", "{not json", 400,
                   "InvalidPayload"},
        RejectCase{"ArrayJson", "$aws/certificates/create/json", "[1,2]", 400, "InvalidPayload"},
        RejectCase{"GarbageCbor", "$aws/certificates/create/cbor", "\xff\xfe\x01", 400,
                   "InvalidPayload"},
        RejectCase{"JsonOnCborTopic", "$aws/certificates/create-from-csr/cbor",
                   R"({"certificateSigningRequest":"x"})", 400, "InvalidPayload"},
        RejectCase{"CsrMissing", "$aws/certificates/create-from-csr/json", "{}", 400,
                   "InvalidPayload"},
        RejectCase{"CsrNotString", "$aws/certificates/create-from-csr/json",
                   R"({"certificateSigningRequest":5})", 400, "InvalidPayload"},
        RejectCase{"BadCsr", "$aws/certificates/create-from-csr/json",
                   R"({"certificateSigningRequest":"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"})",
                   400, "InvalidRequest"},
        RejectCase{"EmptyToken", kProvision + "json",
                   R"({"certificateOwnershipToken":"","parameters":{"SerialNumber":"7"}})", 400,
                   "InvalidCertificateOwnershipToken"},
        RejectCase{"MissingToken", kProvision + "json", R"({"parameters":{"SerialNumber":"7"}})",
                   400, "InvalidCertificateOwnershipToken"},
        RejectCase{"UnknownToken", kProvision + "json",
                   R"({"certificateOwnershipToken":"feed","parameters":{"SerialNumber":"7"}})", 400,
                   "InvalidCertificateOwnershipToken"},
        RejectCase{"ExpiredToken", kProvision + "json", kGoodRegister, 400,
                   "InvalidCertificateOwnershipToken", minutes{61}},
        RejectCase{"ReusedToken", kProvision + "json", kGoodRegister, 400,
                   "InvalidCertificateOwnershipToken", minutes{0}, {"claim", "device-1"}, true},
        RejectCase{"TokenOfAnotherConnection", kProvision + "json", kGoodRegister, 400,
                   "InvalidCertificateOwnershipToken", minutes{0}, {"claim", "device-2"}},
        RejectCase{"TokenNotString", kProvision + "json", R"({"certificateOwnershipToken":1})",
                   400, "InvalidPayload"},
        RejectCase{"ParameterNotString", kProvision + "json",
                   R"({"certificateOwnershipToken":"@token","parameters":{"SerialNumber":7}})", 400,
                   "InvalidPayload"},
        RejectCase{"MissingTemplateParameter", kProvision + "json",
                   R"({"certificateOwnershipToken":"@token"})", 400, "InvalidPayload"},
        RejectCase{"UnknownTemplate", "$aws/provisioning-templates/nope/provision/json",
                   kGoodRegister, 404, "ResourceNotFound"},
        RejectCase{"DisabledTemplate", "$aws/provisioning-templates/off/provision/json",
                   kGoodRegister, 403, "AccessDenied"}),
    CaseName{});

TEST(FleetMqttTest, TokenFromAnotherAccountIsUnknown) {
    FleetMqttAccount first;
    FleetMqttAccount second;
    const std::string token = first.CreateToken();
    const auto reply = second.Send(kProvision + "json",
                                   json{{"certificateOwnershipToken", token},
                                        {"parameters", {{"SerialNumber", "9"}}}}
                                       .dump());
    EXPECT_FALSE(reply.accepted);
    EXPECT_EQ(reply.error_code, "InvalidCertificateOwnershipToken");
}

TEST(FleetMqttTest, UnusedCertificateIsRemovedWhenItsTokenExpires) {
    FleetMqttAccount account;
    const auto created = account.Send("$aws/certificates/create/json", "{}");
    const std::string id = json::parse(created.payload)["certificateId"].get<std::string>();
    account.clock.Advance(minutes{61});
    account.registry.Tick();
    EXPECT_EQ(account.registry.FindCertificate(id), nullptr);
}

TEST(FleetMqttTest, ProvisioningClaimCertificateProvisionsOnlyWithItsTemplate) {
    FleetMqttAccount account;
    ASSERT_TRUE(account.registry
                    .CreateProvisioningTemplate({"other", {}, kTemplate, true, kRoleArn, {}, {}})
                    .has_value());
    const auto claim = IssueLeaf(account.issuer.ca, "claim");
    ASSERT_TRUE(account.registry.CreateProvisioningClaim({"other", claim}).has_value());
    const FleetCaller caller{claim.certificate_id, "d"};
    const std::string token = account.CreateToken(caller);
    const std::string request =
        json{{"certificateOwnershipToken", token}, {"parameters", {{"SerialNumber", "3"}}}}.dump();
    const auto refused = account.Send(kProvision + "json", request, caller);
    EXPECT_EQ(refused.error_code, "AccessDenied");
    const auto accepted =
        account.Send("$aws/provisioning-templates/other/provision/json", request, caller);
    EXPECT_TRUE(accepted.accepted) << accepted.payload;
}

// ---- The pre-provisioning hook -------------------------------------------------------------

TEST(FleetMqttTest, HookInputCarriesAwsMembers) {
    FleetMqttAccount account;
    UpdateProvisioningTemplateRequest update;
    update.template_name = "esp32_fleet_prov_template";
    update.pre_provisioning_hook =
        PreProvisioningHook{"2020-04-01", "arn:aws:lambda:us-east-1:123456789012:function:hook"};
    ASSERT_TRUE(account.registry.UpdateProvisioningTemplate(update).has_value());
    const std::string token = account.CreateToken();
    const FleetCaller caller{"claim", "device-1"};
    const auto parsed = ParseFleetRequest(
        *ParseFleetTopic(kProvision + "json"),
        json{{"certificateOwnershipToken", token}, {"parameters", {{"SerialNumber", "5"}}}}
            .dump());
    const auto& request = std::get<FleetRequest>(parsed);
    const auto call = PreProvisioningHookFor(account.registry, request, caller);
    ASSERT_TRUE(call.has_value());
    EXPECT_EQ(call->hook.target_arn, "arn:aws:lambda:us-east-1:123456789012:function:hook");
    EXPECT_EQ(call->input["claimCertificateId"], "claim");
    EXPECT_EQ(call->input["clientId"], "device-1");
    EXPECT_EQ(call->input["parameters"]["SerialNumber"], "5");
    EXPECT_TRUE(call->input["certificatePem"].is_string());
    EXPECT_TRUE(call->input["templateArn"].is_string());
    // The overrides win over the request's parameters.
    const auto reply = ExecuteFleetRequest(account.registry, account.issuer, request, caller,
                                           {{"SerialNumber", "6"}});
    ASSERT_TRUE(reply.accepted) << reply.payload;
    EXPECT_EQ(reply.thing_name, "esp32dkc_6");
}

struct HookOutputCase {
    std::string name;
    std::string output;
    bool allowed;
    std::map<std::string, std::string> overrides;
};
void PrintTo(const HookOutputCase& c, std::ostream* os) { *os << c.name; }
class HookOutputTest : public ::testing::TestWithParam<HookOutputCase> {};
TEST_P(HookOutputTest, AllowsOnlyAnExplicitTrue) {
    const auto& c = GetParam();
    const auto parsed = ParsePreProvisioningHookOutput(c.output);
    ASSERT_EQ(parsed.has_value(), c.allowed);
    if (c.allowed) {
        EXPECT_EQ(*parsed, c.overrides);
    }
}
INSTANTIATE_TEST_SUITE_P(
    Table, HookOutputTest,
    ::testing::Values(
        HookOutputCase{"Allow", R"({"allowProvisioning":true})", true, {}},
        HookOutputCase{"AllowWithOverrides",
                       R"({"allowProvisioning":true,"parameterOverrides":{"A":"b"}})",
                       true,
                       {{"A", "b"}}},
        HookOutputCase{"Deny", R"({"allowProvisioning":false})", false, {}},
        HookOutputCase{"StringTrue", R"({"allowProvisioning":"true"})", false, {}},
        HookOutputCase{"Missing", R"({})", false, {}},
        HookOutputCase{"Garbage", "allow", false, {}},
        HookOutputCase{"Empty", "", false, {}},
        HookOutputCase{"NonStringOverride",
                       R"({"allowProvisioning":true,"parameterOverrides":{"A":1}})", false, {}}),
    CaseName{});

TEST(FleetMqttTest, HookRefusalIsAccessDenied) {
    const auto reply = RejectByHook(*ParseFleetTopic(kProvision + "cbor"), "timed out");
    EXPECT_EQ(reply.topic, kProvision + "cbor/rejected");
    const json body = json::from_cbor(reply.payload);
    EXPECT_EQ(body["statusCode"], 403);
    EXPECT_EQ(body["errorCode"], "AccessDenied");
}

}  // namespace
}  // namespace sim::account::testing
