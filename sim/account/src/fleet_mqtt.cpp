// SPDX-License-Identifier: Apache-2.0
// The fleet-provisioning MQTT API over the registry (AWS IoT Core Developer Guide, "Device
// provisioning MQTT API": CreateCertificateFromCsr, CreateKeysAndCertificate, RegisterThing;
// "Pre-provisioning hooks"). Decoding and encoding go through nlohmann::json (JSON and CBOR).

#include "sim/account/fleet_mqtt.hpp"

#include <utility>
#include <vector>

namespace sim::account {

namespace {

using nlohmann::json;

constexpr std::string_view kCreate = "$aws/certificates/create/";
constexpr std::string_view kCreateFromCsr = "$aws/certificates/create-from-csr/";
constexpr std::string_view kTemplates = "$aws/provisioning-templates/";
constexpr std::string_view kProvision = "/provision/";

std::optional<PayloadFormat> FormatOf(std::string_view text) {
    if (text == "json") {
        return PayloadFormat::kJson;
    }
    if (text == "cbor") {
        return PayloadFormat::kCbor;
    }
    return std::nullopt;
}

// Assumed: the MQTT API's errorCode is the registry's error type without the "Exception"
// suffix (ResourceNotFound, InvalidRequest, ResourceRegistrationFailure...), its statusCode
// the HTTP status of that type. Only 400 InvalidCertificateOwnershipToken is confirmed
// (aws-iot-device-sdk-js-v2 issue #69).
std::string MqttErrorCode(std::string_view type) {
    constexpr std::string_view kSuffix = "Exception";
    if (type.size() > kSuffix.size() && type.substr(type.size() - kSuffix.size()) == kSuffix) {
        type.remove_suffix(kSuffix.size());
    }
    return std::string(type);
}

FleetReply Rejected(const FleetTopic& topic, const AwsError& error) {
    return RejectFleetRequest(topic, HttpStatusOf(error.type), MqttErrorCode(error.type),
                              error.message);
}

FleetReply InvalidPayload(const FleetTopic& topic, std::string message) {
    return RejectFleetRequest(topic, 400, std::string(error_type::kInvalidPayload),
                              std::move(message));
}

FleetReply Accepted(const FleetTopic& topic, const json& body) {
    FleetReply reply;
    reply.topic = topic.topic + "/accepted";
    reply.payload = EncodePayload(body, topic.format);
    reply.accepted = true;
    return reply;
}

std::string Requester(const FleetCaller& caller) {
    return caller.certificate_id + "/" + caller.client_id;
}

}  // namespace

std::string EncodePayload(const nlohmann::json& value, PayloadFormat format) {
    if (format == PayloadFormat::kJson) {
        return value.dump();
    }
    const std::vector<std::uint8_t> bytes = json::to_cbor(value);
    return std::string(bytes.begin(), bytes.end());
}

std::optional<FleetTopic> ParseFleetTopic(std::string_view topic) {
    FleetTopic out;
    out.topic = std::string(topic);
    std::optional<PayloadFormat> format;
    if (topic.substr(0, kCreate.size()) == kCreate) {
        out.operation = FleetOperation::kCreateKeysAndCertificate;
        format = FormatOf(topic.substr(kCreate.size()));
    } else if (topic.substr(0, kCreateFromCsr.size()) == kCreateFromCsr) {
        out.operation = FleetOperation::kCreateCertificateFromCsr;
        format = FormatOf(topic.substr(kCreateFromCsr.size()));
    } else if (topic.substr(0, kTemplates.size()) == kTemplates) {
        const std::string_view rest = topic.substr(kTemplates.size());
        const auto slash = rest.find('/');
        if (slash == 0 || slash == std::string_view::npos ||
            rest.substr(slash, kProvision.size()) != kProvision) {
            return std::nullopt;
        }
        out.operation = FleetOperation::kRegisterThing;
        out.template_name = std::string(rest.substr(0, slash));
        format = FormatOf(rest.substr(slash + kProvision.size()));
    }
    if (!format) {
        return std::nullopt;
    }
    out.format = *format;
    return out;
}

FleetReply RejectFleetRequest(const FleetTopic& topic, int status_code, std::string error_code,
                              std::string error_message) {
    FleetReply reply;
    reply.topic = topic.topic + "/rejected";
    // The error response of every operation (fleet-provision-api, "Error response").
    reply.payload = EncodePayload(json{{"statusCode", status_code},
                                       {"errorCode", error_code},
                                       {"errorMessage", error_message}},
                                  topic.format);
    reply.error_code = std::move(error_code);
    reply.error_message = std::move(error_message);
    return reply;
}

FleetReply RejectByHook(const FleetTopic& topic, std::string_view why) {
    // AWS IoT Core Developer Guide, "Pre-provisioning hooks", "Pre-provisioning hook return
    // value": a function that fails, does not return "allowProvisioning": true, or does not
    // return within 5 seconds fails the provisioning request with ACCESS_DENIED.
    // Assumed: on the MQTT API that is statusCode 403, errorCode AccessDenied.
    return RejectFleetRequest(topic, 403, std::string(error_type::kAccessDenied),
                              "Provisioning refused by the pre-provisioning hook: " +
                                  std::string(why));
}

std::variant<FleetRequest, FleetReply> ParseFleetRequest(const FleetTopic& topic,
                                                         std::string_view payload) {
    FleetRequest request;
    request.topic = topic;
    json body;
    if (payload.empty()) {
        // CreateKeysAndCertificate documents an empty payload; the v2 SDKs publish {}.
        body = json::object();
    } else if (topic.format == PayloadFormat::kJson) {
        body = json::parse(payload, nullptr, /*allow_exceptions=*/false);
    } else {
        body = json::from_cbor(payload, /*strict=*/true, /*allow_exceptions=*/false);
    }
    if (body.is_discarded()) {
        return InvalidPayload(topic, topic.format == PayloadFormat::kJson
                                         ? "The payload is not valid JSON."
                                         : "The payload is not valid CBOR.");
    }
    if (!body.is_object()) {
        return InvalidPayload(topic, "The payload must be an object.");
    }
    // Assumed: members the operation does not define are ignored.
    auto string_member = [&](const char* name, std::string& out) -> std::optional<FleetReply> {
        const auto it = body.find(name);
        if (it == body.end() || it->is_null()) {
            return std::nullopt;
        }
        if (!it->is_string()) {
            return InvalidPayload(topic, std::string(name) + " must be a string.");
        }
        out = it->get<std::string>();
        return std::nullopt;
    };
    switch (topic.operation) {
        case FleetOperation::kCreateKeysAndCertificate:
            break;
        case FleetOperation::kCreateCertificateFromCsr:
            if (auto bad = string_member("certificateSigningRequest",
                                         request.certificate_signing_request)) {
                return *bad;
            }
            if (request.certificate_signing_request.empty()) {
                return InvalidPayload(topic, "certificateSigningRequest is required.");
            }
            break;
        case FleetOperation::kRegisterThing: {
            // An empty or missing token is the registry's (confirmed) rejection.
            if (auto bad = string_member("certificateOwnershipToken",
                                         request.certificate_ownership_token)) {
                return *bad;
            }
            const auto parameters = body.find("parameters");
            if (parameters != body.end() && !parameters->is_null()) {
                if (!parameters->is_object()) {
                    return InvalidPayload(topic, "parameters must be a map of strings.");
                }
                for (const auto& [key, value] : parameters->items()) {
                    if (!value.is_string()) {
                        return InvalidPayload(topic, "parameters." + key + " must be a string.");
                    }
                    request.parameters[key] = value.get<std::string>();
                }
            }
            break;
        }
    }
    return request;
}

FleetReply ExecuteFleetRequest(Registry& registry, FleetIssuer& issuer,
                               const FleetRequest& request, const FleetCaller& caller,
                               const std::map<std::string, std::string>& parameter_overrides) {
    const FleetTopic& topic = request.topic;
    switch (topic.operation) {
        case FleetOperation::kCreateKeysAndCertificate: {
            auto keys = issuer.CreateKeysAndCertificate();
            if (!keys) {
                return Rejected(topic, keys.error());
            }
            auto created = registry.FleetCreateCertificate({keys->certificate, Requester(caller)});
            if (!created) {
                return Rejected(topic, created.error());
            }
            FleetReply reply = Accepted(
                topic, json{{"certificateId", created->certificate_id},
                            {"certificatePem", keys->certificate.pem},
                            {"privateKey", keys->private_key_pem},
                            {"certificateOwnershipToken", created->certificate_ownership_token}});
            reply.certificate_id = created->certificate_id;
            return reply;
        }
        case FleetOperation::kCreateCertificateFromCsr: {
            auto certificate = issuer.CreateCertificateFromCsr(request.certificate_signing_request);
            if (!certificate) {
                return Rejected(topic, certificate.error());
            }
            auto created = registry.FleetCreateCertificate({*certificate, Requester(caller)});
            if (!created) {
                return Rejected(topic, created.error());
            }
            FleetReply reply = Accepted(
                topic, json{{"certificateOwnershipToken", created->certificate_ownership_token},
                            {"certificateId", created->certificate_id},
                            {"certificatePem", certificate->pem}});
            reply.certificate_id = created->certificate_id;
            return reply;
        }
        case FleetOperation::kRegisterThing:
            break;
    }
    // A CreateProvisioningClaim certificate provisions only with its own template
    // (AWS IoT Core Developer Guide, fleet provisioning, 'Provisioning by trusted user').
    if (const auto* claim = registry.FindCertificate(caller.certificate_id);
        claim != nullptr && claim->claim_template_name &&
        *claim->claim_template_name != topic.template_name) {
        return RejectFleetRequest(topic, 403, std::string(error_type::kAccessDenied),
                                  "The provisioning claim certificate is for template " +
                                      *claim->claim_template_name + ".");
    }
    auto registered = registry.FleetRegisterThing({topic.template_name,
                                                   request.certificate_ownership_token,
                                                   request.parameters, parameter_overrides,
                                                   Requester(caller)});
    if (!registered) {
        return Rejected(topic, registered.error());
    }
    json body = {{"deviceConfiguration", registered->device_configuration}};
    if (registered->thing_name) {
        body["thingName"] = *registered->thing_name;
    }
    FleetReply reply = Accepted(topic, body);
    reply.thing_name = registered->thing_name.value_or("");
    return reply;
}

FleetReply HandleFleetRequest(Registry& registry, FleetIssuer& issuer, std::string_view topic,
                              std::string_view payload, const FleetCaller& caller) {
    const auto parsed_topic = ParseFleetTopic(topic);
    if (!parsed_topic) {
        FleetTopic unknown;
        unknown.topic = std::string(topic);
        return InvalidPayload(unknown, "Not a fleet-provisioning request topic.");
    }
    auto parsed = ParseFleetRequest(*parsed_topic, payload);
    if (auto* reply = std::get_if<FleetReply>(&parsed)) {
        return std::move(*reply);
    }
    return ExecuteFleetRequest(registry, issuer, std::get<FleetRequest>(parsed), caller);
}

std::optional<PreProvisioningHookCall> PreProvisioningHookFor(const Registry& registry,
                                                               const FleetRequest& request,
                                                               const FleetCaller& caller) {
    if (request.topic.operation != FleetOperation::kRegisterThing) {
        return std::nullopt;
    }
    const auto* tpl = registry.FindProvisioningTemplate(request.topic.template_name);
    if (tpl == nullptr || !tpl->enabled || tpl->type != TemplateType::kFleetProvisioning ||
        !tpl->pre_provisioning_hook) {
        return std::nullopt;
    }
    const auto* token = registry.FindOwnershipToken(request.certificate_ownership_token);
    if (token == nullptr) {
        return std::nullopt;
    }
    const auto* certificate = registry.FindCertificate(token->certificate_id);
    if (certificate == nullptr) {
        return std::nullopt;
    }
    // The hook's input ("Pre-provisioning hooks", "Pre-provision hook input").
    json input = {{"claimCertificateId", caller.certificate_id},
                  {"certificateId", certificate->certificate_id},
                  {"certificatePem", certificate->info.pem},
                  {"templateArn", tpl->template_arn},
                  {"clientId", caller.client_id},
                  {"parameters", request.parameters}};
    return PreProvisioningHookCall{*tpl->pre_provisioning_hook, std::move(input)};
}

std::optional<std::map<std::string, std::string>> ParsePreProvisioningHookOutput(
    std::string_view output) {
    const json body = json::parse(output, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) {
        return std::nullopt;
    }
    const auto allow = body.find("allowProvisioning");
    if (allow == body.end() || !allow->is_boolean() || !allow->get<bool>()) {
        return std::nullopt;
    }
    std::map<std::string, std::string> overrides;
    const auto given = body.find("parameterOverrides");
    if (given != body.end() && !given->is_null()) {
        if (!given->is_object()) {
            return std::nullopt;
        }
        for (const auto& [key, value] : given->items()) {
            if (!value.is_string()) {
                return std::nullopt;
            }
            overrides[key] = value.get<std::string>();
        }
    }
    return overrides;
}

}  // namespace sim::account
