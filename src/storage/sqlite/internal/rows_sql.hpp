// The tenant database's journal and state tables as statements: shared by
// Commit and Load (tenant_store.cpp) and by the migration step that turns
// the tables of older schema versions into rows of them (legacy_tables.cpp).
// Includes sqlite3.h: for this module's .cpp files only.
#pragma once

#include <sqlite3.h>

#include <string_view>

#include "core/status.hpp"
#include "engine/store.hpp"
#include "storage/sqlite/internal/sqlite_db.hpp"

namespace pond::sqlite_internal {

// Steps `sql` to the end, handing each row to `on_row`, which may stop the
// scan with an error.
template <typename OnRow>
Status ForEachRow(sqlite3* db, std::string_view sql, std::string_view table, OnRow&& on_row) {
  ASSIGN_OR_RETURN(StmtHandle stmt, Prepare(db, sql, table, false));
  for (;;) {
    const int rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_DONE) return Status::Ok();
    if (rc != SQLITE_ROW) return SqliteStatus(db, rc, "read", table);
    RETURN_IF_ERROR(on_row(stmt.get()));
  }
}

inline std::string_view ColumnBlob(sqlite3_stmt* s, int i) {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(s, i));
  return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(s, i))) : std::string_view();
}

// Writes journal and state rows with statements prepared once. Used inside
// a transaction its caller holds.
class RowWriter {
 public:
  static Result<RowWriter> Prepare(sqlite3* db);

  Status Journal(const JournalRow& row);
  // An upsert, or a delete when row.erase.
  Status State(const StateRow& row);

 private:
  RowWriter(sqlite3* db, StmtHandle journal, StmtHandle put, StmtHandle erase)
      : db_(db), journal_(std::move(journal)), put_(std::move(put)), erase_(std::move(erase)) {}

  sqlite3* db_;
  StmtHandle journal_, put_, erase_;
};

// Converts the tables schema steps 1-6 made into journal and state rows and
// drops them: the step that brought the journal (tenant_store.cpp).
Status ConvertLegacyTables(sqlite3* db);

// Schema steps 1-6, frozen: a file at an older version goes through them
// before the conversion.
extern const Migration kLegacyTenantMigrations[6];

}  // namespace pond::sqlite_internal
