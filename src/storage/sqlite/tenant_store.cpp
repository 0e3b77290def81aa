// One tenant's database: its schema, its cached write statements, Commit and
// Load. Also the raw bulk load of orders, which shares the orders table
// definition (as step 1 left it), the binding of its columns and the item
// encoding with Commit.
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "core/id_list.hpp"
#include "storage/codec/row_codec.hpp"
#include "storage/codec/tick_merge.hpp"
#include "storage/sqlite/internal/sqlite_db.hpp"
#include "storage/sqlite/internal/tenant_db.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace pond {
namespace sqlite_internal {
namespace {

using storage_codec::DecodeDigests;
using storage_codec::DecodeIdentities;
using storage_codec::DecodeItems;
using storage_codec::EncodeDigests;
using storage_codec::EncodeIdentities;
using storage_codec::EncodeItems;

// ---------------------------------------------------------------------------
// Schema of a tenant database (tenants/<id>.db).
//
// Conventions: instants are INTEGER microseconds since the Unix epoch (UTC);
// money is INTEGER fen; calendar dates are INTEGER days since 1970-01-01;
// enums are INTEGER holding the C++ enumerator's value; an absent optional
// profile field is NULL. Rows are never deleted, so a rowid `seq` only grows
// and gives the insertion order. Orders, refunds and loyalty_journal rows also
// carry the engine's `tick`, which grows with the insertion order of each of
// the three tables; Load interleaves the three by tick. Tag operations and
// snapshots are keyed by the engine's own ascending id instead, and keep
// their member ids as core/id_list.hpp's encoding.
//
// Migration steps are frozen once released: a schema change is a new step
// appended to kTenantMigrations, never an edit of an old one.
// ---------------------------------------------------------------------------

// Shared by the tenant schema and RawBulkLoadOrders.
constexpr const char* kOrdersTable = R"sql(
CREATE TABLE orders(
  seq       INTEGER PRIMARY KEY,   -- insertion order
  order_id  TEXT NOT NULL UNIQUE,  -- natural key: the same order twice is refused
  member_id INTEGER NOT NULL,      -- as resolved on arrival; merges redirect it in memory
  channel   INTEGER NOT NULL,      -- Channel
  store     TEXT NOT NULL,
  staff     TEXT NOT NULL,
  payment   TEXT NOT NULL,
  paid_at   INTEGER NOT NULL,
  paid_fen  INTEGER NOT NULL,
  items     BLOB NOT NULL          -- storage/codec/row_codec.hpp
);
)sql";

constexpr const char* kTenantTablesV1 = R"sql(
CREATE TABLE members(
  member_id     INTEGER PRIMARY KEY,
  name          TEXT,
  gender        INTEGER,           -- Gender
  birthday      INTEGER,           -- LocalDate days
  city          TEXT,
  home_store    TEXT,
  source        TEXT,
  owner_staff   TEXT,
  registered_at INTEGER,
  merged_into   INTEGER NOT NULL,  -- 0 while the member stands on its own
  created_at    INTEGER NOT NULL,
  identities    BLOB NOT NULL,     -- those it holds now; storage/codec/row_codec.hpp
  event_digests BLOB NOT NULL      -- member events seen; storage/codec/row_codec.hpp
);
CREATE TABLE refunds(
  seq         INTEGER PRIMARY KEY, -- insertion order
  refund_id   TEXT NOT NULL UNIQUE,
  order_id    TEXT NOT NULL,
  amount_fen  INTEGER NOT NULL,
  refunded_at INTEGER NOT NULL
);
CREATE TABLE merges(
  seq      INTEGER PRIMARY KEY,    -- the order the merges happened in
  survivor INTEGER NOT NULL,
  merged   INTEGER NOT NULL,
  at       INTEGER NOT NULL,
  reason   TEXT NOT NULL
);
CREATE TABLE stores(
  id   TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  city TEXT NOT NULL,
  lat  REAL,                       -- WGS-84 degrees, NULL when unknown
  lng  REAL
) WITHOUT ROWID;
CREATE TABLE staff(
  id    TEXT PRIMARY KEY,
  name  TEXT NOT NULL,
  store TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE products(
  sku       TEXT PRIMARY KEY,
  name      TEXT NOT NULL,
  category  TEXT NOT NULL,
  price_fen INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE categories(
  id     TEXT PRIMARY KEY,
  name   TEXT NOT NULL,
  parent TEXT NOT NULL             -- empty for a top-level category
) WITHOUT ROWID;
CREATE TABLE idempotency(
  key    TEXT PRIMARY KEY,
  status INTEGER NOT NULL,         -- HTTP status of the first answer
  body   TEXT NOT NULL,
  at     INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// Step 2: loyalty. Orders and refunds carry what they did to the member's
// points (store.hpp's LoyaltyEffect); rows written before it read as tick 0
// with no effect, which Load replays as before: all orders, then all refunds.
constexpr const char* kTenantLoyaltyV2 = R"sql(
ALTER TABLE orders ADD COLUMN tick            INTEGER NOT NULL DEFAULT 0;  -- journal position
ALTER TABLE orders ADD COLUMN points          INTEGER NOT NULL DEFAULT 0;  -- points earned
ALTER TABLE orders ADD COLUMN growth          INTEGER NOT NULL DEFAULT 0;  -- growth earned
ALTER TABLE orders ADD COLUMN rate_bp         INTEGER NOT NULL DEFAULT 0;  -- earning terms, reused by its refunds
ALTER TABLE orders ADD COLUMN growth_per_yuan INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN lot             INTEGER NOT NULL DEFAULT 0;  -- expiry instant of the lot credited
ALTER TABLE refunds ADD COLUMN tick        INTEGER NOT NULL DEFAULT 0;     -- journal position
ALTER TABLE refunds ADD COLUMN points      INTEGER NOT NULL DEFAULT 0;     -- change of the balance
ALTER TABLE refunds ADD COLUMN growth      INTEGER NOT NULL DEFAULT 0;     -- change of growth
ALTER TABLE refunds ADD COLUMN unrecovered INTEGER NOT NULL DEFAULT 0;     -- points already spent, not taken back
ALTER TABLE refunds ADD COLUMN lot         INTEGER NOT NULL DEFAULT 0;     -- expiry instant of the lot debited
CREATE TABLE loyalty_journal(
  tick       INTEGER PRIMARY KEY,  -- journal position, shared with orders and refunds
  member_id  INTEGER NOT NULL,     -- 0 for a day's end
  kind       INTEGER NOT NULL,     -- JournalKind
  at         INTEGER NOT NULL,
  points     INTEGER NOT NULL,     -- change of the balance
  lot        INTEGER NOT NULL,     -- expiry instant of the lot concerned
  from_value TEXT NOT NULL,        -- tier ids or stage names; empty for other kinds
  to_value   TEXT NOT NULL,
  note       TEXT NOT NULL         -- redemption id, reason, cause or day
);
-- A rowid table, unlike the other keyed ones: its values are whole JSON
-- documents, and WITHOUT ROWID suits small rows only.
CREATE TABLE settings(
  key   TEXT PRIMARY KEY,          -- "loyalty", ...
  value TEXT NOT NULL              -- a JSON document
);
)sql";

// Step 3: an idempotency answer remembers which request body it answered
// (its HashKey, stored as the signed 64-bit integer of the same bits).
constexpr const char* kTenantIdempotencyV3 = R"sql(
ALTER TABLE idempotency ADD COLUMN request_digest INTEGER NOT NULL DEFAULT 0;
)sql";

// Step 4: manual tagging and frozen audiences (store.hpp's SnapshotRow). A
// member list is one BLOB, not a row per member: an operation or snapshot is
// only ever read whole, and a 10 M member snapshot stays ~10 MB.
constexpr const char* kTenantTagsV4 = R"sql(
CREATE TABLE tag_operations(
  id      INTEGER PRIMARY KEY,     -- the engine's, ascending in the order applied
  tag     TEXT NOT NULL,
  added   INTEGER NOT NULL,        -- 1 put the tag on, 0 took it off
  by_whom TEXT NOT NULL,           -- the caller's `by`, its API key, or "merge"
  at      INTEGER NOT NULL,
  note    TEXT NOT NULL,
  members BLOB NOT NULL            -- ids whose holding changed; EncodeIdList
);
CREATE TABLE snapshots(
  id      INTEGER PRIMARY KEY,     -- the engine's, ascending
  name    TEXT NOT NULL,
  expr    TEXT NOT NULL,           -- canonical segment expression
  by_whom TEXT NOT NULL,
  at      INTEGER NOT NULL,        -- the instant the audience was frozen
  count   INTEGER NOT NULL,        -- members in it
  members BLOB NOT NULL            -- EncodeIdList, as the engine encoded it
);
)sql";

// Step 5: the coupon wallet's changes (store.hpp's CouponEventRow), replayed
// in id order on load.
constexpr const char* kTenantCouponsV5 = R"sql(
CREATE TABLE coupon_events(
  id          INTEGER PRIMARY KEY,  -- the engine's, ascending in the order applied
  kind        TEXT NOT NULL,        -- issue, lock, unlock, redeem, restore, revoke
  code        TEXT NOT NULL,
  template_id INTEGER NOT NULL,     -- issue; 0 otherwise
  member_id   INTEGER NOT NULL,     -- issue; 0 otherwise
  occasion    TEXT NOT NULL,        -- issue
  order_id    TEXT NOT NULL,        -- lock, unlock, redeem, restore
  at          INTEGER NOT NULL,
  until       INTEGER NOT NULL      -- lock: when the hold lapses
);
)sql";

// Step 6: claims on activities (store.hpp's ActivityEventRow), replayed in
// id order on load.
constexpr const char* kTenantActivitiesV6 = R"sql(
CREATE TABLE activity_events(
  id          INTEGER PRIMARY KEY,  -- the engine's, ascending in the order applied
  activity_id INTEGER NOT NULL,
  kind        TEXT NOT NULL,        -- take, help, refused
  member_id   INTEGER NOT NULL,
  ref         INTEGER NOT NULL,     -- take: the group joined; help, refused cut: the bargain's claim
  at          INTEGER NOT NULL,
  detail      TEXT NOT NULL         -- take: the coupon given; refused: the reason
);
)sql";

constexpr const char* kTenantV1[] = {kOrdersTable, kTenantTablesV1};
constexpr const char* kTenantV2[] = {kTenantLoyaltyV2};
constexpr const char* kTenantV3[] = {kTenantIdempotencyV3};
constexpr const char* kTenantV4[] = {kTenantTagsV4};
constexpr const char* kTenantV5[] = {kTenantCouponsV5};
constexpr const char* kTenantV6[] = {kTenantActivitiesV6};
constexpr Migration kTenantMigrations[] = {kTenantV1, kTenantV2, kTenantV3, kTenantV4, kTenantV5, kTenantV6};

// A database holding only the orders table as step 1 made it, for
// RawBulkLoadOrders.
constexpr const char* kOrdersOnlyV1[] = {kOrdersTable};
constexpr Migration kOrdersOnlyMigrations[] = {kOrdersOnlyV1};

// Write statements. Members, settings and master data are upserts (the row
// as it stands now); idempotency answers are replaced so a key may be reused
// after the engine lets it expire. Orders, refunds, journal rows, merges, tag
// operations, snapshots and coupon events are plain inserts: their keys never repeat unless
// the engine has a bug.
constexpr std::string_view kUpsertMember =
    "INSERT OR REPLACE INTO members(member_id,name,gender,birthday,city,home_store,source,owner_staff,"
    "registered_at,merged_into,created_at,identities,event_digests) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)";
constexpr std::string_view kInsertOrder =
    "INSERT INTO orders(order_id,member_id,channel,store,staff,payment,paid_at,paid_fen,items,"
    "tick,points,growth,rate_bp,growth_per_yuan,lot) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)";
// The raw peer's orders table has only step 1's columns.
constexpr std::string_view kInsertRawOrder =
    "INSERT INTO orders(order_id,member_id,channel,store,staff,payment,paid_at,paid_fen,items) "
    "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)";
constexpr std::string_view kInsertRefund =
    "INSERT INTO refunds(refund_id,order_id,amount_fen,refunded_at,tick,points,growth,unrecovered,lot) "
    "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)";
constexpr std::string_view kInsertJournal =
    "INSERT INTO loyalty_journal(tick,member_id,kind,at,points,lot,from_value,to_value,note) "
    "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)";
constexpr std::string_view kUpsertSetting = "INSERT OR REPLACE INTO settings(key,value) VALUES(?1,?2)";
constexpr std::string_view kInsertMerge = "INSERT INTO merges(survivor,merged,at,reason) VALUES(?1,?2,?3,?4)";
constexpr std::string_view kUpsertStore = "INSERT OR REPLACE INTO stores(id,name,city,lat,lng) VALUES(?1,?2,?3,?4,?5)";
constexpr std::string_view kUpsertStaff = "INSERT OR REPLACE INTO staff(id,name,store) VALUES(?1,?2,?3)";
constexpr std::string_view kUpsertProduct =
    "INSERT OR REPLACE INTO products(sku,name,category,price_fen) VALUES(?1,?2,?3,?4)";
constexpr std::string_view kUpsertCategory = "INSERT OR REPLACE INTO categories(id,name,parent) VALUES(?1,?2,?3)";
constexpr std::string_view kPutIdempotency =
    "INSERT OR REPLACE INTO idempotency(key,status,body,at,request_digest) VALUES(?1,?2,?3,?4,?5)";
constexpr std::string_view kInsertTagOperation =
    "INSERT INTO tag_operations(id,tag,added,by_whom,at,note,members) VALUES(?1,?2,?3,?4,?5,?6,?7)";
constexpr std::string_view kInsertSnapshot =
    "INSERT INTO snapshots(id,name,expr,by_whom,at,count,members) VALUES(?1,?2,?3,?4,?5,?6,?7)";
constexpr std::string_view kInsertCouponEvent =
    "INSERT INTO coupon_events(id,kind,code,template_id,member_id,occasion,order_id,at,until) "
    "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)";

// Load reads every table in primary-key order, which SQLite serves by walking
// the table's own b-tree: no sort, no temporary table, constant memory however
// many rows there are. The tick-ordered tables select their tick first
// (TickStream reads it there).
constexpr std::string_view kSelectStores = "SELECT id,name,city,lat,lng FROM stores ORDER BY id";
constexpr std::string_view kSelectStaff = "SELECT id,name,store FROM staff ORDER BY id";
constexpr std::string_view kSelectProducts = "SELECT sku,name,category,price_fen FROM products ORDER BY sku";
constexpr std::string_view kSelectCategories = "SELECT id,name,parent FROM categories ORDER BY id";
constexpr std::string_view kSelectMembers =
    "SELECT member_id,name,gender,birthday,city,home_store,source,owner_staff,registered_at,merged_into,created_at,"
    "identities,event_digests FROM members ORDER BY member_id";
constexpr std::string_view kSelectSettings = "SELECT key,value FROM settings ORDER BY key";
constexpr std::string_view kSelectMerges = "SELECT survivor,merged,at,reason FROM merges ORDER BY seq";
constexpr std::string_view kSelectOrders =
    "SELECT tick,order_id,member_id,channel,store,staff,payment,paid_at,paid_fen,items,"
    "points,growth,rate_bp,growth_per_yuan,lot FROM orders ORDER BY seq";
constexpr std::string_view kSelectRefunds =
    "SELECT tick,refund_id,order_id,amount_fen,refunded_at,points,growth,unrecovered,lot FROM refunds ORDER BY seq";
constexpr std::string_view kSelectJournal =
    "SELECT tick,member_id,kind,at,points,lot,from_value,to_value,note FROM loyalty_journal ORDER BY tick";
constexpr std::string_view kSelectIdempotency =
    "SELECT key,status,body,at,request_digest FROM idempotency ORDER BY key";
constexpr std::string_view kSelectTagOperations =
    "SELECT id,tag,added,by_whom,at,note,members FROM tag_operations ORDER BY id";
constexpr std::string_view kSelectSnapshots = "SELECT id,name,expr,by_whom,at,count,members FROM snapshots ORDER BY id";
constexpr std::string_view kInsertActivityEvent =
    "INSERT INTO activity_events(id,activity_id,kind,member_id,ref,at,detail) VALUES(?,?,?,?,?,?,?)";
constexpr std::string_view kSelectActivityEvents =
    "SELECT id,activity_id,kind,member_id,ref,at,detail FROM activity_events ORDER BY id";
constexpr std::string_view kSelectCouponEvents =
    "SELECT id,kind,code,template_id,member_id,occasion,order_id,at,until FROM coupon_events ORDER BY id";

// Binds one row's parameters, remembering the first failure so a row is
// never stepped with a parameter left over from the previous row. Strings
// are bound SQLITE_STATIC: they outlive the step that reads them.
class Binder {
 public:
  explicit Binder(sqlite3_stmt* stmt) : stmt_(stmt) {}

  void Int(int i, int64_t v) { Note(sqlite3_bind_int64(stmt_, i, v)); }
  void Text(int i, const std::string& v) {
    Note(sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8));
  }
  void Blob(int i, const std::string& v) { Note(sqlite3_bind_blob64(stmt_, i, v.data(), v.size(), SQLITE_STATIC)); }
  void OptText(int i, const std::optional<std::string>& v) { v ? Text(i, *v) : Null(i); }
  void OptInt(int i, std::optional<int64_t> v) { v ? Int(i, *v) : Null(i); }
  void OptReal(int i, std::optional<double> v) { v ? Note(sqlite3_bind_double(stmt_, i, *v)) : Null(i); }
  void Null(int i) { Note(sqlite3_bind_null(stmt_, i)); }

  int rc() const { return rc_; }

 private:
  void Note(int rc) {
    if (rc_ == SQLITE_OK) rc_ = rc;
  }

  sqlite3_stmt* stmt_;
  int rc_ = SQLITE_OK;
};

// `identities` and `digests` are the caller's scratch buffers; they must stay
// untouched until the row is stepped.
void BindMember(Binder& b, const MemberRow& r, std::string& identities, std::string& digests) {
  const MemberProfile& p = r.profile;
  b.Int(1, r.member_id);
  b.OptText(2, p.name);
  b.OptInt(3, p.gender ? std::optional<int64_t>(static_cast<int64_t>(*p.gender)) : std::nullopt);
  b.OptInt(4, p.birthday ? std::optional<int64_t>(p.birthday->days()) : std::nullopt);
  b.OptText(5, p.city);
  b.OptText(6, p.home_store);
  b.OptText(7, p.source);
  b.OptText(8, p.owner_staff);
  b.OptInt(9, p.registered_at ? std::optional<int64_t>(p.registered_at->micros()) : std::nullopt);
  b.Int(10, r.merged_into);
  b.Int(11, r.created_at.micros());
  EncodeIdentities(r.identities, identities);
  b.Blob(12, identities);
  EncodeDigests(r.event_digests, digests);
  b.Blob(13, digests);
}

// Parameters 1-9 of kInsertOrder and kInsertRawOrder. `items` is the
// caller's scratch buffer; it must stay untouched until the row is stepped.
void BindOrder(Binder& b, const OrderRow& r, std::string& items) {
  const OrderEvent& o = r.order;
  EncodeItems(o.items, items);
  b.Text(1, o.order_id);
  b.Int(2, r.member_id);
  b.Int(3, static_cast<int64_t>(o.channel));
  b.Text(4, o.store);
  b.Text(5, o.staff);
  b.Text(6, o.payment);
  b.Int(7, o.paid_at.micros());
  b.Int(8, o.paid.fen());
  b.Blob(9, items);
}

// Parameters 10-15 of kInsertOrder. An order takes back nothing, so it has no
// `unrecovered`.
void BindOrderLoyalty(Binder& b, const LoyaltyEffect& e) {
  b.Int(10, e.tick);
  b.Int(11, e.points);
  b.Int(12, e.growth);
  b.Int(13, e.rate_bp);
  b.Int(14, e.growth_per_yuan);
  b.Int(15, e.lot.micros());
}

// A refund reuses its order's earning terms, so it stores none of its own.
void BindRefund(Binder& b, const RefundRow& r) {
  b.Text(1, r.refund.refund_id);
  b.Text(2, r.refund.order_id);
  b.Int(3, r.refund.amount.fen());
  b.Int(4, r.refund.refunded_at.micros());
  b.Int(5, r.loyalty.tick);
  b.Int(6, r.loyalty.points);
  b.Int(7, r.loyalty.growth);
  b.Int(8, r.loyalty.unrecovered);
  b.Int(9, r.loyalty.lot.micros());
}

void BindJournal(Binder& b, const JournalRow& r) {
  b.Int(1, r.tick);
  b.Int(2, r.member_id);
  b.Int(3, static_cast<int64_t>(r.kind));
  b.Int(4, r.at.micros());
  b.Int(5, r.points);
  b.Int(6, r.lot.micros());
  b.Text(7, r.from);
  b.Text(8, r.to);
  b.Text(9, r.note);
}

void BindSetting(Binder& b, const SettingRow& r) {
  b.Text(1, r.key);
  b.Text(2, r.value);
}

void BindMerge(Binder& b, const MergeRow& r) {
  b.Int(1, r.survivor);
  b.Int(2, r.merged);
  b.Int(3, r.at.micros());
  b.Text(4, r.reason);
}

void BindStore(Binder& b, const StoreInfo& r) {
  b.Text(1, r.id);
  b.Text(2, r.name);
  b.Text(3, r.city);
  b.OptReal(4, r.lat);
  b.OptReal(5, r.lng);
}

void BindStaff(Binder& b, const StaffInfo& r) {
  b.Text(1, r.id);
  b.Text(2, r.name);
  b.Text(3, r.store);
}

void BindProduct(Binder& b, const ProductInfo& r) {
  b.Text(1, r.sku);
  b.Text(2, r.name);
  b.Text(3, r.category);
  b.Int(4, r.price.fen());
}

void BindCategory(Binder& b, const CategoryInfo& r) {
  b.Text(1, r.id);
  b.Text(2, r.name);
  b.Text(3, r.parent);
}

void BindIdempotency(Binder& b, const IdempotencyRow& r) {
  b.Text(1, r.key);
  b.Int(2, r.status);
  b.Text(3, r.body);
  b.Int(4, r.at.micros());
  b.Int(5, static_cast<int64_t>(r.request_digest));
}

// `members` is the caller's scratch buffer; it must stay untouched until the
// row is stepped.
void BindTagOperation(Binder& b, const tags::TagOperation& r, std::string& members) {
  b.Int(1, r.id);
  b.Text(2, r.tag);
  b.Int(3, r.add ? 1 : 0);
  b.Text(4, r.by);
  b.Int(5, r.at.micros());
  b.Text(6, r.note);
  members = EncodeIdList(r.members);
  b.Blob(7, members);
}

void BindSnapshot(Binder& b, const SnapshotRow& r) {
  b.Int(1, r.id);
  b.Text(2, r.name);
  b.Text(3, r.expr);
  b.Text(4, r.by);
  b.Int(5, r.at.micros());
  b.Int(6, r.count);
  b.Blob(7, r.members);
}

void BindCouponEvent(Binder& b, const CouponEventRow& r) {
  b.Int(1, r.id);
  b.Text(2, r.kind);
  b.Text(3, r.code);
  b.Int(4, r.template_id);
  b.Int(5, r.member);
  b.Text(6, r.occasion);
  b.Text(7, r.order_id);
  b.Int(8, r.at.micros());
  b.Int(9, r.until.micros());
}

void BindActivityEvent(Binder& b, const ActivityEventRow& r) {
  b.Int(1, r.id);
  b.Int(2, r.activity_id);
  b.Text(3, r.kind);
  b.Int(4, r.member);
  b.Int(5, r.ref);
  b.Int(6, r.at.micros());
  b.Text(7, r.detail);
}

// The key of a row that failed, for the Status context. Identity values and
// idempotency keys are left out: they may be phone numbers or client tokens.
void AddRowKey(Status& s, const MemberRow& r) { s.With("member_id", std::to_string(r.member_id)); }
void AddRowKey(Status& s, const OrderRow& r) { s.With("order_id", r.order.order_id); }
void AddRowKey(Status& s, const RefundRow& r) { s.With("refund_id", r.refund.refund_id); }
void AddRowKey(Status& s, const JournalRow& r) { s.With("tick", std::to_string(r.tick)); }
void AddRowKey(Status& s, const SettingRow& r) { s.With("setting", r.key); }
void AddRowKey(Status& s, const MergeRow& r) { s.With("merged", std::to_string(r.merged)); }
void AddRowKey(Status& s, const StoreInfo& r) { s.With("store_id", r.id); }
void AddRowKey(Status& s, const StaffInfo& r) { s.With("staff_id", r.id); }
void AddRowKey(Status& s, const ProductInfo& r) { s.With("sku", r.sku); }
void AddRowKey(Status& s, const CategoryInfo& r) { s.With("category_id", r.id); }
void AddRowKey(Status&, const IdempotencyRow&) {}
void AddRowKey(Status& s, const tags::TagOperation& r) { s.With("id", std::to_string(r.id)); }
void AddRowKey(Status& s, const SnapshotRow& r) { s.With("id", std::to_string(r.id)); }
void AddRowKey(Status& s, const CouponEventRow& r) { s.With("coupon_event", std::to_string(r.id)); }
void AddRowKey(Status& s, const ActivityEventRow& r) { s.With("activity_event", std::to_string(r.id)); }

// Steps `stmt` once per row of `rows`; stops at the first failure. The
// statement is reset after every row so none is left active, which ROLLBACK
// and the next Commit rely on.
template <typename Rows, typename BindRow>
Status InsertRows(sqlite3* db, sqlite3_stmt* stmt, std::string_view table, const Rows& rows, BindRow&& bind) {
  for (const auto& row : rows) {
    Binder binder(stmt);
    bind(binder, row);
    int rc = binder.rc();
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) {
      Status s = SqliteStatus(db, rc, "insert into", table);
      sqlite3_reset(stmt);
      AddRowKey(s, row);
      return s;
    }
    sqlite3_reset(stmt);
  }
  return Status::Ok();
}

// Column readers for Load.
std::string ColumnText(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s, i))) : std::string();
}

std::optional<std::string> ColumnOptText(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
  return ColumnText(s, i);
}

std::optional<int64_t> ColumnOptInt(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(s, i);
}

std::optional<double> ColumnOptReal(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_double(s, i);
}

std::string_view ColumnBlob(sqlite3_stmt* s, int i) {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(s, i));
  return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(s, i))) : std::string_view();
}

Timestamp ColumnTime(sqlite3_stmt* s, int i) { return Timestamp::FromMicros(sqlite3_column_int64(s, i)); }

// Enums are checked on the way in from disk: the rest of Pond indexes name
// tables by them.
Status Corrupt(std::string_view table, std::string_view column, int64_t value) {
  return Internal("corrupt value in " + std::string(table) + "." + std::string(column))
      .With("table", std::string(table))
      .With("value", std::to_string(value));
}

// Steps `sql` to the end, handing each row to `on_row`, which may stop the
// scan with an error.
template <typename OnRow>
Status ForEachRow(sqlite3* db, std::string_view sql, std::string_view table, OnRow&& on_row) {
  ASSIGN_OR_RETURN(StmtHandle stmt, Prepare(db, sql, table, false));
  for (;;) {
    int rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_DONE) return Status::Ok();
    if (rc != SQLITE_ROW) return SqliteStatus(db, rc, "read", table);
    RETURN_IF_ERROR(on_row(stmt.get()));
  }
}

// Readers of one row of kSelectOrders, kSelectRefunds and kSelectJournal,
// which hand it to the sink.
Status EmitOrder(sqlite3_stmt* s, LoadSink& sink) {
  OrderRow row;
  OrderEvent& o = row.order;
  o.order_id = ColumnText(s, 1);
  row.member_id = sqlite3_column_int64(s, 2);
  const int64_t channel = sqlite3_column_int64(s, 3);
  if (channel < 0 || channel >= kChannels) return Corrupt("orders", "channel", channel).With("order_id", o.order_id);
  o.channel = static_cast<Channel>(channel);
  o.store = ColumnText(s, 4);
  o.staff = ColumnText(s, 5);
  o.payment = ColumnText(s, 6);
  o.paid_at = ColumnTime(s, 7);
  o.paid = Money::Fen(sqlite3_column_int64(s, 8));
  if (!DecodeItems(ColumnBlob(s, 9), o.items)) {
    return Internal("corrupt items in orders.items").With("table", "orders").With("order_id", o.order_id);
  }
  LoyaltyEffect& e = row.loyalty;
  e.tick = sqlite3_column_int64(s, 0);
  e.points = sqlite3_column_int64(s, 10);
  e.growth = sqlite3_column_int64(s, 11);
  e.rate_bp = sqlite3_column_int64(s, 12);
  e.growth_per_yuan = sqlite3_column_int64(s, 13);
  e.lot = ColumnTime(s, 14);
  sink.OnOrder(std::move(row));
  return Status::Ok();
}

Status EmitRefund(sqlite3_stmt* s, LoadSink& sink) {
  RefundRow row;
  row.refund = {ColumnText(s, 1), ColumnText(s, 2), Money::Fen(sqlite3_column_int64(s, 3)), ColumnTime(s, 4)};
  LoyaltyEffect& e = row.loyalty;
  e.tick = sqlite3_column_int64(s, 0);
  e.points = sqlite3_column_int64(s, 5);
  e.growth = sqlite3_column_int64(s, 6);
  e.unrecovered = sqlite3_column_int64(s, 7);
  e.lot = ColumnTime(s, 8);
  sink.OnRefund(std::move(row));
  return Status::Ok();
}

Status EmitJournal(sqlite3_stmt* s, LoadSink& sink) {
  JournalRow row;
  row.tick = sqlite3_column_int64(s, 0);
  row.member_id = sqlite3_column_int64(s, 1);
  const int64_t kind = sqlite3_column_int64(s, 2);
  if (kind < 0 || kind >= kJournalKinds) {
    return Corrupt("loyalty_journal", "kind", kind).With("tick", std::to_string(row.tick));
  }
  row.kind = static_cast<JournalKind>(kind);
  row.at = ColumnTime(s, 3);
  row.points = sqlite3_column_int64(s, 4);
  row.lot = ColumnTime(s, 5);
  row.from = ColumnText(s, 6);
  row.to = ColumnText(s, 7);
  row.note = ColumnText(s, 8);
  sink.OnJournal(std::move(row));
  return Status::Ok();
}

// One of the tables Load interleaves by tick, read one row ahead so that
// Load can tell which table's row comes next. The table's SELECT has the
// tick in column 0.
class TickStream {
 public:
  using Emit = Status (*)(sqlite3_stmt*, LoadSink&);

  static Result<TickStream> Open(sqlite3* db, std::string_view sql, std::string_view table, Emit emit) {
    ASSIGN_OR_RETURN(StmtHandle stmt, Prepare(db, sql, table, false));
    TickStream stream(db, std::move(stmt), table, emit);
    RETURN_IF_ERROR(stream.Step());
    return stream;
  }

  bool done() const { return done_; }
  int64_t tick() const { return sqlite3_column_int64(stmt_.get(), 0); }

  // Hands the current row to `sink` and reads the next one.
  Status EmitAndStep(LoadSink& sink) {
    RETURN_IF_ERROR(emit_(stmt_.get(), sink));
    return Step();
  }

 private:
  TickStream(sqlite3* db, StmtHandle stmt, std::string_view table, Emit emit)
      : db_(db), stmt_(std::move(stmt)), table_(table), emit_(emit) {}

  Status Step() {
    const int rc = sqlite3_step(stmt_.get());
    done_ = rc == SQLITE_DONE;
    if (rc != SQLITE_ROW && !done_) return SqliteStatus(db_, rc, "read", table_);
    return Status::Ok();
  }

  sqlite3* db_;
  StmtHandle stmt_;
  std::string_view table_;
  Emit emit_;
  bool done_ = false;
};

struct Statements {
  StmtHandle member, order, refund, journal, setting, merge, store, staff, product, category, idempotency;
  StmtHandle tag_operation, snapshot, coupon_event, activity_event;
};

class SqliteTenantStore final : public TenantStore {
 public:
  SqliteTenantStore(DbHandle db, Statements stmts, std::unique_ptr<Checkpointer> checkpointer, CommitFault fault)
      : db_(std::move(db)), stmts_(std::move(stmts)), checkpointer_(std::move(checkpointer)), fault_(std::move(fault)) {}

  Status Commit(const WriteBatch& batch) override;
  Status Load(LoadSink& sink) override;

 private:
  Status Fault(std::string_view stage) const { return fault_ ? fault_(stage) : Status::Ok(); }
  Status LoadMasterData(LoadSink& sink);
  Status LoadSettings(LoadSink& sink);
  Status LoadMembers(LoadSink& sink);
  Status LoadHistory(LoadSink& sink);
  Status LoadByTick(LoadSink& sink);
  Status LoadTagging(LoadSink& sink);

  DbHandle db_;
  Statements stmts_;  // declared after db_ so they are finalized before it closes
  std::unique_ptr<Checkpointer> checkpointer_;  // and stopped before it closes
  CommitFault fault_;
  std::string items_;  // encoding scratch reused by every order
  std::string identities_, digests_;  // and by every member
  std::string id_list_;  // and by every tag operation
};

Status SqliteTenantStore::Commit(const WriteBatch& batch) {
  if (batch.empty()) return Status::Ok();
  sqlite3* db = db_.get();
  Transaction txn(db);
  RETURN_IF_ERROR(txn.Begin("BEGIN IMMEDIATE"));
  RETURN_IF_ERROR(InsertRows(db, stmts_.member.get(), "members", batch.members,
                             [this](Binder& b, const MemberRow& r) { BindMember(b, r, identities_, digests_); }));
  RETURN_IF_ERROR(Fault("members"));
  RETURN_IF_ERROR(InsertRows(db, stmts_.order.get(), "orders", batch.orders, [this](Binder& b, const OrderRow& r) {
    BindOrder(b, r, items_);
    BindOrderLoyalty(b, r.loyalty);
  }));
  RETURN_IF_ERROR(Fault("orders"));
  RETURN_IF_ERROR(InsertRows(db, stmts_.refund.get(), "refunds", batch.refunds, BindRefund));
  RETURN_IF_ERROR(Fault("refunds"));
  RETURN_IF_ERROR(InsertRows(db, stmts_.journal.get(), "loyalty_journal", batch.journal, BindJournal));
  RETURN_IF_ERROR(Fault("journal"));
  RETURN_IF_ERROR(InsertRows(db, stmts_.setting.get(), "settings", batch.settings, BindSetting));
  RETURN_IF_ERROR(Fault("settings"));
  RETURN_IF_ERROR(InsertRows(db, stmts_.merge.get(), "merges", batch.merges, BindMerge));
  RETURN_IF_ERROR(Fault("merges"));
  RETURN_IF_ERROR(InsertRows(db, stmts_.store.get(), "stores", batch.stores, BindStore));
  RETURN_IF_ERROR(Fault("stores"));
  RETURN_IF_ERROR(InsertRows(db, stmts_.staff.get(), "staff", batch.staff, BindStaff));
  RETURN_IF_ERROR(Fault("staff"));
  RETURN_IF_ERROR(InsertRows(db, stmts_.product.get(), "products", batch.products, BindProduct));
  RETURN_IF_ERROR(Fault("products"));
  RETURN_IF_ERROR(InsertRows(db, stmts_.category.get(), "categories", batch.categories, BindCategory));
  RETURN_IF_ERROR(Fault("categories"));
  RETURN_IF_ERROR(InsertRows(db, stmts_.idempotency.get(), "idempotency", batch.idempotency, BindIdempotency));
  RETURN_IF_ERROR(Fault("idempotency"));
  RETURN_IF_ERROR(InsertRows(db, stmts_.tag_operation.get(), "tag_operations", batch.tag_operations,
                             [this](Binder& b, const tags::TagOperation& r) { BindTagOperation(b, r, id_list_); }));
  RETURN_IF_ERROR(Fault("tag_operations"));
  RETURN_IF_ERROR(InsertRows(db, stmts_.snapshot.get(), "snapshots", batch.snapshots, BindSnapshot));
  RETURN_IF_ERROR(Fault("snapshots"));
  RETURN_IF_ERROR(InsertRows(db, stmts_.coupon_event.get(), "coupon_events", batch.coupon_events, BindCouponEvent));
  RETURN_IF_ERROR(Fault("coupon_events"));
  RETURN_IF_ERROR(
      InsertRows(db, stmts_.activity_event.get(), "activity_events", batch.activity_events, BindActivityEvent));
  RETURN_IF_ERROR(Fault("activity_events"));
  RETURN_IF_ERROR(Fault("commit"));
  return txn.Commit();
}

Status SqliteTenantStore::Load(LoadSink& sink) {
  // One read transaction: every table is read from the same snapshot.
  Transaction txn(db_.get());
  RETURN_IF_ERROR(txn.Begin("BEGIN"));
  RETURN_IF_ERROR(LoadMasterData(sink));
  RETURN_IF_ERROR(LoadSettings(sink));
  RETURN_IF_ERROR(LoadMembers(sink));
  RETURN_IF_ERROR(LoadHistory(sink));
  return txn.Commit();
}

Status SqliteTenantStore::LoadMasterData(LoadSink& sink) {
  sqlite3* db = db_.get();
  RETURN_IF_ERROR(ForEachRow(db, kSelectStores, "stores", [&](sqlite3_stmt* s) {
    sink.OnStore({ColumnText(s, 0), ColumnText(s, 1), ColumnText(s, 2), ColumnOptReal(s, 3), ColumnOptReal(s, 4)});
    return Status::Ok();
  }));
  RETURN_IF_ERROR(ForEachRow(db, kSelectStaff, "staff", [&](sqlite3_stmt* s) {
    sink.OnStaff({ColumnText(s, 0), ColumnText(s, 1), ColumnText(s, 2)});
    return Status::Ok();
  }));
  RETURN_IF_ERROR(ForEachRow(db, kSelectProducts, "products", [&](sqlite3_stmt* s) {
    sink.OnProduct({ColumnText(s, 0), ColumnText(s, 1), ColumnText(s, 2), Money::Fen(sqlite3_column_int64(s, 3))});
    return Status::Ok();
  }));
  return ForEachRow(db, kSelectCategories, "categories", [&](sqlite3_stmt* s) {
    sink.OnCategory({ColumnText(s, 0), ColumnText(s, 1), ColumnText(s, 2)});
    return Status::Ok();
  });
}

Status SqliteTenantStore::LoadSettings(LoadSink& sink) {
  return ForEachRow(db_.get(), kSelectSettings, "settings", [&](sqlite3_stmt* s) {
    sink.OnSetting({ColumnText(s, 0), ColumnText(s, 1)});
    return Status::Ok();
  });
}

Status SqliteTenantStore::LoadMembers(LoadSink& sink) {
  sqlite3* db = db_.get();
  return ForEachRow(db, kSelectMembers, "members", [&](sqlite3_stmt* s) -> Status {
    MemberRow row;
    row.member_id = sqlite3_column_int64(s, 0);
    MemberProfile& p = row.profile;
    p.name = ColumnOptText(s, 1);
    if (std::optional<int64_t> gender = ColumnOptInt(s, 2)) {
      if (*gender < 0 || *gender > static_cast<int64_t>(Gender::kMale)) {
        return Corrupt("members", "gender", *gender).With("member_id", std::to_string(row.member_id));
      }
      p.gender = static_cast<Gender>(*gender);
    }
    if (std::optional<int64_t> days = ColumnOptInt(s, 3)) p.birthday = LocalDate::FromDays(static_cast<int32_t>(*days));
    p.city = ColumnOptText(s, 4);
    p.home_store = ColumnOptText(s, 5);
    p.source = ColumnOptText(s, 6);
    p.owner_staff = ColumnOptText(s, 7);
    if (std::optional<int64_t> at = ColumnOptInt(s, 8)) p.registered_at = Timestamp::FromMicros(*at);
    row.merged_into = sqlite3_column_int64(s, 9);
    row.created_at = ColumnTime(s, 10);
    if (!DecodeIdentities(ColumnBlob(s, 11), row.identities) || !DecodeDigests(ColumnBlob(s, 12), row.event_digests)) {
      return Internal("corrupt identities or event digests in members")
          .With("table", "members")
          .With("member_id", std::to_string(row.member_id));
    }
    sink.OnMember(std::move(row));
    return Status::Ok();
  });
}

Status SqliteTenantStore::LoadHistory(LoadSink& sink) {
  sqlite3* db = db_.get();
  RETURN_IF_ERROR(ForEachRow(db, kSelectMerges, "merges", [&](sqlite3_stmt* s) {
    sink.OnMerge({sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), ColumnTime(s, 2), ColumnText(s, 3)});
    return Status::Ok();
  }));
  RETURN_IF_ERROR(LoadByTick(sink));
  RETURN_IF_ERROR(LoadTagging(sink));
  RETURN_IF_ERROR(ForEachRow(db, kSelectCouponEvents, "coupon_events", [&](sqlite3_stmt* s) {
    sink.OnCouponEvent({sqlite3_column_int64(s, 0), ColumnText(s, 1), ColumnText(s, 2), sqlite3_column_int64(s, 3),
                        sqlite3_column_int64(s, 4), ColumnText(s, 5), ColumnText(s, 6), ColumnTime(s, 7),
                        ColumnTime(s, 8)});
    return Status::Ok();
  }));
  RETURN_IF_ERROR(ForEachRow(db, kSelectActivityEvents, "activity_events", [&](sqlite3_stmt* s) {
    sink.OnActivityEvent({sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), ColumnText(s, 2),
                          sqlite3_column_int64(s, 3), sqlite3_column_int64(s, 4), ColumnTime(s, 5), ColumnText(s, 6)});
    return Status::Ok();
  }));
  return ForEachRow(db, kSelectIdempotency, "idempotency", [&](sqlite3_stmt* s) {
    sink.OnIdempotency({ColumnText(s, 0), sqlite3_column_int(s, 1), ColumnText(s, 2), ColumnTime(s, 3),
                        static_cast<uint64_t>(sqlite3_column_int64(s, 4))});
    return Status::Ok();
  });
}

// Merges orders, refunds and journal rows by tick. Each table's tick grows
// with its own order (the engine hands them out in the order it writes), so
// stepping the three SELECTs side by side is enough: no sort, constant memory.
Status SqliteTenantStore::LoadByTick(LoadSink& sink) {
  sqlite3* db = db_.get();
  ASSIGN_OR_RETURN(TickStream orders, TickStream::Open(db, kSelectOrders, "orders", EmitOrder));
  ASSIGN_OR_RETURN(TickStream refunds, TickStream::Open(db, kSelectRefunds, "refunds", EmitRefund));
  ASSIGN_OR_RETURN(TickStream journal, TickStream::Open(db, kSelectJournal, "loyalty_journal", EmitJournal));
  return storage_codec::MergeByTick(orders, refunds, journal, sink);
}

Status SqliteTenantStore::LoadTagging(LoadSink& sink) {
  sqlite3* db = db_.get();
  RETURN_IF_ERROR(ForEachRow(db, kSelectTagOperations, "tag_operations", [&](sqlite3_stmt* s) -> Status {
    tags::TagOperation row;
    row.id = sqlite3_column_int64(s, 0);
    row.tag = ColumnText(s, 1);
    const int64_t added = sqlite3_column_int64(s, 2);
    if (added != 0 && added != 1) return Corrupt("tag_operations", "added", added).With("id", std::to_string(row.id));
    row.add = added == 1;
    row.by = ColumnText(s, 3);
    row.at = ColumnTime(s, 4);
    row.note = ColumnText(s, 5);
    Result<std::vector<int64_t>> members = DecodeIdList(ColumnBlob(s, 6));
    if (!members.ok()) {
      return Internal("corrupt members in tag_operations.members")
          .With("table", "tag_operations")
          .With("id", std::to_string(row.id));
    }
    row.members = std::move(members).value();
    sink.OnTagOperation(std::move(row));
    return Status::Ok();
  }));
  // A snapshot's members pass through encoded, as store.hpp hands them over
  // both ways: decoding a 10 M member audience only to check it would cost
  // every load for lists the engine keeps encoded anyway.
  return ForEachRow(db, kSelectSnapshots, "snapshots", [&](sqlite3_stmt* s) {
    sink.OnSnapshot({sqlite3_column_int64(s, 0), ColumnText(s, 1), ColumnText(s, 2), ColumnText(s, 3),
                     ColumnTime(s, 4), sqlite3_column_int64(s, 5), std::string(ColumnBlob(s, 6))});
    return Status::Ok();
  });
}

Status BulkLoadOrders(const std::string& db_path, const std::vector<OrderRow>& rows, size_t batch_size) {
  if (batch_size == 0) return InvalidArgument("batch_size must be > 0");
  std::error_code ec;
  if (std::filesystem::exists(db_path, ec)) {
    return AlreadyExists("raw bulk load needs a fresh file").With("path", db_path);
  }
  ASSIGN_OR_RETURN(DbHandle db, OpenAndMigrate(db_path, kTenantTuning, kOrdersOnlyMigrations));
  ASSIGN_OR_RETURN(StmtHandle insert, Prepare(db.get(), kInsertRawOrder, "orders", true));
  std::string items;
  auto bind = [&items](Binder& b, const OrderRow& r) { BindOrder(b, r, items); };
  for (size_t begin = 0; begin < rows.size(); begin += batch_size) {
    const std::span<const OrderRow> chunk(rows.data() + begin, std::min(batch_size, rows.size() - begin));
    Transaction txn(db.get());
    RETURN_IF_ERROR(txn.Begin("BEGIN IMMEDIATE"));
    RETURN_IF_ERROR(InsertRows(db.get(), insert.get(), "orders", chunk, bind));
    RETURN_IF_ERROR(txn.Commit());
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<TenantStore>> OpenTenantDb(const std::string& path, CommitFault fault,
                                                  Checkpointer::Limits checkpoints) {
  ASSIGN_OR_RETURN(DbHandle db, OpenAndMigrate(path, kTenantTuning, kTenantMigrations));
  sqlite3* raw = db.get();
  Statements st;
  ASSIGN_OR_RETURN(st.member, Prepare(raw, kUpsertMember, "members", true));
  ASSIGN_OR_RETURN(st.order, Prepare(raw, kInsertOrder, "orders", true));
  ASSIGN_OR_RETURN(st.refund, Prepare(raw, kInsertRefund, "refunds", true));
  ASSIGN_OR_RETURN(st.journal, Prepare(raw, kInsertJournal, "loyalty_journal", true));
  ASSIGN_OR_RETURN(st.setting, Prepare(raw, kUpsertSetting, "settings", true));
  ASSIGN_OR_RETURN(st.merge, Prepare(raw, kInsertMerge, "merges", true));
  ASSIGN_OR_RETURN(st.store, Prepare(raw, kUpsertStore, "stores", true));
  ASSIGN_OR_RETURN(st.staff, Prepare(raw, kUpsertStaff, "staff", true));
  ASSIGN_OR_RETURN(st.product, Prepare(raw, kUpsertProduct, "products", true));
  ASSIGN_OR_RETURN(st.category, Prepare(raw, kUpsertCategory, "categories", true));
  ASSIGN_OR_RETURN(st.idempotency, Prepare(raw, kPutIdempotency, "idempotency", true));
  ASSIGN_OR_RETURN(st.tag_operation, Prepare(raw, kInsertTagOperation, "tag_operations", true));
  ASSIGN_OR_RETURN(st.snapshot, Prepare(raw, kInsertSnapshot, "snapshots", true));
  ASSIGN_OR_RETURN(st.coupon_event, Prepare(raw, kInsertCouponEvent, "coupon_events", true));
  ASSIGN_OR_RETURN(st.activity_event, Prepare(raw, kInsertActivityEvent, "activity_events", true));
  ASSIGN_OR_RETURN(auto checkpointer, Checkpointer::Start(raw, path, checkpoints));
  return std::unique_ptr<TenantStore>(std::make_unique<SqliteTenantStore>(std::move(db), std::move(st),
                                                                          std::move(checkpointer), std::move(fault)));
}

std::span<const Migration> TenantMigrations() { return kTenantMigrations; }

}  // namespace sqlite_internal

Status RawBulkLoadOrders(const std::string& db_path, const std::vector<OrderRow>& rows, size_t batch_size) {
  return sqlite_internal::BulkLoadOrders(db_path, rows, batch_size);
}

}  // namespace pond
