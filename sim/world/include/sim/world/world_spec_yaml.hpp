// SPDX-License-Identifier: Apache-2.0
#pragma once
// The world file's YAML handling for other parsers that embed a world (a scenario file may
// write its world inline) or carry AWS arguments in YAML. Kept apart from world_spec.hpp so that
// including the world model does not pull in yaml-cpp. Pure: no files.

#include <string_view>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "sim/core/result.hpp"
#include "sim/world/world_spec.hpp"

namespace sim::world {

/// Parses and validates a world from an already-parsed YAML map (the same rules as
/// ParseWorldSpec). Lines in errors are the node's own lines in the document it came from.
/// Errors: kInvalidArgument, "<source>:<line>: <reason>".
sim::Result<WorldSpec> ParseWorldSpecNode(const YAML::Node& node, std::string_view source);

/// A YAML value as JSON, as `setup:` arguments are sent:
///  - a map is an object (a key that is not a scalar becomes its YAML text), a list an array;
///  - a plain (unquoted) scalar: true/True/TRUE and false/False/FALSE are booleans;
///    null/Null/NULL/~ and an empty value are null; [-+]?digits is an integer (int64, then
///    uint64; larger stays text), a decimal with a fraction or an exponent is a double; a number
///    written with a leading zero ("0123", an id) stays text; anything else is text;
///  - a quoted, block (| >) or explicitly tagged (!!str) scalar is always text.
/// yaml-cpp tells plain from quoted by the node's tag ("?" plain, "!" quoted).
nlohmann::json YamlToJson(const YAML::Node& node);

}  // namespace sim::world
