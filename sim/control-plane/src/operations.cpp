// SPDX-License-Identifier: Apache-2.0
#include "sim/control_plane/operations.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>

namespace sim::controlplane {
namespace {

// One operation of the generated table: its members are kIotMembers[first, first + count).
struct OperationEntry {
    std::string_view name;
    std::string_view method;
    std::string_view request_uri;
    std::size_t first;
    std::size_t count;
};

// The vocabulary of the generated table.
constexpr MemberLocation kUri = MemberLocation::kUri;
constexpr MemberLocation kQueryString = MemberLocation::kQueryString;
constexpr MemberLocation kHeader = MemberLocation::kHeader;
constexpr MemberLocation kBody = MemberLocation::kBody;
constexpr MemberLocation kPayload = MemberLocation::kPayload;
constexpr bool kString = true;
constexpr bool kNotString = false;
constexpr bool kRequired = true;
constexpr bool kOptional = false;

#include "iot_operations.inc"

static_assert(std::is_sorted(kIotOperations.begin(), kIotOperations.end(),
                             [](const OperationEntry& a, const OperationEntry& b) {
                                 return a.name < b.name;
                             }),
              "the generated table is sorted by operation name");

const char* LocationText(MemberLocation location) {
    switch (location) {
        case MemberLocation::kUri:
            return "path label";
        case MemberLocation::kQueryString:
            return "query string";
        case MemberLocation::kHeader:
            return "header";
        case MemberLocation::kBody:
        case MemberLocation::kPayload:
            break;
    }
    return "body";
}

// A scalar as wire text: strings as they are, booleans "true"/"false", numbers as JSON prints
// them (what botocore sends for querystring and header members).
std::string ScalarText(const nlohmann::json& value) {
    return value.is_string() ? value.get<std::string>() : value.dump();
}

// A value for a string-typed body member: a map or list (YAML-written JSON documents such as a
// policyDocument) becomes its compact JSON text, a number or boolean its text.
nlohmann::json AsStringMember(const nlohmann::json& value) {
    return value.is_string() ? value : nlohmann::json(value.dump());
}

}  // namespace

std::optional<OperationInfo> FindOperation(std::string_view operation) {
    const auto* it = std::lower_bound(
        kIotOperations.begin(), kIotOperations.end(), operation,
        [](const OperationEntry& entry, std::string_view name) { return entry.name < name; });
    if (it == kIotOperations.end() || it->name != operation) {
        return std::nullopt;
    }
    return OperationInfo{
        it->name, it->method, it->request_uri,
        std::span<const OperationMember>(kIotMembers).subspan(it->first, it->count), it->first};
}

std::vector<std::string> KnownOperations() {
    std::vector<std::string> names;
    names.reserve(kIotOperations.size());
    for (const auto& entry : kIotOperations) {
        names.emplace_back(entry.name);
    }
    return names;
}

// The serialisation follows the rest-json protocol as the AWS SDKs implement it: labels are
// substituted into the requestUri, querystring and header members are sent as text, and the
// remaining members form the JSON body ("AWS IoT API Reference", each action's "URI Request
// Parameters" and "Request Body").
Result<OperationRequest> BuildOperationRequest(std::string_view operation,
                                               const nlohmann::json& arguments) {
    const auto info = FindOperation(operation);
    if (!info) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "unknown AWS IoT operation '" + std::string(operation) + "'");
    }
    const std::string prefix = std::string(operation) + ": ";
    if (!arguments.is_null() && !arguments.is_object()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         prefix + "arguments must be an object of request members, not " +
                             arguments.type_name());
    }
    const auto find_member = [&](std::string_view name) -> const OperationMember* {
        for (const auto& member : info->members) {
            if (member.name == name) {
                return &member;
            }
        }
        return nullptr;
    };
    if (arguments.is_object()) {
        for (const auto& [name, value] : arguments.items()) {
            if (find_member(name) == nullptr) {
                std::string message = prefix;
                message.append("unknown member '").append(name).append("'");
                return MakeError(ErrorCode::kInvalidArgument, std::move(message));
            }
        }
    }
    const auto argument = [&](std::string_view name) -> const nlohmann::json* {
        if (!arguments.is_object()) {
            return nullptr;
        }
        const auto it = arguments.find(name);
        return it == arguments.end() || it->is_null() ? nullptr : &*it;
    };

    OperationRequest request;
    request.method = std::string(info->method);
    std::string_view uri = info->request_uri;
    // A fixed query part of the requestUri ("/x?a=b") precedes the query members.
    if (const auto mark = uri.find('?'); mark != std::string_view::npos) {
        auto fixed = ParseQuery(uri.substr(mark + 1));
        if (!fixed) {
            return MakeError(ErrorCode::kInternal, prefix + "bad requestUri in the table");
        }
        request.query = std::move(*fixed);
        uri = uri.substr(0, mark);
    }

    bool has_body_members = false;
    for (const auto& member : info->members) {
        const nlohmann::json* value = argument(member.name);
        if (value == nullptr) {
            if (member.required) {
                return MakeError(ErrorCode::kInvalidArgument, prefix + "missing required member '" +
                                                                  std::string(member.name) + "'");
            }
            has_body_members |= member.location == MemberLocation::kBody;
            continue;
        }
        switch (member.location) {
            case MemberLocation::kBody:
                has_body_members = true;
                if (!request.body.is_object()) {
                    request.body = nlohmann::json::object();
                }
                request.body[std::string(member.location_name)] =
                    member.is_string ? AsStringMember(*value) : *value;
                continue;
            case MemberLocation::kPayload:
                request.body = member.is_string ? AsStringMember(*value) : *value;
                continue;
            case MemberLocation::kUri:
            case MemberLocation::kQueryString:
            case MemberLocation::kHeader:
                break;
        }
        if (value->is_structured()) {
            return MakeError(ErrorCode::kInvalidArgument,
                             prefix + "member '" + std::string(member.name) + "' is a " +
                                 LocationText(member.location) +
                                 " and takes a string, number or boolean, not " +
                                 value->type_name());
        }
        std::string text = ScalarText(*value);
        if (member.location == MemberLocation::kQueryString) {
            request.query.emplace_back(member.location_name, std::move(text));
        } else if (member.location == MemberLocation::kHeader) {
            request.headers.emplace_back(member.location_name, std::move(text));
        } else if (text.empty()) {
            return MakeError(ErrorCode::kInvalidArgument,
                             prefix + "member '" + std::string(member.name) +
                                 "' is a path label and cannot be empty");
        }
    }
    if (has_body_members && request.body.is_null()) {
        request.body = nlohmann::json::object();
    }

    // Substitute the labels: `{name}` is encoded as one segment ('/' too), `{name+}` keeps '/'.
    std::size_t at = 0;
    while (at < uri.size()) {
        const auto open = uri.find('{', at);
        if (open == std::string_view::npos) {
            request.path.append(uri.substr(at));
            break;
        }
        const auto close = uri.find('}', open);
        if (close == std::string_view::npos) {
            return MakeError(ErrorCode::kInternal, prefix + "bad requestUri in the table");
        }
        request.path.append(uri.substr(at, open - at));
        std::string_view label = uri.substr(open + 1, close - open - 1);
        const bool greedy = !label.empty() && label.back() == '+';
        if (greedy) {
            label.remove_suffix(1);
        }
        const OperationMember* bound = nullptr;
        for (const auto& member : info->members) {
            if (member.location == MemberLocation::kUri && member.location_name == label) {
                bound = &member;
            }
        }
        const nlohmann::json* value = bound == nullptr ? nullptr : argument(bound->name);
        if (value == nullptr) {
            return MakeError(ErrorCode::kInternal,
                             prefix + "label {" + std::string(label) + "} has no value");
        }
        request.path += UriEncode(ScalarText(*value), greedy);
        at = close + 1;
    }
    return request;
}

}  // namespace sim::controlplane
