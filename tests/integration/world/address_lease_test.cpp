// SPDX-License-Identifier: Apache-2.0
// The address lease against the real kernel: flock() on lock files, bind probes, processes that
// die holding a lease, and two `elsim world up` started at the same moment.
#include "sim/world/address_lease.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "world_fixture.hpp"
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/core/adapters.hpp"
#include "sim/testing/support.hpp"
#include "sim/world/address_block.hpp"
#include "sim/world/world.hpp"

namespace sim::world {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using sim::testing::TempDir;

// Options for a lease in `directory` from `first`, probing no port unless told: the lock alone
// decides, so the expected block is known exactly.
LeaseOptions In(const fs::path& directory, std::uint32_t first,
                std::vector<std::uint16_t> ports = {}) {
    LeaseOptions options;
    options.directory = directory;
    options.first_block = first;
    options.ports = std::move(ports);
    return options;
}

// A first block for this test process (different tests run in different processes under ctest).
std::uint32_t First() { return FirstBlockForPid(::getpid()); }

// A child process that takes a lease (In(directory, first)), reports its block on a pipe and
// waits to be killed. Exits at once when the lease cannot be taken.
struct LeasingChild {
    pid_t pid = -1;
    std::uint32_t block = 0;
    bool leased = false;
};

LeasingChild ForkLeasingChild(const fs::path& directory, std::uint32_t first, bool forget) {
    int fds[2];
    if (::pipe(fds) != 0) {
        return {};
    }
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(fds[0]);
        if (forget) {
            ForgetLeasesAfterFork();  // the parent's leases are the parent's
        }
        auto lease = AddressLease::Acquire(In(directory, first));
        const std::uint32_t block = lease ? (*lease)->Block() : 0xFFFFFFFFU;
        [[maybe_unused]] const auto n = ::write(fds[1], &block, sizeof block);
        ::close(fds[1]);
        if (!lease) {
            ::_exit(1);
        }
        for (;;) {
            ::pause();
        }
    }
    ::close(fds[1]);
    LeasingChild child;
    child.pid = pid;
    std::uint32_t block = 0;
    if (pid > 0 && ::read(fds[0], &block, sizeof block) == sizeof block && block != 0xFFFFFFFFU) {
        child.block = block;
        child.leased = true;
    }
    ::close(fds[0]);
    return child;
}

// Starts argv[0] (looked up in PATH) with stdout and stderr to `log`; -1 on failure.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log) {
    std::vector<char*> args;
    for (const auto& arg : argv) {
        args.push_back(const_cast<char*>(arg.c_str()));
    }
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    pid_t pid = -1;
    if (::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ) != 0) {
        pid = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    return pid;
}

// The exit code of `pid`, or -1 when it is still running after `timeout` (it is killed then).
int WaitExit(pid_t pid, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() >= deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return -1;
        }
        std::this_thread::sleep_for(10ms);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void Kill(const LeasingChild& child) {
    if (child.pid > 0) {
        ::kill(child.pid, SIGKILL);
        ::waitpid(child.pid, nullptr, 0);
    }
}

TEST(AddressLeaseTest, TwoLeasesInOneProcessGetDifferentBlocksAndAReleasedOneIsReused) {
    TempDir dir;
    const auto first = First();
    auto a = AddressLease::Acquire(In(dir.path(), first));
    ASSERT_TRUE(a) << a.error().message;
    auto b = AddressLease::Acquire(In(dir.path(), first));
    ASSERT_TRUE(b) << b.error().message;
    EXPECT_EQ((*a)->Block(), first);
    EXPECT_EQ((*b)->Block(), NthBlockFrom(first, 1));  // the first one's lock is held
    std::set<std::string> addresses((*a)->Addresses().begin(), (*a)->Addresses().end());
    for (const auto& address : (*b)->Addresses()) {
        EXPECT_TRUE(addresses.insert(address).second) << address << " in both leases";
    }
    EXPECT_EQ(addresses.size(), 2 * kAddressesPerBlock);
    EXPECT_TRUE(fs::exists((*a)->LockFile()));
    EXPECT_EQ(*sim::ReadFile((*a)->LockFile()), std::to_string(::getpid()) + "\n");

    a->reset();  // released: the next lease from the same block gets it
    auto c = AddressLease::Acquire(In(dir.path(), first));
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ((*c)->Block(), first);
}

TEST(AddressLeaseTest, ALeaseHeldByAKilledProcessIsReclaimed) {
    TempDir dir;
    const auto first = First();
    const auto child = ForkLeasingChild(dir.path(), first, /*forget=*/false);
    ASSERT_TRUE(child.leased);
    EXPECT_EQ(child.block, first);
    EXPECT_EQ(*sim::ReadFile(dir.path() / ("block-" + std::to_string(first) + ".lock")),
              std::to_string(child.pid) + "\n");
    auto options = In(dir.path(), first);
    options.max_attempts = 1;
    const auto while_alive = AddressLease::Acquire(options);
    ASSERT_FALSE(while_alive);
    EXPECT_EQ(while_alive.error().code, sim::ErrorCode::kResourceExhausted);
    EXPECT_NE(while_alive.error().message.find("1 leased"), std::string::npos)
        << while_alive.error().message;

    Kill(child);  // SIGKILL: no destructor, no clean-up; the kernel drops the lock
    auto reclaimed = AddressLease::Acquire(options);
    ASSERT_TRUE(reclaimed) << reclaimed.error().message;
    EXPECT_EQ((*reclaimed)->Block(), first);
}

struct ForkCase {
    std::string name;
    bool forget;           // the child calls ForgetLeasesAfterFork
    bool parent_reclaims;  // after the parent drops its lease, it can take the block again
};

class LeaseAcrossForkTest : public ::testing::TestWithParam<ForkCase> {};

TEST_P(LeaseAcrossForkTest, AForkedChildKeepsTheParentsBlockOnlyUntilItForgetsIt) {
    TempDir dir;
    const auto first = First();
    auto lease = AddressLease::Acquire(In(dir.path(), first));
    ASSERT_TRUE(lease) << lease.error().message;
    // The child leases from the same first block: the shared lock makes it take the next one.
    const auto child = ForkLeasingChild(dir.path(), first, GetParam().forget);
    ASSERT_TRUE(child.leased);
    EXPECT_EQ(child.block, NthBlockFrom(first, 1));
    lease->reset();
    auto options = In(dir.path(), first);
    options.max_attempts = 1;
    const auto again = AddressLease::Acquire(options);
    EXPECT_EQ(again.has_value(), GetParam().parent_reclaims)
        << (again ? std::string("reclaimed") : again.error().message);
    Kill(child);
}

INSTANTIATE_TEST_SUITE_P(Forks, LeaseAcrossForkTest,
                         ::testing::Values(ForkCase{"ChildForgets", true, true},
                                           ForkCase{"ChildInherits", false, false}),
                         [](const auto& test_case) { return test_case.param.name; });

TEST(AddressLeaseTest, ABlockWithAListenerOnAProbedPortIsSkipped) {
    TempDir dir;
    const auto first = First();
    const std::string address = *BlockAddress(first, 3);
    const auto port = sim::testing::FreePort(address);
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    ::inet_pton(AF_INET, address.c_str(), &addr.sin_addr);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    EXPECT_TRUE(AddressInUse(address, port));

    auto skipped = AddressLease::Acquire(In(dir.path(), first, {port}));
    ASSERT_TRUE(skipped) << skipped.error().message;
    EXPECT_NE((*skipped)->Block(), first);
    auto options = In(dir.path(), first, {port});
    options.max_attempts = 1;
    const auto refused = AddressLease::Acquire(options);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("1 in use"), std::string::npos)
        << refused.error().message;
    ::close(fd);
    auto after = AddressLease::Acquire(options);
    ASSERT_TRUE(after) << after.error().message;
    EXPECT_EQ((*after)->Block(), first);
}

struct BadOptionsCase {
    std::string name;
    std::uint32_t first_block;
    std::uint32_t max_attempts;
    sim::ErrorCode code;
};

class BadLeaseOptionsTest : public ::testing::TestWithParam<BadOptionsCase> {};

TEST_P(BadLeaseOptionsTest, Refuses) {
    TempDir dir;
    auto options = In(dir.path(), GetParam().first_block);
    options.max_attempts = GetParam().max_attempts;
    const auto lease = AddressLease::Acquire(options);
    ASSERT_FALSE(lease);
    EXPECT_EQ(lease.error().code, GetParam().code) << lease.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Refusals, BadLeaseOptionsTest,
    ::testing::Values(BadOptionsCase{"FirstBlockPastTheEnd", kAddressBlockCount, 1,
                                     sim::ErrorCode::kInvalidArgument},
                      BadOptionsCase{"NoAttempts", 0, 0, sim::ErrorCode::kResourceExhausted}),
    [](const auto& test_case) { return test_case.param.name; });

TEST(AddressLeaseTest, ALeaseDirectoryThatCannotBeMadeIsAnIoError) {
    TempDir dir;
    sim::testing::WriteTextFile(dir.path() / "file", "x");
    const auto lease = AddressLease::Acquire(In(dir.path() / "file" / "leases", 0));
    ASSERT_FALSE(lease);
    EXPECT_EQ(lease.error().code, sim::ErrorCode::kIo) << lease.error().message;
}

// Two `elsim world up` started at once, both told to probe the same block first: the lock lets
// one take it and sends the other on, so no address is bound twice and both worlds come up.
TEST(WorldLeaseTest, TwoWorldsStartedAtOnceFromTwoProcessesDoNotCollide) {
    const std::string elsim = ELSIM_EXECUTABLE;
    if (elsim.empty()) {
        GTEST_SKIP() << "elsim not built in this configuration";
    }
    TempDir dir;
    sim::testing::WriteTextFile(
        dir.path() / "world.yaml",
        "manufacturers:\n  - name: acme\naccounts:\n" +
            sim::testing::WorldAccountLines(
                {{"staging", "staging"}, {"oem-a", "oem"}, {"oem-b", "oem"}}));
    const std::string first = "ELSIM_LEASE_FIRST_BLOCK=" + std::to_string(First());
    const std::vector<fs::path> worlds = {dir.path() / "w1", dir.path() / "w2"};
    // Both worlds go down however the test ends (WorldDown of a world that never came up is a
    // harmless kNotFound).
    struct Downer {
        const std::vector<fs::path>& worlds;
        ~Downer() {
            for (const auto& world : worlds) {
                (void)WorldDown(world);
            }
        }
    } downer{worlds};
    // Started with posix_spawn and awaited with waitpid: two children at once, each waited for
    // exactly as long as it runs.
    std::vector<pid_t> ups;
    for (const auto& world : worlds) {
        const std::vector<std::string> argv = {"env",
                                               first,
                                               elsim,
                                               "world",
                                               "up",
                                               "--config",
                                               (dir.path() / "world.yaml").string(),
                                               "--dir",
                                               world.string(),
                                               "--plugin",
                                               ELSIM_BROKER_PLUGIN};
        ups.push_back(Spawn(argv, world.string() + ".up.log"));
        ASSERT_GT(ups.back(), 0);
    }
    for (std::size_t i = 0; i < ups.size(); ++i) {
        EXPECT_EQ(WaitExit(ups[i], 30s), 0)
            << sim::ReadFile(worlds[i].string() + ".up.log").value_or("(no output)");
    }
    std::set<std::string> addresses;
    std::set<std::uint32_t> blocks;
    for (const auto& world : worlds) {
        const auto state = ReadWorld(world);
        ASSERT_TRUE(state) << state.error().message;
        for (const auto& account : state->accounts) {
            EXPECT_TRUE(addresses.insert(account.address).second)
                << account.address << " used by both worlds";
            EXPECT_TRUE(PortAcceptsConnections(account.address, account.mqtt_port, 500ms))
                << account.name << " of " << world;
            const auto block = BlockOf(account.address);
            ASSERT_TRUE(block) << block.error().message;
            blocks.insert(*block);
        }
    }
    EXPECT_EQ(addresses.size(), 6U);
    EXPECT_EQ(blocks.size(), 2U);  // one block per world
    for (const auto& world : worlds) {
        const auto down = WorldDown(world);
        EXPECT_TRUE(down) << world << ": " << down.error().message;
    }
}

}  // namespace
}  // namespace sim::world
