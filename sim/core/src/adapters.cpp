// SPDX-License-Identifier: Apache-2.0
#include "sim/core/adapters.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <atomic>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "sim/core/posix_io.hpp"

namespace sim {
namespace fs = std::filesystem;

struct OsRandom::Impl {
    std::mutex mutex;
    std::mt19937_64 engine;
};

OsRandom::OsRandom() : impl_(std::make_shared<Impl>()) {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device()};
    impl_->engine.seed(seed);
}

OsRandom::OsRandom(std::uint64_t seed) : impl_(std::make_shared<Impl>()) {
    impl_->engine.seed(seed);
}

std::uint64_t OsRandom::Next64() {
    std::lock_guard lock(impl_->mutex);
    return impl_->engine();
}

namespace {

std::string Errno(const std::string& what, const fs::path& path) {
    return what + " " + path.string() + ": " + std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
}

}  // namespace

Status WriteFileAtomically(const fs::path& path, std::string_view contents, fs::perms mode) {
    // The temporary name is unique per process and call, in the target's directory so that
    // rename() stays on one file system and is atomic.
    static std::atomic<unsigned> counter{0};
    const fs::path tmp = path.parent_path() /
                         ("." + path.filename().string() + ".tmp." + std::to_string(::getpid()) +
                          "." + std::to_string(counter.fetch_add(1)));
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                          static_cast<mode_t>(mode) & 0777);
    if (fd < 0) {
        return MakeError(ErrorCode::kIo, Errno("cannot create", tmp));
    }
    // open() applies the umask; fchmod makes the mode exact (0600 keys stay 0600).
    ::fchmod(fd, static_cast<mode_t>(mode) & 0777);
    if (auto written = WriteAll(fd, contents); !written) {
        ::close(fd);
        ::unlink(tmp.c_str());
        return MakeError(ErrorCode::kIo,
                         "cannot write " + tmp.string() + ": " + written.error().message);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        auto error = Errno("cannot flush", tmp);
        ::unlink(tmp.c_str());
        return MakeError(ErrorCode::kIo, error);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        auto error = Errno("cannot rename into", path);
        ::unlink(tmp.c_str());
        return MakeError(ErrorCode::kIo, error);
    }
    return {};
}

Result<ScratchDirectory> ScratchDirectory::Create(const fs::path& parent,
                                                  std::string_view prefix) {
    std::string pattern = (parent / (std::string(prefix) + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        return MakeError(ErrorCode::kIo,
                         parent.string() + ": cannot create a temporary directory (" +
                             std::error_code(errno, std::generic_category()).message() + ")");
    }
    return ScratchDirectory(fs::path(pattern));
}

ScratchDirectory::ScratchDirectory(ScratchDirectory&& other) noexcept
    : path_(std::move(other.path_)), kept_(other.kept_) {
    other.path_.clear();
}

ScratchDirectory::~ScratchDirectory() {
    if (!path_.empty() && !kept_) {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
}

Result<std::string> ReadFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return MakeError(ErrorCode::kIo, Errno("cannot read", path));
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) {
        return MakeError(ErrorCode::kIo, Errno("cannot read", path));
    }
    return buffer.str();
}

std::shared_ptr<spdlog::logger> Logger(const std::string& component) {
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    if (auto existing = spdlog::get(component)) {
        return existing;
    }
    auto logger = spdlog::stderr_color_mt(component);
    logger->set_pattern("%H:%M:%S.%e %^%l%$ [%n] %v");
    logger->set_level(spdlog::get_level());
    return logger;
}

void SetLogLevel(std::string_view level) {
    spdlog::set_level(spdlog::level::from_str(std::string(level)));
}

Status RaiseDescriptorLimit(rlim_t needed) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        return MakeError(ErrorCode::kIo,
                         std::string("getrlimit(RLIMIT_NOFILE): ") +
                             std::strerror(errno));  // NOLINT(concurrency-mt-unsafe)
    }
    if (limit.rlim_cur >= needed) {
        return {};
    }
    if (limit.rlim_max < needed) {
        // Raising the hard limit needs CAP_SYS_RESOURCE; try it, since containers often run as
        // root, and otherwise tell the user which limit to raise.
        const rlimit raised{needed, needed};
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            return {};
        }
        return MakeError(ErrorCode::kInvalidArgument,
                         "needs " + std::to_string(needed) +
                             " file descriptors, the hard limit is " +
                             std::to_string(limit.rlim_max) + " (raise `ulimit -Hn`)");
    }
    limit.rlim_cur = needed;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
        return MakeError(ErrorCode::kIo,
                         std::string("setrlimit(RLIMIT_NOFILE): ") +
                             std::strerror(errno));  // NOLINT(concurrency-mt-unsafe)
    }
    return {};
}

}  // namespace sim
