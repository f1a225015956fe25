// SPDX-License-Identifier: Apache-2.0
#pragma once
// The scenario model (pure): what a scenario file says, after parsing and checking
// (scenarios/README.md is the format; parse.hpp turns YAML into these values). Values only: no
// I/O, no clock. `${...}` placeholders are kept as written; the runner substitutes them.

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/world/world_spec.hpp"

namespace sim::scenario {

using Duration = std::chrono::milliseconds;

/// How a text is matched (scenarios/README.md "MATCH").
struct Match {
    enum class Kind { kExact, kPrefix, kContains, kRegex };
    Kind kind = Kind::kExact;
    std::string text;
};

/// One JSONPath-style expectation on a JSON reply: `path` ("$.things[0].thingName",
/// "$.things.length()") and the expected value (JSON, or a matcher object
/// {"regex"|"contains"|"prefix"|"exact"|"exists": ...}).
struct JsonExpectation {
    std::string path;
    nlohmann::json expected;
};

/// `save: {NAME: JSONPATH}` in file order.
using SaveList = std::vector<std::pair<std::string, std::string>>;

// ---- Actors -----------------------------------------------------------------------------------

struct ModuleActor {
    std::string manufacturer;  ///< Whose CA signs the birth certificate; its staging is home.
    std::string broken;        ///< Empty, or a pki broken case ("expired", ...).
    bool started = true;
};
struct ClaimThingActor {
    std::string account;  ///< The OEM account the claim-thing belongs to.
};
struct ClientActor {
    std::string account;      ///< Which account's broker it connects to.
    std::string certificate;  ///< An actor name, "new", or a manufacturer name.
    std::string client_id;    ///< Defaults to the actor's name.
};
struct JitrHandlerActor {
    std::string account;
    std::vector<std::string> whitelist;  ///< Serial numbers (hex; may hold ${...}).
    std::string policy;                  ///< Attached to activated certificates.
};

/// A software device that provisions itself by claim (`{device: fleet, ...}`): the flow of
/// `elsim device provision`, run by a `provision` step.
struct FleetDeviceActor {
    std::string account;   ///< Whose broker serves the provisioning API.
    std::string claim;     ///< The claim certificate: an actor, "new", or a manufacturer.
    std::string template_name;
    std::map<std::string, std::string> parameters;  ///< RegisterThing's (may hold ${...}).
    bool csr = false;   ///< CreateCertificateFromCsr instead of CreateKeysAndCertificate.
    bool cbor = false;  ///< Payloads in CBOR instead of JSON.
};

struct Actor {
    std::string name;
    std::variant<ModuleActor, ClaimThingActor, ClientActor, JitrHandlerActor, FleetDeviceActor>
        kind;
    int line = 0;
};

// ---- Steps ------------------------------------------------------------------------------------

struct AtStep {
    std::string module;
    std::string send;
    std::optional<Match> expect;      ///< First response line; none = any answer.
    std::vector<Match> lines;         ///< The extra lines of OK{n}, in order.
    std::optional<Match> retry_while;  ///< Send again while the answer matches.
};
struct EventStep {
    std::string module;
    std::string mnemonic;  ///< "CONLOST", "MSG", ...
    std::optional<int> param;
};
struct ClaimStep {
    std::string by;        ///< A claim-thing actor.
    std::string module;    ///< A module actor, or empty when `thing` is given.
    std::string thing;     ///< A literal ThingName (may hold ${...}).
    std::string endpoint;  ///< An account name, or host[:port].
    std::string staging;   ///< The staging account to claim through; empty = the module's.
    std::optional<std::string> payload;  ///< Raw payload instead of {"Endpoint": ...}.
    bool expect_accepted = true;
};
struct CallStep {
    std::string account;
    std::string operation;  ///< AWS IoT action name ("ListThings").
    nlohmann::json args = nlohmann::json::object();
    std::vector<JsonExpectation> expect;
    std::string expect_error;  ///< AWS error type; empty = success expected.
    SaveList save;
};
struct AssertStep {
    std::string account;
    enum class Kind { kCertificate, kThing, kPolicyAttached, kCounts };
    Kind kind = Kind::kCertificate;
    std::string subject;  ///< Certificate (actor or id), thing name, or policy name.
    std::string status;   ///< kCertificate: ACTIVE|INACTIVE|REVOKED|PENDING_ACTIVATION|absent.
    bool exists = true;   ///< kThing.
    nlohmann::json attributes;  ///< kThing: a subset that must match; null = not checked.
    std::string attached_to;    ///< kPolicyAttached: an actor (its certificate).
    std::optional<int> things;        ///< kCounts.
    std::optional<int> certificates;  ///< kCounts.
};
struct ClientStep {
    enum class Action { kConnect, kDisconnect, kSubscribe, kPublish };
    Action action = Action::kConnect;
    std::string client;
    std::string topic;
    std::string payload;  ///< A YAML map payload is stored as its JSON text.
    int qos = 1;
    int repeat = 1;  ///< kPublish: this many publishes back to back, then one check.
    bool expect_success = true;  ///< connected / granted / delivered vs refused.
};
struct MessageStep {
    std::string client;
    std::string topic;  ///< A filter the client subscribed to.
    std::optional<Match> payload;
    std::vector<JsonExpectation> json;
    SaveList save;  ///< From the matched message's JSON payload.
};
struct PowerStep {
    enum class Action { kStart, kStop, kRestart };
    Action action = Action::kStart;
    std::string module;
};
struct SleepStep {};
/// `advance: 5m`: moves the world clock forward (sim-only); due timers fire before it ends.
struct AdvanceStep {
    std::chrono::milliseconds by{0};
};
/// `provision: DEVICE`: the fleet device runs its flow; provisioned, or rejected at a step.
struct ProvisionStep {
    std::string device;
    bool expect_provisioned = true;
    std::string error_code;   ///< Rejected: the reply's errorCode; empty: any.
    std::string failed_step;  ///< Rejected: the step that fails ("register-thing"); empty: any.
};
/// `fault: KIND` (elsim only): a server-side fault of one account (sim/broker/README.md
/// "Faults"; the kinds are sim::faults::KindNames()).
struct FaultStep {
    std::string account;
    std::string client;  ///< An actor, or a literal MQTT client id (may hold ${...}); empty: any.
    nlohmann::json rule;  ///< The wire form (sim/control_plane/faults.hpp) without "client".
};

struct Step;
struct ExpectNotStep {
    std::vector<Step> inner;  ///< Exactly one step.
};
struct ParallelStep {
    std::vector<Step> steps;
};

struct Step {
    std::string name;  ///< As written, or "step N" (N from 1, nested as "step 3.2").
    std::string kind;  ///< The step's kind key as written ("at", "call", ...).
    int line = 0;
    Duration within{0};  ///< The timeout / window; the parser fills each kind's default.
    std::variant<AtStep, EventStep, ClaimStep, CallStep, AssertStep, ClientStep, MessageStep,
                 PowerStep, SleepStep, ExpectNotStep, ParallelStep, ProvisionStep, FaultStep,
                 AdvanceStep>
        body;
};

// ---- The scenario -----------------------------------------------------------------------------

struct Scenario {
    std::string id;  ///< "claim/happy-path": the path under the suite root, without ".yaml".
    std::filesystem::path file;
    std::string description;
    world::WorldSpec world;  ///< The world, with the setup of its accounts.
    std::filesystem::path world_file;  ///< The referenced file; empty for an inline world.
    /// The scenario's own `setup:` (after the world's), by account, in file order.
    std::vector<std::pair<std::string, std::vector<world::SetupCall>>> setup;
    std::vector<Actor> actors;
    std::vector<Step> steps;
    Duration timeout{60'000};
    /// `requires: sim`: the scenario needs the emulator (skipped against real AWS).
    bool requires_sim = false;
};

}  // namespace sim::scenario
