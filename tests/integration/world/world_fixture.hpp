// SPDX-License-Identifier: Apache-2.0
#pragma once
// Helpers shared by this folder's world tests: world.yaml account lines, and the UpOptions of a
// world with the freshly built plugin. Pure text and paths: no process is started here.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "sim/world/world.hpp"

namespace sim::testing {

// One `  - {name: <n>, kind: <k>}` line per {name, kind} in `accounts`: no address and no
// port, so the accounts listen on the world's leased block at 8883 (MQTT) and 8443 (control
// plane), as worlds side by side do.
inline std::string WorldAccountLines(
    const std::vector<std::pair<std::string, std::string>>& accounts) {
    std::string yaml;
    for (const auto& [name, kind] : accounts) {
        yaml += "  - {name: " + name + ", kind: " + kind + "}\n";
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
