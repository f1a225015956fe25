// SPDX-License-Identifier: Apache-2.0
// sim::ScratchDirectory on the real file system: made under its parent with its prefix,
// removed with everything in it, kept on request, moved without being removed twice, and a
// one-line error naming the parent when none can be made.
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "sim/core/adapters.hpp"

namespace sim {
namespace {

namespace fs = std::filesystem;

class ScratchDirectoryTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto made = ScratchDirectory::Create(fs::temp_directory_path(), "elsim-scratch-parent");
        ASSERT_TRUE(made.has_value()) << made.error().message;
        parent_.emplace(std::move(*made));
    }
    const fs::path& parent() const { return parent_->path(); }
    std::optional<ScratchDirectory> parent_;
};

TEST_F(ScratchDirectoryTest, MadeUnderItsParentAndRemovedWithItsContents) {
    fs::path path;
    {
        auto scratch = ScratchDirectory::Create(parent(), "run");
        ASSERT_TRUE(scratch.has_value()) << scratch.error().message;
        path = scratch->path();
        EXPECT_EQ(path.parent_path(), parent());
        EXPECT_EQ(path.filename().string().rfind("run-", 0), 0U) << path;
        EXPECT_EQ(path.filename().string().size(), std::string("run-XXXXXX").size());
        EXPECT_TRUE(fs::is_directory(path));
        fs::create_directories(path / "a" / "b");
        std::ofstream(path / "a" / "b" / "file") << "x";
    }
    EXPECT_FALSE(fs::exists(path));
}

TEST_F(ScratchDirectoryTest, TwoAreNeverTheSame) {
    auto first = ScratchDirectory::Create(parent(), "same");
    auto second = ScratchDirectory::Create(parent(), "same");
    ASSERT_TRUE(first.has_value() && second.has_value());
    EXPECT_NE(first->path(), second->path());
}

TEST_F(ScratchDirectoryTest, KeptDirectoryStays) {
    fs::path path;
    {
        auto scratch = ScratchDirectory::Create(parent(), "kept");
        ASSERT_TRUE(scratch.has_value());
        path = scratch->Keep();
        EXPECT_EQ(path, scratch->path());
    }
    EXPECT_TRUE(fs::is_directory(path));
}

TEST_F(ScratchDirectoryTest, MovedFromIsNotRemovedTwiceAndKeepMoves) {
    fs::path path;
    {
        auto scratch = ScratchDirectory::Create(parent(), "moved");
        ASSERT_TRUE(scratch.has_value());
        path = scratch->path();
        {
            ScratchDirectory moved(std::move(*scratch));
            EXPECT_EQ(moved.path(), path);
            EXPECT_TRUE(scratch->path().empty());
        }
        EXPECT_FALSE(fs::exists(path)) << "the new owner removes it";
    }
    auto kept = ScratchDirectory::Create(parent(), "moved-kept");
    ASSERT_TRUE(kept.has_value());
    kept->Keep();
    const fs::path kept_path = kept->path();
    { ScratchDirectory moved(std::move(*kept)); }
    EXPECT_TRUE(fs::is_directory(kept_path));
}

struct BadParent {
    const char* name;
    std::string relative;  ///< Under the fixture's parent, which holds a file "plain-file".
};

class ScratchDirectoryRefuses : public ScratchDirectoryTest,
                                public ::testing::WithParamInterface<BadParent> {};

TEST_P(ScratchDirectoryRefuses, WithOneLineNamingTheParent) {
    const fs::path bad = parent() / GetParam().relative;
    std::ofstream(parent() / "plain-file") << "not a directory";
    auto scratch = ScratchDirectory::Create(bad, "x");
    ASSERT_FALSE(scratch.has_value());
    EXPECT_EQ(scratch.error().code, ErrorCode::kIo);
    EXPECT_EQ(scratch.error().message.rfind(bad.string() + ": ", 0), 0U) << scratch.error().message;
    EXPECT_EQ(scratch.error().message.find('\n'), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Table, ScratchDirectoryRefuses,
                         ::testing::Values(BadParent{"MissingParent", "missing/deeper"},
                                           BadParent{"ParentIsAFile", "plain-file"},
                                           BadParent{"ParentUnderAFile", "plain-file/deeper"}),
                         [](const ::testing::TestParamInfo<BadParent>& p) {
                             return std::string(p.param.name);
                         });

}  // namespace
}  // namespace sim
