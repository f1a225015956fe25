// SPDX-License-Identifier: Apache-2.0
// Provisioning-template evaluation (AWS IoT Core Developer Guide, 'Provisioning templates').
// Order: parse → resolve parameters (given values over Defaults; a declared parameter with
// neither fails the run, as in 'Just-in-time provisioning') → evaluate every resource's
// Properties with the intrinsic functions → DeviceConfiguration. Nothing here reads the
// registry: Registry::RunTemplate checks names and existence afterwards.

#include "sim/account/template.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <set>
#include <utility>

#include "registry_internal.hpp"
#include <nlohmann/json.hpp>

namespace sim::account {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxTemplateBody = 10240;  // botocore TemplateBody max

struct Failure {
    std::string message;
};

std::string Upper(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return out;
}

/// Evaluates intrinsic functions. Errors are collected as a Failure message naming `where`.
class Evaluator {
public:
    Evaluator(const json& mappings, const std::map<std::string, std::string>& parameters)
        : mappings_(mappings), parameters_(parameters) {}

    sim::Result<json, Failure> Eval(const json& value, const std::string& where) const {
        if (value.is_object() && value.size() == 1) {
            const auto first = value.begin();  // items() would hand out a dangling proxy
            const std::string& key = first.key();
            const json& argument = first.value();
            if (key == "Ref") {
                return Ref(argument, where);
            }
            if (key.rfind("Fn::", 0) == 0) {
                return Function(key, argument, where);
            }
        }
        if (value.is_object()) {
            json out = json::object();
            for (const auto& [key, member] : value.items()) {
                auto evaluated = Eval(member, internal::StrCat({where, ".", key}));
                if (!evaluated) {
                    return evaluated;
                }
                out[key] = std::move(*evaluated);
            }
            return out;
        }
        if (value.is_array()) {
            json out = json::array();
            for (std::size_t i = 0; i < value.size(); ++i) {
                auto evaluated = Eval(value[i], where + "[" + std::to_string(i) + "]");
                if (!evaluated) {
                    return evaluated;
                }
                out.push_back(std::move(*evaluated));
            }
            return out;
        }
        return value;
    }

    sim::Result<std::string, Failure> EvalString(const json& value,
                                                 const std::string& where) const {
        auto evaluated = Eval(value, where);
        if (!evaluated) {
            return sim::Unexpected<Failure>(evaluated.error());
        }
        if (!evaluated->is_string()) {
            return Error(where + ": expected a string");
        }
        return evaluated->get<std::string>();
    }

private:
    static sim::Unexpected<Failure> Error(std::string message) {
        return sim::Unexpected<Failure>(Failure{std::move(message)});
    }

    sim::Result<json, Failure> Ref(const json& argument, const std::string& where) const {
        if (!argument.is_string()) {
            return Error(where + ": Ref takes a parameter name");
        }
        const auto name = argument.get<std::string>();
        const auto found = parameters_.find(name);
        if (found == parameters_.end()) {
            return Error(where + ": Ref to unknown parameter " + name);
        }
        return json(found->second);
    }

    sim::Result<json, Failure> Function(const std::string& name, const json& argument,
                                        const std::string& where) const {
        const std::string at = where + ": " + name;
        if (name == "Fn::Join") {
            if (!argument.is_array() || argument.size() != 2 || !argument[0].is_string()) {
                return Error(at + " takes [delimiter, [values]]");
            }
            auto list = Eval(argument[1], where);
            if (!list) {
                return list;
            }
            if (!list->is_array()) {
                return Error(at + " takes [delimiter, [values]]");
            }
            std::string joined;
            const auto delimiter = argument[0].get<std::string>();
            for (std::size_t i = 0; i < list->size(); ++i) {
                if (!(*list)[i].is_string()) {
                    return Error(at + ": value " + std::to_string(i) + " is not a string");
                }
                if (i > 0) {
                    joined += delimiter;
                }
                joined += (*list)[i].get<std::string>();
            }
            return json(joined);
        }
        if (name == "Fn::Select") {
            if (!argument.is_array() || argument.size() != 2) {
                return Error(at + " takes [index, [values]]");
            }
            auto index_value = Eval(argument[0], where);
            if (!index_value) {
                return index_value;
            }
            std::size_t index = 0;
            if (index_value->is_number_unsigned()) {
                index = index_value->get<std::size_t>();
            } else if (index_value->is_string() && !index_value->get<std::string>().empty() &&
                       std::all_of(index_value->get_ref<const std::string&>().begin(),
                                   index_value->get_ref<const std::string&>().end(),
                                   [](unsigned char c) { return std::isdigit(c) != 0; }) &&
                       index_value->get_ref<const std::string&>().size() < 9) {
                index = static_cast<std::size_t>(std::stoul(index_value->get<std::string>()));
            } else {
                return Error(at + ": index must be a non-negative integer");
            }
            auto list = Eval(argument[1], where);
            if (!list) {
                return list;
            }
            if (!list->is_array()) {
                return Error(at + " takes [index, [values]]");
            }
            if (index >= list->size()) {
                return Error(at + ": index " + std::to_string(index) + " out of range (" +
                             std::to_string(list->size()) + " values)");
            }
            return (*list)[index];
        }
        if (name == "Fn::Split") {
            if (!argument.is_array() || argument.size() != 2 || !argument[0].is_string() ||
                argument[0].get<std::string>().empty()) {
                return Error(at + " takes [delimiter, string]");
            }
            auto source = EvalString(argument[1], where);
            if (!source) {
                return sim::Unexpected<Failure>(source.error());
            }
            const auto delimiter = argument[0].get<std::string>();
            json parts = json::array();
            std::size_t start = 0;
            while (true) {
                const auto next = source->find(delimiter, start);
                if (next == std::string::npos) {
                    parts.push_back(source->substr(start));
                    break;
                }
                parts.push_back(source->substr(start, next - start));
                start = next + delimiter.size();
            }
            return parts;
        }
        if (name == "Fn::Sub") {
            return Sub(argument, where, at);
        }
        if (name == "Fn::FindInMap") {
            if (!argument.is_array() || argument.size() != 3) {
                return Error(at + " takes [map, top-level key, second-level key]");
            }
            std::array<std::string, 3> keys;
            for (std::size_t i = 0; i < 3; ++i) {
                auto key = EvalString(argument[i], where);
                if (!key) {
                    return sim::Unexpected<Failure>(key.error());
                }
                keys[i] = std::move(*key);
            }
            if (!mappings_.is_object() || !mappings_.contains(keys[0])) {
                return Error(at + ": no mapping " + keys[0]);
            }
            const auto& map = mappings_[keys[0]];
            if (!map.is_object() || !map.contains(keys[1]) || !map[keys[1]].is_object()) {
                return Error(at + ": mapping " + keys[0] + " has no key " + keys[1]);
            }
            const auto& level = map[keys[1]];
            if (!level.contains(keys[2])) {
                return Error(at + ": mapping " + keys[0] + "." + keys[1] + " has no key " +
                             keys[2]);
            }
            return level[keys[2]];
        }
        return Error(where + ": unsupported function " + name);
    }

    // Fn::Sub: "text ${Name} text" or ["text ${Var}", {"Var": value}]; "${!Literal}" keeps
    // "${Literal}" (CloudFormation's escape, which the IoT template language borrows).
    sim::Result<json, Failure> Sub(const json& argument, const std::string& where,
                                   const std::string& at) const {
        std::string text;
        std::map<std::string, std::string> variables;
        if (argument.is_string()) {
            text = argument.get<std::string>();
        } else if (argument.is_array() && argument.size() == 2 && argument[0].is_string() &&
                   argument[1].is_object()) {
            text = argument[0].get<std::string>();
            for (const auto& [key, value] : argument[1].items()) {
                auto evaluated = EvalString(value, internal::StrCat({where, ".Fn::Sub.", key}));
                if (!evaluated) {
                    return sim::Unexpected<Failure>(evaluated.error());
                }
                variables[key] = std::move(*evaluated);
            }
        } else {
            return Error(at + " takes a string or [string, {variables}]");
        }
        std::string out;
        std::size_t pos = 0;
        while (pos < text.size()) {
            const auto open = text.find("${", pos);
            if (open == std::string::npos) {
                out += text.substr(pos);
                break;
            }
            out += text.substr(pos, open - pos);
            const auto close = text.find('}', open + 2);
            if (close == std::string::npos) {
                return Error(internal::StrCat({at, ": unterminated ${ in \"", text, "\""}));
            }
            const auto name = text.substr(open + 2, close - open - 2);
            if (!name.empty() && name[0] == '!') {
                out += "${" + name.substr(1) + "}";
            } else if (const auto var = variables.find(name); var != variables.end()) {
                out += var->second;
            } else if (const auto param = parameters_.find(name); param != parameters_.end()) {
                out += param->second;
            } else {
                return Error(internal::StrCat({at, ": unknown variable ${", name, "}"}));
            }
            pos = close + 1;
        }
        return json(out);
    }

    const json& mappings_;
    const std::map<std::string, std::string>& parameters_;
};

sim::Result<std::map<std::string, OverrideAction>, Failure> ReadOverrides(
    const json& resource, const std::string& where, const std::set<std::string>& allowed) {
    std::map<std::string, OverrideAction> out;
    if (!resource.contains("OverrideSettings")) {
        return out;
    }
    const auto& settings = resource["OverrideSettings"];
    if (!settings.is_object()) {
        return sim::Unexpected<Failure>(Failure{where + ".OverrideSettings: expected an object"});
    }
    for (const auto& [key, value] : settings.items()) {
        if (allowed.count(key) == 0) {
            return sim::Unexpected<Failure>(
                Failure{internal::StrCat({where, ".OverrideSettings: unsupported key ", key})});
        }
        const auto action =
            value.is_string() ? ParseOverrideAction(value.get<std::string>()) : std::nullopt;
        if (!action) {
            return sim::Unexpected<Failure>(
                Failure{internal::StrCat({where, ".OverrideSettings.", key,
                                          ": expected DO_NOTHING, REPLACE, FAIL or MERGE"})});
        }
        // MERGE applies to ThingGroups and AttributePayload only (provision-template.md).
        if (*action == OverrideAction::kMerge && key != "ThingGroups" &&
            key != "AttributePayload") {
            return sim::Unexpected<Failure>(Failure{
                internal::StrCat({where, ".OverrideSettings.", key, ": MERGE is not allowed"})});
        }
        out[key] = *action;
    }
    return out;
}

using PropertyResult = sim::Result<std::optional<std::string>, Failure>;

PropertyResult OptionalString(const Evaluator& evaluator, const json& properties,
                              const std::string& name, const std::string& where) {
    if (!properties.contains(name)) {
        return std::optional<std::string>{};
    }
    auto value = evaluator.EvalString(properties[name], where + "." + name);
    if (!value) {
        return sim::Unexpected<Failure>(value.error());
    }
    return std::optional<std::string>{std::move(*value)};
}

#define SIM_TRY_ASSIGN(target, expression)                            \
    do {                                                              \
        auto sim_try_result_ = (expression);                          \
        if (!sim_try_result_) {                                       \
            return sim::Unexpected<Failure>(sim_try_result_.error()); \
        }                                                             \
        (target) = std::move(*sim_try_result_);                       \
    } while (false)

sim::Result<ThingPlan, Failure> ThingResource(const Evaluator& evaluator, const json& resource,
                                              const json& properties, const std::string& id) {
    const std::string where = "Resources." + id + ".Properties";
    ThingPlan plan;
    plan.logical_id = id;
    std::optional<std::string> name;
    SIM_TRY_ASSIGN(name, OptionalString(evaluator, properties, "ThingName", where));
    if (!name) {
        return sim::Unexpected<Failure>(Failure{where + ".ThingName: required"});
    }
    plan.thing_name = std::move(*name);
    SIM_TRY_ASSIGN(plan.thing_type_name,
                   OptionalString(evaluator, properties, "ThingTypeName", where));
    SIM_TRY_ASSIGN(plan.billing_group,
                   OptionalString(evaluator, properties, "BillingGroup", where));
    if (properties.contains("AttributePayload")) {
        json payload;
        SIM_TRY_ASSIGN(payload,
                       evaluator.Eval(properties["AttributePayload"], where + ".AttributePayload"));
        if (!payload.is_object()) {
            return sim::Unexpected<Failure>(
                Failure{where + ".AttributePayload: expected an object"});
        }
        std::map<std::string, std::string> attributes;
        for (const auto& [key, value] : payload.items()) {
            if (!value.is_string()) {
                return sim::Unexpected<Failure>(Failure{
                    internal::StrCat({where, ".AttributePayload.", key, ": expected a string"})});
            }
            attributes[key] = value.get<std::string>();
        }
        plan.attributes = std::move(attributes);
    }
    if (properties.contains("ThingGroups")) {
        json groups;
        SIM_TRY_ASSIGN(groups, evaluator.Eval(properties["ThingGroups"], where + ".ThingGroups"));
        if (!groups.is_array()) {
            return sim::Unexpected<Failure>(Failure{where + ".ThingGroups: expected a list"});
        }
        for (const auto& group : groups) {
            if (!group.is_string()) {
                return sim::Unexpected<Failure>(
                    Failure{where + ".ThingGroups: expected a list of strings"});
            }
            plan.thing_groups.push_back(group.get<std::string>());
        }
    }
    SIM_TRY_ASSIGN(plan.override_settings,
                   ReadOverrides(resource, "Resources." + id,
                                 {"AttributePayload", "ThingTypeName", "ThingGroups"}));
    return plan;
}

sim::Result<CertificatePlan, Failure> CertificateResource(const Evaluator& evaluator,
                                                          const json& resource,
                                                          const json& properties,
                                                          const std::string& id) {
    const std::string where = "Resources." + id + ".Properties";
    CertificatePlan plan;
    plan.logical_id = id;
    SIM_TRY_ASSIGN(plan.certificate_id,
                   OptionalString(evaluator, properties, "CertificateId", where));
    SIM_TRY_ASSIGN(plan.certificate_pem,
                   OptionalString(evaluator, properties, "CertificatePem", where));
    SIM_TRY_ASSIGN(plan.ca_certificate_pem,
                   OptionalString(evaluator, properties, "CACertificatePem", where));
    SIM_TRY_ASSIGN(plan.certificate_signing_request,
                   OptionalString(evaluator, properties, "CertificateSigningRequest", where));
    const int identifying = (plan.certificate_id ? 1 : 0) + (plan.certificate_pem ? 1 : 0) +
                            (plan.certificate_signing_request ? 1 : 0);
    if (identifying != 1) {
        return sim::Unexpected<Failure>(Failure{
            where + ": exactly one of CertificateId, CertificatePem, CertificateSigningRequest"});
    }
    if (plan.ca_certificate_pem && !plan.certificate_pem) {
        return sim::Unexpected<Failure>(
            Failure{where + ".CACertificatePem: only with CertificatePem"});
    }
    std::optional<std::string> status;
    SIM_TRY_ASSIGN(status, OptionalString(evaluator, properties, "Status", where));
    if (status) {
        // AWS's examples spell it "Active" as well as "ACTIVE" ('Provisioning templates').
        const auto upper = Upper(*status);
        if (upper == "ACTIVE") {
            plan.status = CertificateStatus::kActive;
        } else if (upper == "INACTIVE") {
            plan.status = CertificateStatus::kInactive;
        } else {
            return sim::Unexpected<Failure>(
                Failure{where + ".Status: expected ACTIVE or INACTIVE, got " + *status});
        }
    }
    SIM_TRY_ASSIGN(plan.override_settings, ReadOverrides(resource, "Resources." + id, {"Status"}));
    return plan;
}

sim::Result<PolicyPlan, Failure> PolicyResource(const Evaluator& evaluator, const json& resource,
                                                const json& properties, const std::string& id) {
    const std::string where = "Resources." + id + ".Properties";
    PolicyPlan plan;
    plan.logical_id = id;
    SIM_TRY_ASSIGN(plan.policy_name, OptionalString(evaluator, properties, "PolicyName", where));
    if (properties.contains("PolicyDocument")) {
        json document;
        SIM_TRY_ASSIGN(document,
                       evaluator.Eval(properties["PolicyDocument"], where + ".PolicyDocument"));
        // JITP examples escape the document into a string, fleet examples embed an object.
        if (document.is_string()) {
            plan.policy_document = document.get<std::string>();
        } else if (document.is_object()) {
            plan.policy_document = document.dump();
        } else {
            return sim::Unexpected<Failure>(
                Failure{where + ".PolicyDocument: expected a string or an object"});
        }
    }
    if (plan.policy_name.has_value() == plan.policy_document.has_value()) {
        return sim::Unexpected<Failure>(
            Failure{where + ": exactly one of PolicyName, PolicyDocument"});
    }
    if (resource.contains("OverrideSettings")) {
        return sim::Unexpected<Failure>(
            Failure{"Resources." + id + ".OverrideSettings: not supported for policies"});
    }
    return plan;
}

#undef SIM_TRY_ASSIGN

// Shape checks shared by ValidateTemplateBody and EvaluateTemplate.
sim::Result<json, Failure> ParseBody(std::string_view template_body) {
    if (template_body.size() > kMaxTemplateBody) {
        return sim::Unexpected<Failure>(Failure{"templateBody: longer than 10240 characters"});
    }
    json body = json::parse(template_body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) {
        return sim::Unexpected<Failure>(Failure{"templateBody: not a JSON object"});
    }
    for (const char* member : {"Parameters", "Resources", "Mappings", "DeviceConfiguration"}) {
        if (body.contains(member) && !body[member].is_object()) {
            return sim::Unexpected<Failure>(
                Failure{std::string("templateBody.") + member + ": expected an object"});
        }
    }
    if (body.contains("Parameters")) {
        for (const auto& [name, declaration] : body["Parameters"].items()) {
            if (!declaration.is_object()) {
                return sim::Unexpected<Failure>(
                    Failure{"Parameters." + name + ": expected an object"});
            }
            if (declaration.contains("Type") && declaration["Type"] != "String") {
                return sim::Unexpected<Failure>(
                    Failure{"Parameters." + name + ".Type: only String is supported"});
            }
            if (declaration.contains("Default") && !declaration["Default"].is_string()) {
                return sim::Unexpected<Failure>(
                    Failure{"Parameters." + name + ".Default: expected a string"});
            }
        }
    }
    if (body.contains("Resources")) {
        for (const auto& [id, resource] : body["Resources"].items()) {
            if (!resource.is_object() || !resource.contains("Type") ||
                !resource["Type"].is_string()) {
                return sim::Unexpected<Failure>(Failure{"Resources." + id + ": needs a Type"});
            }
            const auto type = resource["Type"].get<std::string>();
            if (type != "AWS::IoT::Thing" && type != "AWS::IoT::Certificate" &&
                type != "AWS::IoT::Policy") {
                return sim::Unexpected<Failure>(Failure{
                    internal::StrCat({"Resources.", id, ".Type: unsupported type ", type})});
            }
            if (resource.contains("Properties") && !resource["Properties"].is_object()) {
                return sim::Unexpected<Failure>(
                    Failure{"Resources." + id + ".Properties: expected an object"});
            }
        }
    }
    return body;
}

}  // namespace

std::optional<OverrideAction> ParseOverrideAction(std::string_view text) {
    if (text == "DO_NOTHING") {
        return OverrideAction::kDoNothing;
    }
    if (text == "REPLACE") {
        return OverrideAction::kReplace;
    }
    if (text == "FAIL") {
        return OverrideAction::kFail;
    }
    if (text == "MERGE") {
        return OverrideAction::kMerge;
    }
    return std::nullopt;
}

AwsStatus ValidateTemplateBody(std::string_view template_body) {
    auto body = ParseBody(template_body);
    if (!body) {
        return Fail(error_type::kInvalidRequest, body.error().message);
    }
    return {};
}

AwsResult<TemplatePlan> EvaluateTemplate(std::string_view template_body,
                                         const std::map<std::string, std::string>& parameters) {
    auto parsed = ParseBody(template_body);
    if (!parsed) {
        return Fail(error_type::kInvalidRequest, parsed.error().message);
    }
    const json& body = *parsed;
    TemplatePlan plan;

    // Parameters: every declared one needs a value (given or Default). Values given for
    // undeclared names stay visible to Ref (Assumed: AWS passes e.g. AWS::IoT::Certificate::Id
    // to fleet templates whether or not they declare it).
    plan.parameters = parameters;
    if (body.contains("Parameters")) {
        for (const auto& [name, declaration] : body["Parameters"].items()) {
            if (plan.parameters.count(name) != 0) {
                continue;
            }
            if (declaration.contains("Default")) {
                plan.parameters[name] = declaration["Default"].get<std::string>();
            } else {
                return Fail(error_type::kInvalidRequest, "missing parameter: " + name);
            }
        }
    }

    static const json kNoMappings = json::object();
    const Evaluator evaluator(body.contains("Mappings") ? body["Mappings"] : kNoMappings,
                              plan.parameters);
    if (body.contains("Resources")) {
        for (const auto& [id, resource] : body["Resources"].items()) {
            static const json kNoProperties = json::object();
            const json& properties =
                resource.contains("Properties") ? resource["Properties"] : kNoProperties;
            const auto type = resource["Type"].get<std::string>();
            if (type == "AWS::IoT::Thing") {
                auto thing = ThingResource(evaluator, resource, properties, id);
                if (!thing) {
                    return Fail(error_type::kInvalidRequest, thing.error().message);
                }
                plan.things.push_back(std::move(*thing));
            } else if (type == "AWS::IoT::Certificate") {
                auto certificate = CertificateResource(evaluator, resource, properties, id);
                if (!certificate) {
                    return Fail(error_type::kInvalidRequest, certificate.error().message);
                }
                plan.certificates.push_back(std::move(*certificate));
            } else {
                auto policy = PolicyResource(evaluator, resource, properties, id);
                if (!policy) {
                    return Fail(error_type::kInvalidRequest, policy.error().message);
                }
                plan.policies.push_back(std::move(*policy));
            }
        }
    }
    if (plan.things.size() > 1 || plan.certificates.size() > 1) {
        // Assumed: one thing and one certificate per run (every AWS example does so, and
        // the attachments "certificate to thing" are then unambiguous).
        return Fail(error_type::kInvalidRequest,
                    "Resources: at most one AWS::IoT::Thing and one AWS::IoT::Certificate");
    }

    if (body.contains("DeviceConfiguration")) {
        for (const auto& [key, value] : body["DeviceConfiguration"].items()) {
            auto evaluated = evaluator.Eval(value, "DeviceConfiguration." + key);
            if (!evaluated) {
                return Fail(error_type::kInvalidRequest, evaluated.error().message);
            }
            if (!evaluated->is_string()) {
                return Fail(error_type::kInvalidRequest,
                            "DeviceConfiguration." + key + ": expected a string");
            }
            plan.device_configuration[key] = evaluated->get<std::string>();
        }
    }
    return plan;
}

std::map<std::string, std::string> JitpParameters(const pki::CertificateInfo& certificate) {
    // 'Just-in-time provisioning': only these, from the subject; Id is the certificateId.
    static constexpr std::array<std::pair<const char*, const char*>, 7> kFields{{
        {"C", "AWS::IoT::Certificate::Country"},
        {"O", "AWS::IoT::Certificate::Organization"},
        {"OU", "AWS::IoT::Certificate::OrganizationalUnit"},
        {"dnQualifier", "AWS::IoT::Certificate::DistinguishedNameQualifier"},
        {"ST", "AWS::IoT::Certificate::StateName"},
        {"CN", "AWS::IoT::Certificate::CommonName"},
        {"serialNumber", "AWS::IoT::Certificate::SerialNumber"},
    }};
    std::map<std::string, std::string> out;
    for (const auto& [short_name, parameter] : kFields) {
        if (auto value = certificate.subject.Get(short_name)) {
            out[parameter] = std::move(*value);
        }
    }
    out["AWS::IoT::Certificate::Id"] = certificate.certificate_id;
    return out;
}

std::string JitpTemplateBody(const JitpTemplatePolicy& policy) {
    const char* const policy_property =
        policy.kind == JitpTemplatePolicy::Kind::kPolicyName ? "PolicyName" : "PolicyDocument";
    const json body = {
        {"Parameters",
         {{"AWS::IoT::Certificate::CommonName", {{"Type", "String"}}},
          {"AWS::IoT::Certificate::Id", {{"Type", "String"}}}}},
        {"Resources",
         {{"thing",
           {{"Type", "AWS::IoT::Thing"},
            {"Properties", {{"ThingName", {{"Ref", "AWS::IoT::Certificate::CommonName"}}}}}}},
          {"certificate",
           {{"Type", "AWS::IoT::Certificate"},
            {"Properties",
             {{"CertificateId", {{"Ref", "AWS::IoT::Certificate::Id"}}}, {"Status", "ACTIVE"}}}}},
          {"policy",
           {{"Type", "AWS::IoT::Policy"}, {"Properties", {{policy_property, policy.value}}}}}}},
    };
    return body.dump();
}

}  // namespace sim::account
