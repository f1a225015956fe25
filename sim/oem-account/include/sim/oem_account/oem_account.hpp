// SPDX-License-Identifier: Apache-2.0
#pragma once
// Configuring an OEM account for onboarding-by-claim through its control plane (adapter over
// the SigV4 AwsClient), exactly as the OEM guide's Appendix B and C do it with the AWS CLI and
// console (AWS IoT ExpressLink Onboarding-by-Claim Customer/OEM Guide):
//   1. RegisterCACertificate --certificate-mode SNI_ONLY --set-as-active
//      --allow-auto-registration (Appendix B step 3)
//   2. CreatePolicy (Appendix C steps 11-13)
//   3. CreateProvisioningTemplate --type JITP, enabled, the role, the template body
//      (Appendix C steps 4-15)
//   4. UpdateCACertificate registrationConfig {templateName} (Appendix C steps 8-9: the
//      wizard's "CA certificate configuration")
// Idempotent: re-running on a configured account succeeds and changes nothing; what exists is
// checked and brought to the wanted state (CA status/auto-registration, policy default
// version, template body/enabled). Works against the emulator and real AWS alike.
//
// Blocking: one HTTP call per step (a few more when things exist). Not thread-safe per client
// (AwsClient serialises anyway).

#include <functional>
#include <string>
#include <vector>

#include "sim/control_plane/aws_client.hpp"
#include "sim/core/result.hpp"
#include "sim/oem_account/setup_plan.hpp"

namespace sim::oem_account {

/// One step's outcome, e.g. {"RegisterCACertificate", "created", "caCertificateId=ab12..."}.
struct SetupStep {
    std::string operation;  ///< The AWS operation (or "CheckCACertificate").
    std::string outcome;    ///< "created", "exists", "updated", "skipped".
    std::string detail;     ///< key=value pairs.
};

struct SetupReport {
    std::string ca_certificate_id;  ///< Empty for kWithoutCa.
    std::string policy_name;
    std::string template_name;      ///< Empty for kWithoutTemplate.
    std::vector<SetupStep> steps;
};

/// Called after each step (to print it as it happens). May be empty.
using StepSink = std::function<void(const SetupStep&)>;

/// Runs the set-up (see the file comment) for `manufacturer_ca_pem` (the manufacturer's root
/// or issuing CA, PEM). Errors: kInvalidArgument for bad options or a CA PEM that does not
/// parse / is not a CA (nothing sent); kUnavailable when the control plane cannot be reached;
/// kFailedPrecondition "<Operation>: <AwsErrorType>: <message>" for a refused call. A failure
/// leaves the steps done so far in place (each is idempotent, so re-running completes it).
sim::Result<SetupReport> ConfigureOemAccount(controlplane::AwsClient& client,
                                             const std::string& manufacturer_ca_pem,
                                             const SetupOptions& options,
                                             const StepSink& on_step = {});

}  // namespace sim::oem_account
