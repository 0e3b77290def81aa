// The tables of tenant schema step 1 (one table per kind of row, as the
// embedded store's steps 1-6 made them, before the journal) and the step
// that converts them into journal and state rows, as journal/legacy.hpp
// says. Frozen: the SQL here is what older builds wrote, and the readers
// are how those builds loaded it.
#include <libpq-fe.h>

#include <string>
#include <utility>

#include "core/id_list.hpp"
#include "journal/codec.hpp"
#include "journal/legacy.hpp"
#include "journal/list_codec.hpp"
#include "storage/postgres/internal/pg_rows.hpp"

namespace pond::pg_internal {
namespace {

constexpr const char* kOrdersTable = R"sql(
CREATE TABLE orders(
  seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- insertion order
  order_id        text NOT NULL UNIQUE,
  member_id       bigint NOT NULL,    -- as resolved on arrival; merges redirect it in memory
  channel         smallint NOT NULL,  -- Channel
  store           text NOT NULL,
  staff           text NOT NULL,
  payment         text NOT NULL,
  paid_at         bigint NOT NULL,
  paid_fen        bigint NOT NULL,
  items           bytea NOT NULL,
  tick            bigint NOT NULL,    -- journal position
  points          bigint NOT NULL,    -- points earned
  growth          bigint NOT NULL,
  rate_bp         bigint NOT NULL,    -- earning terms, reused by its refunds
  growth_per_yuan bigint NOT NULL,
  lot             bigint NOT NULL     -- expiry instant of the lot credited
);
)sql";

constexpr const char* kTenantV1 = R"sql(
CREATE TABLE members(
  member_id     bigint PRIMARY KEY,
  name          text,
  gender        smallint,           -- Gender
  birthday      integer,            -- days
  city          text,
  home_store    text,
  source        text,
  owner_staff   text,
  registered_at bigint,
  merged_into   bigint NOT NULL,    -- 0 while the member stands on its own
  created_at    bigint NOT NULL,
  identities    bytea NOT NULL,     -- those it holds now
  event_digests bytea NOT NULL      -- member events seen
);
CREATE TABLE refunds(
  seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  refund_id   text NOT NULL UNIQUE,
  order_id    text NOT NULL,
  amount_fen  bigint NOT NULL,
  refunded_at bigint NOT NULL,
  tick        bigint NOT NULL,
  points      bigint NOT NULL,      -- change of the balance
  growth      bigint NOT NULL,
  unrecovered bigint NOT NULL,      -- points already spent, not taken back
  lot         bigint NOT NULL       -- expiry instant of the lot debited
);
CREATE TABLE loyalty_journal(
  tick       bigint PRIMARY KEY,    -- journal position, shared with orders and refunds
  member_id  bigint NOT NULL,       -- 0 for a day's end
  kind       smallint NOT NULL,     -- JournalKind
  at         bigint NOT NULL,
  points     bigint NOT NULL,
  lot        bigint NOT NULL,
  from_value text NOT NULL,
  to_value   text NOT NULL,
  note       text NOT NULL
);
CREATE TABLE settings(
  key   text PRIMARY KEY,           -- "loyalty", ...
  value text NOT NULL               -- a JSON document, kept as the engine wrote it
);
CREATE TABLE merges(
  seq      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  survivor bigint NOT NULL,
  merged   bigint NOT NULL,
  at       bigint NOT NULL,
  reason   text NOT NULL
);
CREATE TABLE stores(
  id   text PRIMARY KEY,
  name text NOT NULL,
  city text NOT NULL,
  lat  double precision,            -- WGS-84 degrees, NULL when unknown
  lng  double precision
);
CREATE TABLE staff(id text PRIMARY KEY, name text NOT NULL, store text NOT NULL);
CREATE TABLE products(sku text PRIMARY KEY, name text NOT NULL, category text NOT NULL, price_fen bigint NOT NULL);
CREATE TABLE categories(id text PRIMARY KEY, name text NOT NULL, parent text NOT NULL);
CREATE TABLE idempotency(
  key            text PRIMARY KEY,
  status         integer NOT NULL,  -- HTTP status of the first answer
  body           text NOT NULL,
  at             bigint NOT NULL,
  request_digest bigint NOT NULL    -- HashKey of the request, as signed 64 bits
);
CREATE TABLE tag_operations(
  id      bigint PRIMARY KEY,       -- the engine's, ascending in the order applied
  tag     text NOT NULL,
  added   boolean NOT NULL,
  by_whom text NOT NULL,
  at      bigint NOT NULL,
  note    text NOT NULL,
  members bytea NOT NULL            -- EncodeIdList
);
CREATE TABLE snapshots(
  id      bigint PRIMARY KEY,
  name    text NOT NULL,
  expr    text NOT NULL,
  by_whom text NOT NULL,
  at      bigint NOT NULL,
  count   bigint NOT NULL,
  members bytea NOT NULL            -- EncodeIdList
);
CREATE TABLE coupon_events(
  id          bigint PRIMARY KEY,
  kind        text NOT NULL,        -- issue, lock, unlock, redeem, restore, revoke
  code        text NOT NULL,
  template_id bigint NOT NULL,
  member_id   bigint NOT NULL,
  occasion    text NOT NULL,
  order_id    text NOT NULL,
  at          bigint NOT NULL,
  until       bigint NOT NULL
);
CREATE TABLE activity_events(
  id          bigint PRIMARY KEY,
  activity_id bigint NOT NULL,
  kind        text NOT NULL,        -- take, help, refused
  member_id   bigint NOT NULL,
  ref         bigint NOT NULL,
  at          bigint NOT NULL,
  detail      text NOT NULL
);
)sql";

// Enums are checked on the way in from the database: the rest of Pond
// indexes name tables by them.
Status Corrupt(std::string_view table, std::string_view column, std::string value) {
  return Internal("corrupt value in " + std::string(table) + "." + std::string(column))
      .With("table", std::string(table))
      .With("value", std::move(value));
}

Status LoadMasterData(pg_conn* conn, journal::LegacyRows& sink) {
  RETURN_IF_ERROR(
      ForEachRow(conn, "SELECT id,name,city,lat,lng FROM stores ORDER BY id", "stores", [&](const Rows& r, int i) {
        return sink.OnStore({r.Str(i, 0), r.Str(i, 1), r.Str(i, 2), r.OptReal(i, 3), r.OptReal(i, 4)});
      }));
  RETURN_IF_ERROR(ForEachRow(conn, "SELECT id,name,store FROM staff ORDER BY id", "staff", [&](const Rows& r, int i) {
    return sink.OnStaff({r.Str(i, 0), r.Str(i, 1), r.Str(i, 2)});
  }));
  RETURN_IF_ERROR(ForEachRow(conn, "SELECT sku,name,category,price_fen FROM products ORDER BY sku", "products",
                             [&](const Rows& r, int i) {
                               return sink.OnProduct({r.Str(i, 0), r.Str(i, 1), r.Str(i, 2), Money::Fen(r.Int(i, 3))});
                             }));
  RETURN_IF_ERROR(
      ForEachRow(conn, "SELECT id,name,parent FROM categories ORDER BY id", "categories", [&](const Rows& r, int i) {
        return sink.OnCategory({r.Str(i, 0), r.Str(i, 1), r.Str(i, 2)});
      }));
  return ForEachRow(conn, "SELECT key,value FROM settings ORDER BY key", "settings", [&](const Rows& r, int i) {
    return sink.OnSetting({r.Str(i, 0), r.Str(i, 1)});
  });
}

Status LoadMembers(pg_conn* conn, journal::LegacyRows& sink) {
  constexpr std::string_view kSelect =
      "SELECT member_id,name,gender,birthday,city,home_store,source,owner_staff,registered_at,merged_into,created_at,"
      "identities,event_digests FROM members ORDER BY member_id";
  RETURN_IF_ERROR(ForEachRow(conn, kSelect, "members", [&](const Rows& r, int i) -> Status {
    MemberRow row;
    row.member_id = r.Int(i, 0);
    MemberProfile& p = row.profile;
    p.name = r.OptStr(i, 1);
    if (std::optional<int64_t> gender = r.OptInt(i, 2)) {
      if (*gender < 0 || *gender > static_cast<int64_t>(Gender::kMale)) {
        return Corrupt("members", "gender", std::to_string(*gender)).With("member_id", std::to_string(row.member_id));
      }
      p.gender = static_cast<Gender>(*gender);
    }
    if (std::optional<int64_t> days = r.OptInt(i, 3)) p.birthday = LocalDate::FromDays(static_cast<int32_t>(*days));
    p.city = r.OptStr(i, 4);
    p.home_store = r.OptStr(i, 5);
    p.source = r.OptStr(i, 6);
    p.owner_staff = r.OptStr(i, 7);
    if (std::optional<int64_t> at = r.OptInt(i, 8)) p.registered_at = Timestamp::FromMicros(*at);
    row.merged_into = r.Int(i, 9);
    row.created_at = Timestamp::FromMicros(r.Int(i, 10));
    if (!journal::DecodeIdentities(r.Bytes(i, 11), row.identities) ||
        !journal::DecodeDigests(r.Bytes(i, 12), row.event_digests)) {
      return Internal("corrupt identities or event digests in members")
          .With("table", "members")
          .With("member_id", std::to_string(row.member_id));
    }
    return sink.OnMember(std::move(row));
  }));
  return ForEachRow(conn, "SELECT survivor,merged,at,reason FROM merges ORDER BY seq", "merges",
                    [&](const Rows& r, int i) {
                      return sink.OnMerge({r.Int(i, 0), r.Int(i, 1), Timestamp::FromMicros(r.Int(i, 2)), r.Str(i, 3)});
                    });
}

Status EmitOrder(const Rows& r, int i, journal::LegacyRows& sink) {
  OrderRow row;
  OrderEvent& o = row.order;
  o.order_id = r.Str(i, 1);
  row.member_id = r.Int(i, 2);
  const int64_t channel = r.Int(i, 3);
  if (channel < 0 || channel >= kChannels) {
    return Corrupt("orders", "channel", std::to_string(channel)).With("order_id", o.order_id);
  }
  o.channel = static_cast<Channel>(channel);
  o.store = r.Str(i, 4);
  o.staff = r.Str(i, 5);
  o.payment = r.Str(i, 6);
  o.paid_at = Timestamp::FromMicros(r.Int(i, 7));
  o.paid = Money::Fen(r.Int(i, 8));
  if (!journal::DecodeItems(r.Bytes(i, 9), o.items)) {
    return Internal("corrupt items in orders.items").With("table", "orders").With("order_id", o.order_id);
  }
  row.loyalty = {.tick = r.Int(i, 0),
                 .points = r.Int(i, 10),
                 .growth = r.Int(i, 11),
                 .rate_bp = r.Int(i, 12),
                 .growth_per_yuan = r.Int(i, 13),
                 .lot = Timestamp::FromMicros(r.Int(i, 14))};
  return sink.OnOrder(std::move(row));
}

Status EmitRefund(const Rows& r, int i, journal::LegacyRows& sink) {
  RefundRow row;
  row.refund = {r.Str(i, 1), r.Str(i, 2), Money::Fen(r.Int(i, 3)), Timestamp::FromMicros(r.Int(i, 4))};
  row.loyalty = {.tick = r.Int(i, 0),
                 .points = r.Int(i, 5),
                 .growth = r.Int(i, 6),
                 .unrecovered = r.Int(i, 7),
                 .lot = Timestamp::FromMicros(r.Int(i, 8))};
  return sink.OnRefund(std::move(row));
}

Status EmitJournal(const Rows& r, int i, journal::LegacyRows& sink) {
  LoyaltyRow row;
  row.tick = r.Int(i, 0);
  row.member_id = r.Int(i, 1);
  const int64_t kind = r.Int(i, 2);
  if (kind < 0 || kind >= kLoyaltyKinds) {
    return Corrupt("loyalty_journal", "kind", std::to_string(kind)).With("tick", std::to_string(row.tick));
  }
  row.kind = static_cast<LoyaltyKind>(kind);
  row.at = Timestamp::FromMicros(r.Int(i, 3));
  row.points = r.Int(i, 4);
  row.lot = Timestamp::FromMicros(r.Int(i, 5));
  row.from = r.Str(i, 6);
  row.to = r.Str(i, 7);
  row.note = r.Str(i, 8);
  return sink.OnLoyalty(row);
}

// One of the tables Load interleaves by tick, a row ahead so Load can tell
// whose row comes next. Its SELECT has the tick in column 0.
class TickStream {
 public:
  using Emit = Status (*)(const Rows&, int, journal::LegacyRows&);

  static Result<TickStream> Open(pg_conn* conn, std::string_view select, std::string_view table, Emit emit) {
    ASSIGN_OR_RETURN(Cursor cursor, Cursor::Open(conn, "load_" + std::string(table), select, table));
    TickStream stream(std::move(cursor), table, emit);
    RETURN_IF_ERROR(stream.Step());
    return stream;
  }

  bool done() const { return done_; }
  int64_t tick() const { return cursor_.rows().Int(cursor_.row(), 0); }

  Status EmitAndStep(journal::LegacyRows& sink) {
    RETURN_IF_ERROR(emit_(cursor_.rows(), cursor_.row(), sink));
    if (cursor_.rows().bad()) return Unreadable(table_);
    return Step();
  }

 private:
  TickStream(Cursor cursor, std::string_view table, Emit emit)
      : cursor_(std::move(cursor)), table_(table), emit_(emit) {}

  Status Step() {
    ASSIGN_OR_RETURN(bool more, cursor_.Next());
    done_ = !more;
    return Status::Ok();
  }

  Cursor cursor_;
  std::string_view table_;
  Emit emit_;
  bool done_ = false;
};

// Orders, refunds and journal rows by tick; each table's tick grows with its
// own order, so stepping the three side by side is enough.
Status LoadByTick(pg_conn* conn, journal::LegacyRows& sink) {
  ASSIGN_OR_RETURN(TickStream orders,
                   TickStream::Open(conn,
                                    "SELECT tick,order_id,member_id,channel,store,staff,payment,paid_at,paid_fen,items,"
                                    "points,growth,rate_bp,growth_per_yuan,lot FROM orders ORDER BY seq",
                                    "orders", EmitOrder));
  ASSIGN_OR_RETURN(TickStream refunds,
                   TickStream::Open(conn,
                                    "SELECT tick,refund_id,order_id,amount_fen,refunded_at,points,growth,unrecovered,"
                                    "lot FROM refunds ORDER BY seq",
                                    "refunds", EmitRefund));
  ASSIGN_OR_RETURN(TickStream journal,
                   TickStream::Open(conn,
                                    "SELECT tick,member_id,kind,at,points,lot,from_value,to_value,note "
                                    "FROM loyalty_journal ORDER BY tick",
                                    "loyalty_journal", EmitJournal));
  return journal::MergeByTick(orders, refunds, journal, sink);
}

Status LoadRest(pg_conn* conn, journal::LegacyRows& sink) {
  RETURN_IF_ERROR(ForEachRow(conn, "SELECT id,tag,added,by_whom,at,note,members FROM tag_operations ORDER BY id",
                             "tag_operations", [&](const Rows& r, int i) -> Status {
                               tags::TagOperation row;
                               row.id = r.Int(i, 0);
                               row.tag = r.Str(i, 1);
                               row.add = r.Bool(i, 2);
                               row.by = r.Str(i, 3);
                               row.at = Timestamp::FromMicros(r.Int(i, 4));
                               row.note = r.Str(i, 5);
                               Result<std::vector<int64_t>> members = DecodeIdList(r.Bytes(i, 6));
                               if (!members.ok()) {
                                 return Internal("corrupt members in tag_operations.members")
                                     .With("table", "tag_operations")
                                     .With("id", std::to_string(row.id));
                               }
                               row.members = std::move(members).value();
                               return sink.OnTagOperation(std::move(row));
                             }));
  // A snapshot's members pass through encoded, as store.hpp hands them over.
  RETURN_IF_ERROR(ForEachRow(conn, "SELECT id,name,expr,by_whom,at,count,members FROM snapshots ORDER BY id",
                             "snapshots", [&](const Rows& r, int i) {
                               return sink.OnSnapshot({r.Int(i, 0), r.Str(i, 1), r.Str(i, 2), r.Str(i, 3),
                                                Timestamp::FromMicros(r.Int(i, 4)), r.Int(i, 5), r.Bytes(i, 6)});
                             }));
  RETURN_IF_ERROR(ForEachRow(
      conn, "SELECT id,kind,code,template_id,member_id,occasion,order_id,at,until FROM coupon_events ORDER BY id",
      "coupon_events", [&](const Rows& r, int i) {
        return sink.OnCouponEvent({r.Int(i, 0), r.Str(i, 1), r.Str(i, 2), r.Int(i, 3), r.Int(i, 4), r.Str(i, 5), r.Str(i, 6),
                            Timestamp::FromMicros(r.Int(i, 7)), Timestamp::FromMicros(r.Int(i, 8))});
      }));
  RETURN_IF_ERROR(ForEachRow(conn,
                             "SELECT id,activity_id,kind,member_id,ref,at,detail FROM activity_events ORDER BY id",
                             "activity_events", [&](const Rows& r, int i) {
                               return sink.OnActivityEvent({r.Int(i, 0), r.Int(i, 1), r.Str(i, 2), r.Int(i, 3), r.Int(i, 4),
                                                     Timestamp::FromMicros(r.Int(i, 5)), r.Str(i, 6)});
                             }));
  return ForEachRow(conn, "SELECT key,status,body,at,request_digest FROM idempotency ORDER BY key", "idempotency",
                    [&](const Rows& r, int i) {
                      return sink.OnIdempotency({r.Str(i, 0), static_cast<int>(r.Int(i, 1)), r.Str(i, 2),
                                          Timestamp::FromMicros(r.Int(i, 3)), static_cast<uint64_t>(r.Int(i, 4))});
                    });
}


// Buffers converted rows and copies them in every few thousand.
class CopyOut final : public journal::RowSink {
 public:
  explicit CopyOut(pg_conn* conn) : conn_(conn) {}

  Status Journal(const JournalRow& row) override {
    AddRow(journal_, row);
    return journal_.rows() >= kChunk ? Flush() : Status::Ok();
  }
  Status State(const StateRow& row) override {
    AddRow(state_, row);
    return state_.rows() >= kChunk ? Flush() : Status::Ok();
  }
  Status Flush() {
    if (journal_.rows() > 0) RETURN_IF_ERROR(CopyIn(conn_, kCopyJournal, journal_, "journal"));
    if (state_.rows() > 0) RETURN_IF_ERROR(CopyIn(conn_, kCopyState, state_, "state"));
    journal_.clear();
    state_.clear();
    return Status::Ok();
  }

 private:
  static constexpr int64_t kChunk = 10000;
  pg_conn* conn_;
  CopyRows journal_, state_;
};

constexpr const char* kDropLegacyTables =
    "DROP TABLE orders, members, refunds, loyalty_journal, settings, merges, stores, staff, products, categories, "
    "idempotency, tag_operations, snapshots, coupon_events, activity_events";

}  // namespace

const char* LegacyTenantStep1() {
  static const std::string step = std::string(kOrdersTable) + kTenantV1;
  return step.c_str();
}

Status ConvertLegacyTables(pg_conn* conn) {
  ASSIGN_OR_RETURN(Rows counts,
                   Query(conn,
                         "SELECT (SELECT count(*) FROM orders WHERE tick=0)+(SELECT count(*) FROM refunds WHERE tick=0)"
                         "+(SELECT count(*) FROM loyalty_journal WHERE tick=0), greatest((SELECT max(tick) FROM orders),"
                         "(SELECT max(tick) FROM refunds),(SELECT max(tick) FROM loyalty_journal),0)",
                         "schema"));
  CopyOut out(conn);
  journal::LegacyRows sink(out, counts.Int(0, 0), counts.Int(0, 1));
  RETURN_IF_ERROR(LoadMasterData(conn, sink));
  RETURN_IF_ERROR(LoadMembers(conn, sink));
  RETURN_IF_ERROR(LoadByTick(conn, sink));
  RETURN_IF_ERROR(LoadRest(conn, sink));
  RETURN_IF_ERROR(out.Flush());
  // The tick streams' cursors stay open to the end; none may hold a table
  // that is dropped.
  RETURN_IF_ERROR(Run(conn, "CLOSE ALL", "schema"));
  return Run(conn, kDropLegacyTables, "schema");
}

}  // namespace pond::pg_internal
