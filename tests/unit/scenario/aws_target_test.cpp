// SPDX-License-Identifier: Apache-2.0
#include "sim/scenario/aws_target.hpp"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sim/scenario/parse.hpp"

namespace sim::scenario::aws {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

constexpr const char* kGood = R"(ca-file: AmazonRootCA1.pem
accounts:
  oem-a:
    account-id: "123456789012"
    region: eu-west-1
    profile: qa
    claim-thing: {certificate: claim.pem, key: claim.key, uuid: 1c8f2d3e-aaaa-4bbb-8ccc-000000000001}
  staging:
    staging-endpoint: abc123.iot.us-east-1.amazonaws.com
manufacturers:
  acme: {ca-certificate: acme.pem, ca-key: acme.key}
hosts:
  a1-ats.iot.eu-west-1.amazonaws.com: 127.0.0.9
)";

TEST(AccountsFile, ParsesEveryField) {
    auto parsed = ParseAccountsFile(kGood, "/qa/accounts.yaml");
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    EXPECT_EQ(parsed->ca_file, "/qa/AmazonRootCA1.pem");
    const auto* oem = parsed->Find("oem-a");
    ASSERT_NE(oem, nullptr);
    EXPECT_EQ(oem->account_id, "123456789012");
    EXPECT_EQ(oem->region, "eu-west-1");
    EXPECT_EQ(oem->profile, "qa");
    ASSERT_TRUE(oem->claim_thing.has_value());
    EXPECT_EQ(oem->claim_thing->certificate, "/qa/claim.pem");
    EXPECT_FALSE(oem->IsStaging());
    ASSERT_NE(parsed->Find("staging"), nullptr);
    EXPECT_TRUE(parsed->Find("staging")->IsStaging());
    EXPECT_EQ(parsed->manufacturers.at("acme").ca_key, "/qa/acme.key");
    EXPECT_EQ(parsed->hosts.at("a1-ats.iot.eu-west-1.amazonaws.com"), "127.0.0.9");
}

// Invalid inputs: each gives one line naming the file, the line and the field.
TEST(AccountsFile, InvalidInputsNameTheField) {
    struct Case {
        std::string yaml;
        std::string expected;
    };
    const std::vector<Case> cases = {
        {"accounts: {oem-a: {account-id: \"123456789012\", region: eu-west-1}}\n",
         "a.yaml:1: ca-file: required"},
        {"ca-file: ca.pem\naccounts:\n  oem-a: {region: eu-west-1}\n",
         "a.yaml:3: accounts.oem-a.account-id: required"},
        {"ca-file: ca.pem\naccounts:\n  oem-a: {account-id: \"12345\", region: eu-west-1}\n",
         "accounts.oem-a.account-id: '12345' is not 12 digits"},
        {"ca-file: ca.pem\naccounts:\n  oem-a: {account-id: \"12345678901x\", region: eu-west-1}\n",
         "accounts.oem-a.account-id: '12345678901x' is not 12 digits"},
        {"ca-file: ca.pem\naccounts:\n  oem-a: {account-id: \"123456789012\"}\n",
         "accounts.oem-a.region: required"},
        {"ca-file: ca.pem\naccounts:\n  oem-a: {account-id: \"123456789012\", region: Europe}\n",
         "accounts.oem-a.region: 'Europe' is not a region name"},
        {"ca-file: ca.pem\naccounts:\n  oem-a: {account-id: \"123456789012\", region: eu-west-1, "
         "secret: x}\n",
         "a.yaml:3: accounts.oem-a.secret: unknown key"},
        {"ca-file: ca.pem\naccounts:\n  oem-a: {account-id: \"123456789012\", region: eu-west-1, "
         "endpoint-url: iot.example}\n",
         "accounts.oem-a.endpoint-url: 'iot.example' is not an http(s):// URL"},
        {"ca-file: ca.pem\naccounts:\n  oem-a: {account-id: \"123456789012\", region: eu-west-1, "
         "claim-thing: {certificate: c.pem, key: k.pem}}\n",
         "accounts.oem-a.claim-thing.uuid: required"},
        {"ca-file: ca.pem\naccounts:\n  oem-a: {account-id: \"123456789012\", region: eu-west-1}\n"
         "  oem-b: {account-id: \"123456789012\", region: eu-west-1}\n",
         "a.yaml:4: accounts.oem-b.account-id: 123456789012 in eu-west-1 is mapped twice"},
        {"ca-file: ca.pem\naccounts: {}\n", "a.yaml:2: accounts: required"},
        {"ca-file: ca.pem\n", "accounts: required"},
        {"ca-file: ca.pem\naccounts:\n  oem-a: {account-id: \"123456789012\", region: eu-west-1}\n"
         "hosts: {x.example: localhost}\n",
         "a.yaml:4: hosts.x.example: 'localhost' is not an IPv4 address"},
        {"ca-file: ca.pem\naccounts:\n  oem-a: {account-id: \"123456789012\", region: eu-west-1}\n"
         "manufacturers: {acme: {ca-key: k.pem}}\n",
         "manufacturers.acme.ca-certificate: required"},
        {"ca-file: [a, b]\naccounts: {}\n", "a.yaml:1: ca-file: must be a non-empty string"},
        {"- just a list\n", "a.yaml:1: the accounts file must be a map"},
        {"ca-file: ca.pem\naccounts: {oem-a: {\n", "a.yaml:"},
        {"ca-file: ca.pem\nregions: [x]\naccounts: {}\n", "a.yaml:2: regions: unknown key"},
    };
    for (const auto& c : cases) {
        auto parsed = ParseAccountsFile(c.yaml, "a.yaml");
        ASSERT_FALSE(parsed.has_value()) << c.yaml;
        EXPECT_THAT(parsed.error().message, HasSubstr(c.expected)) << c.yaml;
        EXPECT_EQ(parsed.error().message.find('\n'), std::string::npos) << c.yaml;
    }
}

Scenario ParseScenarioText(const std::string& steps, const std::string& actors = "") {
    const std::string yaml = R"(description: x
world:
  region: us-east-1
  manufacturers: [{name: acme}]
  accounts:
    - {name: staging, kind: staging, manufacturer: acme}
    - {name: oem-a, kind: oem}
    - {name: oem-b, kind: oem}
)" + actors + "steps:\n" +
                             steps;
    auto parsed = ParseScenario(yaml, "s/x.yaml", "s/x", [](const std::filesystem::path&) {
        return sim::Result<std::string>(sim::MakeError(sim::ErrorCode::kNotFound, "none"));
    });
    EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().front());
    return parsed ? *parsed : Scenario{};
}

TEST(AccountsFile, CoversTheScenario) {
    const auto scenario = ParseScenarioText("  - {call: {account: oem-a, op: ListThings}}\n",
                                            "actors:\n  portal: {claim-thing: oem-b}\n");
    auto parsed = ParseAccountsFile(kGood, "a.yaml");
    ASSERT_TRUE(parsed.has_value());
    auto covered = CheckCovers(*parsed, scenario);
    ASSERT_FALSE(covered.has_value());
    EXPECT_EQ(covered.error().message,
              "a.yaml: accounts.oem-b: not mapped (scenario s/x uses the OEM account 'oem-b'; "
              "give account-id and region)");

    auto with_b = ParseAccountsFile(std::string(kGood) + "", "a.yaml");
    AccountMapping b;
    b.name = "oem-b";
    b.account_id = "210987654321";
    b.region = "eu-west-1";
    with_b->accounts["oem-b"] = b;
    covered = CheckCovers(*with_b, scenario);
    ASSERT_FALSE(covered.has_value());
    EXPECT_THAT(covered.error().message, HasSubstr("accounts.oem-b.claim-thing: required (actor "
                                                   "portal of scenario s/x"));

    AccountMapping not_staging = b;
    not_staging.name = "staging";
    not_staging.account_id = "111111111111";
    with_b->accounts["staging"] = not_staging;
    with_b->accounts["oem-b"].claim_thing = ClaimThingFiles{"c", "k", "u"};
    covered = CheckCovers(*with_b, scenario);
    ASSERT_FALSE(covered.has_value());
    EXPECT_THAT(covered.error().message,
                HasSubstr("accounts.staging: scenario s/x has it as a staging account"));
}

TEST(RunPrefix, IsShortAndRecognised) {
    struct Case {
        std::uint64_t random;
        std::string prefix;
    };
    for (const auto& c : std::vector<Case>{{0, "elsim-000000"},
                                           {0xabcdef, "elsim-abcdef"},
                                           {0x1234567890ULL, "elsim-567890"}}) {
        EXPECT_EQ(RunPrefix(c.random), c.prefix);
        EXPECT_TRUE(IsRunPrefix(c.prefix));
    }
    for (const char* bad : {"", "elsim-", "elsim", "prod-", "elsim-AB", "elsim-a_b", "elsim-*",
                            "elsim-0123456789abcdef0", "x-elsim-123"}) {
        EXPECT_FALSE(IsRunPrefix(bad)) << bad;
    }
    EXPECT_EQ(Prefixed("elsim-1", "Narrow"), "elsim-1-Narrow");
    EXPECT_EQ(Prefixed("elsim-1", "elsim-1-Narrow"), "elsim-1-Narrow");
}

TEST(RunPrefix, NamesInRequestsAreRenamedAndRepliesRestored) {
    const json args = {{"policyName", "Device"},
                       {"target", "arn:aws:iot:r:1:cert/abc"},
                       {"registrationConfig", {{"templateName", "Jitp"}}},
                       {"thingName", "0123ABCD"},
                       {"other", {{"thingName", "${saved}"}}}};
    auto renamed = PrefixNames(args, "elsim-abc123", {"0123ABCD"});
    ASSERT_TRUE(renamed.has_value());
    EXPECT_EQ((*renamed)["policyName"], "elsim-abc123-Device");
    EXPECT_EQ((*renamed)["registrationConfig"]["templateName"], "elsim-abc123-Jitp");
    EXPECT_EQ((*renamed)["thingName"], "0123ABCD");  // a module's ThingName stays
    EXPECT_EQ((*renamed)["target"], "arn:aws:iot:r:1:cert/abc");
    EXPECT_EQ((*renamed)["other"]["thingName"], "${saved}");

    auto long_template =
        PrefixNames(json{{"templateName", "ExpressLinkJitpTemplateLong"}}, "elsim-abc123", {});
    ASSERT_FALSE(long_template.has_value());
    EXPECT_THAT(long_template.error().message,
                HasSubstr("templateName 'elsim-abc123-ExpressLinkJitpTemplateLong'"));
    EXPECT_THAT(long_template.error().message, HasSubstr("36 characters"));

    const json reply = {{"policyName", "elsim-abc123-Device"},
                        {"policyArn", "arn:aws:iot:eu-west-1:123456789012:policy/elsim-abc123-Device"},
                        {"n", 3}};
    const json restored = Unprefix(reply, "elsim-abc123");
    EXPECT_EQ(restored["policyName"], "Device");
    EXPECT_EQ(restored["policyArn"], "arn:aws:iot:eu-west-1:123456789012:policy/Device");
    EXPECT_EQ(restored["n"], 3);
}

TEST(RunPrefix, CreatesAreMarkedAndRecorded) {
    const json policy = MarkCreate("CreatePolicy",
                                   {{"policyName", "p"}, {"tags", {{{"Key", "k"}, {"Value", "v"}}}}},
                                   "elsim-1");
    ASSERT_EQ(policy["tags"].size(), 2U);
    EXPECT_EQ(policy["tags"][1], (json{{"Key", "elsim-run"}, {"Value", "elsim-1"}}));
    const json thing = MarkCreate("CreateThing", {{"thingName", "t"}}, "elsim-1");
    EXPECT_EQ(thing["attributePayload"]["attributes"]["elsim-run"], "elsim-1");
    EXPECT_FALSE(thing.contains("tags"));
    EXPECT_EQ(MarkCreate("UpdateCertificate", {{"certificateId", "c"}}, "elsim-1"),
              (json{{"certificateId", "c"}}));
    EXPECT_TRUE(MarkCreate("RegisterCACertificate", json::object(), "elsim-1").contains("tags"));
    EXPECT_TRUE(MarkCreate("CreateProvisioningTemplate", json::object(), "elsim-1").contains("tags"));

    struct Case {
        std::string operation;
        json args;
        json reply;
        std::vector<Created> expected;
    };
    const std::vector<Case> cases = {
        {"CreateThing", {{"thingName", "t"}}, {{"thingArn", "arn:t"}}, {{"thing", "t", "arn:t"}}},
        {"CreateKeysAndCertificate", {}, {{"certificateId", "c1"}, {"certificateArn", "arn:c1"}},
         {{"certificate", "c1", "arn:c1"}}},
        {"RegisterCertificateWithoutCA", {}, {{"certificateId", "c2"}},
         {{"certificate", "c2", ""}}},
        {"CreatePolicy", {{"policyName", "p"}}, {{"policyArn", "arn:p"}},
         {{"policy", "p", "arn:p"}}},
        {"CreateProvisioningTemplate", {{"templateName", "j"}}, {{"templateArn", "arn:j"}},
         {{"template", "j", "arn:j"}}},
        {"RegisterCACertificate", {}, {{"certificateId", "ca"}, {"certificateArn", "arn:ca"}},
         {{"ca", "ca", "arn:ca"}}},
        {"UpdateCACertificate", {{"certificateId", "ca"}}, json::object(), {}},
        {"ListThings", json::object(), {{"things", json::array()}}, {}},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(CreatedBy(c.operation, c.args, c.reply), c.expected) << c.operation;
    }
    EXPECT_LT(DeleteOrder("thing"), DeleteOrder("certificate"));
    EXPECT_LT(DeleteOrder("certificate"), DeleteOrder("ca"));
    EXPECT_LT(DeleteOrder("template"), DeleteOrder("policy"));
    EXPECT_EQ(AccountOfArn("arn:aws:iot:eu-west-1:123456789012:policy/x"), "123456789012");
    EXPECT_EQ(AccountOfArn("arn:aws:iot:eu-west-1"), "");
    EXPECT_EQ(AccountOfArn("policy/x"), "");
}

TEST(SimOnly, TheTableDecidesPerKind) {
    const auto scenario = ParseScenarioText(
        R"(  - {at: m1, send: AT}
  - {name: staging view, assert: {account: staging, thing: x, exists: true}}
  - {name: own registry, assert: {account: oem-a, thing: x, exists: true}}
  - {call: {account: staging, op: ListThings}}
  - {call: {account: oem-a, op: ListThings}}
  - {at: bad, send: AT}
  - {name: negated, expect-not: {at: bad, send: AT}, for: 1s}
  - {sleep: 1s}
  - {claim: {by: portal, module: m1, endpoint: oem-a}}
)",
        "actors:\n  m1: {module: acme}\n  bad: {module: acme, broken: expired}\n  portal: "
        "{claim-thing: oem-a}\n");
    ASSERT_EQ(scenario.steps.size(), 9U);
    TargetView target;
    target.own_accounts = {"oem-a"};
    target.unavailable_actors["bad"] = "a broken birth identity";
    const std::vector<bool> sim_only = {false, true, false, true, false, true, true, false, false};
    for (std::size_t i = 0; i < scenario.steps.size(); ++i) {
        EXPECT_EQ(SimOnlyReason(scenario.steps[i], target).has_value(), sim_only[i])
            << scenario.steps[i].name;
    }
    EXPECT_THAT(*SimOnlyReason(scenario.steps[1], target), HasSubstr("registry assertions"));
    EXPECT_EQ(*SimOnlyReason(scenario.steps[5], target), "actor bad: a broken birth identity");

    // A kind another part of the project adds (the world clock's `advance`) is one line.
    Step advance;
    advance.kind = "advance";
    EXPECT_THAT(*SimOnlyReason(advance, target), HasSubstr("world clock"));
    Step fault;
    fault.kind = "fault";
    EXPECT_TRUE(SimOnlyReason(fault, target).has_value());

    AccountsFile accounts;
    accounts.manufacturers["acme"] = ManufacturerFiles{"acme.pem", ""};
    EXPECT_THAT(*UnavailableActor(scenario.actors[0], accounts),
                HasSubstr("manufacturers.acme.ca-key"));
    EXPECT_THAT(*UnavailableActor(scenario.actors[1], accounts), HasSubstr("'expired'"));
    EXPECT_FALSE(UnavailableActor(scenario.actors[2], accounts).has_value());
    accounts.manufacturers["acme"].ca_key = "acme.key";
    EXPECT_FALSE(UnavailableActor(scenario.actors[0], accounts).has_value());
}

TEST(SimOnly, RequiresSimIsParsed) {
    const std::string head = R"(description: x
world: {region: us-east-1, accounts: [{name: oem-a, kind: oem}]}
)";
    const std::string steps = "steps:\n  - {sleep: 1s}\n";
    const FileReader none = [](const std::filesystem::path&) {
        return sim::Result<std::string>(sim::MakeError(sim::ErrorCode::kNotFound, "none"));
    };
    auto with = ParseScenario(head + "requires: sim\n" + steps, "s/x.yaml", "s/x", none);
    ASSERT_TRUE(with.has_value());
    EXPECT_TRUE(with->requires_sim);
    auto without = ParseScenario(head + steps, "s/x.yaml", "s/x", none);
    ASSERT_TRUE(without.has_value());
    EXPECT_FALSE(without->requires_sim);
    auto bad = ParseScenario(head + "requires: aws\n" + steps, "s/x.yaml", "s/x", none);
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().front(), "s/x.yaml:3: requires must be 'sim', not 'aws'");
}

json Result(std::vector<std::tuple<std::string, std::string, std::string>> entries) {
    json timeline = json::array();
    for (const auto& [participant, kind, text] : entries) {
        timeline.push_back({{"participant", participant}, {"kind", kind}, {"text", text}});
    }
    return {{"timeline", timeline}};
}

TEST(Compare, ListsStepsWhoseObservationsDiffer) {
    const json offline = Result({{"runner", "step", "connect"},
                                 {"m1", "at<", "OK 1 CONNECTED"},
                                 {"runner", "pass", "connect"},
                                 {"runner", "step", "list"},
                                 {"oem-a", "call<", "ListThings -> {\"things\":[]}"},
                                 {"runner", "pass", "list"},
                                 {"runner", "step", "staging view"},
                                 {"runner", "pass", "staging view"},
                                 {"runner", "step", "publish"},
                                 {"m1", "at<", "OK"},
                                 {"runner", "pass", "publish"},
                                 {"runner", "step", "ids"},
                                 {"oem-a", "call<", "X -> {\"id\":\"1a2b3c4d5e6f7a8b\"}"},
                                 {"runner", "pass", "ids"}});
    const json aws = Result({{"runner", "step", "connect"},
                             {"m1", "at<", "OK 1 CONNECTED"},
                             {"runner", "pass", "connect"},
                             {"runner", "step", "list"},
                             {"oem-a", "call<", "ListThings -> {\"things\":[{\"thingName\":\"a\"}]}"},
                             {"runner", "pass", "list"},
                             {"runner", "step", "staging view"},
                             {"runner", "skip", "staging view: sim-only"},
                             {"runner", "step", "publish"},
                             {"m1", "at<", "ERR7 NOT ALLOWED"},
                             {"runner", "FAIL", "publish: expected \"OK\", observed \"ERR7\""},
                             {"runner", "step", "ids"},
                             {"oem-a", "call<", "X -> {\"id\":\"99887766aabbccdd\"}"},
                             {"runner", "pass", "ids"}});
    const auto differences = CompareRuns(offline, aws);
    ASSERT_EQ(differences.size(), 2U);
    EXPECT_EQ(differences[0].step, "list");
    EXPECT_THAT(differences[0].offline, HasSubstr("\"things\":[]"));
    EXPECT_THAT(differences[0].aws, HasSubstr("thingName"));
    EXPECT_EQ(differences[1].step, "publish");
    EXPECT_EQ(differences[1].offline, "pass: m1 OK");
    EXPECT_EQ(differences[1].aws, "fail: m1 ERR7 NOT ALLOWED");

    EXPECT_TRUE(CompareRuns(offline, offline).empty());
    // Endpoint names and answers repeated while polling are not differences.
    const json one = Result({{"runner", "step", "claim"},
                             {"portal", "claim", "claims T for a1b2-ats.iot.us-east-1.amazonaws.com"},
                             {"m1", "at<", "ERR14 1 BACKOFF"},
                             {"m1", "at<", "OK 1 CONNECTED"},
                             {"runner", "pass", "claim"}});
    const json two = Result({{"runner", "step", "claim"},
                             {"portal", "claim", "claims T for zz9-ats.iot.us-east-1.elsim.test"},
                             {"m1", "at<", "ERR14 1 BACKOFF"},
                             {"m1", "at<", "ERR14 1 BACKOFF"},
                             {"m1", "at<", "OK 1 CONNECTED"},
                             {"runner", "pass", "claim"}});
    EXPECT_TRUE(CompareRuns(one, two).empty());
    // A step the offline run never reached differs by outcome.
    const json short_run = Result({{"runner", "step", "connect"},
                                   {"m1", "at<", "OK 1 CONNECTED"},
                                   {"runner", "pass", "connect"}});
    const auto missing = CompareRuns(short_run, aws);
    ASSERT_FALSE(missing.empty());
    EXPECT_EQ(missing[0].offline, "not in the offline run");
    EXPECT_TRUE(CompareRuns(json::object(), json::array()).empty());
}

}  // namespace
}  // namespace sim::scenario::aws
