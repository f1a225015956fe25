// SPDX-License-Identifier: Apache-2.0
#include "sim/account/types.hpp"

#include <array>
#include <utility>

namespace sim::account {
namespace {

template <class Enum, std::size_t N>
std::optional<Enum> ParseFrom(const std::array<std::pair<Enum, std::string_view>, N>& table,
                              std::string_view text) {
    for (const auto& [value, name] : table) {
        if (name == text) {
            return value;
        }
    }
    return std::nullopt;
}

template <class Enum, std::size_t N>
std::string_view NameOf(const std::array<std::pair<Enum, std::string_view>, N>& table, Enum value) {
    for (const auto& [candidate, name] : table) {
        if (candidate == value) {
            return name;
        }
    }
    return "UNKNOWN";
}

constexpr std::array<std::pair<CertificateStatus, std::string_view>, 6> kCertificateStatuses{{
    {CertificateStatus::kActive, "ACTIVE"},
    {CertificateStatus::kInactive, "INACTIVE"},
    {CertificateStatus::kRevoked, "REVOKED"},
    {CertificateStatus::kPendingTransfer, "PENDING_TRANSFER"},
    {CertificateStatus::kRegisterInactive, "REGISTER_INACTIVE"},
    {CertificateStatus::kPendingActivation, "PENDING_ACTIVATION"},
}};
constexpr std::array<std::pair<CaStatus, std::string_view>, 2> kCaStatuses{{
    {CaStatus::kActive, "ACTIVE"},
    {CaStatus::kInactive, "INACTIVE"},
}};
constexpr std::array<std::pair<AutoRegistrationStatus, std::string_view>, 2> kAutoStatuses{{
    {AutoRegistrationStatus::kEnable, "ENABLE"},
    {AutoRegistrationStatus::kDisable, "DISABLE"},
}};
constexpr std::array<std::pair<CertificateMode, std::string_view>, 2> kModes{{
    {CertificateMode::kDefault, "DEFAULT"},
    {CertificateMode::kSniOnly, "SNI_ONLY"},
}};
constexpr std::array<std::pair<TemplateType, std::string_view>, 2> kTemplateTypes{{
    {TemplateType::kFleetProvisioning, "FLEET_PROVISIONING"},
    {TemplateType::kJitp, "JITP"},
}};
constexpr std::array<std::pair<ThingPrincipalType, std::string_view>, 2> kPrincipalTypes{{
    {ThingPrincipalType::kExclusiveThing, "EXCLUSIVE_THING"},
    {ThingPrincipalType::kNonExclusiveThing, "NON_EXCLUSIVE_THING"},
}};

std::string MakeArn(const AccountSettings& account, std::string_view kind, std::string_view name) {
    std::string arn = "arn:aws:iot:";
    arn += account.region;
    arn += ':';
    arn += account.account_id;
    arn += ':';
    arn += kind;
    arn += '/';
    arn += name;
    return arn;
}

}  // namespace

sim::Unexpected<AwsError> Fail(std::string_view type, std::string message) {
    return sim::Unexpected<AwsError>(AwsError{std::string(type), std::move(message), {}, {}});
}

int HttpStatusOf(std::string_view error_type) {
    // The HTTP status of each exception, as the AWS IoT API Reference lists it per action.
    static constexpr std::array<std::pair<std::string_view, int>, 21> kStatuses{{
        {"InvalidRequestException", 400},
        {"CertificateValidationException", 400},
        {"RegistrationCodeValidationException", 400},
        {"MalformedPolicyException", 400},
        {"ResourceRegistrationFailureException", 400},
        {"ThrottlingException", 400},
        {"UnauthorizedException", 401},
        {"ResourceNotFoundException", 404},
        {"CertificateStateException", 406},
        {"ResourceAlreadyExistsException", 409},
        {"CertificateConflictException", 409},
        {"ConflictingResourceUpdateException", 409},
        {"DeleteConflictException", 409},
        {"VersionConflictException", 409},
        {"VersionsLimitExceededException", 409},
        {"LimitExceededException", 410},
        {"InternalFailureException", 500},
        {"ServiceUnavailableException", 503},
        // Fleet-provisioning MQTT statusCode values (Assumed except the first,
        // aws-iot-device-sdk-js-v2 issue #69).
        {"InvalidCertificateOwnershipToken", 400},
        {"InvalidPayload", 400},
        {"AccessDenied", 403},
    }};
    for (const auto& [name, status] : kStatuses) {
        if (name == error_type) {
            return status;
        }
    }
    return 400;
}

std::string_view ToString(CertificateStatus status) { return NameOf(kCertificateStatuses, status); }
std::string_view ToString(CaStatus status) { return NameOf(kCaStatuses, status); }
std::string_view ToString(AutoRegistrationStatus status) { return NameOf(kAutoStatuses, status); }
std::string_view ToString(CertificateMode mode) { return NameOf(kModes, mode); }
std::string_view ToString(TemplateType type) { return NameOf(kTemplateTypes, type); }
std::string_view ToString(ThingPrincipalType type) { return NameOf(kPrincipalTypes, type); }

std::optional<CertificateStatus> ParseCertificateStatus(std::string_view text) {
    return ParseFrom(kCertificateStatuses, text);
}
std::optional<CaStatus> ParseCaStatus(std::string_view text) {
    return ParseFrom(kCaStatuses, text);
}
std::optional<AutoRegistrationStatus> ParseAutoRegistrationStatus(std::string_view text) {
    return ParseFrom(kAutoStatuses, text);
}
std::optional<CertificateMode> ParseCertificateMode(std::string_view text) {
    return ParseFrom(kModes, text);
}
std::optional<TemplateType> ParseTemplateType(std::string_view text) {
    return ParseFrom(kTemplateTypes, text);
}
std::optional<ThingPrincipalType> ParseThingPrincipalType(std::string_view text) {
    return ParseFrom(kPrincipalTypes, text);
}

std::string CertificateArn(const AccountSettings& account, std::string_view certificate_id) {
    return MakeArn(account, "cert", certificate_id);
}
std::string CaCertificateArn(const AccountSettings& account, std::string_view ca_certificate_id) {
    return MakeArn(account, "cacert", ca_certificate_id);
}
std::string ThingArn(const AccountSettings& account, std::string_view thing_name) {
    return MakeArn(account, "thing", thing_name);
}
std::string ThingTypeArn(const AccountSettings& account, std::string_view thing_type_name) {
    return MakeArn(account, "thingtype", thing_type_name);
}
std::string PolicyArn(const AccountSettings& account, std::string_view policy_name) {
    return MakeArn(account, "policy", policy_name);
}
std::string ProvisioningTemplateArn(const AccountSettings& account,
                                    std::string_view template_name) {
    return MakeArn(account, "provisioningtemplate", template_name);
}

const std::string& Policy::DefaultDocument() const {
    for (const auto& version : versions) {
        if (version.version_id == default_version_id) {
            return version.document;
        }
    }
    static const std::string kEmpty;
    return kEmpty;
}

const std::string& ProvisioningTemplate::DefaultBody() const {
    for (const auto& version : versions) {
        if (version.version_id == default_version_id) {
            return version.template_body;
        }
    }
    static const std::string kEmpty;
    return kEmpty;
}

}  // namespace sim::account
