// SPDX-License-Identifier: Apache-2.0
#pragma once
// A module's first login to its staging account (ExpressLink Programmer's Guide 12.1.4: on the
// first successful MQTT login in staging, an automated process creates a thing with policies from
// an ExpressLink template).
//
// The broker plugin of a staging account calls ApplyFirstLogin for every TLS client BEFORE
// Registry::AuthenticateDevice: a birth certificate signed by the manufacturer CA and not yet
// known is registered ACTIVE, its thing (named ThingName, type ExpressLinkModule) is created
// or reused, the staging policy is attached, all in one Registry::RunTemplate (all-or-nothing).
// AuthenticateDevice then accepts the connection on the same attempt.
//
// Assumed (README "First login"): the first login is NOT dropped. JITP on an OEM account
// closes the first connection (as devices observe it), but nothing in the ExpressLink guides
// says the first CONNECT to staging fails, and Quick Connect and every vendor getting-started
// guide show the first CONNECT succeeding.
//
// Pure: the Registry is the only state touched; not thread-safe (the caller serialises).

#include <string>
#include <string_view>

#include "pki/certificate.hpp"
#include "sim/account/registry.hpp"
#include "sim/account/template.hpp"
#include "sim/core/result.hpp"

namespace sim::staging {

/// The ThingName a birth certificate carries: the subject CN, which must equal the serial
/// number printed as hex (pki::CertificateInfo::serial_hex), compared case-insensitively, and
/// be a valid AWS thing name ([a-zA-Z0-9:_-]{1,128}). The CN is returned as written.
/// Errors (kInvalidArgument, one line): no CN; CN differs from the serial ("birth certificate
/// CN 'x' does not match serial 'y'"); CN not a valid thing name.
/// Assumed: a mismatch is a factory defect and the module is refused (not staged under
/// either name), so that a scenario notices it.
sim::Result<std::string> ThingNameOfBirthCertificate(const pki::CertificateInfo& certificate);

enum class FirstLoginKind {
    kKnown,   ///< The certificate is already registered: nothing to do (later logins).
    kCreate,  ///< Register the certificate, create/reuse the thing, attach the policy.
    kRefuse,  ///< Not a birth certificate of this staging account's manufacturer.
};

struct FirstLoginPlan {
    FirstLoginKind kind = FirstLoginKind::kRefuse;
    std::string reason;          ///< One line: why (for explain mode and logs).
    std::string thing_name;      ///< kCreate (and kKnown when derivable).
    std::string certificate_id;  ///< Always set.
    account::TemplatePlan plan;  ///< kCreate: what RunTemplate applies.
};

/// Decides what a login with `certificate` requires. kRefuse when the certificate is not
/// registered and: not signed by an ACTIVE registered CA of `registry` (the manufacturer CA),
/// expired or not yet valid at `now`, a CA certificate, or without a valid ThingName; also
/// when the thing exists but is a claim-thing. kKnown for any registered certificate (its
/// status is AuthenticateDevice's business: a REVOKED birth certificate stays refused).
FirstLoginPlan PlanFirstLogin(const account::Registry& registry,
                              const pki::CertificateInfo& certificate, sim::TimePoint now);

/// Applies a kCreate plan with Registry::RunTemplate (all-or-nothing). For kKnown/kRefuse it
/// does nothing and succeeds. Returns the thing name for kCreate.
account::AwsResult<std::string> ApplyFirstLogin(account::Registry& registry,
                                                const FirstLoginPlan& plan);

}  // namespace sim::staging
