// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "sim/control_plane/http.hpp"

namespace sim::controlplane {
namespace {

struct PathCase {
    std::string name;
    std::string raw;
    bool ok;
    std::vector<std::string> segments;
};

class SplitPathTest : public testing::TestWithParam<PathCase> {};

TEST_P(SplitPathTest, SplitsThenDecodesEachSegment) {
    const PathCase& c = GetParam();
    auto result = SplitPath(c.raw);
    ASSERT_EQ(result.has_value(), c.ok);
    if (c.ok) {
        EXPECT_EQ(*result, c.segments);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Paths, SplitPathTest,
    testing::Values(
        PathCase{"root", "/", true, {}},
        PathCase{"simple", "/things/t1", true, {"things", "t1"}},
        PathCase{"trailing_slash", "/things/", true, {"things"}},
        PathCase{"encoded_arn_is_one_segment",
                 "/attached-policies/arn%3Aaws%3Aiot%3Aus-east-1%3A1%3Acert%2Fab", true,
                 {"attached-policies", "arn:aws:iot:us-east-1:1:cert/ab"}},
        PathCase{"plus_stays_plus", "/things/a+b", true, {"things", "a+b"}},
        PathCase{"empty_middle_segment", "/things//principals", true,
                 {"things", "", "principals"}},
        PathCase{"bad_escape", "/things/%G1", false, {}},
        PathCase{"truncated_escape", "/things/%4", false, {}},
        PathCase{"relative", "things", false, {}},
        PathCase{"empty", "", false, {}}),
    [](const testing::TestParamInfo<PathCase>& p) { return p.param.name; });

struct QueryCase {
    std::string name;
    std::string raw;
    bool ok;
    QueryParams params;
};

class ParseQueryTest : public testing::TestWithParam<QueryCase> {};

TEST_P(ParseQueryTest, DecodesPairsInOrder) {
    const QueryCase& c = GetParam();
    auto result = ParseQuery(c.raw);
    ASSERT_EQ(result.has_value(), c.ok);
    if (c.ok) {
        EXPECT_EQ(*result, c.params);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Queries, ParseQueryTest,
    testing::Values(
        QueryCase{"empty", "", true, {}},
        QueryCase{"booleans", "setAsActive=true&allowAutoRegistration=false", true,
                  {{"setAsActive", "true"}, {"allowAutoRegistration", "false"}}},
        QueryCase{"encoded_marker", "marker=YWJj%3D&pageSize=2", true,
                  {{"marker", "YWJj="}, {"pageSize", "2"}}},
        QueryCase{"plus_is_space", "a=x+y", true, {{"a", "x y"}}},
        QueryCase{"name_only", "forceDelete", true, {{"forceDelete", ""}}},
        QueryCase{"bad_escape", "a=%ZZ", false, {}}),
    [](const testing::TestParamInfo<QueryCase>& p) { return p.param.name; });

}  // namespace
}  // namespace sim::controlplane
