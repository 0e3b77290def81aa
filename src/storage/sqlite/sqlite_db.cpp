#include "storage/sqlite/internal/sqlite_db.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace pond::sqlite_internal {
namespace {

// Long enough to ride out a checkpoint or a second connection's commit,
// short enough that a stuck lock surfaces as Unavailable instead of a hang.
constexpr int kBusyTimeoutMs = 5000;

// Checkpoint about every 64 MiB of WAL (at the default 4 KiB page): big enough
// that index pages rewritten by consecutive batches are copied once, small
// enough that one checkpoint stalls the catalog's writer only briefly. After
// a checkpoint the WAL file is truncated back to at most twice that. Tenant
// databases replace the automatic checkpoint with a Checkpointer.
constexpr const char* kPragmas =
    "PRAGMA synchronous=FULL;"
    "PRAGMA temp_store=MEMORY;"
    "PRAGMA wal_autocheckpoint=16384;"
    "PRAGMA journal_size_limit=134217728;";

Status FromCode(int rc, std::string message) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
      return Unavailable(std::move(message));
    default:
      return Internal(std::move(message));
  }
}

// SQLite's text for `rc`: the connection's message when it describes this
// error (it names the constraint, the table...), the generic one otherwise.
std::string ErrorText(sqlite3* db, int rc) {
  if (db != nullptr && sqlite3_extended_errcode(db) == rc) return sqlite3_errmsg(db);
  return sqlite3_errstr(rc);
}

Result<int64_t> UserVersion(sqlite3* db) {
  ASSIGN_OR_RETURN(StmtHandle stmt, Prepare(db, "PRAGMA user_version", "schema", false));
  int rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) return SqliteStatus(db, rc, "read user_version of", "schema");
  return sqlite3_column_int64(stmt.get(), 0);
}

Status RefuseNewer(const std::string& path, int64_t version, size_t known) {
  return FailedPrecondition("database has schema version " + std::to_string(version) + " but this build knows only " +
                            std::to_string(known) + "; it was written by a newer Pond")
      .With("path", path);
}

Status Migrate(sqlite3* db, const std::string& path, std::span<const Migration> migrations) {
  ASSIGN_OR_RETURN(int64_t version, UserVersion(db));
  while (version < static_cast<int64_t>(migrations.size())) {
    Transaction txn(db);
    RETURN_IF_ERROR(txn.Begin("BEGIN IMMEDIATE"));
    // Another process may have migrated between our read and the write lock.
    ASSIGN_OR_RETURN(version, UserVersion(db));
    if (version >= static_cast<int64_t>(migrations.size())) break;
    const Migration& step = migrations[static_cast<size_t>(version)];
    for (const char* script : step.scripts) RETURN_IF_ERROR(Exec(db, script, "schema"));
    if (step.convert) RETURN_IF_ERROR(step.convert(db));
    const std::string bump = "PRAGMA user_version=" + std::to_string(version + 1);
    RETURN_IF_ERROR(Exec(db, bump.c_str(), "schema"));
    RETURN_IF_ERROR(txn.Commit());
    ++version;
  }
  if (version > static_cast<int64_t>(migrations.size())) return RefuseNewer(path, version, migrations.size());
  return Status::Ok();
}

Status Configure(sqlite3* db, const DbTuning& tuning) {
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  // journal_mode answers with the mode in effect; a file system without
  // shared memory support would silently stay in rollback mode.
  ASSIGN_OR_RETURN(StmtHandle wal, Prepare(db, "PRAGMA journal_mode=WAL", "pragma", false));
  int rc = sqlite3_step(wal.get());
  if (rc != SQLITE_ROW) return SqliteStatus(db, rc, "set journal_mode of", "pragma");
  const auto* mode = reinterpret_cast<const char*>(sqlite3_column_text(wal.get(), 0));
  if (mode == nullptr || std::strcmp(mode, "wal") != 0) {
    return Internal(std::string("could not enable WAL; journal_mode is ") + (mode ? mode : "unknown"));
  }
  RETURN_IF_ERROR(Exec(db, kPragmas, "pragma"));
  const std::string memory = "PRAGMA cache_size=-" + std::to_string(tuning.cache_kib) +
                             ";PRAGMA mmap_size=" + std::to_string(tuning.mmap_bytes);
  return Exec(db, memory.c_str(), "pragma");
}

// fsync of the directory makes a newly created file's name durable; SQLite
// does this for its WAL but not for the main database file.
Status SyncDirectory(const std::filesystem::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Unavailable("open directory " + dir.string() + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Unavailable("fsync directory " + dir.string() + ": " + std::strerror(err));
  return Status::Ok();
}

}  // namespace

void DbCloser::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

void StmtFinalizer::operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }

Status SqliteStatus(sqlite3* db, int rc, std::string_view action, std::string_view table) {
  std::string message(action);
  message += ' ';
  message += table;
  message += ": ";
  message += ErrorText(db, rc);
  return FromCode(rc, std::move(message)).With("table", std::string(table));
}

Status Exec(sqlite3* db, const char* sql, std::string_view table) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(db, rc, "execute on", table);
  return Status::Ok();
}

Result<StmtHandle> Prepare(sqlite3* db, std::string_view sql, std::string_view table, bool persistent) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), persistent ? SQLITE_PREPARE_PERSISTENT : 0,
                              &raw, nullptr);
  StmtHandle stmt(raw);
  if (rc != SQLITE_OK) return SqliteStatus(db, rc, "prepare statement on", table);
  return stmt;
}

Result<DbHandle> OpenAndMigrate(const std::string& path, const DbTuning& tuning,
                                std::span<const Migration> migrations) {
  // Pond reads no SQLite memory statistics; keeping them takes a global lock
  // on every allocation, which the committer pays per row. Set once, before
  // the library initializes (the first open).
  static const int memstatus_off = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)memstatus_off;
  std::error_code ec;
  const bool existed = std::filesystem::exists(path, ec);
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  DbHandle db(raw);  // SQLite hands out a handle even when opening fails; it must be closed
  if (rc != SQLITE_OK) return FromCode(rc, "open " + path + ": " + ErrorText(raw, rc)).With("path", path);
  RETURN_IF_ERROR(Configure(db.get(), tuning));
  RETURN_IF_ERROR(Migrate(db.get(), path, migrations));
  if (!existed) RETURN_IF_ERROR(SyncDirectory(std::filesystem::path(path).parent_path()));
  return db;
}

Result<std::unique_ptr<Checkpointer>> Checkpointer::Start(sqlite3* writer, const std::string& path, Limits limits) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  DbHandle own(raw);
  if (rc != SQLITE_OK) return FromCode(rc, "open " + path + " to checkpoint: " + ErrorText(raw, rc)).With("path", path);
  sqlite3_extended_result_codes(raw, 1);
  // A connection finds the WAL when it first reads; until then a checkpoint
  // through it does nothing.
  RETURN_IF_ERROR(Exec(raw, "SELECT count(*) FROM sqlite_schema", "sqlite_schema"));
  return std::unique_ptr<Checkpointer>(new Checkpointer(writer, std::move(own), limits));
}

Checkpointer::Checkpointer(sqlite3* writer, DbHandle own, Limits limits)
    : writer_(writer), own_(std::move(own)), limits_(limits) {
  sqlite3_wal_hook(writer_, &Checkpointer::OnCommit, this);
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "pond-checkpoint");  // for top -H and profilers
    Loop();
  });
}

Checkpointer::~Checkpointer() {
  sqlite3_wal_hook(writer_, nullptr, nullptr);
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

int Checkpointer::OnCommit(void* self, sqlite3* db, const char* schema, int wal_pages) {
  auto* c = static_cast<Checkpointer*>(self);
  if (wal_pages >= c->limits_.inline_pages) {
    // SQLite refuses a second checkpoint while one runs, so wait for the
    // thread's to end; with the writer here, this one then always finishes.
    std::lock_guard running(c->checkpointing_);
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  } else if (wal_pages >= c->limits_.background_pages) {
    {
      std::lock_guard lock(c->mu_);
      c->wanted_ = true;
    }
    c->wake_.notify_one();
  }
  return SQLITE_OK;  // the commit itself has succeeded either way
}

void Checkpointer::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return wanted_ || stop_; });
    if (stop_) return;
    wanted_ = false;
    lock.unlock();
    {
      // A failure (an I/O error, a lock held elsewhere) leaves the pages in
      // the WAL, where they are as durable; the next wake or the inline bound retries.
      std::lock_guard running(checkpointing_);
      sqlite3_wal_checkpoint_v2(own_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    }
    lock.lock();
  }
}

Transaction::~Transaction() {
  // SQLite rolls back by itself after some errors (IOERR, FULL); a second
  // ROLLBACK would only fail.
  if (open_ && sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

Status Transaction::Begin(const char* begin_sql) {
  RETURN_IF_ERROR(Exec(db_, begin_sql, "transaction"));
  open_ = true;
  return Status::Ok();
}

Status Transaction::Commit() {
  RETURN_IF_ERROR(Exec(db_, "COMMIT", "transaction"));
  open_ = false;
  return Status::Ok();
}

}  // namespace pond::sqlite_internal
