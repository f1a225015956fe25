// SPDX-License-Identifier: Apache-2.0
#include "sim/scenario/parse.hpp"

#include <map>
#include <regex>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sim::scenario {
namespace {

using ::testing::ElementsAre;

constexpr const char* kWorld = R"(region: us-east-1
manufacturers:
  - name: acme
accounts:
  - name: staging
    kind: staging
    manufacturer: acme
  - name: oem-a
    kind: oem
  - name: oem-b
    kind: oem
)";

FileReader Reader() {
    return [](const std::filesystem::path& path) -> sim::Result<std::string> {
        static const std::map<std::string, std::string> kFiles = {
            {"scenarios/worlds/oem-guide.yaml", kWorld},
            {"scenarios/worlds/default.yaml", kWorld},
            {"scenarios/worlds/broken.yaml", "accounts: []\n"}};
        const auto found = kFiles.find(path.string());
        if (found == kFiles.end()) {
            return sim::MakeError(sim::ErrorCode::kNotFound, path.string() + ": no such file");
        }
        return found->second;
    };
}

sim::Result<Scenario, Diagnostics> Parse(const std::string& yaml) {
    return ParseScenario(yaml, "scenarios/claim/x.yaml", "claim/x", Reader());
}

// The example of scenarios/README.md's "A scenario file", as written there.
constexpr const char* kReadmeExample =
    R"(description: >                # required: one paragraph a QA engineer can read
  A module claimed for an OEM account that never registered the module maker's CA cannot
  onboard: its TLS handshake with the OEM endpoint fails (ERR14 4).
world: ../worlds/oem-guide.yaml   # a world file (path relative to this file), or a world inline
timeout: 60s                  # optional: the whole scenario (default 60s)
setup:                        # optional: more AWS operations per account, after the world's own
  oem-b:
    - CreatePolicy: {policyName: Narrow, policyDocument: {Version: "2012-10-17", Statement: []}}
actors:
  m1: {module: acme}          # a software module with a birth certificate from acme's CA
  portal-b: {claim-thing: oem-b}
steps:
  - {name: first login, at: m1, send: AT+CONNECT, expect: "OK 1 CONNECTED", within: 10s}
  - {name: the claim, claim: {by: portal-b, module: m1, endpoint: oem-b}, expect: accepted}
  - {event: m1, expect: CONLOST}
  - {name: OEM connect, at: m1, send: AT+CONNECT, expect: "/^ERR14 4 /", within: 30s}
  - {call: {account: oem-b, op: ListThings}, expect: {$.things: []}}
)";

TEST(ParseScenarioTest, ParsesTheReadmeExample) {
    const auto parsed = Parse(kReadmeExample);
    ASSERT_TRUE(parsed) << ::testing::PrintToString(parsed.error());
    const auto& s = *parsed;
    EXPECT_EQ(s.id, "claim/x");
    EXPECT_EQ(s.world_file, std::filesystem::path("scenarios/worlds/oem-guide.yaml"));
    EXPECT_EQ(s.world.accounts.size(), 3U);
    EXPECT_EQ(s.timeout, Duration(60'000));
    ASSERT_EQ(s.setup.size(), 1U);
    EXPECT_EQ(s.setup[0].first, "oem-b");
    ASSERT_EQ(s.setup[0].second.size(), 1U);
    EXPECT_EQ(s.setup[0].second[0].operation, "CreatePolicy");
    EXPECT_EQ(s.setup[0].second[0].arguments,
              nlohmann::json::parse(R"({"policyName": "Narrow", "policyDocument":
                                        {"Version": "2012-10-17", "Statement": []}})"));
    EXPECT_EQ(s.setup[0].second[0].line, 8);
    ASSERT_EQ(s.actors.size(), 2U);
    EXPECT_EQ(std::get<ModuleActor>(s.actors[0].kind).manufacturer, "acme");
    EXPECT_EQ(std::get<ClaimThingActor>(s.actors[1].kind).account, "oem-b");
    ASSERT_EQ(s.steps.size(), 5U);
    EXPECT_EQ(s.steps[0].name, "first login");
    EXPECT_EQ(s.steps[0].line, 13);
    const auto& at = std::get<AtStep>(s.steps[0].body);
    EXPECT_EQ(at.module, "m1");
    EXPECT_EQ(at.send, "AT+CONNECT");
    EXPECT_EQ(at.expect->kind, Match::Kind::kExact);
    EXPECT_EQ(at.expect->text, "OK 1 CONNECTED");
    const auto& claim = std::get<ClaimStep>(s.steps[1].body);
    EXPECT_EQ(claim.by, "portal-b");
    EXPECT_EQ(claim.module, "m1");
    EXPECT_EQ(claim.endpoint, "oem-b");
    EXPECT_TRUE(claim.expect_accepted);
    EXPECT_EQ(s.steps[2].name, "step 3");
    EXPECT_EQ(s.steps[2].within, Duration(10'000));
    EXPECT_EQ(std::get<EventStep>(s.steps[2].body).mnemonic, "CONLOST");
    EXPECT_EQ(s.steps[3].within, Duration(30'000));
    EXPECT_EQ(std::get<AtStep>(s.steps[3].body).expect->kind, Match::Kind::kRegex);
    EXPECT_EQ(std::get<AtStep>(s.steps[3].body).expect->text, "^ERR14 4 ");
    const auto& call = std::get<CallStep>(s.steps[4].body);
    EXPECT_EQ(call.operation, "ListThings");
    ASSERT_EQ(call.expect.size(), 1U);
    EXPECT_EQ(call.expect[0].path, "$.things");
    EXPECT_EQ(call.expect[0].expected, nlohmann::json::array());
}

constexpr const char* kHead = R"(description: d
world: ../worlds/default.yaml
actors:
  m1: {module: acme}
  m2: {module: acme, broken: expired, started: false}
  portal: {claim-thing: oem-a}
  c1: {client: oem-a, certificate: m1}
  c2: {client: oem-a, certificate: new, client-id: "${m1.thingName}"}
  jitr: {jitr-handler: oem-a, whitelist: ["${m1.serial}"], policy: P}
steps:
)";  // steps start on line 11

TEST(ParseScenarioTest, ParsesEveryStepKind) {
    const std::string yaml =
        std::string(kHead) +
        R"(  - {at: m1, send: AT, lines: [a, {prefix: b}], retry-while: {contains: busy}}
  - {event: m1, expect: MSG, param: 2, within: 250ms}
  - {claim: {by: portal, thing: "${m1.thingName}", endpoint: "host.example:8883", payload: {x: 1}}, expect: refused}
  - {call: {account: oem-a, op: DescribeThing, args: {thingName: t, n: 1, q: "1"}}, save: {arn: $.thingArn}}
  - {call: {account: oem-a, op: DeleteThing}, expect-error: ResourceNotFoundException}
  - {assert: {account: oem-a, certificate: m1, status: ACTIVE}}
  - {assert: {account: oem-a, thing: "${arn}", exists: false}}
  - {assert: {account: oem-a, policy: P, attached-to: c1}}
  - {assert: {account: oem-a, things: 1, certificates: 2}, within: 3s}
  - {connect: c1, expect: refused}
  - {subscribe: c1, topic: "a/#"}
  - {publish: c1, topic: a/b, payload: {k: v}, qos: 0, expect: refused}
  - {message: c1, topic: "a/#", payload: "/v/", json: {$.k: v}}
  - {disconnect: c1}
  - {stop: m1}
  - {start: m1}
  - {restart: m1}
  - {expect-not: {event: m1, expect: CONLOST}, for: 2s}
  - parallel:
      - {at: m1, send: AT+CONNECT}
      - {call: {account: oem-a, op: ListThings}, save: {n: $.things.length()}}
  - {sleep: 1.5s, name: pause}
  - {call: {account: oem-a, op: ListThings, args: {x: "${n}"}}}
)";
    const auto parsed = Parse(yaml);
    ASSERT_TRUE(parsed) << ::testing::PrintToString(parsed.error());
    const auto& steps = parsed->steps;
    ASSERT_EQ(steps.size(), 21U);
    const auto& at = std::get<AtStep>(steps[0].body);
    EXPECT_FALSE(at.expect.has_value());
    ASSERT_EQ(at.lines.size(), 2U);
    EXPECT_EQ(at.lines[1].kind, Match::Kind::kPrefix);
    EXPECT_EQ(at.retry_while->kind, Match::Kind::kContains);
    EXPECT_EQ(std::get<EventStep>(steps[1].body).param, 2);
    EXPECT_EQ(steps[1].within, Duration(250));
    const auto& claim = std::get<ClaimStep>(steps[2].body);
    EXPECT_EQ(claim.thing, "${m1.thingName}");
    EXPECT_EQ(claim.payload, std::optional<std::string>(R"({"x":1})"));
    EXPECT_FALSE(claim.expect_accepted);
    const auto& call = std::get<CallStep>(steps[3].body);
    EXPECT_EQ(call.args, nlohmann::json::parse(R"({"thingName": "t", "n": 1, "q": "1"})"));
    EXPECT_THAT(call.save, ElementsAre(std::pair<std::string, std::string>("arn", "$.thingArn")));
    EXPECT_EQ(std::get<CallStep>(steps[4].body).expect_error, "ResourceNotFoundException");
    EXPECT_EQ(std::get<AssertStep>(steps[5].body).kind, AssertStep::Kind::kCertificate);
    EXPECT_EQ(steps[5].within, Duration(2'000));
    EXPECT_FALSE(std::get<AssertStep>(steps[6].body).exists);
    EXPECT_EQ(std::get<AssertStep>(steps[7].body).attached_to, "c1");
    EXPECT_EQ(std::get<AssertStep>(steps[8].body).certificates, 2);
    EXPECT_FALSE(std::get<ClientStep>(steps[9].body).expect_success);
    EXPECT_EQ(steps[10].within, Duration(5'000));
    const auto& publish = std::get<ClientStep>(steps[11].body);
    EXPECT_EQ(publish.payload, R"({"k":"v"})");
    EXPECT_EQ(publish.qos, 0);
    EXPECT_EQ(std::get<MessageStep>(steps[12].body).json.size(), 1U);
    EXPECT_EQ(std::get<PowerStep>(steps[15].body).action, PowerStep::Action::kStart);
    EXPECT_EQ(steps[17].within, Duration(2'000));
    EXPECT_EQ(std::get<ExpectNotStep>(steps[17].body).inner.at(0).name, "step 18.1");
    const auto& parallel = std::get<ParallelStep>(steps[18].body);
    ASSERT_EQ(parallel.steps.size(), 2U);
    EXPECT_EQ(parallel.steps[1].name, "step 19.2");
    EXPECT_EQ(steps[19].name, "pause");
    EXPECT_EQ(steps[19].within, Duration(1'500));
    const auto& client = std::get<ClientActor>(parsed->actors[3].kind);
    EXPECT_EQ(client.client_id, "c1");
    EXPECT_FALSE(std::get<ModuleActor>(parsed->actors[1].kind).started);
}

TEST(ParseScenarioTest, FleetDeviceActorAndProvisionSteps) {
    const auto parsed = Parse(R"(description: d
world: ../worlds/default.yaml
actors:
  factory: {client: oem-a, certificate: new}
  d1:
    device: fleet
    account: oem-a
    claim: factory
    template: T
    parameters: {SerialNumber: "${factory.serial}", Site: lab}
    csr: true
    format: cbor
  d2: {device: fleet, account: oem-a, claim: acme, template: T}
  spy: {client: oem-a, certificate: d1}
steps:
  - {provision: d1}
  - {provision: d2, expect: rejected, failed-step: register-thing, error-code: AccessDenied, within: 20s}
  - {assert: {account: oem-a, thing: "${d1.thingName}"}}
  - {assert: {account: oem-a, certificate: "${d2.certificateId}", status: PENDING_ACTIVATION}}
)");
    ASSERT_TRUE(parsed) << ::testing::PrintToString(parsed.error());
    const auto& d1 = std::get<FleetDeviceActor>(parsed->actors[1].kind);
    EXPECT_EQ(d1.account, "oem-a");
    EXPECT_EQ(d1.claim, "factory");
    EXPECT_EQ(d1.template_name, "T");
    EXPECT_EQ(d1.parameters, (std::map<std::string, std::string>{
                                 {"SerialNumber", "${factory.serial}"}, {"Site", "lab"}}));
    EXPECT_TRUE(d1.csr);
    EXPECT_TRUE(d1.cbor);
    const auto& d2 = std::get<FleetDeviceActor>(parsed->actors[2].kind);
    EXPECT_FALSE(d2.csr);
    EXPECT_FALSE(d2.cbor);
    EXPECT_EQ(std::get<ClientActor>(parsed->actors[3].kind).certificate, "d1");
    const auto& first = std::get<ProvisionStep>(parsed->steps[0].body);
    EXPECT_EQ(first.device, "d1");
    EXPECT_TRUE(first.expect_provisioned);
    EXPECT_EQ(parsed->steps[0].within, Duration(60'000));
    const auto& second = std::get<ProvisionStep>(parsed->steps[1].body);
    EXPECT_FALSE(second.expect_provisioned);
    EXPECT_EQ(second.failed_step, "register-thing");
    EXPECT_EQ(second.error_code, "AccessDenied");
    EXPECT_EQ(parsed->steps[1].within, Duration(20'000));
}

TEST(ParseScenarioTest, ClaimThroughAnotherStagingAndRepeatedPublishes) {
    const auto parsed = Parse(std::string(kHead) +
                              R"(  - {claim: {by: portal, module: m1, endpoint: oem-a, staging: staging}}
  - {publish: c1, topic: a/b, payload: x, repeat: 40}
)");
    ASSERT_TRUE(parsed) << ::testing::PrintToString(parsed.error());
    EXPECT_EQ(std::get<ClaimStep>(parsed->steps[0].body).staging, "staging");
    EXPECT_EQ(std::get<ClientStep>(parsed->steps[1].body).repeat, 40);
}

TEST(ParseScenarioTest, ParsesFaultSteps) {
    const auto parsed = Parse(std::string(kHead) +
                              "  - {fault: drop, account: staging, client: portal, when: publish}\n"
                              "  - {fault: delay-puback, account: oem-a, by: 2s, for: 30s}\n"
                              "  - {fault: api-error, account: oem-a, op: CreateThing, "
                              "error: ThrottlingException, count: 2}\n");
    ASSERT_TRUE(parsed) << ::testing::PrintToString(parsed.error());
    const auto& drop = std::get<FaultStep>(parsed->steps[0].body);
    EXPECT_EQ(drop.account, "staging");
    EXPECT_EQ(drop.client, "portal");
    EXPECT_EQ(drop.rule, nlohmann::json::parse(R"({"kind":"drop","on":"publish"})"));
    EXPECT_EQ(std::get<FaultStep>(parsed->steps[1].body).rule,
              nlohmann::json::parse(R"({"kind":"delay-puback","delayMs":2000,"windowMs":30000})"));
    EXPECT_EQ(std::get<FaultStep>(parsed->steps[2].body).rule,
              nlohmann::json::parse(R"({"kind":"api-error","operation":"CreateThing",
                                        "error":"ThrottlingException","count":2})"));
}

TEST(ParseScenarioTest, AdvanceClaimCertificatesAndMessageSaves) {
    const auto parsed = Parse(R"(description: d
world: ../worlds/default.yaml
actors:
  c3: {client: oem-a, certificate: "claim:FleetTemplate"}
steps:
  - {name: later, advance: 1h30m}
  - {advance: 3651d}
  - {message: c3, topic: a/b, save: {TOKEN: $.certificateOwnershipToken}}
  - {publish: c3, topic: a/c, payload: "${TOKEN}"}
)");
    ASSERT_TRUE(parsed) << ::testing::PrintToString(parsed.error());
    EXPECT_EQ(std::get<AdvanceStep>(parsed->steps[0].body).by, std::chrono::minutes{90});
    EXPECT_EQ(parsed->steps[0].name, "later");
    EXPECT_EQ(std::get<AdvanceStep>(parsed->steps[1].body).by, std::chrono::hours{24 * 3651});
    const auto& message = std::get<MessageStep>(parsed->steps[2].body);
    ASSERT_EQ(message.save.size(), 1U);
    EXPECT_EQ(message.save[0].first, "TOKEN");
    EXPECT_EQ(std::get<ClientActor>(parsed->actors[0].kind).certificate, "claim:FleetTemplate");
}

TEST(ParseScenarioTest, AcceptsAnInlineWorld) {
    const auto parsed = Parse(R"(description: d
world:
  manufacturers: [{name: acme}]
  accounts:
    - {name: staging, kind: staging}
    - {name: oem-a, kind: oem}
actors: {m1: {module: acme}}
steps:
  - {at: m1, send: AT}
)");
    ASSERT_TRUE(parsed) << ::testing::PrintToString(parsed.error());
    EXPECT_TRUE(parsed->world_file.empty());
    EXPECT_EQ(parsed->world.accounts.size(), 2U);
}

struct InvalidCase {
    std::string name;
    std::string yaml;  // appended to kHead when `with_head`
    bool with_head;
    std::vector<std::string> diagnostics;
};

class InvalidScenarioTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidScenarioTest, ReportsEveryProblemWithItsLine) {
    const auto& c = GetParam();
    const auto parsed = Parse(c.with_head ? std::string(kHead) + c.yaml : c.yaml);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error(), c.diagnostics);
}

const std::string kF = "scenarios/claim/x.yaml:";

INSTANTIATE_TEST_SUITE_P(
    Table, InvalidScenarioTest,
    ::testing::Values(
        InvalidCase{
            "UnknownTopLevelKey",
            "description: d\nworld: ../worlds/default.yaml\nwrld: x\nsteps: [{sleep: 1s}]\n",
            false,
            {kF + "3: unknown key 'wrld' in the scenario"}},
        InvalidCase{
            "MissingDescriptionAndSteps",
            "world: ../worlds/default.yaml\n",
            false,
            {kF + "1: description is required", kF + "1: steps is required (a non-empty list)"}},
        InvalidCase{"EmptyDescription",
                    "description: ''\nworld: ../worlds/default.yaml\nsteps: [{sleep: 1s}]\n",
                    false,
                    {kF + "1: description must not be empty"}},
        InvalidCase{"EmptySteps",
                    "description: d\nworld: ../worlds/default.yaml\nsteps: []\n",
                    false,
                    {kF + "3: steps must be a non-empty list"}},
        InvalidCase{"MissingWorldFile",
                    "description: d\nworld: nowhere.yaml\nsteps: [{sleep: 1s}]\n",
                    false,
                    {kF + "2: world: scenarios/claim/nowhere.yaml: no such file"}},
        InvalidCase{"BrokenWorldFile",
                    "description: d\nworld: ../worlds/broken.yaml\nsteps: [{sleep: 1s}]\n",
                    false,
                    {"scenarios/worlds/broken.yaml:1: accounts must be a non-empty list"}},
        InvalidCase{"NotYaml",
                    "description: [\n",
                    false,
                    {kF + "2: not YAML: end of sequence flow not found"}},
        InvalidCase{"UnknownKeyInActor",
                    "description: d\nworld: ../worlds/default.yaml\nactors:\n  m1: {module: acme, "
                    "colour: red}\nsteps: [{sleep: 1s}]\n",
                    false,
                    {kF + "4: unknown key 'colour' in actor 'm1'"}},
        InvalidCase{"ActorProblems",
                    "description: d\nworld: ../worlds/default.yaml\nactors:\n"
                    "  oem-a: {module: acme}\n"
                    "  M1: {module: nobody}\n"
                    "  p: {claim-thing: staging}\n"
                    "  c: {client: oem-z, certificate: zz}\n"
                    "  x: {module: acme, client: oem-a}\n"
                    "  b: {module: acme, broken: melted}\n"
                    "steps: [{sleep: 1s}]\n",
                    false,
                    {kF + "4: actor 'oem-a' has the name of an account",
                     kF + "5: actor name 'M1' must match [a-z][a-z0-9-]{0,31}",
                     kF + "5: unknown manufacturer 'nobody'",
                     kF + "6: claim-thing account 'staging' is not an oem account",
                     kF + "7: unknown account 'oem-z'",
                     kF + "7: certificate 'zz' is not another module, client, claim-thing or device "
                          "actor, new, claim:TEMPLATE, or a manufacturer",
                     kF + "8: actor 'x' has two kinds, 'module' and 'client'",
                     kF + "9: broken 'melted' is not one of expired, not-yet-valid, "
                          "no-client-auth, unregistered-ca, look-alike-ca, chain-without-ca, "
                          "chain-with-ca"}},
        InvalidCase{"FleetDeviceProblems",
                    "description: d\nworld: ../worlds/default.yaml\nactors:\n"
                    "  d1: {device: phone, account: oem-z, claim: nobody, template: T}\n"
                    "  d2: {device: fleet, csr: maybe, format: xml, tmpl: T}\n"
                    "  d3: {device: fleet, account: oem-a, claim: new, template: T, "
                    "parameters: [a]}\n"
                    "steps:\n"
                    "  - {provision: d1, expect: maybe}\n"
                    "  - {provision: d1, failed-step: nowhere, expect: rejected}\n"
                    "  - {provision: d1, error-code: AccessDenied}\n"
                    "  - {provision: m1}\n",
                    false,
                    {kF + "4: device must be fleet",
                     kF + "4: unknown account 'oem-z'",
                     kF + "4: claim 'nobody' is not a module, client or claim-thing actor, new, or a "
                          "manufacturer",
                     kF + "5: unknown key 'tmpl' in actor 'd2'",
                     kF + "5: actor 'd2' needs account (whose broker provisions it)",
                     kF + "5: actor 'd2' needs claim (an actor, new, or a manufacturer)",
                     kF + "5: actor 'd2' needs template (the provisioning template's name)",
                     kF + "5: csr must be true or false",
                     kF + "5: format must be json or cbor",
                     kF + "6: parameters must be a map of NAME: VALUE",
                     kF + "8: expect must be provisioned or rejected",
                     kF + "9: failed-step must be connect-claim or subscribe or "
                          "create-certificate or register-thing or write-identity or reconnect "
                          "or publish",
                     kF + "10: error-code and failed-step go with expect: rejected",
                     kF + "11: unknown actor 'm1'"}},
        InvalidCase{"UnknownKeyInStep",
                    "  - {at: m1, send: AT, expct: OK}\n",
                    true,
                    {kF + "11: unknown key 'expct' in a step of kind 'at'"}},
        InvalidCase{"ClaimStagingAndRepeat",
                    "  - {claim: {by: portal, module: m1, endpoint: oem-a, staging: oem-b}}\n"
                    "  - {publish: c1, topic: t, payload: p, repeat: 0}\n",
                    true,
                    {kF + "11: staging 'oem-b' is not a staging account",
                     kF + "12: repeat must be a number from 1 to 1000"}},
        InvalidCase{"KeyOfAnotherKind",
                    "  - {event: m1, expect: MSG, send: AT}\n",
                    true,
                    {kF + "11: unknown key 'send' in a step of kind 'event'"}},
        InvalidCase{"TwoKindKeys",
                    "  - {at: m1, event: m1, send: AT}\n",
                    true,
                    {kF + "11: a step has two kinds, 'at' and 'event'"}},
        InvalidCase{"NoKindKey",
                    "  - {name: x}\n",
                    true,
                    {kF + "11: a step needs one of at, event, claim, call, assert, connect, "
                          "disconnect, subscribe, publish, message, start, stop, restart, "
                          "expect-not, parallel, sleep, provision, fault, advance"}},
        InvalidCase{"ClaimWithoutTemplate",
                    "description: d\nworld: ../worlds/default.yaml\nactors:\n"
                    "  c: {client: oem-a, certificate: \"claim:\"}\n"
                    "steps: [{sleep: 1s}]\n",
                    false,
                    {kF + "4: certificate 'claim:' needs a template name"}},
        InvalidCase{"BadAdvance",
                    "  - {advance: 5x}\n"
                    "  - {advance: 0s}\n"
                    "  - {advance: 1h, within: 5s}\n",
                    true,
                    {kF + "11: advance: bad duration '5x': unknown unit 'x' (d, h, m, s or ms) "
                          "(write e.g. 90s, 5m, 1h30m, 24h, 2d)",
                     kF + "12: advance: bad duration '0s': must be at least 1ms (write e.g. 90s, "
                          "5m, 1h30m, 24h, 2d)",
                     kF + "13: unknown key 'within' in a step of kind 'advance'"}},
        InvalidCase{
            "UnknownActor", "  - {at: m9, send: AT}\n", true, {kF + "11: unknown actor 'm9'"}},
        InvalidCase{"WrongActorKind",
                    "  - {at: portal, send: AT}\n"
                    "  - {claim: {by: m1, module: c1, endpoint: oem-a}}\n"
                    "  - {connect: m1}\n"
                    "  - {event: oem-a, expect: MSG}\n",
                    true,
                    {kF + "11: actor 'portal' is a claim-thing, not a module",
                     kF + "12: actor 'm1' is a module, not a claim-thing",
                     kF + "12: actor 'c1' is a client, not a module",
                     kF + "13: actor 'm1' is a module, not a client",
                     kF + "14: 'oem-a' is an account, not a module actor"}},
        InvalidCase{
            "UnknownAccount",
            "  - {call: {account: oem-z, op: ListThings}}\n"
            "  - {call: {account: m1, op: ListThings}}\n"
            "  - {claim: {by: portal, module: m1, endpoint: oem-z}}\n",
            true,
            {kF + "11: unknown account 'oem-z'", kF + "12: 'm1' is an actor, not an account",
             kF + "13: endpoint 'oem-z' is not an account (a host needs a dot or a port)"}},
        InvalidCase{"BadDurations",
                    "  - {at: m1, send: AT, within: soon}\n  - {sleep: -1s}\n"
                    "  - {expect-not: {event: m1, expect: MSG}}\n",
                    true,
                    {kF + "11: within: bad duration 'soon' (write 250ms, 2s, 1m, or a number of "
                          "seconds)",
                     kF + "12: sleep: bad duration '-1s' (write 250ms, 2s, 1m, or a number of "
                          "seconds)",
                     kF + "13: a step of kind 'expect-not' needs 'for'"}},
        InvalidCase{"BadRegex",
                    "  - {at: m1, send: AT, expect: \"/(/\"}\n",
                    true,
                    {kF + "11: expect: bad regex /(/: " +
                     std::string(std::regex_error(std::regex_constants::error_paren).what())}},
        InvalidCase{"BadJsonPath",
                    "  - {call: {account: oem-a, op: ListThings}, expect: {things: []}}\n"
                    "  - {call: {account: oem-a, op: ListThings}, save: {n: \"$.a[x]\"}}\n",
                    true,
                    {kF + "11: bad JSONPath 'things': it must start with '$'",
                     kF + "12: bad JSONPath '$.a[x]': an index must be a non-negative number"}},
        InvalidCase{"BadExpectValues",
                    "  - {claim: {by: portal, module: m1, endpoint: oem-a}, expect: yes}\n"
                    "  - {event: m1, expect: conlost}\n"
                    "  - {connect: c1, expect: maybe}\n",
                    true,
                    {kF + "11: expect must be accepted or refused",
                     kF + "12: expect of an event step must be a mnemonic ([A-Z_]+, e.g. CONLOST)",
                     kF + "13: expect must be connected or refused"}},
        InvalidCase{"UnknownPlaceholderField",
                    "  - {at: m1, send: \"${m1.uuid}\"}\n"
                    "  - {at: m1, send: \"${oem-a.arn} ${acme.key}\"}\n"
                    "  - {at: m1, send: \"${ghost.thingName}\"}\n",
                    true,
                    {kF + "11: unknown value ${m1.uuid}: a module has thingName, serial, "
                          "certificateId, certificate",
                     kF + "12: unknown value ${oem-a.arn}: an account has accountId, endpoint, "
                          "region",
                     kF + "12: unknown value ${acme.key}: a manufacturer has caCertificate, "
                          "caCertificateId, verificationCertificate",
                     kF + "13: unknown value ${ghost.thingName}: 'ghost' is not an account, "
                          "manufacturer or actor"}},
        InvalidCase{"NotSavedYet",
                    "  - {call: {account: oem-a, op: DescribeThing, args: {thingName: \"${t}\"}}, "
                    "save: {t: $.thingName}}\n"
                    "  - parallel:\n"
                    "      - {call: {account: oem-a, op: ListThings}, save: {u: $.x}}\n"
                    "      - {at: m1, send: \"${u}\"}\n"
                    "  - {at: m1, send: \"${u} ${t}\"}\n",
                    true,
                    {kF + "11: unknown value ${t}: no earlier setup call or step saves it",
                     kF + "14: unknown value ${u}: no earlier setup call or step saves it"}},
        InvalidCase{"SetupProblems",
                    "description: d\nworld: ../worlds/default.yaml\nsetup:\n"
                    "  oem-z:\n    - CreateThing: {thingName: t}\n"
                    "  oem-a:\n    - createThing: {}\n"
                    "    - {CreateThing: {thingName: \"${v}\"}, save: {v: $.thingArn}}\n"
                    "    - {ListThings: {}, DescribeThing: {}}\n"
                    "steps: [{sleep: 1s}]\n",
                    false,
                    {kF + "4: unknown account 'oem-z'",
                     kF + "7: operation 'createThing' is not an AWS IoT action name "
                          "([A-Z][A-Za-z0-9]*)",
                     kF + "8: unknown value ${v}: no earlier setup call or step saves it",
                     kF + "9: a setup entry has two operations, 'ListThings' and "
                          "'DescribeThing'"}},
        InvalidCase{"AssertForms",
                    "  - {assert: {account: oem-a, thing: t, status: ACTIVE}}\n"
                    "  - {assert: {account: oem-a, certificate: m1, thing: t}}\n"
                    "  - {assert: {account: oem-a, certificate: c0ffee, status: GONE}}\n",
                    true,
                    {kF + "11: 'status' does not belong to an assert of a thing",
                     kF + "12: assert takes one of certificate, thing, policy, "
                          "things/certificates, not 'certificate' and 'thing'",
                     kF + "13: certificate 'c0ffee' is neither an actor nor a certificate id",
                     kF + "13: status must be ACTIVE or INACTIVE or REVOKED or "
                          "PENDING_ACTIVATION or absent"}},
        InvalidCase{"ControlCharactersInAKeyStayOnOneLine",
                    "  - {at: m1, send: AT, \"ex\\npect\\t\\x01\": OK}\n",
                    true,
                    {kF + "11: unknown key 'ex\\npect\\t\\x01' in a step of kind 'at'"}},
        InvalidCase{"ExpectNotOfAWrongKind",
                    "  - {expect-not: {sleep: 1s}, for: 1s}\n",
                    true,
                    {kF + "11: expect-not takes an at, event, message, assert or claim step"}},
        InvalidCase{"FaultSteps",
                    "  - {fault: drop}\n"
                    "  - {fault: explode, account: oem-a}\n"
                    "  - {fault: delay-puback, account: oem-a}\n"
                    "  - {fault: refuse-tls, account: oem-a, client: m1}\n"
                    "  - {fault: withhold-connack, account: oem-z}\n"
                    "  - {fault: kill, account: oem-a, when: publish}\n"
                    "  - {fault: api-error, account: oem-a, op: listThings, error: SlowDown}\n"
                    "  - {fault: blackhole, account: oem-a, by: 1s}\n"
                    "  - {fault: drop, account: oem-a, colour: red}\n"
                    "  - parallel:\n"
                    "      - {fault: restart, account: oem-a}\n",
                    true,
                    {kF + "11: a step of kind 'fault' needs 'account'",
                     kF + "12: fault: kind: 'explode' is not a fault kind",
                     kF + "13: fault: by: a delay-puback fault needs the delay",
                     kF + "14: fault: client: a refuse-tls fault acts before the client id is "
                          "known; scope it with count or window",
                     kF + "15: unknown account 'oem-z'",
                     kF + "16: fault: when: a kill fault fires now, at connect or at "
                          "auto-registration",
                     kF + "17: op: 'listThings' is not an AWS IoT operation name",
                     kF + "17: fault: error: 'SlowDown' is not ThrottlingException, "
                          "InternalFailureException or ServiceUnavailableException",
                     kF + "18: fault: by: only delay-connack, delay-puback and delay-publish "
                          "take a delay",
                     kF + "19: unknown key 'colour' in a step of kind 'fault'",
                     kF + "21: a fault step runs on its own, not inside parallel"}}),
    [](const auto& test_info) { return test_info.param.name; });

TEST(ParseDurationTest, Table) {
    EXPECT_EQ(*ParseDuration("250ms"), Duration(250));
    EXPECT_EQ(*ParseDuration("2s"), Duration(2'000));
    EXPECT_EQ(*ParseDuration("1m"), Duration(60'000));
    EXPECT_EQ(*ParseDuration("1.5s"), Duration(1'500));
    EXPECT_EQ(*ParseDuration("3"), Duration(3'000));
    EXPECT_EQ(*ParseDuration("0.25"), Duration(250));
    for (const char* bad : {"", "s", "1h", "-1s", "1 s", "1.s", "ms"}) {
        EXPECT_FALSE(ParseDuration(bad)) << bad;
    }
}

}  // namespace
}  // namespace sim::scenario
