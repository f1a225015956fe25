// SPDX-License-Identifier: Apache-2.0
#pragma once
// The staging operator's side over the AWS IoT control-plane API (adapter): registering an
// OEM's claim-thing and reading the operator view, through the SigV4 AwsClient, against the
// staging account's control plane (the emulator's, or any AWS-compatible one).
//
// Blocking HTTP calls; one client per thread (AwsClient serialises).

#include <string>
#include <vector>

#include "sim/control_plane/aws_client.hpp"
#include "sim/core/result.hpp"
#include "sim/staging/oem_registration.hpp"
#include "sim/staging/operator_view.hpp"

namespace sim::staging {

/// Registers a planned claim-thing: makes sure the claim thing type and claim policy exist
/// (creating them if absent, the policy for `region`/`account_id`), then
/// RegisterCertificateWithoutCA (ACTIVE), CreateThing <uuid> (type ExpressLinkClaimThing,
/// attribute oemName), AttachThingPrincipal, AttachPolicy. On a failure after the certificate
/// was registered, what was made is undone (detach, delete thing, deactivate and delete the
/// certificate) so that nothing is half-registered. Errors: kAlreadyExists when the
/// certificate is already registered in staging; kUnavailable for transport failures;
/// kFailedPrecondition otherwise, each naming the operation and the AWS error type.
sim::Result<OemRecord> RegisterOemRemote(controlplane::AwsClient& client,
                                         const OemRegistrationPlan& plan,
                                         const std::string& region, const std::string& account_id);

/// Every thing of the staging account (ListThings, all pages) with its type and attributes.
sim::Result<std::vector<ThingRecord>> ListStagingThings(controlplane::AwsClient& client);

}  // namespace sim::staging
