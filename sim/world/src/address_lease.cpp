// SPDX-License-Identifier: Apache-2.0
#include "sim/world/address_lease.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <string_view>
#include <system_error>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/world/address_block.hpp"

namespace sim::world {
namespace fs = std::filesystem;

namespace {

std::string ErrnoText(int error) {
    return std::error_code(error, std::generic_category()).message();
}

// Environment reads only; nothing in the project sets these variables at run time.
std::string Env(const char* name) {
    const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe)
    return value != nullptr ? std::string(value) : std::string();
}

// The lock descriptors of this process's leases, so that a forked child can close them
// (ForgetLeasesAfterFork) without taking a lock or allocating. A slot holds fd + 1; 0 is free
// (so the array is zero-initialised before any constructor runs). A lease that finds no free
// slot is not registered: a forked child then keeps sharing its lock until the child exits.
constexpr std::size_t kLeaseSlots = 256;
std::array<std::atomic<int>, kLeaseSlots> lease_slots{};

bool Register(int fd) {
    for (auto& slot : lease_slots) {
        int expected = 0;
        if (slot.compare_exchange_strong(expected, fd + 1)) {
            return true;
        }
    }
    return false;
}

// True when `fd` was registered and is now unregistered; false when a fork forgot it.
bool Unregister(int fd) {
    for (auto& slot : lease_slots) {
        int expected = fd + 1;
        if (slot.compare_exchange_strong(expected, 0)) {
            return true;
        }
    }
    return false;
}

sim::Status EnsureDirectory(const fs::path& directory) {
    std::error_code ec;
    if (fs::is_directory(directory, ec)) {
        return {};
    }
    if (!directory.parent_path().empty()) {
        fs::create_directories(directory.parent_path(), ec);
    }
    if (::mkdir(directory.c_str(), 0700) == 0) {
        // Shared by every user's worlds, like /tmp itself: anyone may add a lock file, no one may
        // remove another's.
        ::chmod(directory.c_str(), S_IRWXU | S_IRWXG | S_IRWXO | S_ISVTX);
        return {};
    }
    if (errno == EEXIST && fs::is_directory(directory, ec)) {
        return {};  // made by a concurrent lease
    }
    return sim::MakeError(sim::ErrorCode::kIo,
                          "lease directory " + directory.string() + ": " + ErrnoText(errno));
}

// Opens (creating) a lock file; read-only when another user's file is not writable to us (flock
// works on any open descriptor).
int OpenLockFile(const fs::path& file) {
    int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0 && errno == EACCES) {
        fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    }
    return fd;
}

bool BlockInUse(const std::vector<std::string>& addresses,
                const std::vector<std::uint16_t>& ports) {
    for (const auto& address : addresses) {
        for (const auto port : ports) {
            if (AddressInUse(address, port)) {
                return true;
            }
        }
    }
    return false;
}

// The holder's pid in the lock file, for whoever wonders who holds a block.
void WriteHolder(int fd) {
    const std::string text = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) == 0) {
        [[maybe_unused]] const auto n = ::pwrite(fd, text.data(), text.size(), 0);
    }
}

}  // namespace

fs::path DefaultLeaseDirectory() {
    if (auto dir = Env("ELSIM_LEASE_DIR"); !dir.empty()) {
        return dir;
    }
    // One directory for every process of the machine, whatever its session's environment:
    // a per-session directory ($XDG_RUNTIME_DIR) would hide one terminal's leases from another.
    return "/tmp/elsim-leases";
}

bool AddressInUse(const std::string& address, std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    ::inet_pton(AF_INET, address.c_str(), &addr.sin_addr);
    const bool in_use =
        ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 && errno == EADDRINUSE;
    ::close(fd);
    return in_use;
}

AddressLease::AddressLease(int fd, bool registered, std::uint32_t block,
                           std::vector<std::string> addresses, fs::path lock_file)
    : fd_(fd),
      registered_(registered),
      block_(block),
      addresses_(std::move(addresses)),
      lock_file_(std::move(lock_file)) {}

AddressLease::~AddressLease() {
    // A descriptor that a fork forgot (ForgetLeasesAfterFork) is closed already and its number
    // may belong to something else now: close only what is still ours.
    if (!registered_ || Unregister(fd_)) {
        ::close(fd_);
    }
}

sim::Result<std::unique_ptr<AddressLease>> AddressLease::Acquire(const LeaseOptions& options) {
    const fs::path directory =
        options.directory.empty() ? DefaultLeaseDirectory() : options.directory;
    if (auto made = EnsureDirectory(directory); !made) {
        return sim::Unexpected<sim::Error>(made.error());
    }
    std::uint32_t first = FirstBlockForPid(::getpid());
    if (options.first_block) {
        first = *options.first_block;
    } else if (const auto text = Env("ELSIM_LEASE_FIRST_BLOCK"); !text.empty()) {
        const auto parsed = std::from_chars(text.data(), text.data() + text.size(), first);
        if (parsed.ec != std::errc() || parsed.ptr != text.data() + text.size()) {
            return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                                  "ELSIM_LEASE_FIRST_BLOCK '" + text + "' is not a block number");
        }
    }
    if (first >= kAddressBlockCount) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "first address block " + std::to_string(first) +
                                  " is out of range (0-" + std::to_string(kAddressBlockCount - 1) +
                                  ")");
    }
    std::uint32_t held = 0;
    std::uint32_t in_use = 0;
    for (std::uint32_t attempt = 0; attempt < options.max_attempts; ++attempt) {
        const std::uint32_t block = NthBlockFrom(first, attempt);
        const fs::path file = directory / ("block-" + std::to_string(block) + ".lock");
        const int fd = OpenLockFile(file);
        if (fd < 0) {
            return sim::MakeError(sim::ErrorCode::kIo,
                                  "lease lock file " + file.string() + ": " + ErrnoText(errno));
        }
        // The lock lives as long as the open file: it is released by close() or by the
        // process's death, however it dies, so a crashed world's block is free again at once.
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            ::close(fd);
            ++held;
            continue;
        }
        auto addresses = BlockAddresses(block);
        if (!addresses) {
            ::close(fd);
            return sim::Unexpected<sim::Error>(addresses.error());
        }
        // Checked under the lock: another leaser cannot start on this block meanwhile.
        if (BlockInUse(*addresses, options.ports)) {
            ::close(fd);
            ++in_use;
            continue;
        }
        WriteHolder(fd);
        const bool registered = Register(fd);
        return std::unique_ptr<AddressLease>(
            new AddressLease(fd, registered, block, std::move(*addresses), file));
    }
    return sim::MakeError(sim::ErrorCode::kResourceExhausted,
                          "no free loopback address block in " +
                              std::to_string(options.max_attempts) + " tried from block " +
                              std::to_string(first) + " (" + std::to_string(held) + " leased, " +
                              std::to_string(in_use) + " in use; lock files in " +
                              directory.string() + ")");
}

void ForgetLeasesAfterFork() noexcept {
    for (auto& slot : lease_slots) {
        const int fd_plus_one = slot.exchange(0);
        if (fd_plus_one > 0) {
            ::close(fd_plus_one - 1);
        }
    }
}

}  // namespace sim::world
