// SPDX-License-Identifier: Apache-2.0
// Control-plane calls of the fleet-by-claim set-up (AWS IoT API Reference: CreatePolicy,
// CreateKeysAndCertificate, AttachPolicy, CreateProvisioningTemplate).
#include "sim/device/fleet_setup.hpp"

#include <nlohmann/json.hpp>

#include "sim/core/adapters.hpp"

namespace sim::device {

using nlohmann::json;
using controlplane::AwsClient;

namespace {

std::string AccountArn(const FleetSetUpOptions& options) {
    return "arn:aws:iot:" + options.region + ":" + options.account_id;
}

}  // namespace

json ClaimPolicyDocument(const FleetSetUpOptions& options) {
    const std::string arn = AccountArn(options);
    json publish = {arn + ":topic/$aws/certificates/create/*",
                    arn + ":topic/$aws/provisioning-templates/" + options.template_name +
                        "/provision/*"};
    json subscribe = {arn + ":topicfilter/$aws/certificates/create/*",
                      arn + ":topicfilter/$aws/provisioning-templates/" + options.template_name +
                          "/provision/*"};
    if (options.allow_csr) {
        publish.push_back(arn + ":topic/$aws/certificates/create-from-csr/*");
        subscribe.push_back(arn + ":topicfilter/$aws/certificates/create-from-csr/*");
    }
    return {{"Version", "2012-10-17"},
            {"Statement",
             {{{"Effect", "Allow"}, {"Action", {"iot:Connect"}}, {"Resource", {"*"}}},
              {{"Effect", "Allow"}, {"Action", {"iot:Publish", "iot:Receive"}}, {"Resource", publish}},
              {{"Effect", "Allow"}, {"Action", "iot:Subscribe"}, {"Resource", subscribe}}}}};
}

json FleetPolicyDocument(const FleetSetUpOptions& options) {
    const std::string arn = AccountArn(options);
    json statements = json::array();
    for (const char* action : {"iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive"}) {
        statements.push_back({{"Effect", "Allow"}, {"Action", action}, {"Resource", arn + ":*"}});
    }
    return {{"Version", "2012-10-17"}, {"Statement", statements}};
}

json FleetTemplateBody(const FleetSetUpOptions& options) {
    json body = {
        {"Parameters",
         {{"SerialNumber", {{"Type", "String"}}},
          {"AWS::IoT::Certificate::Id", {{"Type", "String"}}}}},
        {"Resources",
         {{"thing",
           {{"Type", "AWS::IoT::Thing"},
            {"Properties",
             {{"ThingName",
               {{"Fn::Join", {"", {options.thing_name_prefix, {{"Ref", "SerialNumber"}}}}}}}}}}},
          {"certificate",
           {{"Type", "AWS::IoT::Certificate"},
            {"Properties",
             {{"CertificateId", {{"Ref", "AWS::IoT::Certificate::Id"}}}, {"Status", "ACTIVE"}}}}},
          {"policy",
           {{"Type", "AWS::IoT::Policy"},
            {"Properties", {{"PolicyName", options.fleet_policy}}}}}}}};
    if (!options.device_configuration.is_null()) {
        body["DeviceConfiguration"] = options.device_configuration;
    }
    return body;
}

json FleetTemplateRequest(const FleetSetUpOptions& options) {
    json request = {{"templateName", options.template_name},
                    {"templateBody", FleetTemplateBody(options).dump()},
                    {"enabled", true},
                    {"provisioningRoleArn",
                     "arn:aws:iam::" + options.account_id + ":role/elsim_fleet_role"}};
    if (!options.pre_provisioning_hook_arn.empty()) {
        // CreateProvisioningTemplate, preProvisioningHook (AWS IoT API Reference).
        request["preProvisioningHook"] = {{"targetArn", options.pre_provisioning_hook_arn},
                                          {"payloadVersion", "2020-04-01"}};
    }
    return request;
}

sim::Result<ClaimIdentity> SetUpFleetByClaim(AwsClient& client, const FleetSetUpOptions& options) {
    auto call = [&](std::string_view method, const std::string& path, const json& body,
                    const controlplane::QueryParams& query = {}) -> sim::Result<json> {
        auto reply = client.Call(method, path, query, body);
        if (!reply) {
            return sim::MakeError(ErrorCode::kFailedPrecondition,
                                  std::string(method) + " " + path + ": " + reply.error().type +
                                      " " + reply.error().message);
        }
        return *reply;
    };
    for (const auto& [name, document] :
         {std::pair{options.claim_policy, ClaimPolicyDocument(options)},
          std::pair{options.fleet_policy, FleetPolicyDocument(options)}}) {
        if (auto made = call("POST", AwsClient::Path({"policies", name}),
                             {{"policyDocument", document.dump()}});
            !made) {
            return sim::Unexpected<Error>(made.error());
        }
    }
    if (auto made = call("POST", "/provisioning-templates", FleetTemplateRequest(options));
        !made) {
        return sim::Unexpected<Error>(made.error());
    }
    auto created = call("POST", "/keys-and-certificate", nullptr, {{"setAsActive", "true"}});
    if (!created) {
        return sim::Unexpected<Error>(created.error());
    }
    if (auto attached = call("PUT", AwsClient::Path({"target-policies", options.claim_policy}),
                             {{"target", created->value("certificateArn", "")}});
        !attached) {
        return sim::Unexpected<Error>(attached.error());
    }
    ClaimIdentity identity{options.directory / "claim.pem", options.directory / "claim.key",
                           created->value("certificateId", "")};
    using std::filesystem::perms;
    if (auto written = sim::WriteFileAtomically(identity.cert, created->value("certificatePem", ""));
        !written) {
        return sim::Unexpected<Error>(written.error());
    }
    const json key_pair = created->value("keyPair", json::object());
    if (auto written = sim::WriteFileAtomically(identity.key, key_pair.value("PrivateKey", ""),
                                                perms::owner_read | perms::owner_write);
        !written) {
        return sim::Unexpected<Error>(written.error());
    }
    return identity;
}

}  // namespace sim::device
