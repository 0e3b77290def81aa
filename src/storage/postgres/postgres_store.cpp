// The catalog (schema `pond`: tenants, API keys, leases), tenant leases and
// OpenPostgresStore.
#include "storage/postgres/postgres_store.hpp"

#include <unistd.h>

#include <mutex>
#include <random>
#include <utility>

#include "storage/postgres/internal/pg_conn.hpp"
#include "storage/postgres/internal/pg_tenant.hpp"

namespace pond {
namespace pg_internal {
namespace {

// ---------------------------------------------------------------------------
// Schema of the catalog (schema `pond`). Instants of Pond's own records are
// bigint microseconds, as everywhere; lease expiry is a timestamptz on the
// database's clock, the one clock every node sees alike. Steps are frozen
// once released; changes append a new step.
// ---------------------------------------------------------------------------
constexpr Migration kCatalogMigrations[] = {{R"sql(
CREATE TABLE pond.tenants(
  id         text PRIMARY KEY,     -- [a-z0-9_-]{1,64}; its schema is TenantSchema(id)
  name       text NOT NULL,
  timezone   text NOT NULL,        -- IANA name
  created_at bigint NOT NULL
);
CREATE TABLE pond.api_keys(
  id          text PRIMARY KEY,    -- public prefix shown in listings
  secret_hash text NOT NULL,       -- hex SHA-256 of the secret
  tenant      text NOT NULL,       -- tenant id, or '*' for every tenant
  role        smallint NOT NULL,   -- Role
  created_at  bigint NOT NULL
);
-- Who writes each tenant (postgres_store.hpp, "Ownership").
CREATE TABLE pond.leases(
  tenant     text PRIMARY KEY REFERENCES pond.tenants(id),
  node       text NOT NULL,        -- the holder, unique per process
  address    text NOT NULL,        -- where the holder serves it
  epoch      bigint NOT NULL,      -- grows with every change of holder
  expires_at timestamptz NOT NULL, -- database clock
  commits    bigint NOT NULL       -- the holder's commits, to settle a COMMIT whose answer was lost
);
)sql"}};

// Takes the lease when nobody holds it, when it has expired, or when this
// node holds it already (reopening a tenant after a failure): each time
// with a new epoch, which fences the commits of any earlier holder.
constexpr std::string_view kAcquire = R"sql(
INSERT INTO pond.leases AS l (tenant, node, address, epoch, expires_at, commits)
VALUES ($1, $2, $3, 1, now() + $4 * interval '1 millisecond', 0)
ON CONFLICT (tenant) DO UPDATE
  SET node = EXCLUDED.node, address = EXCLUDED.address, epoch = l.epoch + 1, expires_at = EXCLUDED.expires_at
  WHERE l.expires_at < now() OR l.node = EXCLUDED.node
RETURNING epoch, commits)sql";
constexpr std::string_view kHolder = "SELECT node, address FROM pond.leases WHERE tenant = $1";
constexpr std::string_view kRenew =
    "UPDATE pond.leases SET expires_at = now() + $2 * interval '1 millisecond' WHERE node = $1 RETURNING tenant";

std::string MakeNodeId() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::random_device rd;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%06x", rd() & 0xffffff);
  return std::string(host) + "-" + std::to_string(::getpid()) + "-" + suffix;
}

class PgStore final : public Store {
 public:
  PgStore(PostgresOptions options, CommitFault fault)
      : options_(std::move(options)), named_(!options_.node.empty()), fault_(std::move(fault)) {
    if (!named_) options_.node = MakeNodeId();
  }

  Status Open();

  Result<std::vector<TenantRecord>> ListTenants() override;
  Status CreateTenant(const TenantRecord& tenant) override;
  Result<std::unique_ptr<TenantStore>> OpenTenant(std::string_view tenant_id) override;
  Status PutApiKey(const ApiKeyRecord& key) override;
  Result<std::vector<ApiKeyRecord>> ListApiKeys() override;
  Status DeleteApiKey(std::string_view id) override;
  Status DeleteTenant(std::string_view tenant_id) override;
  Status Ping() override;
  std::chrono::milliseconds lease_ttl() const override { return options_.lease_ttl; }
  void Advertise(std::string address) override {
    std::lock_guard lock(mu_);
    if (!named_) options_.node = address;
    address_ = std::move(address);
  }
  Result<std::vector<std::string>> RenewLeases() override;

 private:
  // Runs `f(conn)` on the catalog connection under its lock, connecting
  // first when the connection is gone.
  template <typename F>
  auto WithCatalog(F&& f) -> decltype(f(static_cast<pg_conn*>(nullptr)));

  PostgresOptions options_;  // options_.node is set before the first lease is taken
  const bool named_;         // the node's name was given
  const CommitFault fault_;
  std::mutex mu_;  // guards the catalog connection and address_
  ConnHandle conn_;
  std::string address_;
};

template <typename F>
auto PgStore::WithCatalog(F&& f) -> decltype(f(static_cast<pg_conn*>(nullptr))) {
  std::lock_guard lock(mu_);
  if (Broken(conn_.get())) {
    ASSIGN_OR_RETURN(conn_, Connect(options_.url));
  }
  return f(conn_.get());
}

Status PgStore::Open() {
  return WithCatalog([](pg_conn* conn) { return MigrateSchema(conn, "pond", kCatalogMigrations); });
}

Result<std::vector<TenantRecord>> PgStore::ListTenants() {
  return WithCatalog([](pg_conn* conn) -> Result<std::vector<TenantRecord>> {
    ASSIGN_OR_RETURN(Rows rows,
                     Exec(conn, "SELECT id, name, timezone, created_at FROM pond.tenants ORDER BY id", "tenants"));
    std::vector<TenantRecord> out;
    for (int i = 0; i < rows.size(); ++i) {
      out.push_back({rows.Str(i, 0), rows.Str(i, 1), rows.Str(i, 2), Timestamp::FromMicros(rows.Int(i, 3))});
    }
    return out;
  });
}

// Only the catalog row: the tenant's schema is made by the first node that
// opens it (OpenTenant migrates it).
Status PgStore::CreateTenant(const TenantRecord& tenant) {
  RETURN_IF_ERROR(CheckStorableTenantId(tenant.id));
  return WithCatalog([&](pg_conn* conn) -> Status {
    Status s = Exec(conn, "INSERT INTO pond.tenants(id, name, timezone, created_at) VALUES($1, $2, $3, $4)", "tenants",
                    {tenant.id, tenant.name, tenant.timezone, std::to_string(tenant.created_at.micros())})
                   .status();
    if (s.code() == StatusCode::kAlreadyExists) return AlreadyExists("tenant exists").With("tenant", tenant.id);
    return s;
  });
}

Result<std::unique_ptr<TenantStore>> PgStore::OpenTenant(std::string_view tenant_id) {
  RETURN_IF_ERROR(CheckStorableTenantId(tenant_id));
  const std::string id(tenant_id);
  Result<Lease> lease = WithCatalog([&](pg_conn* conn) -> Result<Lease> {
    ASSIGN_OR_RETURN(Rows known, Exec(conn, "SELECT 1 FROM pond.tenants WHERE id = $1", "tenants", {id}));
    if (known.size() == 0) return NotFound("no such tenant").With("tenant", id);
    ASSIGN_OR_RETURN(Rows taken, Exec(conn, kAcquire, "leases",
                                      {id, options_.node, address_, std::to_string(options_.lease_ttl.count())}));
    if (taken.size() == 1) return Lease{id, options_.node, taken.Int(0, 0), options_.lease_ttl, taken.Int(0, 1)};
    ASSIGN_OR_RETURN(Rows holder, Exec(conn, kHolder, "leases", {id}));
    Status refused = Refusal("not_owner", "tenant '" + id + "' is served by another node");
    refused.With("tenant", id);
    if (holder.size() == 1) refused.With("owner", holder.Str(0, 0)).With("address", holder.Str(0, 1));
    return refused;
  });
  if (!lease.ok()) return lease.status();
  // The schema is brought up to date by its holder alone, on the tenant's
  // own connection, so the catalog lock is not held through it.
  ASSIGN_OR_RETURN(ConnHandle conn, Connect(options_.url));
  RETURN_IF_ERROR(MigrateSchema(conn.get(), TenantSchema(id), TenantMigrations()));
  conn.reset();
  return OpenTenantStore(options_.url, std::move(lease).value(), fault_);
}

Status PgStore::PutApiKey(const ApiKeyRecord& key) {
  return WithCatalog([&](pg_conn* conn) {
    return Exec(conn,
                "INSERT INTO pond.api_keys(id, secret_hash, tenant, role, created_at) VALUES($1,$2,$3,$4,$5) "
                "ON CONFLICT (id) DO UPDATE SET secret_hash = EXCLUDED.secret_hash, tenant = EXCLUDED.tenant, "
                "role = EXCLUDED.role, created_at = EXCLUDED.created_at",
                "api_keys",
                {key.id, key.secret_hash, key.tenant, std::to_string(static_cast<int>(key.role)),
                 std::to_string(key.created_at.micros())})
        .status();
  });
}

// One transaction: the catalog row, its lease (a node still holding it
// fails its next fenced commit), its keys, its schema and the schema's
// migration record.
Status PgStore::DeleteTenant(std::string_view tenant_id) {
  RETURN_IF_ERROR(CheckStorableTenantId(tenant_id));
  const std::string id(tenant_id);
  return WithCatalog([&](pg_conn* conn) -> Status {
    RETURN_IF_ERROR(Exec(conn, "BEGIN", "tenants").status());
    auto work = [&]() -> Status {
      RETURN_IF_ERROR(Exec(conn, "DELETE FROM pond.leases WHERE tenant = $1", "leases", {id}).status());
      RETURN_IF_ERROR(Exec(conn, "DELETE FROM pond.api_keys WHERE tenant = $1", "api_keys", {id}).status());
      ASSIGN_OR_RETURN(Rows gone, Exec(conn, "DELETE FROM pond.tenants WHERE id = $1 RETURNING id", "tenants", {id}));
      if (gone.size() == 0) return NotFound("no such tenant").With("tenant", id);
      // A tenant made again with this id migrates its schema from the start.
      RETURN_IF_ERROR(Exec(conn, "DELETE FROM pond.schema_versions WHERE schema_name = $1", "schema_versions",
                           {TenantSchema(id)}).status());
      return Exec(conn, "DROP SCHEMA IF EXISTS " + QuoteIdent(TenantSchema(id)) + " CASCADE", "tenants").status();
    };
    Status done = work();
    if (!done.ok()) {
      (void)Exec(conn, "ROLLBACK", "tenants");
      return done;
    }
    return Exec(conn, "COMMIT", "tenants").status();
  });
}

Status PgStore::DeleteApiKey(std::string_view id) {
  return WithCatalog([&](pg_conn* conn) -> Status {
    ASSIGN_OR_RETURN(Rows rows, Exec(conn, "DELETE FROM pond.api_keys WHERE id = $1 RETURNING id", "api_keys",
                                     {std::string(id)}));
    if (rows.size() == 0) return NotFound("no such key").With("key_id", std::string(id));
    return Status::Ok();
  });
}

Result<std::vector<ApiKeyRecord>> PgStore::ListApiKeys() {
  return WithCatalog([](pg_conn* conn) -> Result<std::vector<ApiKeyRecord>> {
    ASSIGN_OR_RETURN(
        Rows rows,
        Exec(conn, "SELECT id, secret_hash, tenant, role, created_at FROM pond.api_keys ORDER BY id", "api_keys"));
    std::vector<ApiKeyRecord> out;
    for (int i = 0; i < rows.size(); ++i) {
      const int64_t role = rows.Int(i, 3);
      if (role < 0 || role > static_cast<int64_t>(Role::kIntegration)) {
        return Internal("corrupt value in api_keys.role").With("table", "api_keys").With("key_id", rows.Str(i, 0));
      }
      out.push_back({rows.Str(i, 0), rows.Str(i, 1), rows.Str(i, 2), static_cast<Role>(role),
                     Timestamp::FromMicros(rows.Int(i, 4))});
    }
    return out;
  });
}

Status PgStore::Ping() {
  return WithCatalog([](pg_conn* conn) { return Exec(conn, "SELECT 1", "catalog").status(); });
}

Result<std::vector<std::string>> PgStore::RenewLeases() {
  return WithCatalog([&](pg_conn* conn) -> Result<std::vector<std::string>> {
    ASSIGN_OR_RETURN(Rows rows,
                     Exec(conn, kRenew, "leases", {options_.node, std::to_string(options_.lease_ttl.count())}));
    std::vector<std::string> held;
    for (int i = 0; i < rows.size(); ++i) held.push_back(rows.Str(i, 0));
    return held;
  });
}

}  // namespace

Result<std::unique_ptr<Store>> OpenPostgresStoreWithFault(const PostgresOptions& options, CommitFault fault) {
  if (options.lease_ttl < std::chrono::milliseconds(100)) {
    return InvalidArgument("lease TTL must be at least 100 ms");
  }
  auto store = std::make_unique<PgStore>(options, std::move(fault));
  RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace pg_internal

Result<std::unique_ptr<Store>> OpenPostgresStore(const PostgresOptions& options) {
  return pg_internal::OpenPostgresStoreWithFault(options, nullptr);
}

}  // namespace pond
