// The tenant side of the SQLite backend, as the catalog (sqlite_store.cpp)
// reaches it: open one tenant's database file as a TenantStore.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "core/status.hpp"
#include "engine/store.hpp"
#include "storage/sqlite/internal/fault_injection.hpp"
#include "storage/sqlite/internal/sqlite_db.hpp"

namespace pond::sqlite_internal {

// Opens (creating and migrating if needed) the tenant database at `path`,
// with its WAL checkpointed in the background at `checkpoints` (tests use
// small limits). FailedPrecondition when the file was written by a newer build.
Result<std::unique_ptr<TenantStore>> OpenTenantDb(const std::string& path, CommitFault fault,
                                                  Checkpointer::Limits checkpoints = {});

// The tenant schema's migration steps, oldest first. A test opens a file with
// the first n of them to get a database as a build of schema version n left it.
std::span<const Migration> TenantMigrations();

}  // namespace pond::sqlite_internal
