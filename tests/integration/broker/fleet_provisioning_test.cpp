// SPDX-License-Identifier: Apache-2.0
// Fleet provisioning by claim (seed 002) against a real account broker: the claim policy and
// template set up over the control plane, a Paho client with the claim certificate running
// CreateKeysAndCertificate / CreateCertificateFromCsr → RegisterThing, then reconnecting with
// the new certificate; rejected requests; the claim certificate confined by its policy.
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pki/authority.hpp"
#include "pki/key.hpp"
#include "sim/control_plane/aws_client.hpp"
#include "sim/testing/mqtt_clients.hpp"
#include "sim/testing/support.hpp"
#include "account_broker_fixture.hpp"

namespace {
using namespace std::chrono_literals;
using nlohmann::json;
using sim::controlplane::AwsClient;
using sim::testing::CertFiles;
using sim::testing::RecordingClient;

constexpr const char* kTemplateName = "esp32_fleet_prov_template";
const std::string kArn = std::string("arn:aws:iot:us-east-1:") + sim::testing::kTestAccountId;

// Seed 002's claim policy; `csr` adds the create-from-csr topics (the seed uses
// CreateKeysAndCertificate only).
json ClaimPolicy(bool csr) {
    json publish = {kArn + ":topic/$aws/certificates/create/*",
                    kArn + ":topic/$aws/provisioning-templates/" + kTemplateName + "/provision/*"};
    json subscribe = {
        kArn + ":topicfilter/$aws/certificates/create/*",
        kArn + ":topicfilter/$aws/provisioning-templates/" + kTemplateName + "/provision/*"};
    if (csr) {
        publish.push_back(kArn + ":topic/$aws/certificates/create-from-csr/*");
        subscribe.push_back(kArn + ":topicfilter/$aws/certificates/create-from-csr/*");
    }
    return {{"Version", "2012-10-17"},
            {"Statement",
             {{{"Effect", "Allow"}, {"Action", {"iot:Connect"}}, {"Resource", {"*"}}},
              {{"Effect", "Allow"}, {"Action", {"iot:Publish", "iot:Receive"}}, {"Resource", publish}},
              {{"Effect", "Allow"}, {"Action", "iot:Subscribe"}, {"Resource", subscribe}}}}};
}

// Seed 002's fleet policy.
json FleetPolicy() {
    json statements = json::array();
    for (const char* action : {"iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive"}) {
        statements.push_back({{"Effect", "Allow"}, {"Action", action}, {"Resource", kArn + ":*"}});
    }
    return {{"Version", "2012-10-17"}, {"Statement", statements}};
}

// The template the console makes for seed 002: thing name prefix esp32dkc_, the fleet policy.
json FleetTemplate() {
    return {{"Parameters",
             {{"SerialNumber", {{"Type", "String"}}},
              {"AWS::IoT::Certificate::Id", {{"Type", "String"}}}}},
            {"Resources",
             {{"thing",
               {{"Type", "AWS::IoT::Thing"},
                {"Properties",
                 {{"ThingName", {{"Fn::Join", {"", {"esp32dkc_", {{"Ref", "SerialNumber"}}}}}}}}}}},
              {"certificate",
               {{"Type", "AWS::IoT::Certificate"},
                {"Properties",
                 {{"CertificateId", {{"Ref", "AWS::IoT::Certificate::Id"}}},
                  {"Status", "ACTIVE"}}}}},
              {"policy",
               {{"Type", "AWS::IoT::Policy"},
                {"Properties", {{"PolicyName", "esp32_fleet_policy"}}}}}}},
            {"DeviceConfiguration", {{"Fallback", "yes"}}}};
}

class FleetByClaimBrokerTest : public sim::testing::AccountBrokerFixture {
protected:
    // The account with seed 002's set-up and a claim certificate; `csr`: its policy also
    // allows CreateCertificateFromCsr.
    void SetUpSeed(bool csr = false) {
        ASSERT_NO_FATAL_FAILURE(StartAccount());
        Call("POST", AwsClient::Path({"policies", "esp32_claim_policy"}),
             {{"policyDocument", ClaimPolicy(csr).dump()}});
        Call("POST", AwsClient::Path({"policies", "esp32_fleet_policy"}),
             {{"policyDocument", FleetPolicy().dump()}});
        Call("POST", "/provisioning-templates",
             {{"templateName", kTemplateName},
              {"templateBody", FleetTemplate().dump()},
              {"enabled", true},
              {"provisioningRoleArn", "arn:aws:iam::123456789012:role/esp32_fleet_prov_role"}});
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
    // Nor may it use the CSR API, which seed 002's claim policy does not name.
    auto csr = Client(claim_, "esp32-0005");
    TryPublish(*csr, "$aws/certificates/create-from-csr/json", R"({"certificateSigningRequest":"x"})");
    std::this_thread::sleep_for(500ms);
    EXPECT_FALSE(TryPublish(*csr, "$aws/certificates/create/json", "{}"));
    EXPECT_EQ(Call("GET", "/certificates").value("certificates", json::array()).size(), 1U);
}

}  // namespace
