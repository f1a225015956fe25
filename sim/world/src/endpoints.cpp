// SPDX-License-Identifier: Apache-2.0
#include "sim/world/endpoints.hpp"

#include <memory>
#include <mutex>

#include <nlohmann/json.hpp>

#include "sim/core/adapters.hpp"
#include "sim/core/net.hpp"

namespace sim::world {

namespace {

std::optional<ResolvedAddress> ParseAddress(const nlohmann::json& value) {
    ResolvedAddress out;
    if (value.is_string()) {
        const auto& text = value.get_ref<const std::string&>();
        const auto colon = text.rfind(':');
        out.ip = text.substr(0, colon);
        if (colon != std::string::npos) {
            try {
                const unsigned long port = std::stoul(text.substr(colon + 1));
                if (port == 0 || port > 65535) {
                    return std::nullopt;
                }
                out.port = static_cast<std::uint16_t>(port);
            } catch (const std::exception&) {
                return std::nullopt;
            }
        }
    } else if (value.is_object() && value.contains("address") && value["address"].is_string()) {
        out.ip = value["address"].get<std::string>();
        if (value.contains("port")) {
            if (!value["port"].is_number_unsigned() || value["port"].get<unsigned>() == 0 ||
                value["port"].get<unsigned>() > 65535) {
                return std::nullopt;
            }
            out.port = static_cast<std::uint16_t>(value["port"].get<unsigned>());
        }
    } else {
        return std::nullopt;
    }
    if (!IsLoopbackIpv4(out.ip)) {
        return std::nullopt;
    }
    return out;
}

}  // namespace

Result<EndpointsMap> EndpointsMap::Parse(const std::string& json_text) {
    const auto json = nlohmann::json::parse(json_text, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        return MakeError(ErrorCode::kInvalidArgument, "endpoints map: not a JSON object");
    }
    const nlohmann::json* entries = &json;
    if (json.contains("endpoints")) {
        if (!json["endpoints"].is_object()) {
            return MakeError(ErrorCode::kInvalidArgument,
                             "endpoints map: 'endpoints' must be an object");
        }
        entries = &json["endpoints"];
    }
    EndpointsMap map;
    for (const auto& [host, value] : entries->items()) {
        auto address = ParseAddress(value);
        if (!address) {
            return MakeError(ErrorCode::kInvalidArgument,
                             "endpoints map: entry '" + host +
                                 "' must be \"127.x.y.z:port\" or {\"address\", \"port\"} on loopback");
        }
        map.entries_[host] = *address;
    }
    return map;
}

Result<EndpointsMap> EndpointsMap::Load(const std::filesystem::path& path) {
    auto text = ReadFile(path);
    if (!text) {
        return Unexpected(text.error());
    }
    auto map = Parse(*text);
    if (!map) {
        return MakeError(map.error().code, path.string() + ": " + map.error().message);
    }
    return map;
}

Resolver EndpointsMap::MakeResolver() const {
    auto entries = std::make_shared<const std::map<std::string, ResolvedAddress>>(entries_);
    return [entries](const std::string& host, std::uint16_t port) -> std::optional<ResolvedAddress> {
        if (auto it = entries->find(host); it != entries->end()) {
            return it->second;
        }
        if (host == "localhost") {
            return ResolvedAddress{"127.0.0.1", port};
        }
        if (IsLoopbackIpv4(host)) {
            return ResolvedAddress{host, port};
        }
        return std::nullopt;
    };
}

Result<Resolver> FollowEndpointsFile(const std::filesystem::path& path) {
    struct Followed {
        std::mutex mutex;
        std::filesystem::file_time_type modified;
        std::uintmax_t size = 0;
        Resolver resolver;
    };
    auto followed = std::make_shared<Followed>();
    std::error_code ec;
    followed->modified = std::filesystem::last_write_time(path, ec);
    followed->size = std::filesystem::file_size(path, ec);
    auto map = EndpointsMap::Load(path);
    if (!map) {
        return Unexpected(map.error());
    }
    followed->resolver = map->MakeResolver();
    return Resolver([followed, path](const std::string& host, std::uint16_t port) {
        std::lock_guard lock(followed->mutex);
        std::error_code error;
        const auto modified = std::filesystem::last_write_time(path, error);
        const auto size = error ? 0 : std::filesystem::file_size(path, error);
        if (!error && (modified != followed->modified || size != followed->size)) {
            if (auto fresh = EndpointsMap::Load(path)) {
                followed->resolver = fresh->MakeResolver();
                followed->modified = modified;
                followed->size = size;
            }
        }
        return followed->resolver(host, port);
    });
}

}  // namespace sim::world
