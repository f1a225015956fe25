// SPDX-License-Identifier: Apache-2.0
#pragma once
// Resolving Endpoint host names to loopback addresses. The world writes an endpoints map (JSON:
// host name → "127.0.0.N:port"); modules look names up there instead of DNS, so a module can
// never reach a real account.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "sim/core/result.hpp"

namespace sim::world {

struct ResolvedAddress {
    std::string ip;  ///< IPv4 dotted quad inside 127.0.0.0/8.
    std::uint16_t port = 8883;
};

/// Maps (host, port from Endpoint) to an address; none = unresolved (CONNECT hint 3).
/// Must be thread-safe (called from MQTT threads).
using Resolver = std::function<std::optional<ResolvedAddress>(const std::string& host,
                                                               std::uint16_t port)>;

/// The endpoints map. Accepted forms: {"host": "127.0.0.2:8883", ...} or
/// {"endpoints": {"host": "127.0.0.2:8883" | {"address": "127.0.0.2", "port": 8883}}}.
class EndpointsMap {
public:
    /// Parses the JSON text; the error names the entry that is wrong. Addresses outside
    /// 127.0.0.0/8 are refused (loopback only).
    static Result<EndpointsMap> Parse(const std::string& json_text);
    /// Reads and parses a file; the error names the file.
    static Result<EndpointsMap> Load(const std::filesystem::path& path);

    void Add(const std::string& host, ResolvedAddress address) { entries_[host] = std::move(address); }
    std::size_t Size() const { return entries_.size(); }

    /// A resolver over a copy of this map: map entries first (their port wins), then loopback
    /// literals and "localhost" with the Endpoint's port; anything else is unresolved.
    Resolver MakeResolver() const;

private:
    std::map<std::string, ResolvedAddress> entries_;
};

/// A resolver over the endpoints map in `path` that reads the file again when it changes (its
/// modification time or size), as /etc/hosts is read at each lookup: a module process outlives
/// the worlds whose maps are written there one after another. The first read must succeed; a
/// later unreadable or bad version keeps the last good map.
Result<Resolver> FollowEndpointsFile(const std::filesystem::path& path);

}  // namespace sim::world
