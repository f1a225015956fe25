// SPDX-License-Identifier: Apache-2.0
// Parsing and validating IoT policy documents (AWS IoT Core Developer Guide, 'AWS IoT Core
// policies', 'AWS IoT Core policy actions', 'AWS IoT Core action resources'). Validation happens
// once, at CreatePolicy; the result is compiled so that Evaluate does no parsing.
#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <set>
#include <string>

#include "policy_text.hpp"
#include <arpa/inet.h>
#include <nlohmann/json.hpp>

#include "sim/account/policy.hpp"

namespace sim::account {
namespace {

using detail::IEndsWith;
using detail::IEquals;
using detail::IStartsWith;
using Json = nlohmann::json;

constexpr std::string_view kVersion2012 = "2012-10-17";
constexpr std::string_view kVersion2008 = "2008-10-17";

constexpr std::array<std::string_view, kKnownActionCount> kActionNames = {
    "iot:Connect",
    "iot:Publish",
    "iot:RetainPublish",
    "iot:Subscribe",
    "iot:Receive",
    "iot:GetRetainedMessage",
    "iot:ListRetainedMessages",
};

// Concatenates message parts without temporaries (error paths only).
template <class... Parts>
std::string Cat(const Parts&... parts) {
    std::string out;
    (out.append(std::string_view(parts)), ...);
    return out;
}

sim::Unexpected<sim::Error> Malformed(std::string message) {
    return sim::MakeError(sim::ErrorCode::kInvalidArgument, std::move(message));
}

// Short, one-line rendering of a JSON value for messages.
std::string Describe(const Json& value) {
    std::string text = value.dump();
    constexpr std::size_t kMax = 60;
    if (text.size() > kMax) {
        text.resize(kMax);
        text += "...";
    }
    return text;
}

bool IsJsonWhitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// "*" or "<service>:<action>" with exactly one colon (IAM: "Actions/Condition can contain only
// one colon").
bool ValidActionName(std::string_view action) {
    if (action == "*") {
        return true;
    }
    const auto colon = action.find(':');
    return colon != std::string_view::npos && colon > 0 && colon + 1 < action.size() &&
           action.find(':', colon + 1) == std::string_view::npos;
}

// "*" or an ARN "arn:<partition>:<service>:<region>:<account>:<resource>" (AWS answers
// "The following resources are invalid" otherwise). Wildcards may stand in any field.
bool ValidResource(std::string_view resource) {
    if (resource == "*") {
        return true;
    }
    if (!resource.starts_with("arn:")) {
        return false;
    }
    return std::count(resource.begin(), resource.end(), ':') >= 5 ||
           resource.find('*') != std::string_view::npos;
}

// A string or a non-empty array of strings, as IAM allows for Action/Resource.
sim::Result<std::vector<std::string>> StringList(const Json& value, const std::string& where) {
    std::vector<std::string> out;
    if (value.is_string()) {
        out.push_back(value.get<std::string>());
        return out;
    }
    if (!value.is_array()) {
        return Malformed(where + ": must be a string or an array of strings, got " +
                         Describe(value));
    }
    if (value.empty()) {
        return Malformed(where + ": must not be an empty array");
    }
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (!value[i].is_string()) {
            return Malformed(where + "[" + std::to_string(i) + "]: must be a string, got " +
                             Describe(value[i]));
        }
        out.push_back(value[i].get<std::string>());
    }
    return out;
}

// Condition values: strings, booleans or numbers (IAM accepts `true` for "true"), alone or in
// a non-empty array.
sim::Result<std::vector<std::string>> ConditionValues(const Json& value, const std::string& where) {
    auto scalar = [](const Json& item, std::string& out) {
        if (item.is_string()) {
            out = item.get<std::string>();
            return true;
        }
        if (item.is_boolean() || item.is_number()) {
            out = item.dump();
            return true;
        }
        return false;
    };
    std::vector<std::string> out;
    std::string text;
    if (scalar(value, text)) {
        out.push_back(text);
        return out;
    }
    if (!value.is_array() || value.empty()) {
        return Malformed(where +
                         ": must be a string, boolean, number or a non-empty array of "
                         "them, got " +
                         Describe(value));
    }
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (!scalar(value[i], text)) {
            return Malformed(where + "[" + std::to_string(i) +
                             "]: must be a string, boolean "
                             "or number, got " +
                             Describe(value[i]));
        }
        out.push_back(text);
    }
    return out;
}

bool ParseCidr(std::string_view text, PolicyCondition::Cidr& cidr) {
    std::string address(text);
    int prefix = -1;
    if (const auto slash = text.find('/'); slash != std::string_view::npos) {
        address = std::string(text.substr(0, slash));
        const std::string_view bits = text.substr(slash + 1);
        const auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
        if (ec != std::errc() || end != bits.data() + bits.size() || prefix < 0) {
            return false;
        }
    }
    // inet_pton is a pure conversion (no I/O); it accepts only canonical dotted quads.
    if (inet_pton(AF_INET, address.c_str(), cidr.bytes.data()) == 1) {
        cidr.length = 4;
    } else if (inet_pton(AF_INET6, address.c_str(), cidr.bytes.data()) == 1) {
        cidr.length = 16;
    } else {
        return false;
    }
    const int max_bits = cidr.length * 8;
    if (prefix > max_bits) {
        return false;
    }
    cidr.prefix_bits = static_cast<std::uint8_t>(prefix < 0 ? max_bits : prefix);
    return true;
}

struct OperatorName {
    std::string_view name;
    ConditionOperator op;
    PolicyPattern::Wildcards wildcards;
};

// IAM condition operators emulated here. Arn* operators match like String{Like,NotLike}
// (IAM: ArnEquals and ArnLike behave identically).
constexpr std::array<OperatorName, 14> kOperators = {{
    {"StringEquals", ConditionOperator::kStringEquals, PolicyPattern::Wildcards::kLiteral},
    {"StringNotEquals", ConditionOperator::kStringNotEquals, PolicyPattern::Wildcards::kLiteral},
    {"StringEqualsIgnoreCase", ConditionOperator::kStringEqualsIgnoreCase,
     PolicyPattern::Wildcards::kLiteral},
    {"StringNotEqualsIgnoreCase", ConditionOperator::kStringNotEqualsIgnoreCase,
     PolicyPattern::Wildcards::kLiteral},
    {"StringLike", ConditionOperator::kStringLike, PolicyPattern::Wildcards::kEnabled},
    {"StringNotLike", ConditionOperator::kStringNotLike, PolicyPattern::Wildcards::kEnabled},
    {"ArnEquals", ConditionOperator::kStringLike, PolicyPattern::Wildcards::kEnabled},
    {"ArnLike", ConditionOperator::kStringLike, PolicyPattern::Wildcards::kEnabled},
    {"ArnNotEquals", ConditionOperator::kStringNotLike, PolicyPattern::Wildcards::kEnabled},
    {"ArnNotLike", ConditionOperator::kStringNotLike, PolicyPattern::Wildcards::kEnabled},
    {"Bool", ConditionOperator::kBool, PolicyPattern::Wildcards::kLiteral},
    {"IpAddress", ConditionOperator::kIpAddress, PolicyPattern::Wildcards::kLiteral},
    {"NotIpAddress", ConditionOperator::kNotIpAddress, PolicyPattern::Wildcards::kLiteral},
    {"Null", ConditionOperator::kNull, PolicyPattern::Wildcards::kLiteral},
}};

sim::Status ParseConditions(const Json& block, const std::string& where,
                            PolicyPattern::Variables variables, PolicyStatement& statement) {
    if (!block.is_object()) {
        return Malformed(where + ": must be an object, got " + Describe(block));
    }
    for (const auto& [operator_text, keys] : block.items()) {
        const std::string operator_where = Cat(where, ".", operator_text);
        if (!keys.is_object() || keys.empty()) {
            return Malformed(operator_where + ": must be a non-empty object of condition keys");
        }
        std::string_view name = operator_text;
        PolicyCondition::SetQualifier qualifier = PolicyCondition::SetQualifier::kNone;
        if (IStartsWith(name, "ForAnyValue:")) {
            qualifier = PolicyCondition::SetQualifier::kForAnyValue;
            name.remove_prefix(std::string_view("ForAnyValue:").size());
        } else if (IStartsWith(name, "ForAllValues:")) {
            qualifier = PolicyCondition::SetQualifier::kForAllValues;
            name.remove_prefix(std::string_view("ForAllValues:").size());
        }
        bool if_exists = false;
        if (IEndsWith(name, "IfExists")) {
            if_exists = true;
            name.remove_suffix(std::string_view("IfExists").size());
        }
        ConditionOperator op = ConditionOperator::kUnsupported;
        PolicyPattern::Wildcards wildcards = PolicyPattern::Wildcards::kLiteral;
        for (const auto& candidate : kOperators) {
            if (IEquals(name, candidate.name)) {
                op = candidate.op;
                wildcards = candidate.wildcards;
                break;
            }
        }
        if (name.empty()) {
            return Malformed(operator_where + ": not a condition operator");
        }
        for (const auto& [key_text, value] : keys.items()) {
            const std::string key_where = Cat(operator_where, ".", key_text);
            if (key_text.empty()) {
                return Malformed(operator_where + ": empty condition key");
            }
            auto values = ConditionValues(value, key_where);
            if (!values) {
                return sim::Unexpected<sim::Error>(std::move(values).error());
            }
            PolicyCondition condition;
            condition.operator_text = operator_text;
            condition.op = op;
            condition.qualifier = qualifier;
            condition.if_exists = if_exists;
            condition.key_text = key_text;
            condition.key = PolicyVariable::Parse(key_text);
            for (const std::string& text : *values) {
                condition.values.push_back(PolicyPattern::Compile(text, variables, wildcards));
                if (op == ConditionOperator::kIpAddress || op == ConditionOperator::kNotIpAddress) {
                    PolicyCondition::Cidr cidr;
                    if (ParseCidr(text, cidr)) {
                        condition.cidrs.push_back(cidr);
                    }
                }
            }
            statement.conditions.push_back(std::move(condition));
        }
    }
    return {};
}

sim::Result<PolicyStatement> ParseStatement(const Json& json, const std::string& where,
                                            PolicyPattern::Variables variables) {
    if (!json.is_object()) {
        return Malformed(where + ": must be an object, got " + Describe(json));
    }
    static const std::set<std::string, std::less<>> kKnownElements = {
        "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"};
    for (const auto& [element, unused] : json.items()) {
        if (!kKnownElements.contains(element)) {
            // Assumed: AWS IoT policies are identity-based, so Principal is rejected like any
            // other unknown element.
            return Malformed(Cat(where, ".", element, ": unknown policy element"));
        }
    }
    PolicyStatement statement;
    if (const auto sid = json.find("Sid"); sid != json.end()) {
        if (!sid->is_string()) {
            return Malformed(where + ".Sid: must be a string, got " + Describe(*sid));
        }
        statement.sid = sid->get<std::string>();
    }
    const auto effect = json.find("Effect");
    if (effect == json.end()) {
        return Malformed(where + ".Effect: missing");
    }
    if (!effect->is_string() ||
        (effect->get<std::string>() != "Allow" && effect->get<std::string>() != "Deny")) {
        return Malformed(
            Cat(where, R"(.Effect: must be "Allow" or "Deny", got )", Describe(*effect)));
    }
    statement.effect =
        effect->get<std::string>() == "Allow" ? PolicyEffect::kAllow : PolicyEffect::kDeny;

    const bool has_action = json.contains("Action");
    const bool has_not_action = json.contains("NotAction");
    if (has_action == has_not_action) {
        return Malformed(where + ": exactly one of Action and NotAction is required");
    }
    statement.not_action = has_not_action;
    const char* action_element = has_action ? "Action" : "NotAction";
    auto actions = StringList(json.at(action_element), where + "." + action_element);
    if (!actions) {
        return sim::Unexpected<sim::Error>(std::move(actions).error());
    }
    for (const std::string& action : *actions) {
        if (!ValidActionName(action)) {
            return Malformed(Cat(where, ".", action_element, R"(: invalid action ")", action,
                                 R"(" (expected "*" or "<service>:<action>"))"));
        }
        statement.actions.push_back(PolicyPattern::Compile(
            action, PolicyPattern::Variables::kLiteral, PolicyPattern::Wildcards::kEnabled));
    }
    // Precompute the element's verdict for every known action (hot path: one bit test).
    static const ClientIdentity kNobody;
    for (std::size_t i = 0; i < kKnownActionCount; ++i) {
        bool listed = false;
        for (const PolicyPattern& pattern : statement.actions) {
            listed = listed || pattern.Matches(kActionNames[i], kNobody, /*ignore_case=*/true);
        }
        if (listed != statement.not_action) {
            statement.known_action_mask |= (1U << i);
        }
    }

    const bool has_resource = json.contains("Resource");
    const bool has_not_resource = json.contains("NotResource");
    if (has_resource == has_not_resource) {
        return Malformed(where + ": exactly one of Resource and NotResource is required");
    }
    statement.not_resource = has_not_resource;
    const char* resource_element = has_resource ? "Resource" : "NotResource";
    auto resources = StringList(json.at(resource_element), where + "." + resource_element);
    if (!resources) {
        return sim::Unexpected<sim::Error>(std::move(resources).error());
    }
    for (const std::string& resource : *resources) {
        if (!ValidResource(resource)) {
            return Malformed(Cat(where, ".", resource_element, R"(: invalid resource ")", resource,
                                 R"(" (expected "*" or an ARN))"));
        }
        statement.resources.push_back(
            PolicyPattern::Compile(resource, variables, PolicyPattern::Wildcards::kEnabled));
    }

    if (const auto condition = json.find("Condition"); condition != json.end()) {
        auto status = ParseConditions(*condition, where + ".Condition", variables, statement);
        if (!status) {
            return sim::Unexpected<sim::Error>(std::move(status).error());
        }
    }
    return statement;
}

}  // namespace

std::string_view ActionName(Action action) noexcept {
    const auto index = static_cast<std::size_t>(action);
    return index < kKnownActionCount ? kActionNames[index] : std::string_view();
}

Action ParseAction(std::string_view name) noexcept {
    for (std::size_t i = 0; i < kKnownActionCount; ++i) {
        if (IEquals(name, kActionNames[i])) {
            return static_cast<Action>(i);
        }
    }
    return Action::kOther;
}

std::string IotResourceArn(std::string_view region, std::string_view account_id,
                           std::string_view type, std::string_view name) {
    std::string arn;
    arn.reserve(12 + region.size() + account_id.size() + type.size() + name.size() + 3);
    arn.append("arn:aws:iot:").append(region).append(":").append(account_id).append(":");
    arn.append(type).append("/").append(name);
    return arn;
}

std::string ClientArn(std::string_view region, std::string_view account_id,
                      std::string_view client_id) {
    return IotResourceArn(region, account_id, "client", client_id);
}

std::string TopicArn(std::string_view region, std::string_view account_id, std::string_view topic) {
    return IotResourceArn(region, account_id, "topic", topic);
}

std::string TopicFilterArn(std::string_view region, std::string_view account_id,
                           std::string_view topic_filter) {
    return IotResourceArn(region, account_id, "topicfilter", topic_filter);
}

sim::Status ValidatePolicyDocumentSize(std::string_view json) {
    const auto count = static_cast<std::size_t>(
        std::count_if(json.begin(), json.end(), [](char c) { return !IsJsonWhitespace(c); }));
    if (count > kMaxPolicyDocumentChars) {
        return Malformed("policyDocument: " + std::to_string(count) +
                         " characters excluding whitespace exceed the limit of " +
                         std::to_string(kMaxPolicyDocumentChars));
    }
    return {};
}

sim::Result<PolicyDocument> ParsePolicyDocument(std::string_view json) {
    // Size first: it also bounds the nesting depth the JSON parser can meet.
    if (auto size = ValidatePolicyDocumentSize(json); !size) {
        return sim::Unexpected<sim::Error>(std::move(size).error());
    }
    const Json root = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded()) {
        return Malformed("policyDocument: not valid JSON");
    }
    if (!root.is_object()) {
        return Malformed("policyDocument: must be a JSON object, got " + Describe(root));
    }
    for (const auto& [element, unused] : root.items()) {
        if (element != "Version" && element != "Statement" && element != "Id") {
            return Malformed(element + ": unknown policy element");
        }
    }
    PolicyDocument document;
    document.version = std::string(kVersion2008);  // IAM's default when Version is absent
    if (const auto version = root.find("Version"); version != root.end()) {
        if (!version->is_string() || (version->get<std::string>() != kVersion2012 &&
                                      version->get<std::string>() != kVersion2008)) {
            return Malformed(R"(Version: must be "2012-10-17" or "2008-10-17", got )" +
                             Describe(*version));
        }
        document.version = version->get<std::string>();
    }
    if (const auto id = root.find("Id"); id != root.end() && !id->is_string()) {
        return Malformed("Id: must be a string, got " + Describe(*id));
    }
    // IAM: policy variables are substituted only in 2012-10-17 documents.
    const auto variables = document.version == kVersion2012 ? PolicyPattern::Variables::kSubstitute
                                                            : PolicyPattern::Variables::kLiteral;
    const auto statements = root.find("Statement");
    if (statements == root.end()) {
        return Malformed("Statement: missing");
    }
    if (statements->is_object()) {
        auto statement = ParseStatement(*statements, "Statement", variables);
        if (!statement) {
            return sim::Unexpected<sim::Error>(std::move(statement).error());
        }
        document.statements.push_back(std::move(*statement));
        return document;
    }
    if (!statements->is_array()) {
        return Malformed("Statement: must be an object or an array of objects, got " +
                         Describe(*statements));
    }
    if (statements->empty()) {
        return Malformed("Statement: must not be empty");
    }
    for (std::size_t i = 0; i < statements->size(); ++i) {
        auto statement =
            ParseStatement((*statements)[i], "Statement[" + std::to_string(i) + "]", variables);
        if (!statement) {
            return sim::Unexpected<sim::Error>(std::move(statement).error());
        }
        document.statements.push_back(std::move(*statement));
    }
    return document;
}

std::vector<NamedPolicy> EffectivePolicies(std::span<const NamedPolicy> certificate_policies,
                                           std::span<const NamedPolicy> thing_group_policies) {
    std::vector<NamedPolicy> effective;
    effective.reserve(certificate_policies.size() + thing_group_policies.size());
    auto add = [&effective](const NamedPolicy& policy) {
        const bool seen = std::any_of(effective.begin(), effective.end(),
                                      [&](const NamedPolicy& p) { return p.name == policy.name; });
        if (!seen) {
            effective.push_back(policy);
        }
    };
    for (const NamedPolicy& policy : certificate_policies) {
        add(policy);
    }
    for (const NamedPolicy& policy : thing_group_policies) {
        add(policy);
    }
    return effective;
}

}  // namespace sim::account
