#include "raw_sqlite.hpp"

#include <sqlite3.h>

#include <filesystem>

#include "journal/codec.hpp"
#include "storage/sqlite/internal/sqlite_db.hpp"

namespace pond::bench {
namespace {

using sqlite_internal::DbHandle;
using sqlite_internal::Migration;
using sqlite_internal::StmtHandle;

// The embedded backend's journal table (storage/sqlite/tenant_store.cpp).
constexpr const char* kJournal[] = {
    "CREATE TABLE journal(tick INTEGER PRIMARY KEY, kind INTEGER NOT NULL, key BLOB NOT NULL, payload BLOB NOT NULL)"};
constexpr Migration kSteps[] = {{kJournal}};

}  // namespace

Status RawBulkLoadOrders(const std::string& db_path, const std::vector<OrderRow>& rows, size_t batch_size) {
  if (batch_size == 0) return InvalidArgument("batch_size must be > 0");
  std::error_code ec;
  if (std::filesystem::exists(db_path, ec)) return AlreadyExists("raw bulk load needs a fresh file").With("path", db_path);
  ASSIGN_OR_RETURN(DbHandle db, sqlite_internal::OpenAndMigrate(db_path, sqlite_internal::kTenantTuning, kSteps));
  ASSIGN_OR_RETURN(StmtHandle insert,
                   sqlite_internal::Prepare(db.get(), "INSERT INTO journal(tick,kind,key,payload) VALUES(?1,?2,?3,?4)",
                                            "journal", true));
  sqlite3_stmt* s = insert.get();
  std::string key, payload;
  int64_t tick = 0;
  for (size_t begin = 0; begin < rows.size(); begin += batch_size) {
    sqlite_internal::Transaction txn(db.get());
    RETURN_IF_ERROR(txn.Begin("BEGIN IMMEDIATE"));
    for (size_t i = begin; i < std::min(rows.size(), begin + batch_size); ++i) {
      journal::Encode(rows[i], key, payload);
      sqlite3_bind_int64(s, 1, ++tick);
      sqlite3_bind_int(s, 2, static_cast<int>(journal::Kind::kOrder));
      sqlite3_bind_blob64(s, 3, key.data(), key.size(), SQLITE_STATIC);
      sqlite3_bind_blob64(s, 4, payload.data(), payload.size(), SQLITE_STATIC);
      const int rc = sqlite3_step(s);
      sqlite3_reset(s);
      if (rc != SQLITE_DONE) return sqlite_internal::SqliteStatus(db.get(), rc, "insert into", "journal");
    }
    RETURN_IF_ERROR(txn.Commit());
  }
  return Status::Ok();
}

}  // namespace pond::bench
