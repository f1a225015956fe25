// SPDX-License-Identifier: Apache-2.0
#include "sim/broker/file_default_mode_ca_index.hpp"

#include <atomic>
#include <cerrno>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/broker/default_mode_ca_slots.hpp"
#include "sim/core/adapters.hpp"
#include "sim/core/posix_io.hpp"

namespace sim::broker {
namespace fs = std::filesystem;

namespace {

std::string ErrnoText(int error) {
    return std::error_code(error, std::generic_category()).message();
}

// A file descriptor closed on scope exit.
class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&&) = delete;
    Fd& operator=(Fd&&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

// Makes a link or unlink in `directory` durable.
void SyncDirectory(const fs::path& directory) {
    const Fd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() >= 0) {
        (void)::fsync(fd.get());
    }
}

// The owner recorded in `slot`; empty when the file does not exist.
sim::Result<std::string> ReadOwner(const fs::path& slot) {
    const Fd fd(::open(slot.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        const int error = errno;
        if (error == ENOENT) {
            return std::string();
        }
        return sim::MakeError(sim::ErrorCode::kIo, slot.string() + ": " + ErrnoText(error));
    }
    // A slot file is 13 bytes; past 256 reading stops and the parser refuses the text.
    auto contents = sim::ReadAll(fd.get(), 256);
    if (!contents) {
        return sim::MakeError(sim::ErrorCode::kIo, slot.string() + ": " + contents.error().message);
    }
    auto owner = ParseSlotOwner(*contents);
    if (!owner) {
        return sim::MakeError(owner.error().code, slot.string() + ": " + owner.error().message);
    }
    return owner;
}

// Writes `contents` to a new temporary file in `directory` (O_CREAT|O_EXCL, fsynced).
sim::Result<fs::path> WriteTemporary(const fs::path& directory, const std::string& slot_name,
                                     const std::string& contents) {
    static std::atomic<std::uint64_t> counter{0};
    const fs::path temporary = directory / (".tmp-" + slot_name + "-" + std::to_string(::getpid()) +
                                            "-" + std::to_string(counter.fetch_add(1)));
    const Fd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (fd.get() < 0) {
        return sim::MakeError(sim::ErrorCode::kIo, temporary.string() + ": " + ErrnoText(errno));
    }
    if (auto written = sim::WriteAll(fd.get(), contents); !written) {
        ::unlink(temporary.c_str());
        return sim::MakeError(sim::ErrorCode::kIo,
                              temporary.string() + ": " + written.error().message);
    }
    if (::fsync(fd.get()) != 0) {
        const int error = errno;
        ::unlink(temporary.c_str());
        return sim::MakeError(sim::ErrorCode::kIo, temporary.string() + ": " + ErrnoText(error));
    }
    return temporary;
}

}  // namespace

sim::Result<std::unique_ptr<FileDefaultModeCaIndex>> FileDefaultModeCaIndex::Open(
    const fs::path& directory) {
    struct stat info {};
    if (::stat(directory.c_str(), &info) != 0) {
        const int error = errno;
        return sim::MakeError(
            error == ENOENT ? sim::ErrorCode::kNotFound : sim::ErrorCode::kIo,
            directory.string() + ": " +
                (error == ENOENT ? std::string("no such directory") : ErrnoText(error)));
    }
    if (!S_ISDIR(info.st_mode)) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              directory.string() + ": not a directory");
    }
    if (::access(directory.c_str(), W_OK | X_OK) != 0) {
        return sim::MakeError(sim::ErrorCode::kPermissionDenied,
                              directory.string() + ": not writable (" + ErrnoText(errno) + ")");
    }
    return std::unique_ptr<FileDefaultModeCaIndex>(new FileDefaultModeCaIndex(directory));
}

sim::Result<bool> FileDefaultModeCaIndex::ClaimSlot(std::string_view region,
                                                    std::string_view ca_certificate_id,
                                                    std::string_view account_id) {
    auto name = SlotFileName(region, ca_certificate_id);
    if (!name) {
        return sim::Unexpected<sim::Error>(name.error());
    }
    auto contents = SlotContents(account_id);
    if (!contents) {
        return sim::Unexpected<sim::Error>(contents.error());
    }
    const fs::path slot = directory_ / *name;
    // A release by the owner may remove the slot between our failed link and our read: try
    // again (bounded; each round either claims or finds an owner).
    for (int attempt = 0; attempt < 8; ++attempt) {
        auto owner = ReadOwner(slot);
        if (!owner) {
            return sim::Unexpected<sim::Error>(owner.error());
        }
        if (!owner->empty()) {
            return *owner == account_id;
        }
        auto temporary = WriteTemporary(directory_, *name, *contents);
        if (!temporary) {
            return sim::Unexpected<sim::Error>(temporary.error());
        }
        const int linked = ::link(temporary->c_str(), slot.c_str());
        const int error = errno;
        ::unlink(temporary->c_str());
        if (linked == 0) {
            SyncDirectory(directory_);
            return true;
        }
        if (error != EEXIST) {
            return sim::MakeError(sim::ErrorCode::kIo, slot.string() + ": " + ErrnoText(error));
        }
    }
    return sim::MakeError(sim::ErrorCode::kUnavailable,
                          slot.string() + ": claimed and released repeatedly; try again");
}

sim::Result<FileDefaultModeCaIndex::ReleaseOutcome> FileDefaultModeCaIndex::ReleaseSlot(
    std::string_view region, std::string_view ca_certificate_id, std::string_view account_id) {
    auto name = SlotFileName(region, ca_certificate_id);
    if (!name) {
        return sim::Unexpected<sim::Error>(name.error());
    }
    if (auto contents = SlotContents(account_id); !contents) {
        return sim::Unexpected<sim::Error>(contents.error());
    }
    const fs::path slot = directory_ / *name;
    auto owner = ReadOwner(slot);
    if (!owner) {
        return sim::Unexpected<sim::Error>(owner.error());
    }
    if (owner->empty()) {
        return ReleaseOutcome::kWasFree;
    }
    if (*owner != account_id) {
        return ReleaseOutcome::kHeldByAnother;
    }
    // Only the owner removes its slot, and the owner's registry calls are serialised, so the
    // file read above is the one removed here.
    if (::unlink(slot.c_str()) != 0 && errno != ENOENT) {
        return sim::MakeError(sim::ErrorCode::kIo, slot.string() + ": " + ErrnoText(errno));
    }
    SyncDirectory(directory_);
    return ReleaseOutcome::kReleased;
}

sim::Result<std::string> FileDefaultModeCaIndex::Owner(std::string_view region,
                                                       std::string_view ca_certificate_id) const {
    auto name = SlotFileName(region, ca_certificate_id);
    if (!name) {
        return sim::Unexpected<sim::Error>(name.error());
    }
    return ReadOwner(directory_ / *name);
}

sim::Result<std::vector<std::string>> FileDefaultModeCaIndex::ReleaseAllExcept(
    std::string_view region, std::string_view account_id, const std::set<std::string>& keep) {
    const std::string prefix = std::string(region) + ".";
    std::vector<std::string> candidates;
    std::error_code ec;
    for (fs::directory_iterator it(directory_, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string file = it->path().filename().string();
        if (file.rfind(prefix, 0) != 0) {
            continue;  // another region, or a temporary (".tmp-...")
        }
        std::string id = file.substr(prefix.size());
        if (SlotFileName(region, id) && keep.count(id) == 0) {
            candidates.push_back(std::move(id));
        }
    }
    if (ec) {
        return sim::MakeError(sim::ErrorCode::kIo, directory_.string() + ": " + ec.message());
    }
    std::vector<std::string> released;
    for (const auto& id : candidates) {
        auto outcome = ReleaseSlot(region, id, account_id);
        if (!outcome) {
            return sim::Unexpected<sim::Error>(outcome.error());
        }
        if (*outcome == ReleaseOutcome::kReleased) {
            released.push_back(id);
        }
    }
    return released;
}

bool FileDefaultModeCaIndex::TryClaim(std::string_view region, std::string_view ca_certificate_id,
                                      std::string_view account_id) {
    auto claimed = ClaimSlot(region, ca_certificate_id, account_id);
    if (!claimed) {
        sim::Logger("broker")->error("default-mode CA index: claim refused: {}",
                                     claimed.error().message);
        return false;
    }
    return *claimed;
}

void FileDefaultModeCaIndex::Release(std::string_view region, std::string_view ca_certificate_id,
                                     std::string_view account_id) {
    if (auto released = ReleaseSlot(region, ca_certificate_id, account_id); !released) {
        sim::Logger("broker")->error("default-mode CA index: release failed: {}",
                                     released.error().message);
    }
}

}  // namespace sim::broker
