// The tenant side of the PostgreSQL backend, as the catalog
// (postgres_store.cpp) reaches it: a tenant's schema, its migrations and
// opening it as a TenantStore under a lease.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/status.hpp"
#include "engine/store.hpp"

struct pg_conn;

namespace pond {
struct PostgresOptions;
}

namespace pond::pg_internal {

// One schema step, inside one transaction with the schema first on the
// search_path: SQL, then `convert` when a step needs more than SQL (rows
// re-encoded by C++).
struct Migration {
  const char* sql;
  Status (*convert)(pg_conn* conn) = nullptr;
};

// Brings `schema` (a plain name, created if missing) up to
// `migrations.size()` in one transaction, under an advisory lock so nodes
// starting together do not race. FailedPrecondition when the schema is at a
// higher version than this build knows.
Status MigrateSchema(pg_conn* conn, std::string_view schema, std::span<const Migration> migrations);

// The schema holding tenant `id`: "tenant_<id>", shortened with a hash of
// the id when that would pass PostgreSQL's 63-byte identifier limit.
std::string TenantSchema(std::string_view tenant_id);

// The tenant schema's migration steps, oldest first.
std::span<const Migration> TenantMigrations();

// This node's hold on a tenant.
struct Lease {
  std::string tenant;
  std::string node;
  int64_t epoch = 0;
  std::chrono::milliseconds ttl{0};
  int64_t commits = 0;  // the tenant's commit counter when the lease was taken
};

// Test hook, called inside every Commit at fixed points: "begin" after the
// lease is fenced, then after each table's rows with the table's name,
// "commit" just before COMMIT is sent, and "committed" after COMMIT
// answered. A non-OK Status fails that attempt as if the connection had
// broken there (the hook may also break it); after "committed" the answer
// counts as lost. Production code installs none.
using CommitFault = std::function<Status(std::string_view stage)>;

// OpenPostgresStore whose tenant stores run `fault` in every Commit.
Result<std::unique_ptr<Store>> OpenPostgresStoreWithFault(const PostgresOptions& options, CommitFault fault);

// Opens tenant `lease.tenant` (its schema migrated) on its own connection.
// The store renews and fences `lease` in every commit and lets it go when
// destroyed.
Result<std::unique_ptr<TenantStore>> OpenTenantStore(const std::string& url, Lease lease, CommitFault fault);

}  // namespace pond::pg_internal
