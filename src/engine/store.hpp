// The storage interfaces the engine owns and the backends (storage/sqlite,
// storage/postgres) implement. No SQL exists outside the backends.
//
// A TenantStore holds one tenant's durable state: its journal and its
// state rows. The tenant's committer hands it a WriteBatch per group
// commit: either all of it becomes durable or none of it does, and Commit
// returns only after it is durable (the ack rule of DESIGN.md). Load streams
// everything back on start so the engine can rebuild its in-memory state.
// Thread-safety: a TenantStore is used by one thread at a time; a Store's
// catalog methods are safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "core/time.hpp"

namespace pond {

struct TenantRecord {
  std::string id;
  std::string name;
  std::string timezone;  // IANA name
  Timestamp created_at;
};

enum class Role : uint8_t { kAdmin = 0, kOperator = 1, kAnalyst = 2, kIntegration = 3 };

struct ApiKeyRecord {
  std::string id;           // public prefix shown in listings
  std::string secret_hash;  // hex SHA-256 of the secret; the secret is never stored
  std::string tenant;       // "*" for every tenant
  Role role = Role::kAdmin;
  Timestamp created_at;
};

// A tenant's store holds two shapes of row, both opaque to it: a kind
// number (journal/rows.hpp names them), a key and payload bytes
// (journal/codec.hpp). Backends store any kind without knowing it.
using RowKind = uint16_t;

// One change, at its place in the tenant's one order: the journal. Ticks
// are unique and grow in the order the engine applied the changes.
struct JournalRow {
  int64_t tick = 0;
  RowKind kind = 0;
  std::string key;
  std::string payload;
};

// The latest value of one key of one kind (a member as it stands, a
// setting): the state, written in the same commit as the journal rows that
// changed it. `erase` removes the key (payload unused).
struct StateRow {
  RowKind kind = 0;
  std::string key;
  std::string payload;
  bool erase = false;
};

// Everything one group commit writes. A later state row for the same kind
// and key replaces an earlier one of the same batch.
struct WriteBatch {
  std::vector<JournalRow> journal;
  std::vector<StateRow> state;

  // Empties both lists but keeps the memory, so the next group reuses it.
  void Clear() {
    journal.clear();
    state.clear();
  }
  bool empty() const { return journal.empty() && state.empty(); }
};

// Receives a tenant's rows on load: first every state row, by kind number
// and then by key (bytes compared as unsigned), then every journal row by
// tick. A non-OK Status from the sink stops the load, which returns it.
class LoadSink {
 public:
  virtual ~LoadSink() = default;
  virtual Status OnState(StateRow row) = 0;
  virtual Status OnJournal(JournalRow row) = 0;
};

class TenantStore {
 public:
  virtual ~TenantStore() = default;
  // Writes the whole batch in one transaction; returns once it is durable.
  // On error nothing of the batch is stored (Unavailable for I/O trouble).
  virtual Status Commit(const WriteBatch& batch) = 0;
  // Streams the tenant's rows into `sink` in the documented order.
  virtual Status Load(LoadSink& sink) = 0;
};

// Tenant ids name files and schemas, so a store refuses any id outside a
// safe alphabet (the engine checks stricter rules first).
inline Status CheckStorableTenantId(std::string_view id) {
  bool ok = !id.empty() && id.size() <= 64;
  for (char c : id) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
  return ok ? Status::Ok() : InvalidArgument("tenant id must match [a-z0-9_-]{1,64}");
}

class Store {
 public:
  virtual ~Store() = default;
  virtual Result<std::vector<TenantRecord>> ListTenants() = 0;
  // AlreadyExists when the id is taken.
  virtual Status CreateTenant(const TenantRecord& tenant) = 0;
  // NotFound for an unknown tenant.
  virtual Result<std::unique_ptr<TenantStore>> OpenTenant(std::string_view tenant_id) = 0;
  // Deletes a tenant and every row of it, its lease and the API keys scoped
  // to it; NotFound for an unknown tenant. The caller has closed it.
  virtual Status DeleteTenant(std::string_view tenant_id) = 0;
  virtual Status PutApiKey(const ApiKeyRecord& key) = 0;
  virtual Result<std::vector<ApiKeyRecord>> ListApiKeys() = 0;
  // Revokes a key for good; NotFound when no key has that id.
  virtual Status DeleteApiKey(std::string_view id) = 0;
  // OK when the store answers (for /healthz).
  virtual Status Ping() = 0;

  // Ownership, when several nodes share the store (storage/postgres): a
  // tenant is written only by the node holding its lease. OpenTenant takes
  // the lease, or refuses with Refusal "not_owner" whose context names the
  // holder ("owner", "address"); the TenantStore keeps it while open and
  // lets it go when destroyed. A store only this process uses (the embedded
  // one, behind its directory lock) has no leases: lease_ttl() is zero.
  virtual std::chrono::milliseconds lease_ttl() const { return {}; }
  // The address other nodes name for the tenants this node holds; set
  // before the first OpenTenant.
  virtual void Advertise(std::string /*address*/) {}
  // Renews every lease this node holds and returns the tenants it still
  // holds: one missing was taken over by another node after it expired.
  virtual Result<std::vector<std::string>> RenewLeases() { return std::vector<std::string>{}; }
};

}  // namespace pond
