// The catalog database (tenants and API keys) and OpenSqliteStore.
#include "storage/sqlite/sqlite_store.hpp"

#include <sqlite3.h>

#include <filesystem>
#include <mutex>
#include <utility>

#include "storage/sqlite/internal/fault_injection.hpp"
#include "storage/sqlite/internal/sqlite_db.hpp"
#include "storage/sqlite/internal/tenant_db.hpp"

namespace pond {
namespace sqlite_internal {
namespace {

// ---------------------------------------------------------------------------
// Schema of the catalog (pond.db). Instants are INTEGER microseconds since the
// Unix epoch. Steps are frozen once released; changes append a new step.
// ---------------------------------------------------------------------------
constexpr const char* kCatalogTablesV1 = R"sql(
CREATE TABLE tenants(
  id         TEXT PRIMARY KEY,     -- [a-z0-9_-]{1,64}; names tenants/<id>.db
  name       TEXT NOT NULL,
  timezone   TEXT NOT NULL,        -- IANA name
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE api_keys(
  id          TEXT PRIMARY KEY,    -- public prefix shown in listings
  secret_hash TEXT NOT NULL,       -- hex SHA-256 of the secret
  tenant      TEXT NOT NULL,       -- tenant id, or '*' for every tenant
  role        INTEGER NOT NULL,    -- Role
  created_at  INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

constexpr const char* kCatalogV1[] = {kCatalogTablesV1};
constexpr Migration kCatalogMigrations[] = {{kCatalogV1}};

constexpr std::string_view kSelectTenants = "SELECT id,name,timezone,created_at FROM tenants ORDER BY id";
constexpr std::string_view kInsertTenant = "INSERT INTO tenants(id,name,timezone,created_at) VALUES(?1,?2,?3,?4)";
constexpr std::string_view kFindTenant = "SELECT 1 FROM tenants WHERE id=?1";
// A key is put whole: re-putting an id replaces it (rotation keeps the id).
constexpr std::string_view kPutApiKey =
    "INSERT OR REPLACE INTO api_keys(id,secret_hash,tenant,role,created_at) VALUES(?1,?2,?3,?4,?5)";
constexpr std::string_view kSelectApiKeys = "SELECT id,secret_hash,tenant,role,created_at FROM api_keys ORDER BY id";
constexpr std::string_view kDeleteApiKey = "DELETE FROM api_keys WHERE id=?1";
constexpr std::string_view kPing = "SELECT 1";

std::string Text(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s, i))) : std::string();
}

// Binds text that outlives the statement's next step.
int BindText(sqlite3_stmt* s, int i, std::string_view v) {
  // A null data pointer would bind NULL instead of ''.
  return sqlite3_bind_text64(s, i, v.empty() ? "" : v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
}

// Resets a cached statement however the scope using it ends, so the next
// caller finds it idle.
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* s) : s_(s) {}
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;
  ~ResetOnExit() { sqlite3_reset(s_); }

 private:
  sqlite3_stmt* s_;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(std::string tenants_dir, CommitFault fault)
      : tenants_dir_(std::move(tenants_dir)), fault_(std::move(fault)) {}

  Status Open(const std::string& catalog_path);

  Result<std::vector<TenantRecord>> ListTenants() override;
  Status CreateTenant(const TenantRecord& tenant) override;
  Result<std::unique_ptr<TenantStore>> OpenTenant(std::string_view tenant_id) override;
  Status PutApiKey(const ApiKeyRecord& key) override;
  Result<std::vector<ApiKeyRecord>> ListApiKeys() override;
  Status DeleteApiKey(std::string_view id) override;
  Status DeleteTenant(std::string_view tenant_id) override;
  Status Ping() override;

 private:
  Result<bool> TenantExists(std::string_view tenant_id);

  const std::string tenants_dir_;
  const CommitFault fault_;
  std::mutex mu_;  // guards the catalog connection and its statements
  DbHandle db_;
  StmtHandle select_tenants_, insert_tenant_, find_tenant_, put_api_key_, select_api_keys_, delete_api_key_, ping_;
};

Status SqliteStore::Open(const std::string& catalog_path) {
  ASSIGN_OR_RETURN(db_, OpenAndMigrate(catalog_path, kCatalogTuning, kCatalogMigrations));
  sqlite3* db = db_.get();
  ASSIGN_OR_RETURN(select_tenants_, Prepare(db, kSelectTenants, "tenants", true));
  ASSIGN_OR_RETURN(insert_tenant_, Prepare(db, kInsertTenant, "tenants", true));
  ASSIGN_OR_RETURN(find_tenant_, Prepare(db, kFindTenant, "tenants", true));
  ASSIGN_OR_RETURN(put_api_key_, Prepare(db, kPutApiKey, "api_keys", true));
  ASSIGN_OR_RETURN(select_api_keys_, Prepare(db, kSelectApiKeys, "api_keys", true));
  ASSIGN_OR_RETURN(delete_api_key_, Prepare(db, kDeleteApiKey, "api_keys", true));
  ASSIGN_OR_RETURN(ping_, Prepare(db, kPing, "catalog", true));
  return Status::Ok();
}

Result<std::vector<TenantRecord>> SqliteStore::ListTenants() {
  std::lock_guard lock(mu_);
  sqlite3_stmt* s = select_tenants_.get();
  ResetOnExit reset(s);
  std::vector<TenantRecord> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    out.push_back({Text(s, 0), Text(s, 1), Text(s, 2), Timestamp::FromMicros(sqlite3_column_int64(s, 3))});
  }
  if (rc != SQLITE_DONE) return SqliteStatus(db_.get(), rc, "read", "tenants");
  return out;
}

Status SqliteStore::CreateTenant(const TenantRecord& tenant) {
  RETURN_IF_ERROR(CheckStorableTenantId(tenant.id));
  std::lock_guard lock(mu_);
  sqlite3_stmt* s = insert_tenant_.get();
  ResetOnExit reset(s);
  int rc = BindText(s, 1, tenant.id);
  if (rc == SQLITE_OK) rc = BindText(s, 2, tenant.name);
  if (rc == SQLITE_OK) rc = BindText(s, 3, tenant.timezone);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(s, 4, tenant.created_at.micros());
  if (rc == SQLITE_OK) rc = sqlite3_step(s);
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) return AlreadyExists("tenant exists").With("tenant", tenant.id);
  if (rc != SQLITE_DONE) return SqliteStatus(db_.get(), rc, "insert into", "tenants").With("tenant", tenant.id);
  return Status::Ok();
}

Result<bool> SqliteStore::TenantExists(std::string_view tenant_id) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* s = find_tenant_.get();
  ResetOnExit reset(s);
  int rc = BindText(s, 1, tenant_id);
  if (rc == SQLITE_OK) rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteStatus(db_.get(), rc, "read", "tenants");
}

Result<std::unique_ptr<TenantStore>> SqliteStore::OpenTenant(std::string_view tenant_id) {
  RETURN_IF_ERROR(CheckStorableTenantId(tenant_id));
  ASSIGN_OR_RETURN(bool exists, TenantExists(tenant_id));
  if (!exists) return NotFound("no such tenant").With("tenant", std::string(tenant_id));
  // Opened outside the catalog lock: creating and migrating a tenant file must
  // not hold up other tenants' catalog calls.
  return OpenTenantDb(tenants_dir_ + "/" + std::string(tenant_id) + ".db", fault_);
}

Status SqliteStore::PutApiKey(const ApiKeyRecord& key) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* s = put_api_key_.get();
  ResetOnExit reset(s);
  int rc = BindText(s, 1, key.id);
  if (rc == SQLITE_OK) rc = BindText(s, 2, key.secret_hash);
  if (rc == SQLITE_OK) rc = BindText(s, 3, key.tenant);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(s, 4, static_cast<int64_t>(key.role));
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(s, 5, key.created_at.micros());
  if (rc == SQLITE_OK) rc = sqlite3_step(s);
  if (rc != SQLITE_DONE) return SqliteStatus(db_.get(), rc, "insert into", "api_keys").With("key_id", key.id);
  return Status::Ok();
}

Result<std::vector<ApiKeyRecord>> SqliteStore::ListApiKeys() {
  std::lock_guard lock(mu_);
  sqlite3_stmt* s = select_api_keys_.get();
  ResetOnExit reset(s);
  std::vector<ApiKeyRecord> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    const int64_t role = sqlite3_column_int64(s, 3);
    if (role < 0 || role > static_cast<int64_t>(Role::kIntegration)) {
      return Internal("corrupt value in api_keys.role").With("table", "api_keys").With("key_id", Text(s, 0));
    }
    out.push_back({Text(s, 0), Text(s, 1), Text(s, 2), static_cast<Role>(role),
                   Timestamp::FromMicros(sqlite3_column_int64(s, 4))});
  }
  if (rc != SQLITE_DONE) return SqliteStatus(db_.get(), rc, "read", "api_keys");
  return out;
}

Status SqliteStore::DeleteTenant(std::string_view tenant_id) {
  RETURN_IF_ERROR(CheckStorableTenantId(tenant_id));
  ASSIGN_OR_RETURN(bool exists, TenantExists(tenant_id));
  if (!exists) return NotFound("no such tenant").With("tenant", std::string(tenant_id));
  {
    std::lock_guard lock(mu_);
    for (std::string_view sql : {std::string_view("DELETE FROM api_keys WHERE tenant=?1"),
                                 std::string_view("DELETE FROM tenants WHERE id=?1")}) {
      ASSIGN_OR_RETURN(StmtHandle s, Prepare(db_.get(), sql, "tenants", false));
      int rc = BindText(s.get(), 1, tenant_id);
      if (rc == SQLITE_OK) rc = sqlite3_step(s.get());
      if (rc != SQLITE_DONE) return SqliteStatus(db_.get(), rc, "delete from", "tenants").With("tenant", std::string(tenant_id));
    }
  }
  // The catalog no longer names it: the files go after.
  const std::string base = tenants_dir_ + "/" + std::string(tenant_id) + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    std::filesystem::remove(base + suffix, ec);
    if (ec) return Unavailable("remove " + base + suffix + ": " + ec.message()).With("tenant", std::string(tenant_id));
  }
  return Status::Ok();
}

Status SqliteStore::DeleteApiKey(std::string_view id) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* s = delete_api_key_.get();
  ResetOnExit reset(s);
  int rc = BindText(s, 1, id);
  if (rc == SQLITE_OK) rc = sqlite3_step(s);
  if (rc != SQLITE_DONE) return SqliteStatus(db_.get(), rc, "delete from", "api_keys").With("key_id", std::string(id));
  if (sqlite3_changes(db_.get()) == 0) return NotFound("no such key").With("key_id", std::string(id));
  return Status::Ok();
}

Status SqliteStore::Ping() {
  std::lock_guard lock(mu_);
  sqlite3_stmt* s = ping_.get();
  ResetOnExit reset(s);
  int rc = sqlite3_step(s);
  if (rc != SQLITE_ROW) return SqliteStatus(db_.get(), rc, "ping", "catalog");
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStoreWithFault(const std::string& data_dir, CommitFault fault) {
  const std::filesystem::path dir(data_dir);
  const std::filesystem::path tenants = dir / "tenants";
  std::error_code ec;
  std::filesystem::create_directories(tenants, ec);
  if (ec) return Unavailable("create " + tenants.string() + ": " + ec.message()).With("path", tenants.string());
  auto store = std::make_unique<SqliteStore>(tenants.string(), std::move(fault));
  RETURN_IF_ERROR(store->Open((dir / "pond.db").string()));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace sqlite_internal

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& data_dir) {
  return sqlite_internal::OpenSqliteStoreWithFault(data_dir, nullptr);
}

}  // namespace pond
