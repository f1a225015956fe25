// SPDX-License-Identifier: Apache-2.0
#pragma once
// sim::account::Registry: one emulated AWS IoT account's registry (AWS IoT API Reference; AWS IoT
// Core Developer Guide, 'Just-in-time provisioning', JITR, 'Device provisioning MQTT API').
//
// Contract
//  - Pure: no I/O, no clock or randomness of its own (the injected Clock and Random), no
//    logging. Certificates arrive as PEM text (parsed with pki::ParseCertificatePem) or as an
//    already parsed pki::CertificateInfo (the adapter issued it with pki).
//  - Not thread-safe: the caller serialises every call (the plugin and the control plane share
//    one mutex per account). The injected Clock/Random/DefaultModeCaIndex must outlive it.
//  - All-or-nothing: every operation validates fully before it mutates; an operation that
//    returns an error has changed nothing (no entity, no change record, no effect).
//  - Errors are AwsError with AWS's exception names (types.hpp); HttpStatusOf maps them.
//  - Each successful mutating operation records the (kind, key) of every entity it touched;
//    TakeChanges() hands them to the persistence adapter, which writes them in ONE
//    transaction. Load() rebuilds a registry from the rows.
//  - Effects (events to publish, sessions to close) queue up; TakeEffects() drains them.
//
// Request/response field names mirror AWS's (snake_case); optional members are std::optional.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pki/certificate.hpp"
#include "sim/account/pair_map.hpp"
#include "sim/account/template.hpp"
#include "sim/account/types.hpp"
#include "sim/core/ports.hpp"

namespace sim::account {

/// "A CA certificate can be registered in DEFAULT mode by only one account in a Region" (AWS IoT
/// Core Developer Guide, 'Manage your CA certificates'): an index shared by every account of a
/// world (the world owns it; in a multi-process world an adapter may implement it over a shared
/// file). Not thread-safe unless the implementation says so.
class DefaultModeCaIndex {
public:
    virtual ~DefaultModeCaIndex() = default;
    /// Claims (region, ca_certificate_id) for `account_id`. True when it was free or already
    /// held by `account_id`; false when another account holds it.
    virtual bool TryClaim(std::string_view region, std::string_view ca_certificate_id,
                          std::string_view account_id) = 0;
    /// Releases a claim held by `account_id` (no-op otherwise).
    virtual void Release(std::string_view region, std::string_view ca_certificate_id,
                         std::string_view account_id) = 0;
};

/// The in-memory index for a single-process world and for tests.
class InMemoryDefaultModeCaIndex final : public DefaultModeCaIndex {
public:
    bool TryClaim(std::string_view region, std::string_view ca_certificate_id,
                  std::string_view account_id) override;
    void Release(std::string_view region, std::string_view ca_certificate_id,
                 std::string_view account_id) override;

private:
    std::map<std::string, std::string> owners_;  // "region/caId" -> account id
};

// ---- Persistence ------------------------------------------------------------------------------

/// One persisted row. Kinds: "registration_code", "event_configurations", "ca", "certificate",
/// "thing", "thing_type", "policy", "template", "policy_target" (key "<policy>\n<target>"),
/// "thing_principal" (key "<thing>\n<principal ARN>"), "ownership_token". `value` nullopt
/// means "delete the row".
struct Change {
    std::string kind;
    std::string key;
    std::optional<nlohmann::json> value;
    bool operator==(const Change&) const = default;
};

// ---- Pagination (AWS IoT API Reference: marker/pageSize, nextToken/maxResults) ---------------

/// Marker/token in, at most page_size (1..250, default 25 — Assumed) results out. Markers are
/// opaque base64 of the last returned key; no marker on the last page.
struct PageRequest {
    std::optional<std::int64_t> page_size;  ///< pageSize or maxResults.
    std::optional<std::string> marker;      ///< marker or nextToken.
    bool ascending = false;                 ///< isAscendingOrder (marker-style lists only).
};

// ---- Requests and responses -------------------------------------------------------------------

struct RegisterCaCertificateRequest {
    std::string ca_certificate;                           ///< PEM
    std::optional<std::string> verification_certificate;  ///< PEM
    bool set_as_active = false;
    bool allow_auto_registration = false;
    std::optional<RegistrationConfig> registration_config;
    std::optional<std::string> certificate_mode;  ///< "DEFAULT" (default) or "SNI_ONLY".
};
struct RegisterCertificateResponse {
    std::string certificate_arn;
    std::string certificate_id;
};

struct UpdateCaCertificateRequest {
    std::string certificate_id;
    std::optional<std::string> new_status;                    ///< ACTIVE | INACTIVE
    std::optional<std::string> new_auto_registration_status;  ///< ENABLE | DISABLE
    std::optional<RegistrationConfig> registration_config;
    bool remove_auto_registration = false;
};

struct CertificateSummary {
    std::string certificate_arn;
    std::string certificate_id;
    std::string status;
    std::string certificate_mode;
    TimePoint creation_date;
};
struct ListCertificatesResponse {
    std::vector<CertificateSummary> certificates;
    std::optional<std::string> next_marker;
};

struct RegisterDeviceCertificateRequest {
    std::string certificate_pem;
    std::optional<std::string> ca_certificate_pem;  ///< RegisterCertificate only.
    std::optional<std::string> status;  ///< ACTIVE | INACTIVE | REVOKED; default INACTIVE.
    bool set_as_active = false;         ///< Deprecated query parameter; wins when true.
};

/// A certificate the adapter issued with pki (CreateKeysAndCertificate,
/// CreateCertificateFromCsr, and the fleet-provisioning MQTT API).
struct RegisterIssuedCertificateRequest {
    pki::CertificateInfo certificate;
    bool set_as_active = false;
};

struct CreateThingRequest {
    std::string thing_name;
    std::optional<std::string> thing_type_name;
    std::optional<std::map<std::string, std::string>> attributes;  ///< attributePayload
    std::optional<std::string> billing_group_name;
};
struct CreateThingResponse {
    std::string thing_name;
    std::string thing_arn;
    std::string thing_id;
};

struct UpdateThingRequest {
    std::string thing_name;
    std::optional<std::string> thing_type_name;
    bool remove_thing_type = false;
    /// attributePayload.attributes; an empty value removes the attribute.
    std::optional<std::map<std::string, std::string>> attributes;
    bool merge = false;  ///< attributePayload.merge
    std::optional<std::int64_t> expected_version;
};

struct ListThingsRequest {
    PageRequest page;
    std::optional<std::string> attribute_name;
    std::optional<std::string> attribute_value;
    std::optional<std::string> thing_type_name;
    bool use_prefix_attribute_value = false;
};
struct ListThingsResponse {
    std::vector<Thing> things;
    std::optional<std::string> next_token;
};

struct CreateThingTypeRequest {
    std::string thing_type_name;
    std::optional<std::string> description;
    std::vector<std::string> searchable_attributes;
};
struct CreateThingTypeResponse {
    std::string thing_type_name;
    std::string thing_type_arn;
    std::string thing_type_id;
};

struct NamesPage {
    std::vector<std::string> names;  ///< principals (ARNs) or thing names
    std::optional<std::string> next_token;
};

struct CreatePolicyResponse {
    std::string policy_name;
    std::string policy_arn;
    std::string policy_document;
    std::string policy_version_id;
};
struct GetPolicyResponse {
    std::string policy_name;
    std::string policy_arn;
    std::string policy_document;
    std::string default_version_id;
    TimePoint creation_date;
    TimePoint last_modified_date;
    std::string generation_id;
};
struct PolicyVersionResponse {
    std::string policy_name;
    std::string policy_arn;
    std::string policy_document;
    std::string policy_version_id;
    bool is_default_version = false;
    TimePoint creation_date;
};
struct PolicySummary {
    std::string policy_name;
    std::string policy_arn;
};
struct ListPoliciesResponse {
    std::vector<PolicySummary> policies;
    std::optional<std::string> next_marker;
};
struct ListTargetsResponse {
    std::vector<std::string> targets;
    std::optional<std::string> next_marker;
};
struct EffectivePolicy {
    std::string policy_name;
    std::string policy_arn;
    std::string policy_document;
};

struct CreateProvisioningTemplateRequest {
    std::string template_name;
    std::optional<std::string> description;
    std::string template_body;
    bool enabled = false;
    std::string provisioning_role_arn;
    std::optional<PreProvisioningHook> pre_provisioning_hook;
    std::optional<std::string> type;  ///< FLEET_PROVISIONING (default) | JITP
};
struct CreateProvisioningTemplateResponse {
    std::string template_arn;
    std::string template_name;
    std::int64_t default_version_id = 1;
};
struct UpdateProvisioningTemplateRequest {
    std::string template_name;
    std::optional<std::string> description;
    std::optional<bool> enabled;
    std::optional<std::int64_t> default_version_id;
    std::optional<std::string> provisioning_role_arn;
    std::optional<PreProvisioningHook> pre_provisioning_hook;
    bool remove_pre_provisioning_hook = false;
};
struct TemplateSummary {
    std::string template_arn;
    std::string template_name;
    std::optional<std::string> description;
    TimePoint creation_date;
    TimePoint last_modified_date;
    bool enabled = false;
    std::string type;
};
struct ListTemplatesResponse {
    std::vector<TemplateSummary> templates;
    std::optional<std::string> next_token;
};
struct TemplateVersionResponse {
    std::string template_arn;
    std::string template_name;
    std::int64_t version_id = 1;
    bool is_default_version = false;
    std::string template_body;
    TimePoint creation_date;
};
struct ListTemplateVersionsResponse {
    std::vector<TemplateVersionResponse> versions;  ///< template_body left empty
    std::optional<std::string> next_token;
};

/// CreateProvisioningClaim: the adapter issued `certificate` (signed by the account's service
/// CA) for `template_name`; the registry records it as an ACTIVE claim certificate valid for
/// 5 minutes (AWS IoT API Reference, CreateProvisioningClaim), not listed by ListCertificates.
struct CreateProvisioningClaimRequest {
    std::string template_name;
    pki::CertificateInfo certificate;
};
struct CreateProvisioningClaimResponse {
    std::string certificate_id;
    std::string certificate_pem;
    TimePoint expiration;
};

/// RegisterThing (REST, `POST /things`): runs `template_body` with `parameters`.
struct RegisterThingRequest {
    std::string template_body;
    std::map<std::string, std::string> parameters;
};
struct RegisterThingResponse {
    std::optional<std::string> certificate_pem;
    /// Logical resource type → ARN: "thing", "certificate", "policy" (last of each kind).
    std::map<std::string, std::string> resource_arns;
};

/// The outcome of running a template against the registry (JITP, RegisterThing, fleet).
struct TemplateRunResult {
    std::optional<std::string> thing_name;
    std::optional<std::string> certificate_id;
    std::vector<std::string> policy_names;
    std::map<std::string, std::string> device_configuration;
    std::map<std::string, std::string> resource_arns;
};

// ---- Device connections (the broker plugin) ------------------------------------------

/// A TLS client presenting `certificate` (already verified by the TLS layer against the
/// broker's capath, or not: the registry checks signatures itself).
struct DeviceConnectRequest {
    pki::CertificateInfo certificate;
    std::string client_id;
    std::string source_ip;
};

enum class ConnectVerdict {
    kAccept,  ///< Let the session proceed (then evaluate iot:Connect with the policies).
    kRefuse,  ///< Unknown/inactive/revoked/expired certificate: refuse (AWS fails TLS).
    /// The certificate was just auto-registered (JITR) or provisioned (JITP), or is still
    /// PENDING_ACTIVATION: close without CONNACK (JITR: "publish a registration message ... and
    /// disconnect the client", AWS IoT blog "Just-in-Time Registration of Device Certificates on
    /// AWS IoT"; JITP drops the first connection as devices observe it).
    kCloseAfterRegistration,
};

struct ConnectDecision {
    ConnectVerdict verdict = ConnectVerdict::kRefuse;
    std::string reason;          ///< One line for explain mode, e.g. "certificate REVOKED".
    std::string certificate_id;  ///< Always set.
    /// For kAccept: the thing associated with the connection, if any (exclusive thing, or the
    /// attached thing named like the client id, AWS IoT Core Developer Guide, 'Thing policy
    /// variables').
    std::optional<std::string> thing_name;
    bool is_provisioning_claim = false;  ///< A CreateProvisioningClaim certificate.
};

// ---- Fleet provisioning MQTT API (AWS IoT Core Developer Guide) -------------------------------

/// CreateKeysAndCertificate / CreateCertificateFromCsr over MQTT: the adapter issued
/// `certificate`; it is registered PENDING_ACTIVATION with an ownership token valid 1 hour.
struct FleetCreateCertificateRequest {
    pki::CertificateInfo certificate;
    std::string requester;  ///< "<certificateId>/<clientId>" of the requesting connection.
};
struct FleetCreateCertificateResponse {
    std::string certificate_id;
    std::string certificate_ownership_token;
};

struct FleetRegisterThingRequest {
    std::string template_name;
    std::string certificate_ownership_token;
    std::map<std::string, std::string> parameters;
    /// parameterOverrides from the pre-provisioning hook, which the adapter ran (it is a
    /// callback, not part of the model); merged over `parameters`.
    std::map<std::string, std::string> parameter_overrides;
    /// The requesting connection; must match the token's requester when that is bound.
    std::string requester;
};
struct FleetRegisterThingResponse {
    std::map<std::string, std::string> device_configuration;
    std::optional<std::string> thing_name;
};

// ---- The registry -----------------------------------------------------------------------------

class Registry {
public:
    /// `clock` and `random` must outlive the registry. `default_mode_index` may be null: then
    /// the cross-account DEFAULT-mode rule is not checked (single-account tests).
    Registry(AccountSettings settings, const sim::Clock& clock, sim::Random& random,
             DefaultModeCaIndex* default_mode_index = nullptr);

    const AccountSettings& Settings() const { return settings_; }

    // -- Registration code, endpoint, event configurations
    /// Creates the 64-hex code on first call; the same code afterwards.
    AwsResult<std::string> GetRegistrationCode();
    /// ResourceNotFoundException when there is none.
    AwsStatus DeleteRegistrationCode();
    /// endpointType: "iot:Data-ATS" → "<prefix>-ats.iot.<region>.<domain>"; "iot:Data" or
    /// absent → "<prefix>.iot.<region>.<domain>"; "iot:CredentialProvider" →
    /// "<prefix>.credentials.iot.<region>.<domain>"; "iot:Jobs" → "<prefix>.jobs.iot...".
    /// Others: InvalidRequestException.
    AwsResult<std::string> DescribeEndpoint(const std::optional<std::string>& endpoint_type) const;

    /// Resource tags by ARN (AWS IoT API Reference, TagResource / UntagResource /
    /// ListTagsForResource): a key set again takes the new value.
    void TagResource(const std::string& arn, const std::map<std::string, std::string>& tags);
    void UntagResource(const std::string& arn, const std::vector<std::string>& keys);
    /// The tags of `arn`, by key (none: empty).
    std::map<std::string, std::string> ListTagsForResource(const std::string& arn) const;
    /// eventConfigurations: type → Enabled. Types: THING, THING_GROUP, THING_TYPE,
    /// THING_GROUP_MEMBERSHIP, THING_GROUP_HIERARCHY, THING_TYPE_ASSOCIATION, JOB,
    /// JOB_EXECUTION, POLICY, CERTIFICATE, CA_CERTIFICATE. All off by default except
    /// CA_CERTIFICATE (Assumed: JITR works without enabling it).
    std::map<std::string, bool> DescribeEventConfigurations() const;
    AwsStatus UpdateEventConfigurations(const std::map<std::string, bool>& configurations);

    // -- CA certificates
    AwsResult<RegisterCertificateResponse> RegisterCACertificate(
        const RegisterCaCertificateRequest& request);
    AwsResult<CaCertificate> DescribeCACertificate(std::string_view ca_certificate_id) const;
    AwsStatus UpdateCACertificate(const UpdateCaCertificateRequest& request);
    /// `template_name` filters by registrationConfig.templateName.
    AwsResult<ListCertificatesResponse> ListCACertificates(
        const PageRequest& page, const std::optional<std::string>& template_name = {}) const;
    AwsStatus DeleteCACertificate(std::string_view ca_certificate_id);

    // -- Device certificates
    AwsResult<RegisterCertificateResponse> RegisterCertificate(
        const RegisterDeviceCertificateRequest& request);
    AwsResult<RegisterCertificateResponse> RegisterCertificateWithoutCA(
        const RegisterDeviceCertificateRequest& request);
    /// CreateKeysAndCertificate / CreateCertificateFromCsr: registers what the adapter issued.
    AwsResult<RegisterCertificateResponse> RegisterIssuedCertificate(
        const RegisterIssuedCertificateRequest& request);
    AwsResult<Certificate> DescribeCertificate(std::string_view certificate_id) const;
    /// Queues kDisconnectCertificate when leaving ACTIVE.
    AwsStatus UpdateCertificate(std::string_view certificate_id, std::string_view new_status);
    AwsResult<ListCertificatesResponse> ListCertificates(const PageRequest& page) const;
    AwsResult<ListCertificatesResponse> ListCertificatesByCA(std::string_view ca_certificate_id,
                                                             const PageRequest& page) const;
    AwsStatus DeleteCertificate(std::string_view certificate_id, bool force_delete);

    // -- Things and thing types
    AwsResult<CreateThingResponse> CreateThing(const CreateThingRequest& request);
    AwsResult<Thing> DescribeThing(std::string_view thing_name) const;
    AwsStatus UpdateThing(const UpdateThingRequest& request);
    AwsResult<ListThingsResponse> ListThings(const ListThingsRequest& request) const;
    /// Succeeds silently when the thing does not exist.
    AwsStatus DeleteThing(std::string_view thing_name,
                          std::optional<std::int64_t> expected_version);
    AwsResult<CreateThingTypeResponse> CreateThingType(const CreateThingTypeRequest& request);
    AwsResult<ThingType> DescribeThingType(std::string_view thing_type_name) const;

    // -- Thing ↔ principal. `principal` is a certificate ARN.
    AwsStatus AttachThingPrincipal(std::string_view thing_name, std::string_view principal,
                                   std::optional<std::string> thing_principal_type = {});
    AwsStatus DetachThingPrincipal(std::string_view thing_name, std::string_view principal);
    AwsResult<NamesPage> ListThingPrincipals(std::string_view thing_name,
                                             const PageRequest& page) const;
    AwsResult<NamesPage> ListPrincipalThings(std::string_view principal,
                                             const PageRequest& page) const;

    // -- Policies. `target` is a certificate ARN.
    AwsResult<CreatePolicyResponse> CreatePolicy(std::string_view policy_name,
                                                 std::string_view policy_document);
    AwsResult<GetPolicyResponse> GetPolicy(std::string_view policy_name) const;
    AwsStatus DeletePolicy(std::string_view policy_name);
    AwsResult<PolicyVersionResponse> CreatePolicyVersion(std::string_view policy_name,
                                                         std::string_view policy_document,
                                                         bool set_as_default);
    AwsResult<PolicyVersionResponse> GetPolicyVersion(std::string_view policy_name,
                                                      std::string_view version_id) const;
    AwsResult<std::vector<PolicyVersionResponse>> ListPolicyVersions(
        std::string_view policy_name) const;
    AwsStatus SetDefaultPolicyVersion(std::string_view policy_name, std::string_view version_id);
    AwsStatus DeletePolicyVersion(std::string_view policy_name, std::string_view version_id);
    AwsResult<ListPoliciesResponse> ListPolicies(const PageRequest& page) const;
    AwsStatus AttachPolicy(std::string_view policy_name, std::string_view target);
    AwsStatus DetachPolicy(std::string_view policy_name, std::string_view target);
    AwsResult<ListPoliciesResponse> ListAttachedPolicies(std::string_view target,
                                                         const PageRequest& page) const;
    AwsResult<ListTargetsResponse> ListTargetsForPolicy(std::string_view policy_name,
                                                        const PageRequest& page) const;
    /// Policies attached to `principal` (certificate ARN) — and, when given, the thing must
    /// exist. Not emulated: thing-group policies (no thing groups).
    AwsResult<std::vector<EffectivePolicy>> GetEffectivePolicies(
        const std::optional<std::string>& principal,
        const std::optional<std::string>& thing_name) const;

    // -- Provisioning templates
    AwsResult<CreateProvisioningTemplateResponse> CreateProvisioningTemplate(
        const CreateProvisioningTemplateRequest& request);
    AwsResult<ProvisioningTemplate> DescribeProvisioningTemplate(
        std::string_view template_name) const;
    AwsResult<ListTemplatesResponse> ListProvisioningTemplates(const PageRequest& page) const;
    AwsStatus UpdateProvisioningTemplate(const UpdateProvisioningTemplateRequest& request);
    AwsStatus DeleteProvisioningTemplate(std::string_view template_name);
    AwsResult<TemplateVersionResponse> CreateProvisioningTemplateVersion(
        std::string_view template_name, std::string_view template_body, bool set_as_default);
    AwsResult<ListTemplateVersionsResponse> ListProvisioningTemplateVersions(
        std::string_view template_name, const PageRequest& page) const;
    AwsResult<TemplateVersionResponse> DescribeProvisioningTemplateVersion(
        std::string_view template_name, std::int64_t version_id) const;
    AwsStatus DeleteProvisioningTemplateVersion(std::string_view template_name,
                                                std::int64_t version_id);
    AwsResult<CreateProvisioningClaimResponse> CreateProvisioningClaim(
        const CreateProvisioningClaimRequest& request);
    AwsResult<RegisterThingResponse> RegisterThing(const RegisterThingRequest& request);
    /// Runs an evaluated plan all-or-nothing. `certificate` is the certificate the caller
    /// provisions for (JITP, fleet), used where the plan names it by id. Error types:
    /// ResourceRegistrationFailureException (conflicts, OverrideSettings FAIL, missing
    /// referenced resources), InvalidRequestException (invalid names/values).
    AwsResult<TemplateRunResult> RunTemplate(const TemplatePlan& plan);

    // -- Device connections (JITR/JITP)
    /// Decides a TLS client's fate and applies auto-registration: JITR registers the
    /// certificate PENDING_ACTIVATION and queues the
    /// `$aws/events/certificates/registered/<caCertificateId>` event (again on each later
    /// connect while PENDING_ACTIVATION); JITP registers it PENDING_ACTIVATION and runs the
    /// CA's template (a failing template leaves it PENDING_ACTIVATION; reason says why).
    /// Never returns an error: refusals are decisions.
    ConnectDecision AuthenticateDevice(const DeviceConnectRequest& request);

    // -- Fleet provisioning MQTT API
    AwsResult<FleetCreateCertificateResponse> FleetCreateCertificate(
        const FleetCreateCertificateRequest& request);
    /// Errors: InvalidCertificateOwnershipToken (empty, unknown, expired token, or one another
    /// connection requested),
    /// ResourceNotFoundException (template), AccessDenied (template disabled or JITP type),
    /// InvalidPayload / ResourceRegistrationFailureException (template evaluation or run).
    AwsResult<FleetRegisterThingResponse> FleetRegisterThing(
        const FleetRegisterThingRequest& request);

    /// Time-driven work at Clock::Now(): deletes certificates whose ownership token expired
    /// while they are still PENDING_ACTIVATION and unattached; deletes expired provisioning
    /// claim certificates (queues kDisconnectCertificate for them). Call from the TICK.
    void Tick();

    // -- Read-only views for the broker plugin (nullptr when absent)
    const CaCertificate* FindCaCertificate(std::string_view ca_certificate_id) const;
    const Certificate* FindCertificate(std::string_view certificate_id) const;
    const Thing* FindThing(std::string_view thing_name) const;
    const Policy* FindPolicy(std::string_view policy_name) const;
    const ProvisioningTemplate* FindProvisioningTemplate(std::string_view template_name) const;
    const OwnershipToken* FindOwnershipToken(std::string_view token) const;
    /// Policy names attached to a certificate, sorted.
    std::vector<std::string> PoliciesOfCertificate(std::string_view certificate_id) const;
    /// The thing a connection with (certificate, client id) is associated with: the
    /// exclusively attached thing, else an attached thing named `client_id` ('Thing policy
    /// variables').
    std::optional<std::string> ThingForConnection(std::string_view certificate_id,
                                                  std::string_view client_id) const;

    // -- Persistence and effects
    /// The changed rows since the last call, each (kind, key) once, with current values.
    std::vector<Change> TakeChanges();
    /// Every row of the current state (for a full snapshot).
    std::vector<Change> Snapshot() const;
    /// Rebuilds state from rows (as TakeChanges/Snapshot produced them) into an EMPTY registry.
    /// Errors: kInvalidArgument naming the kind and key of the first bad row; on error the
    /// registry stays empty.
    sim::Status Load(const std::vector<Change>& rows);
    /// Effects queued since the last call, in order.
    std::vector<Effect> TakeEffects();

private:
    AccountSettings settings_;
    const sim::Clock& clock_;
    sim::Random& random_;
    DefaultModeCaIndex* default_mode_index_;

    // State (see registry.cpp for invariants).
    std::optional<std::string> registration_code_;
    std::map<std::string, bool> event_configurations_;
    // Not emulated: tags are not persisted (an account's broker restart forgets them) and
    // stay with the ARN after the resource is deleted.
    std::map<std::string, std::map<std::string, std::string>> tags_;
    std::map<std::string, CaCertificate, std::less<>> cas_;
    std::map<std::string, Certificate, std::less<>> certificates_;
    std::map<std::string, Thing, std::less<>> things_;
    std::map<std::string, ThingType, std::less<>> thing_types_;
    std::map<std::string, Policy, std::less<>> policies_;
    std::map<std::string, ProvisioningTemplate, std::less<>> templates_;
    struct PolicyAttached {};                 // an attachment carries no value
    PairMap<PolicyAttached> policy_targets_;  // (policy, target ARN)
    PairMap<ThingPrincipalType> thing_principals_;  // (thing, principal ARN) → type
    std::map<std::string, OwnershipToken, std::less<>> ownership_tokens_;
    // No claim certificate expires before this (Tick looks at the certificates only then);
    // may be early, never late.
    std::optional<TimePoint> next_claim_expiry_;

    std::set<std::pair<std::string, std::string>> changed_;  // (kind, key)
    std::vector<Effect> effects_;

    // Helpers (registry.cpp).
    void MarkChanged(std::string_view kind, std::string_view key);
    void NoteClaimExpiry(TimePoint expiry);
    std::optional<nlohmann::json> RowValue(std::string_view kind, std::string_view key) const;
    std::string NewGenerationId();
    AwsResult<const Certificate*> CertificateFromPrincipal(std::string_view principal) const;
    void PublishThingEvent(const Thing& thing, std::string_view operation);
};

}  // namespace sim::account
