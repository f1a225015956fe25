// SPDX-License-Identifier: Apache-2.0
#pragma once
// What an OEM account needs for onboarding-by-claim (AWS IoT ExpressLink Onboarding-by-Claim
// Customer/OEM Guide, "Configure the OEM account", Appendix B and C): the documents the set-up
// sends. Pure: values in, JSON text out; no I/O.

#include <string>
#include <string_view>

#include "sim/core/result.hpp"

namespace sim::oem_account {

/// How much of Appendix B and C to apply. The complete set-up is the default; the other
/// variants reproduce the misrouted-claim rows 4 and 5 (sim/staging/README.md).
enum class SetupVariant {
    kComplete,                 ///< Appendix B + C: CA (SNI_ONLY, active, auto-registration), policy, JITP template linked.
    kWithoutCa,                ///< Policy and template only: the manufacturer CA is not registered (row 4).
    kWithoutAutoRegistration,  ///< CA registered active but auto-registration off (row 5).
    kWithoutTemplate,          ///< CA with auto-registration but no JITP template linked (row 5: JITR only).
};
const char* ToString(SetupVariant variant) noexcept;

struct SetupOptions {
    std::string region = "us-east-1";
    std::string account_id;  ///< 12 digits: the policy's and the role's ARNs name it.
    /// Appendix C step 12 ("Create policy"). Assumed name.
    std::string policy_name = "ExpressLinkDevicePolicy";
    /// Appendix C step 5b: up to 36 of [A-Za-z0-9_-].
    std::string template_name = "ExpressLinkJitpTemplate";
    /// Appendix C steps 6-7 create an IAM role. Not emulated: IAM; the role is only named.
    std::string role_name = "ExpressLinkProvisioningRole";
    SetupVariant variant = SetupVariant::kComplete;
};

/// Checks names and the account id. Errors: kInvalidArgument naming the field
/// ("account_id: ...", "template_name: ...", "policy_name: ...").
sim::Status ValidateSetupOptions(const SetupOptions& options);

/// The device policy (Appendix C step 12 recommends something narrower than "*"): connect as
/// client id = ThingName, publish/receive/subscribe under `<ThingName>/...` and
/// `$aws/things/<ThingName>/...` (Jobs, shadows), via ${iot:Connection.Thing.ThingName}.
std::string DevicePolicyDocument(const SetupOptions& options);

/// The JITP template body (Appendix C steps 10-14: create a thing, certificate ACTIVE, the
/// policy attached): ThingName = the certificate's CommonName (the module's ThingName, pki
/// ModuleSpec), CertificateId = AWS::IoT::Certificate::Id. Exactly
/// sim::account::JitpTemplateBody(JitpTemplatePolicy::Named(options.policy_name)).
std::string JitpTemplateBody(const SetupOptions& options);

/// "arn:aws:iam::<account_id>:role/<role_name>".
std::string ProvisioningRoleArn(const SetupOptions& options);

/// True when two JSON texts parse to equal values (false when either does not parse).
bool SameJson(std::string_view a, std::string_view b);

}  // namespace sim::oem_account
