// SPDX-License-Identifier: Apache-2.0
#pragma once
// WorldClock: one clock shared by every process of a world (adapter). The world directory holds
// a small file, DIR/clock (kWorldClockFile), that each process maps (mmap, MAP_SHARED) and reads
// without locks: the mosquitto plugin of every account, the control planes inside them, the
// scenario runner, in-process modules and `elsim module` processes all see one time.
//
// File layout (64 bytes, native endianness, version 1): magic "ELCK", version, a wake word, the
// mode, a sequence counter (odd while a writer is inside), the virtual offset and frozen instant
// in nanoseconds, the generation. Readers use the sequence counter as a seqlock; writers of all
// processes are serialized by flock(2) on the file. After each change the wake word is bumped and
// every waiter of every process is woken (a shared futex on the mapped word).
//
// Not emulated: mosquitto's keep-alive timer and the TLS clients' check of the server
// certificate (Paho, OpenSSL in modules and runner clients) use the system clock; advancing
// world time neither expires an idle session nor a server certificate.
//
// Threading: every member is thread-safe. Now() never blocks and makes no system call beyond
// clock_gettime.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>

#include "sim/core/clock_state.hpp"
#include "sim/core/ports.hpp"
#include "sim/core/result.hpp"

namespace sim {

/// The clock file's name inside a world directory.
inline constexpr const char* kWorldClockFile = "clock";

class WorldClock final : public Clock {
public:
    /// Writes a new clock file at `path` (replacing any old one in one rename) starting in
    /// `mode` at the current wall time, and maps it. Errors: kIo naming the path.
    static Result<std::shared_ptr<WorldClock>> Create(const std::filesystem::path& path,
                                                      ClockMode mode);
    /// Maps an existing clock file. Errors: kNotFound when it does not exist, kInvalidArgument
    /// when it is not a clock file (size, magic or version), kIo otherwise; each names the path.
    static Result<std::shared_ptr<WorldClock>> Open(const std::filesystem::path& path);
    /// `<directory>/clock` when it exists, else nullptr (a world started before clocks, or a
    /// directory that holds no world). Errors as Open for a file that exists but is unusable.
    static Result<std::shared_ptr<WorldClock>> OpenInWorld(const std::filesystem::path& directory);

    ~WorldClock() override;
    WorldClock(const WorldClock&) = delete;
    WorldClock& operator=(const WorldClock&) = delete;

    TimePoint Now() const override;
    /// A consistent snapshot of the file.
    ClockReading Read() const;
    /// Moves world time forward by `by` (a wall clock becomes virtual) and wakes every waiter.
    /// Returns the new reading. Errors: those of sim::Advanced; kIo when the file lock fails.
    Result<ClockReading> Advance(std::chrono::nanoseconds by);
    /// Blocks until the generation differs from `seen` or `timeout` passes (real time), or
    /// Nudge() is called. Returns true when the generation changed.
    bool WaitForChange(std::uint64_t seen, std::chrono::milliseconds timeout) const;
    /// Wakes every WaitForChange of every process without a change (they re-check and return
    /// false or wait again): lets a waiter's owner stop it promptly.
    void Nudge() const;

    const std::filesystem::path& path() const { return path_; }

private:
    WorldClock(std::filesystem::path path, int fd, void* map);
    void Write(const ClockReading& reading);

    std::filesystem::path path_;
    int fd_ = -1;
    void* map_ = nullptr;
};

}  // namespace sim
