// SPDX-License-Identifier: Apache-2.0
// `elsim world up|down|status`: see sim/world/include/sim/world/world.hpp for the lifecycle.
#include <cstdio>
#include <string>

#include "verbs.hpp"
#include <CLI/CLI.hpp>

#include "sim/world/mosquitto_process.hpp"
#include "sim/world/world.hpp"

namespace elsim {
namespace {

int ExitCodeFor(const sim::Error& error) {
    return error.code == sim::ErrorCode::kInvalidArgument ||
                   error.code == sim::ErrorCode::kNotFound ||
                   error.code == sim::ErrorCode::kFailedPrecondition ||
                   error.code == sim::ErrorCode::kUnavailable
               ? kExitBadInput
               : kExitFailed;
}

struct WorldArgs {
    std::string config;
    std::string directory;
    std::string mosquitto;
    std::string plugin;
    bool explain = false;
    bool foreground = false;
};

}  // namespace

void AddWorldVerb(CLI::App& app, VerbContext& context) {
    auto* world = app.add_subcommand("world", "Start, inspect and stop a world of accounts");
    world->require_subcommand(1);
    auto args = std::make_shared<WorldArgs>();

    auto* up = world->add_subcommand(
        "up", "Validate a world file, start one broker per account, write DIR/world.json");
    up->add_option("--config", args->config, "The world file (YAML)")->required();
    up->add_option("--dir", args->directory, "The world directory")->required();
    up->add_option("--mosquitto", args->mosquitto, "mosquitto executable (default: PATH)");
    up->add_option("--plugin", args->plugin,
                   "Broker plugin .so, or 'none' for bare brokers (default: the built plugin)");
    up->add_flag("--explain", args->explain, "Log the reason of every refusal in broker logs");
    up->add_flag("--foreground", args->foreground,
                 "Run the supervisor here and block until SIGTERM/SIGINT");
    up->callback([args, &context] {
        sim::world::UpOptions options;
        options.config_file = args->config;
        options.directory = args->directory;
        options.mosquitto = args->mosquitto;
        options.plugin = args->plugin;
        options.explain = args->explain;
        const auto status = args->foreground ? sim::world::WorldRunForeground(options)
                                             : sim::world::WorldUp(options);
        if (!status) {
            (void)std::fprintf(stderr, "elsim world up: %s\n", status.error().message.c_str());
            context.exit_code = ExitCodeFor(status.error());
            return;
        }
        if (!args->foreground) {
            (void)std::printf("%s/world.json\n", args->directory.c_str());
        }
        context.exit_code = kExitOk;
    });

    auto* down = world->add_subcommand("down", "Stop the world running in DIR");
    down->add_option("--dir", args->directory, "The world directory")->required();
    down->callback([args, &context] {
        const auto status = sim::world::WorldDown(args->directory);
        if (!status) {
            (void)std::fprintf(stderr, "elsim world down: %s\n", status.error().message.c_str());
            context.exit_code = ExitCodeFor(status.error());
            return;
        }
        context.exit_code = kExitOk;
    });

    auto* status = world->add_subcommand("status", "Show the accounts of the world in DIR");
    status->add_option("--dir", args->directory, "The world directory")->required();
    status->callback([args, &context] {
        auto state = sim::world::ReadWorld(args->directory);
        if (!state) {
            (void)std::fprintf(stderr, "elsim world status: %s\n", state.error().message.c_str());
            context.exit_code = ExitCodeFor(state.error());
            return;
        }
        const bool supervisor = sim::world::ProcessAlive(state->supervisor_pid);
        bool all_up = supervisor;
        (void)std::printf("supervisor pid=%d %s\n", state->supervisor_pid,
                          supervisor ? "running" : "stopped");
        for (const auto& account : state->accounts) {
            const bool up_now = sim::world::PortAcceptsConnections(
                account.address, account.mqtt_port, std::chrono::milliseconds{200});
            all_up = all_up && up_now;
            (void)std::printf("%-16s %-7s %s %s:%u %s\n", account.name.c_str(),
                              sim::world::ToString(account.kind), account.endpoint.c_str(),
                              account.address.c_str(), static_cast<unsigned>(account.mqtt_port),
                              up_now ? "up" : "down");
        }
        context.exit_code = all_up ? kExitOk : kExitFailed;
    });
}

}  // namespace elsim
