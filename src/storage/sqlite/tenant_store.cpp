// One tenant's database: its schema, its cached write statements, Commit and
// Load.
#include <sqlite3.h>

#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "storage/sqlite/internal/rows_sql.hpp"
#include "storage/sqlite/internal/sqlite_db.hpp"
#include "storage/sqlite/internal/tenant_db.hpp"

namespace pond {
namespace sqlite_internal {
namespace {

// ---------------------------------------------------------------------------
// Schema of a tenant database (tenants/<id>.db), from step 7 on: the
// tenant's journal and its state (engine/store.hpp), each row a kind
// number, a key and payload bytes that only the engine's codecs read
// (journal/codec.hpp). Keys are BLOBs, so they compare as bytes.
//
// Steps 1-6 made a table per kind of row (legacy_tables.cpp); step 7
// converts their rows and drops them. Migration steps are frozen once
// released: a schema change is a new step appended to the list, never an
// edit of an old one.
// ---------------------------------------------------------------------------
constexpr const char* kJournalTables = R"sql(
CREATE TABLE journal(
  tick    INTEGER PRIMARY KEY,   -- the change's place in the tenant's order
  kind    INTEGER NOT NULL,      -- journal/rows.hpp Kind
  key     BLOB NOT NULL,
  payload BLOB NOT NULL
);
-- The latest row of each key: small rows read in key order, so the key is
-- the table's own b-tree.
CREATE TABLE state(
  kind    INTEGER NOT NULL,
  key     BLOB NOT NULL,
  payload BLOB NOT NULL,
  PRIMARY KEY(kind, key)
) WITHOUT ROWID;
)sql";
constexpr const char* kTenantV7[] = {kJournalTables};

const std::vector<Migration>& Steps() {
  static const std::vector<Migration> steps = [] {
    std::vector<Migration> all(std::begin(kLegacyTenantMigrations), std::end(kLegacyTenantMigrations));
    all.push_back({kTenantV7, ConvertLegacyTables});
    return all;
  }();
  return steps;
}

// Load reads each table in primary-key order, which SQLite serves by walking
// the table's own b-tree: no sort, no temporary table, constant memory.
constexpr std::string_view kSelectState = "SELECT kind,key,payload FROM state ORDER BY kind,key";
constexpr std::string_view kSelectJournal = "SELECT tick,kind,key,payload FROM journal ORDER BY tick";

class SqliteTenantStore final : public TenantStore {
 public:
  SqliteTenantStore(DbHandle db, RowWriter writer, std::unique_ptr<Checkpointer> checkpointer, CommitFault fault)
      : db_(std::move(db)),
        writer_(std::move(writer)),
        checkpointer_(std::move(checkpointer)),
        fault_(std::move(fault)) {}

  Status Commit(const WriteBatch& batch) override;
  Status Load(LoadSink& sink) override;

 private:
  Status Fault(std::string_view stage) const { return fault_ ? fault_(stage) : Status::Ok(); }

  DbHandle db_;
  RowWriter writer_;  // declared after db_ so its statements are finalized before it closes
  std::unique_ptr<Checkpointer> checkpointer_;  // and stopped before it closes
  CommitFault fault_;
};

Status SqliteTenantStore::Commit(const WriteBatch& batch) {
  if (batch.empty()) return Status::Ok();
  Transaction txn(db_.get());
  RETURN_IF_ERROR(txn.Begin("BEGIN IMMEDIATE"));
  for (const JournalRow& row : batch.journal) RETURN_IF_ERROR(writer_.Journal(row));
  RETURN_IF_ERROR(Fault("journal"));
  for (const StateRow& row : batch.state) RETURN_IF_ERROR(writer_.State(row));
  RETURN_IF_ERROR(Fault("state"));
  RETURN_IF_ERROR(Fault("commit"));
  return txn.Commit();
}

Status SqliteTenantStore::Load(LoadSink& sink) {
  // One read transaction: both tables are read from the same snapshot.
  sqlite3* db = db_.get();
  Transaction txn(db);
  RETURN_IF_ERROR(txn.Begin("BEGIN"));
  RETURN_IF_ERROR(ForEachRow(db, kSelectState, "state", [&](sqlite3_stmt* s) {
    return sink.OnState({static_cast<RowKind>(sqlite3_column_int(s, 0)), std::string(ColumnBlob(s, 1)),
                         std::string(ColumnBlob(s, 2))});
  }));
  RETURN_IF_ERROR(ForEachRow(db, kSelectJournal, "journal", [&](sqlite3_stmt* s) {
    return sink.OnJournal({sqlite3_column_int64(s, 0), static_cast<RowKind>(sqlite3_column_int(s, 1)),
                           std::string(ColumnBlob(s, 2)), std::string(ColumnBlob(s, 3))});
  }));
  return txn.Commit();
}

// Steps a statement whose parameters are bound (`bound` holds the first
// binding failure) and resets it, so none is left active, which ROLLBACK
// and the next Commit rely on.
Status Step(sqlite3* db, sqlite3_stmt* stmt, int bound, std::string_view table, RowKind kind) {
  const int rc = bound == SQLITE_OK ? sqlite3_step(stmt) : bound;
  sqlite3_reset(stmt);
  if (rc == SQLITE_DONE) return Status::Ok();
  return SqliteStatus(db, rc, "write", table).With("kind", std::to_string(kind));
}

// Blobs are bound SQLITE_STATIC: the row outlives the step that reads them.
int BindBlob(sqlite3_stmt* stmt, int i, const std::string& v) {
  return sqlite3_bind_blob64(stmt, i, v.data(), v.size(), SQLITE_STATIC);
}

}  // namespace

Result<RowWriter> RowWriter::Prepare(sqlite3* db) {
  ASSIGN_OR_RETURN(StmtHandle journal,
                   sqlite_internal::Prepare(db, "INSERT INTO journal(tick,kind,key,payload) VALUES(?1,?2,?3,?4)",
                                            "journal", true));
  ASSIGN_OR_RETURN(StmtHandle put, sqlite_internal::Prepare(
                                       db, "INSERT OR REPLACE INTO state(kind,key,payload) VALUES(?1,?2,?3)", "state",
                                       true));
  ASSIGN_OR_RETURN(StmtHandle erase,
                   sqlite_internal::Prepare(db, "DELETE FROM state WHERE kind=?1 AND key=?2", "state", true));
  return RowWriter(db, std::move(journal), std::move(put), std::move(erase));
}

Status RowWriter::Journal(const JournalRow& row) {
  sqlite3_stmt* s = journal_.get();
  int rc = sqlite3_bind_int64(s, 1, row.tick);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int(s, 2, row.kind);
  if (rc == SQLITE_OK) rc = BindBlob(s, 3, row.key);
  if (rc == SQLITE_OK) rc = BindBlob(s, 4, row.payload);
  Status st = Step(db_, s, rc, "journal", row.kind);
  if (!st.ok()) st.With("tick", std::to_string(row.tick));
  return st;
}

Status RowWriter::State(const StateRow& row) {
  sqlite3_stmt* s = row.erase ? erase_.get() : put_.get();
  int rc = sqlite3_bind_int(s, 1, row.kind);
  if (rc == SQLITE_OK) rc = BindBlob(s, 2, row.key);
  if (rc == SQLITE_OK && !row.erase) rc = BindBlob(s, 3, row.payload);
  return Step(db_, s, rc, "state", row.kind);
}

Result<std::unique_ptr<TenantStore>> OpenTenantDb(const std::string& path, CommitFault fault,
                                                  Checkpointer::Limits checkpoints) {
  ASSIGN_OR_RETURN(DbHandle db, OpenAndMigrate(path, kTenantTuning, Steps()));
  ASSIGN_OR_RETURN(RowWriter writer, RowWriter::Prepare(db.get()));
  ASSIGN_OR_RETURN(auto checkpointer, Checkpointer::Start(db.get(), path, checkpoints));
  return std::unique_ptr<TenantStore>(std::make_unique<SqliteTenantStore>(std::move(db), std::move(writer),
                                                                          std::move(checkpointer), std::move(fault)));
}

std::span<const Migration> TenantMigrations() { return Steps(); }

}  // namespace sqlite_internal
}  // namespace pond
