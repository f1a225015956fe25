// SPDX-License-Identifier: Apache-2.0
#pragma once
// world.json: what a running world looks like to its clients (modules, claim scripts, the
// runner, `elsim world status|down`). Pure: values <-> JSON text.
//
// {
//   "region": "us-east-1", "supervisorPid": 1234, "directory": "/tmp/w",
//   "serverCaFile": "/tmp/w/pki/root-ca.pem",          // trust this to verify every endpoint
//   "manufacturers": [{"name": "acme", "caCertificateFile": "...", "caKeyFile": "..."}],
//   "accounts": [{"name": "staging", "kind": "staging", "accountId": "111122223333",
//                 "endpoint": "abcdefghijklmn-ats.iot.us-east-1.elsim.test",
//                 "address": "127.0.0.2", "mqttPort": 8883, "controlPlaneUrl": "",
//                 "capath": "...", "configFile": "...", "logFile": "...", "brokerPid": 1235}],
//   "endpoints": {"abcdefghijklmn-ats.iot.us-east-1.elsim.test": "127.0.0.2:8883"}
// }

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/result.hpp"
#include "sim/world/world_spec.hpp"

namespace sim::world {

struct ManufacturerState {
    std::string name;
    std::string ca_certificate_file;
    std::string ca_key_file;
};

struct AccountState {
    std::string name;
    AccountKind kind = AccountKind::kOem;
    std::string account_id;
    std::string endpoint;
    std::string address;
    std::uint16_t mqtt_port = 8883;
    std::string control_plane_url;  ///< "http://127.0.0.N:8443"; empty for a plugin-less world.
    std::string capath;
    std::string config_file;
    std::string log_file;
    int broker_pid = 0;
};

struct WorldState {
    std::string region;
    int supervisor_pid = 0;
    std::string directory;
    std::string server_ca_file;
    std::vector<ManufacturerState> manufacturers;
    std::vector<AccountState> accounts;
};

/// Pretty-printed world.json (includes the derived "endpoints" map).
std::string WorldStateToJson(const WorldState& state);
/// Parses world.json. Errors: kInvalidArgument naming the field.
sim::Result<WorldState> WorldStateFromJson(std::string_view text);

}  // namespace sim::world
