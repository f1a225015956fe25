// SPDX-License-Identifier: Apache-2.0
#pragma once
// Adapters shared by every component: the system clock, an OS-seeded Random, atomic file
// writes, logger set-up and the descriptor limit. Cores never include this header.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>
#include <sys/resource.h>

#include "sim/core/ports.hpp"
#include "sim/core/result.hpp"

namespace sim {

class SystemClock final : public Clock {
public:
    TimePoint Now() const override { return std::chrono::system_clock::now(); }
};

/// Random seeded from the OS (std::random_device), or from `seed` so that a run replays (a
/// world's accounts take theirs from the run's --seed). Thread-safe.
class OsRandom final : public Random {
public:
    OsRandom();
    explicit OsRandom(std::uint64_t seed);
    std::uint64_t Next64() override;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

/// Writes `contents` to `path` through a temporary file in the same directory, fsync, then
/// rename: a reader (or a crash) sees the old file or the whole new one, never half of it.
/// `mode` is applied to the temporary file before any byte is written (0600 for keys).
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents,
                           std::filesystem::perms mode = std::filesystem::perms::owner_read |
                                                         std::filesystem::perms::owner_write |
                                                         std::filesystem::perms::group_read |
                                                         std::filesystem::perms::others_read);

/// A temporary directory (mkdtemp under `parent`, named `<prefix>-XXXXXX`) removed with
/// everything in it when the object goes, unless Keep() was called. Errors: kIo naming
/// `parent`.
class ScratchDirectory {
public:
    static Result<ScratchDirectory> Create(const std::filesystem::path& parent,
                                           std::string_view prefix);
    ScratchDirectory(ScratchDirectory&& other) noexcept;
    ScratchDirectory& operator=(ScratchDirectory&&) = delete;
    ScratchDirectory(const ScratchDirectory&) = delete;
    ScratchDirectory& operator=(const ScratchDirectory&) = delete;
    ~ScratchDirectory();
    const std::filesystem::path& path() const { return path_; }
    /// Leaves the directory on disk when this object goes (e.g. for inspection); its path.
    const std::filesystem::path& Keep() {
        kept_ = true;
        return path_;
    }

private:
    explicit ScratchDirectory(std::filesystem::path path) : path_(std::move(path)) {}
    std::filesystem::path path_;
    bool kept_ = false;
};

/// Reads a whole file; the error names the path and the OS reason.
Result<std::string> ReadFile(const std::filesystem::path& path);

/// Raises this process's RLIMIT_NOFILE soft limit to at least `needed` descriptors; processes
/// started afterwards (mosquitto, which needs one descriptor per connected client as well)
/// inherit it. A soft limit already >= `needed` is left alone. When the hard limit is lower,
/// both limits are set to `needed`, which succeeds only with CAP_SYS_RESOURCE (e.g. as root).
/// Not thread-safe with respect to other setrlimit callers. Errors (the caller prefixes the
/// option that asked for it): kInvalidArgument "needs N file descriptors, the hard limit is H
/// (raise `ulimit -Hn`)" when the hard limit is too low and cannot be raised; kIo when
/// getrlimit/setrlimit fails otherwise. On error the limits are unchanged.
Status RaiseDescriptorLimit(rlim_t needed);

/// A named logger ("pki", "module", ...) writing to stderr; created once, then shared.
std::shared_ptr<spdlog::logger> Logger(const std::string& component);
/// Sets the level of every logger: "error", "warn", "info", "debug".
void SetLogLevel(std::string_view level);

}  // namespace sim
