// SPDX-License-Identifier: Apache-2.0
#include <nlohmann/json.hpp>

#include "sim/world/world_state.hpp"

namespace sim::world {
using nlohmann::json;

std::string WorldStateToJson(const WorldState& state) {
    json doc;
    doc["region"] = state.region;
    doc["supervisorPid"] = state.supervisor_pid;
    doc["directory"] = state.directory;
    doc["serverCaFile"] = state.server_ca_file;
    doc["manufacturers"] = json::array();
    for (const auto& m : state.manufacturers) {
        doc["manufacturers"].push_back({{"name", m.name},
                                        {"caCertificateFile", m.ca_certificate_file},
                                        {"caKeyFile", m.ca_key_file}});
    }
    doc["accounts"] = json::array();
    doc["endpoints"] = json::object();
    for (const auto& a : state.accounts) {
        doc["accounts"].push_back({{"name", a.name},
                                   {"kind", ToString(a.kind)},
                                   {"accountId", a.account_id},
                                   {"endpoint", a.endpoint},
                                   {"address", a.address},
                                   {"mqttPort", a.mqtt_port},
                                   {"controlPlaneUrl", a.control_plane_url},
                                   {"capath", a.capath},
                                   {"configFile", a.config_file},
                                   {"logFile", a.log_file},
                                   {"brokerPid", a.broker_pid}});
        doc["endpoints"][a.endpoint] = a.address + ":" + std::to_string(a.mqtt_port);
    }
    return doc.dump(2) + "\n";
}

sim::Result<WorldState> WorldStateFromJson(std::string_view text) {
    const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument, "world.json: not a JSON object");
    }
    std::string field;
    try {
        WorldState state;
        field = "region";
        state.region = doc.at(field).get<std::string>();
        field = "supervisorPid";
        state.supervisor_pid = doc.at(field).get<int>();
        field = "directory";
        state.directory = doc.at(field).get<std::string>();
        field = "serverCaFile";
        state.server_ca_file = doc.at(field).get<std::string>();
        field = "manufacturers";
        for (const auto& m : doc.at(field)) {
            state.manufacturers.push_back({m.at("name").get<std::string>(),
                                           m.at("caCertificateFile").get<std::string>(),
                                           m.at("caKeyFile").get<std::string>()});
        }
        field = "accounts";
        for (const auto& a : doc.at(field)) {
            AccountState account;
            account.name = a.at("name").get<std::string>();
            const auto kind = a.at("kind").get<std::string>();
            if (kind != "staging" && kind != "oem") {
                return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                                      "world.json: accounts[].kind '" + kind + "'");
            }
            account.kind = kind == "staging" ? AccountKind::kStaging : AccountKind::kOem;
            account.account_id = a.at("accountId").get<std::string>();
            account.endpoint = a.at("endpoint").get<std::string>();
            account.address = a.at("address").get<std::string>();
            account.mqtt_port = a.at("mqttPort").get<std::uint16_t>();
            account.control_plane_url = a.at("controlPlaneUrl").get<std::string>();
            account.capath = a.at("capath").get<std::string>();
            account.config_file = a.at("configFile").get<std::string>();
            account.log_file = a.at("logFile").get<std::string>();
            account.broker_pid = a.at("brokerPid").get<int>();
            state.accounts.push_back(std::move(account));
        }
        return state;
    } catch (const json::exception& e) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "world.json: field '" + field + "': " + e.what());
    }
}

}  // namespace sim::world
