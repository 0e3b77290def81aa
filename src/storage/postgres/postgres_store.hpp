// The server storage backend: PostgreSQL through libpq, implementing the
// engine's Store and TenantStore (engine/store.hpp) with the same behaviour
// as the embedded one (storage/sqlite), for several Pond nodes sharing one
// database (docs/postgres.md).
//
// Schema `pond` holds the catalog (tenants, API keys, leases and schema
// versions); each tenant lives in a schema of its own with the same tables
// as an embedded tenant file. A tenant's group commit is one transaction
// whose rows go by COPY; it returns only after COMMIT has (synchronous_commit
// on, whatever the server's default). Lost connections and servers that are
// down are Unavailable; a commit that failed before COMMIT was sent is
// retried on a fresh connection, and one whose COMMIT got no answer is
// settled by reading the tenant's commit counter back, so nothing is ever
// acknowledged that did not commit.
//
// Ownership: each tenant is written by one node at a time, the holder of its
// lease row in pond.leases. OpenTenant takes the lease (when free or expired)
// or refuses with Refusal "not_owner" naming the holder; every commit renews
// it and is fenced by it, so a node that lost its lease can never write the
// tenant again. Lease times use the database's clock, so the nodes' clocks
// do not matter.
//
// Thread-safety: as engine/store.hpp says.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "engine/store.hpp"

namespace pond {

struct PostgresOptions {
  std::string url;  // libpq connection URI or string: postgresql://user@host:port/db
  // This node among those sharing the database. Two live processes must
  // never share a name; a restarted node that keeps its name takes its
  // tenants back at once instead of waiting for their leases to expire.
  // Empty: the address given to Advertise (which only one live process can
  // listen on), else host, pid and a random part.
  std::string node;
  std::chrono::milliseconds lease_ttl{10'000};
};

// Connects, creating or migrating the catalog schema as needed.
// Unavailable when the server cannot be reached; FailedPrecondition when
// the database was written by a newer Pond.
Result<std::unique_ptr<Store>> OpenPostgresStore(const PostgresOptions& options);

}  // namespace pond
