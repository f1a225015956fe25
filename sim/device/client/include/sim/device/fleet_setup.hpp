// SPDX-License-Identifier: Apache-2.0
#pragma once
// The account side of fleet provisioning by claim, as a firmware team sets it up (adapter over
// the control plane): a claim policy, a claim certificate made by CreateKeysAndCertificate with
// that policy attached, a fleet policy, and an enabled FLEET_PROVISIONING template that names
// things <prefix><SerialNumber>, activates the certificate and attaches the fleet policy.
// The policies are those of the console walk-through for an ESP32 fleet: Connect on `*`,
// Publish/Receive on the provisioning topics, Subscribe on their filters.
//
// Blocking: a handful of control-plane calls. Not thread-safe (one AwsClient).

#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "sim/control_plane/aws_client.hpp"
#include "sim/core/result.hpp"

namespace sim::device {

struct FleetSetUpOptions {
    std::string account_id;
    std::string region = "us-east-1";
    std::string template_name = "elsim_fleet_template";
    std::string thing_name_prefix = "fleet_";
    std::string claim_policy = "elsim_claim_policy";
    std::string fleet_policy = "elsim_fleet_policy";
    bool allow_csr = true;  ///< The claim policy also names the create-from-csr topics.
    std::filesystem::path directory;  ///< claim.pem and claim.key (0600) are written here.
    /// The template's DeviceConfiguration (RegisterThing returns it); null: none.
    nlohmann::json device_configuration;
    /// The template's preProvisioningHook targetArn (payloadVersion 2020-04-01); empty: none.
    std::string pre_provisioning_hook_arn;
};

/// The documents of the set-up (pure), for callers that make the calls themselves:
/// the claim policy (Connect on `*`; Publish/Receive on `$aws/certificates/create/*` and the
/// template's `provision/*` topics, Subscribe on their filters; `allow_csr` adds
/// create-from-csr), the fleet policy (Connect/Publish/Subscribe/Receive on the account's
/// resources) and the template body (thing <prefix><SerialNumber>, certificate ACTIVE, the
/// fleet policy attached).
nlohmann::json ClaimPolicyDocument(const FleetSetUpOptions& options);
nlohmann::json FleetPolicyDocument(const FleetSetUpOptions& options);
nlohmann::json FleetTemplateBody(const FleetSetUpOptions& options);
/// The CreateProvisioningTemplate request body (enabled, the role, the hook when given).
nlohmann::json FleetTemplateRequest(const FleetSetUpOptions& options);

struct ClaimIdentity {
    std::filesystem::path cert;
    std::filesystem::path key;
    std::string certificate_id;
};

/// Creates the set-up in the account behind `client`. Errors: kFailedPrecondition naming the
/// control-plane call that failed and AWS's error type; kIo when the files cannot be written.
sim::Result<ClaimIdentity> SetUpFleetByClaim(controlplane::AwsClient& client,
                                             const FleetSetUpOptions& options);

}  // namespace sim::device
