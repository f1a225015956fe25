// SPDX-License-Identifier: Apache-2.0
#include "sim/control_plane/validate.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <regex>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace sim::controlplane {
namespace {

using nlohmann::json;

enum class ShapeType : std::uint8_t {
    kString,
    kInteger,
    kLong,
    kDouble,
    kBoolean,
    kTimestamp,
    kBlob,
    kStructure,
    kList,
    kMap,
};

// A structure's member: its wire name, shape (into kIotShapes) and whether it is required.
struct ShapeMember {
    std::string_view name;
    std::uint32_t shape;
    bool required;
};

// One shape of the model. min/max bound a string's length, a list's or map's size, a number's
// value. pattern: into kIotPatterns, -1 for none. Enum values: kIotEnumValues[enum_first, +n).
// Members: kIotShapeMembers[member_first, +n). item: a list's member or a map's value shape;
// key: a map's key shape (-1 for none).
struct ShapeRule {
    std::string_view name;
    ShapeType type;
    double min;
    double max;
    int pattern;
    std::uint32_t enum_first;
    std::uint32_t enum_count;
    std::uint32_t member_first;
    std::uint32_t member_count;
    int item;
    int key;
};

constexpr double kNoMin = -std::numeric_limits<double>::infinity();
constexpr double kNoMax = std::numeric_limits<double>::infinity();
constexpr bool kRequired = true;
constexpr bool kOptional = false;

#include "iot_shapes.inc"

// Patterns compiled once (std::regex construction is slow; matching is thread-safe). The model's
// patterns are Java regular expressions; the generator rewrites them as ECMAScript.
// Not emulated: \p{C} (Unicode "other") is checked as the ASCII control characters only, and
// patterns with other Unicode classes (tag keys and values) are not checked; lengths count code
// points where Java counts UTF-16 units (they differ above U+FFFF).
const std::vector<std::regex>& CompiledPatterns() {
    static const std::vector<std::regex> compiled = [] {
        std::vector<std::regex> out;
        out.reserve(kIotPatterns.size());
        for (const auto pattern : kIotPatterns) {
            out.emplace_back(pattern.begin(), pattern.end(), std::regex::ECMAScript);
        }
        return out;
    }();
    return compiled;
}

// Not emulated: patterns are not applied to values longer than this (libstdc++'s std::regex
// recurses per character). Every patterned member the model bounds is shorter, except a few
// unbounded Jobs and rules members.
constexpr std::size_t kMaxPatternInput = 4096;

// Characters as AWS counts a string's length (Unicode code points of the UTF-8 text).
std::size_t Length(std::string_view text) {
    std::size_t count = 0;
    for (const char c : text) {
        count += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
    }
    return count;
}

std::string Number(double value) {
    if (std::floor(value) == value && std::fabs(value) < 1e15) {
        return std::to_string(static_cast<long long>(value));
    }
    std::string text = std::to_string(value);
    while (!text.empty() && text.back() == '0') {
        text.pop_back();
    }
    return text;
}

class Validator {
public:
    // Adds one failure: the value as AWS quotes it (strings and numbers; other JSON values by
    // their kind, never dumped: a body may nest objects deeply).
    void Fail(const json& value, const std::string& path, const std::string& constraint) {
        ++count_;
        if (count_ > kMaxListed) {
            return;
        }
        std::string quoted;
        if (value.is_string()) {
            quoted = value.get_ref<const std::string&>();
            if (quoted.size() > 100) {
                quoted = quoted.substr(0, 100) + "...";
            }
        } else if (value.is_number() || value.is_boolean()) {
            quoted = value.dump();
        } else if (value.is_null()) {
            quoted = "null";
        } else {
            quoted = value.is_object() ? "(an object)" : "(a list)";
        }
        if (!text_.empty()) {
            text_ += "; ";
        }
        text_ += "Value '" + quoted + "' at '" + path + "' failed to satisfy constraint: " +
                 constraint;
    }

    void Check(const json& value, std::uint32_t shape_index, const std::string& path) {
        const ShapeRule& shape = kIotShapes[shape_index];
        switch (shape.type) {
            case ShapeType::kString:
                if (!value.is_string()) {
                    // Assumed: a member of the wrong JSON type is an InvalidRequestException
                    // worded like the model's other constraints.
                    Fail(value, path, "Member must be a string");
                    return;
                }
                CheckString(value, shape, path);
                return;
            case ShapeType::kInteger:
            case ShapeType::kLong:
                if (!value.is_number_integer()) {
                    Fail(value, path, "Member must be an integer");
                    return;
                }
                CheckRange(value, value.get<double>(), shape, path);
                return;
            case ShapeType::kDouble:
            case ShapeType::kTimestamp:
                if (!value.is_number()) {
                    Fail(value, path, "Member must be a number");
                    return;
                }
                CheckRange(value, value.get<double>(), shape, path);
                return;
            case ShapeType::kBoolean:
                if (!value.is_boolean()) {
                    Fail(value, path, "Member must be a boolean");
                }
                return;
            case ShapeType::kBlob:
                if (!value.is_string()) {
                    Fail(value, path, "Member must be a base64-encoded string");
                }
                return;
            case ShapeType::kStructure:
                if (!value.is_object()) {
                    Fail(value, path, "Member must be a structure");
                    return;
                }
                CheckStructure(value, shape, path + ".");
                return;
            case ShapeType::kList:
                if (!value.is_array()) {
                    Fail(value, path, "Member must be a list");
                    return;
                }
                CheckSize(value, value.size(), shape, path);
                for (std::size_t i = 0; i < value.size(); ++i) {
                    Check(value[i], static_cast<std::uint32_t>(shape.item),
                          path + "." + std::to_string(i + 1) + ".member");
                }
                return;
            case ShapeType::kMap:
                if (!value.is_object()) {
                    Fail(value, path, "Member must be a map");
                    return;
                }
                CheckSize(value, value.size(), shape, path);
                for (const auto& [key, item] : value.items()) {
                    if (shape.key >= 0) {
                        Check(json(key), static_cast<std::uint32_t>(shape.key), path + ".key");
                    }
                    Check(item, static_cast<std::uint32_t>(shape.item), path + "." + key);
                }
                return;
        }
    }

    // The members of a structure (or of an operation's body) under `prefix` ("" at the top).
    void CheckStructure(const json& object, const ShapeRule& shape, const std::string& prefix) {
        for (std::uint32_t i = 0; i < shape.member_count; ++i) {
            const ShapeMember& member = kIotShapeMembers[shape.member_first + i];
            const auto it = object.find(member.name);
            const std::string path = prefix + std::string(member.name);
            if (it == object.end() || it->is_null()) {
                if (member.required) {
                    Fail(json(nullptr), path, "Member must not be null");
                }
                continue;
            }
            Check(*it, member.shape, path);
        }
    }

    // A path label or query parameter: text on the wire, typed by its shape.
    void CheckText(std::string_view text, std::uint32_t shape_index, const std::string& path) {
        const ShapeRule& shape = kIotShapes[shape_index];
        switch (shape.type) {
            case ShapeType::kInteger:
            case ShapeType::kLong: {
                long long number = 0;
                const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(),
                                                          number);
                if (error != std::errc() || end != text.data() + text.size()) {
                    Fail(json(std::string(text)), path, "Member must be an integer");
                    return;
                }
                Check(json(number), shape_index, path);
                return;
            }
            case ShapeType::kBoolean:
                if (text != "true" && text != "false") {
                    Fail(json(std::string(text)), path, "Member must be a boolean");
                }
                return;
            case ShapeType::kString:
                CheckString(json(std::string(text)), shape, path);
                return;
            default:
                return;  // lists of strings in a query, timestamps: not checked as text
        }
    }

    std::optional<std::string> Result() const {
        if (count_ == 0) {
            return std::nullopt;
        }
        // Assumed: the wording of AWS's request validation (the model's constraint names;
        // AWS IoT answers InvalidRequestException). Shown: the first kMaxListed failures.
        return std::to_string(count_) +
               (count_ == 1 ? " validation error detected: " : " validation errors detected: ") +
               text_;
    }

private:
    void CheckString(const json& value, const ShapeRule& shape, const std::string& path) {
        const auto& text = value.get_ref<const std::string&>();
        const std::size_t length = Length(text);
        if (static_cast<double>(length) < shape.min) {
            Fail(value, path, "Member must have length greater than or equal to " +
                                  Number(shape.min));
        } else if (static_cast<double>(length) > shape.max) {
            Fail(value, path,
                 "Member must have length less than or equal to " + Number(shape.max));
        } else if (shape.pattern >= 0 && text.size() <= kMaxPatternInput &&
                   !std::regex_match(text, CompiledPatterns()[static_cast<std::size_t>(
                                               shape.pattern)])) {
            Fail(value, path,
                 "Member must satisfy regular expression pattern: " +
                     std::string(kIotPatterns[static_cast<std::size_t>(shape.pattern)]));
        }
        if (shape.enum_count > 0) {
            bool found = false;
            std::string set;
            for (std::uint32_t i = 0; i < shape.enum_count; ++i) {
                const std::string_view option = kIotEnumValues[shape.enum_first + i];
                found = found || option == text;
                set += (i == 0 ? "" : ", ") + std::string(option);
            }
            if (!found) {
                Fail(value, path, "Member must satisfy enum value set: [" + set + "]");
            }
        }
    }

    void CheckRange(const json& value, double number, const ShapeRule& shape,
                    const std::string& path) {
        if (number < shape.min) {
            Fail(value, path,
                 "Member must have value greater than or equal to " + Number(shape.min));
        } else if (number > shape.max) {
            Fail(value, path, "Member must have value less than or equal to " + Number(shape.max));
        }
    }

    void CheckSize(const json& value, std::size_t size, const ShapeRule& shape,
                   const std::string& path) {
        if (static_cast<double>(size) < shape.min) {
            Fail(value, path,
                 "Member must have length greater than or equal to " + Number(shape.min));
        } else if (static_cast<double>(size) > shape.max) {
            Fail(value, path,
                 "Member must have length less than or equal to " + Number(shape.max));
        }
    }

    static constexpr std::size_t kMaxListed = 10;
    std::size_t count_ = 0;
    std::string text_;
};

}  // namespace

std::optional<std::string> ValidateRequest(const OperationInfo& operation,
                                           const RequestMembers& request) {
    Validator validator;
    for (std::size_t i = 0; i < operation.members.size(); ++i) {
        const OperationMember& member = operation.members[i];
        const std::uint32_t shape = kIotMemberShapes[operation.first_member + i];
        const std::string path(member.name);
        switch (member.location) {
            case MemberLocation::kUri: {
                for (const auto& [name, value] : request.labels) {
                    if (name == member.location_name) {
                        validator.CheckText(value, shape, path);
                    }
                }
                break;
            }
            case MemberLocation::kQueryString: {
                bool present = false;
                for (const auto& [name, value] : request.query) {
                    if (name == member.location_name) {
                        present = true;
                        validator.CheckText(value, shape, path);
                    }
                }
                if (!present && member.required) {
                    validator.Fail(json(nullptr), path, "Member must not be null");
                }
                break;
            }
            case MemberLocation::kBody: {
                const auto it = request.body.find(member.location_name);
                if (it == request.body.end() || it->is_null()) {
                    if (member.required) {
                        validator.Fail(json(nullptr), path, "Member must not be null");
                    }
                } else {
                    validator.Check(*it, shape, path);
                }
                break;
            }
            case MemberLocation::kPayload:
                validator.Check(request.body, shape, path);
                break;
            case MemberLocation::kHeader:
                break;  // x-amzn-principal and friends: checked by the operations themselves
        }
    }
    return validator.Result();
}

}  // namespace sim::controlplane
