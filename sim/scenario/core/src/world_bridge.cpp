// SPDX-License-Identifier: Apache-2.0
#include "world_bridge.hpp"

#include <charconv>
#include <cstdint>
#include <regex>
#include <string>

namespace sim::scenario::detail {
namespace {

bool IsInteger(const std::string& text) {
    static const std::regex kInteger("[-+]?[0-9]+");
    return std::regex_match(text, kInteger);
}

bool IsDecimal(const std::string& text) {
    static const std::regex kDecimal(R"([-+]?([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)([eE][-+]?[0-9]+)?)");
    return std::regex_match(text, kDecimal);
}

nlohmann::json PlainScalar(const std::string& text) {
    if (text == "true" || text == "True" || text == "TRUE") {
        return true;
    }
    if (text == "false" || text == "False" || text == "FALSE") {
        return false;
    }
    if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
        return nullptr;
    }
    if (IsInteger(text)) {
        const char* begin = text.data() + (text.front() == '+' ? 1 : 0);
        std::int64_t value = 0;
        const auto [end, error] = std::from_chars(begin, text.data() + text.size(), value);
        if (error == std::errc() && end == text.data() + text.size()) {
            return value;
        }
        // Too large for 64 bits: a decimal number, as JSON parsers read it.
    }
    if (IsDecimal(text)) {
        try {
            return std::stod(text);
        } catch (const std::exception&) {
            return text;
        }
    }
    return text;
}

}  // namespace

nlohmann::json YamlToJson(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Map: {
            auto object = nlohmann::json::object();
            for (const auto& entry : node) {
                object[entry.first.as<std::string>()] = YamlToJson(entry.second);
            }
            return object;
        }
        case YAML::NodeType::Sequence: {
            auto array = nlohmann::json::array();
            for (const auto& item : node) {
                array.push_back(YamlToJson(item));
            }
            return array;
        }
        case YAML::NodeType::Scalar:
            // yaml-cpp tags a quoted scalar "!" and a plain one "?".
            if (node.Tag() == "!") {
                return node.Scalar();
            }
            return PlainScalar(node.Scalar());
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            break;
    }
    return nullptr;
}

sim::Result<world::WorldSpec> ParseInlineWorld(const YAML::Node& node, std::string_view source) {
    YAML::Emitter emitter;
    emitter << node;
    auto spec = world::ParseWorldSpec(emitter.c_str(), source);
    if (spec) {
        return spec;
    }
    // The world parser's lines are those of the re-emitted text: name the world node instead.
    std::string reason = spec.error().message;
    const std::string prefix(source);
    if (reason.rfind(prefix + ":", 0) == 0) {
        reason.erase(0, prefix.size() + 1);
        const auto colon = reason.find(": ");
        if (colon != std::string::npos) {
            reason.erase(0, colon + 2);
        }
    }
    return sim::MakeError(
        sim::ErrorCode::kInvalidArgument,
        prefix + ":" + std::to_string(node.Mark().line + 1) + ": inline world: " + reason);
}

}  // namespace sim::scenario::detail
