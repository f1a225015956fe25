// SPDX-License-Identifier: Apache-2.0
// Fleet provisioning by claim (a published ESP32 guide's set-up) against a real account broker:
// the claim policy and template set up over the control plane, a Paho client with the claim
// certificate running CreateKeysAndCertificate / CreateCertificateFromCsr → RegisterThing, then
// reconnecting with the new certificate; rejected requests; the claim certificate confined by its
// policy.
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "pki/authority.hpp"
#include "pki/key.hpp"
#include "sim/control_plane/aws_client.hpp"
#include "sim/core/adapters.hpp"
#include "sim/testing/mqtt_clients.hpp"
#include "sim/testing/support.hpp"
#include "account_broker_fixture.hpp"
#include "fleet_seed.hpp"

namespace {
using namespace std::chrono_literals;
using nlohmann::json;
using sim::controlplane::AwsClient;
using sim::testing::CertFiles;
using sim::testing::RecordingClient;

constexpr const char* kTemplateName = sim::testing::kEsp32TemplateName;
// The ESP32 guide's set-up with a device configuration.
sim::device::FleetSetUpOptions Seed(bool csr) {
    auto options = sim::testing::Esp32FleetSeed(csr);
    options.device_configuration = {{"Fallback", "yes"}};
    return options;
}

class FleetByClaimBrokerTest : public sim::testing::AccountBrokerFixture {
protected:
    // The account with the ESP32 guide's set-up and a claim certificate; `csr`: its policy also
    // allows CreateCertificateFromCsr; `hook_arn`: the template's pre-provisioning hook.
    void SetUpSeed(bool csr = false, const std::string& hook_arn = "") {
        ASSERT_NO_FATAL_FAILURE(StartAccount());
        auto seed = Seed(csr);
        seed.pre_provisioning_hook_arn = hook_arn;
        Call("POST", AwsClient::Path({"policies", seed.claim_policy}),
             {{"policyDocument", sim::device::ClaimPolicyDocument(seed).dump()}});
        Call("POST", AwsClient::Path({"policies", seed.fleet_policy}),
             {{"policyDocument", sim::device::FleetPolicyDocument(seed).dump()}});
        Call("POST", "/provisioning-templates", sim::device::FleetTemplateRequest(seed));
        const json created =
            Call("POST", "/keys-and-certificate", nullptr, {{"setAsActive", "true"}});
        claim_.cert = WriteFile("claim.pem", created.value("certificatePem", ""));
        claim_.key = WriteFile("claim.key", created["keyPair"].value("PrivateKey", ""));
        claim_.certificate_id = created.value("certificateId", "");
        Call("PUT", AwsClient::Path({"target-policies", "esp32_claim_policy"}),
             {{"target", created.value("certificateArn", "")}});
    }

    std::unique_ptr<RecordingClient> Client(const CertFiles& cert, const std::string& client_id) {
        auto client = std::make_unique<RecordingClient>(*broker_, *pki_, cert, client_id);
        EXPECT_TRUE(client->Connect()) << client_id;
        return client;
    }

    // Subscribes to the operation's accepted and rejected topics, publishes, and returns the
    // one reply (topic, payload).
    static RecordingClient::Message Request(RecordingClient& client, const std::string& topic,
                                            const std::string& payload, std::size_t already = 0) {
        EXPECT_TRUE(client.Subscribe(topic + "/accepted"));
        EXPECT_TRUE(client.Subscribe(topic + "/rejected"));
        EXPECT_TRUE(client.Publish(topic, payload));
        const auto messages = client.WaitFor(already + 1, 10s);
        return messages.size() > already ? messages[already] : RecordingClient::Message{};
    }

    json Things() { return Call("GET", "/things"); }

    CertFiles claim_;
};

TEST_F(FleetByClaimBrokerTest, CreateKeysRegisterThingThenReconnectWithTheNewCertificate) {
    ASSERT_NO_FATAL_FAILURE(SetUpSeed());
    // Another device with the same claim certificate: it must see neither the request nor
    // the reply.
    auto other = Client(claim_, "esp32-other");
    ASSERT_TRUE(other->Subscribe("$aws/certificates/create/json/accepted"));
    ASSERT_TRUE(other->Subscribe("$aws/certificates/create/json"));

    auto device = Client(claim_, "esp32-0001");
    const auto created = Request(*device, "$aws/certificates/create/json", "{}");
    ASSERT_EQ(created.first, "$aws/certificates/create/json/accepted") << created.second;
    const json keys = json::parse(created.second);
    const std::string id = keys.value("certificateId", "");
    EXPECT_EQ(json::parse(Call("GET", AwsClient::Path({"certificates", id}))
                              ["certificateDescription"]
                                  .dump())
                  .value("status", ""),
              "PENDING_ACTIVATION");

    const std::string provision =
        std::string("$aws/provisioning-templates/") + kTemplateName + "/provision/json";
    const auto registered = Request(
        *device, provision,
        json{{"certificateOwnershipToken", keys["certificateOwnershipToken"]},
             {"parameters", {{"SerialNumber", "0001"}}}}
            .dump(),
        1);
    ASSERT_EQ(registered.first, provision + "/accepted") << registered.second;
    EXPECT_EQ(json::parse(registered.second),
              (json{{"deviceConfiguration", {{"Fallback", "yes"}}},
                    {"thingName", "esp32dkc_0001"}}));
    EXPECT_TRUE(device->Disconnect());
    EXPECT_TRUE(other->WaitFor(1, 500ms).empty());

    CertFiles fresh;
    fresh.cert = WriteFile("device.pem", keys.value("certificatePem", ""));
    fresh.key = WriteFile("device.key", keys.value("privateKey", ""));
    auto provisioned = Client(fresh, "esp32dkc_0001");
    EXPECT_TRUE(provisioned->Subscribe("esp32/esp32dkc_0001/data"));
    EXPECT_TRUE(provisioned->Publish("esp32/esp32dkc_0001/data", "hello"));
    EXPECT_EQ(provisioned->WaitMessage(5s).second, "hello");
    const json described = Call("GET", AwsClient::Path({"things", "esp32dkc_0001"}));
    EXPECT_EQ(described.value("thingName", ""), "esp32dkc_0001");
}

TEST_F(FleetByClaimBrokerTest, CsrFlowInCbor) {
    ASSERT_NO_FATAL_FAILURE(SetUpSeed(/*csr=*/true));
    auto key = pki::Key::Generate(pki::KeyType::kEcP256);
    ASSERT_TRUE(key.has_value());
    const auto csr = pki::CreateCsrPem(*key, pki::DistinguishedName{{{"CN", "esp32"}}});
    ASSERT_TRUE(csr.has_value());
    auto device = Client(claim_, "esp32-0002");
    const auto cbor = json::to_cbor(json{{"certificateSigningRequest", *csr}});
    const auto created = Request(*device, "$aws/certificates/create-from-csr/cbor",
                                 std::string(cbor.begin(), cbor.end()));
    ASSERT_EQ(created.first, "$aws/certificates/create-from-csr/cbor/accepted");
    const json certificate = json::from_cbor(created.second);
    EXPECT_FALSE(certificate.contains("privateKey"));
    const std::string provision =
        std::string("$aws/provisioning-templates/") + kTemplateName + "/provision/cbor";
    const auto request = json::to_cbor(
        json{{"certificateOwnershipToken", certificate["certificateOwnershipToken"]},
             {"parameters", {{"SerialNumber", "0002"}}}});
    const auto registered =
        Request(*device, provision, std::string(request.begin(), request.end()), 1);
    ASSERT_EQ(registered.first, provision + "/accepted");
    EXPECT_EQ(json::from_cbor(registered.second).value("thingName", ""), "esp32dkc_0002");
    EXPECT_TRUE(device->Disconnect());

    CertFiles fresh;
    fresh.cert = WriteFile("csr-device.pem", certificate.value("certificatePem", ""));
    fresh.key = WriteFile("csr-device.key", key->PrivatePem());
    auto provisioned = Client(fresh, "esp32dkc_0002");
    EXPECT_TRUE(provisioned->Publish("esp32/esp32dkc_0002/data", "hello"));
}

TEST_F(FleetByClaimBrokerTest, WrongTokenIsRejectedAndCreatesNothing) {
    ASSERT_NO_FATAL_FAILURE(SetUpSeed());
    auto device = Client(claim_, "esp32-0003");
    const std::string provision =
        std::string("$aws/provisioning-templates/") + kTemplateName + "/provision/json";
    const auto rejected = Request(
        *device, provision,
        json{{"certificateOwnershipToken", "not-a-token"}, {"parameters", {{"SerialNumber", "3"}}}}
            .dump());
    ASSERT_EQ(rejected.first, provision + "/rejected");
    const json body = json::parse(rejected.second);
    EXPECT_EQ(body.value("statusCode", 0), 400);
    EXPECT_EQ(body.value("errorCode", ""), "InvalidCertificateOwnershipToken");
    // Garbage in: rejected, the connection kept.
    const auto garbage = Request(*device, "$aws/certificates/create/json", "{garbage", 1);
    ASSERT_EQ(garbage.first, "$aws/certificates/create/json/rejected");
    EXPECT_EQ(json::parse(garbage.second).value("errorCode", ""), "InvalidPayload");
    EXPECT_TRUE(device->Publish(provision, "{}"));
    EXPECT_EQ(Things().value("things", json::array()).size(), 0U);
}

// A publish that may meet a closed connection (Paho throws then).
bool TryPublish(RecordingClient& client, const std::string& topic, const std::string& payload) {
    try {
        return client.Publish(topic, payload);
    } catch (const std::exception&) {
        return false;
    }
}

TEST_F(FleetByClaimBrokerTest, ClaimCertificateCannotPublishElsewhere) {
    ASSERT_NO_FATAL_FAILURE(SetUpSeed());
    // MQTT 3.1.1: a publish the policy denies closes the connection (at the next TICK).
    auto device = Client(claim_, "esp32-0004");
    TryPublish(*device, "esp32/data", "hello");
    std::this_thread::sleep_for(500ms);
    EXPECT_FALSE(TryPublish(*device, "$aws/certificates/create/json", "{}"));
    // Nor may it use the CSR API, which the ESP32 guide's claim policy does not name.
    auto csr = Client(claim_, "esp32-0005");
    TryPublish(*csr, "$aws/certificates/create-from-csr/json", R"({"certificateSigningRequest":"x"})");
    std::this_thread::sleep_for(500ms);
    EXPECT_FALSE(TryPublish(*csr, "$aws/certificates/create/json", "{}"));
    EXPECT_EQ(Call("GET", "/certificates").value("certificates", json::array()).size(), 1U);
}

// ---- The pre-provisioning hook ------------------------------------------------------------------

constexpr const char* kHookArn = "arn:aws:lambda:us-east-1:123456789012:function:check-serial";

// A hook served by the world's Lambda stand-ins (plugin_opt_lambda_functions).
class PreProvisioningHookTest : public FleetByClaimBrokerTest {
protected:
    // Serves kHookArn with `function` ({"command": [...]} or {"url": ...}), then the ESP32 guide's
    // set-up with the hook on the template.
    void SetUpHook(const json& function) {
        json entry = function;
        entry["arn"] = kHookArn;
        extra_plugin_options_.emplace_back(
            "lambda_functions",
            WriteFile("lambda-functions.json", json{{"functions", {entry}}}.dump()));
        ASSERT_NO_FATAL_FAILURE(SetUpSeed(/*csr=*/true, kHookArn));
    }

    // A python3 function: saves its input to `input_file`, prints `output` (a Python expression
    // over the input `i`).
    json Python(const std::string& output, const std::string& before = "") {
        input_file_ = (dir_.path() / "hook-input.json").string();
        return {{"command",
                 {"python3", "-c",
                  "import json,sys,time\ni=json.load(sys.stdin)\nopen('" + input_file_ +
                      "','w').write(json.dumps(i))\n" + before + "print(" + output + ")"}}};
    }

    // CreateKeysAndCertificate then RegisterThing with SerialNumber `serial`: the two replies.
    std::pair<json, RecordingClient::Message> Provision(RecordingClient& device,
                                                        const std::string& serial) {
        const auto created = Request(device, "$aws/certificates/create/json", "{}");
        EXPECT_EQ(created.first, "$aws/certificates/create/json/accepted") << created.second;
        const json keys = json::parse(created.second, nullptr, false);
        const auto registered =
            Request(device, kProvision,
                    json{{"certificateOwnershipToken", keys.value("certificateOwnershipToken", "")},
                         {"parameters", {{"SerialNumber", serial}}}}
                        .dump(),
                    1);
        return {keys, registered};
    }

    // The reply must be the hook's refusal; nothing registered (`things` things in all), the
    // certificate still pending.
    void ExpectRefused(const json& keys, const RecordingClient::Message& reply,
                       std::size_t things = 0) {
        ASSERT_EQ(reply.first, kProvision + "/rejected") << reply.second;
        const json body = json::parse(reply.second);
        EXPECT_EQ(body.value("statusCode", 0), 403);
        EXPECT_EQ(body.value("errorCode", ""), "AccessDenied");
        EXPECT_EQ(Things().value("things", json::array()).size(), things);
        const json described = Call(
            "GET", AwsClient::Path({"certificates", keys.value("certificateId", "")}));
        EXPECT_EQ(described["certificateDescription"].value("status", ""), "PENDING_ACTIVATION");
    }

    const std::string kProvision =
        std::string("$aws/provisioning-templates/") + kTemplateName + "/provision/json";
    std::string input_file_;
};

TEST_F(PreProvisioningHookTest, AllowedWithOverridesGetsAwsInputPayload) {
    ASSERT_NO_FATAL_FAILURE(SetUpHook(Python(
        "json.dumps({'allowProvisioning': True, 'parameterOverrides': "
        "{'SerialNumber': 'hooked' + i['parameters']['SerialNumber']}})")));
    auto device = Client(claim_, "esp32-hook-1");
    const auto [keys, registered] = Provision(*device, "0007");
    ASSERT_EQ(registered.first, kProvision + "/accepted") << registered.second;
    EXPECT_EQ(json::parse(registered.second).value("thingName", ""), "esp32dkc_hooked0007");
    // "Pre-provision hook input" (AWS IoT Core Developer Guide, "Pre-provisioning hooks").
    const auto text = sim::ReadFile(input_file_);
    ASSERT_TRUE(text) << text.error().message;
    const json input = json::parse(*text);
    EXPECT_EQ(input.value("claimCertificateId", ""), claim_.certificate_id);
    EXPECT_EQ(input.value("certificateId", ""), keys.value("certificateId", ""));
    EXPECT_EQ(input.value("certificatePem", ""), keys.value("certificatePem", ""));
    EXPECT_EQ(input.value("templateArn", ""),
              std::string("arn:aws:iot:us-east-1:") + sim::testing::kTestAccountId +
                  ":provisioningtemplate/" + kTemplateName);
    EXPECT_EQ(input.value("clientId", ""), "esp32-hook-1");
    EXPECT_EQ(input["parameters"], (json{{"SerialNumber", "0007"}}));
}

TEST_F(PreProvisioningHookTest, RefusalFailureAndMalformedOutputAreRejected) {
    // One function whose answer depends on the serial number.
    ASSERT_NO_FATAL_FAILURE(SetUpHook(Python(
        "{'deny': json.dumps({'allowProvisioning': False}), 'text': 'not json', "
        "'string': json.dumps({'allowProvisioning': 'true'}), "
        "'override': json.dumps({'allowProvisioning': True, 'parameterOverrides': {'A': 1}})}"
        "[i['parameters']['SerialNumber']]")));
    for (const char* serial : {"deny", "text", "string", "override", "crash"}) {
        SCOPED_TRACE(serial);
        auto device = Client(claim_, std::string("esp32-") + serial);
        const auto [keys, registered] = Provision(*device, serial);  // "crash": KeyError, exit 1
        ExpectRefused(keys, registered);
        // The connection is kept: the device may try again.
        EXPECT_TRUE(device->Publish("$aws/certificates/create/json", "{}"));
    }
}

TEST_F(PreProvisioningHookTest, SlowHookTimesOutAfterFiveSecondsWithoutBlockingTheBroker) {
    ASSERT_NO_FATAL_FAILURE(SetUpHook(
        Python("json.dumps({'allowProvisioning': True})", "time.sleep(30)\n")));
    auto device = Client(claim_, "esp32-slow");
    const auto created = Request(*device, "$aws/certificates/create/json", "{}");
    const json keys = json::parse(created.second, nullptr, false);
    const auto started = std::chrono::steady_clock::now();
    EXPECT_TRUE(device->Subscribe(kProvision + "/accepted"));
    EXPECT_TRUE(device->Subscribe(kProvision + "/rejected"));
    EXPECT_TRUE(device->Publish(
        kProvision, json{{"certificateOwnershipToken", keys.value("certificateOwnershipToken", "")},
                         {"parameters", {{"SerialNumber", "9"}}}}
                        .dump()));
    // While the hook runs, another device is served at once.
    auto other = Client(claim_, "esp32-other");
    const auto other_started = std::chrono::steady_clock::now();
    const auto other_created = Request(*other, "$aws/certificates/create/json", "{}");
    EXPECT_EQ(other_created.first, "$aws/certificates/create/json/accepted");
    EXPECT_LT(std::chrono::steady_clock::now() - other_started, 3s);
    const auto replies = device->WaitFor(2, 15s);
    ASSERT_EQ(replies.size(), 2U);
    const auto elapsed = std::chrono::steady_clock::now() - started;
    EXPECT_GE(elapsed, 5s);
    EXPECT_LT(elapsed, 8s);
    ExpectRefused(keys, replies[1]);
}

TEST_F(PreProvisioningHookTest, WebhookServesTheFunction) {
    httplib::Server server;
    json received;
    server.Post("/hook", [&](const httplib::Request& request, httplib::Response& response) {
        received = json::parse(request.body, nullptr, false);
        const bool allow = received["parameters"].value("SerialNumber", "") != "0666";
        response.set_content(json{{"allowProvisioning", allow}}.dump(), "application/json");
    });
    const auto port = sim::testing::FreePort("127.0.0.1");
    ASSERT_TRUE(server.bind_to_port("127.0.0.1", port));
    std::thread serving([&] { server.listen_after_bind(); });
    struct Stop {
        httplib::Server& server;
        std::thread& thread;
        ~Stop() {
            server.stop();
            thread.join();
        }
    } stop{server, serving};
    ASSERT_NO_FATAL_FAILURE(
        SetUpHook({{"url", "http://127.0.0.1:" + std::to_string(port) + "/hook"}}));
    auto device = Client(claim_, "esp32-web");
    const auto [keys, registered] = Provision(*device, "0010");
    EXPECT_EQ(registered.first, kProvision + "/accepted") << registered.second;
    EXPECT_EQ(received.value("clientId", ""), "esp32-web");
    auto denied_device = Client(claim_, "esp32-web-2");
    const auto [denied_keys, denied] = Provision(*denied_device, "0666");
    ExpectRefused(denied_keys, denied, 1);
}

TEST_F(PreProvisioningHookTest, HookWithoutAFunctionInTheWorldRefuses) {
    extra_plugin_options_.emplace_back(
        "lambda_functions", WriteFile("lambda-functions.json", R"({"functions": []})"));
    ASSERT_NO_FATAL_FAILURE(SetUpSeed(/*csr=*/true, kHookArn));
    auto device = Client(claim_, "esp32-nohook");
    const auto [keys, registered] = Provision(*device, "1");
    ExpectRefused(keys, registered);
}

}  // namespace
