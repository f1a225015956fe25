// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "sim/core/hex.hpp"
#include "sim/core/ports.hpp"

namespace sim {
namespace {

struct HexCase {
    std::string hex;
    std::optional<std::string> bytes;  // nullopt: must be refused
};

class HexDecodeTest : public ::testing::TestWithParam<HexCase> {};

TEST_P(HexDecodeTest, DecodesOrRefuses) {
    const auto& c = GetParam();
    const auto decoded = HexDecode(c.hex);
    ASSERT_EQ(decoded.has_value(), c.bytes.has_value()) << c.hex;
    if (decoded) {
        EXPECT_EQ(std::string(decoded->begin(), decoded->end()), *c.bytes);
        EXPECT_EQ(HexEncode(*c.bytes), [&] {
            std::string lower = c.hex;
            for (auto& ch : lower) {
                ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            }
            return lower;
        }());
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, HexDecodeTest,
    ::testing::Values(HexCase{"", std::string{}}, HexCase{"00ff", std::string("\x00\xff", 2)},
                      HexCase{"ABcd", std::string("\xab\xcd")}, HexCase{"abc", std::nullopt},
                      HexCase{"zz", std::nullopt}, HexCase{"0g", std::nullopt},
                      HexCase{"-1", std::nullopt}));

struct Base64Case {
    std::string plain;
    std::string encoded;
};

class Base64Test : public ::testing::TestWithParam<Base64Case> {};

TEST_P(Base64Test, RoundTripsRfc4648Vectors) {
    const auto& c = GetParam();
    EXPECT_EQ(Base64Encode(c.plain), c.encoded);
    EXPECT_EQ(Base64Decode(c.encoded), c.plain);
}

// RFC 4648 section 10 test vectors.
INSTANTIATE_TEST_SUITE_P(Rfc4648, Base64Test,
                         ::testing::Values(Base64Case{"", ""}, Base64Case{"f", "Zg=="},
                                           Base64Case{"fo", "Zm8="}, Base64Case{"foo", "Zm9v"},
                                           Base64Case{"foob", "Zm9vYg=="},
                                           Base64Case{"fooba", "Zm9vYmE="},
                                           Base64Case{"foobar", "Zm9vYmFy"}));

class Base64InvalidTest : public ::testing::TestWithParam<std::string> {};

TEST_P(Base64InvalidTest, RefusesMalformedInput) {
    EXPECT_EQ(Base64Decode(GetParam()), std::nullopt) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Table, Base64InvalidTest,
                         ::testing::Values("Zg=", "Z===", "Zm9v!A==", "=Zm9", "Zg==Zm9v", "Zm=v"));

TEST(IsLowerHexTest, AcceptsOnlyExactLengthLowercase) {
    EXPECT_TRUE(IsLowerHex("00ab", 4));
    EXPECT_FALSE(IsLowerHex("00AB", 4));
    EXPECT_FALSE(IsLowerHex("00ab", 5));
    EXPECT_FALSE(IsLowerHex("00ag", 4));
}

TEST(RandomTest, SeededRandomIsReproducibleAndUuidIsVersion4) {
    SeededRandom a(42);
    SeededRandom b(42);
    const std::string uuid = a.Uuid4();
    EXPECT_EQ(uuid, b.Uuid4());
    ASSERT_EQ(uuid.size(), 36U);
    EXPECT_EQ(uuid[14], '4');
    EXPECT_NE(std::string("89ab").find(uuid[19]), std::string::npos);
    EXPECT_EQ(a.Hex(16).size(), 32U);
}

TEST(TimeTest, EpochConversionsKeepMilliseconds) {
    const TimePoint t{std::chrono::milliseconds{1541022751983}};
    EXPECT_DOUBLE_EQ(ToEpochSeconds(t), 1541022751.983);
    EXPECT_EQ(ToEpochMillis(t), 1541022751983);
}

}  // namespace
}  // namespace sim
