// SPDX-License-Identifier: Apache-2.0
#include "sim/onboarding/actors.hpp"

#include <chrono>
#include <utility>

#include "text.hpp"
#include <nlohmann/json.hpp>

#include "pki/factory.hpp"
#include "sim/core/adapters.hpp"
#include "sim/core/world_clock.hpp"
#include "sim/staging/oem_registration.hpp"
#include "sim/staging/staging_client.hpp"

namespace sim::onboarding {

namespace fs = std::filesystem;
using controlplane::AwsClient;
using internal::AwsMessage;
using internal::Wrap;
using nlohmann::json;

sim::Result<ClaimThing> ObtainClaimThing(AwsClient& oem, AwsClient& staging,
                                         const world::WorldState& world,
                                         const world::AccountState& staging_account,
                                         const std::string& oem_name, const fs::path& dir,
                                         sim::Random& random) {
    // Appendix A steps 4-6: an AWS-issued certificate ("Auto-generate new certificate"),
    // "Inactive" in the OEM's own account.
    // Assumed: the world's issuing CA stands for the one Amazon CA that signs AWS-issued
    // certificates of every account (world.hpp layout), so the claim certificate is made with
    // pki's WriteClaim under that CA and registered INACTIVE in the OEM account
    // (RegisterCertificateWithoutCA), rather than by CreateKeysAndCertificate, whose issuer is
    // per emulated account and not trusted by the staging broker.
    const fs::path pki_dir = fs::path(world.directory) / "pki";
    auto aws_ca = pki::LoadCaFiles(pki_dir / "issuing-ca.pem", pki_dir / "issuing-ca.key");
    if (!aws_ca) {
        return sim::Unexpected<sim::Error>(Wrap("world issuing CA", aws_ca.error()));
    }
    auto out = pki::StagedDirectory::Begin(dir, /*force=*/true);
    if (!out) {
        return sim::Unexpected<sim::Error>(out.error());
    }
    auto issued = pki::WriteClaim(*aws_ca, std::chrono::system_clock::now(), *out);
    if (!issued) {
        return sim::Unexpected<sim::Error>(Wrap("claim certificate", issued.error()));
    }
    if (auto s = out->Commit(); !s) {
        return sim::Unexpected<sim::Error>(s.error());
    }
    ClaimThing thing;
    thing.oem_name = oem_name;
    thing.certificate_file = dir / "cert.pem";
    thing.key_file = dir / "private.key";
    auto certificate_pem = sim::ReadFile(thing.certificate_file);
    if (!certificate_pem) {
        return sim::Unexpected<sim::Error>(certificate_pem.error());
    }
    auto registered = oem.Call("POST", AwsClient::Path({"certificate", "register-no-ca"}), {},
                               json{{"certificatePem", *certificate_pem}, {"status", "INACTIVE"}});
    if (!registered && registered.error().type != "ResourceAlreadyExistsException") {
        return sim::MakeError(sim::ErrorCode::kFailedPrecondition,
                              AwsMessage("RegisterCertificateWithoutCA", registered.error()));
    }
    // Register as an OEM (Appendix A "Register as an OEM with AWS" step 3): the certificate
    // only, never the private key; the service answers with the UUID.
    auto plan = staging::PlanOemRegistration(oem_name, *certificate_pem, random);
    if (!plan) {
        return sim::Unexpected<sim::Error>(Wrap("claim-thing", plan.error()));
    }
    auto record =
        staging::RegisterOemRemote(staging, *plan, world.region, staging_account.account_id);
    if (!record) {
        return sim::Unexpected<sim::Error>(Wrap("RegisterOem", record.error()));
    }
    thing.uuid = record->uuid;
    return thing;
}

sim::Result<std::vector<fs::path>> MakeBirthIdentities(const world::ManufacturerState& manufacturer,
                                                       std::size_t count, const fs::path& dir) {
    auto ca = pki::LoadCaFiles(manufacturer.ca_certificate_file, manufacturer.ca_key_file);
    if (!ca) {
        return sim::Unexpected<sim::Error>(Wrap("manufacturer CA", ca.error()));
    }
    auto out = pki::StagedDirectory::Begin(dir, /*force=*/true);
    if (!out) {
        return sim::Unexpected<sim::Error>(out.error());
    }
    pki::ModulesOptions options;
    options.count = count;
    options.organization = manufacturer.name;
    auto records = pki::WriteModules(*ca, options, std::chrono::system_clock::now(), *out);
    if (!records) {
        return sim::Unexpected<sim::Error>(Wrap("birth identities", records.error()));
    }
    if (auto s = out->Commit(); !s) {
        return sim::Unexpected<sim::Error>(s.error());
    }
    std::vector<fs::path> identities;
    identities.reserve(records->size());
    for (const auto& record : *records) {
        identities.push_back(dir / record.thing_name);
    }
    return identities;
}

sim::Result<std::unique_ptr<module::Fleet>> StartModules(const LocalWorld& world,
                                                         const world::AccountState& staging,
                                                         const std::vector<fs::path>& identities,
                                                         const fs::path& state_dir) {
    return StartModules(world.State(), staging, identities, state_dir);
}

sim::Result<std::unique_ptr<module::Fleet>> StartModules(const world::WorldState& world,
                                                         const world::AccountState& staging,
                                                         const std::vector<fs::path>& identities,
                                                         const fs::path& state_dir) {
    world::EndpointsMap endpoints;
    for (const auto& account : world.accounts) {
        endpoints.Add(account.endpoint,
                      world::ResolvedAddress{account.address, account.mqtt_port});
    }
    module::FleetOptions options;
    options.staging_endpoint = EndpointOf(staging);
    options.root_ca_file = world.server_ca_file;
    options.resolver = endpoints.MakeResolver();
    options.state_dir = state_dir.string();
    // The world's clock times the modules' back-off, TIME? and SLEEP.
    auto clock = sim::WorldClock::OpenInWorld(world.directory);
    if (!clock) {
        return sim::Unexpected<sim::Error>(clock.error());
    }
    options.clock = std::move(*clock);
    return module::Fleet::Start(options, identities);
}

}  // namespace sim::onboarding
