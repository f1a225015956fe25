// SPDX-License-Identifier: Apache-2.0
// Slot names and contents of the world's DEFAULT-mode CA index (pure): only names that stay
// inside the slot directory, only 12-digit owners.
#include "sim/broker/default_mode_ca_slots.hpp"

#include <string>

#include <gtest/gtest.h>

namespace sim::broker {
namespace {

const std::string kId(64, 'a');

struct NameCase {
    std::string label;
    std::string region;
    std::string ca_certificate_id;
    std::string expected;  ///< The file name, or the start of the error message.
    bool ok;
};

class SlotFileNameTest : public ::testing::TestWithParam<NameCase> {};

TEST_P(SlotFileNameTest, NamesOnlySlotsInsideTheDirectory) {
    const auto& c = GetParam();
    const auto name = SlotFileName(c.region, c.ca_certificate_id);
    ASSERT_EQ(static_cast<bool>(name), c.ok) << (name ? *name : name.error().message);
    if (c.ok) {
        EXPECT_EQ(*name, c.expected);
    } else {
        EXPECT_EQ(name.error().code, sim::ErrorCode::kInvalidArgument);
        EXPECT_EQ(name.error().message.rfind(c.expected, 0), 0U) << name.error().message;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SlotFileNameTest,
    ::testing::Values(
        NameCase{"Region_and_id", "us-east-1", kId, "us-east-1." + kId, true},
        NameCase{"Other_region", "eu-west-2", std::string(64, '0'),
                 "eu-west-2." + std::string(64, '0'), true},
        NameCase{"Empty_region", "", kId, "region:", false},
        NameCase{"Upper_case_region", "US-EAST-1", kId, "region:", false},
        NameCase{"Region_with_slash", "../etc", kId, "region:", false},
        NameCase{"Region_with_dot", "us.east", kId, "region:", false},
        NameCase{"Region_too_long", std::string(33, 'a'), kId, "region:", false},
        NameCase{"Short_id", "us-east-1", std::string(63, 'a'), "caCertificateId:", false},
        NameCase{"Upper_case_id", "us-east-1", std::string(64, 'A'), "caCertificateId:", false},
        NameCase{"Id_with_path", "us-east-1", "../" + std::string(61, 'a'),
                 "caCertificateId:", false},
        NameCase{"Empty_id", "us-east-1", "", "caCertificateId:", false}),
    [](const auto& test_info) { return test_info.param.label; });

struct OwnerCase {
    std::string label;
    std::string contents;
    std::string owner;  ///< Empty: refused.
};

class ParseSlotOwnerTest : public ::testing::TestWithParam<OwnerCase> {};

TEST_P(ParseSlotOwnerTest, AcceptsOnlyOneAccountId) {
    const auto& c = GetParam();
    const auto owner = ParseSlotOwner(c.contents);
    if (c.owner.empty()) {
        ASSERT_FALSE(owner) << *owner;
        EXPECT_EQ(owner.error().message.rfind("slot file:", 0), 0U) << owner.error().message;
    } else {
        ASSERT_TRUE(owner) << owner.error().message;
        EXPECT_EQ(*owner, c.owner);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseSlotOwnerTest,
    ::testing::Values(OwnerCase{"With_newline", "123456789012\n", "123456789012"},
                      OwnerCase{"Without_newline", "123456789012", "123456789012"},
                      OwnerCase{"Empty", "", ""}, OwnerCase{"Only_newline", "\n", ""},
                      OwnerCase{"Eleven_digits", "12345678901\n", ""},
                      OwnerCase{"Thirteen_digits", "1234567890123\n", ""},
                      OwnerCase{"Letters", "12345678901a\n", ""},
                      OwnerCase{"Two_lines", "123456789012\n210987654321\n", ""},
                      OwnerCase{"Leading_space", " 123456789012\n", ""}),
    [](const auto& test_info) { return test_info.param.label; });

struct ContentsCase {
    std::string label;
    std::string account_id;
    bool ok;
};

class SlotContentsTest : public ::testing::TestWithParam<ContentsCase> {};

TEST_P(SlotContentsTest, RoundTripsThroughParseSlotOwner) {
    const auto& c = GetParam();
    const auto contents = SlotContents(c.account_id);
    ASSERT_EQ(static_cast<bool>(contents), c.ok);
    if (c.ok) {
        EXPECT_EQ(*contents, c.account_id + "\n");
        EXPECT_EQ(*ParseSlotOwner(*contents), c.account_id);
    } else {
        EXPECT_EQ(contents.error().message.rfind("accountId:", 0), 0U);
    }
}

INSTANTIATE_TEST_SUITE_P(Cases, SlotContentsTest,
                         ::testing::Values(ContentsCase{"Twelve_digits", "123456789012", true},
                                           ContentsCase{"Empty", "", false},
                                           ContentsCase{"Letters", "abcdefghijkl", false},
                                           ContentsCase{"Too_long", "1234567890123", false}),
                         [](const auto& test_info) { return test_info.param.label; });

}  // namespace
}  // namespace sim::broker
