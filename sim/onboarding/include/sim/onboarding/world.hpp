// SPDX-License-Identifier: Apache-2.0
#pragma once
// A local world for onboarding (adapter): a world started in this process, control-plane
// clients for its accounts, and the endpoint a module or a claim names for an account.
//
// Threading: a LocalWorld is used from one thread; MakeAccountClient's clients serialise their
// calls. Network: loopback only (the world's 127.X.Y.N addresses).

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/control_plane/aws_client.hpp"
#include "sim/core/result.hpp"
#include "sim/world/endpoints.hpp"
#include "sim/world/world.hpp"
#include "sim/world/world_state.hpp"

namespace sim::onboarding {

/// A world started in this process (sim/world's RunningWorld); stopped by Stop() or the
/// destructor (every broker terminated).
class LocalWorld {
public:
    /// Validates `config_file` and starts the world in `directory`. Errors as ValidateWorld /
    /// RunningWorld::Start (kInvalidArgument "<file>:<line>: ..." for a bad world file).
    /// `explain`: the brokers log the reason of every refusal (plugin_opt_mode explain).
    /// The world is supervised: a broker that exits is restarted with its account's state and
    /// reported to `on_broker_exit` (from the supervising thread) and by BrokerExits().
    static sim::Result<std::unique_ptr<LocalWorld>> Start(
        const std::filesystem::path& config_file, const std::filesystem::path& directory,
        bool explain = false,
        std::function<void(const world::BrokerExit&)> on_broker_exit = nullptr);
    ~LocalWorld();
    LocalWorld(const LocalWorld&) = delete;
    LocalWorld& operator=(const LocalWorld&) = delete;

    const world::WorldState& State() const;
    /// The account named `name`, or the first of `kind` when `name` is empty. Errors:
    /// kInvalidArgument "--account: no ... account '<name>' in the world".
    sim::Result<world::AccountState> Account(const std::string& name,
                                             world::AccountKind kind) const;
    /// The manufacturer named `name` (the first when empty).
    sim::Result<world::ManufacturerState> Manufacturer(const std::string& name) const;
    /// Endpoint host -> address:port for every account of the world.
    world::EndpointsMap Endpoints() const;
    /// Every broker exit the supervisor saw so far, oldest first.
    std::vector<world::BrokerExit> BrokerExits() const;
    void Stop();

private:
    explicit LocalWorld(std::unique_ptr<world::RunningWorld> world);
    std::unique_ptr<world::RunningWorld> world_;
};

/// A control-plane client for an account of a world: its controlPlaneUrl, access key = the
/// account id (how the emulated control plane picks the account). Assumed: worlds run without
/// signature verification, so the secret is fixed. Errors: kFailedPrecondition when the world
/// has no control plane for the account (controlPlaneUrl empty).
sim::Result<std::unique_ptr<controlplane::AwsClient>> MakeAccountClient(
    const world::AccountState& account, const std::string& region);

/// "host" or "host:port" when the port is not 8883.
std::string EndpointOf(const world::AccountState& account);

}  // namespace sim::onboarding
