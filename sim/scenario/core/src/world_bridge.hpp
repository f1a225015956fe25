// SPDX-License-Identifier: Apache-2.0
#pragma once
// The scenario parser's bridge to the world's YAML handling, kept in one place: YAML values as
// JSON, an inline world, and one `setup:` operation. The world library is meant to offer the
// same (a node-level world parser and a YAML-to-JSON conversion); these are the parser's own
// until it does.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "sim/core/result.hpp"
#include "sim/world/world_spec.hpp"

namespace sim::scenario::detail {

/// A YAML value as JSON. Plain scalars: true/false are booleans, integers and decimals numbers,
/// null/~ (and an empty value) null; quoted scalars stay strings; maps are objects.
nlohmann::json YamlToJson(const YAML::Node& node);

/// A world written inline in a scenario. Errors: "<source>:<line>: <reason>", the line being
/// the world node's (the world parser sees the map re-emitted as text).
sim::Result<world::WorldSpec> ParseInlineWorld(const YAML::Node& node, std::string_view source);

}  // namespace sim::scenario::detail
