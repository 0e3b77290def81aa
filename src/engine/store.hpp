// The storage interfaces the engine owns and the backends (storage/sqlite,
// later storage/postgres) implement. No SQL exists outside the backends.
//
// A TenantStore holds one tenant's durable state. The tenant's single writer
// hands it a WriteBatch per group commit: either all of it becomes durable or
// none of it does, and Commit returns only after it is durable (the ack
// rule of DESIGN.md). Load streams everything back on start so the engine can
// rebuild its in-memory state. Thread-safety: a TenantStore is used by one
// thread at a time (its tenant's writer); a Store's catalog methods are safe
// from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "core/time.hpp"
#include "events/event.hpp"
#include "tags/tag_book.hpp"

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

// A member's row: its profile and identities as they stand now. A merged
// member keeps its row, without identities, with merged_into set to the
// survivor, which holds them. Identities live in the row (not a table of
// their own) because the engine's in-memory index is what keeps them unique;
// one row per member halves what ingest writes.
struct MemberRow {
  int64_t member_id = 0;
  MemberProfile profile;
  std::vector<Identity> identities;
  std::vector<uint64_t> event_digests;  // member events seen, to know a re-sent one
  int64_t merged_into = 0;              // 0 while the member stands on its own
  Timestamp created_at;
};

// Loyalty rides on the rows that cause it: what an order earned and what a
// refund took back are stored on the order's and the refund's row, so
// ingest writes no extra row for them. `tick` is the tenant's journal
// position: orders, refunds and journal rows are replayed in tick order.
struct LoyaltyEffect {
  int64_t tick = 0;
  int64_t points = 0;           // change of the balance
  int64_t growth = 0;           // change of growth
  int64_t unrecovered = 0;      // refunds: points already spent, not taken back
  int64_t rate_bp = 0;          // the terms the order earned on, which its refunds reuse
  int64_t growth_per_yuan = 0;
  Timestamp lot;                // the lot (its expiry instant) the points went to or came from
};

struct OrderRow {
  int64_t member_id = 0;  // as resolved when the order arrived; merges redirect it
  OrderEvent order;       // order.member is not stored
  LoyaltyEffect loyalty;
};

struct RefundRow {
  RefundEvent refund;
  LoyaltyEffect loyalty;
};

// Loyalty changes that no order or refund row carries.
enum class JournalKind : uint8_t {
  kRedeem = 0,  // points spent; note = the redemption id
  kAdjust = 1,  // points added or removed by an operator; note = the reason
  kExpire = 2,  // a lot expired
  kTier = 3,    // from/to = tier ids; note = the cause
  kStage = 4,   // from/to = lifecycle stage names
  kDay = 5,     // the scheduler finished a day's work; note = "YYYY-MM-DD"; member_id 0
  kMerge = 6,   // the account of member `note` moved onto member_id (replayed at its place in time)
};
inline constexpr int kJournalKinds = 7;

struct JournalRow {
  int64_t tick = 0;
  int64_t member_id = 0;
  JournalKind kind = JournalKind::kRedeem;
  Timestamp at;
  int64_t points = 0;
  Timestamp lot;
  std::string from, to;
  std::string note;
};

// A tenant setting, such as its loyalty configuration (key "loyalty", a
// JSON document).
struct SettingRow {
  std::string key;
  std::string value;
};

struct MergeRow {
  int64_t survivor = 0;
  int64_t merged = 0;
  Timestamp at;
  std::string reason;  // which identities met: "phone+unionid"
};

struct IdempotencyRow {
  std::string key;
  int status = 0;       // HTTP status of the first answer
  std::string body;     // its body
  Timestamp at;
  // HashKey of the request body it answered, so a key reused for another
  // request is refused; 0 for answers stored before this was kept.
  uint64_t request_digest = 0;
};

// A frozen audience: who matched an expression at one instant, kept for a
// campaign however the members change afterwards.
struct SnapshotRow {
  int64_t id = 0;  // ascending
  std::string name;
  std::string expr;  // canonical (segments::ToText)
  std::string by;
  Timestamp at;
  int64_t count = 0;
  std::string members;  // the member ids, EncodeIdList (core/id_list.hpp)
};

// A change of one coupon in the tenant's wallet (coupons/wallet.hpp). The
// wallet is rebuilt on load by replaying these in id order: it is
// deterministic, and expiry follows from the times, so it needs no row.
struct CouponEventRow {
  int64_t id = 0;        // ascending
  std::string kind;      // "issue", "lock", "unlock", "redeem", "restore", "revoke"
  std::string code;
  int64_t template_id = 0;  // issue
  int64_t member = 0;       // issue
  std::string occasion;     // issue: the idempotency key or rule occasion
  std::string order_id;     // lock, unlock, redeem, restore
  Timestamp at;
  Timestamp until;          // lock: when the hold lapses
};

// A claim on an activity, a helper's cut, or a refusal
// (activities/activity_book.hpp). The book is rebuilt on load by replaying
// these in id order: results follow from the activity's seed and the times.
struct ActivityEventRow {
  int64_t id = 0;           // ascending
  int64_t activity_id = 0;
  std::string kind;         // "take", "help", "refused"
  int64_t member = 0;       // who claimed, helped or was refused
  int64_t ref = 0;          // take: the group joined (0 none); help, a refused cut: the bargain's claim id
  Timestamp at;
  std::string detail;       // take: the coupon code it gave, if any; refused: the reason
};

// Everything one group commit writes, in the order it must be applied.
struct WriteBatch {
  std::vector<MemberRow> members;  // insert or replace by member_id
  std::vector<OrderRow> orders;
  std::vector<RefundRow> refunds;
  std::vector<JournalRow> journal;
  std::vector<SettingRow> settings;  // upsert by key
  std::vector<MergeRow> merges;
  std::vector<StoreInfo> stores;  // upsert by id
  std::vector<StaffInfo> staff;
  std::vector<ProductInfo> products;
  std::vector<CategoryInfo> categories;
  std::vector<IdempotencyRow> idempotency;
  std::vector<tags::TagOperation> tag_operations;  // inserts; ids ascending
  std::vector<SnapshotRow> snapshots;              // inserts; ids ascending
  std::vector<CouponEventRow> coupon_events;       // inserts; ids ascending
  std::vector<ActivityEventRow> activity_events;   // inserts; ids ascending

  // Empties every list but keeps the memory, so the next group reuses it.
  void Clear() {
    members.clear(), orders.clear(), refunds.clear(), journal.clear(), settings.clear(), merges.clear();
    stores.clear(), staff.clear(), products.clear(), categories.clear(), idempotency.clear();
    tag_operations.clear(), snapshots.clear(), coupon_events.clear(), activity_events.clear();
  }

  bool empty() const {
    return members.empty() && orders.empty() && refunds.empty() && journal.empty() && settings.empty() &&
           merges.empty() &&
           stores.empty() && staff.empty() && products.empty() && categories.empty() && idempotency.empty() &&
           tag_operations.empty() && snapshots.empty() && coupon_events.empty() &&
           activity_events.empty();
  }
};

// Receives a tenant's rows on load. Order of calls: master data, settings,
// members (by member_id), merges (in the order they happened), then orders,
// refunds and journal rows interleaved by tick (rows of equal tick — those
// stored before ticks existed have 0 — orders first, then refunds, then
// journal rows, each in insertion order), then tag operations, snapshots,
// coupon events and activity events (each by id), and last the
// idempotency rows.
class LoadSink {
 public:
  virtual ~LoadSink() = default;
  virtual void OnStore(StoreInfo row) = 0;
  virtual void OnStaff(StaffInfo row) = 0;
  virtual void OnProduct(ProductInfo row) = 0;
  virtual void OnCategory(CategoryInfo row) = 0;
  virtual void OnMember(MemberRow row) = 0;
  virtual void OnMerge(MergeRow row) = 0;
  virtual void OnOrder(OrderRow row) = 0;
  virtual void OnSetting(SettingRow row) = 0;
  virtual void OnRefund(RefundRow row) = 0;
  virtual void OnJournal(JournalRow row) = 0;
  virtual void OnTagOperation(tags::TagOperation row) = 0;
  virtual void OnSnapshot(SnapshotRow row) = 0;
  virtual void OnCouponEvent(CouponEventRow row) = 0;
  virtual void OnActivityEvent(ActivityEventRow row) = 0;
  virtual void OnIdempotency(IdempotencyRow row) = 0;
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
