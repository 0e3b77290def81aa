// One tenant's schema in PostgreSQL: its tables, Commit (COPY in one
// transaction, fenced by the tenant's lease) and Load (cursors in one
// snapshot).
#include <libpq-fe.h>

#include <map>
#include <thread>
#include <unordered_map>
#include <utility>

#include "storage/postgres/internal/pg_conn.hpp"
#include "storage/postgres/internal/pg_rows.hpp"
#include "storage/postgres/internal/pg_tenant.hpp"
#include "storage/postgres/postgres_store.hpp"

namespace pond {
namespace pg_internal {
namespace {

// ---------------------------------------------------------------------------
// Schema of a tenant (schema tenant_<id>), from step 2 on: the tenant's
// journal and its state (engine/store.hpp), as the embedded store keeps
// them (storage/sqlite/tenant_store.cpp): a kind number, a bytea key (bytea
// compares as bytes, whatever the database's collation) and bytea payload
// that only the engine's codecs read. Step 1 made a table per kind of row
// (legacy_tables.cpp); step 2 converts their rows and drops them.
//
// Migration steps are frozen once released: a change is a new step.
// ---------------------------------------------------------------------------
constexpr const char* kJournalTables = R"sql(
CREATE TABLE journal(
  tick    bigint PRIMARY KEY,   -- the change's place in the tenant's order
  kind    integer NOT NULL,     -- journal/rows.hpp Kind (0-65535)
  key     bytea NOT NULL,
  payload bytea NOT NULL
);
CREATE TABLE state(
  kind    integer NOT NULL,
  key     bytea NOT NULL,
  payload bytea NOT NULL,
  PRIMARY KEY(kind, key)
);
)sql";

const std::vector<Migration>& Steps() {
  static const std::vector<Migration> steps = {{LegacyTenantStep1()}, {kJournalTables, ConvertLegacyTables}};
  return steps;
}

// A commit's state rows go through a staging table of the session, emptied
// by every commit: deletes and upserts from there, in two statements
// whatever the number of rows.
constexpr std::string_view kStagingSql =
    "CREATE TEMP TABLE stage_state(kind integer, key bytea, payload bytea, erase boolean) ON COMMIT DELETE ROWS";
constexpr std::string_view kCopyStage = "COPY stage_state(kind,key,payload,erase) FROM STDIN";
constexpr std::string_view kApplyStage =
    "DELETE FROM state s USING stage_state x WHERE x.erase AND s.kind = x.kind AND s.key = x.key;"
    "INSERT INTO state(kind,key,payload) SELECT kind,key,payload FROM stage_state WHERE NOT erase "
    "ON CONFLICT (kind,key) DO UPDATE SET payload = EXCLUDED.payload";

// One transaction on a connection; destroying it before Commit rolls back
// (when the connection still stands), so an early return leaves nothing.
class Txn {
 public:
  explicit Txn(pg_conn* conn) : conn_(conn) {}
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  ~Txn() {
    if (open_ && !Broken(conn_)) (void)Run(conn_, "ROLLBACK", "transaction");
  }
  Status Begin(std::string_view sql = "BEGIN") { return BeginWith(sql).status(); }
  // Sends `sql`, which opens the transaction and may go on with more
  // statements, in one round trip; returns the last one's rows.
  Result<Rows> BeginWith(std::string_view sql) {
    open_ = true;  // whatever failed, ROLLBACK leaves the session clean
    return Query(conn_, sql, "transaction");
  }
  Status Commit() {
    open_ = false;
    return Run(conn_, "COMMIT", "transaction");
  }

 private:
  pg_conn* conn_;
  bool open_ = false;
};

// The lease statements. A commit renews the lease and counts itself in the
// same transaction; if the row no longer names this node and epoch, another
// node has taken the tenant over and the commit must not happen. The
// UPDATE's row lock also makes a concurrent takeover wait for this commit,
// and then see the renewed expiry and give up.
// Sent with BEGIN in one round trip, so its values are literals, fixed for
// the life of the store (FenceSql).
std::string FenceSql(pg_conn* conn, const Lease& lease) {
  return "BEGIN; UPDATE pond.leases SET commits = commits + 1, expires_at = now() + interval '" +
         std::to_string(lease.ttl.count()) + " milliseconds' WHERE tenant = " + Literal(conn, lease.tenant) +
         " AND node = " + Literal(conn, lease.node) + " AND epoch = " + std::to_string(lease.epoch) +
         " RETURNING commits";
}
// After a COMMIT whose answer was lost: FOR UPDATE waits until that
// transaction has ended either way, then the counter tells which.
constexpr std::string_view kCommitsSince =
    "SELECT commits FROM pond.leases WHERE tenant = $1 AND node = $2 AND epoch = $3 FOR UPDATE";
// A clean stop hands the tenant on at once instead of after the TTL.
constexpr std::string_view kRelease =
    "UPDATE pond.leases SET expires_at = '-infinity' WHERE tenant = $1 AND node = $2 AND epoch = $3";

// Attempts of one commit when the connection breaks, and the pause before
// each retry: long enough to ride out a server restart's first seconds.
constexpr std::chrono::milliseconds kRetryPauses[] = {std::chrono::milliseconds(50), std::chrono::milliseconds(250),
                                                      std::chrono::milliseconds(1000)};

class PgTenantStore final : public TenantStore {
 public:
  PgTenantStore(std::string url, Lease lease, CommitFault fault)
      : url_(std::move(url)),
        schema_(QuoteIdent(TenantSchema(lease.tenant))),
        lease_(std::move(lease)),
        fault_(std::move(fault)),
        commits_(lease_.commits) {}
  ~PgTenantStore() override;

  Status Connect();
  Status Commit(const WriteBatch& batch) override;
  Status Load(LoadSink& sink) override;

 private:
  std::vector<std::string> LeaseParams() const { return {lease_.tenant, lease_.node, std::to_string(lease_.epoch)}; }
  Status Fault(std::string_view stage) const { return fault_ ? fault_(stage) : Status::Ok(); }
  // One try of Commit. `sent` tells whether COMMIT went out, `count` is the
  // lease's commit counter this transaction set.
  Status TryCommit(const WriteBatch& batch, bool& sent, int64_t& count);
  // After COMMIT went out and no answer came: true when it committed.
  Result<bool> Committed(int64_t count);
  Status WriteJournal(const std::vector<JournalRow>& rows);
  Status WriteState(const std::vector<StateRow>& rows);

  const std::string url_;
  const std::string schema_;  // quoted
  const Lease lease_;
  const CommitFault fault_;
  ConnHandle conn_;
  std::string fence_;    // BEGIN and the lease's fence (FenceSql)
  int64_t commits_;      // the lease's commit counter as of this store's last commit or load
  CopyRows copy_;        // reused by every commit
};

PgTenantStore::~PgTenantStore() {
  if (!Broken(conn_.get())) (void)Exec(conn_.get(), kRelease, "leases", LeaseParams());
}

Status PgTenantStore::Connect() {
  ASSIGN_OR_RETURN(conn_, pg_internal::Connect(url_, schema_));
  fence_ = FenceSql(conn_.get(), lease_);
  return Run(conn_.get(), kStagingSql, "staging");
}

Status PgTenantStore::WriteJournal(const std::vector<JournalRow>& rows) {
  if (rows.empty()) return Status::Ok();
  copy_.clear();
  for (const JournalRow& row : rows) AddRow(copy_, row);
  RETURN_IF_ERROR(CopyIn(conn_.get(), kCopyJournal, copy_, "journal"));
  return Fault("journal");
}

Status PgTenantStore::WriteState(const std::vector<StateRow>& rows) {
  if (rows.empty()) return Status::Ok();
  // The last row of a key wins: ON CONFLICT may not touch a row twice.
  std::map<std::pair<RowKind, std::string_view>, size_t> latest;
  for (size_t i = 0; i < rows.size(); ++i) latest[{rows[i].kind, rows[i].key}] = i;
  copy_.clear();
  for (size_t i = 0; i < rows.size(); ++i) {
    const StateRow& row = rows[i];
    if (latest[{row.kind, row.key}] != i) continue;
    copy_.Int(row.kind);
    copy_.Bytes(row.key);
    copy_.Bytes(row.erase ? std::string_view() : std::string_view(row.payload));
    copy_.Bool(row.erase);
    copy_.EndRow();
  }
  RETURN_IF_ERROR(CopyIn(conn_.get(), kCopyStage, copy_, "state"));
  RETURN_IF_ERROR(Run(conn_.get(), kApplyStage, "state"));
  return Fault("state");
}

Status PgTenantStore::TryCommit(const WriteBatch& batch, bool& sent, int64_t& count) {
  sent = false;
  if (Broken(conn_.get())) RETURN_IF_ERROR(Connect());
  pg_conn* conn = conn_.get();
  Txn txn(conn);
  ASSIGN_OR_RETURN(Rows fenced, txn.BeginWith(fence_));
  if (fenced.size() != 1) {
    return Refusal("not_owner", "another node has taken this tenant over").With("tenant", lease_.tenant);
  }
  count = fenced.Int(0, 0);
  // Every commit of this tenant since the lease was taken went through this
  // store, so the counter must follow on from the last one. When it does
  // not, the database lost commits this node holds in memory (an
  // asynchronous standby promoted without them): refuse, so the engine
  // rebuilds its state from what the database has.
  if (count != commits_ + 1) {
    return FailedPrecondition("the database has " + std::to_string(count - 1) + " commits of this tenant where " +
                              std::to_string(commits_) + " were acknowledged; it lost some (failover?)")
        .With("tenant", lease_.tenant);
  }
  RETURN_IF_ERROR(Fault("begin"));
  RETURN_IF_ERROR(WriteJournal(batch.journal));
  RETURN_IF_ERROR(WriteState(batch.state));
  RETURN_IF_ERROR(Fault("commit"));
  sent = true;
  RETURN_IF_ERROR(txn.Commit());
  return Fault("committed");
}

Result<bool> PgTenantStore::Committed(int64_t count) {
  if (Broken(conn_.get())) RETURN_IF_ERROR(Connect());
  Txn txn(conn_.get());
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(Rows rows, Exec(conn_.get(), kCommitsSince, "leases", LeaseParams()));
  if (rows.size() != 1) {
    return Refusal("not_owner", "another node has taken this tenant over").With("tenant", lease_.tenant);
  }
  const bool committed = rows.Int(0, 0) >= count;
  RETURN_IF_ERROR(txn.Commit());
  return committed;
}

// Retries only what is safe: an attempt that broke before COMMIT went out
// was rolled back by the server; one whose COMMIT got no answer is retried
// only once the counter shows it did not commit.
Status PgTenantStore::Commit(const WriteBatch& batch) {
  if (batch.empty()) return Status::Ok();
  Status status;
  for (size_t attempt = 0;; ++attempt) {
    bool sent = false;
    int64_t count = 0;
    status = TryCommit(batch, sent, count);
    if (status.ok()) {
      commits_ = count;
      return status;
    }
    if (status.code() != StatusCode::kUnavailable) return status;
    if (sent) {
      Result<bool> committed = Committed(count);
      if (!committed.ok()) return committed.status();  // not known: the caller must not count on it either way
      if (*committed) {
        commits_ = count;
        return Status::Ok();
      }
    }
    if (attempt == std::size(kRetryPauses)) return status;
    std::this_thread::sleep_for(kRetryPauses[attempt]);
  }
}

Status PgTenantStore::Load(LoadSink& sink) {
  if (Broken(conn_.get())) RETURN_IF_ERROR(Connect());
  // One snapshot for every table, as the embedded store reads them.
  Txn txn(conn_.get());
  RETURN_IF_ERROR(txn.Begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  // The counter as of the rows loaded: the next commit follows on from it.
  ASSIGN_OR_RETURN(Rows counter,
                   Exec(conn_.get(), "SELECT commits FROM pond.leases WHERE tenant = $1", "leases", {lease_.tenant}));
  if (counter.size() == 1) commits_ = counter.Int(0, 0);
  pg_conn* conn = conn_.get();
  RETURN_IF_ERROR(ForEachRow(conn, "SELECT kind,key,payload FROM state ORDER BY kind,key", "state",
                             [&](const Rows& r, int i) {
                               return sink.OnState({static_cast<RowKind>(r.Int(i, 0)), r.Bytes(i, 1), r.Bytes(i, 2)});
                             }));
  RETURN_IF_ERROR(ForEachRow(conn, "SELECT tick,kind,key,payload FROM journal ORDER BY tick", "journal",
                             [&](const Rows& r, int i) {
                               return sink.OnJournal(
                                   {r.Int(i, 0), static_cast<RowKind>(r.Int(i, 1)), r.Bytes(i, 2), r.Bytes(i, 3)});
                             }));
  return txn.Commit();
}

}  // namespace

void AddRow(CopyRows& copy, const JournalRow& row) {
  copy.Int(row.tick);
  copy.Int(row.kind);
  copy.Bytes(row.key);
  copy.Bytes(row.payload);
  copy.EndRow();
}

void AddRow(CopyRows& copy, const StateRow& row) {
  copy.Int(row.kind);
  copy.Bytes(row.key);
  copy.Bytes(row.payload);
  copy.EndRow();
}

std::string TenantSchema(std::string_view tenant_id) {
  constexpr size_t kMaxIdentifier = 63;
  std::string schema = "tenant_" + std::string(tenant_id);
  if (schema.size() <= kMaxIdentifier) return schema;
  uint64_t h = 14695981039346656037ULL;  // FNV-1a: stable across builds and machines
  for (char c : tenant_id) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  schema.resize(kMaxIdentifier - 17);
  return schema + "_" + hex;
}

std::span<const Migration> TenantMigrations() { return Steps(); }

Status MigrateSchema(pg_conn* conn, std::string_view schema, std::span<const Migration> migrations) {
  Txn txn(conn);
  RETURN_IF_ERROR(txn.Begin());
  // One lock for every migration of the database: nodes starting together
  // wait for each other here instead of creating the same tables twice.
  RETURN_IF_ERROR(Run(conn,
                      "SELECT pg_advisory_xact_lock(7504262617390);"
                      "CREATE SCHEMA IF NOT EXISTS pond;"
                      "CREATE TABLE IF NOT EXISTS pond.schema_versions("
                      "schema_name text PRIMARY KEY, version integer NOT NULL);"
                      "CREATE SCHEMA IF NOT EXISTS " +
                          QuoteIdent(schema) + ";SET LOCAL search_path = " + QuoteIdent(schema),
                      "schema"));
  ASSIGN_OR_RETURN(Rows have, Exec(conn, "SELECT version FROM pond.schema_versions WHERE schema_name = $1",
                                   "schema_versions", {std::string(schema)}));
  const int64_t version = have.size() == 1 ? have.Int(0, 0) : 0;
  if (version > static_cast<int64_t>(migrations.size())) {
    return FailedPrecondition("schema " + std::string(schema) + " has version " + std::to_string(version) +
                              " but this build knows only " + std::to_string(migrations.size()) +
                              "; it was written by a newer Pond")
        .With("schema", std::string(schema));
  }
  for (size_t step = static_cast<size_t>(version); step < migrations.size(); ++step) {
    RETURN_IF_ERROR(Run(conn, migrations[step].sql, "schema").With("schema", std::string(schema)));
    if (migrations[step].convert) RETURN_IF_ERROR(migrations[step].convert(conn).With("schema", std::string(schema)));
  }
  if (version < static_cast<int64_t>(migrations.size())) {
    RETURN_IF_ERROR(Exec(conn,
                         "INSERT INTO pond.schema_versions(schema_name, version) VALUES($1, $2) "
                         "ON CONFLICT (schema_name) DO UPDATE SET version = EXCLUDED.version",
                         "schema_versions", {std::string(schema), std::to_string(migrations.size())})
                        .status());
  }
  return txn.Commit();
}

Result<std::unique_ptr<TenantStore>> OpenTenantStore(const std::string& url, Lease lease, CommitFault fault) {
  auto store = std::make_unique<PgTenantStore>(url, std::move(lease), std::move(fault));
  RETURN_IF_ERROR(store->Connect());
  return std::unique_ptr<TenantStore>(std::move(store));
}

}  // namespace pg_internal

}  // namespace pond
