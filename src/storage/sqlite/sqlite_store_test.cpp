// What only the embedded backend has: its files, WAL, pragmas and
// migrations from older schema steps (the tables before the journal), values
// damaged with the sqlite3 shell,
// its checkpoints, its error mapping, locks held by other connections, and
// fault injection inside Commit. The contract every backend keeps
// (engine/store.hpp) is tested on SQLite and PostgreSQL alike by
// storage/conformance/store_conformance_test.cpp.
#include "storage/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/id_list.hpp"
#include "journal/codec.hpp"
#include "journal/list_codec.hpp"
#include "storage/conformance/store_model.hpp"
#include "storage/conformance/store_testing.hpp"
#include "storage/sqlite/internal/fault_injection.hpp"
#include "storage/sqlite/internal/sqlite_db.hpp"
#include "storage/sqlite/internal/tenant_db.hpp"

namespace pond {
namespace {

using namespace store_testing;  // NOLINT(google-build-using-namespace): the storage tests' vocabulary

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

std::unique_ptr<Store> MustOpen(const std::string& dir) {
  auto store = OpenSqliteStore(dir);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

// Every point at which fault_injection.hpp's hook runs inside a Commit.
constexpr std::string_view kCommitStages[] = {"journal", "state", "commit"};

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "x'";
  for (char c : bytes) {
    out += kDigits[static_cast<uint8_t>(c) >> 4];
    out += kDigits[static_cast<uint8_t>(c) & 15];
  }
  return out + "'";
}

// The row a journal or state row decodes to; a failure fails the test.
template <typename Row>
Row As(const JournalRow& r) {
  Row row;
  EXPECT_EQ(r.kind, static_cast<RowKind>(journal::RowKindOf<Row>::value)) << "tick " << r.tick;
  EXPECT_TRUE(journal::Decode(r.tick, r.key, r.payload, row)) << "tick " << r.tick;
  return row;
}
template <typename Row>
Row As(const StateRow& r) {
  Row row;
  EXPECT_EQ(r.kind, static_cast<RowKind>(journal::RowKindOf<Row>::value));
  EXPECT_TRUE(journal::Decode(0, r.key, r.payload, row));
  return row;
}

TEST(SqliteStoreTest, FailedCommitAtAnyStageStoresNothingAndTheStoreKeepsWorking) {
  for (std::string_view stage : kCommitStages) {
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
    const WriteBatch first = FullBatch();
    ASSERT_TRUE(tenant->Commit(first).ok());
    const WriteBatch second{.journal = {J(10, 101, "B-1", "new"), J(11, 103, "x", "y")},
                            .state = {Put(5, "loyalty", "changed"), Erase(1, "S1"), Put(6, "new", "member")}};
    fail_at = stage;
    Status s = tenant->Commit(second);
    EXPECT_EQ(s.code(), StatusCode::kUnavailable);
    EXPECT_TRUE(fail_at.empty()) << "the hook never ran at this stage";
    TenantModel model;
    model.Apply(first);
    ExpectSameRows(LoadAll(*tenant), model.Expected());

    ASSERT_TRUE(tenant->Commit(second).ok()) << "the same batch commits once the fault is gone";
    model.Apply(second);
    ExpectSameRows(LoadAll(*tenant), model.Expected());
  }
}

TEST(SqliteStoreTest, AnUnknownTenantGetsNoFile) {
  TempDir dir;
  auto store = MustOpen(dir.path());
  EXPECT_EQ(store->OpenTenant("nobody").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/tenants/nobody.db"));
}

TEST(SqliteStoreTest, ReopeningKeepsTheSchemaVersionAndTheData) {
  TempDir dir;
  int64_t catalog_version = 0;
  int64_t tenant_version = 0;
  {
    auto store = MustOpen(dir.path());
    auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
    ASSERT_TRUE(tenant->Commit({.journal = {J(1, 101, "O-1", "o")}}).ok());
    catalog_version = RawDb(dir.path() + "/pond.db").Int("PRAGMA user_version");
    tenant_version = RawDb(dir.path() + "/tenants/t1.db").Int("PRAGMA user_version");
  }
  EXPECT_GE(catalog_version, 1);
  EXPECT_EQ(tenant_version, static_cast<int64_t>(sqlite_internal::TenantMigrations().size()));
  for (int i = 0; i < 3; ++i) {
    auto store = MustOpen(dir.path());
    auto tenant = MustOpenTenant(*store, "t1");
    EXPECT_EQ(LoadAll(*tenant).journal.size(), 1u);
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
  EXPECT_EQ(tenant.Int("SELECT count(*) FROM sqlite_schema WHERE type='table'"), 2);
  EXPECT_EQ(tenant.Int("SELECT count(*) FROM sqlite_schema WHERE type='table' AND name IN ('journal','state')"), 2);
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

// A tenant file as the last build before the journal left it (schema step
// 6): a table per kind of row. Opening it converts every row into the
// journal and state rows that decode to the same rows, at the ticks
// journal/legacy.hpp names, and drops the old tables.
TEST(SqliteStoreTest, TheTablesBeforeTheJournalBecomeItsRows) {
  TempDir dir;
  auto store = MustOpen(dir.path());
  ExistingTenant(*store, "t1");
  const std::string path = dir.path() + "/tenants/t1.db";
  ASSERT_TRUE(sqlite_internal::OpenAndMigrate(path, sqlite_internal::kTenantTuning,
                                              sqlite_internal::TenantMigrations().first(6))
                  .ok());
  MemberRow alice{1, {.name = "张伟", .gender = Gender::kFemale, .birthday = LocalDate::FromDays(9000),
                      .city = "上海", .registered_at = Timestamp::FromSeconds(5)},
                  {{IdentityKind::kPhone, "13800000001"}}, {42, 7}, 0, Timestamp::FromSeconds(4)};
  MemberRow merged{2, {}, {}, {}, 1, Timestamp::FromSeconds(6)};
  std::string identities, digests, items;
  journal::EncodeIdentities(alice.identities, identities);
  journal::EncodeDigests(alice.event_digests, digests);
  OrderRow legacy{1, {.order_id = "L-0", .channel = Channel::kStore, .store = "S01", .staff = "E07",
                      .payment = "wechat", .paid_at = Timestamp::FromSeconds(10), .paid = Money::Fen(1800),
                      .items = {{"SKU-1", "drinks", 1, Money::Fen(1800)}}}, {}};
  OrderRow ticked = legacy;
  ticked.order.order_id = "O-5";
  ticked.loyalty = {5, 18, 18, 0, 10000, 1, Timestamp::FromSeconds(99)};
  journal::EncodeItems(legacy.order.items, items);
  {
    RawDb v6(path);
    ASSERT_EQ(v6.Int("PRAGMA user_version"), 6);
    v6.Exec("INSERT INTO stores VALUES('S01','人民广场店','上海',31.25,121.5)");
    v6.Exec("INSERT INTO staff VALUES('E07','王','S01')");
    v6.Exec("INSERT INTO products VALUES('SKU-1','茶','drinks',1800)");
    v6.Exec("INSERT INTO categories VALUES('drinks','饮品','')");
    v6.Exec("INSERT INTO settings VALUES('loyalty','{\"x\":1}')");
    v6.Exec("INSERT INTO members(member_id,name,gender,birthday,city,registered_at,merged_into,created_at,identities,"
            "event_digests) VALUES(1,'张伟',1,9000,'上海',5000000,0,4000000," + Hex(identities) + "," + Hex(digests) +
            "),(2,NULL,NULL,NULL,NULL,NULL,1,6000000,x'0100',x'')");
    v6.Exec("INSERT INTO merges(survivor,merged,at,reason) VALUES(1,2,7000000,'phone')");
    const std::string order_values = "1,0,'S01','E07','wechat',10000000,1800," + Hex(items);
    v6.Exec("INSERT INTO orders(order_id,member_id,channel,store,staff,payment,paid_at,paid_fen,items) VALUES('L-0'," +
            order_values + ")");
    v6.Exec("INSERT INTO orders(order_id,member_id,channel,store,staff,payment,paid_at,paid_fen,items,tick,points,"
            "growth,rate_bp,growth_per_yuan,lot) VALUES('O-5'," + order_values + ",5,18,18,10000,1,99000000)");
    v6.Exec("INSERT INTO refunds(refund_id,order_id,amount_fen,refunded_at) VALUES('R-0','L-0',100,11000000)");
    v6.Exec("INSERT INTO refunds(refund_id,order_id,amount_fen,refunded_at,tick,points,growth,unrecovered,lot) "
            "VALUES('R-6','O-5',100,12000000,6,-1,-1,0,99000000)");
    v6.Exec("INSERT INTO loyalty_journal VALUES(7,1,3,13000000,0,0,'standard','silver','order')");
    v6.Exec("INSERT INTO idempotency VALUES('k',201,'{}',14000000,42)");
    v6.Exec("INSERT INTO tag_operations VALUES(1,'VIP',1,'ops',15000000,'note'," + Hex(EncodeIdList({{1, 2}})) + ")");
    v6.Exec("INSERT INTO snapshots VALUES(1,'s','vip','ops',16000000,2," + Hex(EncodeIdList({{1, 2}})) + ")");
    v6.Exec("INSERT INTO coupon_events VALUES(1,'issue','C1',1,1,'occ','',17000000,0)");
    v6.Exec("INSERT INTO activity_events VALUES(1,1,'take',1,0,18000000,'C1')");
  }

  auto tenant = MustOpenTenant(*store, "t1");
  ASSERT_NE(tenant, nullptr);
  EXPECT_EQ(RawDb(path).Int("SELECT count(*) FROM sqlite_schema WHERE type='table'"), 2) << "the old tables are gone";
  const Loaded got = LoadAll(*tenant);

  ASSERT_EQ(got.state.size(), 8u);
  EXPECT_EQ(As<StoreInfo>(got.state[0]), (StoreInfo{"S01", "人民广场店", "上海", 31.25, 121.5}));
  EXPECT_EQ(As<StaffInfo>(got.state[1]), (StaffInfo{"E07", "王", "S01"}));
  EXPECT_EQ(As<ProductInfo>(got.state[2]), (ProductInfo{"SKU-1", "茶", "drinks", Money::Fen(1800)}));
  EXPECT_EQ(As<CategoryInfo>(got.state[3]), (CategoryInfo{"drinks", "饮品", ""}));
  EXPECT_EQ(As<SettingRow>(got.state[4]), (SettingRow{"loyalty", "{\"x\":1}"}));
  EXPECT_EQ(As<MemberRow>(got.state[5]), alice);
  EXPECT_EQ(As<MemberRow>(got.state[6]), merged);
  EXPECT_EQ(As<IdempotencyRow>(got.state[7]), (IdempotencyRow{"k", 201, "{}", Timestamp::FromSeconds(14), 42}));

  std::vector<int64_t> ticks;
  for (const JournalRow& r : got.journal) ticks.push_back(r.tick);
  // Rows from before ticks first (negative), the ticked ones as they were,
  // then the rows that had no tick, in the order older builds loaded them.
  EXPECT_EQ(ticks, (std::vector<int64_t>{-2, -1, 5, 6, 7, 8, 9, 10, 11, 12}));
  legacy.loyalty.tick = -2;
  EXPECT_EQ(As<OrderRow>(got.journal[0]), legacy);
  EXPECT_EQ(As<RefundRow>(got.journal[1]),
            (RefundRow{{"R-0", "L-0", Money::Fen(100), Timestamp::FromSeconds(11)}, {.tick = -1}}));
  EXPECT_EQ(As<OrderRow>(got.journal[2]), ticked);
  EXPECT_EQ(As<RefundRow>(got.journal[3]),
            (RefundRow{{"R-6", "O-5", Money::Fen(100), Timestamp::FromSeconds(12)},
                       {.tick = 6, .points = -1, .growth = -1, .lot = Timestamp::FromSeconds(99)}}));
  EXPECT_EQ(As<LoyaltyRow>(got.journal[4]), (LoyaltyRow{7, 1, LoyaltyKind::kTier, Timestamp::FromSeconds(13), 0,
                                                        Timestamp(), "standard", "silver", "order"}));
  EXPECT_EQ(As<MergeRow>(got.journal[5]), (MergeRow{1, 2, Timestamp::FromSeconds(7), "phone"}));
  EXPECT_EQ(As<tags::TagOperation>(got.journal[6]),
            (tags::TagOperation{1, "VIP", true, "ops", Timestamp::FromSeconds(15), "note", {1, 2}}));
  EXPECT_EQ(As<SnapshotRow>(got.journal[7]),
            (SnapshotRow{1, "s", "vip", "ops", Timestamp::FromSeconds(16), 2, EncodeIdList({{1, 2}})}));
  EXPECT_EQ(As<CouponEventRow>(got.journal[8]),
            (CouponEventRow{1, "issue", "C1", 1, 1, "occ", "", Timestamp::FromSeconds(17), Timestamp()}));
  EXPECT_EQ(As<ActivityEventRow>(got.journal[9]),
            (ActivityEventRow{1, 1, "take", 1, 0, Timestamp::FromSeconds(18), "C1"}));
}

// A damaged value in an old table stops the conversion naming it, and the
// file stays as it was: nothing is converted half, nothing is lost.
TEST(SqliteStoreTest, ADamagedOldRowStopsTheConversionAndLeavesTheFileAsItWas) {
  TempDir dir;
  auto store = MustOpen(dir.path());
  ExistingTenant(*store, "t1");
  const std::string path = dir.path() + "/tenants/t1.db";
  ASSERT_TRUE(sqlite_internal::OpenAndMigrate(path, sqlite_internal::kTenantTuning,
                                              sqlite_internal::TenantMigrations().first(6))
                  .ok());
  RawDb(path).Exec("INSERT INTO orders(order_id,member_id,channel,store,staff,payment,paid_at,paid_fen,items,tick) "
                   "VALUES('O-1',1,77,'','','',0,0,x'0100',1)");
  auto tenant = store->OpenTenant("t1");
  ASSERT_FALSE(tenant.ok());
  EXPECT_EQ(tenant.status().code(), StatusCode::kInternal);
  EXPECT_NE(tenant.status().ToString().find("orders.channel"), std::string::npos) << tenant.status().ToString();
  EXPECT_NE(tenant.status().ToString().find("order_id=O-1"), std::string::npos) << tenant.status().ToString();
  RawDb v6(path);
  EXPECT_EQ(v6.Int("PRAGMA user_version"), 6);
  EXPECT_EQ(v6.Int("SELECT count(*) FROM orders"), 1);
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
  TenantModel model;
  for (int batch = 0; batch < 300; ++batch) {
    WriteBatch b;
    for (int i = 0; i < 40; ++i) {
      const int64_t tick = batch * 40 + i + 1;
      b.journal.push_back(J(tick, 101, "O-" + std::to_string(tick), std::string(60, 'o')));
    }
    ASSERT_TRUE(tenant->Commit(b).ok());
    model.Apply(b);
    largest_wal = std::max(largest_wal, static_cast<int64_t>(std::filesystem::file_size(path + "-wal")));
  }
  // Without checkpoints the 300 batches leave well over a thousand pages.
  EXPECT_LE(largest_wal, (kInlinePages + 32) * 4096) << "the WAL grew past the inline limit";
  ExpectSameRows(LoadAll(*tenant), model.Expected());
  tenant.reset();
  EXPECT_EQ(RawDb(path).Int("SELECT count(*) FROM journal"), 300 * 40);
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
  other.Exec("INSERT INTO journal(tick,kind,key,payload) VALUES(99,1,x'',x'')");
  Status s = tenant->Commit({.journal = {J(1, 101, "O-1", "")}});
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  other.Exec("ROLLBACK");
  EXPECT_TRUE(tenant->Commit({.journal = {J(1, 101, "O-1", "")}}).ok());
}

// Random batches of both shapes against a tiny model of what must be
// stored (leveldb ModelDB): faults injected at every stage of Commit, and
// ticks stored already, make some batches fail, and a failed batch must leave
// no trace. (The conformance suite runs the same plan without faults, with
// restarts, on every backend.)
TEST(SqliteStoreTest, RandomBatchesWithInjectedFaultsMatchAModel) {
  TempDir dir;
  RandomPlan plan(20260304);
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
  int faults = 0;
  int refusals = 0;
  for (int round = 0; round < 300; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const auto [batch, repeats_a_key] = plan.Next(0.05);
    // An empty batch opens no transaction for a fault to fire in.
    const bool fault = plan.rng().Chance(0.1) && !batch.empty();
    if (fault) {
      fail_next = true;
      fail_stage = kCommitStages[plan.rng().Uniform(std::size(kCommitStages))];
    }
    Status s = tenant->Commit(batch);
    fail_next = false;
    ASSERT_EQ(!s.ok(), fault || repeats_a_key) << s.ToString();
    if (s.ok()) plan.Accept(batch);
    faults += fault;
    refusals += repeats_a_key && !fault;
  }
  EXPECT_GT(faults, 10) << "the random plan should exercise injected faults";
  EXPECT_GT(refusals, 5) << "the random plan should exercise refused keys";

  tenant.reset();
  store = MustOpen(dir.path());
  tenant = MustOpenTenant(*store, "t1");
  ExpectSameRows(LoadAll(*tenant), plan.Expected());
}


}  // namespace
}  // namespace pond
