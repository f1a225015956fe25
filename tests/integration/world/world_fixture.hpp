// SPDX-License-Identifier: Apache-2.0
#pragma once
// Helpers shared by this folder's world tests: world.yaml account lines on ports free right
// now, and the UpOptions of a world with the freshly built plugin. Pure text and paths: no
// process is started here.
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "sim/world/world.hpp"

namespace sim::testing {

// One `  - {name: <n>, kind: <k>, port: <port>, control_plane_port: <cp>}` line per
// {name, kind} in `accounts` (the ports are per account address, 127.0.0.2 upwards).
inline std::string WorldAccountLines(
    const std::vector<std::pair<std::string, std::string>>& accounts, std::uint16_t port,
    std::uint16_t control_plane_port) {
    std::string yaml;
    for (const auto& [name, kind] : accounts) {
        yaml += "  - {name: " + name + ", kind: " + kind + ", port: " + std::to_string(port) +
                ", control_plane_port: " + std::to_string(control_plane_port) + "}\n";
    }
    return yaml;
}

// UpOptions for a world described by `config`, kept in `directory`, hosted by the plugin the
// test was built with (ELSIM_BROKER_PLUGIN), with explain logs on.
inline sim::world::UpOptions TestWorldOptions(const std::filesystem::path& config,
                                              const std::filesystem::path& directory) {
    sim::world::UpOptions options;
    options.config_file = config;
    options.directory = directory;
    options.plugin = ELSIM_BROKER_PLUGIN;
    options.explain = true;
    return options;
}

}  // namespace sim::testing
