// SPDX-License-Identifier: Apache-2.0
#include "sim/account/policy_identity.hpp"

#include <array>

namespace sim::account {
namespace {

struct AttributeName {
    std::string_view openssl;
    std::string_view aws;
};

// cert-policy-variables lists these thirteen attributes; OpenSSL's short names for them.
constexpr std::array<AttributeName, 13> kAttributeNames = {{
    {"C", "Country"},
    {"O", "Organization"},
    {"OU", "OrganizationalUnit"},
    {"ST", "State"},
    {"CN", "CommonName"},
    {"serialNumber", "SerialNumber"},
    {"title", "Title"},
    {"SN", "Surname"},
    {"GN", "GivenName"},
    {"initials", "Initials"},
    {"pseudonym", "Pseudonym"},
    {"generationQualifier", "GenerationQualifier"},
    {"dnQualifier", "DistinguishedNameQualifier"},
}};

}  // namespace

std::string_view AwsCertificateAttributeName(std::string_view openssl_short_name) {
    for (const auto& name : kAttributeNames) {
        if (name.openssl == openssl_short_name) {
            return name.aws;
        }
    }
    return {};
}

CertificateFields CertificateFieldsFromEntries(
    const std::vector<std::pair<std::string, std::string>>& entries) {
    CertificateFields fields;
    for (const auto& [short_name, value] : entries) {
        const std::string_view aws = AwsCertificateAttributeName(short_name);
        if (!aws.empty()) {
            fields.values[std::string(aws)].push_back(value);
        }
    }
    return fields;
}

}  // namespace sim::account
