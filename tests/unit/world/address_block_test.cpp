// SPDX-License-Identifier: Apache-2.0
// Address blocks that worlds lease: block numbers to addresses and back, their bounds, and the
// addresses given to accounts written without one.
#include "sim/world/address_block.hpp"

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sim::world {
namespace {

struct AddressCase {
    std::string name;
    std::uint32_t block;
    std::uint32_t offset;
    std::string address;  // empty: refused
};

class BlockAddressTest : public ::testing::TestWithParam<AddressCase> {};

TEST_P(BlockAddressTest, MapsBlockAndOffsetToOneLoopbackAddress) {
    const auto& c = GetParam();
    const auto address = BlockAddress(c.block, c.offset);
    if (c.address.empty()) {
        ASSERT_FALSE(address) << *address;
        EXPECT_EQ(address.error().code, sim::ErrorCode::kInvalidArgument);
        return;
    }
    ASSERT_TRUE(address) << address.error().message;
    EXPECT_EQ(*address, c.address);
    // And back: the address belongs to the block.
    const auto block = BlockOf(*address);
    ASSERT_TRUE(block) << block.error().message;
    EXPECT_EQ(*block, c.block);
}

constexpr std::uint32_t kLast = kAddressBlockCount - 1;

INSTANTIATE_TEST_SUITE_P(
    Blocks, BlockAddressTest,
    ::testing::Values(AddressCase{"FirstBlockStartsAfter127_0_0", 0, 0, "127.0.1.1"},
                      AddressCase{"FirstBlockLastAddress", 0, 15, "127.0.1.16"},
                      AddressCase{"SecondBlock", 1, 0, "127.0.1.17"},
                      AddressCase{"LastBlockOfASubnetEndsAt240", 14, 15, "127.0.1.240"},
                      AddressCase{"NextSubnet", 15, 0, "127.0.2.1"},
                      AddressCase{"SubnetCarriesIntoSecondOctet", 255 * 15, 3, "127.1.0.4"},
                      AddressCase{"LastBlock", kLast, 0, "127.255.254.225"},
                      AddressCase{"LastAddress", kLast, 15, "127.255.254.240"},
                      AddressCase{"BlockPastTheEnd", kAddressBlockCount, 0, ""},
                      AddressCase{"HugeBlock", 0xFFFFFFFFU, 0, ""},
                      AddressCase{"OffsetPastTheBlock", 0, 16, ""},
                      AddressCase{"HugeOffset", 7, 0xFFFFFFFFU, ""}),
    [](const auto& test_case) { return test_case.param.name; });

struct BlockOfCase {
    std::string name;
    std::string address;
    bool in_a_block;
};

class BlockOfTest : public ::testing::TestWithParam<BlockOfCase> {};

TEST_P(BlockOfTest, AcceptsOnlyAddressesInsideSomeBlock) {
    const auto block = BlockOf(GetParam().address);
    EXPECT_EQ(block.has_value(), GetParam().in_a_block)
        << (block ? std::to_string(*block) : block.error().message);
}

INSTANTIATE_TEST_SUITE_P(Addresses, BlockOfTest,
                         ::testing::Values(BlockOfCase{"LocalhostIsKeptFree", "127.0.0.1", false},
                                           BlockOfCase{"Hand127_0_0_NIsKeptFree", "127.0.0.2",
                                                       false},
                                           BlockOfCase{"NetworkOfASubnet", "127.0.1.0", false},
                                           BlockOfCase{"FirstOfASubnet", "127.0.1.1", true},
                                           BlockOfCase{"Top240", "127.3.4.240", true},
                                           BlockOfCase{"Above240", "127.3.4.241", false},
                                           BlockOfCase{"Dot255", "127.3.4.255", false},
                                           BlockOfCase{"LastSubnet", "127.255.254.1", true},
                                           BlockOfCase{"BroadcastSubnet", "127.255.255.1", false},
                                           BlockOfCase{"NotLoopback", "10.0.1.1", false},
                                           BlockOfCase{"NotAnAddress", "127.0.1", false},
                                           BlockOfCase{"Empty", "", false}),
                         [](const auto& test_case) { return test_case.param.name; });

TEST(AddressBlockTest, EveryBlockHoldsSixteenDistinctAddressesNoneShared) {
    // Blocks next to each other, across a subnet boundary and at both ends.
    std::set<std::string> seen;
    for (const std::uint32_t block : {0U, 1U, 13U, 14U, 15U, 16U, kLast - 1, kLast}) {
        const auto addresses = BlockAddresses(block);
        ASSERT_TRUE(addresses) << addresses.error().message;
        ASSERT_EQ(addresses->size(), kAddressesPerBlock);
        for (const auto& address : *addresses) {
            EXPECT_TRUE(seen.insert(address).second) << address << " in two blocks";
            EXPECT_THAT(address, ::testing::Not(::testing::EndsWith(".0")));
            EXPECT_THAT(address, ::testing::Not(::testing::EndsWith(".255")));
        }
    }
    EXPECT_FALSE(BlockAddresses(kAddressBlockCount));
}

struct PidCase {
    std::string name;
    std::int64_t pid;
};

class FirstBlockTest : public ::testing::TestWithParam<PidCase> {};

TEST_P(FirstBlockTest, IsAlwaysABlockAndStable) {
    const auto block = FirstBlockForPid(GetParam().pid);
    EXPECT_LT(block, kAddressBlockCount);
    EXPECT_EQ(block, FirstBlockForPid(GetParam().pid));
}

INSTANTIATE_TEST_SUITE_P(Pids, FirstBlockTest,
                         ::testing::Values(PidCase{"Zero", 0}, PidCase{"One", 1},
                                           PidCase{"Typical", 31337}, PidCase{"PidMax", 4194304},
                                           PidCase{"Negative", -1}, PidCase{"Int64Max", INT64_MAX}),
                         [](const auto& test_case) { return test_case.param.name; });

TEST(AddressBlockTest, NeighbouringPidsStartInDifferentBlocksAndProbingWraps) {
    std::set<std::uint32_t> firsts;
    for (std::int64_t pid = 1000; pid < 1100; ++pid) {
        firsts.insert(FirstBlockForPid(pid));
    }
    EXPECT_EQ(firsts.size(), 100U);
    EXPECT_EQ(NthBlockFrom(5, 0), 5U);
    EXPECT_EQ(NthBlockFrom(5, 3), 8U);
    EXPECT_EQ(NthBlockFrom(kLast, 1), 0U);
    EXPECT_EQ(NthBlockFrom(kLast, 0xFFFFFFFFU), (kLast + 0xFFFFFFFFULL) % kAddressBlockCount);
}

AccountSpec Account(std::string name, std::string address, std::uint16_t port, int line) {
    AccountSpec account;
    account.name = std::move(name);
    account.address = std::move(address);
    account.port = port;
    account.line = line;
    return account;
}

std::vector<std::string> Block(std::uint32_t block) { return *BlockAddresses(block); }

TEST(AssignBlockAddressesTest, AccountsWithoutAnAddressGetTheBlockAddressAtTheirIndex) {
    WorldSpec spec;
    spec.accounts = {Account("staging", "", 8883, 4), Account("oem-a", "127.0.0.9", 8883, 7),
                     Account("oem-b", "", 8883, 10)};
    EXPECT_TRUE(NeedsAddressBlock(spec));
    const auto assigned = AssignBlockAddresses(spec, Block(15), "w.yaml");
    ASSERT_TRUE(assigned) << assigned.error().message;
    EXPECT_EQ(assigned->accounts[0].address, "127.0.2.1");
    EXPECT_EQ(assigned->accounts[1].address, "127.0.0.9");  // explicit: honoured
    EXPECT_EQ(assigned->accounts[2].address, "127.0.2.3");  // index 2, not "the second leased"
    EXPECT_FALSE(NeedsAddressBlock(*assigned));
}

struct AssignCase {
    std::string name;
    std::vector<AccountSpec> accounts;
    std::vector<std::string> block;
    std::string message;
};

class BadAssignTest : public ::testing::TestWithParam<AssignCase> {};

TEST_P(BadAssignTest, RefusesNamingTheAccountLine) {
    WorldSpec spec;
    spec.accounts = GetParam().accounts;
    const auto assigned = AssignBlockAddresses(spec, GetParam().block, "w.yaml");
    ASSERT_FALSE(assigned);
    EXPECT_EQ(assigned.error().code, sim::ErrorCode::kInvalidArgument);
    EXPECT_EQ(assigned.error().message, GetParam().message);
}

std::vector<AccountSpec> SeventeenWithoutAddresses() {
    std::vector<AccountSpec> accounts;
    for (int i = 0; i < 17; ++i) {
        accounts.push_back(Account("a" + std::to_string(i), "", 8883, 2 + i));
    }
    return accounts;
}

INSTANTIATE_TEST_SUITE_P(
    Refusals, BadAssignTest,
    ::testing::Values(
        AssignCase{"ExplicitAddressCollidesWithALeasedOne",
                   {Account("a", "", 8883, 2), Account("b", "127.0.1.1", 8883, 3)},
                   Block(0),
                   "w.yaml:3: address 127.0.1.1:8883 is used by another account"},
        AssignCase{"SeventeenthAccount", SeventeenWithoutAddresses(), Block(0),
                   "w.yaml:18: account 'a16' is number 17; a world leases 16 addresses (give it "
                   "an address)"},
        AssignCase{"ShortBlock",
                   {Account("a", "", 8883, 2)},
                   {"127.0.1.1"},
                   "w.yaml: an address block holds 16 addresses, not 1"},
        AssignCase{"EmptyBlock",
                   {Account("a", "", 8883, 2)},
                   {},
                   "w.yaml: an address block holds 16 addresses, not 0"}),
    [](const auto& test_case) { return test_case.param.name; });

TEST(AssignBlockAddressesTest, ExplicitAddressOnAnotherPortInsideTheBlockIsAccepted) {
    WorldSpec spec;
    spec.accounts = {Account("a", "", 8883, 2), Account("b", "127.0.1.1", 9883, 3)};
    const auto assigned = AssignBlockAddresses(spec, Block(0), "w.yaml");
    ASSERT_TRUE(assigned) << assigned.error().message;
    EXPECT_EQ(assigned->accounts[0].address, "127.0.1.1");
}

}  // namespace
}  // namespace sim::world
