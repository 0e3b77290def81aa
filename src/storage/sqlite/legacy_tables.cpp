// The tables of tenant schema steps 1-6 (one table per kind of row, before
// the journal) and the migration step that converts them into journal and
// state rows. Frozen: the SQL here is what older builds wrote, and the
// readers are how those builds loaded it.
//
// The rows become journal and state rows as journal/legacy.hpp says.
#include <sqlite3.h>

#include <optional>
#include <string>
#include <utility>

#include "core/id_list.hpp"
#include "journal/codec.hpp"
#include "journal/legacy.hpp"
#include "journal/list_codec.hpp"
#include "storage/sqlite/internal/rows_sql.hpp"

namespace pond::sqlite_internal {
namespace {

using journal::DecodeDigests;
using journal::MergeByTick;
using journal::DecodeIdentities;
using journal::DecodeItems;

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


// The reads of older builds' Load, each table in primary-key order.
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
constexpr std::string_view kSelectActivityEvents =
    "SELECT id,activity_id,kind,member_id,ref,at,detail FROM activity_events ORDER BY id";
constexpr std::string_view kSelectCouponEvents =
    "SELECT id,kind,code,template_id,member_id,occasion,order_id,at,until FROM coupon_events ORDER BY id";

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


Timestamp ColumnTime(sqlite3_stmt* s, int i) { return Timestamp::FromMicros(sqlite3_column_int64(s, i)); }

// Enums are checked on the way in from disk: the rest of Pond indexes name
// tables by them.
Status Corrupt(std::string_view table, std::string_view column, int64_t value) {
  return Internal("corrupt value in " + std::string(table) + "." + std::string(column))
      .With("table", std::string(table))
      .With("value", std::to_string(value));
}

// Readers of one row of kSelectOrders, kSelectRefunds and kSelectJournal,
// which hand it to the sink.
Status EmitOrder(sqlite3_stmt* s, journal::LegacyRows& sink) {
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
  return sink.OnOrder(row);
}

Status EmitRefund(sqlite3_stmt* s, journal::LegacyRows& sink) {
  RefundRow row;
  row.refund = {ColumnText(s, 1), ColumnText(s, 2), Money::Fen(sqlite3_column_int64(s, 3)), ColumnTime(s, 4)};
  LoyaltyEffect& e = row.loyalty;
  e.tick = sqlite3_column_int64(s, 0);
  e.points = sqlite3_column_int64(s, 5);
  e.growth = sqlite3_column_int64(s, 6);
  e.unrecovered = sqlite3_column_int64(s, 7);
  e.lot = ColumnTime(s, 8);
  return sink.OnRefund(row);
}

Status EmitJournal(sqlite3_stmt* s, journal::LegacyRows& sink) {
  LoyaltyRow row;
  row.tick = sqlite3_column_int64(s, 0);
  row.member_id = sqlite3_column_int64(s, 1);
  const int64_t kind = sqlite3_column_int64(s, 2);
  if (kind < 0 || kind >= kLoyaltyKinds) {
    return Corrupt("loyalty_journal", "kind", kind).With("tick", std::to_string(row.tick));
  }
  row.kind = static_cast<LoyaltyKind>(kind);
  row.at = ColumnTime(s, 3);
  row.points = sqlite3_column_int64(s, 4);
  row.lot = ColumnTime(s, 5);
  row.from = ColumnText(s, 6);
  row.to = ColumnText(s, 7);
  row.note = ColumnText(s, 8);
  return sink.OnLoyalty(row);
}

// One of the tables Load interleaves by tick, read one row ahead so that
// Load can tell which table's row comes next. The table's SELECT has the
// tick in column 0.
class TickStream {
 public:
  using Emit = Status (*)(sqlite3_stmt*, journal::LegacyRows&);

  static Result<TickStream> Open(sqlite3* db, std::string_view sql, std::string_view table, Emit emit) {
    ASSIGN_OR_RETURN(StmtHandle stmt, Prepare(db, sql, table, false));
    TickStream stream(db, std::move(stmt), table, emit);
    RETURN_IF_ERROR(stream.Step());
    return stream;
  }

  bool done() const { return done_; }
  int64_t tick() const { return sqlite3_column_int64(stmt_.get(), 0); }

  // Hands the current row to `sink` and reads the next one.
  Status EmitAndStep(journal::LegacyRows& sink) {
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

Status LoadMasterData(sqlite3* db, journal::LegacyRows& sink) {
  RETURN_IF_ERROR(ForEachRow(db, kSelectStores, "stores", [&](sqlite3_stmt* s) {
    return sink.OnStore({ColumnText(s, 0), ColumnText(s, 1), ColumnText(s, 2), ColumnOptReal(s, 3), ColumnOptReal(s, 4)});
  }));
  RETURN_IF_ERROR(ForEachRow(db, kSelectStaff, "staff", [&](sqlite3_stmt* s) {
    return sink.OnStaff({ColumnText(s, 0), ColumnText(s, 1), ColumnText(s, 2)});
  }));
  RETURN_IF_ERROR(ForEachRow(db, kSelectProducts, "products", [&](sqlite3_stmt* s) {
    return sink.OnProduct({ColumnText(s, 0), ColumnText(s, 1), ColumnText(s, 2), Money::Fen(sqlite3_column_int64(s, 3))});
  }));
  return ForEachRow(db, kSelectCategories, "categories", [&](sqlite3_stmt* s) {
    return sink.OnCategory({ColumnText(s, 0), ColumnText(s, 1), ColumnText(s, 2)});
  });
}

Status LoadSettings(sqlite3* db, journal::LegacyRows& sink) {
  return ForEachRow(db, kSelectSettings, "settings", [&](sqlite3_stmt* s) {
    return sink.OnSetting({ColumnText(s, 0), ColumnText(s, 1)});
  });
}

Status LoadMembers(sqlite3* db, journal::LegacyRows& sink) {
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
    return sink.OnMember(std::move(row));
  });
}

// Merges orders, refunds and journal rows by tick. Each table's tick grows
// with its own order (the engine hands them out in the order it writes), so
// stepping the three SELECTs side by side is enough: no sort, constant memory.
Status LoadByTick(sqlite3* db, journal::LegacyRows& sink) {
  ASSIGN_OR_RETURN(TickStream orders, TickStream::Open(db, kSelectOrders, "orders", EmitOrder));
  ASSIGN_OR_RETURN(TickStream refunds, TickStream::Open(db, kSelectRefunds, "refunds", EmitRefund));
  ASSIGN_OR_RETURN(TickStream journal, TickStream::Open(db, kSelectJournal, "loyalty_journal", EmitJournal));
  return MergeByTick(orders, refunds, journal, sink);
}

Status LoadTagging(sqlite3* db, journal::LegacyRows& sink) {
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
    return sink.OnTagOperation(std::move(row));
  }));
  // A snapshot's members pass through encoded, as store.hpp hands them over
  // both ways: decoding a 10 M member audience only to check it would cost
  // every load for lists the engine keeps encoded anyway.
  return ForEachRow(db, kSelectSnapshots, "snapshots", [&](sqlite3_stmt* s) {
    return sink.OnSnapshot({sqlite3_column_int64(s, 0), ColumnText(s, 1), ColumnText(s, 2), ColumnText(s, 3),
                     ColumnTime(s, 4), sqlite3_column_int64(s, 5), std::string(ColumnBlob(s, 6))});
  });
}


Status LoadHistory(sqlite3* db, journal::LegacyRows& sink) {
  RETURN_IF_ERROR(ForEachRow(db, kSelectMerges, "merges", [&](sqlite3_stmt* s) {
    return sink.OnMerge({sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), ColumnTime(s, 2), ColumnText(s, 3)});
  }));
  RETURN_IF_ERROR(LoadByTick(db, sink));
  RETURN_IF_ERROR(LoadTagging(db, sink));
  RETURN_IF_ERROR(ForEachRow(db, kSelectCouponEvents, "coupon_events", [&](sqlite3_stmt* s) {
    return sink.OnCouponEvent({sqlite3_column_int64(s, 0), ColumnText(s, 1), ColumnText(s, 2), sqlite3_column_int64(s, 3),
                        sqlite3_column_int64(s, 4), ColumnText(s, 5), ColumnText(s, 6), ColumnTime(s, 7),
                        ColumnTime(s, 8)});
  }));
  RETURN_IF_ERROR(ForEachRow(db, kSelectActivityEvents, "activity_events", [&](sqlite3_stmt* s) {
    return sink.OnActivityEvent({sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), ColumnText(s, 2),
                          sqlite3_column_int64(s, 3), sqlite3_column_int64(s, 4), ColumnTime(s, 5), ColumnText(s, 6)});
  }));
  return ForEachRow(db, kSelectIdempotency, "idempotency", [&](sqlite3_stmt* s) {
    return sink.OnIdempotency({ColumnText(s, 0), sqlite3_column_int(s, 1), ColumnText(s, 2), ColumnTime(s, 3),
                        static_cast<uint64_t>(sqlite3_column_int64(s, 4))});
  });
}

Result<int64_t> Count(sqlite3* db, std::string_view sql) {
  int64_t n = 0;
  RETURN_IF_ERROR(ForEachRow(db, sql, "schema", [&](sqlite3_stmt* s) {
    n = sqlite3_column_int64(s, 0);
    return Status::Ok();
  }));
  return n;
}

constexpr const char* kDropLegacyTables = R"sql(
DROP TABLE orders; DROP TABLE members; DROP TABLE refunds; DROP TABLE merges; DROP TABLE stores;
DROP TABLE staff; DROP TABLE products; DROP TABLE categories; DROP TABLE idempotency;
DROP TABLE loyalty_journal; DROP TABLE settings; DROP TABLE tag_operations; DROP TABLE snapshots;
DROP TABLE coupon_events; DROP TABLE activity_events;
)sql";

}  // namespace

const Migration kLegacyTenantMigrations[6] = {{kTenantV1}, {kTenantV2}, {kTenantV3},
                                              {kTenantV4}, {kTenantV5}, {kTenantV6}};

Status ConvertLegacyTables(sqlite3* db) {
  // The rows go through the statements Commit uses.
  struct Out final : journal::RowSink {
    explicit Out(RowWriter w) : writer(std::move(w)) {}
    Status Journal(const JournalRow& row) override { return writer.Journal(row); }
    Status State(const StateRow& row) override { return writer.State(row); }
    RowWriter writer;
  };
  ASSIGN_OR_RETURN(const int64_t untimed,
                   Count(db, "SELECT (SELECT count(*) FROM orders WHERE tick=0)+(SELECT count(*) FROM refunds "
                             "WHERE tick=0)+(SELECT count(*) FROM loyalty_journal WHERE tick=0)"));
  ASSIGN_OR_RETURN(const int64_t last_tick,
                   Count(db, "SELECT max(coalesce((SELECT max(tick) FROM orders),0),coalesce((SELECT max(tick) FROM "
                             "refunds),0),coalesce((SELECT max(tick) FROM loyalty_journal),0))"));
  ASSIGN_OR_RETURN(RowWriter writer, RowWriter::Prepare(db));
  Out out(std::move(writer));
  journal::LegacyRows sink(out, untimed, last_tick);
  RETURN_IF_ERROR(LoadMasterData(db, sink));
  RETURN_IF_ERROR(LoadSettings(db, sink));
  RETURN_IF_ERROR(LoadMembers(db, sink));
  RETURN_IF_ERROR(LoadHistory(db, sink));
  return Exec(db, kDropLegacyTables, "schema");
}

}  // namespace pond::sqlite_internal
