// SPDX-License-Identifier: Apache-2.0
#pragma once
// SQLite persistence of one account (adapter): one file per account, WAL journal,
// synchronous=FULL by default (Durability), so a committed batch survives a crash and a batch
// either lands whole or not at all. Rows are the registry's persistence records: (kind, key) -> JSON text;
// a row without JSON deletes the record.
//
// Threading: an AccountStore is used by one thread at a time (the server's committer); Open,
// Load and Apply block on disk I/O.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/result.hpp"

struct sqlite3;

namespace sim::controlplane {

struct StoredRow {
    std::string kind;  ///< "thing", "certificate", ... (the registry's names)
    std::string key;
    std::optional<std::string> json;  ///< nullopt: the record was deleted.
    bool operator==(const StoredRow&) const = default;
};

/// How far a commit is durable before Apply returns.
enum class Durability {
    kFull,          ///< synchronous=FULL: fsync per transaction; survives power loss.
    kProcessCrash,  ///< synchronous=NORMAL (WAL): survives a crash or SIGKILL of the process,
                    ///< may lose the last transactions on power loss; no fsync per commit.
};

class AccountStore {
public:
    /// Opens (creating if needed) the SQLite file at `path`, creating parent directories.
    /// Errors: kIo naming the path and SQLite's reason.
    static Result<std::unique_ptr<AccountStore>> Open(const std::filesystem::path& path,
                                                      Durability durability = Durability::kFull);
    ~AccountStore();
    AccountStore(const AccountStore&) = delete;
    AccountStore& operator=(const AccountStore&) = delete;

    /// Every stored row (json always set), ordered by kind then key.
    Result<std::vector<StoredRow>> Load() const;
    /// Writes every batch in `batches` in ONE transaction (group commit): all land or none.
    /// Errors: kIo; the file is then unchanged.
    Status Apply(const std::vector<const std::vector<StoredRow>*>& batches);
    Status Apply(const std::vector<StoredRow>& rows) { return Apply({&rows}); }

    const std::filesystem::path& path() const { return path_; }

private:
    AccountStore(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}
    sqlite3* db_;
    std::filesystem::path path_;
};

}  // namespace sim::controlplane
