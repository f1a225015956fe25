// SPDX-License-Identifier: Apache-2.0
#pragma once
// The provisioning-template evaluator (AWS IoT Core Developer Guide, 'Provisioning templates').
// Pure: it turns a template body plus parameter values into a plan of resources; it does not touch
// the registry. Registry::RunTemplate (and JITP, RegisterThing, the fleet-provisioning
// RegisterThing) validate the plan against the registry and apply it all-or-nothing.
//
// Supported: `Parameters` (Type String, Default), `Mappings`, `Resources` of type
// AWS::IoT::Thing, AWS::IoT::Certificate, AWS::IoT::Policy with `Properties` and
// `OverrideSettings`, `DeviceConfiguration` (flat string map), and the intrinsic functions
// Ref, Fn::Join, Fn::Select, Fn::Split, Fn::Sub, Fn::FindInMap. Thread-safe (no shared state).

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pki/certificate.hpp"
#include "sim/account/types.hpp"

namespace sim::account {

/// What to do when a resource named by the template already exists.
enum class OverrideAction { kDoNothing, kReplace, kFail, kMerge };
std::optional<OverrideAction> ParseOverrideAction(std::string_view text);

/// An AWS::IoT::Thing resource with every intrinsic resolved.
struct ThingPlan {
    std::string logical_id;
    std::string thing_name;
    std::optional<std::string> thing_type_name;
    std::optional<std::map<std::string, std::string>> attributes;  ///< AttributePayload.
    std::vector<std::string> thing_groups;  ///< Not emulated: recorded, never applied.
    std::optional<std::string> billing_group;
    /// OverrideSettings per key: "AttributePayload", "ThingTypeName", "ThingGroups".
    /// Missing keys mean DO_NOTHING (Assumed: AWS's default when OverrideSettings is absent).
    std::map<std::string, OverrideAction> override_settings;
};

/// An AWS::IoT::Certificate resource. Exactly one of certificate_id, certificate_pem,
/// certificate_signing_request is set.
struct CertificatePlan {
    std::string logical_id;
    std::optional<std::string> certificate_id;
    std::optional<std::string> certificate_pem;
    /// certificate_pem already parsed, when the planner holds it (RunTemplate parses
    /// certificate_pem otherwise).
    std::shared_ptr<const pki::CertificateInfo> parsed_certificate;
    std::optional<std::string> ca_certificate_pem;
    std::optional<std::string> certificate_signing_request;
    CertificateStatus status = CertificateStatus::kActive;    ///< ACTIVE (default) or INACTIVE.
    std::map<std::string, OverrideAction> override_settings;  ///< Key "Status".
};

/// An AWS::IoT::Policy resource. Exactly one of policy_name (an existing policy) and
/// policy_document (create one) is set; a created policy without a name is named by the
/// SHA-256-style hash the registry computes (Assumed: lowercase hex of the document hash).
struct PolicyPlan {
    std::string logical_id;
    std::optional<std::string> policy_name;
    std::optional<std::string> policy_document;  ///< JSON text (object documents serialised).
};

/// Every resource the template asks for, in template order per kind.
struct TemplatePlan {
    std::vector<ThingPlan> things;
    std::vector<CertificatePlan> certificates;
    std::vector<PolicyPlan> policies;
    std::map<std::string, std::string> device_configuration;
    /// The parameter values after defaults were applied (for messages and tests).
    std::map<std::string, std::string> parameters;
};

/// Evaluates `template_body` with `parameters`.
/// Errors (type InvalidRequestException, message naming the resource and property):
///  - body not a JSON object, > 10240 chars, or a Resources member that is not an object;
///  - a parameter referenced (Ref, Fn::Sub) but neither given nor defaulted:
///    "missing parameter: AWS::IoT::Certificate::Country";
///  - a Ref to an unknown name, malformed intrinsic (wrong arity, index out of range, unknown
///    mapping key), unknown resource Type, a property of the wrong JSON type;
///  - a certificate resource with none or more than one of the identifying properties, a
///    policy resource with neither or both of PolicyName/PolicyDocument, a Status other than
///    ACTIVE/INACTIVE (compared case-insensitively), an unknown OverrideSettings value;
///  - DeviceConfiguration values that are not strings after evaluation.
AwsResult<TemplatePlan> EvaluateTemplate(std::string_view template_body,
                                         const std::map<std::string, std::string>& parameters);

/// Checks that `template_body` is a syntactically valid template (a JSON object whose
/// Parameters/Resources/Mappings/DeviceConfiguration members have the right shapes). Used by
/// CreateProvisioningTemplate and RegisterCACertificate; does not need parameter values.
AwsStatus ValidateTemplateBody(std::string_view template_body);

/// The parameters JITP supplies (AWS IoT Core Developer Guide, 'Just-in-time provisioning'): only
/// those present in the subject, named
/// AWS::IoT::Certificate::{Country,Organization,OrganizationalUnit,
/// DistinguishedNameQualifier,StateName,CommonName,SerialNumber}, plus
/// AWS::IoT::Certificate::Id (the certificateId). SerialNumber is the subject's serialNumber
/// attribute (Assumed: the literal reading of the docs, "extract from the subject field").
std::map<std::string, std::string> JitpParameters(const pki::CertificateInfo& certificate);

/// The AWS::IoT::Policy resource of a JITP template: an existing policy by name (PolicyName),
/// or a policy the template creates from a document (PolicyDocument, JSON text).
struct JitpTemplatePolicy {
    enum class Kind { kPolicyName, kPolicyDocument };
    Kind kind = Kind::kPolicyName;
    std::string value;  ///< The policy name, or the policy document as JSON text.

    static JitpTemplatePolicy Named(std::string policy_name) {
        return {Kind::kPolicyName, std::move(policy_name)};
    }
    static JitpTemplatePolicy FromDocument(std::string policy_document) {
        return {Kind::kPolicyDocument, std::move(policy_document)};
    }
};

/// The one JITP provisioning-template body the project sends (OEM guide Appendix C steps 10-14,
/// the JITP example of AWS IoT Core Developer Guide, 'Just-in-time provisioning'): Parameters
/// AWS::IoT::Certificate::CommonName and AWS::IoT::Certificate::Id (Type String); Resources
/// "thing" (AWS::IoT::Thing, ThingName = Ref CommonName, i.e. the module's ThingName),
/// "certificate" (AWS::IoT::Certificate, CertificateId = Ref Id, Status ACTIVE) and "policy"
/// (AWS::IoT::Policy, from `policy`). Returns compact JSON text with object keys in sorted
/// order, so equal inputs give byte-identical bodies. Pure; never fails: the policy name or
/// document is checked by whoever runs the template (Registry::RunTemplate), not here.
std::string JitpTemplateBody(const JitpTemplatePolicy& policy);

}  // namespace sim::account
