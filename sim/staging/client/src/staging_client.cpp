// SPDX-License-Identifier: Apache-2.0
// Staging operator calls over the control-plane REST API (AWS IoT rest-json, botocore names).
#include "sim/staging/staging_client.hpp"

#include "sim/staging/staging.hpp"

namespace sim::staging {

namespace {

using controlplane::AwsClient;
using controlplane::AwsErrorReply;
using nlohmann::json;

sim::Unexpected<Error> Failed(const std::string& operation, const AwsErrorReply& reply) {
    const ErrorCode code = reply.status == 0 ? ErrorCode::kUnavailable
                           : reply.type == "ResourceAlreadyExistsException"
                               ? ErrorCode::kAlreadyExists
                               : ErrorCode::kFailedPrecondition;
    return sim::MakeError(code, operation + ": " + reply.type + ": " + reply.message);
}

std::string Str(const json& object, const char* key) {
    const auto found = object.find(key);
    return found != object.end() && found->is_string() ? found->get<std::string>() : std::string{};
}

}  // namespace

sim::Result<OemRecord> RegisterOemRemote(AwsClient& client, const OemRegistrationPlan& plan,
                                         const std::string& region,
                                         const std::string& account_id) {
    const std::string type(kClaimThingType);
    const std::string policy(kClaimPolicyName);
    // The account's set-up (idempotent): the claim thing type and policy.
    if (auto got = client.Call("GET", AwsClient::Path({"thing-types", type})); !got) {
        if (got.error().status != 404) {
            return Failed("DescribeThingType " + type, got.error());
        }
        auto made = client.Call("POST", AwsClient::Path({"thing-types", type}), {},
                                json::object());
        if (!made) {
            return Failed("CreateThingType " + type, made.error());
        }
    }
    if (auto got = client.Call("GET", AwsClient::Path({"policies", policy})); !got) {
        if (got.error().status != 404) {
            return Failed("GetPolicy " + policy, got.error());
        }
        auto made = client.Call("POST", AwsClient::Path({"policies", policy}), {},
                                json{{"policyDocument", ClaimThingPolicyDocument(region, account_id)}});
        if (!made) {
            return Failed("CreatePolicy " + policy, made.error());
        }
    }
    auto registered = client.Call(
        "POST", "/certificate/register-no-ca", {},
        json{{"certificatePem", plan.certificate.pem}, {"status", "ACTIVE"}});
    if (!registered) {
        return Failed("RegisterCertificateWithoutCA", registered.error());
    }
    const std::string arn = Str(*registered, "certificateArn");
    const std::string id = Str(*registered, "certificateId");
    const std::string& uuid = plan.record.uuid;
    bool thing_made = false;
    bool principal_attached = false;
    // Undoes what was made, in reverse order, and answers with the first error; a step of the
    // undo that fails is named after it, so the operator knows what is left in the account.
    auto undo = [&](sim::Unexpected<Error> failure) -> sim::Unexpected<Error> {
        std::string left;
        auto step = [&](const std::string& name, const auto& done) {
            if (!done) {
                left += (left.empty() ? "" : ", ") + name + " (" + done.error().type + ": " +
                        done.error().message + ")";
            }
        };
        if (principal_attached) {
            step("DetachThingPrincipal",
                 client.Call("DELETE", AwsClient::Path({"things", uuid, "principals"}), {},
                             nullptr, {{"x-amzn-principal", arn}}));
        }
        if (thing_made) {
            step("DeleteThing " + uuid, client.Call("DELETE", AwsClient::Path({"things", uuid})));
        }
        step("UpdateCertificate " + id + " INACTIVE",
             client.Call("PUT", AwsClient::Path({"certificates", id}),
                         {{"newStatus", "INACTIVE"}}));
        step("DeleteCertificate " + id, client.Call("DELETE", AwsClient::Path({"certificates", id}),
                                                    {{"forceDelete", "true"}}));
        if (left.empty()) {
            return failure;
        }
        Error error = failure.error();
        error.message += "; undoing it failed too: " + left;
        return sim::Unexpected<Error>(std::move(error));
    };
    const json thing_body = {
        {"thingTypeName", type},
        {"attributePayload",
         {{"attributes", {{std::string(attribute::kOemName), plan.record.oem_name}}}}}};
    if (auto made = client.Call("POST", AwsClient::Path({"things", uuid}), {}, thing_body);
        !made) {
        return undo(Failed("CreateThing " + uuid, made.error()));
    }
    thing_made = true;
    if (auto attached = client.Call("PUT", AwsClient::Path({"things", uuid, "principals"}), {},
                                    nullptr, {{"x-amzn-principal", arn}});
        !attached) {
        return undo(Failed("AttachThingPrincipal", attached.error()));
    }
    principal_attached = true;
    if (auto attached = client.Call("PUT", AwsClient::Path({"target-policies", policy}), {},
                                    json{{"target", arn}});
        !attached) {
        return undo(Failed("AttachPolicy " + policy, attached.error()));
    }
    OemRecord record = plan.record;
    record.certificate_id = id.empty() ? record.certificate_id : id;
    return record;
}

sim::Result<std::vector<ThingRecord>> ListStagingThings(AwsClient& client) {
    std::vector<ThingRecord> things;
    std::string token;
    for (int page = 0; page < 10'000; ++page) {
        controlplane::QueryParams query{{"maxResults", "250"}};
        if (!token.empty()) {
            query.emplace_back("nextToken", token);
        }
        auto reply = client.Call("GET", "/things", query);
        if (!reply) {
            return Failed("ListThings", reply.error());
        }
        const auto list = reply->find("things");
        if (list == reply->end() || !list->is_array()) {
            return sim::MakeError(ErrorCode::kInternal, "ListThings: reply has no things[]");
        }
        for (const auto& item : *list) {
            ThingRecord record;
            record.thing_name = Str(item, "thingName");
            record.thing_type_name = Str(item, "thingTypeName");
            if (const auto attributes = item.find("attributes");
                attributes != item.end() && attributes->is_object()) {
                for (const auto& [key, value] : attributes->items()) {
                    if (value.is_string()) {
                        record.attributes[key] = value.get<std::string>();
                    }
                }
            }
            things.push_back(std::move(record));
        }
        token = Str(*reply, "nextToken");
        if (token.empty()) {
            return things;
        }
    }
    return sim::MakeError(ErrorCode::kInternal, "ListThings: more than 10000 pages");
}

}  // namespace sim::staging
