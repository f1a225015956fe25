// SPDX-License-Identifier: Apache-2.0
#include "sim/world/world_spec.hpp"

#include <set>
#include <string>

#include <yaml-cpp/yaml.h>

#include "sim/core/net.hpp"

namespace sim::world {
namespace {

// A refusal that carries the line of the offending node; converted to an Error at the top.
struct SpecError {
    int line;
    std::string reason;
};

int LineOf(const YAML::Node& node) { return node.Mark().line + 1; }

[[noreturn]] void Fail(const YAML::Node& node, std::string reason) {
    throw SpecError{LineOf(node), std::move(reason)};
}

void CheckKeys(const YAML::Node& map, const std::set<std::string>& allowed, const char* where) {
    if (!map.IsMap()) {
        Fail(map, std::string(where) + " must be a mapping");
    }
    for (const auto& entry : map) {
        const auto key = entry.first.as<std::string>();
        if (allowed.count(key) == 0) {
            Fail(entry.first, "unknown key '" + key + "' in " + where);
        }
    }
}

std::string Scalar(const YAML::Node& node, const char* field) {
    if (!node.IsScalar()) {
        Fail(node, std::string(field) + " must be a scalar");
    }
    return node.as<std::string>();
}

bool IsName(std::string_view name) {
    if (name.empty() || name.size() > 32) {
        return false;
    }
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool IsAccountId(std::string_view id) {
    if (id.size() != 12) {
        return false;
    }
    for (const char c : id) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return true;
}

WorldSpec ParseOrThrow(std::string_view yaml) {
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
        throw SpecError{e.mark.line + 1, "not YAML: " + e.msg};
    }
    if (!root.IsMap()) {
        throw SpecError{1, "the world file must be a mapping with 'accounts'"};
    }
    CheckKeys(root, {"region", "manufacturers", "accounts"}, "the world");
    WorldSpec spec;
    if (root["region"]) {
        spec.region = Scalar(root["region"], "region");
        if (spec.region.empty() ||
            spec.region.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") !=
                std::string::npos) {
            Fail(root["region"], "region '" + spec.region + "' is not a region name");
        }
    }
    std::set<std::string> manufacturer_names;
    if (const auto list = root["manufacturers"]) {
        if (!list.IsSequence()) {
            Fail(list, "manufacturers must be a list");
        }
        for (const auto& item : list) {
            CheckKeys(item, {"name"}, "a manufacturer");
            if (!item["name"]) {
                Fail(item, "manufacturer without name");
            }
            ManufacturerSpec m{Scalar(item["name"], "name")};
            if (!IsName(m.name)) {
                Fail(item["name"], "manufacturer name '" + m.name + "' must match [a-z0-9-]{1,32}");
            }
            if (!manufacturer_names.insert(m.name).second) {
                Fail(item["name"], "duplicate manufacturer '" + m.name + "'");
            }
            spec.manufacturers.push_back(std::move(m));
        }
    }
    const auto accounts = root["accounts"];
    if (!accounts || !accounts.IsSequence() || accounts.size() == 0) {
        Fail(accounts ? accounts : root, "accounts must be a non-empty list");
    }
    std::set<std::string> names;
    std::set<std::string> ids;
    std::set<std::string> endpoints;  // address:port
    int index = 0;
    for (const auto& item : accounts) {
        CheckKeys(item,
                  {"name", "kind", "account_id", "manufacturer", "port", "address",
                   "control_plane_port"},
                  "an account");
        AccountSpec account;
        account.line = LineOf(item);
        if (!item["name"]) {
            Fail(item, "account without name");
        }
        account.name = Scalar(item["name"], "name");
        if (!IsName(account.name)) {
            Fail(item["name"], "account name '" + account.name + "' must match [a-z0-9-]{1,32}");
        }
        if (!names.insert(account.name).second) {
            Fail(item["name"], "duplicate account '" + account.name + "'");
        }
        if (!item["kind"]) {
            Fail(item, "account '" + account.name + "' has no kind (staging or oem)");
        }
        const auto kind = Scalar(item["kind"], "kind");
        if (kind == "staging") {
            account.kind = AccountKind::kStaging;
        } else if (kind == "oem") {
            account.kind = AccountKind::kOem;
        } else {
            Fail(item["kind"], "kind '" + kind + "' is not staging or oem");
        }
        if (item["account_id"]) {
            account.account_id = Scalar(item["account_id"], "account_id");
            if (!IsAccountId(account.account_id)) {
                Fail(item["account_id"], "account_id must be 12 digits");
            }
        } else {
            // Assumed: default ids are stable per position so that re-running a world file
            // gives the same ARNs.
            const std::string digits = std::to_string(100000000000LL + 11111111LL * (index + 1));
            account.account_id = digits.substr(0, 12);
        }
        if (!ids.insert(account.account_id).second) {
            Fail(item["account_id"] ? item["account_id"] : item,
                 "duplicate account_id " + account.account_id);
        }
        if (item["manufacturer"]) {
            account.manufacturer = Scalar(item["manufacturer"], "manufacturer");
            if (account.kind != AccountKind::kStaging) {
                Fail(item["manufacturer"], "only a staging account has a manufacturer");
            }
            if (manufacturer_names.count(account.manufacturer) == 0) {
                Fail(item["manufacturer"], "unknown manufacturer '" + account.manufacturer + "'");
            }
        } else if (account.kind == AccountKind::kStaging) {
            if (spec.manufacturers.empty()) {
                Fail(item, "staging account '" + account.name + "' needs a manufacturer");
            }
            account.manufacturer = spec.manufacturers.front().name;
        }
        if (item["port"]) {
            int port = 0;
            try {
                port = item["port"].as<int>();
            } catch (const YAML::Exception&) {
                Fail(item["port"], "port must be a number");
            }
            if (port < 1 || port > 65535) {
                Fail(item["port"], "port " + std::to_string(port) + " is out of range");
            }
            account.port = static_cast<std::uint16_t>(port);
        }
        if (item["control_plane_port"]) {
            int port = 0;
            try {
                port = item["control_plane_port"].as<int>();
            } catch (const YAML::Exception&) {
                Fail(item["control_plane_port"], "control_plane_port must be a number");
            }
            if (port < 1 || port > 65535) {
                Fail(item["control_plane_port"],
                     "control_plane_port " + std::to_string(port) + " is out of range");
            }
            account.control_plane_port = static_cast<std::uint16_t>(port);
        }
        if (account.control_plane_port == account.port) {
            Fail(item, "control_plane_port and port are both " + std::to_string(account.port));
        }
        if (item["address"]) {
            account.address = Scalar(item["address"], "address");
            if (!IsLoopbackV4(account.address)) {
                Fail(item["address"], "address " + account.address + " is not in 127.0.0.0/8");
            }
        } else {
            if (index + 2 > 254) {
                Fail(item, "too many accounts for 127.0.0.2-254");
            }
            account.address = "127.0.0." + std::to_string(index + 2);
        }
        if (!endpoints.insert(account.address + ":" + std::to_string(account.port)).second) {
            Fail(item, "address " + account.address + ":" + std::to_string(account.port) +
                           " is used by another account");
        }
        spec.accounts.push_back(std::move(account));
        ++index;
    }
    return spec;
}

}  // namespace

const char* ToString(AccountKind kind) noexcept {
    return kind == AccountKind::kStaging ? "staging" : "oem";
}

bool IsLoopbackV4(std::string_view address) { return sim::IsLoopbackIpv4(address); }

sim::Result<WorldSpec> ParseWorldSpec(std::string_view yaml, std::string_view source) {
    try {
        return ParseOrThrow(yaml);
    } catch (const SpecError& e) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              std::string(source) + ":" + std::to_string(e.line) + ": " + e.reason);
    } catch (const YAML::Exception& e) {
        return sim::MakeError(
            sim::ErrorCode::kInvalidArgument,
            std::string(source) + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
}

WorldPlan PlanWorld(const WorldSpec& spec, sim::Random& random) {
    static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    WorldPlan plan{spec, {}};
    for (const auto& account : spec.accounts) {
        std::string prefix;
        for (int i = 0; i < 14; ++i) {
            prefix += kAlphabet[random.Next64() % kAlphabet.size()];
        }
        plan.accounts.push_back({account, prefix + "-ats.iot." + spec.region + ".elsim.test"});
    }
    return plan;
}

}  // namespace sim::world
