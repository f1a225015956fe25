// SPDX-License-Identifier: Apache-2.0
#pragma once
// Registering an OEM's claim-thing with a staging account (ExpressLink Onboarding-by-Claim
// Customer/OEM Guide, Appendix A): the OEM created a certificate in its own account (Inactive
// there) and uploads the certificate only, never the private key; the service answers with a UUID,
// "a 128-bit string label for your onboarding functionality ... required to connect to the Staging
// Endpoint".
//
// Assumed (README "Claim-things"): the UUID is presented as the MQTT client id. The
// registration makes a thing named by the UUID, attaches the certificate to it and the claim
// policy to the certificate, so iot:Connect on client/${iot:Connection.Thing.ThingName}
// admits exactly (this certificate, this UUID).
//
// Pure: randomness comes from the injected sim::Random.

#include <string>
#include <string_view>

#include "pki/certificate.hpp"
#include "sim/account/registry.hpp"
#include "sim/account/template.hpp"
#include "sim/core/ports.hpp"
#include "sim/core/result.hpp"

namespace sim::staging {

/// What the staging account keeps about one registered OEM.
struct OemRecord {
    std::string oem_name;
    std::string uuid;            ///< Lowercase 8-4-4-4-12 UUID v4; the claim-thing's name.
    std::string certificate_id;  ///< SHA-256 of the claim certificate's DER.
    bool operator==(const OemRecord&) const = default;
};

struct OemRegistrationPlan {
    OemRecord record;
    pki::CertificateInfo certificate;
    account::TemplatePlan plan;  ///< For Registry::RunTemplate (in-process registries).
};

/// True for an OEM name of 1-64 characters of [A-Za-z0-9._-] (Assumed; it becomes an
/// attribute value, which AWS limits to [a-zA-Z0-9_.,@/:#-]).
bool IsOemName(std::string_view name);

/// Validates the upload and draws the UUID. Errors (kInvalidArgument, one line naming the
/// field): "--name: ..." for a bad OEM name; "certificate: contains a private key (upload the
/// certificate only)" when the text has any "PRIVATE KEY" PEM block; "certificate: ..." when
/// it is not a PEM certificate, is a CA certificate, lacks clientAuth, or has more than one
/// certificate. The UUID is drawn only after validation succeeded.
sim::Result<OemRegistrationPlan> PlanOemRegistration(std::string_view oem_name,
                                                     std::string_view certificate_pem,
                                                     sim::Random& random);

/// Applies a plan to an in-process staging registry: the certificate ACTIVE (registered without
/// CA), the thing <uuid> of type ExpressLinkClaimThing with attribute oemName, the certificate
/// attached to it, the claim policy attached to the certificate; one RunTemplate, all or
/// nothing. Errors: ResourceAlreadyExistsException when the certificate is already registered
/// in this account (a second registration of the same certificate is refused), or the
/// registry's error (e.g. the account was not set up: the claim policy does not exist).
account::AwsResult<OemRecord> ApplyOemRegistration(account::Registry& registry,
                                                   const OemRegistrationPlan& plan);

}  // namespace sim::staging
