// SPDX-License-Identifier: Apache-2.0
#pragma once
// The address lease (adapter): a world holds one block of loopback addresses (address_block.hpp)
// for as long as it runs, so worlds side by side (parallel scenarios, ctest -j, two terminals)
// never bind the same address.
//
// One lock file per block, DIR/block-<N>.lock, locked with flock(LOCK_EX | LOCK_NB) on an
// O_CLOEXEC descriptor that the lease keeps open. The lock is the lease: closing the descriptor
// (the destructor, or the process exiting for any reason, SIGKILL included) releases it, because
// the kernel drops a flock() lock with the last descriptor of its open file. A crashed world
// therefore never leaves a stale lease behind; nothing has to clean up. Lock files are never
// deleted: unlinking a file another process has open and is about to lock would let two
// processes hold "the same" block. The holder's pid is written into the file, for people.
//
// DIR is LeaseOptions::directory, else $ELSIM_LEASE_DIR, else /tmp/elsim-leases (created mode
// 1777 so that every user's worlds share it; the same for every terminal and CI job of the
// machine). Processes that see different directories do not see each other's leases; the probe
// below still keeps them off addresses already listening.
//
// Blocks are probed from a pid-derived first block (FirstBlockForPid; $ELSIM_LEASE_FIRST_BLOCK
// overrides it, for tests that make two processes contend). A block is skipped when its lock is
// held or when any of its addresses already has a listener on one of LeaseOptions::ports (a bind
// test): someone outside the lease scheme uses it.
//
// Forks: a child made by fork() without exec shares the parent's lock until it closes the
// descriptor; ForgetLeasesAfterFork() does that in a child that must not keep its parent's
// blocks (the world supervisor). Thread-safe: leases may be taken and dropped from any thread.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/result.hpp"

namespace sim::world {

struct LeaseOptions {
    std::filesystem::path directory;  ///< Empty: DefaultLeaseDirectory().
    /// Ports probed on every address of a candidate block (the world's listeners).
    std::vector<std::uint16_t> ports{8883, 8443};
    /// First block probed; unset: $ELSIM_LEASE_FIRST_BLOCK, then FirstBlockForPid(getpid()).
    std::optional<std::uint32_t> first_block;
    std::uint32_t max_attempts = 4096;  ///< Blocks probed before giving up.
};

/// $ELSIM_LEASE_DIR, else $XDG_RUNTIME_DIR/elsim-leases, else /tmp/elsim-leases.
std::filesystem::path DefaultLeaseDirectory();

/// True when something listens on address:port (a bind with SO_REUSEADDR fails with
/// EADDRINUSE, so a TIME_WAIT left by an earlier run does not count).
bool AddressInUse(const std::string& address, std::uint16_t port);

class AddressLease {
public:
    /// Takes the first free block from the first block on. Blocking: no (probes only).
    /// Errors: kIo (the directory or a lock file cannot be made), kResourceExhausted (every
    /// probed block was held or in use), kInvalidArgument ($ELSIM_LEASE_FIRST_BLOCK not a block).
    static sim::Result<std::unique_ptr<AddressLease>> Acquire(const LeaseOptions& options = {});

    /// Releases the block (closes the lock descriptor).
    ~AddressLease();
    AddressLease(const AddressLease&) = delete;
    AddressLease& operator=(const AddressLease&) = delete;
    AddressLease(AddressLease&&) = delete;
    AddressLease& operator=(AddressLease&&) = delete;

    std::uint32_t Block() const { return block_; }
    /// kAddressesPerBlock consecutive addresses, in order.
    const std::vector<std::string>& Addresses() const { return addresses_; }
    const std::filesystem::path& LockFile() const { return lock_file_; }

private:
    AddressLease(int fd, bool registered, std::uint32_t block, std::vector<std::string> addresses,
                 std::filesystem::path lock_file);
    int fd_;
    bool registered_;  ///< In the fork registry (ForgetLeasesAfterFork).
    std::uint32_t block_;
    std::vector<std::string> addresses_;
    std::filesystem::path lock_file_;
};

/// In a child just made by fork(): closes the descriptors of every lease the parent held, so the
/// child does not keep the parent's blocks locked after the parent lets them go. The parent's
/// leases stay held by the parent. Async-signal-safe.
void ForgetLeasesAfterFork() noexcept;

}  // namespace sim::world
