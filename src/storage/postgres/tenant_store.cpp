// One tenant's schema in PostgreSQL: its tables, Commit (COPY in one
// transaction, fenced by the tenant's lease) and Load (cursors in one
// snapshot). Also the benchmark's raw loads of orders, which share the
// orders columns and their encoding with Commit.
#include <libpq-fe.h>

#include <algorithm>
#include <thread>
#include <unordered_map>
#include <utility>

#include "core/id_list.hpp"
#include "storage/codec/row_codec.hpp"
#include "storage/codec/tick_merge.hpp"
#include "storage/postgres/internal/pg_conn.hpp"
#include "storage/postgres/internal/pg_tenant.hpp"
#include "storage/postgres/postgres_store.hpp"

namespace pond {
namespace pg_internal {
namespace {

// ---------------------------------------------------------------------------
// Schema of a tenant (schema tenant_<id>): the embedded store's tables
// (storage/sqlite/tenant_store.cpp) in PostgreSQL's types, under the same
// conventions: instants are bigint microseconds since the Unix epoch (UTC),
// money is bigint fen, calendar dates are integer days since 1970-01-01,
// enums are the C++ enumerator's value, an absent optional profile field is
// NULL, list columns are bytea in storage/codec/row_codec.hpp's encodings.
// Rows are never deleted; `seq` (an identity) gives the insertion order.
//
// Migration steps are frozen once released: a change is a new step.
// ---------------------------------------------------------------------------
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

// Step 1 is the tables as the embedded store's step 6 left them: PostgreSQL
// came after, with nothing older to migrate.
const std::string kTenantStep1 = std::string(kOrdersTable) + kTenantV1;
const Migration kTenantMigrations[] = {kTenantStep1.c_str()};

// "INSERT INTO t(cols) SELECT cols FROM stage_t ON CONFLICT (key) DO UPDATE
// SET c = EXCLUDED.c, ..." for every column but the key.
std::string MergeSql(std::string_view name, std::string_view columns, std::string_view key) {
  std::string set;
  std::string_view cols = columns;
  while (!cols.empty()) {
    const size_t comma = cols.find(',');
    const std::string_view col = cols.substr(0, comma);
    if (col != key) set += (set.empty() ? "" : ",") + std::string(col) + "=EXCLUDED." + std::string(col);
    cols = comma == std::string_view::npos ? std::string_view() : cols.substr(comma + 1);
  }
  const std::string n(name), c(columns);
  return "INSERT INTO " + n + "(" + c + ") SELECT " + c + " FROM stage_" + n + " ON CONFLICT (" + std::string(key) +
         ") DO UPDATE SET " + set;
}

// Where each WriteBatch list goes. An upsert (a key given) copies into a
// temporary staging table and merges from there with INSERT ... ON
// CONFLICT; the others copy straight into their table. The statements are
// made once, not at every commit.
struct Table {
  Table(const char* name, const char* columns, const char* key = nullptr)
      : name(name),
        columns(columns),
        key(key),
        copy_sql("COPY " + std::string(key ? "stage_" : "") + name + "(" + columns + ") FROM STDIN"),
        merge_sql(key ? MergeSql(name, columns, key) : "") {}
  const char* name;
  const char* columns;
  const char* key;
  const std::string copy_sql;
  const std::string merge_sql;  // upserts only
};
const Table kMembers{"members",
                     "member_id,name,gender,birthday,city,home_store,source,owner_staff,registered_at,merged_into,"
                     "created_at,identities,event_digests",
                     "member_id"};
const Table kOrders{"orders",
                    "order_id,member_id,channel,store,staff,payment,paid_at,paid_fen,items,tick,points,growth,"
                    "rate_bp,growth_per_yuan,lot"};
const Table kRefunds{"refunds", "refund_id,order_id,amount_fen,refunded_at,tick,points,growth,unrecovered,lot"};
const Table kJournal{"loyalty_journal", "tick,member_id,kind,at,points,lot,from_value,to_value,note"};
const Table kSettings{"settings", "key,value", "key"};
const Table kMerges{"merges", "survivor,merged,at,reason"};
const Table kStores{"stores", "id,name,city,lat,lng", "id"};
const Table kStaff{"staff", "id,name,store", "id"};
const Table kProducts{"products", "sku,name,category,price_fen", "sku"};
const Table kCategories{"categories", "id,name,parent", "id"};
const Table kIdempotency{"idempotency", "key,status,body,at,request_digest", "key"};
const Table kTagOperations{"tag_operations", "id,tag,added,by_whom,at,note,members"};
const Table kSnapshots{"snapshots", "id,name,expr,by_whom,at,count,members"};
const Table kCouponEvents{"coupon_events", "id,kind,code,template_id,member_id,occasion,order_id,at,until"};
const Table kActivityEvents{"activity_events", "id,activity_id,kind,member_id,ref,at,detail"};
const Table* const kUpserts[] = {&kMembers, &kSettings, &kStores, &kStaff, &kProducts, &kCategories, &kIdempotency};

// Session set-up of a tenant connection: the staging tables, emptied by
// every commit.
std::string StagingSql() {
  std::string sql;
  for (const Table* t : kUpserts) {
    sql += "CREATE TEMP TABLE stage_" + std::string(t->name) + " (LIKE " + t->name + ") ON COMMIT DELETE ROWS;";
  }
  return sql;
}

// The encoders of each row kind into COPY text, columns in the Table's order.
void Encode(CopyRows& c, const MemberRow& r, std::string& scratch) {
  const MemberProfile& p = r.profile;
  c.Int(r.member_id);
  c.Opt(p.name);
  c.Opt(p.gender ? std::optional<int64_t>(static_cast<int64_t>(*p.gender)) : std::nullopt);
  c.Opt(p.birthday ? std::optional<int64_t>(p.birthday->days()) : std::nullopt);
  c.Opt(p.city);
  c.Opt(p.home_store);
  c.Opt(p.source);
  c.Opt(p.owner_staff);
  c.Opt(p.registered_at ? std::optional<int64_t>(p.registered_at->micros()) : std::nullopt);
  c.Int(r.merged_into);
  c.Int(r.created_at.micros());
  storage_codec::EncodeIdentities(r.identities, scratch);
  c.Bytes(scratch);
  storage_codec::EncodeDigests(r.event_digests, scratch);
  c.Bytes(scratch);
}

// An order takes back nothing, so it has no `unrecovered`.
void Encode(CopyRows& c, const OrderRow& r, std::string& scratch) {
  const OrderEvent& o = r.order;
  c.Text(o.order_id);
  c.Int(r.member_id);
  c.Int(static_cast<int64_t>(o.channel));
  c.Text(o.store);
  c.Text(o.staff);
  c.Text(o.payment);
  c.Int(o.paid_at.micros());
  c.Int(o.paid.fen());
  storage_codec::EncodeItems(o.items, scratch);
  c.Bytes(scratch);
  const LoyaltyEffect& e = r.loyalty;
  c.Int(e.tick);
  c.Int(e.points);
  c.Int(e.growth);
  c.Int(e.rate_bp);
  c.Int(e.growth_per_yuan);
  c.Int(e.lot.micros());
}

// A refund reuses its order's earning terms, so it stores none of its own.
void Encode(CopyRows& c, const RefundRow& r, std::string&) {
  c.Text(r.refund.refund_id);
  c.Text(r.refund.order_id);
  c.Int(r.refund.amount.fen());
  c.Int(r.refund.refunded_at.micros());
  c.Int(r.loyalty.tick);
  c.Int(r.loyalty.points);
  c.Int(r.loyalty.growth);
  c.Int(r.loyalty.unrecovered);
  c.Int(r.loyalty.lot.micros());
}

void Encode(CopyRows& c, const JournalRow& r, std::string&) {
  c.Int(r.tick);
  c.Int(r.member_id);
  c.Int(static_cast<int64_t>(r.kind));
  c.Int(r.at.micros());
  c.Int(r.points);
  c.Int(r.lot.micros());
  c.Text(r.from);
  c.Text(r.to);
  c.Text(r.note);
}

void Encode(CopyRows& c, const SettingRow& r, std::string&) {
  c.Text(r.key);
  c.Text(r.value);
}

void Encode(CopyRows& c, const MergeRow& r, std::string&) {
  c.Int(r.survivor);
  c.Int(r.merged);
  c.Int(r.at.micros());
  c.Text(r.reason);
}

void Encode(CopyRows& c, const StoreInfo& r, std::string&) {
  c.Text(r.id);
  c.Text(r.name);
  c.Text(r.city);
  c.Opt(r.lat);
  c.Opt(r.lng);
}

void Encode(CopyRows& c, const StaffInfo& r, std::string&) {
  c.Text(r.id);
  c.Text(r.name);
  c.Text(r.store);
}

void Encode(CopyRows& c, const ProductInfo& r, std::string&) {
  c.Text(r.sku);
  c.Text(r.name);
  c.Text(r.category);
  c.Int(r.price.fen());
}

void Encode(CopyRows& c, const CategoryInfo& r, std::string&) {
  c.Text(r.id);
  c.Text(r.name);
  c.Text(r.parent);
}

void Encode(CopyRows& c, const IdempotencyRow& r, std::string&) {
  c.Text(r.key);
  c.Int(r.status);
  c.Text(r.body);
  c.Int(r.at.micros());
  c.Int(static_cast<int64_t>(r.request_digest));
}

void Encode(CopyRows& c, const tags::TagOperation& r, std::string&) {
  c.Int(r.id);
  c.Text(r.tag);
  c.Bool(r.add);
  c.Text(r.by);
  c.Int(r.at.micros());
  c.Text(r.note);
  c.Bytes(EncodeIdList(r.members));
}

void Encode(CopyRows& c, const SnapshotRow& r, std::string&) {
  c.Int(r.id);
  c.Text(r.name);
  c.Text(r.expr);
  c.Text(r.by);
  c.Int(r.at.micros());
  c.Int(r.count);
  c.Bytes(r.members);
}

void Encode(CopyRows& c, const CouponEventRow& r, std::string&) {
  c.Int(r.id);
  c.Text(r.kind);
  c.Text(r.code);
  c.Int(r.template_id);
  c.Int(r.member);
  c.Text(r.occasion);
  c.Text(r.order_id);
  c.Int(r.at.micros());
  c.Int(r.until.micros());
}

void Encode(CopyRows& c, const ActivityEventRow& r, std::string&) {
  c.Int(r.id);
  c.Int(r.activity_id);
  c.Text(r.kind);
  c.Int(r.member);
  c.Int(r.ref);
  c.Int(r.at.micros());
  c.Text(r.detail);
}

// The upsert key of a row. A batch may carry one key twice (a member changed
// by two commands of a group); the last one is the row as it stands, and
// ON CONFLICT may not meet a key twice in one statement.
int64_t KeyOf(const MemberRow& r) { return r.member_id; }
const std::string& KeyOf(const SettingRow& r) { return r.key; }
const std::string& KeyOf(const StoreInfo& r) { return r.id; }
const std::string& KeyOf(const StaffInfo& r) { return r.id; }
const std::string& KeyOf(const ProductInfo& r) { return r.sku; }
const std::string& KeyOf(const CategoryInfo& r) { return r.id; }
const std::string& KeyOf(const IdempotencyRow& r) { return r.key; }

template <typename Row>
concept Keyed = requires(const Row& r) {
  KeyOf(r);
};

// Enums are checked on the way in from the database: the rest of Pond
// indexes name tables by them.
Status Corrupt(std::string_view table, std::string_view column, std::string value) {
  return Internal("corrupt value in " + std::string(table) + "." + std::string(column))
      .With("table", std::string(table))
      .With("value", std::move(value));
}

Status Unreadable(std::string_view table) {
  return Internal("unreadable value in " + std::string(table)).With("table", std::string(table));
}

// One transaction on a connection; destroying it before Commit rolls back
// (when the connection still stands), so an early return leaves nothing.
class Txn {
 public:
  explicit Txn(pg_conn* conn) : conn_(conn) {}
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  ~Txn() {
    if (open_ && !Broken(conn_)) (void)Run(conn_, "ROLLBACK", "transaction");
  }
  Status Begin(std::string_view sql = "BEGIN") { return BeginWith(sql).status(); }
  // Sends `sql`, which opens the transaction and may go on with more
  // statements, in one round trip; returns the last one's rows.
  Result<Rows> BeginWith(std::string_view sql) {
    open_ = true;  // whatever failed, ROLLBACK leaves the session clean
    return Query(conn_, sql, "transaction");
  }
  Status Commit() {
    open_ = false;
    return Run(conn_, "COMMIT", "transaction");
  }

 private:
  pg_conn* conn_;
  bool open_ = false;
};

// The lease statements. A commit renews the lease and counts itself in the
// same transaction; if the row no longer names this node and epoch, another
// node has taken the tenant over and the commit must not happen. The
// UPDATE's row lock also makes a concurrent takeover wait for this commit,
// and then see the renewed expiry and give up.
// Sent with BEGIN in one round trip, so its values are literals, fixed for
// the life of the store (FenceSql).
std::string FenceSql(pg_conn* conn, const Lease& lease) {
  return "BEGIN; UPDATE pond.leases SET commits = commits + 1, expires_at = now() + interval '" +
         std::to_string(lease.ttl.count()) + " milliseconds' WHERE tenant = " + Literal(conn, lease.tenant) +
         " AND node = " + Literal(conn, lease.node) + " AND epoch = " + std::to_string(lease.epoch) +
         " RETURNING commits";
}
// After a COMMIT whose answer was lost: FOR UPDATE waits until that
// transaction has ended either way, then the counter tells which.
constexpr std::string_view kCommitsSince =
    "SELECT commits FROM pond.leases WHERE tenant = $1 AND node = $2 AND epoch = $3 FOR UPDATE";
// A clean stop hands the tenant on at once instead of after the TTL.
constexpr std::string_view kRelease =
    "UPDATE pond.leases SET expires_at = '-infinity' WHERE tenant = $1 AND node = $2 AND epoch = $3";

// Attempts of one commit when the connection breaks, and the pause before
// each retry: long enough to ride out a server restart's first seconds.
constexpr std::chrono::milliseconds kRetryPauses[] = {std::chrono::milliseconds(50), std::chrono::milliseconds(250),
                                                      std::chrono::milliseconds(1000)};

class PgTenantStore final : public TenantStore {
 public:
  PgTenantStore(std::string url, Lease lease, CommitFault fault)
      : url_(std::move(url)),
        schema_(QuoteIdent(TenantSchema(lease.tenant))),
        lease_(std::move(lease)),
        fault_(std::move(fault)),
        commits_(lease_.commits) {}
  ~PgTenantStore() override;

  Status Connect();
  Status Commit(const WriteBatch& batch) override;
  Status Load(LoadSink& sink) override;

 private:
  std::vector<std::string> LeaseParams() const { return {lease_.tenant, lease_.node, std::to_string(lease_.epoch)}; }
  Status Fault(std::string_view stage) const { return fault_ ? fault_(stage) : Status::Ok(); }
  // One try of Commit. `sent` tells whether COMMIT went out, `count` is the
  // lease's commit counter this transaction set.
  Status TryCommit(const WriteBatch& batch, bool& sent, int64_t& count);
  // After COMMIT went out and no answer came: true when it committed.
  Result<bool> Committed(int64_t count);
  template <typename Rows>
  Status Write(const Table& table, const Rows& rows);
  Status LoadMasterData(LoadSink& sink);
  Status LoadMembers(LoadSink& sink);
  Status LoadByTick(LoadSink& sink);
  Status LoadRest(LoadSink& sink);

  const std::string url_;
  const std::string schema_;  // quoted
  const Lease lease_;
  const CommitFault fault_;
  ConnHandle conn_;
  std::string fence_;    // BEGIN and the lease's fence (FenceSql)
  int64_t commits_;      // the lease's commit counter as of this store's last commit or load
  CopyRows copy_;        // reused by every table of every commit
  std::string scratch_;  // and the list encodings of its rows
};

PgTenantStore::~PgTenantStore() {
  if (!Broken(conn_.get())) (void)Exec(conn_.get(), kRelease, "leases", LeaseParams());
}

Status PgTenantStore::Connect() {
  ASSIGN_OR_RETURN(conn_, pg_internal::Connect(url_, schema_));
  fence_ = FenceSql(conn_.get(), lease_);
  return Run(conn_.get(), StagingSql(), "staging");
}

template <typename Rows>
Status PgTenantStore::Write(const Table& table, const Rows& rows) {
  if (rows.empty()) return Status::Ok();
  copy_.clear();
  if constexpr (Keyed<typename Rows::value_type>) {
    using Key = std::decay_t<decltype(KeyOf(rows.front()))>;
    std::unordered_map<Key, size_t> last;
    last.reserve(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) last[KeyOf(rows[i])] = i;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (last[KeyOf(rows[i])] != i) continue;
      Encode(copy_, rows[i], scratch_);
      copy_.EndRow();
    }
  } else {
    for (const auto& row : rows) {
      Encode(copy_, row, scratch_);
      copy_.EndRow();
    }
  }
  RETURN_IF_ERROR(CopyIn(conn_.get(), table.copy_sql, copy_, table.name));
  if (table.key) RETURN_IF_ERROR(Run(conn_.get(), table.merge_sql, table.name));
  return Fault(table.name);
}

Status PgTenantStore::TryCommit(const WriteBatch& batch, bool& sent, int64_t& count) {
  sent = false;
  if (Broken(conn_.get())) RETURN_IF_ERROR(Connect());
  pg_conn* conn = conn_.get();
  Txn txn(conn);
  ASSIGN_OR_RETURN(Rows fenced, txn.BeginWith(fence_));
  if (fenced.size() != 1) {
    return Refusal("not_owner", "another node has taken this tenant over").With("tenant", lease_.tenant);
  }
  count = fenced.Int(0, 0);
  // Every commit of this tenant since the lease was taken went through this
  // store, so the counter must follow on from the last one. When it does
  // not, the database lost commits this node holds in memory (an
  // asynchronous standby promoted without them): refuse, so the engine
  // rebuilds its state from what the database has.
  if (count != commits_ + 1) {
    return FailedPrecondition("the database has " + std::to_string(count - 1) + " commits of this tenant where " +
                              std::to_string(commits_) + " were acknowledged; it lost some (failover?)")
        .With("tenant", lease_.tenant);
  }
  RETURN_IF_ERROR(Fault("begin"));
  RETURN_IF_ERROR(Write(kMembers, batch.members));
  RETURN_IF_ERROR(Write(kOrders, batch.orders));
  RETURN_IF_ERROR(Write(kRefunds, batch.refunds));
  RETURN_IF_ERROR(Write(kJournal, batch.journal));
  RETURN_IF_ERROR(Write(kSettings, batch.settings));
  RETURN_IF_ERROR(Write(kMerges, batch.merges));
  RETURN_IF_ERROR(Write(kStores, batch.stores));
  RETURN_IF_ERROR(Write(kStaff, batch.staff));
  RETURN_IF_ERROR(Write(kProducts, batch.products));
  RETURN_IF_ERROR(Write(kCategories, batch.categories));
  RETURN_IF_ERROR(Write(kIdempotency, batch.idempotency));
  RETURN_IF_ERROR(Write(kTagOperations, batch.tag_operations));
  RETURN_IF_ERROR(Write(kSnapshots, batch.snapshots));
  RETURN_IF_ERROR(Write(kCouponEvents, batch.coupon_events));
  RETURN_IF_ERROR(Write(kActivityEvents, batch.activity_events));
  RETURN_IF_ERROR(Fault("commit"));
  sent = true;
  RETURN_IF_ERROR(txn.Commit());
  return Fault("committed");
}

Result<bool> PgTenantStore::Committed(int64_t count) {
  if (Broken(conn_.get())) RETURN_IF_ERROR(Connect());
  Txn txn(conn_.get());
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(Rows rows, Exec(conn_.get(), kCommitsSince, "leases", LeaseParams()));
  if (rows.size() != 1) {
    return Refusal("not_owner", "another node has taken this tenant over").With("tenant", lease_.tenant);
  }
  const bool committed = rows.Int(0, 0) >= count;
  RETURN_IF_ERROR(txn.Commit());
  return committed;
}

// Retries only what is safe: an attempt that broke before COMMIT went out
// was rolled back by the server; one whose COMMIT got no answer is retried
// only once the counter shows it did not commit.
Status PgTenantStore::Commit(const WriteBatch& batch) {
  if (batch.empty()) return Status::Ok();
  Status status;
  for (size_t attempt = 0;; ++attempt) {
    bool sent = false;
    int64_t count = 0;
    status = TryCommit(batch, sent, count);
    if (status.ok()) {
      commits_ = count;
      return status;
    }
    if (status.code() != StatusCode::kUnavailable) return status;
    if (sent) {
      Result<bool> committed = Committed(count);
      if (!committed.ok()) return committed.status();  // not known: the caller must not count on it either way
      if (*committed) {
        commits_ = count;
        return Status::Ok();
      }
    }
    if (attempt == std::size(kRetryPauses)) return status;
    std::this_thread::sleep_for(kRetryPauses[attempt]);
  }
}

Status PgTenantStore::Load(LoadSink& sink) {
  if (Broken(conn_.get())) RETURN_IF_ERROR(Connect());
  // One snapshot for every table, as the embedded store reads them.
  Txn txn(conn_.get());
  RETURN_IF_ERROR(txn.Begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  // The counter as of the rows loaded: the next commit follows on from it.
  ASSIGN_OR_RETURN(Rows counter,
                   Exec(conn_.get(), "SELECT commits FROM pond.leases WHERE tenant = $1", "leases", {lease_.tenant}));
  if (counter.size() == 1) commits_ = counter.Int(0, 0);
  RETURN_IF_ERROR(LoadMasterData(sink));
  RETURN_IF_ERROR(LoadMembers(sink));
  RETURN_IF_ERROR(LoadByTick(sink));
  RETURN_IF_ERROR(LoadRest(sink));
  return txn.Commit();
}

// Streams `select` through a cursor, handing each row to `emit`; a value that
// did not read back as its type fails the load naming the table.
template <typename Emit>
Status ForEachRow(pg_conn* conn, std::string_view select, std::string_view table, Emit&& emit) {
  ASSIGN_OR_RETURN(Cursor cursor, Cursor::Open(conn, "load_" + std::string(table), select, table));
  for (;;) {
    ASSIGN_OR_RETURN(bool more, cursor.Next());
    if (!more) break;
    RETURN_IF_ERROR(emit(cursor.rows(), cursor.row()));
    if (cursor.rows().bad()) return Unreadable(table);
  }
  return Run(conn, "CLOSE load_" + std::string(table), table);
}

Status PgTenantStore::LoadMasterData(LoadSink& sink) {
  pg_conn* conn = conn_.get();
  RETURN_IF_ERROR(
      ForEachRow(conn, "SELECT id,name,city,lat,lng FROM stores ORDER BY id", "stores", [&](const Rows& r, int i) {
        sink.OnStore({r.Str(i, 0), r.Str(i, 1), r.Str(i, 2), r.OptReal(i, 3), r.OptReal(i, 4)});
        return Status::Ok();
      }));
  RETURN_IF_ERROR(ForEachRow(conn, "SELECT id,name,store FROM staff ORDER BY id", "staff", [&](const Rows& r, int i) {
    sink.OnStaff({r.Str(i, 0), r.Str(i, 1), r.Str(i, 2)});
    return Status::Ok();
  }));
  RETURN_IF_ERROR(ForEachRow(conn, "SELECT sku,name,category,price_fen FROM products ORDER BY sku", "products",
                             [&](const Rows& r, int i) {
                               sink.OnProduct({r.Str(i, 0), r.Str(i, 1), r.Str(i, 2), Money::Fen(r.Int(i, 3))});
                               return Status::Ok();
                             }));
  RETURN_IF_ERROR(
      ForEachRow(conn, "SELECT id,name,parent FROM categories ORDER BY id", "categories", [&](const Rows& r, int i) {
        sink.OnCategory({r.Str(i, 0), r.Str(i, 1), r.Str(i, 2)});
        return Status::Ok();
      }));
  return ForEachRow(conn, "SELECT key,value FROM settings ORDER BY key", "settings", [&](const Rows& r, int i) {
    sink.OnSetting({r.Str(i, 0), r.Str(i, 1)});
    return Status::Ok();
  });
}

Status PgTenantStore::LoadMembers(LoadSink& sink) {
  constexpr std::string_view kSelect =
      "SELECT member_id,name,gender,birthday,city,home_store,source,owner_staff,registered_at,merged_into,created_at,"
      "identities,event_digests FROM members ORDER BY member_id";
  RETURN_IF_ERROR(ForEachRow(conn_.get(), kSelect, "members", [&](const Rows& r, int i) -> Status {
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
    if (!storage_codec::DecodeIdentities(r.Bytes(i, 11), row.identities) ||
        !storage_codec::DecodeDigests(r.Bytes(i, 12), row.event_digests)) {
      return Internal("corrupt identities or event digests in members")
          .With("table", "members")
          .With("member_id", std::to_string(row.member_id));
    }
    sink.OnMember(std::move(row));
    return Status::Ok();
  }));
  return ForEachRow(conn_.get(), "SELECT survivor,merged,at,reason FROM merges ORDER BY seq", "merges",
                    [&](const Rows& r, int i) {
                      sink.OnMerge({r.Int(i, 0), r.Int(i, 1), Timestamp::FromMicros(r.Int(i, 2)), r.Str(i, 3)});
                      return Status::Ok();
                    });
}

Status EmitOrder(const Rows& r, int i, LoadSink& sink) {
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
  if (!storage_codec::DecodeItems(r.Bytes(i, 9), o.items)) {
    return Internal("corrupt items in orders.items").With("table", "orders").With("order_id", o.order_id);
  }
  row.loyalty = {.tick = r.Int(i, 0),
                 .points = r.Int(i, 10),
                 .growth = r.Int(i, 11),
                 .rate_bp = r.Int(i, 12),
                 .growth_per_yuan = r.Int(i, 13),
                 .lot = Timestamp::FromMicros(r.Int(i, 14))};
  sink.OnOrder(std::move(row));
  return Status::Ok();
}

Status EmitRefund(const Rows& r, int i, LoadSink& sink) {
  RefundRow row;
  row.refund = {r.Str(i, 1), r.Str(i, 2), Money::Fen(r.Int(i, 3)), Timestamp::FromMicros(r.Int(i, 4))};
  row.loyalty = {.tick = r.Int(i, 0),
                 .points = r.Int(i, 5),
                 .growth = r.Int(i, 6),
                 .unrecovered = r.Int(i, 7),
                 .lot = Timestamp::FromMicros(r.Int(i, 8))};
  sink.OnRefund(std::move(row));
  return Status::Ok();
}

Status EmitJournal(const Rows& r, int i, LoadSink& sink) {
  JournalRow row;
  row.tick = r.Int(i, 0);
  row.member_id = r.Int(i, 1);
  const int64_t kind = r.Int(i, 2);
  if (kind < 0 || kind >= kJournalKinds) {
    return Corrupt("loyalty_journal", "kind", std::to_string(kind)).With("tick", std::to_string(row.tick));
  }
  row.kind = static_cast<JournalKind>(kind);
  row.at = Timestamp::FromMicros(r.Int(i, 3));
  row.points = r.Int(i, 4);
  row.lot = Timestamp::FromMicros(r.Int(i, 5));
  row.from = r.Str(i, 6);
  row.to = r.Str(i, 7);
  row.note = r.Str(i, 8);
  sink.OnJournal(std::move(row));
  return Status::Ok();
}

// One of the tables Load interleaves by tick, a row ahead so Load can tell
// whose row comes next. Its SELECT has the tick in column 0.
class TickStream {
 public:
  using Emit = Status (*)(const Rows&, int, LoadSink&);

  static Result<TickStream> Open(pg_conn* conn, std::string_view select, std::string_view table, Emit emit) {
    ASSIGN_OR_RETURN(Cursor cursor, Cursor::Open(conn, "load_" + std::string(table), select, table));
    TickStream stream(std::move(cursor), table, emit);
    RETURN_IF_ERROR(stream.Step());
    return stream;
  }

  bool done() const { return done_; }
  int64_t tick() const { return cursor_.rows().Int(cursor_.row(), 0); }

  Status EmitAndStep(LoadSink& sink) {
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
Status PgTenantStore::LoadByTick(LoadSink& sink) {
  pg_conn* conn = conn_.get();
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
  return storage_codec::MergeByTick(orders, refunds, journal, sink);
}

Status PgTenantStore::LoadRest(LoadSink& sink) {
  pg_conn* conn = conn_.get();
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
                               sink.OnTagOperation(std::move(row));
                               return Status::Ok();
                             }));
  // A snapshot's members pass through encoded, as store.hpp hands them over.
  RETURN_IF_ERROR(ForEachRow(conn, "SELECT id,name,expr,by_whom,at,count,members FROM snapshots ORDER BY id",
                             "snapshots", [&](const Rows& r, int i) {
                               sink.OnSnapshot({r.Int(i, 0), r.Str(i, 1), r.Str(i, 2), r.Str(i, 3),
                                                Timestamp::FromMicros(r.Int(i, 4)), r.Int(i, 5), r.Bytes(i, 6)});
                               return Status::Ok();
                             }));
  RETURN_IF_ERROR(ForEachRow(
      conn, "SELECT id,kind,code,template_id,member_id,occasion,order_id,at,until FROM coupon_events ORDER BY id",
      "coupon_events", [&](const Rows& r, int i) {
        sink.OnCouponEvent({r.Int(i, 0), r.Str(i, 1), r.Str(i, 2), r.Int(i, 3), r.Int(i, 4), r.Str(i, 5), r.Str(i, 6),
                            Timestamp::FromMicros(r.Int(i, 7)), Timestamp::FromMicros(r.Int(i, 8))});
        return Status::Ok();
      }));
  RETURN_IF_ERROR(ForEachRow(conn,
                             "SELECT id,activity_id,kind,member_id,ref,at,detail FROM activity_events ORDER BY id",
                             "activity_events", [&](const Rows& r, int i) {
                               sink.OnActivityEvent({r.Int(i, 0), r.Int(i, 1), r.Str(i, 2), r.Int(i, 3), r.Int(i, 4),
                                                     Timestamp::FromMicros(r.Int(i, 5)), r.Str(i, 6)});
                               return Status::Ok();
                             }));
  return ForEachRow(conn, "SELECT key,status,body,at,request_digest FROM idempotency ORDER BY key", "idempotency",
                    [&](const Rows& r, int i) {
                      sink.OnIdempotency({r.Str(i, 0), static_cast<int>(r.Int(i, 1)), r.Str(i, 2),
                                          Timestamp::FromMicros(r.Int(i, 3)), static_cast<uint64_t>(r.Int(i, 4))});
                      return Status::Ok();
                    });
}

}  // namespace

std::string TenantSchema(std::string_view tenant_id) {
  constexpr size_t kMaxIdentifier = 63;
  std::string schema = "tenant_" + std::string(tenant_id);
  if (schema.size() <= kMaxIdentifier) return schema;
  uint64_t h = 14695981039346656037ULL;  // FNV-1a: stable across builds and machines
  for (char c : tenant_id) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  schema.resize(kMaxIdentifier - 17);
  return schema + "_" + hex;
}

std::span<const Migration> TenantMigrations() { return kTenantMigrations; }

Status MigrateSchema(pg_conn* conn, std::string_view schema, std::span<const Migration> migrations) {
  Txn txn(conn);
  RETURN_IF_ERROR(txn.Begin());
  // One lock for every migration of the database: nodes starting together
  // wait for each other here instead of creating the same tables twice.
  RETURN_IF_ERROR(Run(conn,
                      "SELECT pg_advisory_xact_lock(7504262617390);"
                      "CREATE SCHEMA IF NOT EXISTS pond;"
                      "CREATE TABLE IF NOT EXISTS pond.schema_versions("
                      "schema_name text PRIMARY KEY, version integer NOT NULL);"
                      "CREATE SCHEMA IF NOT EXISTS " +
                          QuoteIdent(schema) + ";SET LOCAL search_path = " + QuoteIdent(schema),
                      "schema"));
  ASSIGN_OR_RETURN(Rows have, Exec(conn, "SELECT version FROM pond.schema_versions WHERE schema_name = $1",
                                   "schema_versions", {std::string(schema)}));
  const int64_t version = have.size() == 1 ? have.Int(0, 0) : 0;
  if (version > static_cast<int64_t>(migrations.size())) {
    return FailedPrecondition("schema " + std::string(schema) + " has version " + std::to_string(version) +
                              " but this build knows only " + std::to_string(migrations.size()) +
                              "; it was written by a newer Pond")
        .With("schema", std::string(schema));
  }
  for (size_t step = static_cast<size_t>(version); step < migrations.size(); ++step) {
    RETURN_IF_ERROR(Run(conn, migrations[step], "schema").With("schema", std::string(schema)));
  }
  if (version < static_cast<int64_t>(migrations.size())) {
    RETURN_IF_ERROR(Exec(conn,
                         "INSERT INTO pond.schema_versions(schema_name, version) VALUES($1, $2) "
                         "ON CONFLICT (schema_name) DO UPDATE SET version = EXCLUDED.version",
                         "schema_versions", {std::string(schema), std::to_string(migrations.size())})
                        .status());
  }
  return txn.Commit();
}

Result<std::unique_ptr<TenantStore>> OpenTenantStore(const std::string& url, Lease lease, CommitFault fault) {
  auto store = std::make_unique<PgTenantStore>(url, std::move(lease), std::move(fault));
  RETURN_IF_ERROR(store->Connect());
  return std::unique_ptr<TenantStore>(std::move(store));
}

Status RawLoadOrders(const std::string& url, const std::string& schema, const std::vector<OrderRow>& rows, RawLoad how,
                     size_t batch_size) {
  if (batch_size == 0) return InvalidArgument("batch_size must be > 0");
  ASSIGN_OR_RETURN(ConnHandle conn, Connect(url));
  ASSIGN_OR_RETURN(Rows exists, Exec(conn.get(), "SELECT 1 FROM pg_namespace WHERE nspname = $1", "schema", {schema}));
  if (exists.size() != 0) return AlreadyExists("raw load needs a fresh schema").With("schema", schema);
  const std::string quoted = QuoteIdent(schema);
  RETURN_IF_ERROR(Run(conn.get(), "CREATE SCHEMA " + quoted + "; SET search_path = " + quoted, "schema"));
  RETURN_IF_ERROR(Run(conn.get(), kOrdersTable, "orders"));
  CopyRows copy;
  std::string scratch;
  if (how == RawLoad::kCopy) {
    for (size_t begin = 0; begin < rows.size(); begin += batch_size) {
      copy.clear();
      for (size_t i = begin; i < std::min(rows.size(), begin + batch_size); ++i) {
        Encode(copy, rows[i], scratch);
        copy.EndRow();
      }
      Txn txn(conn.get());
      RETURN_IF_ERROR(txn.Begin());
      RETURN_IF_ERROR(CopyIn(conn.get(), kOrders.copy_sql, copy, "orders"));
      RETURN_IF_ERROR(txn.Commit());
    }
    return Status::Ok();
  }
  // What an application without group commit does: each order its own
  // INSERT and its own durable COMMIT, the statement prepared once.
  const std::string insert = "INSERT INTO orders(" + std::string(kOrders.columns) +
                             ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)";
  ResultHandle prepared(PQprepare(conn.get(), "insert_order", insert.c_str(), 15, nullptr));
  if (!prepared || PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
    return PgStatus(conn.get(), prepared.get(), "prepare insert into", "orders");
  }
  std::vector<std::string> values(15);
  std::vector<const char*> pointers(15);
  std::vector<int> lengths(15);
  std::vector<int> formats(15, 0);
  formats[8] = 1;  // items: the encoded bytes as they are (binary bytea)
  for (const OrderRow& r : rows) {
    const OrderEvent& o = r.order;
    storage_codec::EncodeItems(o.items, scratch);
    values = {o.order_id,
              std::to_string(r.member_id),
              std::to_string(static_cast<int>(o.channel)),
              o.store,
              o.staff,
              o.payment,
              std::to_string(o.paid_at.micros()),
              std::to_string(o.paid.fen()),
              scratch,
              std::to_string(r.loyalty.tick),
              std::to_string(r.loyalty.points),
              std::to_string(r.loyalty.growth),
              std::to_string(r.loyalty.rate_bp),
              std::to_string(r.loyalty.growth_per_yuan),
              std::to_string(r.loyalty.lot.micros())};
    for (size_t i = 0; i < values.size(); ++i) {
      pointers[i] = values[i].c_str();
      lengths[i] = static_cast<int>(values[i].size());
    }
    Txn txn(conn.get());
    RETURN_IF_ERROR(txn.Begin());
    ResultHandle done(
        PQexecPrepared(conn.get(), "insert_order", 15, pointers.data(), lengths.data(), formats.data(), 0));
    if (!done || PQresultStatus(done.get()) != PGRES_COMMAND_OK) {
      return PgStatus(conn.get(), done.get(), "insert into", "orders").With("order_id", o.order_id);
    }
    RETURN_IF_ERROR(txn.Commit());
  }
  return Status::Ok();
}

}  // namespace pg_internal

Status RawPostgresLoadOrders(const std::string& url, const std::string& schema, const std::vector<OrderRow>& rows,
                             RawLoad how, size_t batch_size) {
  return pg_internal::RawLoadOrders(url, schema, rows, how, batch_size);
}

}  // namespace pond
