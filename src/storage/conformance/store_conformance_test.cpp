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

TEST_P(StoreConformanceTest, EveryRowRoundTripsThroughReopenInLoadsOrder) {
  const WriteBatch full = FullBatch();
  {
    auto store = OpenStore();
    auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
    ASSERT_TRUE(tenant->Commit(full).ok());
  }
  auto store = OpenStore();
  auto tenant = MustOpenTenant(*store, "t1");
  const Loaded loaded = LoadAll(*tenant);  // RecordingSink checks the order
  store_testing::TenantModel model;
  model.Apply(full);
  ExpectSameRows(loaded, model.Expected());
  ASSERT_EQ(loaded.journal.size(), 4u);
  EXPECT_EQ(loaded.journal[0].key, Awkward(1)) << "keys and payloads are bytes, NUL and all";
  EXPECT_EQ(loaded.state.front().kind, 1) << "state rows by kind";
}

TEST_P(StoreConformanceTest, StateRowsLoadByKeyBytesAndJournalRowsByTickWhateverTheInsertionOrder) {
  auto [got, want] = LoadFromBoth({
      {.journal = {J(40, 7, "d", ""), J(-2, 7, "before ticks", "")}, .state = {Put(2, "\xff", "hi"), Put(2, "b", "")}},
      {.journal = {J(10, 9, "b", ""), J(39, 7, "c", "")}, .state = {Put(2, std::string(1, '\0'), ""), Put(1, "z", "")}},
  });
  std::vector<int64_t> ticks;
  for (const JournalRow& r : got.journal) ticks.push_back(r.tick);
  EXPECT_EQ(ticks, (std::vector<int64_t>{-2, 10, 39, 40}));
  std::vector<std::string> keys;
  for (const StateRow& r : got.state) keys.push_back(r.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"z", std::string(1, '\0'), "b", "\xff"}));
  ExpectSameRows(got, want);
}

TEST_P(StoreConformanceTest, StateRowsAreReplacedAndErasedByKindAndKey) {
  auto [got, want] = LoadFromBoth({
      {.state = {Put(6, "m1", "first"), Put(6, "m2", "two"), Put(7, "m1", "other kind")}},
      {.state = {Put(6, "m1", "second"), Put(6, "m1", "third: the last of a batch wins"), Erase(6, "m2"),
                 Erase(6, "never there")}},
      {.state = {Put(7, "gone", "x"), Erase(7, "gone"), Put(8, "back", "x"), Erase(8, "back"), Put(8, "back", "y")}},
  });
  ExpectSameRows(got, want);
  std::vector<std::string> payloads;
  for (const StateRow& r : got.state) payloads.push_back(r.payload);
  EXPECT_EQ(payloads, (std::vector<std::string>{"third: the last of a batch wins", "other kind", "y"}));
}

TEST_P(StoreConformanceTest, ARepeatedTickFailsItsBatchAndStoresNothingOfIt) {
  auto store = OpenStore();
  auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
  ASSERT_TRUE(tenant->Commit({.journal = {J(1, 101, "A", "a")}, .state = {Put(6, "m", "v1")}}).ok());
  const Status again =
      tenant->Commit({.journal = {J(2, 101, "B", "b"), J(1, 101, "C", "c")}, .state = {Put(6, "m", "v2")}});
  EXPECT_FALSE(again.ok());
  ASSERT_TRUE(tenant->Commit({.journal = {J(3, 101, "D", "d")}}).ok()) << "the store keeps working";
  const Loaded loaded = LoadAll(*tenant);
  ASSERT_EQ(loaded.journal.size(), 2u);
  EXPECT_EQ(loaded.journal[1].key, "D");
  ASSERT_EQ(loaded.state.size(), 1u);
  EXPECT_EQ(loaded.state[0].payload, "v1");
}

TEST_P(StoreConformanceTest, BigPayloadsRoundTrip) {
  std::string big(8 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131);
  auto [got, want] = LoadFromBoth({{.journal = {J(1, 105, "snapshot", big)}, .state = {Put(5, "segments", big)}}});
  ExpectSameRows(got, want);
  ASSERT_EQ(got.journal.size(), 1u);
  EXPECT_TRUE(got.journal[0].payload == big);
}

TEST_P(StoreConformanceTest, AnErrorFromTheSinkStopsTheLoadAndIsReturned) {
  auto store = OpenStore();
  auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
  ASSERT_TRUE(tenant->Commit(FullBatch()).ok());
  struct Refusing final : LoadSink {
    int journal_rows = 0;
    Status OnState(StateRow) override { return Status::Ok(); }
    Status OnJournal(JournalRow) override {
      ++journal_rows;
      return Internal("damaged row");
    }
  } sink;
  const Status s = tenant->Load(sink);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("damaged row"), std::string::npos) << s.ToString();
  EXPECT_EQ(sink.journal_rows, 1);
  EXPECT_EQ(LoadAll(*tenant).journal.size(), 4u) << "and the store loads again";
}

TEST_P(StoreConformanceTest, EmptyBatchCommits) {
  auto store = OpenStore();
  auto tenant = MustOpenTenant(*store, ExistingTenant(*store, "t1"));
  EXPECT_TRUE(tenant->Commit(WriteBatch{}).ok());
  const Loaded loaded = LoadAll(*tenant);
  EXPECT_TRUE(loaded.state.empty());
  EXPECT_TRUE(loaded.journal.empty());
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
  const Loaded loaded = LoadAll(*again);
  EXPECT_TRUE(loaded.state.empty());
  EXPECT_TRUE(loaded.journal.empty());
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
  ASSERT_TRUE(a->Commit({.journal = {J(1, 101, "SAME", "a")}}).ok());
  ASSERT_TRUE(b->Commit({.journal = {J(1, 101, "SAME", "b")}}).ok()) << "ticks are per tenant";
  EXPECT_EQ(LoadAll(*a).journal.at(0).payload, "a");
  EXPECT_EQ(LoadAll(*b).journal.at(0).payload, "b");
}

// Random batches of both shapes, some repeating a tick already stored
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
  EXPECT_GT(got.journal.size(), 300u);
  EXPECT_GT(got.state.size(), 20u);
  ExpectSameRows(got, plan.Expected());
}

}  // namespace
}  // namespace pond
