// SPDX-License-Identifier: Apache-2.0
#pragma once
// The fleet-by-claim set-up of an ESP32 fleet (AWS IoT console walk-through), as the fleet
// tests write it: its template and policy names, thing name prefix esp32dkc_, in the test
// account.
#include "sim/device/fleet_setup.hpp"
#include "account_broker_fixture.hpp"

namespace sim::testing {

inline constexpr const char* kEsp32TemplateName = "esp32_fleet_prov_template";

/// `csr`: the claim policy also names the create-from-csr topics (the walk-through uses
/// CreateKeysAndCertificate only).
inline sim::device::FleetSetUpOptions Esp32FleetSeed(bool csr) {
    sim::device::FleetSetUpOptions options;
    options.account_id = kTestAccountId;
    options.template_name = kEsp32TemplateName;
    options.thing_name_prefix = "esp32dkc_";
    options.claim_policy = "esp32_claim_policy";
    options.fleet_policy = "esp32_fleet_policy";
    options.allow_csr = csr;
    return options;
}

}  // namespace sim::testing
