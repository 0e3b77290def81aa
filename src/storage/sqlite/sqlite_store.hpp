// The embedded storage backend: SQLite in WAL mode, implementing the
// engine's Store and TenantStore (engine/store.hpp).
//
// A data directory holds the catalog (tenants, API keys) in DIR/pond.db and
// each tenant in its own file DIR/tenants/<id>.db, so tenants commit in
// parallel without sharing a write lock. Every connection runs with
// synchronous=FULL: a Commit that returned OK survives kill -9 and power
// loss; a Commit that failed left nothing of its batch behind. Schemas are
// versioned (PRAGMA user_version) and migrated on open; a file written by a
// newer build is refused with FailedPrecondition. I/O trouble and lock
// timeouts are Unavailable (retrying is safe); anything else is Internal.
//
// Thread-safety: as engine/store.hpp says — the Store's methods may be called
// from any thread; a TenantStore by one thread at a time. A TenantStore has
// its own connection and may outlive the Store that opened it.
#pragma once

#include <memory>
#include <string>

#include "core/status.hpp"
#include "engine/store.hpp"

namespace pond {

// Opens (creating if needed) the embedded store in `data_dir`: the catalog in
// DIR/pond.db, each tenant in DIR/tenants/<id>.db.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& data_dir);

}  // namespace pond
