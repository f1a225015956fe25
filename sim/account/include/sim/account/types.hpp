// SPDX-License-Identifier: Apache-2.0
#pragma once
// The AWS IoT account model's vocabulary: errors as AWS names them, statuses, and the registry's
// entities (CA certificates, device certificates, things, policies, provisioning templates).
// Pure data; no I/O. Field names mirror the AWS IoT API (botocore iot 2015-05-28 model), in
// snake_case. Timestamps are sim::TimePoint; adapters render them as epoch seconds.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pki/certificate.hpp"
#include "sim/core/ports.hpp"
#include "sim/core/result.hpp"

namespace sim::account {

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// An AWS IoT error as the wire carries it (x-amzn-ErrorType). `type` is the exception
/// name, e.g. "ResourceNotFoundException"; `message` is one line naming the field or step.
/// `resource_id`/`resource_arn` are set for ResourceAlreadyExistsException only.
struct AwsError {
    std::string type;
    std::string message;
    std::optional<std::string> resource_id;
    std::optional<std::string> resource_arn;
};

template <class T>
using AwsResult = sim::Result<T, AwsError>;
using AwsStatus = sim::Result<void, AwsError>;

/// The exception names used by this model (AWS IoT API Reference, each action's Errors).
namespace error_type {
inline constexpr std::string_view kInvalidRequest = "InvalidRequestException";
inline constexpr std::string_view kCertificateValidation = "CertificateValidationException";
inline constexpr std::string_view kRegistrationCodeValidation =
    "RegistrationCodeValidationException";
inline constexpr std::string_view kMalformedPolicy = "MalformedPolicyException";
inline constexpr std::string_view kResourceRegistrationFailure =
    "ResourceRegistrationFailureException";
inline constexpr std::string_view kUnauthorized = "UnauthorizedException";
inline constexpr std::string_view kResourceNotFound = "ResourceNotFoundException";
inline constexpr std::string_view kCertificateState = "CertificateStateException";
inline constexpr std::string_view kResourceAlreadyExists = "ResourceAlreadyExistsException";
inline constexpr std::string_view kCertificateConflict = "CertificateConflictException";
inline constexpr std::string_view kConflictingResourceUpdate = "ConflictingResourceUpdateException";
inline constexpr std::string_view kDeleteConflict = "DeleteConflictException";
inline constexpr std::string_view kVersionConflict = "VersionConflictException";
inline constexpr std::string_view kVersionsLimitExceeded = "VersionsLimitExceededException";
inline constexpr std::string_view kLimitExceeded = "LimitExceededException";
inline constexpr std::string_view kInternalFailure = "InternalFailureException";
// Fleet-provisioning MQTT API errorCode strings (only the first is confirmed, by an AWS answer in
// aws-iot-device-sdk-js-v2 issue #69; the others are Assumed).
inline constexpr std::string_view kInvalidCertificateOwnershipToken =
    "InvalidCertificateOwnershipToken";
inline constexpr std::string_view kAccessDenied = "AccessDenied";
inline constexpr std::string_view kInvalidPayload = "InvalidPayload";
}  // namespace error_type

/// Builds an AwsError result: `return Fail(error_type::kInvalidRequest, "thingName: ...")`.
sim::Unexpected<AwsError> Fail(std::string_view type, std::string message);

/// The HTTP status of an AWS IoT error type per the AWS IoT API Reference (e.g. 404 for
/// ResourceNotFoundException, 406 for CertificateStateException, 410 for LimitExceeded).
/// The fleet-provisioning codes map to 400 (InvalidCertificateOwnershipToken, InvalidPayload)
/// and 403 (AccessDenied). Unknown types map to 400.
int HttpStatusOf(std::string_view error_type);

// ---------------------------------------------------------------------------------------------
// Statuses (AWS IoT API Reference, CertificateDescription). ToString gives the AWS spelling;
// Parse* accept exactly it.
// ---------------------------------------------------------------------------------------------

enum class CertificateStatus {
    kActive,
    kInactive,
    kRevoked,
    kPendingTransfer,
    kRegisterInactive,
    kPendingActivation,
};
enum class CaStatus { kActive, kInactive };
enum class AutoRegistrationStatus { kEnable, kDisable };
enum class CertificateMode { kDefault, kSniOnly };
enum class TemplateType { kFleetProvisioning, kJitp };
enum class ThingPrincipalType { kExclusiveThing, kNonExclusiveThing };

std::string_view ToString(CertificateStatus status);
std::string_view ToString(CaStatus status);
std::string_view ToString(AutoRegistrationStatus status);
std::string_view ToString(CertificateMode mode);
std::string_view ToString(TemplateType type);
std::string_view ToString(ThingPrincipalType type);
std::optional<CertificateStatus> ParseCertificateStatus(std::string_view text);
std::optional<CaStatus> ParseCaStatus(std::string_view text);
std::optional<AutoRegistrationStatus> ParseAutoRegistrationStatus(std::string_view text);
std::optional<CertificateMode> ParseCertificateMode(std::string_view text);
std::optional<TemplateType> ParseTemplateType(std::string_view text);
std::optional<ThingPrincipalType> ParseThingPrincipalType(std::string_view text);

// ---------------------------------------------------------------------------------------------
// Account settings
// ---------------------------------------------------------------------------------------------

/// What identifies one emulated account. `endpoint_prefix` is the 14-character lowercase
/// alphanumeric prefix of the account's endpoints (e.g. "a1b2c3d4e5f6g7"); `domain` is the
/// reserved suffix (endpoints live under `.test`, a name RFC 2606 reserves).
struct AccountSettings {
    std::string account_id;       ///< 12 digits.
    std::string region;           ///< e.g. "us-east-1".
    std::string endpoint_prefix;  ///< 14 chars [a-z0-9].
    std::string domain = "elsim.test";
};

/// ARN builders: arn:aws:iot:<region>:<account>:<kind>/<name>.
std::string CertificateArn(const AccountSettings& account, std::string_view certificate_id);
std::string CaCertificateArn(const AccountSettings& account, std::string_view ca_certificate_id);
std::string ThingArn(const AccountSettings& account, std::string_view thing_name);
std::string ThingTypeArn(const AccountSettings& account, std::string_view thing_type_name);
std::string PolicyArn(const AccountSettings& account, std::string_view policy_name);
std::string ProvisioningTemplateArn(const AccountSettings& account, std::string_view template_name);

// ---------------------------------------------------------------------------------------------
// Entities. The registry owns them; callers get const views (Registry::Find*).
// ---------------------------------------------------------------------------------------------

/// A CA's JITP settings: either {template_body, role_arn} or {template_name} (AWS IoT Core
/// Developer Guide, 'Just-in-time provisioning').
struct RegistrationConfig {
    std::optional<std::string> template_body;
    std::optional<std::string> role_arn;
    std::optional<std::string> template_name;
    bool Empty() const { return !template_body && !role_arn && !template_name; }
    bool operator==(const RegistrationConfig&) const = default;
};

struct CaCertificate {
    std::string certificate_id;   ///< SHA-256 of DER, 64 lowercase hex.
    std::string certificate_arn;  ///< ...:cacert/<id>
    CaStatus status = CaStatus::kInactive;
    AutoRegistrationStatus auto_registration_status = AutoRegistrationStatus::kDisable;
    CertificateMode certificate_mode = CertificateMode::kDefault;
    RegistrationConfig registration_config;
    std::string owned_by;  ///< Account id.
    TimePoint creation_date;
    TimePoint last_modified_date;
    std::int64_t customer_version = 1;  ///< Incremented on each update.
    std::string generation_id;
    pki::CertificateInfo info;  ///< Parsed certificate (pem, subject, validity, key hash).
};

struct Certificate {
    std::string certificate_id;
    std::string certificate_arn;                   ///< ...:cert/<id>
    std::optional<std::string> ca_certificate_id;  ///< Set when registered under a CA.
    CertificateStatus status = CertificateStatus::kInactive;
    CertificateMode certificate_mode = CertificateMode::kDefault;
    std::string owned_by;
    std::optional<std::string> previous_owned_by;
    TimePoint creation_date;
    TimePoint last_modified_date;
    std::int64_t customer_version = 1;
    std::string generation_id;
    pki::CertificateInfo info;
    /// Set for a CreateProvisioningClaim certificate: the template it may provision with and when
    /// it stops working (5 minutes, AWS IoT API Reference, CreateProvisioningClaim). Such
    /// certificates are not listed by ListCertificates.
    std::optional<std::string> claim_template_name;
    std::optional<TimePoint> claim_expiration;
};

struct Thing {
    std::string thing_name;
    std::string thing_arn;
    std::string thing_id;  ///< UUID v4.
    std::optional<std::string> thing_type_name;
    std::map<std::string, std::string> attributes;
    std::int64_t version = 1;  ///< 1 at creation, +1 per update.
    std::optional<std::string> billing_group_name;
    bool operator==(const Thing&) const = default;
};

struct ThingType {
    std::string thing_type_name;
    std::string thing_type_arn;
    std::string thing_type_id;
    std::optional<std::string> description;
    std::vector<std::string> searchable_attributes;
    TimePoint creation_date;
};

struct PolicyVersion {
    std::string version_id;  ///< "1", "2", ...
    std::string document;
    TimePoint create_date;
};

struct Policy {
    std::string policy_name;
    std::string policy_arn;
    std::vector<PolicyVersion> versions;  ///< Ascending by version id; at most 5.
    std::string default_version_id;
    std::int64_t next_version_id = 2;
    TimePoint creation_date;
    TimePoint last_modified_date;
    std::string generation_id;
    /// The default version's document.
    const std::string& DefaultDocument() const;
};

struct PreProvisioningHook {
    std::optional<std::string> payload_version;
    std::string target_arn;
    bool operator==(const PreProvisioningHook&) const = default;
};

struct ProvisioningTemplateVersion {
    std::int64_t version_id = 1;
    std::string template_body;
    TimePoint creation_date;
};

struct ProvisioningTemplate {
    std::string template_name;
    std::string template_arn;
    std::optional<std::string> description;
    TemplateType type = TemplateType::kFleetProvisioning;
    bool enabled = false;
    std::string provisioning_role_arn;
    std::optional<PreProvisioningHook> pre_provisioning_hook;
    std::vector<ProvisioningTemplateVersion> versions;  ///< Ascending; at most 5.
    std::int64_t default_version_id = 1;
    std::int64_t next_version_id = 2;
    TimePoint creation_date;
    TimePoint last_modified_date;
    /// The default version's body.
    const std::string& DefaultBody() const;
};

/// A fleet-provisioning certificateOwnershipToken (AWS IoT Core Developer Guide, 'Device
/// provisioning MQTT API'): binds a certificate created over MQTT to RegisterThing for one hour.
struct OwnershipToken {
    std::string token;
    std::string certificate_id;
    TimePoint expiration;
    /// The connection that requested it, "<certificateId>/<clientId>"; "" binds to none.
    /// Assumed: only that connection (same certificate and client id, possibly reconnected)
    /// may redeem the token.
    std::string requester;
};

// ---------------------------------------------------------------------------------------------
// Effects and persistence
// ---------------------------------------------------------------------------------------------

/// Something the adapters must do after a successful operation. Data, not actions.
struct Effect {
    enum class Kind {
        kPublish,                ///< Publish `payload` (JSON text) on `topic` (QoS 0).
        kDisconnectCertificate,  ///< Close every session authenticated with `certificate_id`.
    };
    Kind kind = Kind::kPublish;
    std::string topic;
    std::string payload;
    std::string certificate_id;
    bool operator==(const Effect&) const = default;
};

}  // namespace sim::account
