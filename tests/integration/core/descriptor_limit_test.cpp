// SPDX-License-Identifier: Apache-2.0
// sim::RaiseDescriptorLimit on the real RLIMIT_NOFILE of the test process.
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <sys/resource.h>

#include "sim/core/adapters.hpp"

namespace sim {
namespace {

rlimit Current() {
    rlimit limit{};
    EXPECT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
    return limit;
}

// A field of /proc/self/status or /proc/sys/...: the first token after `key`, or "".
std::string ProcField(const std::string& path, const std::string& key) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(key, 0) == 0) {
            const auto start = line.find_first_not_of(" \t", key.size());
            return start == std::string::npos ? "" : line.substr(start);
        }
    }
    return "";
}

// CAP_SYS_RESOURCE (bit 24) in the effective set: raising the hard limit is allowed.
bool CanRaiseHardLimit() {
    const std::string caps = ProcField("/proc/self/status", "CapEff:");
    return !caps.empty() && ((std::stoull(caps, nullptr, 16) >> 24U) & 1U) != 0;
}

TEST(RaiseDescriptorLimitTest, LeavesAHighEnoughLimitAlone) {
    const rlimit before = Current();
    ASSERT_TRUE(RaiseDescriptorLimit(before.rlim_cur));
    ASSERT_TRUE(RaiseDescriptorLimit(1));
    const rlimit after = Current();
    EXPECT_EQ(after.rlim_cur, before.rlim_cur);
    EXPECT_EQ(after.rlim_max, before.rlim_max);
}

TEST(RaiseDescriptorLimitTest, RaisesTheSoftLimitUpToTheHardLimit) {
    rlimit limit = Current();
    if (limit.rlim_max == RLIM_INFINITY || limit.rlim_max < 256) {
        GTEST_SKIP() << "hard limit " << limit.rlim_max << " leaves no room to test";
    }
    const rlim_t hard = limit.rlim_max;
    limit.rlim_cur = hard - 100;  // lowering the soft limit is always allowed
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
    ASSERT_TRUE(RaiseDescriptorLimit(hard - 50));
    EXPECT_EQ(Current().rlim_cur, hard - 50);
    ASSERT_TRUE(RaiseDescriptorLimit(hard));
    EXPECT_EQ(Current().rlim_cur, hard);
    EXPECT_EQ(Current().rlim_max, hard);
}

TEST(RaiseDescriptorLimitTest, AboveTheHardLimitRaisesItOnlyWithCapSysResource) {
    const rlimit before = Current();
    if (before.rlim_max == RLIM_INFINITY) {
        GTEST_SKIP() << "no hard limit";
    }
    const rlim_t needed = before.rlim_max + 16;
    const auto raised = RaiseDescriptorLimit(needed);
    const rlimit after = Current();
    if (CanRaiseHardLimit()) {
        ASSERT_TRUE(raised) << raised.error().message;
        EXPECT_EQ(after.rlim_cur, needed);
        EXPECT_EQ(after.rlim_max, needed);
    } else {
        ASSERT_FALSE(raised);
        EXPECT_EQ(raised.error().code, ErrorCode::kInvalidArgument);
        EXPECT_EQ(after.rlim_cur, before.rlim_cur);
        EXPECT_EQ(after.rlim_max, before.rlim_max);
    }
}

// Beyond fs.nr_open no process may go, privileged or not: a one-line error, limits unchanged.
TEST(RaiseDescriptorLimitTest, BeyondNrOpenFailsWithAnErrorNamingTheHardLimit) {
    const std::string nr_open = ProcField("/proc/sys/fs/nr_open", "");
    if (nr_open.empty()) {
        GTEST_SKIP() << "/proc/sys/fs/nr_open is not readable";
    }
    const rlimit before = Current();
    const auto needed = static_cast<rlim_t>(std::stoull(nr_open) + 1);
    if (before.rlim_cur == RLIM_INFINITY || before.rlim_cur >= needed) {
        GTEST_SKIP() << "the soft limit is already above fs.nr_open";
    }
    const auto raised = RaiseDescriptorLimit(needed);
    ASSERT_FALSE(raised);
    EXPECT_EQ(raised.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(raised.error().message,
              "needs " + std::to_string(needed) + " file descriptors, the hard limit is " +
                  std::to_string(before.rlim_max) + " (raise `ulimit -Hn`)");
    EXPECT_EQ(raised.error().message.find('\n'), std::string::npos);
    const rlimit after = Current();
    EXPECT_EQ(after.rlim_cur, before.rlim_cur);
    EXPECT_EQ(after.rlim_max, before.rlim_max);
}

}  // namespace
}  // namespace sim
