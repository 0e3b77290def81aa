#include "engine/tenant_engine.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <future>
#include <stdexcept>
#include <thread>
#include <set>

#include "engine/engine.hpp"
#include "engine/segment_reads.hpp"
#include "engine/testing/memory_store.hpp"
#include "engine/testing/rows_of.hpp"
#include "segments/expr.hpp"

namespace pond {
namespace {

OrderEvent Order(std::string id, int64_t fen) {
  OrderEvent o;
  o.order_id = std::move(id);
  o.member = MemberRef{{Identity{IdentityKind::kPhone, "13800000001"}}, std::nullopt};
  o.paid = Money::Fen(fen);
  return o;
}

struct Fixture {
  std::shared_ptr<testing::MemoryTenantData> data = std::make_shared<testing::MemoryTenantData>();
  ManualClock clock{Timestamp::FromSeconds(1'800'000'000)};
  EffectChannels channels;
  OutboxOptions outbox{std::chrono::milliseconds(1), std::chrono::milliseconds(4), 4};
  std::chrono::microseconds slice = TenantEngine::kDefaultSlice;
  std::unique_ptr<TenantEngine> Open() {
    auto e = TenantEngine::Open(TenantRecord{"t", "T", "Asia/Shanghai", {}},
                                std::make_unique<testing::MemoryTenantStore>(data), clock, channels, outbox, slice);
    EXPECT_TRUE(e.ok());
    return std::move(e).value();
  }
};

Status SubmitAndWait(TenantEngine& engine, Event event) {
  std::promise<Status> p;
  engine.Submit({[event](TenantState& s, Timestamp now) { (void)s.Apply(event, now); return Slice::kDone; },
                 [&](const Status& st) { p.set_value(st); }});
  return p.get_future().get();
}

// Each hold lands in every bucket at or above its length (Prometheus'
// cumulative buckets), at the boundary included.
TEST(TenantEngineTest, HoldsAreCountedInCumulativeBuckets) {
  TenantMetrics m;
  for (int64_t micros : {0, 1000, 1001, 9999, 10000, 10001, 250000}) m.CountHold(micros);
  // le 1 ms, 2, 5, 10, 20, 50, 100
  const int64_t expected[] = {2, 3, 3, 5, 6, 6, 6};
  for (size_t i = 0; i < TenantMetrics::kHoldBucketMicros.size(); ++i) {
    EXPECT_EQ(m.holds_within[i].load(), expected[i]) << TenantMetrics::kHoldBucketMicros[i];
  }
  EXPECT_EQ(m.holds.load(), 7);
  EXPECT_EQ(m.hold_micros_total.load(), 0 + 1000 + 1001 + 9999 + 10000 + 10001 + 250000);
}

TEST(TenantEngineTest, AcknowledgedWritesAreInTheStoreAndSurviveReopen) {
  Fixture f;
  {
    auto engine = f.Open();
    ASSERT_TRUE(SubmitAndWait(*engine, Order("A", 100)).ok());
    // Acknowledged means committed: the row is in the store now.
    ASSERT_EQ(f.data->commits.size(), 1u);
    EXPECT_EQ(testing::RowsOf<OrderRow>(f.data->commits[0]).size(), 1u);
  }
  auto reopened = f.Open();
  EXPECT_EQ(reopened->Read([](const TenantState& s) { return s.orders().Totals(1).paid.fen(); }), 100);
}

TEST(TenantEngineTest, ConcurrentSubmittersAreAppliedOnceEachInGroupCommits) {
  Fixture f;
  auto engine = f.Open();
  constexpr int kThreads = 4, kPerThread = 500;
  std::atomic<int> acked{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::future<void>> waits;
      for (int i = 0; i < kPerThread; ++i) {
        auto p = std::make_shared<std::promise<void>>();
        waits.push_back(p->get_future());
        Event e = Order("T" + std::to_string(t) + "-" + std::to_string(i), 1);
        engine->Submit({[e](TenantState& s, Timestamp now) { (void)s.Apply(e, now); return Slice::kDone; },
                        [&, p](const Status& st) {
                          if (st.ok()) acked++;
                          p->set_value();
                        }});
      }
      for (auto& w : waits) w.wait();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(acked.load(), kThreads * kPerThread);
  EXPECT_EQ(engine->Read([](const TenantState& s) { return s.orders().order_count(); }), kThreads * kPerThread);
  size_t stored = 0;
  for (const auto& b : f.data->commits) stored += testing::RowsOf<OrderRow>(b).size();
  EXPECT_EQ(stored, static_cast<size_t>(kThreads * kPerThread));
}

// While a commit is under way, everything applied behind it waits and goes
// into the next commit together: one commit for the lot, not one each.
TEST(TenantEngineTest, WritesAppliedDuringACommitGoIntoTheNextCommitTogether) {
  Fixture f;
  std::promise<void> holding, release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> commits{0};
  f.data->before_commit = [&] {
    if (commits++ > 0) return;
    holding.set_value();  // the first commit is held here
    released.wait();
  };
  auto engine = f.Open();
  constexpr int kOrders = 300;
  std::vector<std::future<Status>> answers;
  auto submit = [&](int i) {
    auto p = std::make_shared<std::promise<Status>>();
    answers.push_back(p->get_future());
    Event e = Order("G-" + std::to_string(i), 1);
    engine->Submit({[e](TenantState& s, Timestamp now) { (void)s.Apply(e, now); return Slice::kDone; },
                    [p](const Status& st) { p->set_value(st); }});
  };
  submit(0);
  holding.get_future().wait();
  for (int i = 1; i < kOrders; ++i) submit(i);
  // Every order is applied (a reader sees it) while the first commit waits.
  while (engine->Read([](const TenantState& s) { return s.orders().order_count(); }) < kOrders) {
    std::this_thread::yield();
  }
  EXPECT_EQ(answers.back().wait_for(std::chrono::milliseconds(0)), std::future_status::timeout)
      << "nothing behind the held commit is acknowledged before it is durable";
  release.set_value();
  for (auto& a : answers) EXPECT_TRUE(a.get().ok());
  ASSERT_EQ(f.data->commits.size(), 2u);
  EXPECT_EQ(testing::RowsOf<OrderRow>(f.data->commits[0]).size(), 1u);
  EXPECT_EQ(testing::RowsOf<OrderRow>(f.data->commits[1]).size(), static_cast<size_t>(kOrders - 1));
}

// A command that throws fails its tenant, not the process: it and what was
// not yet committed are refused, nothing of them is stored, the tenant
// refuses writes until it is reloaded, and what was durable stays readable.
TEST(TenantEngineTest, ACommandThatThrowsFailsTheTenantNotTheProcess) {
  Fixture f;
  auto engine = f.Open();
  ASSERT_TRUE(SubmitAndWait(*engine, Order("A", 100)).ok());
  std::promise<Status> thrown;
  engine->Submit({[](TenantState&, Timestamp) -> Slice { throw std::runtime_error("a bug"); },
                  [&](const Status& st) { thrown.set_value(st); }});
  const Status s = thrown.get_future().get();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_TRUE(engine->broken());
  EXPECT_EQ(SubmitAndWait(*engine, Order("B", 100)).code(), StatusCode::kUnavailable);
  EXPECT_EQ(engine->Read([](const TenantState& st) { return st.orders().Totals(1).paid.fen(); }), 100);
  size_t stored = 0;
  for (const auto& b : f.data->commits) stored += testing::RowsOf<OrderRow>(b).size();
  EXPECT_EQ(stored, 1u);
  engine.reset();
  EXPECT_EQ(f.Open()->Read([](const TenantState& st) { return st.orders().order_count(); }), 1) << "a restart serves again";
}

TEST(TenantEngineTest, AFailedCommitIsNotAcknowledgedAndLeavesNoTraceInMemory) {
  Fixture f;
  auto engine = f.Open();
  ASSERT_TRUE(SubmitAndWait(*engine, Order("A", 100)).ok());
  f.data->fail_next_commits = 1;
  Status s = SubmitAndWait(*engine, Order("B", 200));
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_FALSE(engine->Read([](const TenantState& st) { return st.orders().HasOrder("B"); }));
  EXPECT_EQ(engine->Read([](const TenantState& st) { return st.orders().Totals(1).paid.fen(); }), 100);
  // The store works again: the same order now goes through.
  ASSERT_TRUE(SubmitAndWait(*engine, Order("B", 200)).ok());
  EXPECT_EQ(engine->Read([](const TenantState& st) { return st.orders().Totals(1).paid.fen(); }), 300);
}

// Many writers while commits fail now and then: whatever was acknowledged is
// in the store and in memory; whatever was refused is in neither; memory
// always equals what a restart would load.
TEST(TenantEngineTest, UnderFailingCommitsMemoryMatchesTheStoreAndTheAnswers) {
  Fixture f;
  auto engine = f.Open();
  constexpr int kOrders = 3000, kWave = 100;
  std::vector<std::promise<Status>> answers(kOrders);
  std::vector<std::future<Status>> results;
  for (auto& p : answers) results.push_back(p.get_future());
  for (int i = 0; i < kOrders; ++i) {
    if (i % (3 * kWave) == kWave / 2) {
      engine->Submit({[&f](TenantState&, Timestamp) { f.data->fail_next_commits = 1; return Slice::kDone; }, [](const Status&) {}});
    }
    Event e = Order("O" + std::to_string(i), 1);
    engine->Submit({[e](TenantState& s, Timestamp now) { (void)s.Apply(e, now); return Slice::kDone; },
                    [&answers, i](const Status& st) { answers[static_cast<size_t>(i)].set_value(st); }});
    // Two waves in flight at a time, so a group is applied while the one
    // before it fails.
    if (i % (2 * kWave) == 2 * kWave - 1) results[static_cast<size_t>(i)].wait();
  }
  int acked = 0;
  std::set<std::string> acked_ids;
  for (int i = 0; i < kOrders; ++i) {
    if (results[static_cast<size_t>(i)].get().ok()) {
      ++acked;
      acked_ids.insert("O" + std::to_string(i));
    }
  }
  EXPECT_LT(acked, kOrders);  // some commits did fail
  EXPECT_GT(acked, 0);
  std::set<std::string> stored;
  for (const auto& b : f.data->commits) {
    for (const auto& o : testing::RowsOf<OrderRow>(b)) stored.insert(o.order.order_id);
  }
  EXPECT_EQ(stored, acked_ids);
  for (int i = 0; i < kOrders; ++i) {
    const std::string id = "O" + std::to_string(i);
    EXPECT_EQ(engine->Read([&](const TenantState& s) { return s.orders().HasOrder(id); }), acked_ids.count(id) == 1)
        << id;
  }
}

// A server listens before its tenants have loaded: a tenant in the catalog
// must read as loading (503, come back) from the first request on, never as
// unknown (404), and the node as not ready.
TEST(EngineTest, TenantsAreKnownAsLoadingBeforeTheyLoad) {
  testing::MemoryStore store;
  ASSERT_TRUE(store.CreateTenant({"t", "T", "Asia/Shanghai", {}}).ok());
  ManualClock clock{Timestamp::FromSeconds(1'800'000'000)};
  Engine engine(store, clock);
  ASSERT_TRUE(engine.Expect().ok());
  EXPECT_TRUE(engine.starting());
  EXPECT_TRUE(engine.Loading("t"));
  EXPECT_EQ(engine.Tenant("t"), nullptr);
  EXPECT_FALSE(engine.Loading("other"));
  ASSERT_TRUE(engine.Start().ok());
  EXPECT_FALSE(engine.starting());
  EXPECT_FALSE(engine.Loading("t"));
  EXPECT_NE(engine.Tenant("t"), nullptr);
}

// Readers share the state with the writer (and run under ThreadSanitizer
// in CI): each read sees whole commands, never one half applied. Every
// order here makes a new member, so orders, members and the segment index's
// count of buyers agree in every read.
TEST(TenantEngineTest, ReadersSeeWholeCommandsWhileTheWriterApplies) {
  Fixture f;
  auto engine = f.Open();
  // A rule tag too: readers refresh its cached answer under its own mutex.
  std::promise<Status> tagged;
  engine->Submit({[](TenantState& s, Timestamp now) {
                    tags::TagDefinition def;
                    def.name = "buyer";
                    def.kind = tags::TagKind::kRule;
                    def.rule = "orders_30d >= 1";
                    (void)s.PutTag(def, true, now);
                    return Slice::kDone;
                  },
                  [&](const Status& st) { tagged.set_value(st); }});
  ASSERT_TRUE(tagged.get_future().get().ok());
  const auto buyers = std::move(segments::ParseExpr(R"(tag("buyer") and orders_30d >= 1)")).value();
  constexpr int kOrders = 400;
  std::atomic<bool> done{false};
  std::atomic<int> reads{0}, torn{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        engine->Read([&](const TenantState& s) {
          const int64_t orders = s.orders().order_count();
          auto counted = s.segments().Count(*buyers, s.SegmentContext(f.clock.Now()));
          if (orders != s.members().standing_count() || !counted.ok() || *counted != orders) ++torn;
        });
        ++reads;
      }
    });
  }
  std::vector<std::future<Status>> acks;
  for (int i = 0; i < kOrders; ++i) {
    OrderEvent o = Order("R" + std::to_string(i), 100);
    o.member.identities[0].value = "139" + std::to_string(10'000'000 + i);
    o.paid_at = f.clock.Now();
    auto p = std::make_shared<std::promise<Status>>();
    acks.push_back(p->get_future());
    engine->Submit({[o](TenantState& s, Timestamp now) { (void)s.Apply(Event(o), now); return Slice::kDone; },
                    [p](const Status& st) { p->set_value(st); }});
  }
  for (auto& a : acks) ASSERT_TRUE(a.get().ok());
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(engine->Read([](const TenantState& s) { return s.orders().order_count(); }), kOrders);
}

// An in-process receiver: what each attempt brought, and what to answer.
struct Receiver {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::string, std::string>> got;  // (key, payload) per attempt
  std::function<Delivery(int attempt)> answer = [](int) { return Delivery{}; };

  EffectChannel AsChannel() {
    return [this](const EffectRow& e, const std::string& key) {
      std::lock_guard lock(mu);
      got.emplace_back(key, e.payload);
      cv.notify_all();
      return answer(static_cast<int>(got.size()));
    };
  }
  // Waits (bounded, so a bug fails rather than hangs) for `n` attempts.
  bool WaitFor(size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(20), [&] { return got.size() >= n; });
  }
  size_t count() {
    std::lock_guard lock(mu);
    return got.size();
  }
};

Status Emit(TenantEngine& engine, std::string payload, std::string channel = "test") {
  std::promise<Status> p;
  engine.Submit({[payload, channel](TenantState& s, Timestamp now) { s.Emit(channel, payload, now); return Slice::kDone; },
                 [&](const Status& st) { p.set_value(st); }});
  return p.get_future().get();
}

// Waits until every effect has its outcome in memory (bounded).
void WaitSettled(TenantEngine& engine) {
  for (int i = 0; i < 20'000 && !engine.Read([](const TenantState& s) { return s.pending_effects().empty(); }); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

TEST(OutboxTest, AnEffectLeavesOnlyOnceItsCommitIsDurableAndIsSentOnce) {
  Fixture f;
  Receiver r;
  f.channels.Register("test", r.AsChannel());
  std::promise<void> holding, release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> commits{0};
  f.data->before_commit = [&] {
    if (commits++ > 0) return;
    holding.set_value();
    released.wait();
  };
  {
    auto engine = f.Open();
    std::promise<Status> acked;
    engine->Submit({[](TenantState& s, Timestamp now) { s.Emit("test", "hello", now); return Slice::kDone; },
                    [&](const Status& st) { acked.set_value(st); }});
    holding.get_future().wait();  // applied, and its commit under way
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(r.count(), 0u) << "sent before its cause was durable";
    release.set_value();
    ASSERT_TRUE(acked.get_future().get().ok());
    ASSERT_TRUE(r.WaitFor(1));
    WaitSettled(*engine);
  }
  ASSERT_EQ(r.got.size(), 1u);
  EXPECT_EQ(r.got[0], (std::pair<std::string, std::string>{"pond:t:1", "hello"}));
  std::vector<EffectOutcomeRow> outcomes;
  for (const WriteBatch& b : f.data->commits) {
    for (const EffectOutcomeRow& o : testing::RowsOf<EffectOutcomeRow>(b)) outcomes.push_back(o);
  }
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(std::tuple(outcomes[0].id, outcomes[0].delivered, outcomes[0].attempts), std::tuple(1, true, 1));
  // Settled: a restart sends nothing again, and the next effect has a new id.
  auto reopened = f.Open();
  ASSERT_TRUE(Emit(*reopened, "again").ok());
  ASSERT_TRUE(r.WaitFor(2));
  WaitSettled(*reopened);
  EXPECT_EQ(r.count(), 2u);
  EXPECT_EQ(r.got[1].first, "pond:t:2");
}

TEST(OutboxTest, AnEffectWhoseCommitFailedIsNeverSent) {
  Fixture f;
  Receiver r;
  f.channels.Register("test", r.AsChannel());
  auto engine = f.Open();
  f.data->fail_next_commits = 1;
  EXPECT_EQ(Emit(*engine, "lost").code(), StatusCode::kUnavailable);
  ASSERT_TRUE(Emit(*engine, "kept").ok());
  ASSERT_TRUE(r.WaitFor(1));
  WaitSettled(*engine);
  std::lock_guard lock(r.mu);
  ASSERT_EQ(r.got.size(), 1u);
  EXPECT_EQ(r.got[0].second, "kept");
}

TEST(OutboxTest, RetriesWithTheSameKeyThenGivesUpAndRecordsIt) {
  Fixture f;
  Receiver r;
  r.answer = [](int attempt) {
    return attempt <= 2 ? Delivery{Delivery::Result::kRetry, "503"} : Delivery{Delivery::Result::kDelivered, "200"};
  };
  f.channels.Register("test", r.AsChannel());
  {
    auto engine = f.Open();
    ASSERT_TRUE(Emit(*engine, "a").ok());
    ASSERT_TRUE(r.WaitFor(3));
    WaitSettled(*engine);
    {
      std::lock_guard lock(r.mu);
      r.answer = [](int) { return Delivery{Delivery::Result::kRetry, "timeout"}; };
    }
    ASSERT_TRUE(Emit(*engine, "b").ok());
    ASSERT_TRUE(r.WaitFor(3 + 4));  // max_attempts 4
    WaitSettled(*engine);
    ASSERT_TRUE(Emit(*engine, "x", "sms").ok());  // a channel this node lacks
    WaitSettled(*engine);
    // The counters /metrics shows follow the outcomes' commits.
    for (int i = 0; i < 20'000 && engine->metrics().effects_given_up < 2; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(std::pair(engine->metrics().effects_delivered.load(), engine->metrics().effects_given_up.load()),
              std::pair(int64_t{1}, int64_t{2}));
  }
  EXPECT_EQ(r.count(), 3u + 4u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(r.got[i].first, "pond:t:1") << "every attempt has the effect's key";
  std::map<int64_t, EffectOutcomeRow> outcomes;
  for (const WriteBatch& b : f.data->commits) {
    for (const EffectOutcomeRow& o : testing::RowsOf<EffectOutcomeRow>(b)) outcomes[o.id] = o;
  }
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_EQ(std::tuple(outcomes[1].delivered, outcomes[1].attempts, outcomes[1].detail), std::tuple(true, 3, "200"));
  EXPECT_EQ(std::tuple(outcomes[2].delivered, outcomes[2].attempts, outcomes[2].detail),
            std::tuple(false, 4, "given up after 4 attempts: timeout"));
  EXPECT_EQ(std::tuple(outcomes[3].delivered, outcomes[3].detail), std::tuple(false, "no channel 'sms' on this node"));
}

TEST(OutboxTest, AnEffectPendingWhenTheProcessStopsIsSentAfterTheRestartWithItsKey) {
  Fixture f;
  f.outbox.first_retry = f.outbox.max_retry = std::chrono::hours(1);  // the retry never comes before the stop
  Receiver down;
  down.answer = [](int) { return Delivery{Delivery::Result::kRetry, "connection refused"}; };
  f.channels.Register("test", down.AsChannel());
  {
    auto engine = f.Open();
    ASSERT_TRUE(Emit(*engine, "order shipped").ok());
    ASSERT_TRUE(down.WaitFor(1));
  }  // stops with the effect pending: no outcome was recorded
  Receiver up;
  f.channels.Register("test", up.AsChannel());
  auto engine = f.Open();
  ASSERT_TRUE(up.WaitFor(1));
  WaitSettled(*engine);
  EXPECT_EQ(up.got[0], (std::pair<std::string, std::string>{"pond:t:1", "order shipped"}));
  EXPECT_EQ(down.count(), 1u);
}

// Work in slices (ARCHITECTURE.md "Sliced work"): each slice commits on
// its own and readers get in between; kMore keeps the command's place,
// kLater lets what arrived meanwhile go first; the caller hears once, after
// the last slice is durable.
struct Job {
  std::string name;
  int slices = 0;
  Slice more = Slice::kMore;
};

TEST(SlicedWorkTest, MoreKeepsItsPlaceLaterLetsOthersFirst) {
  for (const Slice more : {Slice::kMore, Slice::kLater}) {
    Fixture f;
    f.slice = std::chrono::microseconds(0);  // every slice is spent at once
    auto engine = f.Open();
    std::vector<std::string> applied;  // on the writer thread only, read after the answers
    std::promise<Status> job_done, after_done;
    auto job_step = std::make_shared<int>(0);
    // Both are queued before the writer can reach them: the job first.
    engine->Submit({[&, job_step, more](TenantState& s, Timestamp now) {
                      (void)s.Apply(Order("J" + std::to_string(*job_step), 1), now);
                      applied.push_back("job " + std::to_string(*job_step));
                      return ++*job_step < 5 ? more : Slice::kDone;
                    },
                    [&](const Status& st) { job_done.set_value(st); }});
    engine->Submit({[&](TenantState& s, Timestamp now) {
                      (void)s.Apply(Order("A", 1), now);
                      applied.push_back("after");
                      return Slice::kDone;
                    },
                    [&](const Status& st) { after_done.set_value(st); }});
    ASSERT_TRUE(job_done.get_future().get().ok());
    ASSERT_TRUE(after_done.get_future().get().ok());
    ASSERT_EQ(applied.size(), 6u);
    if (more == Slice::kMore) {
      EXPECT_EQ(applied.back(), "after") << "nothing overtakes a command that keeps its place";
    } else {
      EXPECT_EQ(applied[1], "after") << "what arrived meanwhile goes before the job's next slice";
    }
    // Every slice's order is stored and in memory.
    EXPECT_EQ(engine->Read([](const TenantState& s) { return s.orders().order_count(); }), 6);
    if (more == Slice::kMore) {  // one transaction: a batch is all there or, after a failed commit, not at all
      size_t commits_with_job = 0;
      for (const WriteBatch& b : f.data->commits) {
        const auto orders = testing::RowsOf<OrderRow>(b);
        commits_with_job += std::any_of(orders.begin(), orders.end(),
                                        [](const OrderRow& o) { return o.order.order_id[0] == 'J'; });
      }
      EXPECT_EQ(commits_with_job, 1u);
    }
  }
}

TEST(SlicedWorkTest, ReadersGetInBetweenSlices) {
  Fixture f;
  f.slice = std::chrono::microseconds(0);
  auto engine = f.Open();
  std::atomic<int> step{0};
  std::atomic<bool> read_between{false};
  std::promise<Status> done;
  engine->Submit({[&](TenantState&, Timestamp) {
                    // Wait (bounded) for a reader to get in after the previous slice.
                    if (step > 0) {
                      for (int i = 0; i < 2000 && !read_between; ++i) std::this_thread::sleep_for(std::chrono::microseconds(100));
                    }
                    return ++step < 3 ? Slice::kLater : Slice::kDone;
                  },
                  [&](const Status& st) { done.set_value(st); }});
  // Spins reading while the job runs; a read while the writer is between
  // slices is what a reader of a whole command could never do.
  auto reads = std::async(std::launch::async, [&] {
    while (step < 3) {
      engine->Read([&](const TenantState&) {
        if (step > 0 && step < 3) read_between = true;
        return 0;
      });
    }
  });
  ASSERT_TRUE(done.get_future().get().ok());
  reads.get();
  EXPECT_TRUE(read_between);
}

TEST(SlicedWorkTest, WorkThatKeepsItsPlaceIsOneCommitAllOrNothing) {
  Fixture f;
  f.slice = std::chrono::microseconds(0);
  auto engine = f.Open();
  std::promise<Status> job_done;
  auto step = std::make_shared<int>(0);
  f.data->fail_next_commits = 1;
  engine->Submit({[step](TenantState& s, Timestamp now) {
                    (void)s.Apply(Order("J" + std::to_string(*step), 1), now);
                    return ++*step < 10 ? Slice::kMore : Slice::kDone;
                  },
                  [&](const Status& st) { job_done.set_value(st); }});
  EXPECT_EQ(job_done.get_future().get().code(), StatusCode::kUnavailable);
  EXPECT_EQ(*step, 10);
  EXPECT_EQ(engine->Read([](const TenantState& s) { return s.orders().order_count(); }), 0) << "none of it";
  EXPECT_TRUE(f.data->commits.empty());
}

TEST(SlicedWorkTest, WorkWhoseEarlierSliceWasLostIsRefused) {
  Fixture f;
  f.slice = std::chrono::microseconds(0);
  auto engine = f.Open();
  std::promise<Status> job_done;
  auto step = std::make_shared<int>(0);
  engine->Submit({[&f, step](TenantState& s, Timestamp now) {
                    if (*step == 0) f.data->fail_next_commits = 1;  // the first slice's commit fails
                    (void)s.Apply(Order("J" + std::to_string(*step), 1), now);
                    std::this_thread::sleep_for(std::chrono::milliseconds(2));
                    return ++*step < 50 ? Slice::kLater : Slice::kDone;
                  },
                  [&](const Status& st) { job_done.set_value(st); }});
  const Status st = job_done.get_future().get();
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  // The failed commit's reload comes within a few slices; none runs on
  // the rebuilt state.
  EXPECT_LT(*step, 50);
  EXPECT_FALSE(engine->Read([](const TenantState& s) { return s.orders().HasOrder("J0"); }));
}

}  // namespace
}  // namespace pond

namespace pond {
namespace {

// A count taken a chunk at a time is the count taken at once, for every
// chunk size, members merged away and all.
TEST(SegmentReadsTest, ACountInChunksIsTheCountAtOnce) {
  Fixture f;
  auto engine = f.Open();
  for (int i = 0; i < 200; ++i) {
    OrderEvent o = Order("O" + std::to_string(i), 1000 * (i % 7));
    o.paid_at = f.clock.Now().PlusSeconds(-3600 * (i % 50));
    o.member = MemberRef{{Identity{IdentityKind::kPhone, "138" + std::to_string(10000000 + i % 90)}}, std::nullopt};
    if (i % 11 == 0) o.member.identities.push_back({IdentityKind::kPhone, "138" + std::to_string(10000000 + (i + 1) % 90)});
    ASSERT_TRUE(SubmitAndWait(*engine, o).ok());
  }
  const Timestamp now = f.clock.Now();
  for (const char* text : {"orders_30d >= 2", "points >= 5", "not points >= 20", "spend_30d > 3"}) {
    const auto expr = std::move(segments::ParseExpr(text)).value();
    const int64_t at_once = engine->Read(
        [&](const TenantState& s) { return s.segments().Count(*expr, s.SegmentContext(now)).value(); });
    EXPECT_GT(at_once, 0) << text;
    for (MemberId chunk : {MemberId{1}, MemberId{7}, MemberId{64}, segments::kChunkMembers}) {
      EXPECT_EQ(CountInChunks(*engine, *expr, now, chunk).value(), at_once) << text << " chunk " << chunk;
    }
  }
  EXPECT_FALSE(CountInChunks(*engine, **segments::ParseExpr(R"(tier = "platinum9")"), now).ok());
  EXPECT_FALSE(SampleInChunks(*engine, **segments::ParseExpr(R"(tier = "platinum9")"), now, 5, 1).ok());
  const auto spent = std::move(segments::ParseExpr("points >= 5")).value();
  const auto whole = SampleInChunks(*engine, *spent, now, 10, 42, MemberId{1} << 20).value();
  EXPECT_EQ(whole.members.size(), 10u);
  for (MemberId chunk : {MemberId{1}, MemberId{7}, segments::kChunkMembers}) {
    const auto sample = SampleInChunks(*engine, *spent, now, 10, 42, chunk).value();
    EXPECT_EQ(std::pair(sample.count, sample.members), std::pair(whole.count, whole.members)) << "chunk " << chunk;
  }
}

// While the writer has work, a long read's chunks wait their turn: after a
// chunk that held the state for d, the next starts no sooner than
// d·(1−share)/share later (sleeping never ends early, so this cannot flake).
TEST(SegmentReadsTest, WhileTheWriterHasWorkChunksTakeTheirShareOfTheTime) {
  Fixture f;
  auto engine = f.Open();
  std::atomic<bool> stop{false}, started{false};
  std::promise<Status> done;
  engine->Submit({[&](TenantState&, Timestamp) {
                    started = true;
                    std::this_thread::sleep_for(std::chrono::microseconds(500));
                    return stop ? Slice::kDone : Slice::kLater;
                  },
                  [&](const Status& st) { done.set_value(st); }});
  while (!started) std::this_thread::yield();
  using Clock = std::chrono::steady_clock;
  std::vector<std::pair<Clock::time_point, Clock::time_point>> held;
  for (int i = 0; i < 6; ++i) {
    engine->ReadChunk([&](const TenantState&) {
      const auto from = Clock::now();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      held.emplace_back(from, Clock::now());
      return 0;
    });
  }
  stop = true;
  ASSERT_TRUE(done.get_future().get().ok());
  const double rest = (1 - TenantEngine::kChunkShare) / TenantEngine::kChunkShare;
  for (size_t i = 1; i < held.size(); ++i) {
    EXPECT_GE(held[i].first - held[i - 1].second, (held[i - 1].second - held[i - 1].first) * rest) << "chunk " << i;
  }
}

}  // namespace
}  // namespace pond
