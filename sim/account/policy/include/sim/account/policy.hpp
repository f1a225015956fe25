// SPDX-License-Identifier: Apache-2.0
#pragma once
// The AWS IoT policy evaluator (AWS IoT Core Developer Guide, 'AWS IoT Core policies'): parse a
// policy document once into a compiled PolicyDocument (CreatePolicy / CreatePolicyVersion), then
// answer "may this client do this action on this resource?" for every CONNECT, PUBLISH, SUBSCRIBE
// and delivery.
//
// Pure core: no I/O, clock, randomness or logging. The broker plugin turns a mosquitto ACL
// event into an AuthzRequest and the Decision back into MOSQ_ERR_*; the control plane maps a
// ParsePolicyDocument error to HTTP 400 MalformedPolicyException.
//
// Evaluation is IAM's (iot-policies): default deny; a statement applies when its Action (or
// NotAction), Resource (or NotResource) and every Condition match; any applicable Deny wins over
// every Allow, across all effective policies.
//
// Thread-safety: PolicyDocument is immutable after parsing; Evaluate is reentrant and may run on
// many threads over the same documents.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sim/account/policy_identity.hpp"
#include "sim/account/policy_pattern.hpp"
#include "sim/core/result.hpp"

namespace sim::account {

// ---------------------------------------------------------------------------------------------
// Actions and resources
// ---------------------------------------------------------------------------------------------

/// The data-plane actions the broker checks (iot-policy-actions). Any other action ("iot:
/// UpdateThingShadow", "iot:AssumeRoleWithCertificate", ...) is Action::kOther with its name in
/// AuthzRequest::action_name.
enum class Action : std::uint8_t {
    kConnect,               ///< iot:Connect on client/<clientId>, every CONNECT.
    kPublish,               ///< iot:Publish on topic/<topic>.
    kRetainPublish,         ///< iot:RetainPublish on topic/<topic>, in addition to Publish.
    kSubscribe,             ///< iot:Subscribe on topicfilter/<filter>.
    kReceive,               ///< iot:Receive on topic/<topic>, every delivery.
    kGetRetainedMessage,    ///< iot:GetRetainedMessage on topic/<topic>.
    kListRetainedMessages,  ///< iot:ListRetainedMessages on "*".
    kOther,                 ///< Named by AuthzRequest::action_name.
};
inline constexpr std::size_t kKnownActionCount = 7;  ///< Actions before kOther.

/// "iot:Connect", ...; "" for kOther.
std::string_view ActionName(Action action) noexcept;
/// The Action named `name` (case-insensitive, "iot:publish" works), or kOther.
Action ParseAction(std::string_view name) noexcept;

/// arn:aws:iot:<region>:<account_id>:<type>/<name> (iot-action-resources). The name is used
/// as is: MQTT `+` and `#` stay literal.
std::string IotResourceArn(std::string_view region, std::string_view account_id,
                           std::string_view type, std::string_view name);
std::string ClientArn(std::string_view region, std::string_view account_id,
                      std::string_view client_id);
std::string TopicArn(std::string_view region, std::string_view account_id, std::string_view topic);
std::string TopicFilterArn(std::string_view region, std::string_view account_id,
                           std::string_view topic_filter);

// ---------------------------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------------------------

/// The AWS IoT limit on a policy document: 2048 characters excluding whitespace
/// (AWS IoT API Reference, CreatePolicy; AWS IoT Core endpoints and quotas).
inline constexpr std::size_t kMaxPolicyDocumentChars = 2048;

/// Counts the characters of `json` that are not JSON whitespace (space, tab, CR, LF) and
/// fails with kInvalidArgument, naming the count, when there are more than 2048.
/// Assumed: whitespace inside string values is excluded too, and AWS answers
/// MalformedPolicyException (the quota page does not name the error).
sim::Status ValidatePolicyDocumentSize(std::string_view json);

enum class PolicyEffect : std::uint8_t { kAllow, kDeny };

/// A condition operator (IAM condition operators). The documented subset emulated here:
/// String{Equals,NotEquals,EqualsIgnoreCase,NotEqualsIgnoreCase,Like,NotLike},
/// Arn{Equals,NotEquals,Like,NotLike} (matched like StringLike), Bool, IpAddress,
/// NotIpAddress, Null; each with an optional `ForAnyValue:`/`ForAllValues:` prefix and
/// `IfExists` suffix.
/// Not emulated: Numeric*, Date*, BinaryEquals and any other operator. They are accepted at
/// parse time (AWS accepts them) and make their condition, hence their statement, not match.
enum class ConditionOperator : std::uint8_t {
    kStringEquals,
    kStringNotEquals,
    kStringEqualsIgnoreCase,
    kStringNotEqualsIgnoreCase,
    kStringLike,
    kStringNotLike,
    kBool,
    kIpAddress,
    kNotIpAddress,
    kNull,
    kUnsupported,
};

/// One (operator, key, values) triple of a Condition block.
struct PolicyCondition {
    enum class SetQualifier : std::uint8_t { kNone, kForAnyValue, kForAllValues };
    std::string operator_text;  ///< As written, e.g. "ForAllValues:StringEquals".
    ConditionOperator op = ConditionOperator::kUnsupported;
    SetQualifier qualifier = SetQualifier::kNone;
    bool if_exists = false;
    std::string key_text;  ///< As written, e.g. "iot:Connection.Thing.IsAttached".
    PolicyVariable key;
    std::vector<PolicyPattern> values;  ///< Any one matching suffices (OR).
    /// IpAddress/NotIpAddress: the values as parsed CIDR blocks (unparsable ones dropped:
    /// Assumed, they match nothing).
    struct Cidr {
        std::array<std::uint8_t, 16> bytes = {};
        std::uint8_t length = 4;  ///< 4 or 16 bytes.
        std::uint8_t prefix_bits = 32;
    };
    std::vector<Cidr> cidrs;
};

struct PolicyStatement {
    std::string sid;  ///< Optional "Sid"; empty when absent.
    PolicyEffect effect = PolicyEffect::kAllow;
    bool not_action = false;             ///< The list came from "NotAction".
    std::vector<PolicyPattern> actions;  ///< Case-insensitive globs (IAM action names).
    /// Bit i set: the Action/NotAction element applies to Action(i), precomputed for the
    /// known actions so that the hot path does no string work for them.
    std::uint32_t known_action_mask = 0;
    bool not_resource = false;  ///< The list came from "NotResource".
    std::vector<PolicyPattern> resources;
    std::vector<PolicyCondition> conditions;  ///< All must hold (AND).
};

/// A parsed, validated, compiled policy document. Produced only by ParsePolicyDocument.
struct PolicyDocument {
    std::string version;  ///< "2012-10-17" or "2008-10-17" (the IAM default when absent).
    std::vector<PolicyStatement> statements;
};

/// Validates and compiles a policy document (validate once, at CreatePolicy). Errors are
/// kInvalidArgument with a one-line reason naming the element, e.g.
/// `Statement[1].Effect: must be "Allow" or "Deny", got "Permit"`; the control plane answers
/// them as MalformedPolicyException. Checks, in order: the 2048-character limit, JSON syntax,
/// a top-level object with only Version/Id/Statement, Version "2012-10-17" or "2008-10-17",
/// Statement a non-empty array of objects or a single object, each with Effect Allow|Deny,
/// exactly one of Action/NotAction and of Resource/NotResource (a string or non-empty array of
/// strings), actions "*" or "<service>:<name>", resources "*" or "arn:...", an optional Sid
/// string and Condition object {operator: {key: value | [values]}}.
/// Assumed: other statement elements (including Principal) are rejected; unsupported
/// condition operators are accepted.
sim::Result<PolicyDocument> ParsePolicyDocument(std::string_view json);

/// A policy as the registry attaches it: its name and its default version's compiled
/// document (shared, so that evaluation never copies documents).
struct NamedPolicy {
    std::string name;
    std::shared_ptr<const PolicyDocument> document;
};

/// The policies that apply to a connection ('AWS IoT Core policies'): those attached to the
/// certificate, then those attached to the thing groups (and their ancestors) of the
/// connection's thing, each name once (first occurrence kept).
std::vector<NamedPolicy> EffectivePolicies(std::span<const NamedPolicy> certificate_policies,
                                           std::span<const NamedPolicy> thing_group_policies);

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

/// One authorization question. A view: `resource`, `action_name` and `*client` must outlive
/// the Evaluate call. (It does not hold ClientIdentity by value: the broker keeps one identity
/// per connection and must not copy it per message.)
struct AuthzRequest {
    Action action = Action::kConnect;
    std::string_view action_name;  ///< Only for Action::kOther, e.g. "iot:UpdateThingShadow".
    std::string_view resource;     ///< Full ARN, e.g. arn:aws:iot:us-east-1:123:topic/a/b.
    const ClientIdentity* client = nullptr;  ///< nullptr: an identity with nothing known.
};

struct Decision {
    enum class Basis : std::uint8_t {
        kAllowed,       ///< An Allow statement applied and no Deny did.
        kExplicitDeny,  ///< A Deny statement applied.
        kNoAllow,       ///< No statement applied (IAM default deny).
    };
    bool allowed = false;
    Basis basis = Basis::kNoAllow;
    std::size_t policy_index = 0;     ///< Into `effective`, for kAllowed / kExplicitDeny.
    std::size_t statement_index = 0;  ///< Zero-based, for kAllowed / kExplicitDeny.
    /// Explain mode only: "explicit deny by policy 'P' statement 2 (Sid \"x\")",
    /// "allowed by policy 'P' statement 0", "no allow: no statement of 2 policies allows
    /// iot:Publish on arn:...", "no allow: no policies attached".
    std::string reason;
};

/// Whether Decision::reason is written (a string allocation per call) or left empty.
enum class Explain : std::uint8_t { kNo, kYes };

/// Evaluates `request` against `effective` (IAM: explicit Deny wins, then any Allow, else
/// deny). Entries with a null document are skipped. Never fails; never allocates with
/// Explain::kNo except for patterns of more than 16 pieces.
Decision Evaluate(std::span<const NamedPolicy> effective, const AuthzRequest& request,
                  Explain explain = Explain::kYes);

}  // namespace sim::account
