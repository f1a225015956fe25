// SPDX-License-Identifier: Apache-2.0
#pragma once
// The world file (world.yaml) and the plan derived from it. Pure: text in, values out; no files,
// sockets or randomness (the caller passes a sim::Random for endpoint prefixes).
//
// world.yaml:
//   region: us-east-1            # optional, default us-east-1
//   manufacturers:               # module manufacturers: each gets a CA; staging trusts them
//     - name: acme
//   accounts:
//     - name: staging            # [a-z0-9-]{1,32}, unique
//       kind: staging            # staging | oem
//       account_id: "111122223333"   # optional 12 digits, default derived from the position
//       manufacturer: acme       # staging only: whose modules land here (default: the first)
//       port: 8883               # optional, default 8883
//       control_plane_port: 8443 # optional, default 8443 (the account's control plane)
//       address: 127.0.0.2       # optional, in 127.0.0.0/8; default: the world's leased block
//                                # (address_block.hpp) + the account's index, given at start
//       setup:                   # optional: AWS operations run in order once the world is up
//         - CreatePolicy: {policyName: P, policyDocument: {Version: "2012-10-17"}}
//           save: {POLICY_ARN: $.policyArn}   # optional: NAME: JSONPATH
//       lambda_functions:        # optional: what serves the Lambda ARNs the account's
//                                # provisioning templates name as pre-provisioning hooks
//         - arn: arn:aws:lambda:us-east-1:111122223333:function:check-serial
//           command: [python3, -c, "..."]   # input JSON on stdin, output JSON on stdout; or
//         - arn: arn:aws:lambda:us-east-1:111122223333:function:webhook
//           url: http://127.0.0.9:8080/hook # POST input, 200 + output (127.0.0.0/8 only)
//     - name: oem-a
//       kind: oem
// Unknown keys, duplicate names/addresses, and bad values are refused with "line N: reason".
// A world leases kAddressesPerBlock (16) addresses: accounts from the 17th on need `address:`.
// The YAML-level entry points (a world inside another document, YAML to JSON) are in
// world_spec_yaml.hpp.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/core/ports.hpp"
#include "sim/core/result.hpp"

namespace sim::world {

enum class AccountKind { kStaging, kOem };
const char* ToString(AccountKind kind) noexcept;

struct ManufacturerSpec {
    std::string name;
};

/// One AWS operation that configures an account (`setup:` in world and scenario files):
/// `- RegisterCACertificate: {caCertificate: ..., ...}` with an optional `save: {NAME: JSONPATH}`.
/// Arguments are kept as written (`${...}` placeholders included; YAML scalars converted by
/// YamlToJson in world_spec_yaml.hpp); the runner substitutes them.
struct SetupCall {
    std::string operation;  ///< AWS IoT action name, [A-Z][A-Za-z0-9]*.
    nlohmann::json arguments = nlohmann::json::object();
    std::vector<std::pair<std::string, std::string>> save;  ///< NAME -> JSONPATH, file order.
    int line = 0;
};

/// A Lambda stand-in (`lambda_functions:`): exactly one of `command` and `url`.
struct LambdaFunctionSpec {
    std::string arn;
    std::vector<std::string> command;
    std::string url;
};

struct AccountSpec {
    std::string name;
    AccountKind kind = AccountKind::kOem;
    std::string account_id;    ///< 12 digits.
    std::string manufacturer;  ///< Staging only.
    std::string address;       ///< IPv4 in 127.0.0.0/8; empty until a leased block assigns one.
    std::uint16_t port = 8883;
    std::uint16_t control_plane_port = 8443;  ///< On the same address.
    int line = 0;                  ///< Where the account starts in the file, for later errors.
    std::vector<SetupCall> setup;  ///< `setup:`, run in order once the world is up.
    std::vector<LambdaFunctionSpec> lambda_functions;  ///< `lambda_functions:`.
};

struct WorldSpec {
    std::string region = "us-east-1";
    std::vector<ManufacturerSpec> manufacturers;
    std::vector<AccountSpec> accounts;
};

/// Parses and validates a world file. `source` names the file in error messages.
/// Errors: kInvalidArgument, "<source>:<line>: <reason>".
sim::Result<WorldSpec> ParseWorldSpec(std::string_view yaml, std::string_view source);

/// One account as it runs: spec plus the generated endpoint host.
struct AccountPlan {
    AccountSpec spec;
    std::string endpoint;  ///< "<14 lowercase alnum>-ats.iot.<region>.elsim.test"
};

struct WorldPlan {
    WorldSpec spec;
    std::vector<AccountPlan> accounts;
};

/// Assigns endpoint hosts (14 lowercase alphanumerics from `random`, like AWS's prefixes).
WorldPlan PlanWorld(const WorldSpec& spec, sim::Random& random);

/// True for a dotted IPv4 address inside 127.0.0.0/8: sim::IsLoopbackIpv4 (sim/core/net.hpp),
/// which states the exact grammar.
bool IsLoopbackV4(std::string_view address);

}  // namespace sim::world
