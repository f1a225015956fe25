// SPDX-License-Identifier: Apache-2.0
// PairMap: the registry's two-sided attachment index. Each case applies operations and checks
// both the ordered pairs and the lookups by second, which must never mix up seconds that
// share a prefix.
#include "sim/account/pair_map.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sim::account {
namespace {

using Map = PairMap<int>;

std::vector<std::string> Pairs(const Map& map) {
    std::vector<std::string> out;
    for (const auto& [key, value] : map) {
        out.push_back(key.first + "|" + key.second + "=" + std::to_string(value));
    }
    return out;
}

std::vector<std::string> FirstsOf(const Map& map, const std::string& second) {
    std::vector<std::string> out;
    for (const auto& it : map.WithSecond(second)) {
        out.push_back(it->first.first + "=" + std::to_string(it->second));
    }
    return out;
}

TEST(PairMapTest, InsertKeepsTheFirstValueAndAssignReplacesIt) {
    Map map;
    EXPECT_TRUE(map.insert({"p1", "arn/a"}, 1));
    EXPECT_FALSE(map.insert({"p1", "arn/a"}, 2));  // present: unchanged
    EXPECT_EQ(Pairs(map), (std::vector<std::string>{"p1|arn/a=1"}));
    map.assign({"p1", "arn/a"}, 3);
    map.assign({"p0", "arn/a"}, 4);
    EXPECT_EQ(Pairs(map), (std::vector<std::string>{"p0|arn/a=4", "p1|arn/a=3"}));
    EXPECT_EQ(FirstsOf(map, "arn/a"), (std::vector<std::string>{"p0=4", "p1=3"}));
    EXPECT_EQ(map.size(), 2U);
}

TEST(PairMapTest, LooksUpBySecondWithoutPrefixMatches) {
    Map map;
    map.insert({"p1", "arn/a"}, 1);
    map.insert({"p2", "arn/ab"}, 2);
    map.insert({"p3", "arn/"}, 3);
    map.insert({"p4", "arn/a "}, 4);
    EXPECT_EQ(FirstsOf(map, "arn/a"), (std::vector<std::string>{"p1=1"}));
    EXPECT_EQ(FirstsOf(map, "arn/ab"), (std::vector<std::string>{"p2=2"}));
    EXPECT_EQ(FirstsOf(map, "arn/"), (std::vector<std::string>{"p3=3"}));
    EXPECT_TRUE(FirstsOf(map, "arn").empty());
    EXPECT_TRUE(FirstsOf(map, "").empty());
    EXPECT_TRUE(FirstsOf(map, "zzz").empty());
}

TEST(PairMapTest, EraseByKeyOrIteratorUpdatesBothSides) {
    Map map;
    map.insert({"p1", "arn/a"}, 1);
    map.insert({"p2", "arn/a"}, 2);
    map.insert({"p1", "arn/b"}, 3);
    EXPECT_EQ(map.erase({"p9", "arn/a"}), 0U);  // absent: nothing removed
    EXPECT_EQ(map.erase({"p1", "arn/a"}), 1U);
    EXPECT_EQ(FirstsOf(map, "arn/a"), (std::vector<std::string>{"p2=2"}));
    for (const auto& it : map.WithSecond("arn/a")) {
        map.erase(it);
    }
    EXPECT_TRUE(FirstsOf(map, "arn/a").empty());
    EXPECT_FALSE(map.contains({"p2", "arn/a"}));
    EXPECT_EQ(Pairs(map), (std::vector<std::string>{"p1|arn/b=3"}));
    // Re-adding after erasing is seen from both sides again.
    EXPECT_TRUE(map.insert({"p2", "arn/a"}, 5));
    EXPECT_EQ(FirstsOf(map, "arn/a"), (std::vector<std::string>{"p2=5"}));
    map.clear();
    EXPECT_TRUE(map.empty());
    EXPECT_TRUE(FirstsOf(map, "arn/b").empty());
}

}  // namespace
}  // namespace sim::account
