// SPDX-License-Identifier: Apache-2.0
// FileDefaultModeCaIndex on a real directory: the one-account-per-Region rule for DEFAULT-mode CAs
// (AWS IoT Core Developer Guide, 'Manage your CA certificates') across processes that share only
// files. Table of claim/release sequences, plus bad directories, crash leftovers and a claim race.
#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/broker/file_default_mode_ca_index.hpp"
#include "sim/core/adapters.hpp"
#include "sim/testing/support.hpp"

namespace sim::broker {
namespace {
namespace fs = std::filesystem;
using sim::testing::TempDir;

constexpr const char* kA = "111111111111";
constexpr const char* kB = "222222222222";
const std::string kCa(64, 'c');
const std::string kOtherCa(64, 'd');

// One call on the index and what it must answer: "true"/"false" for claims, "released",
// "free", "another" for releases, "error:<start of message>" for refusals.
struct Op {
    enum Kind { kClaim, kRelease } kind;
    std::string region;
    std::string ca;
    std::string account;
    std::string expected;
};

struct IndexCase {
    std::string label;
    std::vector<Op> ops;
    std::string final_owner;  ///< Owner of (us-east-1, kCa) at the end ("" = free).
};

Op Claim(std::string account, std::string expected, std::string region = "us-east-1",
         std::string ca = kCa) {
    return Op{Op::kClaim, std::move(region), std::move(ca), std::move(account),
              std::move(expected)};
}
Op Release(std::string account, std::string expected, std::string region = "us-east-1",
           std::string ca = kCa) {
    return Op{Op::kRelease, std::move(region), std::move(ca), std::move(account),
              std::move(expected)};
}

std::string Answer(FileDefaultModeCaIndex& index, const Op& op) {
    if (op.kind == Op::kClaim) {
        const auto claimed = index.ClaimSlot(op.region, op.ca, op.account);
        if (!claimed) {
            return "error:" + claimed.error().message;
        }
        return *claimed ? "true" : "false";
    }
    const auto released = index.ReleaseSlot(op.region, op.ca, op.account);
    if (!released) {
        return "error:" + released.error().message;
    }
    switch (*released) {
        case FileDefaultModeCaIndex::ReleaseOutcome::kReleased:
            return "released";
        case FileDefaultModeCaIndex::ReleaseOutcome::kWasFree:
            return "free";
        case FileDefaultModeCaIndex::ReleaseOutcome::kHeldByAnother:
            return "another";
    }
    return "?";
}

class FileDefaultModeCaIndexTest : public ::testing::TestWithParam<IndexCase> {};

TEST_P(FileDefaultModeCaIndexTest, FollowsTheOneAccountPerRegionRule) {
    const auto& c = GetParam();
    TempDir dir;
    auto index = FileDefaultModeCaIndex::Open(dir.path());
    ASSERT_TRUE(index) << index.error().message;
    for (std::size_t i = 0; i < c.ops.size(); ++i) {
        const auto& op = c.ops[i];
        const std::string answer = Answer(**index, op);
        if (op.expected.rfind("error:", 0) == 0) {
            EXPECT_EQ(answer.rfind(op.expected, 0), 0U) << "step " << i << ": " << answer;
        } else {
            EXPECT_EQ(answer, op.expected) << "step " << i;
        }
    }
    const auto owner = (*index)->Owner("us-east-1", kCa);
    ASSERT_TRUE(owner) << owner.error().message;
    EXPECT_EQ(*owner, c.final_owner);
    // Nothing but slot files is left behind (temporaries are removed).
    for (const auto& entry : fs::directory_iterator(dir.path())) {
        EXPECT_NE(entry.path().filename().string().rfind(".tmp-", 0), 0U) << entry.path();
    }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FileDefaultModeCaIndexTest,
    ::testing::Values(
        IndexCase{"FreeSlotIsClaimed", {Claim(kA, "true")}, kA},
        IndexCase{"OwnerReclaims", {Claim(kA, "true"), Claim(kA, "true")}, kA},
        IndexCase{"OtherAccountRefused", {Claim(kA, "true"), Claim(kB, "false")}, kA},
        IndexCase{"ReleaseByNonOwnerRefused",
                  {Claim(kA, "true"), Release(kB, "another"), Claim(kB, "false")},
                  kA},
        IndexCase{
            "OwnerReleaseFreesTheSlot",
            {Claim(kA, "true"), Release(kA, "released"), Claim(kB, "true"), Claim(kA, "false")},
            kB},
        IndexCase{"ReleaseOfFreeSlotChangesNothing", {Release(kA, "free")}, ""},
        IndexCase{"SecondReleaseIsFree",
                  {Claim(kA, "true"), Release(kA, "released"), Release(kA, "free")},
                  ""},
        IndexCase{
            "RegionsAreIndependent",
            {Claim(kA, "true"), Claim(kB, "true", "eu-west-1"), Claim(kA, "false", "eu-west-1")},
            kA},
        IndexCase{
            "CasAreIndependent", {Claim(kA, "true"), Claim(kB, "true", "us-east-1", kOtherCa)}, kA},
        IndexCase{"BadRegionRefused",
                  {Claim(kA, "error:region:", "../x"), Release(kA, "error:region:", "")},
                  ""},
        IndexCase{"BadCaIdRefused",
                  {Claim(kA, "error:caCertificateId:", "us-east-1", "abc"),
                   Release(kA, "error:caCertificateId:", "us-east-1", "ABC")},
                  ""},
        IndexCase{"BadAccountIdRefused",
                  {Claim("12345", "error:accountId:"), Release("", "error:accountId:")},
                  ""}),
    [](const auto& test_info) { return test_info.param.label; });

TEST(FileDefaultModeCaIndexOpenTest, RefusesMissingDirectoryNamingIt) {
    TempDir dir;
    const auto index = FileDefaultModeCaIndex::Open(dir.path() / "missing");
    ASSERT_FALSE(index);
    EXPECT_EQ(index.error().code, sim::ErrorCode::kNotFound);
    EXPECT_EQ(index.error().message, (dir.path() / "missing").string() + ": no such directory");
}

TEST(FileDefaultModeCaIndexOpenTest, RefusesAFileNamingIt) {
    TempDir dir;
    sim::testing::WriteTextFile(dir.path() / "file", "x");
    const auto index = FileDefaultModeCaIndex::Open(dir.path() / "file");
    ASSERT_FALSE(index);
    EXPECT_EQ(index.error().code, sim::ErrorCode::kInvalidArgument);
    EXPECT_EQ(index.error().message, (dir.path() / "file").string() + ": not a directory");
}

TEST(FileDefaultModeCaIndexOpenTest, RefusesAReadOnlyDirectory) {
    if (::geteuid() == 0) {
        GTEST_SKIP() << "root may write anywhere";
    }
    TempDir dir;
    const fs::path read_only = dir.path() / "ro";
    fs::create_directories(read_only);
    ::chmod(read_only.c_str(), 0555);
    const auto index = FileDefaultModeCaIndex::Open(read_only);
    ::chmod(read_only.c_str(), 0755);
    ASSERT_FALSE(index);
    EXPECT_EQ(index.error().code, sim::ErrorCode::kPermissionDenied);
    EXPECT_EQ(index.error().message.rfind(read_only.string() + ": not writable", 0), 0U);
}

TEST(FileDefaultModeCaIndexTest, DirectoryRemovedLaterFailsClosed) {
    TempDir dir;
    const fs::path slots = dir.path() / "slots";
    fs::create_directories(slots);
    auto index = FileDefaultModeCaIndex::Open(slots);
    ASSERT_TRUE(index);
    fs::remove_all(slots);
    const auto claimed = (*index)->ClaimSlot("us-east-1", kCa, kA);
    ASSERT_FALSE(claimed);
    EXPECT_EQ(claimed.error().code, sim::ErrorCode::kIo);
    EXPECT_NE(claimed.error().message.find(slots.string()), std::string::npos);
    // Through the registry's interface the refusal is a "no".
    EXPECT_FALSE((*index)->TryClaim("us-east-1", kCa, kA));
}

TEST(FileDefaultModeCaIndexTest, CorruptSlotFileRefusesEveryoneAndNamesTheFile) {
    TempDir dir;
    auto index = FileDefaultModeCaIndex::Open(dir.path());
    ASSERT_TRUE(index);
    const fs::path slot = dir.path() / ("us-east-1." + kCa);
    sim::testing::WriteTextFile(slot, "");  // e.g. a hand-made empty file
    for (const char* account : {kA, kB}) {
        const auto claimed = (*index)->ClaimSlot("us-east-1", kCa, account);
        ASSERT_FALSE(claimed);
        EXPECT_EQ(claimed.error().message.rfind(slot.string() + ": slot file:", 0), 0U)
            << claimed.error().message;
        EXPECT_FALSE((*index)->TryClaim("us-east-1", kCa, account));
    }
    (*index)->Release("us-east-1", kCa, kA);
    EXPECT_TRUE(fs::exists(slot));  // not removed by a release that cannot prove ownership
}

TEST(FileDefaultModeCaIndexTest, LeftoversOfACrashDoNotBlockTheOwner) {
    TempDir dir;
    auto index = FileDefaultModeCaIndex::Open(dir.path());
    ASSERT_TRUE(index);
    // A crash after the link but before the registry committed: the slot and a temporary.
    sim::testing::WriteTextFile(dir.path() / ("us-east-1." + kCa), std::string(kA) + "\n");
    sim::testing::WriteTextFile(dir.path() / (".tmp-us-east-1." + kCa + "-1-0"),
                                std::string(kA) + "\n");
    EXPECT_EQ(*(*index)->ClaimSlot("us-east-1", kCa, kA), true);
    EXPECT_EQ(*(*index)->ClaimSlot("us-east-1", kCa, kB), false);
}

TEST(FileDefaultModeCaIndexTest, ReleaseAllExceptFreesOnlyTheAccountsOtherSlotsInItsRegion) {
    TempDir dir;
    auto index = FileDefaultModeCaIndex::Open(dir.path());
    ASSERT_TRUE(index);
    const std::string third(64, 'e');
    ASSERT_TRUE(*(*index)->ClaimSlot("us-east-1", kCa, kA));
    ASSERT_TRUE(*(*index)->ClaimSlot("us-east-1", kOtherCa, kA));
    ASSERT_TRUE(*(*index)->ClaimSlot("eu-west-1", kOtherCa, kA));
    ASSERT_TRUE(*(*index)->ClaimSlot("us-east-1", third, kB));
    const auto released = (*index)->ReleaseAllExcept("us-east-1", kA, {kCa});
    ASSERT_TRUE(released) << released.error().message;
    EXPECT_EQ(*released, std::vector<std::string>{kOtherCa});
    EXPECT_EQ(*(*index)->Owner("us-east-1", kCa), kA);
    EXPECT_EQ(*(*index)->Owner("us-east-1", kOtherCa), "");
    EXPECT_EQ(*(*index)->Owner("eu-west-1", kOtherCa), kA);
    EXPECT_EQ(*(*index)->Owner("us-east-1", third), kB);
}

TEST(FileDefaultModeCaIndexTest, ExactlyOneOfManyRacingAccountsWins) {
    TempDir dir;
    std::vector<std::unique_ptr<FileDefaultModeCaIndex>> indexes;  // one per "process"
    for (int i = 0; i < 8; ++i) {
        auto index = FileDefaultModeCaIndex::Open(dir.path());
        ASSERT_TRUE(index);
        indexes.push_back(std::move(*index));
    }
    std::atomic<int> winners{0};
    std::atomic<int> errors{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back([&, i] {
            const std::string account = std::string(11, '0') + std::to_string(i + 1);
            const auto claimed =
                indexes[static_cast<std::size_t>(i)]->ClaimSlot("us-east-1", kCa, account);
            if (!claimed) {
                errors.fetch_add(1);
            } else if (*claimed) {
                winners.fetch_add(1);
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    EXPECT_EQ(winners.load(), 1);
    EXPECT_EQ(errors.load(), 0);
    const auto owner = indexes[0]->Owner("us-east-1", kCa);
    ASSERT_TRUE(owner);
    EXPECT_EQ(owner->size(), 12U);
}

}  // namespace
}  // namespace sim::broker
