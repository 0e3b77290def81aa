// The contract of engine/store.hpp, checked on every storage backend: each
// test runs once on the embedded SQLite store and once on PostgreSQL, on a
// fresh, empty store of its own that it may open again as a restarted
// process would. What only one backend has (SQLite's files, pragmas and
// migrations, fault injection) is tested beside that backend.
//
// The PostgreSQL instances need a cluster: ctest starts a throwaway one (the
// fixture `pg` of tests/CMakeLists.txt) and names the file holding its URL in
// POND_TEST_PG_URL_FILE; each test makes a database of its own there and
// drops it afterwards. Without that variable they are skipped.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "core/id_list.hpp"
#include "core/random.hpp"
#include "engine/testing/memory_store.hpp"
#include "storage/conformance/store_model.hpp"
#include "storage/conformance/store_testing.hpp"
#include "storage/postgres/postgres_store.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace pond {
namespace {

using namespace store_testing;  // NOLINT(google-build-using-namespace): the suite's vocabulary

constexpr const char* kPgUrlFileEnv = "POND_TEST_PG_URL_FILE";

enum class Backend { kSqlite, kPostgres };

std::string_view BackendName(Backend backend) { return backend == Backend::kSqlite ? "Sqlite" : "Postgres"; }
// For gtest's messages: "where GetParam() = Postgres".
void PrintTo(Backend backend, std::ostream* os) { *os << BackendName(backend); }

// Where one test's store lives: empty when made, gone when destroyed.
class StoreHome {
 public:
  virtual ~StoreHome() = default;
  // Opens the store; opened again after the last Store and TenantStore
  // were destroyed, it is the same store, as after a restart.
  virtual Result<std::unique_ptr<Store>> Open() = 0;
};

class SqliteHome final : public StoreHome {
 public:
  Result<std::unique_ptr<Store>> Open() override { return OpenSqliteStore(dir_.path()); }

 private:
  TempDir dir_;
};

struct PgConnCloser {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using PgConn = std::unique_ptr<PGconn, PgConnCloser>;

Status RunSql(PGconn* conn, const std::string& sql) {
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn, sql.c_str()), &PQclear);
  if (PQresultStatus(res.get()) == PGRES_COMMAND_OK) return Status::Ok();
  return Unavailable(sql + ": " + PQerrorMessage(conn));
}

// `url` (a libpq URI or key=value string) with its database replaced by
// `database`, as a key=value string.
Result<std::string> WithDatabase(const std::string& url, const std::string& database) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (options == nullptr) {
    std::string why = error ? error : "out of memory";
    PQfreemem(error);
    return InvalidArgument("cannot parse the cluster's URL: " + why);
  }
  std::string out;
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    const char* value = std::string_view(o->keyword) == "dbname" ? database.c_str() : o->val;
    if (value == nullptr) continue;
    out += o->keyword;
    out += "='";
    for (char c : std::string_view(value)) {
      if (c == '\'' || c == '\\') out += '\\';
      out += c;
    }
    out += "' ";
  }
  PQconninfoFree(options);
  return out;
}

// A database of its own on the test cluster, dropped with the home.
class PostgresHome final : public StoreHome {
 public:
  static Result<std::unique_ptr<StoreHome>> Create(const std::string& cluster_url) {
    PgConn admin(PQconnectdb(cluster_url.c_str()));
    if (PQstatus(admin.get()) != CONNECTION_OK) {
      return Unavailable(std::string("connect to the test cluster: ") + PQerrorMessage(admin.get()));
    }
    // Random, so that test binaries running side by side on one cluster
    // never meet; not a test input, so not from a seeded source.
    std::random_device entropy;
    const uint64_t tag = (uint64_t{entropy()} << 32) | entropy();
    char name[40];
    std::snprintf(name, sizeof name, "pond_conf_%016llx", static_cast<unsigned long long>(tag));
    ASSIGN_OR_RETURN(std::string url, WithDatabase(cluster_url, name));
    RETURN_IF_ERROR(RunSql(admin.get(), std::string("CREATE DATABASE ") + name));
    return std::unique_ptr<StoreHome>(new PostgresHome(std::move(admin), name, std::move(url)));
  }
  ~PostgresHome() override {
    // FORCE ends the sessions of anything a failed test left open.
    Status s = RunSql(admin_.get(), "DROP DATABASE " + name_ + " WITH (FORCE)");
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  Result<std::unique_ptr<Store>> Open() override { return OpenPostgresStore({.url = url_}); }

 private:
  PostgresHome(PgConn admin, std::string name, std::string url)
      : admin_(std::move(admin)), name_(std::move(name)), url_(std::move(url)) {}
  PgConn admin_;  // to the cluster's maintenance database, for the DROP
  std::string name_;
  std::string url_;
};

// The URL in the file that `path` names, as tests/pg/pg_cluster.sh wrote it.
Result<std::string> ReadClusterUrl(const char* path) {
  std::ifstream in(path);
  std::string url;
  std::getline(in, url);
  while (!url.empty() && (url.back() == '\r' || url.back() == ' ')) url.pop_back();
  if (url.empty()) {
    return FailedPrecondition(std::string(kPgUrlFileEnv) + "=" + path +
                              " holds no URL: did the ctest fixture pg_cluster_start run?");
  }
  return url;
}

class StoreConformanceTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kSqlite) {
      home_ = std::make_unique<SqliteHome>();
      return;
    }
    const char* url_file = std::getenv(kPgUrlFileEnv);
    if (url_file == nullptr || *url_file == '\0') {
      GTEST_SKIP() << "no PostgreSQL: run through ctest (ctest -R storage_conformance), which starts a cluster, "
                      "or set "
                   << kPgUrlFileEnv << " to a file holding a postgresql:// URL of a role that may create databases";
    }
    Result<std::string> url = ReadClusterUrl(url_file);
    ASSERT_TRUE(url.ok()) << url.status().ToString();
    auto home = PostgresHome::Create(*url);
    ASSERT_TRUE(home.ok()) << home.status().ToString();
    home_ = std::move(home).value();
  }

  // The test's store, as a process starting would open it; null (and the
  // test failed) when it does not open.
  std::unique_ptr<Store> OpenStore() {
    auto store = home_->Open();
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // Commits `batches` to a fresh tenant and to the in-memory double the
  // engine's tests use, and loads both back.
  std::pair<Loaded, Loaded> LoadFromBoth(const std::vector<WriteBatch>& batches) {
    auto store = OpenStore();
    auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
    testing::MemoryTenantStore memory(std::make_shared<testing::MemoryTenantData>());
    for (const WriteBatch& b : batches) {
      EXPECT_TRUE(tenant->Commit(b).ok());
      EXPECT_TRUE(memory.Commit(b).ok());
    }
    return {LoadAll(*tenant), LoadAll(memory)};
  }

 private:
  std::unique_ptr<StoreHome> home_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformanceTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& instance) {
                           return std::string(BackendName(instance.param));
                         });

TEST_P(StoreConformanceTest, EveryRowKindRoundTripsThroughReopen) {
  const WriteBatch batch = FullBatch();
  {
    auto store = OpenStore();
    auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "tea"));
    ASSERT_TRUE(tenant->Commit(batch).ok());
  }
  auto store = OpenStore();
  auto tenant = MustOpenTenant(*store, "tea");
  const Loaded got = LoadAll(*tenant);

  TenantModel model;
  model.Apply(batch);
  ExpectSameRows(got, model.Expected());
  // What that comparison rests on, spelled out.
  EXPECT_FALSE(got.stores[1].lat.has_value());
  // Members by member_id, absent and empty fields told apart.
  EXPECT_EQ(Keys(got.members), Keys(std::vector<MemberRow>{batch.members[1], batch.members[0], batch.members[2]}));
  EXPECT_FALSE(got.members[0].profile.name.has_value());
  EXPECT_EQ(got.members[2].profile.name, std::optional<std::string>(""));
  EXPECT_EQ(got.members[1].identities.size(), 2u);
  // Orders in insertion order, not by order_id.
  EXPECT_EQ(Keys(got.orders), Keys(batch.orders));
  EXPECT_EQ(got.orders[0].order.items.size(), 3u);
  EXPECT_TRUE(got.orders[2].order.items.empty());
  EXPECT_TRUE(std::is_sorted(got.phases.begin(), got.phases.end())) << "Load must call the sink in store.hpp's order";
  EXPECT_EQ(got.by_tick, (std::vector<std::string>{"order 1", "order 2", "journal 3", "order 4", "refund 5",
                                                   "journal 6", "journal 7", "journal 8", "journal 9", "journal 10"}));
}

TEST_P(StoreConformanceTest, LoadInterleavesOrdersRefundsAndJournalRowsByTick) {
  WriteBatch b;  // Commit writes all orders, then the refund, then the journal rows
  b.orders = {OrderAt(1, "O-1"), OrderAt(4, "O-4")};
  b.refunds = {Refund("R-2", "O-1", 2)};
  b.journal = {Journal(3, JournalKind::kRedeem, 1), Journal(5, JournalKind::kTier, 1)};
  const auto [stored, memory] = LoadFromBoth({b});
  const std::vector<std::string> want = {"order 1", "refund 2", "journal 3", "order 4", "journal 5"};
  EXPECT_EQ(stored.by_tick, want);
  EXPECT_EQ(memory.by_tick, want);
}

// Rows stored before ticks existed all have tick 0; they must replay as they
// did then: every order before any refund.
TEST_P(StoreConformanceTest, RowsOfEqualTickReplayOrdersThenRefundsThenJournalEachInInsertionOrder) {
  WriteBatch first;
  first.refunds = {Refund("R-1", "O-1", 0)};
  first.journal = {Journal(0, JournalKind::kExpire, 1)};
  WriteBatch second;
  second.orders = {OrderAt(0, "O-1"), OrderAt(0, "O-0")};
  second.refunds = {Refund("R-0", "O-0", 0)};
  const auto [stored, memory] = LoadFromBoth({first, second});
  for (const Loaded* got : {&stored, &memory}) {
    EXPECT_EQ(got->by_tick, (std::vector<std::string>{"order 0", "order 0", "refund 0", "refund 0", "journal 0"}));
    EXPECT_EQ(Keys(got->orders), Keys(second.orders));
    EXPECT_EQ(Keys(got->refunds), Keys(std::vector<RefundRow>{first.refunds[0], second.refunds[0]}));
  }
}

TEST_P(StoreConformanceTest, LoadReplaysOrdersRefundsAndMergesInInsertionOrderAcrossBatches) {
  auto store = OpenStore();
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
TEST_P(StoreConformanceTest, TagOperationsAndSnapshotsRoundTripThroughReopenWhateverTheirSize) {
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
    auto store = OpenStore();
    auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
    ASSERT_TRUE(tenant->Commit(first).ok());
    ASSERT_TRUE(tenant->Commit(second).ok());
  }
  auto store = OpenStore();
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
  EXPECT_EQ(Keys(got.tag_operations), Keys(std::vector<tags::TagOperation>{
                                          first.tag_operations[0], first.tag_operations[1], second.tag_operations[0]}));
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
}

TEST_P(StoreConformanceTest, TagOperationsAndSnapshotsLoadAfterTheJournalAndBeforeIdempotencyAnswers) {
  auto store = OpenStore();
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

// A key stored twice is a bug upstream, not I/O trouble: retrying the batch
// cannot help, so it must not be Unavailable. Which code it is differs (the
// contract does not say): SQLite's constraint errors are Internal,
// PostgreSQL's unique_violation (23505) is AlreadyExists.
TEST_P(StoreConformanceTest, ARepeatedTagOperationIdFailsItsBatchAndStoresNothingOfIt) {
  auto store = OpenStore();
  auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
  ASSERT_TRUE(tenant->Commit({.tag_operations = {TagOperation(1, "VIP", {1})}}).ok());

  WriteBatch bad;
  bad.members = {Member(2, "b")};
  bad.snapshots = {Snapshot(1, {2})};
  bad.tag_operations = {TagOperation(2, "VIP", {2}), TagOperation(1, "VIP", {2})};
  Status s = tenant->Commit(bad);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_NE(s.ToString().find("tag_operations"), std::string::npos) << s.ToString();

  const Loaded got = LoadAll(*tenant);
  EXPECT_TRUE(got.members.empty());
  EXPECT_TRUE(got.snapshots.empty());
  ASSERT_EQ(got.tag_operations.size(), 1u);
  EXPECT_EQ(got.tag_operations[0].members, std::vector<int64_t>{1});
}

TEST_P(StoreConformanceTest, DuplicateOrderIdInALaterBatchFailsAndStoresNothingOfThatBatch) {
  auto store = OpenStore();
  auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
  ASSERT_TRUE(tenant->Commit({.members = {Member(1, "a")}, .orders = {Order("O-1", 1)}}).ok());

  WriteBatch bad;
  bad.members = {Member(1, "changed"), Member(2, "b")};
  bad.orders = {Order("O-2", 2), Order("O-1", 2)};
  bad.refunds = {Refund("R-1", "O-2", 0)};
  Status s = tenant->Commit(bad);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_NE(s.ToString().find("O-1"), std::string::npos) << "the log must name the order: " << s.ToString();

  Loaded got = LoadAll(*tenant);
  ASSERT_EQ(got.members.size(), 1u);
  EXPECT_EQ(got.members[0].profile.name, std::optional<std::string>("a"));
  ASSERT_EQ(got.orders.size(), 1u);
  EXPECT_TRUE(got.refunds.empty());

  ASSERT_TRUE(tenant->Commit({.orders = {Order("O-2", 2)}}).ok()) << "the store must keep working";
  EXPECT_EQ(LoadAll(*tenant).orders.size(), 2u);
}

TEST_P(StoreConformanceTest, MemberUpsertReplacesTheWholeRow) {
  auto store = OpenStore();
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

TEST_P(StoreConformanceTest, MasterDataSettingsAndIdempotencyAreUpsertedByKey) {
  auto store = OpenStore();
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

TEST_P(StoreConformanceTest, EmptyBatchCommits) {
  auto store = OpenStore();
  auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
  EXPECT_TRUE(tenant->Commit(WriteBatch{}).ok());
  EXPECT_TRUE(LoadAll(*tenant).phases.empty());
}

TEST_P(StoreConformanceTest, TenantsAreCreatedOnceAndListedById) {
  auto store = OpenStore();
  const TenantRecord b{"b-2", "B", "Asia/Shanghai", Timestamp::FromMicros(2)};
  const TenantRecord a{"a_1", "甲", "Europe/Berlin", Timestamp::FromMicros(1)};
  ASSERT_TRUE(store->CreateTenant(b).ok());
  ASSERT_TRUE(store->CreateTenant(a).ok());
  Status again = store->CreateTenant({"a_1", "other", "UTC", Timestamp()});
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists) << again.ToString();

  store.reset();
  store = OpenStore();
  auto listed = store->ListTenants();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, a.id);
  EXPECT_EQ((*listed)[0].name, a.name);
  EXPECT_EQ((*listed)[0].timezone, a.timezone);
  EXPECT_EQ((*listed)[0].created_at, a.created_at);
  EXPECT_EQ((*listed)[1].id, b.id);
}

TEST_P(StoreConformanceTest, UnknownTenantIsNotFoundAndNotCreated) {
  auto store = OpenStore();
  auto tenant = store->OpenTenant("nobody");
  EXPECT_EQ(tenant.status().code(), StatusCode::kNotFound) << tenant.status().ToString();
  EXPECT_TRUE(store->ListTenants()->empty());
  EXPECT_TRUE(store->CreateTenant({"nobody", "x", "UTC", Timestamp()}).ok());
}

TEST_P(StoreConformanceTest, TenantIdsOutsideTheSafeAlphabetAreInvalidArgument) {
  auto store = OpenStore();
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

TEST_P(StoreConformanceTest, ApiKeysRoundTripAndAPutReplacesById) {
  {
    auto store = OpenStore();
    ASSERT_TRUE(store->PutApiKey({"pk_b", "ab12", "*", Role::kAdmin, Timestamp::FromMicros(1)}).ok());
    ASSERT_TRUE(store->PutApiKey({"pk_a", "cd34", "tea", Role::kAnalyst, Timestamp::FromMicros(2)}).ok());
    ASSERT_TRUE(store->PutApiKey({"pk_b", "ef56", "tea", Role::kIntegration, Timestamp::FromMicros(3)}).ok());
  }
  auto store = OpenStore();
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

TEST_P(StoreConformanceTest, KeysAreRevokedAndTenantsDeletedWithTheirKeysAndRows) {
  {
    auto store = OpenStore();
    ASSERT_TRUE(store->PutApiKey({"pk_all", "ab12", "*", Role::kAdmin, Timestamp::FromMicros(1)}).ok());
    ASSERT_TRUE(store->PutApiKey({"pk_tea", "cd34", "tea", Role::kAnalyst, Timestamp::FromMicros(2)}).ok());
    EXPECT_EQ(store->DeleteApiKey("pk_none").code(), StatusCode::kNotFound);
    {
      auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "tea"));
      ASSERT_TRUE(tenant->Commit(FullBatch()).ok());
    }
    ASSERT_TRUE(store->CreateTenant({"keep", "k", "UTC", Timestamp()}).ok());
    const Status deleted = store->DeleteTenant("tea");
    ASSERT_TRUE(deleted.ok()) << deleted.ToString();
    EXPECT_EQ(store->DeleteTenant("tea").code(), StatusCode::kNotFound);
    ASSERT_TRUE(store->DeleteApiKey("pk_all").ok());
  }
  auto store = OpenStore();
  EXPECT_TRUE(store->ListApiKeys()->empty());  // one revoked, one gone with its tenant
  ASSERT_EQ(store->ListTenants()->size(), 1u);
  EXPECT_EQ(store->OpenTenant("tea").status().code(), StatusCode::kNotFound);
  // A tenant made again with the id starts empty.
  auto again = MustOpenTenant(*store, ExistingTenant(*store, "tea"));
  Loaded loaded;
  RecordingSink sink(loaded);
  ASSERT_TRUE(again->Load(sink).ok());
  EXPECT_TRUE(loaded.members.empty());
  EXPECT_TRUE(loaded.orders.empty());
  EXPECT_TRUE(loaded.settings.empty());
}

TEST_P(StoreConformanceTest, PingAnswers) { EXPECT_TRUE(OpenStore()->Ping().ok()); }

TEST_P(StoreConformanceTest, CatalogIsSafeFromManyThreads) {
  auto store = OpenStore();
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

TEST_P(StoreConformanceTest, TenantStoreOutlivesItsStoreAndTenantsAreSeparate) {
  std::unique_ptr<TenantStore> a;
  std::unique_ptr<TenantStore> b;
  {
    auto store = OpenStore();
    a = MustOpenTenant(*store, ExistingTenant(*store, "a"));
    b = MustOpenTenant(*store, ExistingTenant(*store, "b"));
  }
  ASSERT_TRUE(a->Commit({.orders = {Order("SAME", 1)}}).ok());
  ASSERT_TRUE(b->Commit({.orders = {Order("SAME", 2)}}).ok()) << "order ids are per tenant";
  EXPECT_EQ(LoadAll(*a).orders.at(0).member_id, 1);
  EXPECT_EQ(LoadAll(*b).orders.at(0).member_id, 2);
}

// Random batches of every row kind, some repeating a key already stored
// (which must fail the batch and leave no trace of it), with restarts in
// between; after each restart and at the end, Load must hand over exactly
// what the model holds.
TEST_P(StoreConformanceTest, RandomBatchesMatchAModel) {
  RandomPlan plan(20260304);
  auto store = OpenStore();
  auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
  int refusals = 0;
  int restarts = 0;
  for (int round = 0; round < 300; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const auto [batch, repeats_a_key] = plan.Next(0.15);
    Status s = tenant->Commit(batch);
    ASSERT_EQ(!s.ok(), repeats_a_key) << s.ToString();
    if (s.ok()) plan.Accept(batch);
    refusals += repeats_a_key;
    if (plan.rng().Chance(0.05)) {  // a restart: everything goes, then comes back from the store
      ++restarts;
      tenant.reset();
      store.reset();
      store = OpenStore();
      tenant = MustOpenTenant(*store, "t1");
      ExpectSameRows(LoadAll(*tenant), plan.Expected());
      ASSERT_FALSE(HasFailure()) << "the store and the model differ after a restart";
    }
  }
  EXPECT_GT(refusals, 10) << "the random plan should exercise refused batches";
  EXPECT_GT(restarts, 5) << "the random plan should exercise restarts";
  const Loaded got = LoadAll(*tenant);
  EXPECT_GT(got.orders.size(), 100u);
  ExpectSameRows(got, plan.Expected());
}

}  // namespace
}  // namespace pond
