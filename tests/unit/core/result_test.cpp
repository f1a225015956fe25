// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "sim/core/result.hpp"

namespace sim {
namespace {

Result<int> Parse(const std::string& text) {
    if (text.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "empty input");
    }
    return static_cast<int>(text.size());
}

TEST(ResultTest, HoldsValueOrError) {
    const auto ok = Parse("abc");
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(*ok, 3);
    const auto bad = Parse("");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(bad.error().message, "empty input");
    EXPECT_EQ(bad.value_or(7), 7);
}

TEST(ResultTest, MovesOnlyTypes) {
    Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
    ASSERT_TRUE(r);
    std::unique_ptr<int> taken = std::move(r).value();
    EXPECT_EQ(*taken, 5);
}

TEST(ResultTest, VoidResult) {
    Status ok;
    EXPECT_TRUE(ok);
    Status bad = MakeError(ErrorCode::kNotFound, "no such thing");
    EXPECT_FALSE(bad);
    EXPECT_STREQ(ToString(bad.error().code), "not_found");
}

}  // namespace
}  // namespace sim
