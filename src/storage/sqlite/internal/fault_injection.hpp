// Fault injection for tests (leveldb SpecialEnv style): a hook that runs at
// fixed points inside every tenant Commit's transaction and can make it fail
// there, to prove that a failed commit leaves nothing of its batch behind and
// that the store keeps working afterwards. Production code opens stores
// through OpenSqliteStore, which installs no hook.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.hpp"
#include "engine/store.hpp"

namespace pond::sqlite_internal {

// Called inside Commit after the rows of each WriteBatch table are written,
// with the stage's name ("members", "orders", "refunds", "journal",
// "settings", "merges", "stores", "staff", "products", "categories",
// "idempotency", "tag_operations", "snapshots"), and last with "commit" just
// before COMMIT. A non-OK Status aborts the commit with that Status. Called
// on the committing tenant's thread; a hook shared by several tenants must
// synchronize itself.
using CommitFault = std::function<Status(std::string_view stage)>;

// OpenSqliteStore whose tenant stores run `fault` in every Commit.
Result<std::unique_ptr<Store>> OpenSqliteStoreWithFault(const std::string& data_dir, CommitFault fault);

}  // namespace pond::sqlite_internal
