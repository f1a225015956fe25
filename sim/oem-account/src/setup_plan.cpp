// SPDX-License-Identifier: Apache-2.0
#include "sim/oem_account/setup_plan.hpp"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "sim/account/template.hpp"

namespace sim::oem_account {

namespace {

using nlohmann::json;

bool AllOf(std::string_view text, std::string_view allowed_punctuation) {
    return std::all_of(text.begin(), text.end(), [&](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u < 0x80 && std::isalnum(u) != 0) ||
               allowed_punctuation.find(c) != std::string_view::npos;
    });
}

std::string Arn(const SetupOptions& options, std::string_view resource) {
    return "arn:aws:iot:" + options.region + ":" + options.account_id + ":" +
           std::string(resource);
}

}  // namespace

const char* ToString(SetupVariant variant) noexcept {
    switch (variant) {
        case SetupVariant::kComplete:
            return "complete";
        case SetupVariant::kWithoutCa:
            return "without-ca";
        case SetupVariant::kWithoutAutoRegistration:
            return "without-auto-registration";
        case SetupVariant::kWithoutTemplate:
            return "without-template";
    }
    return "?";
}

sim::Status ValidateSetupOptions(const SetupOptions& options) {
    auto bad = [](const std::string& message) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument, message);
    };
    if (options.account_id.size() != 12 ||
        options.account_id.find_first_not_of("0123456789") != std::string::npos) {
        return bad("account_id: '" + options.account_id + "' is not 12 digits");
    }
    if (options.region.empty() || options.region.size() > 32 || !AllOf(options.region, "-")) {
        return bad("region: '" + options.region + "' is not a region name");
    }
    // Appendix C step 5b: "up to 36 characters ... A-Z, a-z, 0-9, and _ (underscore) and -".
    if (options.template_name.empty() || options.template_name.size() > 36 ||
        !AllOf(options.template_name, "_-")) {
        return bad("template_name: '" + options.template_name +
                   "' must be 1-36 of A-Z a-z 0-9 _ -");
    }
    // Appendix C step 12: "alphanumeric ... period, comma, hyphen, underscore, plus sign, equal
    // sign, and at sign ... but no spaces"; AWS limits the length to 128.
    if (options.policy_name.empty() || options.policy_name.size() > 128 ||
        !AllOf(options.policy_name, ".,-_+=@")) {
        return bad("policy_name: '" + options.policy_name +
                   "' must be 1-128 of A-Z a-z 0-9 . , - _ + = @");
    }
    if (options.role_name.empty() || options.role_name.size() > 64 ||
        !AllOf(options.role_name, "+=,.@_-")) {
        return bad("role_name: '" + options.role_name + "' is not an IAM role name");
    }
    return {};
}

std::string DevicePolicyDocument(const SetupOptions& options) {
    const std::string thing = "${iot:Connection.Thing.ThingName}";
    json document = {
        {"Version", "2012-10-17"},
        {"Statement",
         json::array({
             {{"Effect", "Allow"},
              {"Action", "iot:Connect"},
              {"Resource", Arn(options, "client/" + thing)}},
             {{"Effect", "Allow"},
              {"Action", json::array({"iot:Publish", "iot:Receive"})},
              {"Resource", json::array({Arn(options, "topic/" + thing + "/*"),
                                        Arn(options, "topic/$aws/things/" + thing + "/*")})}},
             {{"Effect", "Allow"},
              {"Action", "iot:Subscribe"},
              {"Resource",
               json::array({Arn(options, "topicfilter/" + thing + "/*"),
                            Arn(options, "topicfilter/$aws/things/" + thing + "/*")})}},
         })},
    };
    return document.dump();
}

std::string JitpTemplateBody(const SetupOptions& options) {
    // The shape of the JITP template the console wizard of Appendix C builds; one builder for
    // the whole project (sim/account/template.hpp).
    return account::JitpTemplateBody(account::JitpTemplatePolicy::Named(options.policy_name));
}

std::string ProvisioningRoleArn(const SetupOptions& options) {
    // Not emulated: IAM. Appendix C steps 6-7 create a role with the managed policies
    // AWSIoTThingsRegistration, AWSIoTLogging and AWSIoTRuleActions; here it is only named.
    return "arn:aws:iam::" + options.account_id + ":role/" + options.role_name;
}

bool SameJson(std::string_view a, std::string_view b) {
    const json left = json::parse(a, nullptr, false);
    const json right = json::parse(b, nullptr, false);
    return !left.is_discarded() && !right.is_discarded() && left == right;
}

}  // namespace sim::oem_account
