// SPDX-License-Identifier: Apache-2.0
#include "sim/core/world_clock.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <string>
#include <system_error>

#include "sim/core/adapters.hpp"

namespace sim {
namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t kMagic = 0x4b434c45;  // "ELCK" read as a little-endian word
constexpr std::uint32_t kVersion = 1;

struct Page {
    std::uint32_t magic;
    std::uint32_t version;
    std::uint32_t wake;  // futex word: bumped after every change and by Nudge
    std::uint32_t mode;
    std::uint64_t sequence;  // seqlock: odd while a writer is inside
    std::int64_t offset_ns;
    std::int64_t frozen_ns;
    std::uint64_t generation;
    std::uint64_t reserved[2];
};
static_assert(sizeof(Page) == 64);

template <class T>
std::atomic_ref<T> Atomic(T& field) {
    return std::atomic_ref<T>(field);
}

std::string ErrnoText() { return std::error_code(errno, std::generic_category()).message(); }

std::int64_t EpochNanos(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

TimePoint FromEpochNanos(std::int64_t nanos) {
    return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::nanoseconds(nanos)));
}

Page Encode(const ClockReading& reading) {
    Page page{};
    page.magic = kMagic;
    page.version = kVersion;
    page.mode = static_cast<std::uint32_t>(reading.mode);
    page.offset_ns = reading.offset.count();
    page.frozen_ns = EpochNanos(reading.frozen_at);
    page.generation = reading.generation;
    return page;
}

// Holds flock(LOCK_EX) on the clock file: writers of every process take turns.
class FileLock {
public:
    explicit FileLock(int fd) : fd_(fd) {
        while (::flock(fd_, LOCK_EX) != 0) {
            if (errno != EINTR) {
                fd_ = -1;
                return;
            }
        }
    }
    ~FileLock() {
        if (fd_ >= 0) {
            ::flock(fd_, LOCK_UN);
        }
    }
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;
    bool held() const { return fd_ >= 0; }

private:
    int fd_;
};

}  // namespace

WorldClock::WorldClock(fs::path path, int fd, void* map)
    : path_(std::move(path)), fd_(fd), map_(map) {}

WorldClock::~WorldClock() {
    if (map_ != nullptr) {
        ::munmap(map_, sizeof(Page));
    }
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

Result<std::shared_ptr<WorldClock>> WorldClock::Create(const fs::path& path, ClockMode mode) {
    const Page page = Encode(StartReading(mode, std::chrono::system_clock::now()));
    if (auto s = WriteFileAtomically(
            path, std::string_view(reinterpret_cast<const char*>(&page), sizeof page));
        !s) {
        return Unexpected(s.error());
    }
    return Open(path);
}

Result<std::shared_ptr<WorldClock>> WorldClock::Open(const fs::path& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        const bool missing = errno == ENOENT;
        return MakeError(missing ? ErrorCode::kNotFound : ErrorCode::kIo,
                         path.string() + ": cannot open the world clock (" + ErrnoText() + ")");
    }
    struct stat info {};
    if (::fstat(fd, &info) != 0 || info.st_size != static_cast<off_t>(sizeof(Page))) {
        ::close(fd);
        return MakeError(ErrorCode::kInvalidArgument,
                         path.string() + ": not a world clock file (size)");
    }
    void* map = ::mmap(nullptr, sizeof(Page), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        auto error = ErrnoText();
        ::close(fd);
        return MakeError(ErrorCode::kIo, path.string() + ": cannot map the world clock (" +
                                             error + ")");
    }
    auto& page = *static_cast<Page*>(map);
    if (page.magic != kMagic || page.version != kVersion || page.mode > 2) {
        ::munmap(map, sizeof(Page));
        ::close(fd);
        return MakeError(ErrorCode::kInvalidArgument,
                         path.string() + ": not a world clock file (version " +
                             std::to_string(kVersion) + " expected)");
    }
    return std::shared_ptr<WorldClock>(new WorldClock(path, fd, map));
}

Result<std::shared_ptr<WorldClock>> WorldClock::OpenInWorld(const fs::path& directory) {
    auto opened = Open(directory / kWorldClockFile);
    if (!opened && opened.error().code == ErrorCode::kNotFound) {
        return std::shared_ptr<WorldClock>{};
    }
    return opened;
}

ClockReading WorldClock::Read() const {
    auto& page = *static_cast<Page*>(map_);
    ClockReading reading;
    while (true) {
        const std::uint64_t before = Atomic(page.sequence).load(std::memory_order_acquire);
        if ((before & 1U) != 0) {
            continue;  // a writer is inside: a few stores, never a system call
        }
        reading.mode = static_cast<ClockMode>(Atomic(page.mode).load(std::memory_order_relaxed));
        reading.offset =
            std::chrono::nanoseconds(Atomic(page.offset_ns).load(std::memory_order_relaxed));
        reading.frozen_at = FromEpochNanos(Atomic(page.frozen_ns).load(std::memory_order_relaxed));
        reading.generation = Atomic(page.generation).load(std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (Atomic(page.sequence).load(std::memory_order_relaxed) == before) {
            return reading;
        }
    }
}

TimePoint WorldClock::Now() const { return TimeAt(Read(), std::chrono::system_clock::now()); }

void WorldClock::Write(const ClockReading& reading) {
    auto& page = *static_cast<Page*>(map_);
    auto sequence = Atomic(page.sequence);
    const std::uint64_t start = sequence.load(std::memory_order_relaxed);
    sequence.store(start + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    Atomic(page.mode).store(static_cast<std::uint32_t>(reading.mode), std::memory_order_relaxed);
    Atomic(page.offset_ns).store(reading.offset.count(), std::memory_order_relaxed);
    Atomic(page.frozen_ns).store(EpochNanos(reading.frozen_at), std::memory_order_relaxed);
    Atomic(page.generation).store(reading.generation, std::memory_order_relaxed);
    sequence.store(start + 2, std::memory_order_release);
}

Result<ClockReading> WorldClock::Advance(std::chrono::nanoseconds by) {
    ClockReading next;
    {
        FileLock lock(fd_);
        if (!lock.held()) {
            return MakeError(ErrorCode::kIo,
                             path_.string() + ": cannot lock the world clock (" + ErrnoText() + ")");
        }
        auto advanced = Advanced(Read(), std::chrono::system_clock::now(), by);
        if (!advanced) {
            return advanced;
        }
        next = *advanced;
        Write(next);
    }
    Nudge();
    return next;
}

void WorldClock::Nudge() const {
    auto& page = *static_cast<Page*>(map_);
    Atomic(page.wake).fetch_add(1, std::memory_order_acq_rel);
    // Shared (not FUTEX_PRIVATE): waiters in other processes map the same file page.
    ::syscall(SYS_futex, &page.wake, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

bool WorldClock::WaitForChange(std::uint64_t seen, std::chrono::milliseconds timeout) const {
    auto& page = *static_cast<Page*>(map_);
    const std::uint32_t wake = Atomic(page.wake).load(std::memory_order_acquire);
    if (Read().generation != seen) {
        return true;
    }
    if (timeout > std::chrono::milliseconds::zero()) {
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
        timespec relative{};
        relative.tv_sec = static_cast<time_t>(seconds.count());
        relative.tv_nsec = static_cast<long>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(timeout - seconds).count());
        // Returns at once when the word already moved (EAGAIN): no change is missed between
        // the check above and the wait.
        ::syscall(SYS_futex, &page.wake, FUTEX_WAIT, wake, &relative, nullptr, 0);
    }
    return Read().generation != seen;
}

}  // namespace sim
