// SPDX-License-Identifier: Apache-2.0
// Staging account names, policies and set-up (ExpressLink Programmer's Guide 12.1; OEM guide).
#include "sim/staging/staging.hpp"

#include <nlohmann/json.hpp>

namespace sim::staging {

namespace {

using nlohmann::json;

std::string Arn(std::string_view region, std::string_view account_id, std::string_view rest) {
    std::string arn = "arn:aws:iot:";
    arn.append(region).append(":").append(account_id).append(":").append(rest);
    return arn;
}

json Statement(json actions, json resources) {
    return json{{"Effect", "Allow"}, {"Action", std::move(actions)},
                {"Resource", std::move(resources)}};
}

}  // namespace

std::string ConfigTopic(std::string_view thing_name) {
    std::string topic(thing_name);
    topic.append(kConfigTopicSuffix);
    return topic;
}

std::string StagingPolicyDocument(std::string_view region, std::string_view account_id) {
    // Policy variables keep one policy for every module ('Thing policy variables'). The reserved
    // jobs/streams topics are those of PG-OTA 9.3; RetainPublish is not granted (Assumed: staging
    // modules have no use for retained messages).
    const std::string thing = "${iot:Connection.Thing.ThingName}";
    auto topic = [&](const std::string& name) { return Arn(region, account_id, "topic/" + name); };
    auto filter = [&](const std::string& name) {
        return Arn(region, account_id, "topicfilter/" + name);
    };
    const json document = {
        {"Version", "2012-10-17"},
        {"Statement",
         json::array({
             Statement("iot:Connect", Arn(region, account_id, "client/" + thing)),
             Statement(json::array({"iot:Publish", "iot:Receive"}),
                       json::array({topic(thing), topic(thing + "/*"),
                                    topic("$aws/things/" + thing + "/jobs/*"),
                                    topic("$aws/things/" + thing + "/streams/*")})),
             Statement("iot:Subscribe",
                       json::array({filter(thing), filter(thing + "/*"),
                                    filter("$aws/things/" + thing + "/jobs/*"),
                                    filter("$aws/things/" + thing + "/streams/*")})),
         })}};
    return document.dump();
}

std::string ClaimThingPolicyDocument(std::string_view region, std::string_view account_id) {
    const std::string thing = "${iot:Connection.Thing.ThingName}";
    const json document = {
        {"Version", "2012-10-17"},
        {"Statement",
         json::array({
             Statement("iot:Connect", Arn(region, account_id, "client/" + thing)),
             Statement("iot:Publish", Arn(region, account_id, "topic/*/expresslink_config")),
             Statement("iot:Subscribe",
                       json::array({Arn(region, account_id,
                                        "topicfilter/$aws/events/presence/connected/*"),
                                    Arn(region, account_id,
                                        "topicfilter/$aws/events/presence/disconnected/*")})),
             Statement("iot:Receive",
                       json::array({Arn(region, account_id, "topic/$aws/events/presence/connected/*"),
                                    Arn(region, account_id,
                                        "topic/$aws/events/presence/disconnected/*")})),
         })}};
    return document.dump();
}

account::AwsStatus SetUpStagingAccount(account::Registry& registry,
                                       const pki::CertificateInfo& manufacturer_ca) {
    const auto& settings = registry.Settings();
    auto failed = [](const std::string& step, account::AwsError error) {
        error.message = step + ": " + error.message;
        return sim::Unexpected<account::AwsError>(std::move(error));
    };
    for (std::string_view type : {kModuleThingType, kClaimThingType}) {
        if (registry.DescribeThingType(type)) {
            continue;
        }
        account::CreateThingTypeRequest request;
        request.thing_type_name = std::string(type);
        request.description = type == kModuleThingType ? "ExpressLink module in staging"
                                                       : "OEM claim-thing (onboarding-by-claim)";
        if (auto created = registry.CreateThingType(request); !created) {
            return failed("CreateThingType " + request.thing_type_name, created.error());
        }
    }
    const std::pair<std::string_view, std::string> policies[] = {
        {kStagingPolicyName, StagingPolicyDocument(settings.region, settings.account_id)},
        {kClaimPolicyName, ClaimThingPolicyDocument(settings.region, settings.account_id)},
    };
    for (const auto& [name, document] : policies) {
        if (registry.FindPolicy(name) != nullptr) {
            continue;
        }
        if (auto created = registry.CreatePolicy(name, document); !created) {
            return failed("CreatePolicy " + std::string(name), created.error());
        }
    }
    if (registry.FindCaCertificate(manufacturer_ca.certificate_id) == nullptr) {
        // Assumed: the AWS-managed staging account trusts the manufacturer CA without a
        // verification certificate (SNI_ONLY needs none: AWS IoT API Reference,
        // RegisterCACertificate).
        account::RegisterCaCertificateRequest request;
        request.ca_certificate = manufacturer_ca.pem;
        request.set_as_active = true;
        request.allow_auto_registration = false;
        request.certificate_mode = "SNI_ONLY";
        if (auto registered = registry.RegisterCACertificate(request); !registered) {
            return failed("RegisterCACertificate", registered.error());
        }
    }
    return {};
}

bool IsClaimThing(const account::Registry& registry, std::string_view thing_name) {
    const account::Thing* thing = registry.FindThing(thing_name);
    return thing != nullptr && thing->thing_type_name &&
           *thing->thing_type_name == kClaimThingType;
}

}  // namespace sim::staging
