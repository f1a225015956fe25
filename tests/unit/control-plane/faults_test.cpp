// SPDX-License-Identifier: Apache-2.0
// sim::faults: the wire form of fault rules (valid and invalid, one table) and the FaultTable's
// scope matching and once-only firing (tables of calls and what each answers).
#include "sim/control_plane/faults.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sim::faults {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

struct ParseCase {
    const char* json;
    const char* error;  // empty: valid
};

TEST(FaultRule, ParsesOrNamesTheMember) {
    const std::vector<ParseCase> cases = {
        {R"({"kind":"drop"})", ""},
        {R"({"kind":"drop","client":"m1","on":"publish"})", ""},
        {R"({"kind":"drop","on":"connect","count":3})", ""},
        {R"({"kind":"refuse-tls","count":2})", ""},
        {R"({"kind":"refuse-tls","windowMs":5000})", ""},
        {R"({"kind":"withhold-connack","client":"m1"})", ""},
        {R"({"kind":"delay-connack","delayMs":1500})", ""},
        {R"({"kind":"delay-puback","delayMs":200,"windowMs":10000})", ""},
        {R"({"kind":"delay-publish","delayMs":200,"client":"c"})", ""},
        {R"({"kind":"blackhole","windowMs":3000,"client":"m1"})", ""},
        {R"({"kind":"restart"})", ""},
        {R"({"kind":"kill","on":"auto-registration"})", ""},
        {R"({"kind":"kill","on":"connect","client":"m1"})", ""},
        {R"({"kind":"api-error","error":"ThrottlingException","operation":"ListThings"})", ""},
        {R"({"kind":"api-error","error":"InternalFailureException","count":2})", ""},
        // invalid
        {R"([1])", "a fault is a JSON object"},
        {R"({})", "kind: missing"},
        {R"({"kind":"explode"})", "kind: 'explode' is not a fault kind"},
        {R"({"kind":"drop","colour":"red"})", "colour: unknown member"},
        {R"({"kind":"drop","client":""})", "client: must be a non-empty string"},
        {R"({"kind":"drop","client":7})", "client: must be a non-empty string"},
        {R"({"kind":"refuse-tls","client":"m1"})", "client: a refuse-tls fault acts before"},
        {R"({"kind":"api-error","error":"ThrottlingException","client":"m1"})",
         "client: an api-error fault is scoped by operation"},
        {R"({"kind":"delay-connack"})", "delayMs: a delay-connack fault needs the delay"},
        {R"({"kind":"delay-puback","delayMs":0})", "delayMs: must be a positive number"},
        {R"({"kind":"drop","delayMs":10})", "delayMs: only delay-connack"},
        {R"({"kind":"blackhole"})", "windowMs: a blackhole fault needs its window"},
        {R"({"kind":"blackhole","windowMs":"3s"})", "windowMs: must be a positive number"},
        {R"({"kind":"drop","count":-1})", "count: must be a whole number"},
        {R"({"kind":"drop","count":0})", "count: 0 (no limit) needs a window"},
        {R"({"kind":"kill","count":2})", "count: a kill fault fires once"},
        {R"({"kind":"restart","windowMs":100})", "windowMs: a restart fault fires once"},
        {R"({"kind":"drop","on":"later"})", "on: 'later' is not now, connect"},
        {R"({"kind":"drop","on":"auto-registration"})", "on: an auto-registration first"},
        {R"({"kind":"kill","on":"publish"})", "on: a kill fault fires now, at connect"},
        {R"({"kind":"withhold-connack","on":"connect"})", "on: only drop, restart and kill"},
        {R"({"kind":"drop","windowMs":1000})", "windowMs: a drop now closes"},
        {R"({"kind":"restart","client":"m1"})", "client: a restart now takes the whole broker"},
        {R"({"kind":"api-error"})", "error: an api-error fault needs the AWS error"},
        {R"({"kind":"api-error","error":"SlowDown"})", "error: 'SlowDown' is not"},
        {R"({"kind":"api-error","error":"ThrottlingException","operation":""})",
         "operation: must be an AWS IoT operation name"},
        {R"({"kind":"drop","error":"ThrottlingException"})", "error: only an api-error fault"},
        {R"({"kind":"drop","operation":"ListThings"})", "operation: only an api-error fault"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.json);
        const auto rule = RuleFromJson(json::parse(c.json));
        if (std::string(c.error).empty()) {
            ASSERT_TRUE(rule) << rule.error().message;
            // The wire form round-trips.
            const auto again = RuleFromJson(ToJson(*rule));
            ASSERT_TRUE(again) << again.error().message;
            EXPECT_EQ(ToJson(*again), ToJson(*rule));
        } else {
            ASSERT_FALSE(rule);
            EXPECT_EQ(rule.error().message.rfind(c.error, 0), 0U) << rule.error().message;
        }
    }
}

TEST(FaultRule, DefaultsAndNames) {
    auto rule = RuleFromJson(json::parse(R"({"kind":"withhold-connack"})"));
    ASSERT_TRUE(rule);
    EXPECT_EQ(rule->count, 1);  // the next connection
    rule = RuleFromJson(json::parse(R"({"kind":"refuse-tls","windowMs":500})"));
    ASSERT_TRUE(rule);
    EXPECT_EQ(rule->count, 0);  // every one in the window
    EXPECT_EQ(Describe(*rule), "refuse-tls window=500ms");
    for (const auto& name : KindNames()) {
        ASSERT_TRUE(KindFromString(name));
        EXPECT_EQ(ToString(*KindFromString(name)), name);
    }
    EXPECT_EQ(FindApiError("ThrottlingException")->status, 400);
    EXPECT_EQ(FindApiError("InternalFailureException")->status, 500);
    EXPECT_EQ(FindApiError("ServiceUnavailableException")->status, 503);
    EXPECT_FALSE(FindApiError("Throttling"));
}

Rule Parsed(const char* text) {
    auto rule = RuleFromJson(json::parse(text));
    EXPECT_TRUE(rule) << text;
    return rule ? *rule : Rule{};
}

TEST(FaultTable, ScopesByClientCountAndWindow) {
    FaultTable table;
    table.Add(Parsed(R"({"kind":"withhold-connack","client":"m1","count":2})"), milliseconds{0});
    table.Add(Parsed(R"({"kind":"delay-connack","delayMs":300,"windowMs":1000})"),
              milliseconds{0});
    struct Call {
        const char* client;
        int at_ms;
        bool withheld;
        int connack_delay_ms;
    };
    const std::vector<Call> calls = {
        {"m2", 10, false, 300},   // any client, in the window
        {"m1", 20, true, 300},    // m1's first of two
        {"m1", 30, true, 300},    // its second
        {"m1", 40, false, 300},   // spent
        {"m2", 999, false, 300},  // the window's last millisecond
        {"m2", 1000, false, 0},   // the window is over
    };
    for (const auto& call : calls) {
        SCOPED_TRACE(std::string(call.client) + " at " + std::to_string(call.at_ms));
        const auto faults = table.OnConnect(call.client, milliseconds{call.at_ms});
        EXPECT_EQ(faults.withhold_connack, call.withheld);
        EXPECT_EQ(faults.connack_delay.count(), call.connack_delay_ms);
    }
    EXPECT_EQ(table.TakeFired().size(), 7U);  // 5 delays + 2 withholds
    EXPECT_TRUE(table.TakeFired().empty());
}

TEST(FaultTable, ApiErrorFiresOnceThenTheRetryIsServed) {
    FaultTable table;
    table.Add(Parsed(R"({"kind":"api-error","error":"ThrottlingException","operation":"CreateThing"})"),
              milliseconds{0});
    table.Add(Parsed(R"({"kind":"api-error","error":"InternalFailureException","count":2})"),
              milliseconds{0});
    struct Call {
        const char* operation;
        const char* answer;  // empty: served
    };
    const std::vector<Call> calls = {
        {"CreateThing", "ThrottlingException"},  // the first rule matches first
        {"CreateThing", "InternalFailureException"},
        {"ListThings", "InternalFailureException"},
        {"ListThings", ""},
        {"CreateThing", ""},
    };
    for (const auto& call : calls) {
        SCOPED_TRACE(call.operation);
        const auto error = table.TakeApiError(call.operation, milliseconds{5});
        if (std::string(call.answer).empty()) {
            EXPECT_FALSE(error);
        } else {
            ASSERT_TRUE(error);
            EXPECT_EQ(error->type, call.answer);
        }
    }
    EXPECT_EQ(table.List(milliseconds{5}).size(), 0U);
}

TEST(FaultTable, TriggersFireOnceAtTheirPoint) {
    FaultTable table;
    table.Add(Parsed(R"({"kind":"drop","client":"portal","on":"publish"})"), milliseconds{0});
    table.Add(Parsed(R"({"kind":"kill","on":"auto-registration"})"), milliseconds{0});
    table.Add(Parsed(R"({"kind":"drop","on":"connect","client":"d1"})"), milliseconds{0});
    table.Add(Parsed(R"({"kind":"refuse-tls","count":1})"), milliseconds{0});
    table.Add(Parsed(R"({"kind":"drop","client":"m9"})"), milliseconds{0});
    table.Add(Parsed(R"({"kind":"blackhole","windowMs":100})"), milliseconds{0});

    // Drop now and the blackhole act on open connections: announced once.
    const auto standing = table.TakeNew(milliseconds{1});
    ASSERT_EQ(standing.size(), 2U);
    EXPECT_EQ(standing[0].rule.kind, Kind::kDrop);
    EXPECT_EQ(standing[0].rule.client_id, "m9");
    EXPECT_EQ(standing[1].rule.kind, Kind::kBlackhole);
    EXPECT_TRUE(table.TakeNew(milliseconds{2}).empty());

    EXPECT_FALSE(table.TakeDropOnPublish("other", milliseconds{3}));
    EXPECT_TRUE(table.TakeDropOnPublish("portal", milliseconds{3}));
    EXPECT_FALSE(table.TakeDropOnPublish("portal", milliseconds{4}));

    EXPECT_FALSE(table.TakeCrash("m1", false, milliseconds{5}));  // not a registration
    EXPECT_EQ(table.TakeCrash("m1", true, milliseconds{5}), Kind::kKill);
    EXPECT_FALSE(table.TakeCrash("m1", true, milliseconds{6}));

    EXPECT_TRUE(table.TakeTlsRefusal(milliseconds{7}));
    EXPECT_FALSE(table.TakeTlsRefusal(milliseconds{8}));

    EXPECT_FALSE(table.TakeDropOnConnect("d2", milliseconds{50}));
    EXPECT_TRUE(table.TakeDropOnConnect("d1", milliseconds{50}));
    EXPECT_FALSE(table.TakeDropOnConnect("d1", milliseconds{51}));
    auto connect = table.OnConnect("d1", milliseconds{50});
    EXPECT_EQ(connect.blackhole.count(), 50);  // what is left of the window
    connect = table.OnConnect("d1", milliseconds{150});
    EXPECT_EQ(connect.blackhole.count(), 0);

    table.Add(Parsed(R"({"kind":"withhold-connack"})"), milliseconds{200});
    EXPECT_EQ(table.List(milliseconds{200}).size(), 1U);
    table.Clear();
    EXPECT_TRUE(table.List(milliseconds{200}).empty());
    EXPECT_FALSE(table.OnConnect("x", milliseconds{201}).withhold_connack);
}

TEST(FaultTable, ListSaysWhenTheAccountHasTakenARuleUp) {
    FaultTable table;
    const auto id = table.Add(Parsed(R"({"kind":"blackhole","client":"m1","windowMs":4000})"),
                              milliseconds{0});
    auto listed = table.List(milliseconds{1});
    ASSERT_EQ(listed.size(), 1U);
    EXPECT_EQ(listed[0]["id"], id);
    EXPECT_EQ(listed[0]["applied"], false);  // open connections do not have it yet
    ASSERT_EQ(table.TakeNew(milliseconds{2}).size(), 1U);
    listed = table.List(milliseconds{3});
    ASSERT_EQ(listed.size(), 1U);
    EXPECT_EQ(listed[0]["applied"], true);
    EXPECT_TRUE(table.List(milliseconds{4000}).empty());  // the window is over
}

}  // namespace
}  // namespace sim::faults
