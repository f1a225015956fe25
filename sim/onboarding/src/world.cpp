// SPDX-License-Identifier: Apache-2.0
#include "sim/onboarding/world.hpp"

#include <cstdint>
#include <utility>

#include "sim/core/adapters.hpp"

namespace sim::onboarding {

namespace fs = std::filesystem;
using controlplane::AwsClient;

namespace {

constexpr std::uint16_t kDefaultMqttPort = 8883;

}  // namespace

LocalWorld::LocalWorld(std::unique_ptr<world::RunningWorld> world) : world_(std::move(world)) {}

LocalWorld::~LocalWorld() { Stop(); }

sim::Result<std::unique_ptr<LocalWorld>> LocalWorld::Start(
    const fs::path& config_file, const fs::path& directory, bool explain,
    std::function<void(const world::BrokerExit&)> on_broker_exit) {
    world::UpOptions options;
    options.explain = explain;
    options.config_file = config_file;
    options.directory = directory;
    sim::OsRandom random;
    auto plan = world::ValidateWorld(options, random);
    if (!plan) {
        return sim::Unexpected<sim::Error>(plan.error());
    }
    auto running = world::RunningWorld::Start(options, *plan);
    if (!running) {
        return sim::Unexpected<sim::Error>(running.error());
    }
    world::SupervisionOptions supervision;
    supervision.on_exit = std::move(on_broker_exit);
    (*running)->Supervise(std::move(supervision));
    return std::unique_ptr<LocalWorld>(new LocalWorld(std::move(*running)));
}

std::vector<world::BrokerExit> LocalWorld::BrokerExits() const {
    return world_ ? world_->BrokerExits() : std::vector<world::BrokerExit>{};
}

const world::WorldState& LocalWorld::State() const { return world_->State(); }

void LocalWorld::Stop() {
    if (world_) {
        world_->Stop();
        world_.reset();
    }
}

sim::Result<world::AccountState> LocalWorld::Account(const std::string& name,
                                                     world::AccountKind kind) const {
    for (const auto& account : State().accounts) {
        if (account.kind == kind && (name.empty() || account.name == name)) {
            return account;
        }
    }
    return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                          std::string("--account: no ") + world::ToString(kind) + " account" +
                              (name.empty() ? std::string() : " '" + name + "'") + " in the world");
}

sim::Result<world::ManufacturerState> LocalWorld::Manufacturer(const std::string& name) const {
    for (const auto& manufacturer : State().manufacturers) {
        if (name.empty() || manufacturer.name == name) {
            return manufacturer;
        }
    }
    return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                          "--manufacturer: no manufacturer '" + name + "' in the world");
}

world::EndpointsMap LocalWorld::Endpoints() const {
    world::EndpointsMap map;
    for (const auto& account : State().accounts) {
        map.Add(account.endpoint, world::ResolvedAddress{account.address, account.mqtt_port});
    }
    return map;
}

std::string EndpointOf(const world::AccountState& account) {
    if (account.mqtt_port == kDefaultMqttPort) {
        return account.endpoint;
    }
    return account.endpoint + ":" + std::to_string(account.mqtt_port);
}

sim::Result<std::unique_ptr<AwsClient>> MakeAccountClient(const world::AccountState& account,
                                                          const std::string& region) {
    if (account.control_plane_url.empty()) {
        return sim::MakeError(sim::ErrorCode::kFailedPrecondition,
                              "account " + account.name +
                                  ": the world runs no control plane for it (controlPlaneUrl "
                                  "is empty in world.json)");
    }
    // The world's emulated credentials only, never the environment's: onboarding holds clients
    // for the staging and the OEM account at once (see `elsim staging`'s MakeClient).
    auto client = controlplane::MakeAwsClient(
        controlplane::EmulatedAccountConfig(account.control_plane_url, region, account.account_id),
        std::make_shared<sim::SystemClock>());
    if (!client) {
        return sim::MakeError(
            client.error().code,
            "account " + account.name + ": controlPlaneUrl: " + client.error().message);
    }
    return client;
}

}  // namespace sim::onboarding
