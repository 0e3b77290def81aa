// What only the embedded backend has: its files, WAL, pragmas and
// migrations from older schema steps, values damaged with the sqlite3 shell,
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
#include "core/random.hpp"
#include "storage/codec/row_codec.hpp"
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
constexpr std::string_view kCommitStages[] = {"members",   "orders",        "refunds",         "journal",
                                              "settings",  "merges",        "stores",          "staff",
                                              "products",  "categories",    "idempotency",     "tag_operations",
                                              "snapshots", "coupon_events", "activity_events", "commit"};

// The tag_operations column holds core/id_list.hpp's encoding, for anyone
// reading the file.
TEST(SqliteStoreTest, TagOperationMembersAreStoredInTheIdListEncoding) {
  TempDir dir;
  std::vector<int64_t> many;
  for (int64_t id = 1; many.size() < 1'000; id += 1 + id % 300) many.push_back(id);
  {
    auto store = MustOpen(dir.path());
    auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
    ASSERT_TRUE(tenant->Commit({.tag_operations = {TagOperation(1, "VIP", many)}}).ok());
  }
  EXPECT_EQ(RawDb(dir.path() + "/tenants/t1.db").Text("SELECT members FROM tag_operations WHERE id=1"),
            EncodeIdList(many));
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

// Random batches of every row kind against a tiny model of what must be
// stored (leveldb ModelDB): faults injected at every stage of Commit, and
// keys stored already, make some batches fail, and a failed batch must leave
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
