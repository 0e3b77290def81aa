// What only the PostgreSQL backend has: a server that can go away, leases
// shared by several nodes, a database that can fall behind after a failover,
// schema versions. The Store contract both backends keep is tested in
// storage/conformance. Each test makes a database of its own on the cluster
// that ctest starts (POND_TEST_PG_URL_FILE, tests/CMakeLists.txt).
#include "storage/postgres/postgres_store.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "engine/engine.hpp"
#include "storage/conformance/store_testing.hpp"
#include "storage/postgres/internal/pg_conn.hpp"
#include "storage/postgres/internal/pg_tenant.hpp"

namespace pond {
namespace {

using namespace store_testing;  // NOLINT(google-build-using-namespace): the storage tests' vocabulary
using pg_internal::ConnHandle;
using pg_internal::Rows;

std::string ClusterUrl() {
  const char* file = std::getenv("POND_TEST_PG_URL_FILE");
  if (file == nullptr) return "";
  std::ifstream in(file);
  std::string url;
  std::getline(in, url);
  return url;
}

// `url` with its database replaced.
std::string WithDatabase(const std::string& url, const std::string& db) {
  return url.substr(0, url.rfind('/') + 1) + db;
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = ClusterUrl();
    if (cluster_.empty()) GTEST_SKIP() << "needs PostgreSQL: run through ctest, which starts a cluster";
    db_ = "pond_pgtest_" + std::to_string(std::random_device{}());
    admin_ = Must(pg_internal::Connect(cluster_));
    Run("CREATE DATABASE " + db_);
    url_ = WithDatabase(cluster_, db_);
    db_admin_ = Must(pg_internal::Connect(url_));
  }
  void TearDown() override {
    db_admin_.reset();
    if (admin_) Run("DROP DATABASE IF EXISTS " + db_ + " WITH (FORCE)");
  }

  template <typename T>
  static T Must(Result<T> r) {
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return std::move(r).value();
  }
  void Run(const std::string& sql) { ASSERT_TRUE(pg_internal::Run(admin_.get(), sql, "test").ok()) << sql; }
  // Runs `sql` in the test's database, as an operator with psql would.
  Rows Sql(const std::string& sql) {
    auto rows = pg_internal::Exec(db_admin_.get(), sql, "test");
    EXPECT_TRUE(rows.ok()) << sql << ": " << rows.status().ToString();
    return std::move(rows).value();
  }

  std::unique_ptr<Store> Open(const std::string& node, pg_internal::CommitFault fault = nullptr,
                              std::chrono::milliseconds lease_ttl = std::chrono::seconds(10)) {
    auto store =
        pg_internal::OpenPostgresStoreWithFault({.url = url_, .node = node, .lease_ttl = lease_ttl}, std::move(fault));
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }
  std::unique_ptr<TenantStore> Tenant(Store& store, const std::string& id) {
    auto tenant = store.OpenTenant(id);
    EXPECT_TRUE(tenant.ok()) << tenant.status().ToString();
    return tenant.ok() ? std::move(tenant).value() : nullptr;
  }
  void Create(Store& store, const std::string& id) {
    ASSERT_TRUE(store.CreateTenant({id, "Tea", "Asia/Shanghai", Timestamp::FromSeconds(1)}).ok());
  }
  // Ends the tenant's connection from the server side, as a restart or a
  // broken network would: the one inside a transaction.
  void KillTenantConnection() {
    Rows killed =
        Sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = 'pond' AND state LIKE 'idle in transaction%'");
    ASSERT_EQ(killed.size(), 1);
  }

  // Order rows (kind 101, keyed by id) at ticks following the last batch's,
  // and member 1's state row.
  WriteBatch Orders(std::vector<std::string> ids) {
    WriteBatch b;
    b.state.push_back(Put(6, "m1", "王芳"));
    for (std::string& id : ids) b.journal.push_back(J(++next_tick_, kOrderKind, std::move(id), "order"));
    return b;
  }
  int64_t CountOrders(const std::string& where = "true") {
    return Sql("SELECT count(*) FROM tenant_tea.journal WHERE kind = 101 AND " + where).Int(0, 0);
  }
  static constexpr RowKind kOrderKind = 101;

  std::string cluster_, db_, url_;
  ConnHandle admin_, db_admin_;
  int64_t next_tick_ = 0;
};

TEST_F(PostgresStoreTest, AConnectionLostAtAnyStageOfACommitIsRetriedAndTheBatchStoredOnce) {
  // Every point inside the transaction at which the connection can break,
  // COMMIT itself included: the server rolled the attempt back, so Commit
  // tries again on a new connection and the batch lands exactly once.
  std::string kill_at;
  auto store = Open("node-a", [&](std::string_view stage) {
    if (stage == kill_at) {
      kill_at.clear();  // once
      KillTenantConnection();
    }
    return Status::Ok();
  });
  Create(*store, "tea");
  auto tenant = Tenant(*store, "tea");
  int n = 0;
  for (std::string stage : {"begin", "journal", "state", "commit"}) {
    SCOPED_TRACE(stage);
    kill_at = stage;
    const std::string id = "O-" + std::to_string(++n);
    Status s = tenant->Commit(Orders({id}));
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_TRUE(kill_at.empty()) << "the fault never fired";
    EXPECT_EQ(CountOrders("key = convert_to('" + id + "', 'UTF8')"), 1);
  }
  EXPECT_EQ(CountOrders(), n);
  EXPECT_EQ(Sql("SELECT commits FROM pond.leases").Int(0, 0), n) << "each batch counted once";
}

TEST_F(PostgresStoreTest, ACommitWhoseAnswerWasLostIsSettledByTheCounterNotRepeated) {
  bool lose = true;
  auto store = Open("node-a", [&](std::string_view stage) {
    if (stage == "committed" && lose) {
      lose = false;
      return Unavailable("the answer to COMMIT was lost");
    }
    return Status::Ok();
  });
  Create(*store, "tea");
  auto tenant = Tenant(*store, "tea");
  Status s = tenant->Commit(Orders({"O-1", "O-2"}));
  EXPECT_TRUE(s.ok()) << s.ToString();  // it did commit: acknowledging it is right
  EXPECT_FALSE(lose);
  EXPECT_EQ(CountOrders(), 2);  // and it was not sent twice
  EXPECT_TRUE(tenant->Commit(Orders({"O-3"})).ok()) << "the store goes on";
  EXPECT_EQ(CountOrders(), 3);
}

TEST_F(PostgresStoreTest, AServerThatIsNotThereIsUnavailableAndNamesNoPassword) {
  const std::string url = "postgresql://pond:s3cret@127.0.0.1:1/pond?connect_timeout=2";
  auto store = OpenPostgresStore({.url = url});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.status().ToString().find("s3cret"), std::string::npos) << store.status().ToString();
}

TEST_F(PostgresStoreTest, ATenantHeldByAnotherNodeIsRefusedNamingIt) {
  auto a = Open("node-a");
  a->Advertise("http://10.0.0.1:8080");
  Create(*a, "tea");
  auto held = Tenant(*a, "tea");
  auto b = Open("node-b");
  auto refused = b->OpenTenant("tea");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(ReasonOf(refused.status()), "not_owner");
  const auto& context = refused.status().context();
  EXPECT_NE(std::find(context.begin(), context.end(), std::pair<std::string, std::string>("owner", "node-a")),
            context.end());
  EXPECT_NE(
      std::find(context.begin(), context.end(), std::pair<std::string, std::string>("address", "http://10.0.0.1:8080")),
      context.end());
  EXPECT_EQ(b->OpenTenant("nope").status().code(), StatusCode::kNotFound);
}

TEST_F(PostgresStoreTest, AfterItsLeaseExpiresAnotherNodeTakesOverAndTheOldHolderCanNeverWriteAgain) {
  auto a = Open("node-a");
  Create(*a, "tea");
  auto old_holder = Tenant(*a, "tea");
  ASSERT_TRUE(old_holder->Commit(Orders({"O-1"})).ok());
  // Node a stops renewing (it hangs, or the network is cut) until the lease
  // runs out: the database's clock is the lease's, so move the expiry back.
  Sql("UPDATE pond.leases SET expires_at = now() - interval '1 second'");
  auto b = Open("node-b");
  auto taken = Tenant(*b, "tea");
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(Sql("SELECT node || ' ' || epoch FROM pond.leases").Str(0, 0), "node-b 2");

  // a wakes up: its commit is refused whole, and b's state is what stands.
  Status s = old_holder->Commit(Orders({"O-2"}));
  EXPECT_EQ(ReasonOf(s), "not_owner") << s.ToString();
  EXPECT_EQ(CountOrders(), 1);
  auto renewed = a->RenewLeases();
  ASSERT_TRUE(renewed.ok());
  EXPECT_TRUE(renewed->empty()) << "a learns it holds nothing";
  EXPECT_TRUE(taken->Commit(Orders({"O-3"})).ok());
  auto held = b->RenewLeases();
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(*held, std::vector<std::string>{"tea"});

  // Letting go of a stale store does not let go of b's lease.
  old_holder.reset();
  EXPECT_EQ(Sql("SELECT count(*) FROM pond.leases WHERE expires_at > now()").Int(0, 0), 1);
  // b closing does: a third node need not wait for the TTL.
  taken.reset();
  auto c = Open("node-c");
  EXPECT_NE(Tenant(*c, "tea"), nullptr);
}

TEST_F(PostgresStoreTest, ADatabaseBehindTheNodesMemoryIsRefusedUntilTheTenantIsReloaded) {
  auto store = Open("node-a");
  Create(*store, "tea");
  auto tenant = Tenant(*store, "tea");
  ASSERT_TRUE(tenant->Commit(Orders({"O-1"})).ok());
  ASSERT_TRUE(tenant->Commit(Orders({"O-2"})).ok());
  // A failover to an asynchronous standby that had not received the last
  // commit: the database lost O-2 and its count.
  Sql("DELETE FROM tenant_tea.journal WHERE key = convert_to('O-2', 'UTF8')");
  Sql("UPDATE pond.leases SET commits = commits - 1");
  Status s = tenant->Commit(Orders({"O-3"}));
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_EQ(CountOrders(), 1);

  // What the engine does after a failed commit.
  EXPECT_EQ(LoadAll(*tenant).journal.size(), 1u);
  EXPECT_TRUE(tenant->Commit(Orders({"O-3"})).ok()) << "in step with the database again";
}

TEST_F(PostgresStoreTest, SchemasWrittenByANewerBuildAreRefused) {
  {
    auto store = Open("node-a");
    Create(*store, "tea");
    EXPECT_NE(Tenant(*store, "tea"), nullptr);
  }
  Sql("UPDATE pond.schema_versions SET version = 99 WHERE schema_name = 'tenant_tea'");
  auto store = Open("node-a");
  auto refused = store->OpenTenant("tea");
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition) << refused.status().ToString();
  Sql("UPDATE pond.schema_versions SET version = 99 WHERE schema_name = 'pond'");
  auto catalog = OpenPostgresStore({.url = url_});
  EXPECT_EQ(catalog.status().code(), StatusCode::kFailedPrecondition) << catalog.status().ToString();
}

TEST_F(PostgresStoreTest, LongTenantIdsThatShareAPrefixGetSchemasOfTheirOwn) {
  const std::string x(63, 'x');
  auto store = Open("node-a");
  Create(*store, x + "1");
  Create(*store, x + "2");
  auto one = Tenant(*store, x + "1");
  auto two = Tenant(*store, x + "2");
  ASSERT_TRUE(one->Commit(Orders({"O-1"})).ok());
  ASSERT_TRUE(two->Commit(Orders({"O-1"})).ok()) << "the same order id in another tenant";
  EXPECT_NE(pg_internal::TenantSchema(x + "1"), pg_internal::TenantSchema(x + "2"));
  EXPECT_LE(pg_internal::TenantSchema(x + "1").size(), 63u);
  EXPECT_EQ(Sql("SELECT count(*) FROM pond.schema_versions WHERE schema_name LIKE 'tenant_x%'").Int(0, 0), 2);
}

// A node's receiver of effects: (key, payload) of each attempt, and what
// to answer.
struct Receiver {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::string, std::string>> got;
  Delivery::Result answer = Delivery::Result::kDelivered;

  EffectChannel AsChannel() {
    return [this](const EffectRow& e, const std::string& key) {
      std::lock_guard lock(mu);
      got.emplace_back(key, e.payload);
      cv.notify_all();
      return Delivery{answer, ""};
    };
  }
  // Waits (bounded, so a bug fails rather than hangs) until `done` holds.
  bool WaitUntil(const std::function<bool()>& done) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(20), done);
  }
  std::vector<std::pair<std::string, std::string>> Got() {
    std::lock_guard lock(mu);
    return got;
  }
};

Status Emit(Engine& node, const std::string& payload) {
  auto tenant = node.Tenant("tea");
  if (!tenant) return NotFound("tea is not served here");
  std::promise<Status> p;
  tenant->Submit({[payload](TenantState& s, Timestamp now) {
                    s.Emit("test", payload, now);
                    return Slice::kDone;
                  },
                  [&](const Status& st) { p.set_value(st); }});
  return p.get_future().get();
}

// DESIGN.md "Effects after commit": only the node holding a tenant's lease
// has its outbox. Two nodes on one database, each with a receiver of its
// own; the second keeps trying to adopt the tenant (a keeper round every
// 2/3 s) while the first holds it, then takes over when the first stops.
// (A TTL of 0.6 s let a renewal starved by a busy test machine lapse, and
// the second node rightly took over.)
TEST_F(PostgresStoreTest, OnlyTheLeaseHolderSendsEffectsAndTheNextHolderSendsWhatWasLeftPending) {
  const auto ttl = std::chrono::seconds(2);
  ManualClock clock(Timestamp::FromSeconds(1'800'000'000));
  auto store_a = Open("node-a", nullptr, ttl);
  auto store_b = Open("node-b", nullptr, ttl);
  Receiver at_a, at_b;
  auto a = std::make_unique<Engine>(*store_a, clock);
  Engine b(*store_b, clock);
  a->channels().Register("test", at_a.AsChannel());
  b.channels().Register("test", at_b.AsChannel());
  ASSERT_TRUE(a->Start().ok());
  ASSERT_TRUE(a->CreateTenant({"tea", "Tea", "Asia/Shanghai", {}}).ok());
  ASSERT_TRUE(b.Start().ok());
  EXPECT_EQ(b.Tenant("tea"), nullptr);
  EXPECT_EQ(b.OwnerOf("tea")->node, "node-a");

  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(Emit(*a, "e" + std::to_string(i)).ok());
  ASSERT_TRUE(at_a.WaitUntil([&] { return at_a.got.size() == 5; }));
  // Six rounds of b's keeper: it adopts nothing and sends nothing.
  std::this_thread::sleep_for(ttl * 2);
  EXPECT_EQ(b.Tenant("tea"), nullptr);
  EXPECT_TRUE(at_b.Got().empty()) << "a node without the lease sent an effect";

  // An effect a's receiver keeps asking to retry is still pending when a
  // stops (a redeploy): b takes the lease and sends it, with the same key.
  {
    std::lock_guard lock(at_a.mu);
    at_a.answer = Delivery::Result::kRetry;
  }
  ASSERT_TRUE(Emit(*a, "late").ok());
  ASSERT_TRUE(at_a.WaitUntil([&] { return at_a.got.size() == 6; }));
  a.reset();
  const size_t sent_by_a = at_a.Got().size();  // 6, or 7 if its retry came before it stopped
  ASSERT_TRUE(at_b.WaitUntil([&] { return !at_b.got.empty(); }));
  // Its outbox starts as the tenant opens, a moment before b serves it.
  for (int i = 0; i < 20'000 && b.Tenant("tea") == nullptr; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_NE(b.Tenant("tea"), nullptr);
  EXPECT_EQ(at_b.Got(), (std::vector<std::pair<std::string, std::string>>{{"pond:tea:6", "late"}}));
  EXPECT_EQ(at_a.Got().back(), (std::pair<std::string, std::string>{"pond:tea:6", "late"}));
  ASSERT_TRUE(Emit(b, "after").ok());
  ASSERT_TRUE(at_b.WaitUntil([&] { return at_b.got.size() == 2; }));
  EXPECT_EQ(at_b.Got().back(), (std::pair<std::string, std::string>{"pond:tea:7", "after"}));
  EXPECT_EQ(at_a.Got().size(), sent_by_a) << "the node that let the lease go sent again";
}

}  // namespace
}  // namespace pond
