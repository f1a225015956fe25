// SPDX-License-Identifier: Apache-2.0
#include "sim/control_plane/account_store.hpp"

#include <sqlite3.h>

#include <system_error>

namespace sim::controlplane {
namespace {

constexpr const char* kSchema =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS registry("
    "  kind TEXT NOT NULL, key TEXT NOT NULL, json TEXT NOT NULL,"
    "  PRIMARY KEY(kind, key)) WITHOUT ROWID;";

std::string Describe(sqlite3* db, const std::filesystem::path& path, const char* step) {
    return std::string("sqlite ") + step + " " + path.string() + ": " + sqlite3_errmsg(db);
}

struct Statement {
    sqlite3_stmt* stmt = nullptr;
    ~Statement() { sqlite3_finalize(stmt); }
};

}  // namespace

Result<std::unique_ptr<AccountStore>> AccountStore::Open(const std::filesystem::path& path,
                                                          Durability durability) {
    std::error_code ec;
    if (path.has_parent_path()) {
        std::filesystem::create_directories(path.parent_path(), ec);
        if (ec) {
            return MakeError(ErrorCode::kIo, "cannot create directory " +
                                                 path.parent_path().string() + ": " + ec.message());
        }
    }
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &db,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                       SQLITE_OPEN_NOMUTEX,
                                   nullptr);
    if (rc != SQLITE_OK) {
        std::string message = db != nullptr ? Describe(db, path, "open")
                                            : "sqlite open " + path.string() + ": out of memory";
        sqlite3_close(db);
        return MakeError(ErrorCode::kIo, message);
    }
    sqlite3_busy_timeout(db, 5000);
    char* error = nullptr;
    const std::string schema =
        std::string(durability == Durability::kFull ? "PRAGMA synchronous=FULL;"
                                                    : "PRAGMA synchronous=NORMAL;") +
        kSchema;
    if (sqlite3_exec(db, schema.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
        std::string message =
            "sqlite schema " + path.string() + ": " + (error != nullptr ? error : "unknown");
        sqlite3_free(error);
        sqlite3_close(db);
        return MakeError(ErrorCode::kIo, message);
    }
    return std::unique_ptr<AccountStore>(new AccountStore(db, path));
}

AccountStore::~AccountStore() { sqlite3_close(db_); }

Result<std::vector<StoredRow>> AccountStore::Load() const {
    Statement select;
    if (sqlite3_prepare_v2(db_, "SELECT kind, key, json FROM registry ORDER BY kind, key", -1,
                           &select.stmt, nullptr) != SQLITE_OK) {
        return MakeError(ErrorCode::kIo, Describe(db_, path_, "load"));
    }
    std::vector<StoredRow> rows;
    int rc = SQLITE_OK;
    while ((rc = sqlite3_step(select.stmt)) == SQLITE_ROW) {
        auto text = [&](int column) {
            const auto* p = sqlite3_column_text(select.stmt, column);
            return p == nullptr ? std::string()
                                : std::string(reinterpret_cast<const char*>(p),
                                              static_cast<std::size_t>(
                                                  sqlite3_column_bytes(select.stmt, column)));
        };
        rows.push_back(StoredRow{text(0), text(1), text(2)});
    }
    if (rc != SQLITE_DONE) {
        return MakeError(ErrorCode::kIo, Describe(db_, path_, "load"));
    }
    return rows;
}

Status AccountStore::Apply(const std::vector<const std::vector<StoredRow>*>& batches) {
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
        return MakeError(ErrorCode::kIo, Describe(db_, path_, "begin"));
    }
    Statement upsert;
    Statement remove;
    auto fail = [&](const char* step) {
        std::string message = Describe(db_, path_, step);
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        return MakeError(ErrorCode::kIo, message);
    };
    if (sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO registry(kind, key, json) VALUES(?,?,?)",
                           -1, &upsert.stmt, nullptr) != SQLITE_OK ||
        sqlite3_prepare_v2(db_, "DELETE FROM registry WHERE kind = ? AND key = ?", -1,
                           &remove.stmt, nullptr) != SQLITE_OK) {
        return fail("prepare");
    }
    for (const auto* batch : batches) {
        for (const auto& row : *batch) {
            sqlite3_stmt* stmt = row.json ? upsert.stmt : remove.stmt;
            sqlite3_reset(stmt);
            sqlite3_bind_text(stmt, 1, row.kind.data(), static_cast<int>(row.kind.size()),
                              SQLITE_STATIC);
            sqlite3_bind_text(stmt, 2, row.key.data(), static_cast<int>(row.key.size()),
                              SQLITE_STATIC);
            if (row.json) {
                sqlite3_bind_text(stmt, 3, row.json->data(), static_cast<int>(row.json->size()),
                                  SQLITE_STATIC);
            }
            if (sqlite3_step(stmt) != SQLITE_DONE) {
                return fail("write");
            }
        }
    }
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
        return fail("commit");
    }
    return {};
}

}  // namespace sim::controlplane
