// SPDX-License-Identifier: Apache-2.0
// Request decoding and reply shaping for every served operation. Method, path, member names
// and locations come from botocore's `iot` 2015-05-28 model (service-2.json, as shipped with
// awscli 2.9.19); semantics live in sim::account::Registry.
#include "sim/control_plane/router.hpp"

#include <array>
#include <charconv>
#include <functional>
#include <limits>

#include "sim/control_plane/operations.hpp"
#include "sim/control_plane/validate.hpp"
#include "sim/core/ports.hpp"

namespace sim::controlplane {

using account::AwsError;
using account::AwsResult;
using account::Fail;
using nlohmann::json;
namespace et = account::error_type;

struct Context {
    const ParsedRequest& request;
    account::Registry& registry;
    CertificateIssuer& issuer;
    std::string_view Label(std::size_t i) const { return request.labels.at(i); }
};

using Handler = AwsResult<json> (*)(Context&);

struct OperationSpec {
    std::string_view method;
    std::string_view path;  // "/things/{thingName}"
    std::string_view name;
    Access access;
    Handler handler;
};

namespace {

// Propagates an error from an AwsResult-returning expression, else binds its value.
#define SIM_TRY(var, expr)                                           \
    auto var##_result = (expr);                                      \
    if (!var##_result) {                                             \
        return Unexpected<AwsError>(std::move(var##_result).error()); \
    }                                                                \
    auto var = std::move(var##_result).value()
#define SIM_TRY_STATUS(expr)                                 \
    do {                                                     \
        auto status_result = (expr);                         \
        if (!status_result) {                                \
            return Unexpected<AwsError>(status_result.error()); \
        }                                                    \
    } while (false)

// ---- Decoding helpers -------------------------------------------------------------------------

std::optional<std::string> QueryValue(const Context& c, std::string_view name) {
    for (const auto& [key, value] : c.request.query) {
        if (key == name) {
            return value;
        }
    }
    return std::nullopt;
}

AwsResult<std::optional<bool>> QueryBool(const Context& c, std::string_view name) {
    auto value = QueryValue(c, name);
    if (!value) {
        return std::optional<bool>{};
    }
    if (*value == "true") {
        return std::optional<bool>{true};
    }
    if (*value == "false") {
        return std::optional<bool>{false};
    }
    return Fail(et::kInvalidRequest, std::string(name) + ": expected true or false");
}

AwsResult<std::optional<std::int64_t>> ParseInt(std::string_view text, std::string_view name,
                                                std::int64_t min, std::int64_t max) {
    std::int64_t value = 0;
    const char* end = text.data() + text.size();
    const auto [stop, error] = std::from_chars(text.data(), end, value);
    if (text.size() > 19 || (error != std::errc{} && error != std::errc::result_out_of_range) ||
        stop != end) {
        return Fail(et::kInvalidRequest, std::string(name) + ": not an integer");
    }
    if (error == std::errc::result_out_of_range || value < min || value > max) {
        return Fail(et::kInvalidRequest, std::string(name) + ": must be between " +
                                             std::to_string(min) + " and " + std::to_string(max));
    }
    return std::optional<std::int64_t>{value};
}

AwsResult<std::optional<std::int64_t>> QueryInt(const Context& c, std::string_view name,
                                                std::int64_t min, std::int64_t max) {
    auto value = QueryValue(c, name);
    if (!value) {
        return std::optional<std::int64_t>{};
    }
    return ParseInt(*value, name, min, max);
}

const json* Member(const json& object, std::string_view name) {
    auto it = object.find(name);
    if (it == object.end() || it->is_null()) {
        return nullptr;
    }
    return &*it;
}

AwsResult<std::optional<std::string>> StringMember(const json& object, std::string_view name,
                                                   std::size_t max_length, bool required) {
    const json* value = Member(object, name);
    if (value == nullptr) {
        if (required) {
            return Fail(et::kInvalidRequest, std::string(name) + " is required");
        }
        return std::optional<std::string>{};
    }
    if (!value->is_string()) {
        return Fail(et::kInvalidRequest, std::string(name) + ": expected a string");
    }
    const auto& text = value->get_ref<const std::string&>();
    if (text.size() > max_length) {
        return Fail(et::kInvalidRequest, std::string(name) + ": longer than " +
                                             std::to_string(max_length) + " characters");
    }
    return std::optional<std::string>{text};
}

AwsResult<std::optional<std::string>> BodyString(const Context& c, std::string_view name,
                                                 std::size_t max_length = 2048,
                                                 bool required = false) {
    return StringMember(c.request.body, name, max_length, required);
}

AwsResult<std::optional<bool>> BoolMember(const json& object, std::string_view name) {
    const json* value = Member(object, name);
    if (value == nullptr) {
        return std::optional<bool>{};
    }
    if (!value->is_boolean()) {
        return Fail(et::kInvalidRequest, std::string(name) + ": expected a boolean");
    }
    return std::optional<bool>{value->get<bool>()};
}

AwsResult<std::optional<std::int64_t>> IntMember(const json& object, std::string_view name) {
    const json* value = Member(object, name);
    if (value == nullptr) {
        return std::optional<std::int64_t>{};
    }
    if (!value->is_number_integer()) {
        return Fail(et::kInvalidRequest, std::string(name) + ": expected an integer");
    }
    return std::optional<std::int64_t>{value->get<std::int64_t>()};
}

AwsResult<const json*> ObjectMember(const json& object, std::string_view name) {
    const json* value = Member(object, name);
    if (value != nullptr && !value->is_object()) {
        return Fail(et::kInvalidRequest, std::string(name) + ": expected an object");
    }
    return value;
}

AwsResult<std::optional<std::map<std::string, std::string>>> StringMapMember(
    const json& object, std::string_view name) {
    SIM_TRY(value, ObjectMember(object, name));
    if (value == nullptr) {
        return std::optional<std::map<std::string, std::string>>{};
    }
    std::map<std::string, std::string> out;
    for (const auto& [key, item] : value->items()) {
        if (!item.is_string()) {
            return Fail(et::kInvalidRequest,
                        std::string(name) + "." + key + ": expected a string");
        }
        out.emplace(key, item.get<std::string>());
    }
    return std::optional<std::map<std::string, std::string>>{std::move(out)};
}

AwsResult<account::PageRequest> MarkerPage(const Context& c) {
    account::PageRequest page;
    SIM_TRY(size, QueryInt(c, "pageSize", 1, 250));
    SIM_TRY(ascending, QueryBool(c, "isAscendingOrder"));
    page.page_size = size;
    page.marker = QueryValue(c, "marker");
    page.ascending = ascending.value_or(false);
    return page;
}

AwsResult<account::PageRequest> TokenPage(const Context& c) {
    account::PageRequest page;
    SIM_TRY(size, QueryInt(c, "maxResults", 1, 250));
    page.page_size = size;
    page.marker = QueryValue(c, "nextToken");
    return page;
}

AwsResult<std::optional<account::RegistrationConfig>> RegistrationConfigMember(const json& body) {
    SIM_TRY(object, ObjectMember(body, "registrationConfig"));
    if (object == nullptr) {
        return std::optional<account::RegistrationConfig>{};
    }
    account::RegistrationConfig config;
    SIM_TRY(template_body, StringMember(*object, "templateBody", 10240, false));
    SIM_TRY(role_arn, StringMember(*object, "roleArn", 2048, false));
    SIM_TRY(template_name, StringMember(*object, "templateName", 36, false));
    config.template_body = template_body;
    config.role_arn = role_arn;
    config.template_name = template_name;
    return std::optional<account::RegistrationConfig>{std::move(config)};
}

AwsResult<std::optional<account::PreProvisioningHook>> HookMember(const json& body) {
    SIM_TRY(object, ObjectMember(body, "preProvisioningHook"));
    if (object == nullptr) {
        return std::optional<account::PreProvisioningHook>{};
    }
    account::PreProvisioningHook hook;
    SIM_TRY(version, StringMember(*object, "payloadVersion", 32, false));
    SIM_TRY(target, StringMember(*object, "targetArn", 2048, true));
    hook.payload_version = version;
    hook.target_arn = *target;
    return std::optional<account::PreProvisioningHook>{std::move(hook)};
}

// ---- Encoding helpers -------------------------------------------------------------------------

double Epoch(TimePoint t) { return ToEpochSeconds(t); }

void SetIf(json& out, std::string_view name, const std::optional<std::string>& value) {
    if (value) {
        out[std::string(name)] = *value;
    }
}

json Validity(const pki::CertificateInfo& info) {
    return {{"notBefore", Epoch(info.not_before)}, {"notAfter", Epoch(info.not_after)}};
}

// A List* reply: the items under `items_name`, plus the continuation (nextMarker for the
// marker-paged operations, nextToken for the token-paged ones) when there are more.
json PagedList(std::string_view items_name, json items, std::string_view next_name,
               const std::optional<std::string>& next) {
    json out = {{std::string(items_name), std::move(items)}};
    SetIf(out, next_name, next);
    return out;
}

// The members DescribeCertificate and DescribeCACertificate share (their certificateDescription
// shapes); `Cert` is account::Certificate or account::CaCertificate.
template <typename Cert>
json CertificateDescription(const Cert& cert) {
    return {
        {"certificateArn", cert.certificate_arn},
        {"certificateId", cert.certificate_id},
        {"status", account::ToString(cert.status)},
        {"certificatePem", cert.info.pem},
        {"ownedBy", cert.owned_by},
        {"creationDate", Epoch(cert.creation_date)},
        {"lastModifiedDate", Epoch(cert.last_modified_date)},
        {"customerVersion", cert.customer_version},
        {"generationId", cert.generation_id},
        {"validity", Validity(cert.info)},
        {"certificateMode", account::ToString(cert.certificate_mode)},
    };
}

json RegistrationConfigJson(const account::RegistrationConfig& config) {
    json out = json::object();
    SetIf(out, "templateBody", config.template_body);
    SetIf(out, "roleArn", config.role_arn);
    SetIf(out, "templateName", config.template_name);
    return out;
}

json CertificateList(const account::ListCertificatesResponse& list, bool with_mode) {
    json certificates = json::array();
    for (const auto& c : list.certificates) {
        json item = {{"certificateArn", c.certificate_arn},
                     {"certificateId", c.certificate_id},
                     {"status", c.status},
                     {"creationDate", Epoch(c.creation_date)}};
        if (with_mode) {
            item["certificateMode"] = c.certificate_mode;
        }
        certificates.push_back(std::move(item));
    }
    return PagedList("certificates", std::move(certificates), "nextMarker", list.next_marker);
}

json Registered(const account::RegisterCertificateResponse& r) {
    return {{"certificateArn", r.certificate_arn}, {"certificateId", r.certificate_id}};
}

// CreateKeysAndCertificate and CreateCertificateFromCsr: the registered ids plus the PEM.
json Issued(const account::RegisterCertificateResponse& r, const pki::CertificateInfo& cert) {
    json out = Registered(r);
    out["certificatePem"] = cert.pem;
    return out;
}

json Empty() { return json::object(); }

json KeyPair(const CertificateIssuer::KeysAndCertificate& keys) {
    return {{"PublicKey", keys.public_key_pem}, {"PrivateKey", keys.private_key_pem}};
}

// ---- Handlers: registration code, endpoint, events -----------------------------------------------

AwsResult<json> GetRegistrationCode(Context& c) {
    SIM_TRY(code, c.registry.GetRegistrationCode());
    return json{{"registrationCode", code}};
}

AwsResult<json> DeleteRegistrationCode(Context& c) {
    SIM_TRY_STATUS(c.registry.DeleteRegistrationCode());
    return Empty();
}

// `tags` of a create request or TagResource: [{Key, Value}] (AWS IoT API Reference, Tag:
// Key 1-128 characters, Value 0-256).
AwsResult<std::map<std::string, std::string>> TagsMember(const json& body) {
    std::map<std::string, std::string> out;
    const json* tags = Member(body, "tags");
    if (tags == nullptr) {
        return out;
    }
    if (!tags->is_array()) {
        return Fail(et::kInvalidRequest, "tags: expected a list of {Key, Value}");
    }
    for (const auto& tag : *tags) {
        if (!tag.is_object() || !tag.contains("Key") || !tag["Key"].is_string() ||
            tag["Key"].get<std::string>().empty() || tag["Key"].get<std::string>().size() > 128 ||
            (tag.contains("Value") && (!tag["Value"].is_string() ||
                                       tag["Value"].get<std::string>().size() > 256))) {
            return Fail(et::kInvalidRequest, "tags: each tag is {Key: 1-128 characters, Value}");
        }
        out[tag["Key"].get<std::string>()] = tag.value("Value", "");
    }
    return out;
}

AwsResult<json> TagResource(Context& c) {
    SIM_TRY(arn, BodyString(c, "resourceArn", 2048, true));
    SIM_TRY(tags, TagsMember(c.request.body));
    c.registry.TagResource(*arn, tags);
    return Empty();
}

AwsResult<json> UntagResource(Context& c) {
    SIM_TRY(arn, BodyString(c, "resourceArn", 2048, true));
    const json* keys = Member(c.request.body, "tagKeys");
    if (keys == nullptr || !keys->is_array()) {
        return Fail(et::kInvalidRequest, "tagKeys: required, a list of keys");
    }
    std::vector<std::string> names;
    for (const auto& key : *keys) {
        if (key.is_string()) {
            names.push_back(key.get<std::string>());
        }
    }
    c.registry.UntagResource(*arn, names);
    return Empty();
}

AwsResult<json> ListTagsForResource(Context& c) {
    const auto arn = QueryValue(c, "resourceArn");
    if (!arn || arn->empty()) {
        return Fail(et::kInvalidRequest, "resourceArn: required");
    }
    json tags = json::array();
    for (const auto& [key, value] : c.registry.ListTagsForResource(*arn)) {
        tags.push_back({{"Key", key}, {"Value", value}});
    }
    return json{{"tags", tags}};
}

AwsResult<json> DescribeEndpoint(Context& c) {
    SIM_TRY(address, c.registry.DescribeEndpoint(QueryValue(c, "endpointType")));
    return json{{"endpointAddress", address}};
}

AwsResult<json> DescribeEventConfigurations(Context& c) {
    json configurations = json::object();
    for (const auto& [type, enabled] : c.registry.DescribeEventConfigurations()) {
        configurations[type] = {{"Enabled", enabled}};
    }
    // Not emulated: creationDate/lastModifiedDate of the event configuration (optional members).
    return json{{"eventConfigurations", std::move(configurations)}};
}

AwsResult<json> UpdateEventConfigurations(Context& c) {
    SIM_TRY(object, ObjectMember(c.request.body, "eventConfigurations"));
    std::map<std::string, bool> configurations;
    if (object != nullptr) {
        for (const auto& [type, item] : object->items()) {
            if (!item.is_object()) {
                return Fail(et::kInvalidRequest,
                            "eventConfigurations." + type + ": expected an object");
            }
            SIM_TRY(enabled, BoolMember(item, "Enabled"));
            configurations[type] = enabled.value_or(false);
        }
    }
    SIM_TRY_STATUS(c.registry.UpdateEventConfigurations(configurations));
    return Empty();
}

// ---- CA certificates ----------------------------------------------------------------------

AwsResult<json> RegisterCACertificate(Context& c) {
    account::RegisterCaCertificateRequest r;
    SIM_TRY(ca, BodyString(c, "caCertificate", 65536, true));
    SIM_TRY(verification, BodyString(c, "verificationCertificate", 65536));
    SIM_TRY(mode, BodyString(c, "certificateMode", 32));
    SIM_TRY(config, RegistrationConfigMember(c.request.body));
    SIM_TRY(active, QueryBool(c, "setAsActive"));
    SIM_TRY(auto_registration, QueryBool(c, "allowAutoRegistration"));
    SIM_TRY(tags, TagsMember(c.request.body));
    r.ca_certificate = *ca;
    r.verification_certificate = verification;
    r.certificate_mode = mode;
    r.registration_config = config;
    r.set_as_active = active.value_or(false);
    r.allow_auto_registration = auto_registration.value_or(false);
    SIM_TRY(reply, c.registry.RegisterCACertificate(r));
    c.registry.TagResource(reply.certificate_arn, tags);
    return Registered(reply);
}

AwsResult<json> DescribeCACertificate(Context& c) {
    SIM_TRY(ca, c.registry.DescribeCACertificate(c.Label(0)));
    json description = CertificateDescription(ca);
    description["autoRegistrationStatus"] = account::ToString(ca.auto_registration_status);
    return json{{"certificateDescription", std::move(description)},
                {"registrationConfig", RegistrationConfigJson(ca.registration_config)}};
}

AwsResult<json> UpdateCACertificate(Context& c) {
    account::UpdateCaCertificateRequest r;
    r.certificate_id = std::string(c.Label(0));
    r.new_status = QueryValue(c, "newStatus");
    r.new_auto_registration_status = QueryValue(c, "newAutoRegistrationStatus");
    SIM_TRY(config, RegistrationConfigMember(c.request.body));
    SIM_TRY(remove, BoolMember(c.request.body, "removeAutoRegistration"));
    r.registration_config = config;
    r.remove_auto_registration = remove.value_or(false);
    SIM_TRY_STATUS(c.registry.UpdateCACertificate(r));
    return Empty();
}

AwsResult<json> ListCACertificates(Context& c) {
    SIM_TRY(page, MarkerPage(c));
    SIM_TRY(list, c.registry.ListCACertificates(page, QueryValue(c, "templateName")));
    return CertificateList(list, false);
}

AwsResult<json> DeleteCACertificate(Context& c) {
    SIM_TRY_STATUS(c.registry.DeleteCACertificate(c.Label(0)));
    return Empty();
}

// ---- Device certificates ------------------------------------------------------------------

AwsResult<account::RegisterDeviceCertificateRequest> DeviceRequest(Context& c, bool with_ca) {
    account::RegisterDeviceCertificateRequest r;
    SIM_TRY(pem, BodyString(c, "certificatePem", 65536, true));
    SIM_TRY(status, BodyString(c, "status", 32));
    r.certificate_pem = *pem;
    r.status = status;
    if (with_ca) {
        SIM_TRY(ca_pem, BodyString(c, "caCertificatePem", 65536));
        SIM_TRY(active, QueryBool(c, "setAsActive"));
        r.ca_certificate_pem = ca_pem;
        r.set_as_active = active.value_or(false);
    }
    return r;
}

AwsResult<json> RegisterCertificate(Context& c) {
    SIM_TRY(request, DeviceRequest(c, true));
    SIM_TRY(reply, c.registry.RegisterCertificate(request));
    return Registered(reply);
}

AwsResult<json> RegisterCertificateWithoutCA(Context& c) {
    SIM_TRY(request, DeviceRequest(c, false));
    SIM_TRY(reply, c.registry.RegisterCertificateWithoutCA(request));
    return Registered(reply);
}

AwsResult<json> DescribeCertificate(Context& c) {
    SIM_TRY(cert, c.registry.DescribeCertificate(c.Label(0)));
    json description = CertificateDescription(cert);
    SetIf(description, "caCertificateId", cert.ca_certificate_id);
    SetIf(description, "previousOwnedBy", cert.previous_owned_by);
    return json{{"certificateDescription", std::move(description)}};
}

AwsResult<json> UpdateCertificate(Context& c) {
    auto status = QueryValue(c, "newStatus");
    if (!status) {
        return Fail(et::kInvalidRequest, "newStatus is required");
    }
    SIM_TRY_STATUS(c.registry.UpdateCertificate(c.Label(0), *status));
    return Empty();
}

AwsResult<json> ListCertificates(Context& c) {
    SIM_TRY(page, MarkerPage(c));
    SIM_TRY(list, c.registry.ListCertificates(page));
    return CertificateList(list, true);
}

AwsResult<json> ListCertificatesByCA(Context& c) {
    SIM_TRY(page, MarkerPage(c));
    SIM_TRY(list, c.registry.ListCertificatesByCA(c.Label(0), page));
    return CertificateList(list, true);
}

AwsResult<json> DeleteCertificate(Context& c) {
    SIM_TRY(force, QueryBool(c, "forceDelete"));
    SIM_TRY_STATUS(c.registry.DeleteCertificate(c.Label(0), force.value_or(false)));
    return Empty();
}

AwsResult<json> CreateKeysAndCertificate(Context& c) {
    SIM_TRY(active, QueryBool(c, "setAsActive"));
    SIM_TRY(keys, c.issuer.CreateKeysAndCertificate());
    SIM_TRY(reply, c.registry.RegisterIssuedCertificate({keys.certificate, active.value_or(false)}));
    json out = Issued(reply, keys.certificate);
    out["keyPair"] = KeyPair(keys);
    return out;
}

AwsResult<json> CreateCertificateFromCsr(Context& c) {
    SIM_TRY(csr, BodyString(c, "certificateSigningRequest", 4096, true));
    SIM_TRY(active, QueryBool(c, "setAsActive"));
    SIM_TRY(certificate, c.issuer.CreateCertificateFromCsr(*csr));
    SIM_TRY(reply, c.registry.RegisterIssuedCertificate({certificate, active.value_or(false)}));
    return Issued(reply, certificate);
}

// ---- Things -------------------------------------------------------------------------------

AwsResult<json> CreateThing(Context& c) {
    account::CreateThingRequest r;
    r.thing_name = std::string(c.Label(0));
    SIM_TRY(type, BodyString(c, "thingTypeName", 128));
    SIM_TRY(billing, BodyString(c, "billingGroupName", 128));
    SIM_TRY(payload, ObjectMember(c.request.body, "attributePayload"));
    if (payload != nullptr) {
        SIM_TRY(attributes, StringMapMember(*payload, "attributes"));
        r.attributes = attributes;
    }
    r.thing_type_name = type;
    r.billing_group_name = billing;
    SIM_TRY(reply, c.registry.CreateThing(r));
    return json{{"thingName", reply.thing_name},
                {"thingArn", reply.thing_arn},
                {"thingId", reply.thing_id}};
}

json ThingJson(const account::Thing& thing) {
    json out = {{"thingName", thing.thing_name},
                {"thingArn", thing.thing_arn},
                {"attributes", thing.attributes},
                {"version", thing.version}};
    SetIf(out, "thingTypeName", thing.thing_type_name);
    return out;
}

AwsResult<json> DescribeThing(Context& c) {
    SIM_TRY(thing, c.registry.DescribeThing(c.Label(0)));
    json out = ThingJson(thing);
    out["defaultClientId"] = thing.thing_name;
    out["thingId"] = thing.thing_id;
    SetIf(out, "billingGroupName", thing.billing_group_name);
    return out;
}

AwsResult<json> UpdateThing(Context& c) {
    account::UpdateThingRequest r;
    r.thing_name = std::string(c.Label(0));
    SIM_TRY(type, BodyString(c, "thingTypeName", 128));
    SIM_TRY(remove_type, BoolMember(c.request.body, "removeThingType"));
    SIM_TRY(expected, IntMember(c.request.body, "expectedVersion"));
    SIM_TRY(payload, ObjectMember(c.request.body, "attributePayload"));
    if (payload != nullptr) {
        SIM_TRY(attributes, StringMapMember(*payload, "attributes"));
        SIM_TRY(merge, BoolMember(*payload, "merge"));
        r.attributes = attributes;
        r.merge = merge.value_or(false);
    }
    r.thing_type_name = type;
    r.remove_thing_type = remove_type.value_or(false);
    r.expected_version = expected;
    SIM_TRY_STATUS(c.registry.UpdateThing(r));
    return Empty();
}

AwsResult<json> ListThings(Context& c) {
    account::ListThingsRequest r;
    SIM_TRY(page, TokenPage(c));
    SIM_TRY(prefix, QueryBool(c, "usePrefixAttributeValue"));
    r.page = page;
    r.attribute_name = QueryValue(c, "attributeName");
    r.attribute_value = QueryValue(c, "attributeValue");
    r.thing_type_name = QueryValue(c, "thingTypeName");
    r.use_prefix_attribute_value = prefix.value_or(false);
    SIM_TRY(list, c.registry.ListThings(r));
    json things = json::array();
    for (const auto& thing : list.things) {
        things.push_back(ThingJson(thing));
    }
    return PagedList("things", std::move(things), "nextToken", list.next_token);
}

AwsResult<json> DeleteThing(Context& c) {
    SIM_TRY(expected, QueryInt(c, "expectedVersion", std::numeric_limits<std::int64_t>::min(),
                               std::numeric_limits<std::int64_t>::max()));
    SIM_TRY_STATUS(c.registry.DeleteThing(c.Label(0), expected));
    return Empty();
}

AwsResult<json> CreateThingType(Context& c) {
    account::CreateThingTypeRequest r;
    r.thing_type_name = std::string(c.Label(0));
    SIM_TRY(properties, ObjectMember(c.request.body, "thingTypeProperties"));
    if (properties != nullptr) {
        SIM_TRY(description, StringMember(*properties, "thingTypeDescription", 2028, false));
        r.description = description;
        const json* attributes = Member(*properties, "searchableAttributes");
        if (attributes != nullptr) {
            if (!attributes->is_array()) {
                return Fail(et::kInvalidRequest,
                            "thingTypeProperties.searchableAttributes: expected a list");
            }
            for (const auto& item : *attributes) {
                if (!item.is_string()) {
                    return Fail(et::kInvalidRequest,
                                "thingTypeProperties.searchableAttributes: expected strings");
                }
                r.searchable_attributes.push_back(item.get<std::string>());
            }
        }
    }
    SIM_TRY(reply, c.registry.CreateThingType(r));
    return json{{"thingTypeName", reply.thing_type_name},
                {"thingTypeArn", reply.thing_type_arn},
                {"thingTypeId", reply.thing_type_id}};
}

AwsResult<json> DescribeThingType(Context& c) {
    SIM_TRY(type, c.registry.DescribeThingType(c.Label(0)));
    json properties = {{"searchableAttributes", type.searchable_attributes}};
    SetIf(properties, "thingTypeDescription", type.description);
    return json{{"thingTypeName", type.thing_type_name},
                {"thingTypeId", type.thing_type_id},
                {"thingTypeArn", type.thing_type_arn},
                {"thingTypeProperties", std::move(properties)},
                {"thingTypeMetadata",
                 {{"deprecated", false}, {"creationDate", Epoch(type.creation_date)}}}};
}

// ---- Thing principals ---------------------------------------------------------------------

AwsResult<std::string> Principal(const Context& c) {
    if (!c.request.principal || c.request.principal->empty()) {
        return Fail(et::kInvalidRequest, "x-amzn-principal header is required");
    }
    return *c.request.principal;
}

AwsResult<json> AttachThingPrincipal(Context& c) {
    SIM_TRY(principal, Principal(c));
    SIM_TRY_STATUS(
        c.registry.AttachThingPrincipal(c.Label(0), principal, QueryValue(c, "thingPrincipalType")));
    return Empty();
}

AwsResult<json> DetachThingPrincipal(Context& c) {
    SIM_TRY(principal, Principal(c));
    SIM_TRY_STATUS(c.registry.DetachThingPrincipal(c.Label(0), principal));
    return Empty();
}

AwsResult<json> ListThingPrincipals(Context& c) {
    SIM_TRY(page, TokenPage(c));
    SIM_TRY(list, c.registry.ListThingPrincipals(c.Label(0), page));
    return PagedList("principals", list.names, "nextToken", list.next_token);
}

AwsResult<json> ListPrincipalThings(Context& c) {
    SIM_TRY(principal, Principal(c));
    SIM_TRY(page, TokenPage(c));
    SIM_TRY(list, c.registry.ListPrincipalThings(principal, page));
    return PagedList("things", list.names, "nextToken", list.next_token);
}

// ---- Policies -----------------------------------------------------------------------------

// The model allows 404600 characters; the 2048 non-whitespace rule is the registry's.
constexpr std::size_t kMaxPolicyDocument = 404600;

AwsResult<json> CreatePolicy(Context& c) {
    SIM_TRY(document, BodyString(c, "policyDocument", kMaxPolicyDocument, true));
    SIM_TRY(tags, TagsMember(c.request.body));
    SIM_TRY(reply, c.registry.CreatePolicy(c.Label(0), *document));
    c.registry.TagResource(reply.policy_arn, tags);
    return json{{"policyName", reply.policy_name},
                {"policyArn", reply.policy_arn},
                {"policyDocument", reply.policy_document},
                {"policyVersionId", reply.policy_version_id}};
}

AwsResult<json> GetPolicy(Context& c) {
    SIM_TRY(policy, c.registry.GetPolicy(c.Label(0)));
    return json{{"policyName", policy.policy_name},
                {"policyArn", policy.policy_arn},
                {"policyDocument", policy.policy_document},
                {"defaultVersionId", policy.default_version_id},
                {"creationDate", Epoch(policy.creation_date)},
                {"lastModifiedDate", Epoch(policy.last_modified_date)},
                {"generationId", policy.generation_id}};
}

AwsResult<json> DeletePolicy(Context& c) {
    SIM_TRY_STATUS(c.registry.DeletePolicy(c.Label(0)));
    return Empty();
}

AwsResult<json> CreatePolicyVersion(Context& c) {
    SIM_TRY(document, BodyString(c, "policyDocument", kMaxPolicyDocument, true));
    SIM_TRY(set_default, QueryBool(c, "setAsDefault"));
    SIM_TRY(reply,
            c.registry.CreatePolicyVersion(c.Label(0), *document, set_default.value_or(false)));
    return json{{"policyArn", reply.policy_arn},
                {"policyDocument", reply.policy_document},
                {"policyVersionId", reply.policy_version_id},
                {"isDefaultVersion", reply.is_default_version}};
}

AwsResult<json> GetPolicyVersion(Context& c) {
    SIM_TRY(v, c.registry.GetPolicyVersion(c.Label(0), c.Label(1)));
    return json{{"policyArn", v.policy_arn},
                {"policyName", v.policy_name},
                {"policyDocument", v.policy_document},
                {"policyVersionId", v.policy_version_id},
                {"isDefaultVersion", v.is_default_version},
                {"creationDate", Epoch(v.creation_date)},
                {"lastModifiedDate", Epoch(v.creation_date)}};
}

AwsResult<json> ListPolicyVersions(Context& c) {
    SIM_TRY(versions, c.registry.ListPolicyVersions(c.Label(0)));
    json out = json::array();
    for (const auto& v : versions) {
        out.push_back({{"versionId", v.policy_version_id},
                       {"isDefaultVersion", v.is_default_version},
                       {"createDate", Epoch(v.creation_date)}});
    }
    return json{{"policyVersions", std::move(out)}};
}

AwsResult<json> SetDefaultPolicyVersion(Context& c) {
    SIM_TRY_STATUS(c.registry.SetDefaultPolicyVersion(c.Label(0), c.Label(1)));
    return Empty();
}

AwsResult<json> DeletePolicyVersion(Context& c) {
    SIM_TRY_STATUS(c.registry.DeletePolicyVersion(c.Label(0), c.Label(1)));
    return Empty();
}

json PolicyList(const account::ListPoliciesResponse& list) {
    json policies = json::array();
    for (const auto& p : list.policies) {
        policies.push_back({{"policyName", p.policy_name}, {"policyArn", p.policy_arn}});
    }
    return PagedList("policies", std::move(policies), "nextMarker", list.next_marker);
}

AwsResult<json> ListPolicies(Context& c) {
    SIM_TRY(page, MarkerPage(c));
    SIM_TRY(list, c.registry.ListPolicies(page));
    return PolicyList(list);
}

AwsResult<json> AttachPolicy(Context& c) {
    SIM_TRY(target, BodyString(c, "target", 2048, true));
    SIM_TRY_STATUS(c.registry.AttachPolicy(c.Label(0), *target));
    return Empty();
}

AwsResult<json> DetachPolicy(Context& c) {
    SIM_TRY(target, BodyString(c, "target", 2048, true));
    SIM_TRY_STATUS(c.registry.DetachPolicy(c.Label(0), *target));
    return Empty();
}

AwsResult<json> ListAttachedPolicies(Context& c) {
    SIM_TRY(page, MarkerPage(c));
    // Not emulated: recursive (thing-group inheritance); accepted and ignored.
    SIM_TRY(recursive, QueryBool(c, "recursive"));
    (void)recursive;
    SIM_TRY(list, c.registry.ListAttachedPolicies(c.Label(0), page));
    return PolicyList(list);
}

AwsResult<json> ListTargetsForPolicy(Context& c) {
    SIM_TRY(page, MarkerPage(c));
    SIM_TRY(list, c.registry.ListTargetsForPolicy(c.Label(0), page));
    return PagedList("targets", list.targets, "nextMarker", list.next_marker);
}

AwsResult<json> GetEffectivePolicies(Context& c) {
    SIM_TRY(principal, BodyString(c, "principal", 2048));
    SIM_TRY(pool, BodyString(c, "cognitoIdentityPoolId", 2048));
    (void)pool;  // Not emulated: Cognito identities.
    SIM_TRY(list, c.registry.GetEffectivePolicies(principal, QueryValue(c, "thingName")));
    json policies = json::array();
    for (const auto& p : list) {
        policies.push_back({{"policyName", p.policy_name},
                            {"policyArn", p.policy_arn},
                            {"policyDocument", p.policy_document}});
    }
    return json{{"effectivePolicies", std::move(policies)}};
}

// ---- Provisioning templates ---------------------------------------------------------------

constexpr std::size_t kMaxTemplateBody = 10240;

AwsResult<json> CreateProvisioningTemplate(Context& c) {
    account::CreateProvisioningTemplateRequest r;
    SIM_TRY(name, BodyString(c, "templateName", 36, true));
    SIM_TRY(description, BodyString(c, "description", 500));
    SIM_TRY(body, BodyString(c, "templateBody", kMaxTemplateBody, true));
    SIM_TRY(enabled, BoolMember(c.request.body, "enabled"));
    SIM_TRY(role, BodyString(c, "provisioningRoleArn", 2048, true));
    SIM_TRY(hook, HookMember(c.request.body));
    SIM_TRY(type, BodyString(c, "type", 32));
    r.template_name = *name;
    r.description = description;
    r.template_body = *body;
    r.enabled = enabled.value_or(false);
    r.provisioning_role_arn = *role;
    r.pre_provisioning_hook = hook;
    r.type = type;
    SIM_TRY(tags, TagsMember(c.request.body));
    SIM_TRY(reply, c.registry.CreateProvisioningTemplate(r));
    c.registry.TagResource(reply.template_arn, tags);
    return json{{"templateArn", reply.template_arn},
                {"templateName", reply.template_name},
                {"defaultVersionId", reply.default_version_id}};
}

AwsResult<json> DescribeProvisioningTemplate(Context& c) {
    SIM_TRY(t, c.registry.DescribeProvisioningTemplate(c.Label(0)));
    json out = {{"templateArn", t.template_arn},
                {"templateName", t.template_name},
                {"creationDate", Epoch(t.creation_date)},
                {"lastModifiedDate", Epoch(t.last_modified_date)},
                {"defaultVersionId", t.default_version_id},
                {"templateBody", t.DefaultBody()},
                {"enabled", t.enabled},
                {"provisioningRoleArn", t.provisioning_role_arn},
                {"type", account::ToString(t.type)}};
    SetIf(out, "description", t.description);
    if (t.pre_provisioning_hook) {
        json hook = {{"targetArn", t.pre_provisioning_hook->target_arn}};
        SetIf(hook, "payloadVersion", t.pre_provisioning_hook->payload_version);
        out["preProvisioningHook"] = std::move(hook);
    }
    return out;
}

AwsResult<json> ListProvisioningTemplates(Context& c) {
    SIM_TRY(page, TokenPage(c));
    SIM_TRY(list, c.registry.ListProvisioningTemplates(page));
    json templates = json::array();
    for (const auto& t : list.templates) {
        json item = {{"templateArn", t.template_arn},
                     {"templateName", t.template_name},
                     {"creationDate", Epoch(t.creation_date)},
                     {"lastModifiedDate", Epoch(t.last_modified_date)},
                     {"enabled", t.enabled},
                     {"type", t.type}};
        SetIf(item, "description", t.description);
        templates.push_back(std::move(item));
    }
    return PagedList("templates", std::move(templates), "nextToken", list.next_token);
}

AwsResult<json> UpdateProvisioningTemplate(Context& c) {
    account::UpdateProvisioningTemplateRequest r;
    r.template_name = std::string(c.Label(0));
    SIM_TRY(description, BodyString(c, "description", 500));
    SIM_TRY(enabled, BoolMember(c.request.body, "enabled"));
    SIM_TRY(version, IntMember(c.request.body, "defaultVersionId"));
    SIM_TRY(role, BodyString(c, "provisioningRoleArn", 2048));
    SIM_TRY(hook, HookMember(c.request.body));
    SIM_TRY(remove_hook, BoolMember(c.request.body, "removePreProvisioningHook"));
    r.description = description;
    r.enabled = enabled;
    r.default_version_id = version;
    r.provisioning_role_arn = role;
    r.pre_provisioning_hook = hook;
    r.remove_pre_provisioning_hook = remove_hook.value_or(false);
    SIM_TRY_STATUS(c.registry.UpdateProvisioningTemplate(r));
    return Empty();
}

AwsResult<json> DeleteProvisioningTemplate(Context& c) {
    SIM_TRY_STATUS(c.registry.DeleteProvisioningTemplate(c.Label(0)));
    return Empty();
}

AwsResult<json> CreateProvisioningTemplateVersion(Context& c) {
    SIM_TRY(body, BodyString(c, "templateBody", kMaxTemplateBody, true));
    SIM_TRY(set_default, QueryBool(c, "setAsDefault"));
    SIM_TRY(v, c.registry.CreateProvisioningTemplateVersion(c.Label(0), *body,
                                                            set_default.value_or(false)));
    return json{{"templateArn", v.template_arn},
                {"templateName", v.template_name},
                {"versionId", v.version_id},
                {"isDefaultVersion", v.is_default_version}};
}

AwsResult<json> ListProvisioningTemplateVersions(Context& c) {
    SIM_TRY(page, TokenPage(c));
    SIM_TRY(list, c.registry.ListProvisioningTemplateVersions(c.Label(0), page));
    json versions = json::array();
    for (const auto& v : list.versions) {
        versions.push_back({{"versionId", v.version_id},
                            {"creationDate", Epoch(v.creation_date)},
                            {"isDefaultVersion", v.is_default_version}});
    }
    return PagedList("versions", std::move(versions), "nextToken", list.next_token);
}

AwsResult<std::int64_t> VersionLabel(const Context& c) {
    SIM_TRY(version,
            ParseInt(c.Label(1), "versionId", 1, std::numeric_limits<std::int32_t>::max()));
    return *version;
}

AwsResult<json> DescribeProvisioningTemplateVersion(Context& c) {
    SIM_TRY(version, VersionLabel(c));
    SIM_TRY(v, c.registry.DescribeProvisioningTemplateVersion(c.Label(0), version));
    return json{{"versionId", v.version_id},
                {"creationDate", Epoch(v.creation_date)},
                {"templateBody", v.template_body},
                {"isDefaultVersion", v.is_default_version}};
}

AwsResult<json> DeleteProvisioningTemplateVersion(Context& c) {
    SIM_TRY(version, VersionLabel(c));
    SIM_TRY_STATUS(c.registry.DeleteProvisioningTemplateVersion(c.Label(0), version));
    return Empty();
}

AwsResult<json> CreateProvisioningClaim(Context& c) {
    // Check the template before spending a key generation on it.
    if (c.registry.FindProvisioningTemplate(c.Label(0)) == nullptr) {
        return Fail(et::kResourceNotFound,
                    "provisioning template " + std::string(c.Label(0)) + " does not exist");
    }
    SIM_TRY(keys, c.issuer.CreateKeysAndCertificate());
    SIM_TRY(reply, c.registry.CreateProvisioningClaim({std::string(c.Label(0)), keys.certificate}));
    return json{{"certificateId", reply.certificate_id},
                {"certificatePem", reply.certificate_pem},
                {"keyPair", KeyPair(keys)},
                {"expiration", Epoch(reply.expiration)}};
}

AwsResult<json> RegisterThing(Context& c) {
    account::RegisterThingRequest r;
    SIM_TRY(body, BodyString(c, "templateBody", kMaxTemplateBody, true));
    SIM_TRY(parameters, StringMapMember(c.request.body, "parameters"));
    r.template_body = *body;
    if (parameters) {
        r.parameters = *parameters;
    }
    SIM_TRY(reply, c.registry.RegisterThing(r));
    json out = {{"resourceArns", reply.resource_arns}};
    SetIf(out, "certificatePem", reply.certificate_pem);
    return out;
}

#undef SIM_TRY
#undef SIM_TRY_STATUS

constexpr Access R = Access::kRead;
constexpr Access W = Access::kWrite;

// Method, path template, botocore operation name, access, handler.
const std::array kOperations{
    OperationSpec{"GET", "/registrationcode", "GetRegistrationCode", W, GetRegistrationCode},
    OperationSpec{"DELETE", "/registrationcode", "DeleteRegistrationCode", W, DeleteRegistrationCode},
    OperationSpec{"GET", "/endpoint", "DescribeEndpoint", R, DescribeEndpoint},
    OperationSpec{"POST", "/tags", "TagResource", W, TagResource},
    OperationSpec{"POST", "/untag", "UntagResource", W, UntagResource},
    OperationSpec{"GET", "/tags", "ListTagsForResource", R, ListTagsForResource},
    OperationSpec{"GET", "/event-configurations", "DescribeEventConfigurations", R,
                  DescribeEventConfigurations},
    OperationSpec{"PATCH", "/event-configurations", "UpdateEventConfigurations", W,
                  UpdateEventConfigurations},
    OperationSpec{"POST", "/cacertificate", "RegisterCACertificate", W, RegisterCACertificate},
    OperationSpec{"GET", "/cacertificate/{caCertificateId}", "DescribeCACertificate", R,
                  DescribeCACertificate},
    OperationSpec{"PUT", "/cacertificate/{caCertificateId}", "UpdateCACertificate", W,
                  UpdateCACertificate},
    OperationSpec{"DELETE", "/cacertificate/{caCertificateId}", "DeleteCACertificate", W,
                  DeleteCACertificate},
    OperationSpec{"GET", "/cacertificates", "ListCACertificates", R, ListCACertificates},
    OperationSpec{"POST", "/certificate/register", "RegisterCertificate", W, RegisterCertificate},
    OperationSpec{"POST", "/certificate/register-no-ca", "RegisterCertificateWithoutCA", W,
                  RegisterCertificateWithoutCA},
    OperationSpec{"GET", "/certificates/{certificateId}", "DescribeCertificate", R,
                  DescribeCertificate},
    OperationSpec{"PUT", "/certificates/{certificateId}", "UpdateCertificate", W,
                  UpdateCertificate},
    OperationSpec{"DELETE", "/certificates/{certificateId}", "DeleteCertificate", W,
                  DeleteCertificate},
    OperationSpec{"GET", "/certificates", "ListCertificates", R, ListCertificates},
    OperationSpec{"POST", "/certificates", "CreateCertificateFromCsr", W, CreateCertificateFromCsr},
    OperationSpec{"GET", "/certificates-by-ca/{caCertificateId}", "ListCertificatesByCA", R,
                  ListCertificatesByCA},
    OperationSpec{"POST", "/keys-and-certificate", "CreateKeysAndCertificate", W,
                  CreateKeysAndCertificate},
    OperationSpec{"POST", "/things", "RegisterThing", W, RegisterThing},
    OperationSpec{"GET", "/things", "ListThings", R, ListThings},
    OperationSpec{"POST", "/things/{thingName}", "CreateThing", W, CreateThing},
    OperationSpec{"GET", "/things/{thingName}", "DescribeThing", R, DescribeThing},
    OperationSpec{"PATCH", "/things/{thingName}", "UpdateThing", W, UpdateThing},
    OperationSpec{"DELETE", "/things/{thingName}", "DeleteThing", W, DeleteThing},
    OperationSpec{"PUT", "/things/{thingName}/principals", "AttachThingPrincipal", W,
                  AttachThingPrincipal},
    OperationSpec{"DELETE", "/things/{thingName}/principals", "DetachThingPrincipal", W,
                  DetachThingPrincipal},
    OperationSpec{"GET", "/things/{thingName}/principals", "ListThingPrincipals", R,
                  ListThingPrincipals},
    OperationSpec{"GET", "/principals/things", "ListPrincipalThings", R, ListPrincipalThings},
    OperationSpec{"POST", "/thing-types/{thingTypeName}", "CreateThingType", W, CreateThingType},
    OperationSpec{"GET", "/thing-types/{thingTypeName}", "DescribeThingType", R,
                  DescribeThingType},
    OperationSpec{"GET", "/policies", "ListPolicies", R, ListPolicies},
    OperationSpec{"POST", "/policies/{policyName}", "CreatePolicy", W, CreatePolicy},
    OperationSpec{"GET", "/policies/{policyName}", "GetPolicy", R, GetPolicy},
    OperationSpec{"DELETE", "/policies/{policyName}", "DeletePolicy", W, DeletePolicy},
    OperationSpec{"POST", "/policies/{policyName}/version", "CreatePolicyVersion", W,
                  CreatePolicyVersion},
    OperationSpec{"GET", "/policies/{policyName}/version", "ListPolicyVersions", R,
                  ListPolicyVersions},
    OperationSpec{"GET", "/policies/{policyName}/version/{policyVersionId}", "GetPolicyVersion", R,
                  GetPolicyVersion},
    OperationSpec{"PATCH", "/policies/{policyName}/version/{policyVersionId}",
                  "SetDefaultPolicyVersion", W, SetDefaultPolicyVersion},
    OperationSpec{"DELETE", "/policies/{policyName}/version/{policyVersionId}",
                  "DeletePolicyVersion", W, DeletePolicyVersion},
    OperationSpec{"PUT", "/target-policies/{policyName}", "AttachPolicy", W, AttachPolicy},
    OperationSpec{"POST", "/target-policies/{policyName}", "DetachPolicy", W, DetachPolicy},
    OperationSpec{"POST", "/attached-policies/{target}", "ListAttachedPolicies", R,
                  ListAttachedPolicies},
    OperationSpec{"POST", "/policy-targets/{policyName}", "ListTargetsForPolicy", R,
                  ListTargetsForPolicy},
    OperationSpec{"POST", "/effective-policies", "GetEffectivePolicies", R, GetEffectivePolicies},
    OperationSpec{"POST", "/provisioning-templates", "CreateProvisioningTemplate", W,
                  CreateProvisioningTemplate},
    OperationSpec{"GET", "/provisioning-templates", "ListProvisioningTemplates", R,
                  ListProvisioningTemplates},
    OperationSpec{"GET", "/provisioning-templates/{templateName}", "DescribeProvisioningTemplate",
                  R, DescribeProvisioningTemplate},
    OperationSpec{"PATCH", "/provisioning-templates/{templateName}", "UpdateProvisioningTemplate",
                  W, UpdateProvisioningTemplate},
    OperationSpec{"DELETE", "/provisioning-templates/{templateName}",
                  "DeleteProvisioningTemplate", W, DeleteProvisioningTemplate},
    OperationSpec{"POST", "/provisioning-templates/{templateName}/versions",
                  "CreateProvisioningTemplateVersion", W, CreateProvisioningTemplateVersion},
    OperationSpec{"GET", "/provisioning-templates/{templateName}/versions",
                  "ListProvisioningTemplateVersions", R, ListProvisioningTemplateVersions},
    OperationSpec{"GET", "/provisioning-templates/{templateName}/versions/{versionId}",
                  "DescribeProvisioningTemplateVersion", R, DescribeProvisioningTemplateVersion},
    OperationSpec{"DELETE", "/provisioning-templates/{templateName}/versions/{versionId}",
                  "DeleteProvisioningTemplateVersion", W, DeleteProvisioningTemplateVersion},
    OperationSpec{"POST", "/provisioning-templates/{templateName}/provisioning-claim",
                  "CreateProvisioningClaim", W, CreateProvisioningClaim},
};

// Matches `segments` against a path template; fills `labels` on success.
bool Matches(std::string_view path, const std::vector<std::string>& segments,
             std::vector<std::string>& labels) {
    labels.clear();
    std::size_t index = 0;
    std::size_t start = 1;  // skip the leading '/'
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string_view::npos) {
            end = path.size();
        }
        const std::string_view part = path.substr(start, end - start);
        if (index >= segments.size()) {
            return false;
        }
        if (!part.empty() && part.front() == '{') {
            if (segments[index].empty()) {
                return false;
            }
            labels.push_back(segments[index]);
        } else if (part != segments[index]) {
            return false;
        }
        ++index;
        start = end + 1;
    }
    return index == segments.size();
}

// The request's members checked against the AWS IoT service model (ValidateRequest) before
// the operation runs: AWS validates a request before it changes anything. The router's path
// labels are named as the model's locationName.
std::optional<std::string> ValidateMembers(const ParsedRequest& parsed) {
    const auto operation = FindOperation(parsed.operation);
    if (!operation) {
        return std::nullopt;
    }
    std::vector<std::pair<std::string, std::string>> labels;
    std::string_view path = parsed.spec->path;
    std::size_t index = 0;
    for (auto open = path.find('{'); open != std::string_view::npos; open = path.find('{')) {
        const auto close = path.find('}', open);
        if (close == std::string_view::npos || index >= parsed.labels.size()) {
            break;
        }
        std::string_view name = path.substr(open + 1, close - open - 1);
        if (!name.empty() && name.back() == '+') {
            name.remove_suffix(1);
        }
        labels.emplace_back(std::string(name), parsed.labels[index++]);
        path.remove_prefix(close + 1);
    }
    return ValidateRequest(*operation, {std::move(labels), parsed.query, parsed.body});
}

}  // namespace

std::vector<ServedOperation> ServedOperations() {
    std::vector<ServedOperation> served;
    served.reserve(kOperations.size());
    for (const auto& spec : kOperations) {
        served.push_back({spec.name, spec.method, spec.path});
    }
    return served;
}

AwsResult<ParsedRequest> ParseRequest(const HttpRequest& request) {
    auto segments = SplitPath(request.raw_path);
    if (!segments) {
        return Fail(et::kInvalidRequest, segments.error().message);
    }
    ParsedRequest parsed;
    bool path_known = false;
    for (const auto& spec : kOperations) {
        std::vector<std::string> labels;
        if (!Matches(spec.path, *segments, labels)) {
            continue;
        }
        path_known = true;
        if (spec.method != request.method) {
            continue;
        }
        parsed.spec = &spec;
        parsed.operation = std::string(spec.name);
        parsed.access = spec.access;
        parsed.labels = std::move(labels);
        break;
    }
    if (parsed.spec == nullptr) {
        // Assumed: AWS's front end answers an unknown route with 404 UnknownOperationException
        // and a known path with a wrong method with 405 MethodNotAllowedException (and an
        // Allow header); the CLI never sends either.
        AwsError error{std::string(kUnknownOperation),
                       request.method + " " + request.raw_path + " is not an operation of this API",
                       std::nullopt, std::nullopt};
        if (path_known) {
            error.type = std::string(kMethodNotAllowed);
            error.message = request.method + " is not allowed on " + request.raw_path;
        }
        return Unexpected<AwsError>(std::move(error));
    }
    auto query = ParseQuery(request.raw_query);
    if (!query) {
        return Fail(et::kInvalidRequest, query.error().message);
    }
    parsed.query = std::move(*query);
    if (request.body.size() > kMaxBodyBytes) {
        return Fail(et::kInvalidRequest,
                    "request body is larger than " + std::to_string(kMaxBodyBytes) + " bytes");
    }
    // Empty body and {} are the same (botocore sends no body for inputs without body members).
    const bool blank = request.body.find_first_not_of(" \t\r\n") == std::string::npos;
    if (blank) {
        parsed.body = json::object();
    } else {
        parsed.body = json::parse(request.body, nullptr, false);
        if (parsed.body.is_discarded()) {
            return Fail(et::kInvalidRequest, "request body is not valid JSON");
        }
        if (!parsed.body.is_object()) {
            return Fail(et::kInvalidRequest, "request body must be a JSON object");
        }
    }
    parsed.principal = request.Header("x-amzn-principal");
    if (auto invalid = ValidateMembers(parsed)) {
        return Fail(et::kInvalidRequest, std::move(*invalid));
    }
    return parsed;
}

HttpResponse ErrorResponse(const AwsError& error) {
    HttpResponse response;
    if (error.type == kUnknownOperation) {
        response.status = 404;
    } else if (error.type == kMethodNotAllowed) {
        response.status = 405;
    } else {
        response.status = account::HttpStatusOf(error.type);
    }
    response.headers.emplace_back("x-amzn-ErrorType", error.type);
    response.headers.emplace_back("Content-Type", "application/json");
    json body = {{"message", error.message}, {"__type", error.type}};
    if (error.resource_id) {
        body["resourceId"] = *error.resource_id;
    }
    if (error.resource_arn) {
        body["resourceArn"] = *error.resource_arn;
    }
    response.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
    return response;
}

HttpResponse Execute(const ParsedRequest& parsed, account::Registry& registry,
                     CertificateIssuer& issuer) {
    Context context{parsed, registry, issuer};
    AwsResult<json> result = Fail(et::kInternalFailure, "no handler");
    try {
        result = parsed.spec->handler(context);
    } catch (const std::exception& e) {
        // A registry or JSON library exception is a bug: answer 500, as AWS's fault would.
        result = Fail(et::kInternalFailure, std::string("internal error: ") + e.what());
    }
    if (!result) {
        return ErrorResponse(result.error());
    }
    HttpResponse response;
    response.status = 200;
    response.headers.emplace_back("Content-Type", "application/json");
    response.body = result->dump(-1, ' ', false, json::error_handler_t::replace);
    return response;
}

std::string AllowedMethods(std::string_view raw_path) {
    std::string allowed;
    const auto segments = SplitPath(raw_path);
    if (!segments) {
        return allowed;
    }
    for (const auto& spec : kOperations) {
        std::vector<std::string> labels;
        if (Matches(spec.path, *segments, labels) &&
            allowed.find(spec.method) == std::string::npos) {
            allowed += (allowed.empty() ? "" : ", ") + std::string(spec.method);
        }
    }
    return allowed;
}

HttpResponse RefusalResponse(const HttpRequest& request, const AwsError& error) {
    HttpResponse response = ErrorResponse(error);
    if (error.type == kMethodNotAllowed) {
        response.headers.emplace_back("Allow", AllowedMethods(request.raw_path));  // RFC 9110
    }
    return response;
}

HttpResponse Handle(const HttpRequest& request, account::Registry& registry,
                    CertificateIssuer& issuer, std::string_view request_id) {
    auto parsed = ParseRequest(request);
    HttpResponse response = parsed ? Execute(*parsed, registry, issuer)
                                   : RefusalResponse(request, parsed.error());
    response.headers.emplace_back("x-amzn-RequestId", std::string(request_id));
    return response;
}

std::vector<std::string> ListOperations() {
    std::vector<std::string> out;
    for (const auto& spec : kOperations) {
        out.push_back(std::string(spec.name) + " " + std::string(spec.method) + " " +
                      std::string(spec.path));
    }
    return out;
}

}  // namespace sim::controlplane
