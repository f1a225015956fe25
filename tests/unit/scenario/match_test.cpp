// SPDX-License-Identifier: Apache-2.0
#include "sim/scenario/match.hpp"

#include <map>
#include <string>

#include <gtest/gtest.h>

namespace sim::scenario {
namespace {

struct MatchCase {
    Match match;
    std::string text;
    bool matches;
};

class MatchesTest : public ::testing::TestWithParam<MatchCase> {};

TEST_P(MatchesTest, Table) {
    EXPECT_EQ(Matches(GetParam().match, GetParam().text), GetParam().matches)
        << Describe(GetParam().match) << " on " << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    Table, MatchesTest,
    ::testing::Values(MatchCase{{Match::Kind::kExact, "OK"}, "OK", true},
                      MatchCase{{Match::Kind::kExact, "OK"}, "OK 1", false},
                      MatchCase{{Match::Kind::kPrefix, "ERR14"}, "ERR14 4 x", true},
                      MatchCase{{Match::Kind::kPrefix, "ERR14"}, "ERR1", false},
                      MatchCase{{Match::Kind::kContains, "CONN"}, "OK 1 CONNECTED", true},
                      MatchCase{{Match::Kind::kContains, "LOST"}, "OK", false},
                      MatchCase{{Match::Kind::kRegex, "^ERR14 4 "}, "ERR14 4 handshake", true},
                      MatchCase{{Match::Kind::kRegex, "4 "}, "ERR14 4 h", true},
                      MatchCase{{Match::Kind::kRegex, "^4"}, "ERR14 4", false},
                      MatchCase{{Match::Kind::kRegex, "("}, "(", false}));

TEST(ParseMatchTest, ShortForms) {
    EXPECT_EQ(ParseMatch("/^OK/")->kind, Match::Kind::kRegex);
    EXPECT_EQ(ParseMatch("/^OK/")->text, "^OK");
    EXPECT_EQ(ParseMatch("OK 1")->kind, Match::Kind::kExact);
    EXPECT_EQ(ParseMatch("/")->kind, Match::Kind::kExact);
    EXPECT_FALSE(ParseMatch("/[a/"));
}

TEST(DescribeTest, Forms) {
    EXPECT_EQ(Describe({Match::Kind::kExact, "OK 1 CONNECTED"}), "\"OK 1 CONNECTED\"");
    EXPECT_EQ(Describe({Match::Kind::kRegex, "^ERR14 4 "}), "/^ERR14 4 /");
    EXPECT_EQ(Describe({Match::Kind::kPrefix, "ERR14"}), "prefix \"ERR14\"");
    EXPECT_EQ(Describe({Match::Kind::kContains, "x"}), "contains \"x\"");
}

const nlohmann::json kReply = nlohmann::json::parse(R"({
  "things": [{"thingName": "t1", "attributes": {"a": "1"}}, {"thingName": "t2"}],
  "count": 2, "ratio": 1.0, "odd key": true, "nested": {"list": [[1, 2]]}
})");

struct PathCase {
    std::string path;
    std::optional<nlohmann::json> value;
};

class EvaluatePathTest : public ::testing::TestWithParam<PathCase> {};

TEST_P(EvaluatePathTest, Table) {
    const auto result = EvaluatePath(GetParam().path, kReply);
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(*result, GetParam().value) << GetParam().path;
}

INSTANTIATE_TEST_SUITE_P(Table, EvaluatePathTest,
                         ::testing::Values(PathCase{"$", kReply}, PathCase{"$.count", 2},
                                           PathCase{"$.things[1].thingName", "t2"},
                                           PathCase{"$['things'][0]['attributes'].a", "1"},
                                           PathCase{"$[\"odd key\"]", true},
                                           PathCase{"$.things.length()", 2},
                                           PathCase{"$.nested.list[0][1]", 2},
                                           PathCase{"$.things[2]", std::nullopt},
                                           PathCase{"$.missing.x", std::nullopt},
                                           PathCase{"$.count.length()", std::nullopt},
                                           PathCase{"$.count[0]", std::nullopt}));

TEST(EvaluatePathTest, RefusesMalformedPaths) {
    const std::map<std::string, std::string> cases = {
        {"things", "bad JSONPath 'things': it must start with '$'"},
        {"$.", "bad JSONPath '$.': a member name must follow '.' at 2"},
        {"$.a[", "bad JSONPath '$.a[': unterminated [N]"},
        {"$.a[-1]", "bad JSONPath '$.a[-1]': an index must be a non-negative number"},
        {"$['a", "bad JSONPath '$['a': unterminated ['name']"},
        {"$.a.length().b", "bad JSONPath '$.a.length().b': length() must come last"},
        {"$x", "bad JSONPath '$x': unexpected 'x' at 1"},
    };
    for (const auto& [path, message] : cases) {
        const auto result = EvaluatePath(path, kReply);
        ASSERT_FALSE(result) << path;
        EXPECT_EQ(result.error().message, message);
    }
}

struct ExpectationCase {
    std::string path;
    std::string expected;  // JSON
    std::string failure;   // empty: holds
};

class CheckExpectationTest : public ::testing::TestWithParam<ExpectationCase> {};

TEST_P(CheckExpectationTest, Table) {
    const auto& c = GetParam();
    const auto result = CheckExpectation({c.path, nlohmann::json::parse(c.expected)}, kReply);
    if (c.failure.empty()) {
        EXPECT_TRUE(result) << result.error().message;
    } else {
        ASSERT_FALSE(result);
        EXPECT_EQ(result.error().message, c.failure);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, CheckExpectationTest,
    ::testing::Values(
        ExpectationCase{"$.count", "2", ""}, ExpectationCase{"$.count", "2.0", ""},
        ExpectationCase{"$.ratio", "1", ""},
        ExpectationCase{"$.things.length()", "1", "$.things.length(): expected 1, observed 2"},
        ExpectationCase{"$.things[0]", R"({"thingName": "t1"})", ""},
        ExpectationCase{
            "$.things[0]", R"({"thingName": "t2"})",
            R"($.things[0]: expected {"thingName":"t2"}, observed {"attributes":{"a":"1"},"thingName":"t1"})"},
        ExpectationCase{
            "$.things", R"([{"thingName": "t1"}])",
            R"($.things: expected [{"thingName":"t1"}], observed [{"attributes":{"a":"1"},"thingName":"t1"},{"thingName":"t2"}])"},
        ExpectationCase{"$.things", R"([{"thingName": "t1"}, {}])", ""},
        ExpectationCase{"$.things[0].thingName", R"({"regex": "^t[0-9]$"})", ""},
        ExpectationCase{"$.things[0].thingName", R"({"prefix": "x"})",
                        R"($.things[0].thingName: expected prefix "x", observed "t1")"},
        ExpectationCase{"$.things[1].thingName", R"({"contains": "2"})", ""},
        ExpectationCase{"$.count", R"({"exact": "2"})", ""},
        ExpectationCase{"$.count", R"({"regex": "^[0-9]+$"})", ""},
        ExpectationCase{"$.missing", R"({"exists": false})", ""},
        ExpectationCase{"$.count", R"({"exists": false})", "$.count: expected nothing, observed 2"},
        ExpectationCase{"$.missing", R"({"exists": true})",
                        "$.missing: expected a value, observed nothing"},
        ExpectationCase{"$.missing", "1", "$.missing: expected 1, observed nothing"},
        ExpectationCase{"$", R"({"things": [{"thingName": {"prefix": "t"}}, {}]})", ""},
        ExpectationCase{"$", R"({"gone": {"exists": false}})", ""},
        ExpectationCase{"$.count", R"("2")", R"($.count: expected "2", observed 2)"}));

TEST(CheckExpectationTest, RefusesAMalformedPath) {
    const auto result = CheckExpectation({"count", 2}, kReply);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().message, "bad JSONPath 'count': it must start with '$'");
}

std::optional<std::string> Lookup(std::string_view name) {
    static const std::map<std::string, std::string, std::less<>> kValues = {{"m1.thingName", "abc"},
                                                                            {"id", "42"}};
    const auto found = kValues.find(name);
    if (found == kValues.end()) {
        return std::nullopt;
    }
    return found->second;
}

TEST(SubstituteTest, ReplacesKnownNames) {
    EXPECT_EQ(*Substitute("${m1.thingName}/config", Lookup), "abc/config");
    EXPECT_EQ(*Substitute("a ${id} b ${id}", Lookup), "a 42 b 42");
    EXPECT_EQ(*Substitute("$${id} costs $5", Lookup), "${id} costs $5");
    EXPECT_EQ(*Substitute("", Lookup), "");
}

TEST(SubstituteTest, KeepsAwsPolicyVariables) {
    EXPECT_EQ(*Substitute("client/${iot:Connection.Thing.ThingName}", Lookup),
              "client/${iot:Connection.Thing.ThingName}");
    EXPECT_EQ(*Substitute("${m1.thingName}/${aws:username}", Lookup), "abc/${aws:username}");
}

TEST(SubstituteTest, NamesTheUnknownPlaceholder) {
    const auto result = Substitute("x ${m9.thingName} ${id}", Lookup);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().message, "unknown value ${m9.thingName}");
    const auto unterminated = Substitute("x ${id", Lookup);
    ASSERT_FALSE(unterminated);
    EXPECT_EQ(unterminated.error().message, "unterminated ${ in \"x ${id\"");
}

TEST(SubstituteTest, JsonStringsOnly) {
    const auto value =
        nlohmann::json::parse(R"({"${id}": ["${id}", 1, {"k": "${m1.thingName}"}]})");
    EXPECT_EQ(*SubstituteJson(value, Lookup),
              nlohmann::json::parse(R"({"${id}": ["42", 1, {"k": "abc"}]})"));
    const auto failed = SubstituteJson(nlohmann::json::parse(R"({"a": ["${nope}"]})"), Lookup);
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().message, "unknown value ${nope}");
}

}  // namespace
}  // namespace sim::scenario
