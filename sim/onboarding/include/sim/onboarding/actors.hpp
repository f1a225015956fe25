// SPDX-License-Identifier: Apache-2.0
#pragma once
// The actors of an onboarding story on a local world (adapter): an OEM's claim-thing
// (OEM guide Appendix A), birth identities from a manufacturer's CA (pki), and the software
// modules that carry them, on the staging endpoint.
//
// Blocking: files (pki), control-plane calls (ObtainClaimThing) and module start-up, each
// bounded. Threading: one call at a time per AwsClient.

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "sim/control_plane/aws_client.hpp"
#include "sim/core/ports.hpp"
#include "sim/core/result.hpp"
#include "sim/module/fleet.hpp"
#include "sim/onboarding/world.hpp"
#include "sim/world/world_state.hpp"

namespace sim::onboarding {

/// An OEM's claim-thing (OEM guide Appendix A).
struct ClaimThing {
    std::string oem_name;
    std::string uuid;  ///< The MQTT client id at staging.
    std::filesystem::path certificate_file;
    std::filesystem::path key_file;
};

/// Appendix A: an AWS-issued claim certificate (the world's issuing CA, pki WriteClaim) written
/// to `dir` (cert.pem, private.key 0600), registered INACTIVE in the OEM account, and the
/// certificate (never the key) registered in staging (RegisterOemRemote) for a UUID.
sim::Result<ClaimThing> ObtainClaimThing(controlplane::AwsClient& oem,
                                         controlplane::AwsClient& staging,
                                         const world::WorldState& world,
                                         const world::AccountState& staging_account,
                                         const std::string& oem_name,
                                         const std::filesystem::path& dir, sim::Random& random);

/// `count` birth identities signed by the manufacturer's CA, written to `dir`
/// (pki WriteModules layout). Returns the identity directories.
sim::Result<std::vector<std::filesystem::path>> MakeBirthIdentities(
    const world::ManufacturerState& manufacturer, std::size_t count,
    const std::filesystem::path& dir);

/// The software modules of an onboarding run, on the staging endpoint of `staging`.
sim::Result<std::unique_ptr<module::Fleet>> StartModules(
    const LocalWorld& world, const world::AccountState& staging,
    const std::vector<std::filesystem::path>& identities, const std::filesystem::path& state_dir);
/// The same for a world this process did not start (e.g. world::ReadWorld of a running one).
sim::Result<std::unique_ptr<module::Fleet>> StartModules(
    const world::WorldState& world, const world::AccountState& staging,
    const std::vector<std::filesystem::path>& identities, const std::filesystem::path& state_dir);

}  // namespace sim::onboarding
