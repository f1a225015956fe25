// SPDX-License-Identifier: Apache-2.0
#include "registry_internal.hpp"

#include <cctype>
#include <chrono>

#include <nlohmann/json.hpp>

#ifdef SIM_ACCOUNT_WITH_POLICY
#include "sim/account/policy.hpp"
#endif

namespace sim::account::internal {
namespace {

bool AllOf(std::string_view text, bool (*allowed)(char)) {
    for (const char c : text) {
        if (!allowed(c)) {
            return false;
        }
    }
    return true;
}

bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

}  // namespace

bool IsThingName(std::string_view name) {
    return !name.empty() && name.size() <= 128 &&
           AllOf(name, [](char c) { return IsAlnum(c) || c == ':' || c == '_' || c == '-'; });
}

bool IsPolicyName(std::string_view name) {
    return !name.empty() && name.size() <= 128 && AllOf(name, [](char c) {
        return IsAlnum(c) || c == '_' || c == '+' || c == '=' || c == ',' || c == '.' || c == '@' ||
               c == '-';
    });
}

bool IsTemplateName(std::string_view name) {
    return !name.empty() && name.size() <= 36 &&
           AllOf(name, [](char c) { return IsAlnum(c) || c == '_' || c == '-'; });
}

bool IsAttributeName(std::string_view name) {
    return !name.empty() && name.size() <= 128 && AllOf(name, [](char c) {
        return IsAlnum(c) || c == '_' || c == '.' || c == ',' || c == '@' || c == '/' || c == ':' ||
               c == '#' || c == '-';
    });
}

bool IsAttributeValue(std::string_view value) {
    return value.size() <= 800 && AllOf(value, [](char c) {
               return IsAlnum(c) || c == '_' || c == '.' || c == ',' || c == '@' || c == '/' ||
                      c == ':' || c == '#' || c == '=' || c == '[' || c == ']' || c == '-';
           });
}

bool IsPolicyVersionId(std::string_view id) {
    return !id.empty() && id.size() <= 18 && AllOf(id, [](char c) { return c >= '0' && c <= '9'; });
}

AwsResult<std::string> NormaliseCertificateId(std::string_view id, std::string_view field) {
    if (id.rfind("0x", 0) == 0) {
        id.remove_prefix(2);
    }
    std::string out;
    out.reserve(id.size());
    for (const char c : id) {
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (!sim::IsLowerHex(out, 64)) {
        return Fail(error_type::kInvalidRequest,
                    std::string(field) + ": expected 64 hexadecimal characters");
    }
    return out;
}

AwsStatus ValidatePolicyDocument(std::string_view document) {
#ifdef SIM_ACCOUNT_WITH_POLICY
    // The policy evaluator's parser is the authority on what a valid document is.
    if (auto parsed = sim::account::ParsePolicyDocument(document); !parsed) {
        return Fail(error_type::kMalformedPolicy, "policyDocument: " + parsed.error().message);
    }
    return {};
#else
    std::size_t non_whitespace = 0;
    for (const char c : document) {
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            ++non_whitespace;
        }
    }
    if (non_whitespace > kMaxPolicyDocumentChars) {
        return Fail(error_type::kMalformedPolicy,
                    "policyDocument: " + std::to_string(non_whitespace) +
                        " non-whitespace characters (at most 2048)");
    }
    const auto json = nlohmann::json::parse(document, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded() || !json.is_object()) {
        return Fail(error_type::kMalformedPolicy, "policyDocument: not a JSON object");
    }
    if (!json.contains("Statement")) {
        return Fail(error_type::kMalformedPolicy, "policyDocument: Statement is missing");
    }
    nlohmann::json statements = json["Statement"];
    if (statements.is_object()) {
        statements = nlohmann::json::array({statements});
    }
    if (!statements.is_array() || statements.empty()) {
        return Fail(error_type::kMalformedPolicy,
                    "policyDocument.Statement: expected a statement or a list of statements");
    }
    for (std::size_t i = 0; i < statements.size(); ++i) {
        const auto& statement = statements[i];
        const std::string where = "policyDocument.Statement[" + std::to_string(i) + "]";
        if (!statement.is_object()) {
            return Fail(error_type::kMalformedPolicy, where + ": expected an object");
        }
        if (!statement.contains("Effect") ||
            (statement["Effect"] != "Allow" && statement["Effect"] != "Deny")) {
            return Fail(error_type::kMalformedPolicy, where + ".Effect: expected Allow or Deny");
        }
        if (statement.contains("Action") == statement.contains("NotAction")) {
            return Fail(error_type::kMalformedPolicy, where + ": exactly one of Action, NotAction");
        }
        if (statement.contains("Resource") == statement.contains("NotResource")) {
            return Fail(error_type::kMalformedPolicy,
                        where + ": exactly one of Resource, NotResource");
        }
    }
    return {};
#endif
}

AwsStatus ValidateAttributes(const std::map<std::string, std::string>& attributes,
                             bool has_thing_type) {
    for (const auto& [name, value] : attributes) {
        if (!IsAttributeName(name)) {
            return Fail(error_type::kInvalidRequest,
                        "attributePayload.attributes: invalid attribute name \"" + name + "\"");
        }
        if (!IsAttributeValue(value)) {
            return Fail(error_type::kInvalidRequest,
                        "attributePayload.attributes." + name + ": invalid value");
        }
    }
    // doc_source/limits-iot.md: 3 attributes without a thing type, 50 with one.
    const std::size_t limit = has_thing_type ? 50 : 3;
    if (attributes.size() > limit) {
        return Fail(error_type::kInvalidRequest,
                    "attributePayload.attributes: " + std::to_string(attributes.size()) +
                        " attributes; at most " + std::to_string(limit) +
                        (has_thing_type ? " for a thing with a type"
                                        : " for a thing without a thing type"));
    }
    return {};
}

AwsResult<PageWindow> ReadPage(const PageRequest& page, std::string_view size_field,
                               std::string_view marker_field, bool default_ascending) {
    PageWindow window;
    window.ascending = default_ascending;
    if (page.page_size) {
        if (*page.page_size < 1 || *page.page_size > kMaxPageSize) {
            return Fail(error_type::kInvalidRequest,
                        std::string(size_field) + ": must be between 1 and 250");
        }
        window.size = static_cast<std::size_t>(*page.page_size);
    }
    if (page.marker) {
        auto decoded = sim::Base64Decode(*page.marker);
        if (!decoded || decoded->empty()) {
            return Fail(error_type::kInvalidRequest,
                        std::string(marker_field) + ": not a marker this service issued");
        }
        window.after = std::move(*decoded);
    }
    return window;
}

std::string TimeKey(TimePoint time, std::string_view id) {
    const std::string digits = std::to_string(ToMicros(time));
    std::string key(digits.size() < 20 ? 20 - digits.size() : 0, '0');
    key += digits;
    key += '/';
    key += id;
    return key;
}

std::int64_t ToMicros(TimePoint time) {
    return std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
}

TimePoint FromMicros(std::int64_t micros) {
    return TimePoint{
        std::chrono::duration_cast<TimePoint::duration>(std::chrono::microseconds{micros})};
}

AwsResult<pki::CertificateInfo> ParsePem(std::string_view pem, std::string_view field) {
    if (pem.empty() || pem.size() > internal::kMaxCertificatePem) {
        return Fail(error_type::kInvalidRequest,
                    std::string(field) + ": must be 1 to 65536 characters");
    }
    auto parsed = pki::ParseCertificatePem(pem);
    if (!parsed) {
        return Fail(error_type::kCertificateValidation,
                    std::string(field) + ": " + parsed.error().message);
    }
    return std::move(*parsed);
}

AwsStatus CheckValidity(const pki::CertificateInfo& info, TimePoint now, std::string_view field) {
    if (now < info.not_before) {
        return Fail(error_type::kCertificateValidation,
                    std::string(field) + ": the certificate is not yet valid");
    }
    if (now > info.not_after) {
        return Fail(error_type::kCertificateValidation,
                    std::string(field) + ": the certificate has expired");
    }
    return {};
}

AwsResult<const Thing*> ExistingThing(const Registry& registry, std::string_view thing_name) {
    if (!internal::IsThingName(thing_name)) {
        return Fail(error_type::kInvalidRequest,
                    "thingName: must be 1-128 characters of [a-zA-Z0-9:_-]");
    }
    const auto* thing = registry.FindThing(thing_name);
    if (thing == nullptr) {
        return Fail(error_type::kResourceNotFound,
                    "thing " + std::string(thing_name) + " does not exist");
    }
    return thing;
}

AwsStatus CheckTemplateName(std::string_view name) {
    if (!internal::IsTemplateName(name)) {
        return Fail(error_type::kInvalidRequest,
                    "templateName: must be 1-36 characters of [0-9A-Za-z_-]");
    }
    return {};
}

}  // namespace sim::account::internal
