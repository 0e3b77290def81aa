#include "storage/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "core/id_list.hpp"
#include "core/random.hpp"
#include "engine/testing/memory_store.hpp"
#include "storage/sqlite/internal/fault_injection.hpp"
#include "storage/codec/row_codec.hpp"
#include "storage/sqlite/internal/sqlite_db.hpp"
#include "storage/sqlite/internal/tenant_db.hpp"

namespace pond {
namespace {

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/pond_sqlite_test_XXXXXX";
    const char* made = mkdtemp(tmpl);
    EXPECT_NE(made, nullptr);
    path_ = made ? made : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Opens a database file directly, as an operator with the sqlite3 shell would.
class RawDb {
 public:
  explicit RawDb(const std::string& path) { EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK); }
  ~RawDb() { sqlite3_close(db_); }
  void Exec(const std::string& sql) {
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sql;
  }
  int64_t Int(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sql;
    int64_t v = -1;
    if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
  }
  std::string Text(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sql;
    std::string v;
    if (sqlite3_step(s) == SQLITE_ROW) {
      v.assign(static_cast<const char*>(sqlite3_column_blob(s, 0)), static_cast<size_t>(sqlite3_column_bytes(s, 0)));
    }
    sqlite3_finalize(s);
    return v;
  }

 private:
  sqlite3* db_ = nullptr;
};

// Everything Load hands over, plus the order of the calls.
struct Loaded {
  std::vector<StoreInfo> stores;
  std::vector<StaffInfo> staff;
  std::vector<ProductInfo> products;
  std::vector<CategoryInfo> categories;
  std::vector<SettingRow> settings;
  std::vector<MemberRow> members;
  std::vector<MergeRow> merges;
  std::vector<OrderRow> orders;
  std::vector<RefundRow> refunds;
  std::vector<JournalRow> journal;
  std::vector<tags::TagOperation> tag_operations;
  std::vector<SnapshotRow> snapshots;
  std::vector<CouponEventRow> coupon_events;
  std::vector<ActivityEventRow> activity_events;
  std::vector<IdempotencyRow> idempotency;
  std::vector<int> phases;  // store.hpp's call order: 0 master data ... 9 idempotency
  std::vector<std::string> by_tick;  // orders, refunds and journal rows as replayed: "refund 7"
};

class RecordingSink final : public LoadSink {
 public:
  explicit RecordingSink(Loaded& out) : out_(out) {}
  void OnStore(StoreInfo row) override { Add(0, out_.stores, std::move(row)); }
  void OnStaff(StaffInfo row) override { Add(0, out_.staff, std::move(row)); }
  void OnProduct(ProductInfo row) override { Add(0, out_.products, std::move(row)); }
  void OnCategory(CategoryInfo row) override { Add(0, out_.categories, std::move(row)); }
  void OnSetting(SettingRow row) override { Add(1, out_.settings, std::move(row)); }
  void OnMember(MemberRow row) override { Add(2, out_.members, std::move(row)); }
  void OnMerge(MergeRow row) override { Add(3, out_.merges, std::move(row)); }
  void OnOrder(OrderRow row) override {
    out_.by_tick.push_back("order " + std::to_string(row.loyalty.tick));
    Add(4, out_.orders, std::move(row));
  }
  void OnRefund(RefundRow row) override {
    out_.by_tick.push_back("refund " + std::to_string(row.loyalty.tick));
    Add(4, out_.refunds, std::move(row));
  }
  void OnJournal(JournalRow row) override {
    out_.by_tick.push_back("journal " + std::to_string(row.tick));
    Add(4, out_.journal, std::move(row));
  }
  void OnTagOperation(tags::TagOperation row) override { Add(5, out_.tag_operations, std::move(row)); }
  void OnSnapshot(SnapshotRow row) override { Add(6, out_.snapshots, std::move(row)); }
  void OnCouponEvent(CouponEventRow row) override { Add(7, out_.coupon_events, std::move(row)); }
  void OnActivityEvent(ActivityEventRow row) override { Add(8, out_.activity_events, std::move(row)); }
  void OnIdempotency(IdempotencyRow row) override { Add(9, out_.idempotency, std::move(row)); }

 private:
  template <typename T>
  void Add(int phase, std::vector<T>& to, T row) {
    out_.phases.push_back(phase);
    to.push_back(std::move(row));
  }
  Loaded& out_;
};

Loaded LoadAll(TenantStore& tenant) {
  Loaded out;
  RecordingSink sink(out);
  Status s = tenant.Load(sink);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

// Comparable views of rows whose structs have no operator==.
auto Key(const MemberRow& r) {
  return std::tuple(r.member_id, r.profile, r.identities, r.event_digests, r.merged_into, r.created_at);
}
auto Key(const LoyaltyEffect& e) {
  return std::tuple(e.tick, e.points, e.growth, e.unrecovered, e.rate_bp, e.growth_per_yuan, e.lot);
}
auto Key(const OrderRow& r) {
  const OrderEvent& o = r.order;
  return std::tuple(r.member_id, o.order_id, o.channel, o.store, o.staff, o.payment, o.paid_at, o.paid, o.items,
                    Key(r.loyalty));
}
auto Key(const RefundRow& r) {
  const RefundEvent& e = r.refund;
  return std::tuple(e.refund_id, e.order_id, e.amount, e.refunded_at, Key(r.loyalty));
}
auto Key(const JournalRow& r) {
  return std::tuple(r.tick, r.member_id, r.kind, r.at, r.points, r.lot, r.from, r.to, r.note);
}
auto Key(const SettingRow& r) { return std::tuple(r.key, r.value); }
auto Key(const MergeRow& r) { return std::tuple(r.survivor, r.merged, r.at, r.reason); }
auto Key(const IdempotencyRow& r) { return std::tuple(r.key, r.status, r.body, r.at, r.request_digest); }
auto Key(const tags::TagOperation& r) { return std::tuple(r.id, r.tag, r.add, r.by, r.at, r.note, r.members); }
auto Key(const SnapshotRow& r) { return std::tuple(r.id, r.name, r.expr, r.by, r.at, r.count, r.members); }
auto Key(const CouponEventRow& r) {
  return std::tuple(r.id, r.kind, r.code, r.template_id, r.member, r.occasion, r.order_id, r.at, r.until);
}
auto Key(const ActivityEventRow& r) { return std::tuple(r.id, r.activity_id, r.kind, r.member, r.ref, r.at, r.detail); }

template <typename T>
auto Keys(const std::vector<T>& rows) {
  std::vector<decltype(Key(rows.front()))> out;
  for (const T& r : rows) out.push_back(Key(r));
  return out;
}

MemberRow Member(int64_t id, std::string name) {
  MemberRow m;
  m.member_id = id;
  m.profile.name = std::move(name);
  m.created_at = Timestamp::FromSeconds(1'700'000'000 + id);
  return m;
}

OrderRow Order(std::string id, int64_t member, int n_items = 1) {
  OrderRow r;
  r.member_id = member;
  r.order.order_id = std::move(id);
  r.order.channel = Channel::kMiniprogram;
  r.order.store = "S01";
  r.order.staff = "E07";
  r.order.payment = "wechat";
  r.order.paid_at = Timestamp::FromMicros(1'772'600'000'123'456);
  for (int i = 0; i < n_items; ++i) {
    r.order.items.push_back(
        {"SKU-" + std::to_string(i), i % 2 ? "" : "drinks", i + 1, Money::Fen(int64_t{100} * (i + 1))});
    r.order.paid += r.order.items.back().paid;
  }
  return r;
}

OrderRow OrderAt(int64_t tick, std::string id) {
  OrderRow r = Order(std::move(id), 1);
  r.loyalty.tick = tick;
  return r;
}

RefundRow Refund(std::string id, std::string order_id, int64_t tick) {
  RefundRow r;
  r.refund = {std::move(id), std::move(order_id), Money::Fen(100), Timestamp::FromSeconds(1'772'700'000)};
  r.loyalty.tick = tick;
  return r;
}

JournalRow Journal(int64_t tick, JournalKind kind, int64_t member) {
  JournalRow r;
  r.tick = tick;
  r.kind = kind;
  r.member_id = member;
  r.at = Timestamp::FromSeconds(1'772'800'000 + tick);
  return r;
}

tags::TagOperation TagOperation(int64_t id, std::string tag, std::vector<int64_t> members) {
  tags::TagOperation r;
  r.id = id;
  r.tag = std::move(tag);
  r.by = "ops@tea";
  r.at = Timestamp::FromMicros(1'772'900'000'000'001 + id);
  r.members = std::move(members);
  return r;
}

SnapshotRow Snapshot(int64_t id, const std::vector<int64_t>& members) {
  SnapshotRow r;
  r.id = id;
  r.name = "三月沉睡会员";
  r.expr = R"(stage = "沉睡")";
  r.by = "pk_ops";
  r.at = Timestamp::FromMicros(1'773'000'000'000'001 + id);
  r.count = static_cast<int64_t>(members.size());
  r.members = EncodeIdList(members);
  return r;
}

std::string ExistingTenant(Store& store, const std::string& id) {
  Status s = store.CreateTenant({id, "Tea House 茶馆", "Asia/Shanghai", Timestamp::FromSeconds(1'700'000'000)});
  EXPECT_TRUE(s.ok()) << s.ToString();
  return id;
}

std::unique_ptr<Store> MustOpen(const std::string& dir) {
  auto store = OpenSqliteStore(dir);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

std::unique_ptr<TenantStore> MustOpenTenant(Store& store, const std::string& id) {
  auto tenant = store.OpenTenant(id);
  EXPECT_TRUE(tenant.ok()) << tenant.status().ToString();
  return tenant.ok() ? std::move(tenant).value() : nullptr;
}

// A batch with every row kind, optional fields both present and absent.
WriteBatch FullBatch() {
  WriteBatch b;
  MemberRow full = Member(7, "张伟 🍵");
  full.profile.gender = Gender::kFemale;
  full.profile.birthday = LocalDate::FromYmd(1990, 2, 28);
  full.profile.city = "上海";
  full.profile.home_store = "S01";
  full.profile.source = "mall QR";
  full.profile.owner_staff = "E07";
  full.profile.registered_at = Timestamp::FromMicros(1'600'000'000'000'001);
  MemberRow bare;  // every optional field absent
  bare.member_id = 3;
  bare.created_at = Timestamp::FromSeconds(5);
  MemberRow merged = Member(9, "");                   // present but empty is not absent
  merged.profile.birthday = LocalDate::FromDays(-1);  // 1969-12-31
  merged.profile.gender = Gender::kUnknown;
  merged.merged_into = 7;
  full.identities = {{IdentityKind::kPhone, "13800000000"}, {IdentityKind::kUnionid, "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"}};
  full.event_digests = {1, 0xffff'ffff'ffff'ffffULL, 0x0123'4567'89ab'cdefULL};
  bare.identities = {{IdentityKind::kPosId, "13800000000"}};
  b.members = {full, bare, merged};
  b.orders = {Order("A-1", 7, 3), Order("A-2", 3, 1), Order("A-0", 9, 0)};
  b.orders[1].order.channel = Channel::kOther;
  b.orders[1].order.items[0].qty = -2;  // a return line
  b.orders[1].order.items[0].paid = Money::Fen(-1);
  b.orders[1].order.items[0].sku = "商品-✓";
  // Orders store no `unrecovered` and refunds no earning terms (they reuse
  // their order's), so those stay 0 here.
  const Timestamp lot = Timestamp::FromMicros(1'804'000'000'000'001);
  b.orders[0].loyalty = {.tick = 1, .points = 450, .growth = 45, .rate_bp = 10'000, .growth_per_yuan = 10, .lot = lot};
  b.orders[1].loyalty = {.tick = 2, .points = -1, .growth = -1, .rate_bp = 15'000, .growth_per_yuan = 1, .lot = lot};
  b.orders[2].loyalty.tick = 4;  // earned nothing
  b.refunds = {Refund("R-1", "A-1", 5)};
  b.refunds[0].refund.amount = Money::Fen(150);
  b.refunds[0].loyalty = {.tick = 5, .points = -120, .growth = -15, .unrecovered = 30, .lot = lot};
  // A row of every kind: Load's range check must let both ends through.
  b.journal = {Journal(3, JournalKind::kRedeem, 7), Journal(6, JournalKind::kAdjust, 7),
               Journal(7, JournalKind::kExpire, 3), Journal(8, JournalKind::kTier, 7),
               Journal(9, JournalKind::kStage, 9),  Journal(10, JournalKind::kDay, 0)};
  b.journal[0].points = -200;
  b.journal[0].lot = lot;
  b.journal[0].note = "RD-1";
  b.journal[1].points = INT64_MIN;
  b.journal[1].note = "客服补偿";
  b.journal[2].points = -5;
  b.journal[2].lot = Timestamp::FromMicros(-1);
  b.journal[3].from = "silver";
  b.journal[3].to = "gold";
  b.journal[3].note = "growth";
  b.journal[4].from = "新客";
  b.journal[4].to = "活跃";
  b.journal[5].note = "2026-03-04";
  b.settings = {{"loyalty", R"({"rate_bp":10000,"tiers":["silver","gold"]})"}, {"tiers", ""}};
  b.merges = {{7, 9, Timestamp::FromSeconds(1'772'650'000), "phone+unionid"}};
  b.stores = {{"S01", "人民广场店", "上海", 31.2304, 121.4737}, {"S02", "Online", "", std::nullopt, std::nullopt}};
  b.staff = {{"E07", "李娜", "S01"}};
  b.products = {{"SKU-0", "Jasmine tea", "drinks", Money::Fen(1800)}, {"SKU-1", "Cake", "", Money::Fen(0)}};
  b.categories = {{"drinks", "饮品", ""}, {"tea", "Tea", "drinks"}};
  b.idempotency = {{"idem-1", 201, R"({"accepted":3})", Timestamp::FromSeconds(1'772'600'001), 0xfedcba9876543210ULL}};
  b.tag_operations = {TagOperation(1, "VIP", {3, 7}), TagOperation(2, "VIP", {7})};
  b.tag_operations[1].add = false;
  b.tag_operations[1].by = "merge";
  b.tag_operations[1].note = "降级 ✓";
  b.snapshots = {Snapshot(1, {3, 7, 9})};
  b.coupon_events = {{1, "issue", "7K2M9QW4XR8T1VBZ", 3, 42, "api:idem-9", "", Timestamp::FromSeconds(1'772'600'100), {}},
                     {2, "lock", "7K2M9QW4XR8T1VBZ", 0, 0, "", "POS-1", Timestamp::FromSeconds(1'772'600'200),
                      Timestamp::FromSeconds(1'772'600'500)}};
  b.activity_events = {{1, 2, "take", 42, 0, Timestamp::FromSeconds(1'772'600'300), "7K2M9QW4XR8T1VBZ"},
                       {2, 2, "refused", 43, 0, Timestamp::FromSeconds(1'772'600'301), "sold_out"}};
  return b;
}

TEST(SqliteStoreTest, EveryRowKindRoundTripsThroughReopen) {
  TempDir dir;
  const WriteBatch batch = FullBatch();
  {
    auto store = MustOpen(dir.path());
    auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "tea"));
    ASSERT_TRUE(tenant->Commit(batch).ok());
  }
  auto store = MustOpen(dir.path());
  auto tenant = MustOpenTenant(*store, "tea");
  Loaded got = LoadAll(*tenant);

  EXPECT_EQ(got.stores, (std::vector<StoreInfo>{batch.stores[0], batch.stores[1]}));
  EXPECT_FALSE(got.stores[1].lat.has_value());
  EXPECT_EQ(got.staff, batch.staff);
  EXPECT_EQ(got.products, batch.products);
  EXPECT_EQ(got.categories, (std::vector<CategoryInfo>{batch.categories[0], batch.categories[1]}));
  // Members by member_id.
  EXPECT_EQ(Keys(got.members), Keys(std::vector<MemberRow>{batch.members[1], batch.members[0], batch.members[2]}));
  EXPECT_FALSE(got.members[0].profile.name.has_value());
  EXPECT_EQ(got.members[2].profile.name, std::optional<std::string>(""));
  EXPECT_EQ(got.members[1].identities.size(), 2u);  // identities and digests are in Key(MemberRow)
  EXPECT_EQ(Keys(got.merges), Keys(batch.merges));
  // Orders in insertion order, not by order_id.
  EXPECT_EQ(Keys(got.orders), Keys(batch.orders));
  EXPECT_EQ(got.orders[0].order.items.size(), 3u);
  EXPECT_TRUE(got.orders[2].order.items.empty());
  EXPECT_EQ(Keys(got.refunds), Keys(batch.refunds));
  EXPECT_EQ(Keys(got.journal), Keys(batch.journal));
  EXPECT_EQ(Keys(got.settings), Keys(batch.settings));
  EXPECT_EQ(Keys(got.idempotency), Keys(batch.idempotency));
  EXPECT_EQ(Keys(got.tag_operations), Keys(batch.tag_operations));
  EXPECT_EQ(Keys(got.snapshots), Keys(batch.snapshots));
  EXPECT_EQ(Keys(got.coupon_events), Keys(batch.coupon_events));
  EXPECT_EQ(Keys(got.activity_events), Keys(batch.activity_events));
  EXPECT_TRUE(std::is_sorted(got.phases.begin(), got.phases.end())) << "Load must call the sink in store.hpp's order";
  EXPECT_EQ(got.by_tick, (std::vector<std::string>{"order 1", "order 2", "journal 3", "order 4", "refund 5",
                                                   "journal 6", "journal 7", "journal 8", "journal 9", "journal 10"}));
}

// Commits `batches` to a fresh SQLite tenant and to the in-memory double the
// engine's tests use, and loads both back.
std::pair<Loaded, Loaded> LoadFromBoth(const std::vector<WriteBatch>& batches) {
  TempDir dir;
  auto store = MustOpen(dir.path());
  auto sqlite = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
  testing::MemoryTenantStore memory(std::make_shared<testing::MemoryTenantData>());
  for (const WriteBatch& b : batches) {
    EXPECT_TRUE(sqlite->Commit(b).ok());
    EXPECT_TRUE(memory.Commit(b).ok());
  }
  return {LoadAll(*sqlite), LoadAll(memory)};
}

TEST(SqliteStoreTest, LoadInterleavesOrdersRefundsAndJournalRowsByTick) {
  WriteBatch b;  // Commit writes all orders, then the refund, then the journal rows
  b.orders = {OrderAt(1, "O-1"), OrderAt(4, "O-4")};
  b.refunds = {Refund("R-2", "O-1", 2)};
  b.journal = {Journal(3, JournalKind::kRedeem, 1), Journal(5, JournalKind::kTier, 1)};
  const auto [sqlite, memory] = LoadFromBoth({b});
  const std::vector<std::string> want = {"order 1", "refund 2", "journal 3", "order 4", "journal 5"};
  EXPECT_EQ(sqlite.by_tick, want);
  EXPECT_EQ(memory.by_tick, want);
}

// Rows stored before ticks existed all have tick 0; they must replay as they
// did then: every order before any refund.
TEST(SqliteStoreTest, RowsOfEqualTickReplayOrdersThenRefundsThenJournalEachInInsertionOrder) {
  WriteBatch first;
  first.refunds = {Refund("R-1", "O-1", 0)};
  first.journal = {Journal(0, JournalKind::kExpire, 1)};
  WriteBatch second;
  second.orders = {OrderAt(0, "O-1"), OrderAt(0, "O-0")};
  second.refunds = {Refund("R-0", "O-0", 0)};
  const auto [sqlite, memory] = LoadFromBoth({first, second});
  for (const Loaded* got : {&sqlite, &memory}) {
    EXPECT_EQ(got->by_tick, (std::vector<std::string>{"order 0", "order 0", "refund 0", "refund 0", "journal 0"}));
    EXPECT_EQ(Keys(got->orders), Keys(second.orders));
    EXPECT_EQ(Keys(got->refunds), Keys(std::vector<RefundRow>{first.refunds[0], second.refunds[0]}));
  }
}

TEST(SqliteStoreTest, LoadReplaysOrdersRefundsAndMergesInInsertionOrderAcrossBatches) {
  TempDir dir;
  auto store = MustOpen(dir.path());
  auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
  std::vector<OrderRow> all;
  std::vector<MergeRow> merges;
  for (int batch = 0; batch < 5; ++batch) {
    WriteBatch b;
    for (int i = 0; i < 20; ++i) {
      // Ids that sort against insertion order.
      b.orders.push_back(Order("Z" + std::to_string(1000 - batch * 20 - i), 100 - i, i % 4));
      all.push_back(b.orders.back());
    }
    b.merges.push_back({10 - batch, 20 + batch, Timestamp::FromSeconds(batch), "phone"});
    merges.push_back(b.merges.back());
    ASSERT_TRUE(tenant->Commit(b).ok());
  }
  Loaded got = LoadAll(*tenant);
  EXPECT_EQ(Keys(got.orders), Keys(all));
  EXPECT_EQ(Keys(got.merges), Keys(merges));
}

// A tag operation's member list is re-encoded by the backend, a snapshot's is
// stored as handed over; both must come back exactly, a 100k member audience
// and one that changed nobody alike.
TEST(SqliteStoreTest, TagOperationsAndSnapshotsRoundTripThroughReopenWhateverTheirSize) {
  TempDir dir;
  std::vector<int64_t> many;
  for (int64_t id = 1; many.size() < 100'000; id += 1 + id % 300) many.push_back(id);
  many.push_back(INT64_MAX);  // the widest gap there is
  WriteBatch first;
  first.tag_operations = {TagOperation(1, "VIP", many), TagOperation(2, "VIP", {})};
  first.tag_operations[1].add = false;
  first.tag_operations[1].note = "nobody held it";
  first.snapshots = {Snapshot(1, many), Snapshot(2, {})};
  WriteBatch second;
  second.tag_operations = {TagOperation(3, "咖啡爱好者", {5})};
  second.tag_operations[0].by = "merge";
  second.snapshots = {Snapshot(3, {5})};
  second.snapshots[0].expr = "";
  {
    auto store = MustOpen(dir.path());
    auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
    ASSERT_TRUE(tenant->Commit(first).ok());
    ASSERT_TRUE(tenant->Commit(second).ok());
  }
  auto store = MustOpen(dir.path());
  auto tenant = MustOpenTenant(*store, "t1");
  const Loaded got = LoadAll(*tenant);

  ASSERT_EQ(got.tag_operations.size(), 3u);
  const tags::TagOperation& big = got.tag_operations[0];
  EXPECT_EQ(big.id, 1);
  EXPECT_EQ(big.tag, "VIP");
  EXPECT_TRUE(big.add);
  EXPECT_EQ(big.by, "ops@tea");
  EXPECT_EQ(big.at, first.tag_operations[0].at);
  EXPECT_EQ(big.note, "");
  EXPECT_EQ(big.members, many);
  EXPECT_FALSE(got.tag_operations[1].add);
  EXPECT_TRUE(got.tag_operations[1].members.empty());
  EXPECT_EQ(Keys(got.tag_operations), Keys(std::vector<tags::TagOperation>{first.tag_operations[0],
                                                                           first.tag_operations[1],
                                                                           second.tag_operations[0]}));
  ASSERT_EQ(got.snapshots.size(), 3u);
  const SnapshotRow& audience = got.snapshots[0];
  EXPECT_EQ(audience.id, 1);
  EXPECT_EQ(audience.name, "三月沉睡会员");
  EXPECT_EQ(audience.expr, R"(stage = "沉睡")");
  EXPECT_EQ(audience.by, "pk_ops");
  EXPECT_EQ(audience.at, first.snapshots[0].at);
  EXPECT_EQ(audience.count, 100'001);
  EXPECT_EQ(DecodeIdList(audience.members).value(), many);
  EXPECT_TRUE(got.snapshots[1].members.empty());
  EXPECT_EQ(got.snapshots[1].count, 0);
  EXPECT_EQ(Keys(got.snapshots),
            Keys(std::vector<SnapshotRow>{first.snapshots[0], first.snapshots[1], second.snapshots[0]}));
  tenant.reset();
  // The column holds core/id_list.hpp's encoding, for anyone reading the file.
  EXPECT_EQ(RawDb(dir.path() + "/tenants/t1.db").Text("SELECT members FROM tag_operations WHERE id=1"),
            EncodeIdList(many));
}

TEST(SqliteStoreTest, TagOperationsAndSnapshotsLoadAfterTheJournalAndBeforeIdempotencyAnswers) {
  TempDir dir;
  auto store = MustOpen(dir.path());
  auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
  // Each batch holds the rows in the opposite order to the one they load in.
  WriteBatch first;
  first.idempotency = {{"k-1", 200, "{}", Timestamp::FromSeconds(1)}};
  first.snapshots = {Snapshot(1, {1})};
  first.tag_operations = {TagOperation(1, "a", {1})};
  first.journal = {Journal(1, JournalKind::kDay, 0)};
  WriteBatch second;
  second.idempotency = {{"k-0", 201, "{}", Timestamp::FromSeconds(2)}};
  second.snapshots = {Snapshot(2, {2})};
  second.tag_operations = {TagOperation(2, "b", {1, 2})};
  second.orders = {OrderAt(2, "O-2")};
  ASSERT_TRUE(tenant->Commit(first).ok());
  ASSERT_TRUE(tenant->Commit(second).ok());
  const Loaded got = LoadAll(*tenant);
  EXPECT_EQ(got.phases, (std::vector<int>{4, 4, 5, 5, 6, 6, 9, 9}));
  EXPECT_EQ(got.by_tick, (std::vector<std::string>{"journal 1", "order 2"}));
  EXPECT_EQ(Keys(got.tag_operations),
            Keys(std::vector<tags::TagOperation>{first.tag_operations[0], second.tag_operations[0]}));
  EXPECT_EQ(Keys(got.snapshots), Keys(std::vector<SnapshotRow>{first.snapshots[0], second.snapshots[0]}));
}

TEST(SqliteStoreTest, ARepeatedTagOperationIdFailsItsBatchAndStoresNothingOfIt) {
  TempDir dir;
  auto store = MustOpen(dir.path());
  auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
  ASSERT_TRUE(tenant->Commit({.tag_operations = {TagOperation(1, "VIP", {1})}}).ok());

  WriteBatch bad;
  bad.members = {Member(2, "b")};
  bad.snapshots = {Snapshot(1, {2})};
  bad.tag_operations = {TagOperation(2, "VIP", {2}), TagOperation(1, "VIP", {2})};
  Status s = tenant->Commit(bad);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("UNIQUE constraint failed: tag_operations.id"), std::string::npos) << s.message();
  EXPECT_NE(s.ToString().find("id=1"), std::string::npos) << s.ToString();

  const Loaded got = LoadAll(*tenant);
  EXPECT_TRUE(got.members.empty());
  EXPECT_TRUE(got.snapshots.empty());
  ASSERT_EQ(got.tag_operations.size(), 1u);
  EXPECT_EQ(got.tag_operations[0].members, std::vector<int64_t>{1});
}

TEST(SqliteStoreTest, MemberUpsertReplacesTheWholeRow) {
  TempDir dir;
  auto store = MustOpen(dir.path());
  auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
  MemberRow first = Member(42, "Old");
  first.profile.city = "北京";
  ASSERT_TRUE(tenant->Commit({.members = {first, Member(43, "Other")}}).ok());
  MemberRow second = Member(42, "New");  // city now absent: the row is as the engine says it stands
  second.merged_into = 43;
  ASSERT_TRUE(tenant->Commit({.members = {second}}).ok());
  Loaded got = LoadAll(*tenant);
  ASSERT_EQ(got.members.size(), 2u);
  EXPECT_EQ(Key(got.members[0]), Key(second));
  EXPECT_FALSE(got.members[0].profile.city.has_value());
}

TEST(SqliteStoreTest, MasterDataSettingsAndIdempotencyAreUpsertedByKey) {
  TempDir dir;
  auto store = MustOpen(dir.path());
  auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
  ASSERT_TRUE(tenant
                  ->Commit({.settings = {{"loyalty", "{}"}, {"tiers", "[1]"}},
                            .stores = {{"S1", "A", "X", 1.0, 2.0}},
                            .staff = {{"E1", "A", "S1"}},
                            .products = {{"P1", "A", "c1", Money::Fen(1)}},
                            .categories = {{"c1", "A", ""}},
                            .idempotency = {{"k", 200, "a", Timestamp::FromSeconds(1)}}})
                  .ok());
  const StoreInfo store2{"S1", "B", "Y", std::nullopt, std::nullopt};
  const StaffInfo staff2{"E1", "B", "S2"};
  const ProductInfo product2{"P1", "B", "c2", Money::Fen(2)};
  const CategoryInfo category2{"c1", "B", "root"};
  const IdempotencyRow idem2{"k", 409, "b", Timestamp::FromSeconds(2), 42};
  ASSERT_TRUE(tenant
                  ->Commit({.settings = {{"loyalty", R"({"rate_bp":1})"}, {"loyalty", R"({"rate_bp":2})"}},
                            .stores = {store2},
                            .staff = {staff2},
                            .products = {product2},
                            .categories = {category2},
                            .idempotency = {idem2}})
                  .ok());
  Loaded got = LoadAll(*tenant);
  // The last value wins, within a batch too.
  EXPECT_EQ(Keys(got.settings), Keys(std::vector<SettingRow>{{"loyalty", R"({"rate_bp":2})"}, {"tiers", "[1]"}}));
  EXPECT_EQ(got.stores, std::vector<StoreInfo>{store2});
  EXPECT_EQ(got.staff, std::vector<StaffInfo>{staff2});
  EXPECT_EQ(got.products, std::vector<ProductInfo>{product2});
  EXPECT_EQ(got.categories, std::vector<CategoryInfo>{category2});
  EXPECT_EQ(Keys(got.idempotency), Keys(std::vector<IdempotencyRow>{idem2}));
}

TEST(SqliteStoreTest, DuplicateOrderIdInALaterBatchFailsAndStoresNothingOfThatBatch) {
  TempDir dir;
  auto store = MustOpen(dir.path());
  auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
  ASSERT_TRUE(tenant->Commit({.members = {Member(1, "a")}, .orders = {Order("O-1", 1)}}).ok());

  WriteBatch bad;
  bad.members = {Member(1, "changed"), Member(2, "b")};
  bad.orders = {Order("O-2", 2), Order("O-1", 2)};
  bad.refunds = {Refund("R-1", "O-2", 0)};
  Status s = tenant->Commit(bad);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("orders"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("UNIQUE constraint failed: orders.order_id"), std::string::npos) << s.message();
  EXPECT_NE(s.ToString().find("order_id=O-1"), std::string::npos) << s.ToString();

  Loaded got = LoadAll(*tenant);
  ASSERT_EQ(got.members.size(), 1u);
  EXPECT_EQ(got.members[0].profile.name, std::optional<std::string>("a"));
  ASSERT_EQ(got.orders.size(), 1u);
  EXPECT_TRUE(got.refunds.empty());

  ASSERT_TRUE(tenant->Commit({.orders = {Order("O-2", 2)}}).ok()) << "the store must keep working";
  EXPECT_EQ(LoadAll(*tenant).orders.size(), 2u);
}

TEST(SqliteStoreTest, FailedCommitAtAnyStageStoresNothingAndTheStoreKeepsWorking) {
  const std::vector<std::string> stages = {"members",    "orders",      "refunds",        "journal",   "settings",
                                           "merges",     "stores",      "staff",          "products",  "categories",
                                           "idempotency", "tag_operations", "snapshots", "coupon_events", "activity_events", "commit"};
  for (const std::string& stage : stages) {
    SCOPED_TRACE(stage);
    TempDir dir;
    std::string fail_at;  // armed by the test, disarmed by the first failure
    auto opened = sqlite_internal::OpenSqliteStoreWithFault(dir.path(), [&](std::string_view at) {
      if (at != fail_at) return Status::Ok();
      fail_at.clear();
      return Unavailable("injected fault");
    });
    ASSERT_TRUE(opened.ok());
    auto tenant = MustOpenTenant(**opened, ExistingTenant(**opened, "t1"));
    WriteBatch first = FullBatch();
    ASSERT_TRUE(tenant->Commit(first).ok());

    WriteBatch second;
    second.members = {Member(7, "overwritten"), Member(100, "new")};
    second.members[1].identities = {{IdentityKind::kExternalUserid, "wm-1"}};
    second.orders = {Order("B-1", 100, 2)};
    second.orders[0].loyalty.tick = 11;
    second.refunds = {Refund("R-2", "B-1", 12)};
    second.journal = {Journal(13, JournalKind::kAdjust, 100)};
    second.settings = {{"loyalty", "changed"}};
    second.merges = {{100, 3, Timestamp::FromSeconds(9), "pos_id"}};
    second.stores = {{"S01", "renamed", "", std::nullopt, std::nullopt}};
    second.staff = {{"E99", "new", "S01"}};
    second.products = {{"SKU-9", "new", "", Money::Fen(9)}};
    second.categories = {{"drinks", "renamed", ""}};
    second.idempotency = {{"idem-2", 200, "{}", Timestamp::FromSeconds(9)}};
    second.tag_operations = {TagOperation(3, "新品", {100}), TagOperation(4, "新品", {})};
    second.snapshots = {Snapshot(2, {7, 100})};
    fail_at = stage;
    Status s = tenant->Commit(second);
    EXPECT_EQ(s.code(), StatusCode::kUnavailable);
    EXPECT_TRUE(fail_at.empty()) << "the hook never ran at this stage";

    const Loaded got = LoadAll(*tenant);
    EXPECT_EQ(Keys(got.members).size(), 3u);
    EXPECT_EQ(got.members[1].profile.name, std::optional<std::string>("张伟 🍵"));
    EXPECT_EQ(Keys(got.members), Keys(std::vector<MemberRow>{first.members[1], first.members[0], first.members[2]}));
    EXPECT_EQ(Keys(got.orders), Keys(first.orders));
    EXPECT_EQ(Keys(got.refunds), Keys(first.refunds));
    EXPECT_EQ(Keys(got.journal), Keys(first.journal));
    EXPECT_EQ(Keys(got.settings), Keys(first.settings));
    EXPECT_EQ(Keys(got.merges), Keys(first.merges));
    EXPECT_EQ(got.stores.size(), 2u);
    EXPECT_EQ(got.stores[0].name, "人民广场店");
    EXPECT_EQ(got.staff.size(), 1u);
    EXPECT_EQ(got.products.size(), 2u);
    EXPECT_EQ(got.categories[0].name, "饮品");
    EXPECT_EQ(got.idempotency.size(), 1u);
    EXPECT_EQ(Keys(got.tag_operations), Keys(first.tag_operations));
    EXPECT_EQ(Keys(got.snapshots), Keys(first.snapshots));

    ASSERT_TRUE(tenant->Commit(second).ok()) << "the same batch commits once the fault is gone";
    const Loaded after = LoadAll(*tenant);
    EXPECT_EQ(after.orders.size(), first.orders.size() + 1);
    EXPECT_EQ(after.journal.size(), first.journal.size() + 1);
    EXPECT_EQ(after.settings[0].value, "changed");
    EXPECT_EQ(after.tag_operations.size(), first.tag_operations.size() + 2);
    EXPECT_EQ(after.snapshots.size(), first.snapshots.size() + 1);
  }
}

TEST(SqliteStoreTest, EmptyBatchCommits) {
  TempDir dir;
  auto store = MustOpen(dir.path());
  auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
  EXPECT_TRUE(tenant->Commit(WriteBatch{}).ok());
  EXPECT_TRUE(LoadAll(*tenant).phases.empty());
}

TEST(SqliteStoreTest, TenantsAreCreatedOnceAndListedById) {
  TempDir dir;
  auto store = MustOpen(dir.path());
  const TenantRecord b{"b-2", "B", "Asia/Shanghai", Timestamp::FromMicros(2)};
  const TenantRecord a{"a_1", "甲", "Europe/Berlin", Timestamp::FromMicros(1)};
  ASSERT_TRUE(store->CreateTenant(b).ok());
  ASSERT_TRUE(store->CreateTenant(a).ok());
  Status again = store->CreateTenant({"a_1", "other", "UTC", Timestamp()});
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists) << again.ToString();

  store = MustOpen(dir.path());
  auto listed = store->ListTenants();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, a.id);
  EXPECT_EQ((*listed)[0].name, a.name);
  EXPECT_EQ((*listed)[0].timezone, a.timezone);
  EXPECT_EQ((*listed)[0].created_at, a.created_at);
  EXPECT_EQ((*listed)[1].id, b.id);
}

TEST(SqliteStoreTest, UnknownTenantIsNotFound) {
  TempDir dir;
  auto store = MustOpen(dir.path());
  auto tenant = store->OpenTenant("nobody");
  EXPECT_EQ(tenant.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/tenants/nobody.db")) << "no file for an unknown tenant";
}

TEST(SqliteStoreTest, TenantIdsOutsideTheSafeAlphabetAreInvalidArgument) {
  TempDir dir;
  auto store = MustOpen(dir.path());
  for (const std::string& id :
       {std::string(""), std::string("Tea"), std::string("../pond"), std::string("a/b"), std::string("a.db"),
        std::string("a b"), std::string(65, 'a'), std::string("a\0b", 3)}) {
    SCOPED_TRACE(id);
    EXPECT_EQ(store->OpenTenant(id).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(store->CreateTenant({id, "x", "UTC", Timestamp()}).code(), StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(store->CreateTenant({std::string(64, 'z'), "x", "UTC", Timestamp()}).ok());
  EXPECT_EQ(store->ListTenants()->size(), 1u);
}

TEST(SqliteStoreTest, ReopeningKeepsTheSchemaVersionAndTheData) {
  TempDir dir;
  int64_t catalog_version = 0;
  int64_t tenant_version = 0;
  {
    auto store = MustOpen(dir.path());
    auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
    ASSERT_TRUE(tenant->Commit({.orders = {Order("O-1", 1)}}).ok());
    catalog_version = RawDb(dir.path() + "/pond.db").Int("PRAGMA user_version");
    tenant_version = RawDb(dir.path() + "/tenants/t1.db").Int("PRAGMA user_version");
  }
  EXPECT_GE(catalog_version, 1);
  EXPECT_GE(tenant_version, 1);
  for (int i = 0; i < 3; ++i) {
    auto store = MustOpen(dir.path());
    auto tenant = MustOpenTenant(*store, "t1");
    EXPECT_EQ(LoadAll(*tenant).orders.size(), 1u);
  }
  EXPECT_EQ(RawDb(dir.path() + "/pond.db").Int("PRAGMA user_version"), catalog_version);
  EXPECT_EQ(RawDb(dir.path() + "/tenants/t1.db").Int("PRAGMA user_version"), tenant_version);
}

TEST(SqliteStoreTest, FilesAreWalWithTheDocumentedTables) {
  TempDir dir;
  {
    auto store = MustOpen(dir.path());
    MustOpenTenant(*store, ExistingTenant(*store, "t1"));
  }
  RawDb catalog(dir.path() + "/pond.db");
  EXPECT_EQ(catalog.Text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(catalog.Int("SELECT count(*) FROM sqlite_schema WHERE type='table'"), 2);
  RawDb tenant(dir.path() + "/tenants/t1.db");
  EXPECT_EQ(tenant.Text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(tenant.Int("SELECT count(*) FROM sqlite_schema WHERE type='table' AND name IN ('members','orders',"
                       "'refunds','loyalty_journal','settings','merges','stores','staff','products','categories',"
                       "'idempotency','tag_operations','snapshots','coupon_events','activity_events')"),
            15);
}

TEST(SqliteStoreTest, CatalogWrittenByANewerBuildIsRefused) {
  TempDir dir;
  MustOpen(dir.path());
  RawDb(dir.path() + "/pond.db").Exec("PRAGMA user_version=999");
  auto store = OpenSqliteStore(dir.path());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition) << store.status().ToString();
}

TEST(SqliteStoreTest, TenantWrittenByANewerBuildIsRefused) {
  TempDir dir;
  auto store = MustOpen(dir.path());
  MustOpenTenant(*store, ExistingTenant(*store, "t1"));
  RawDb(dir.path() + "/tenants/t1.db").Exec("PRAGMA user_version=999");
  EXPECT_EQ(store->OpenTenant("t1").status().code(), StatusCode::kFailedPrecondition);
}

// A tenant file as a build of schema version 1 (before loyalty) left it.
TEST(SqliteStoreTest, AVersion1TenantIsMigratedAndItsRowsLoadWithNoLoyalty) {
  TempDir dir;
  auto store = MustOpen(dir.path());
  ExistingTenant(*store, "t1");
  const std::string path = dir.path() + "/tenants/t1.db";
  ASSERT_TRUE(sqlite_internal::OpenAndMigrate(path, sqlite_internal::kTenantTuning,
                                              sqlite_internal::TenantMigrations().first(1))
                  .ok());
  std::vector<OrderRow> old_orders = {Order("L-2", 7, 0), Order("L-1", 8, 0)};
  old_orders[1].order.channel = Channel::kStore;
  {
    RawDb v1(path);
    ASSERT_EQ(v1.Int("PRAGMA user_version"), 1);
    v1.Exec("INSERT INTO orders(order_id,member_id,channel,store,staff,payment,paid_at,paid_fen,items) VALUES"
            "('L-2',7,1,'S01','E07','wechat',1772600000123456,0,x'0100'),"
            "('L-1',8,0,'S01','E07','wechat',1772600000123456,0,x'0100')");
    v1.Exec("INSERT INTO refunds(refund_id,order_id,amount_fen,refunded_at) VALUES('LR-1','L-2',100,1772700000000000)");
  }

  auto tenant = MustOpenTenant(*store, "t1");
  EXPECT_EQ(RawDb(path).Int("PRAGMA user_version"), static_cast<int64_t>(sqlite_internal::TenantMigrations().size()));
  WriteBatch now;
  now.orders = {OrderAt(1, "N-1")};
  now.orders[0].loyalty.points = 10;
  now.journal = {Journal(2, JournalKind::kRedeem, 1)};
  now.refunds = {Refund("NR-1", "N-1", 3)};
  ASSERT_TRUE(tenant->Commit(now).ok());

  const Loaded got = LoadAll(*tenant);
  EXPECT_EQ(got.by_tick,
            (std::vector<std::string>{"order 0", "order 0", "refund 0", "order 1", "journal 2", "refund 3"}));
  EXPECT_EQ(Keys(got.orders), Keys(std::vector<OrderRow>{old_orders[0], old_orders[1], now.orders[0]}));
  EXPECT_EQ(Keys(got.refunds), Keys(std::vector<RefundRow>{Refund("LR-1", "L-2", 0), now.refunds[0]}));
  EXPECT_EQ(Keys(got.journal), Keys(now.journal));
}

// A tenant file as a build of schema version 3 (before tags) left it.
TEST(SqliteStoreTest, AVersion3TenantIsMigratedKeepingItsRowsAndStoresTagOperationsAndSnapshots) {
  TempDir dir;
  auto store = MustOpen(dir.path());
  ExistingTenant(*store, "t1");
  const std::string path = dir.path() + "/tenants/t1.db";
  ASSERT_TRUE(sqlite_internal::OpenAndMigrate(path, sqlite_internal::kTenantTuning,
                                              sqlite_internal::TenantMigrations().first(3))
                  .ok());
  {
    RawDb v3(path);
    ASSERT_EQ(v3.Int("PRAGMA user_version"), 3);
    ASSERT_EQ(v3.Int("SELECT count(*) FROM sqlite_schema WHERE name IN ('tag_operations','snapshots')"), 0);
    v3.Exec("INSERT INTO loyalty_journal(tick,member_id,kind,at,points,lot,from_value,to_value,note) "
            "VALUES(1,0,5,1772800001000000,0,0,'','','2026-03-04')");
    v3.Exec("INSERT INTO idempotency(key,status,body,at,request_digest) VALUES('k',201,'{}',1772600001000000,42)");
  }

  auto tenant = MustOpenTenant(*store, "t1");
  EXPECT_EQ(RawDb(path).Int("PRAGMA user_version"), static_cast<int64_t>(sqlite_internal::TenantMigrations().size()));
  const Loaded before = LoadAll(*tenant);
  EXPECT_TRUE(before.tag_operations.empty());
  EXPECT_TRUE(before.snapshots.empty());
  WriteBatch now;
  now.tag_operations = {TagOperation(1, "VIP", {1, 3})};
  now.snapshots = {Snapshot(1, {1, 3})};
  ASSERT_TRUE(tenant->Commit(now).ok());

  const Loaded got = LoadAll(*tenant);
  EXPECT_EQ(got.by_tick, std::vector<std::string>{"journal 1"});
  EXPECT_EQ(got.journal.at(0).note, "2026-03-04");
  EXPECT_EQ(Keys(got.idempotency),
            Keys(std::vector<IdempotencyRow>{{"k", 201, "{}", Timestamp::FromSeconds(1'772'600'001), 42}}));
  EXPECT_EQ(Keys(got.tag_operations), Keys(now.tag_operations));
  EXPECT_EQ(Keys(got.snapshots), Keys(now.snapshots));
}

TEST(SqliteStoreTest, ApiKeysRoundTripAndAPutReplacesById) {
  TempDir dir;
  {
    auto store = MustOpen(dir.path());
    ASSERT_TRUE(store->PutApiKey({"pk_b", "ab12", "*", Role::kAdmin, Timestamp::FromMicros(1)}).ok());
    ASSERT_TRUE(store->PutApiKey({"pk_a", "cd34", "tea", Role::kAnalyst, Timestamp::FromMicros(2)}).ok());
    ASSERT_TRUE(store->PutApiKey({"pk_b", "ef56", "tea", Role::kIntegration, Timestamp::FromMicros(3)}).ok());
  }
  auto store = MustOpen(dir.path());
  auto keys = store->ListApiKeys();
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 2u);
  const ApiKeyRecord& a = (*keys)[0];
  EXPECT_EQ(std::tuple(a.id, a.secret_hash, a.tenant, a.role, a.created_at),
            std::tuple("pk_a", "cd34", "tea", Role::kAnalyst, Timestamp::FromMicros(2)));
  const ApiKeyRecord& b = (*keys)[1];
  EXPECT_EQ(std::tuple(b.id, b.secret_hash, b.tenant, b.role, b.created_at),
            std::tuple("pk_b", "ef56", "tea", Role::kIntegration, Timestamp::FromMicros(3)));
}

TEST(SqliteStoreTest, PingAnswers) {
  TempDir dir;
  EXPECT_TRUE(MustOpen(dir.path())->Ping().ok());
}

TEST(SqliteStoreTest, CatalogIsSafeFromManyThreads) {
  TempDir dir;
  auto store = MustOpen(dir.path());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < 25; ++i) {
        const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        EXPECT_TRUE(store->CreateTenant({id, id, "UTC", Timestamp()}).ok());
        EXPECT_TRUE(store->ListTenants().ok());
        EXPECT_TRUE(store->Ping().ok());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(store->ListTenants()->size(), 100u);
}

TEST(SqliteStoreTest, TenantStoreOutlivesItsStoreAndTenantsAreSeparateFiles) {
  TempDir dir;
  std::unique_ptr<TenantStore> a;
  std::unique_ptr<TenantStore> b;
  {
    auto store = MustOpen(dir.path());
    a = MustOpenTenant(*store, ExistingTenant(*store, "a"));
    b = MustOpenTenant(*store, ExistingTenant(*store, "b"));
  }
  ASSERT_TRUE(a->Commit({.orders = {Order("SAME", 1)}}).ok());
  ASSERT_TRUE(b->Commit({.orders = {Order("SAME", 2)}}).ok()) << "order ids are per tenant";
  EXPECT_EQ(LoadAll(*a).orders.at(0).member_id, 1);
  EXPECT_EQ(LoadAll(*b).orders.at(0).member_id, 2);
}

// The tenant's WAL is copied back by the Checkpointer, not by the commit
// that crosses SQLite's automatic threshold; however far the background
// thread falls behind, the committer's own checkpoint at the inline limit
// keeps the WAL file bounded, and every row stays readable.
TEST(SqliteStoreTest, TheWalStaysBoundedUnderSustainedCommits) {
  TempDir dir;
  const std::string path = dir.path() + "/t.db";
  constexpr int kInlinePages = 64;
  auto opened = sqlite_internal::OpenTenantDb(path, nullptr, {.background_pages = 8, .inline_pages = kInlinePages});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<TenantStore> tenant = std::move(opened).value();
  int64_t largest_wal = 0;
  std::vector<OrderRow> written;
  for (int batch = 0; batch < 300; ++batch) {
    WriteBatch b;
    for (int i = 0; i < 40; ++i) {
      b.orders.push_back(OrderAt(static_cast<int64_t>(written.size() + 1),
                                 "O-" + std::to_string(batch) + "-" + std::to_string(i)));
      written.push_back(b.orders.back());
    }
    ASSERT_TRUE(tenant->Commit(b).ok());
    largest_wal = std::max(largest_wal, static_cast<int64_t>(std::filesystem::file_size(path + "-wal")));
  }
  // Without checkpoints the 300 batches leave well over a thousand pages.
  EXPECT_LE(largest_wal, (kInlinePages + 32) * 4096) << "the WAL grew past the inline limit";
  EXPECT_EQ(Keys(LoadAll(*tenant).orders), Keys(written));
  tenant.reset();
  EXPECT_EQ(RawDb(path).Int("SELECT count(*) FROM orders"), static_cast<int64_t>(written.size()));
}

TEST(SqliteStoreTest, CorruptStoredValuesFailLoadWithInternal) {
  TempDir dir;
  auto store = MustOpen(dir.path());
  auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
  ASSERT_TRUE(tenant->Commit({.orders = {Order("O-1", 1, 2)}}).ok());
  const std::string path = dir.path() + "/tenants/t1.db";
  RawDb(path).Exec("UPDATE orders SET items=x'01ff'");
  Loaded ignored;
  RecordingSink sink(ignored);
  Status s = tenant->Load(sink);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.ToString().find("order_id=O-1"), std::string::npos) << s.ToString();

  RawDb(path).Exec("UPDATE orders SET items=x'0100', channel=77");
  EXPECT_EQ(tenant->Load(sink).code(), StatusCode::kInternal);
}

TEST(SqliteStoreTest, AJournalKindBeyondTheEnumFailsLoadWithInternal) {
  TempDir dir;
  auto store = MustOpen(dir.path());
  auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
  ASSERT_TRUE(tenant->Commit({.journal = {Journal(7, JournalKind::kDay, 0)}}).ok());
  const std::string path = dir.path() + "/tenants/t1.db";
  Loaded ignored;
  RecordingSink sink(ignored);
  for (int kind : {kJournalKinds, -1}) {
    SCOPED_TRACE(kind);
    RawDb(path).Exec("UPDATE loyalty_journal SET kind=" + std::to_string(kind));
    Status s = tenant->Load(sink);
    EXPECT_EQ(s.code(), StatusCode::kInternal);
    EXPECT_EQ(s.message(), "corrupt value in loyalty_journal.kind");
    EXPECT_NE(s.ToString().find("tick=7"), std::string::npos) << s.ToString();
    EXPECT_NE(s.ToString().find("value=" + std::to_string(kind)), std::string::npos) << s.ToString();
  }
}

TEST(SqliteStoreTest, DamagedTagOperationsFailLoadWithInternalNamingTheRow) {
  TempDir dir;
  auto store = MustOpen(dir.path());
  auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
  ASSERT_TRUE(tenant->Commit({.tag_operations = {TagOperation(5, "VIP", {1, 2})}}).ok());
  const std::string path = dir.path() + "/tenants/t1.db";
  Loaded ignored;
  RecordingSink sink(ignored);
  for (const char* members : {"x'80'", "x'0500'", "x'ffffffffffffffffffffff'"}) {  // truncated, repeated, overlong
    SCOPED_TRACE(members);
    RawDb(path).Exec(std::string("UPDATE tag_operations SET members=") + members);
    Status s = tenant->Load(sink);
    EXPECT_EQ(s.code(), StatusCode::kInternal);
    EXPECT_EQ(s.message(), "corrupt members in tag_operations.members");
    EXPECT_NE(s.ToString().find("table=tag_operations"), std::string::npos) << s.ToString();
    EXPECT_NE(s.ToString().find("id=5"), std::string::npos) << s.ToString();
  }

  RawDb(path).Exec("UPDATE tag_operations SET members=x'0101', added=2");
  Status s = tenant->Load(sink);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_EQ(s.message(), "corrupt value in tag_operations.added");
  EXPECT_NE(s.ToString().find("id=5"), std::string::npos) << s.ToString();
}

TEST(SqliteStoreTest, SqliteErrorsMapToCanonicalCodes) {
  using sqlite_internal::SqliteStatus;
  EXPECT_EQ(SqliteStatus(nullptr, SQLITE_BUSY, "insert into", "orders").code(), StatusCode::kUnavailable);
  EXPECT_EQ(SqliteStatus(nullptr, SQLITE_LOCKED, "insert into", "orders").code(), StatusCode::kUnavailable);
  EXPECT_EQ(SqliteStatus(nullptr, SQLITE_IOERR_FSYNC, "insert into", "orders").code(), StatusCode::kUnavailable);
  EXPECT_EQ(SqliteStatus(nullptr, SQLITE_FULL, "insert into", "orders").code(), StatusCode::kUnavailable);
  EXPECT_EQ(SqliteStatus(nullptr, SQLITE_CONSTRAINT_UNIQUE, "insert into", "orders").code(), StatusCode::kInternal);
  EXPECT_EQ(SqliteStatus(nullptr, SQLITE_CORRUPT, "insert into", "orders").code(), StatusCode::kInternal);
  Status s = SqliteStatus(nullptr, SQLITE_FULL, "insert into", "orders");
  EXPECT_EQ(s.message(), "insert into orders: database or disk is full");
}

TEST(SqliteStoreTest, AWriteLockHeldElsewhereIsUnavailableNotAHang) {
  TempDir dir;
  auto store = MustOpen(dir.path());
  auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
  RawDb other(dir.path() + "/tenants/t1.db");
  // EXCLUSIVE in WAL mode blocks writers at once; busy_timeout then expires.
  other.Exec("PRAGMA busy_timeout=0; BEGIN EXCLUSIVE");
  other.Exec("INSERT INTO merges(survivor,merged,at,reason) VALUES(1,2,3,'x')");
  Status s = tenant->Commit({.orders = {Order("O-1", 1)}});
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  other.Exec("ROLLBACK");
  EXPECT_TRUE(tenant->Commit({.orders = {Order("O-1", 1)}}).ok());
}

// Random batches against a tiny model of what must be stored (leveldb
// ModelDB): faults and duplicate keys make some batches fail, and a failed
// batch must leave no trace.
TEST(SqliteStoreTest, RandomBatchesMatchAModel) {
  TempDir dir;
  Random rng(20260304);
  bool fail_next = false;
  std::string fail_stage;
  auto opened = sqlite_internal::OpenSqliteStoreWithFault(dir.path(), [&](std::string_view at) {
    if (!fail_next || at != fail_stage) return Status::Ok();
    fail_next = false;
    return Unavailable("injected fault");
  });
  ASSERT_TRUE(opened.ok());
  std::unique_ptr<Store> store = std::move(opened).value();
  auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));

  std::map<int64_t, MemberRow> members;
  std::vector<OrderRow> orders;
  std::set<std::string> order_ids;
  std::vector<RefundRow> refunds;
  std::vector<JournalRow> journal;
  std::vector<std::string> by_tick;  // ticks are handed out in the order rows are made
  std::map<std::string, std::string> settings;
  std::map<std::string, StoreInfo> stores;
  constexpr const char* kStages[] = {"members", "orders", "refunds", "journal", "settings", "stores", "commit"};
  int next_order = 0;
  int next_refund = 0;
  int64_t last_tick = 0;
  int failures = 0;

  for (int round = 0; round < 300; ++round) {
    WriteBatch b;
    bool expect_fail = false;
    for (int i = rng.Range(0, 5); i > 0; --i) {
      MemberRow m = Member(rng.Range(1, 40), "m" + std::to_string(rng.Uniform(1000)));
      if (rng.Chance(0.5)) m.profile.city = "city" + std::to_string(rng.Uniform(5));
      if (rng.Chance(0.3)) m.profile.gender = static_cast<Gender>(rng.Uniform(3));
      for (int k = static_cast<int>(rng.Uniform(3)); k > 0; --k) {
        m.identities.push_back({static_cast<IdentityKind>(rng.Uniform(kIdentityKinds)), std::to_string(rng.Uniform(200))});
      }
      if (rng.Chance(0.5)) m.event_digests.push_back(rng.Next());
      b.members.push_back(m);
    }
    std::vector<std::string> batch_by_tick;
    for (int i = rng.Range(0, 12); i > 0; --i) {
      const int64_t tick = ++last_tick;
      const Timestamp lot = Timestamp::FromSeconds(rng.Range(0, 1'900'000'000));
      switch (rng.Uniform(3)) {
        case 0: {
          std::string id =
              rng.Chance(0.03) && !order_ids.empty() ? *order_ids.begin() : "o" + std::to_string(next_order++);
          expect_fail |= order_ids.count(id) > 0;
          b.orders.push_back(Order(id, rng.Range(1, 40), static_cast<int>(rng.Uniform(4))));
          b.orders.back().loyalty = {.tick = tick, .points = rng.Range(0, 500), .growth = rng.Range(0, 50),
                                     .rate_bp = rng.Range(0, 20'000), .growth_per_yuan = rng.Range(0, 10), .lot = lot};
          batch_by_tick.push_back("order " + std::to_string(tick));
          break;
        }
        case 1:
          b.refunds.push_back(Refund("r" + std::to_string(next_refund++), "o0", tick));
          b.refunds.back().loyalty = {.tick = tick, .points = -rng.Range(0, 500), .growth = -rng.Range(0, 50),
                                      .unrecovered = rng.Range(0, 100), .lot = lot};
          batch_by_tick.push_back("refund " + std::to_string(tick));
          break;
        default:
          b.journal.push_back(Journal(tick, static_cast<JournalKind>(rng.Uniform(kJournalKinds)), rng.Range(0, 40)));
          b.journal.back().points = rng.Range(-500, 500);
          b.journal.back().lot = lot;
          b.journal.back().from = "f" + std::to_string(rng.Uniform(3));
          b.journal.back().note = "n" + std::to_string(rng.Uniform(1000));
          batch_by_tick.push_back("journal " + std::to_string(tick));
      }
    }
    if (rng.Chance(0.2)) b.settings.push_back({"k" + std::to_string(rng.Uniform(3)), "v" + std::to_string(round)});
    if (rng.Chance(0.3)) {
      std::string id = "S" + std::to_string(rng.Uniform(4));
      b.stores.push_back({id, "n" + std::to_string(round), "", std::nullopt, rng.Chance(0.5) ? 1.5 : 0.0});
    }
    if (rng.Chance(0.1) && !b.empty()) {  // an empty batch opens no transaction for a fault to fire in
      fail_next = true;
      fail_stage = kStages[rng.Uniform(std::size(kStages))];
      expect_fail = true;
    }
    Status s = tenant->Commit(b);
    fail_next = false;
    ASSERT_EQ(!s.ok(), expect_fail) << "round " << round << ": " << s.ToString();
    if (!s.ok()) {
      ++failures;
      continue;
    }
    for (const MemberRow& m : b.members) members[m.member_id] = m;
    for (const OrderRow& o : b.orders) {
      orders.push_back(o);
      order_ids.insert(o.order.order_id);
    }
    refunds.insert(refunds.end(), b.refunds.begin(), b.refunds.end());
    journal.insert(journal.end(), b.journal.begin(), b.journal.end());
    by_tick.insert(by_tick.end(), batch_by_tick.begin(), batch_by_tick.end());
    for (const SettingRow& st : b.settings) settings[st.key] = st.value;
    for (const StoreInfo& st : b.stores) stores[st.id] = st;
  }
  EXPECT_GT(failures, 10) << "the random plan should exercise failed commits";

  tenant.reset();
  store = MustOpen(dir.path());
  tenant = MustOpenTenant(*store, "t1");
  const Loaded got = LoadAll(*tenant);
  std::vector<MemberRow> want_members;
  for (const auto& [id, m] : members) want_members.push_back(m);
  EXPECT_EQ(Keys(got.members), Keys(want_members));
  EXPECT_EQ(Keys(got.orders), Keys(orders));
  EXPECT_EQ(Keys(got.refunds), Keys(refunds));
  EXPECT_EQ(Keys(got.journal), Keys(journal));
  EXPECT_EQ(got.by_tick, by_tick);
  std::vector<SettingRow> want_settings;
  for (const auto& [key, value] : settings) want_settings.push_back({key, value});
  EXPECT_EQ(Keys(got.settings), Keys(want_settings));
  std::vector<StoreInfo> want_stores;
  for (const auto& [id, st] : stores) want_stores.push_back(st);
  EXPECT_EQ(got.stores, want_stores);
}

TEST(RawBulkLoadOrdersTest, WritesEveryRowWithTheBackendsEncoding) {
  TempDir dir;
  std::vector<OrderRow> rows;
  for (int i = 0; i < 2500; ++i) rows.push_back(Order("R" + std::to_string(i), i, i % 5));
  const std::string path = dir.path() + "/raw.db";
  ASSERT_TRUE(RawBulkLoadOrders(path, rows, 1000).ok());

  RawDb db(path);
  EXPECT_EQ(db.Int("SELECT count(*) FROM orders"), 2500);
  EXPECT_EQ(db.Text("PRAGMA journal_mode"), "wal");
  std::vector<OrderItem> items;
  ASSERT_TRUE(storage_codec::DecodeItems(db.Text("SELECT items FROM orders WHERE order_id='R4'"), items));
  EXPECT_EQ(items, rows[4].order.items);
  EXPECT_EQ(db.Int("SELECT member_id FROM orders ORDER BY seq DESC LIMIT 1"), 2499);

  EXPECT_EQ(RawBulkLoadOrders(path, rows, 1000).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(RawBulkLoadOrders(dir.path() + "/other.db", rows, 0).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pond
