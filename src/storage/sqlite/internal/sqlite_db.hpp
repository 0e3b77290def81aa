// Connection plumbing shared by the catalog and the tenant databases: opening
// a file with Pond's pragmas, statement handles, error mapping, transactions
// and versioned migrations.
//
// Only SQLite's opaque types are forward-declared here so that sqlite3.h stays
// inside this module's .cpp files. A connection is used by one thread at a
// time (connections are opened without SQLite's own mutex; callers serialize).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include "core/status.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace pond::sqlite_internal {

struct DbCloser {
  void operator()(sqlite3* db) const;
};
using DbHandle = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const;
};
using StmtHandle = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Memory a connection may use for pages.
struct DbTuning {
  int cache_kib = 0;       // PRAGMA cache_size = -cache_kib
  int64_t mmap_bytes = 0;  // PRAGMA mmap_size
};

// The catalog is small and read rarely: SQLite's default-sized cache, no mmap.
inline constexpr DbTuning kCatalogTuning{2048, 0};
// A tenant's writes touch the order_id and identity indexes at random, so a
// 64 MiB cache keeps their inner pages hot; mmap lets Load and index lookups
// read pages the OS already caches without a copy. 256 MiB of address space
// per tenant stays small even with thousands of tenants on 64-bit.
inline constexpr DbTuning kTenantTuning{65536, int64_t{256} << 20};

// Maps a SQLite result code to a Status. BUSY, LOCKED, IOERR, FULL and
// CANTOPEN become Unavailable (the disk or a lock is in the way; retrying is
// safe); everything else, constraint violations included, is Internal: the
// engine checks keys before it writes, so a violation is a bug. The message is
// "<action> <table>: <SQLite's error text>" and carries table=<table>.
Status SqliteStatus(sqlite3* db, int rc, std::string_view action, std::string_view table);

// Runs `sql` (one or more statements, no rows expected).
Status Exec(sqlite3* db, const char* sql, std::string_view table);

// Prepares one statement. `persistent` hints SQLite that it is cached for the
// life of the connection.
Result<StmtHandle> Prepare(sqlite3* db, std::string_view sql, std::string_view table, bool persistent);

// One schema step, inside one transaction: SQL scripts run in order, then
// `convert` when a step needs more than SQL (rows re-encoded by C++).
struct Migration {
  std::span<const char* const> scripts;
  Status (*convert)(sqlite3* db) = nullptr;
};

// Opens (creating if needed) the database at `path` with WAL, synchronous=FULL
// and `tuning`, then brings its schema up to `migrations.size()`: step i moves
// PRAGMA user_version from i to i+1 in its own transaction. A file at a higher
// version than the build knows is refused with FailedPrecondition. A newly
// created file's directory entry is fsynced so the file survives power loss.
Result<DbHandle> OpenAndMigrate(const std::string& path, const DbTuning& tuning, std::span<const Migration> migrations);

// One transaction on `db`. Destroying it before Commit rolls back, so every
// early return of an error leaves nothing of the transaction behind.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  // "BEGIN IMMEDIATE" for writers (takes the write lock up front, so COMMIT
  // cannot hit BUSY); "BEGIN" for a read snapshot.
  Status Begin(const char* begin_sql);
  Status Commit();

 private:
  sqlite3* db_;
  bool open_ = false;
};

// Copies a tenant database's WAL back into the database file on a thread and
// connection of its own, so the committer does not: with SQLite's automatic
// checkpoint, every 64 MiB of WAL the commit that crosses it also copies the
// pages and fsyncs the database file (a fifth of the committer's time under
// bulk ingest). Checkpoints here are PASSIVE: they never block a commit and
// a commit never waits for them.
//
// A passive checkpoint cannot finish while commits keep arriving, and until
// one finishes SQLite cannot start the WAL over; so when the WAL reaches
// `inline_pages` the committer checkpoints itself, which with the writer
// paused always finishes. That bounds the WAL (and the time to recover it
// after a crash) however long the load.
class Checkpointer {
 public:
  struct Limits {
    int background_pages = 16384;  // 64 MiB of 4 KiB pages: wake the thread
    int inline_pages = 65536;      // 256 MiB: the committer checkpoints itself
  };

  // Takes over `writer`'s WAL hook (and so its automatic checkpoint) and
  // opens a second connection to `path`. Destroy it before `writer` closes.
  static Result<std::unique_ptr<Checkpointer>> Start(sqlite3* writer, const std::string& path, Limits limits);
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;
  ~Checkpointer();

 private:
  Checkpointer(sqlite3* writer, DbHandle own, Limits limits);
  static int OnCommit(void* self, sqlite3* db, const char* schema, int wal_pages);
  void Loop();

  sqlite3* writer_;
  DbHandle own_;
  Limits limits_;
  std::mutex mu_;  // guards wanted_ and stop_
  std::condition_variable wake_;
  std::mutex checkpointing_;  // held while either side checkpoints
  bool wanted_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace pond::sqlite_internal
