// bench/holds: how long a tenant's writer keeps its readers out, and what
// readers and writes cost each other (issue #16, points 6 and 8), on the
// demo data set in the embedded store, in one run:
//
//  1. ingest (what `pond import` does) into a fresh store alone, then into
//     another fresh store while two clients keep asking bench/segments' two
//     slowest questions: orders/s of each and their ratio (target >= 0.8);
//  0. timers: the memory of 10 M pending wake-ups, and the time to fire
//     1 M of them that fall due in the same minute (in slices, with the
//     longest hold), on an empty tenant;
//  2. on the loaded tenant, while a client reads one member after another
//     (profile, points, tier, stage, coupons): the day run, a snapshot of
//     every member, and a bulk issue of one coupon template to that
//     snapshot — for each, the longest exclusive hold of the state
//     (pond_exclusive_seconds_max; target about 10 ms) and the member
//     reads' p50 / p99 / max (target p99 <= 20 ms during the bulk issue).
//
// With --stream 1 the holds part feeds the demo generator's events straight
// to the tenant (no ndjson kept in memory: what 10 M members need), and the
// ingest comparison is skipped.
//
// Usage: pond_bench_holds [--members N] [--dir DIR] [--no-ingest-compare 1] [--stream 1]
//                         [--timers N (pending; 0: skip)] [--timers-only 1]
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "cli/feeder.hpp"
#include "core/random.hpp"
#include "demo/demo_generator.hpp"
#include "engine/engine.hpp"
#include "engine/modules/coupons_module.hpp"
#include "engine/reader_pool.hpp"
#include "engine/segment_reads.hpp"
#include "ingest_data.hpp"
#include "segments/expr.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace pond {
namespace {

using bench::SecondsSince;

// The demo data set ends here (bench/ingest_data.hpp); the clock starts an
// hour later.
Timestamp DataEnd() { return *ParseRfc3339("2026-11-01T01:00:00+08:00"); }

// bench/segments' two slowest questions (suite.cpp: "weekend bulk 90d" and
// "10 conditions").
const char* const kSlowQuestions[] = {
    R"(weekend_orders_90d >= 2 and max_units_90d >= 4)",
    R"(source = "store_qr" and city in ("深圳", "广州", "上海") and tier = "gold" and )"
    R"(points between 500 and 5000 and growth >= 6000 and registered_days >= 180 and orders_90d >= 2 and )"
    R"(spend_90d >= 300 and bought("beauty", 90) and not bought("snacks", 90))",
};

struct Tenant {
  std::unique_ptr<Store> store;
  std::unique_ptr<Engine> engine;
  std::shared_ptr<TenantEngine> tenant;
};

Result<Tenant> OpenTenant(const std::string& dir, const Clock& clock) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Tenant t;
  ASSIGN_OR_RETURN(t.store, OpenSqliteStore(dir + "/pond"));
  t.engine = std::make_unique<Engine>(*t.store, clock);
  RETURN_IF_ERROR(t.engine->Start());
  RETURN_IF_ERROR(t.engine->CreateTenant(TenantRecord{"bench", "bench", "Asia/Shanghai", {}}));
  t.tenant = t.engine->Tenant("bench");
  return t;
}

// A client asking the slow questions in turn until `stop`, each answered
// on `readers` as POST .../segments/count is; returns how many.
int64_t AskUntil(TenantEngine& tenant, ReaderPool& readers, const Clock& clock, const std::atomic<bool>& stop) {
  std::vector<segments::NodePtr> questions;
  for (const char* text : kSlowQuestions) questions.push_back(std::move(segments::ParseExpr(text)).value());
  int64_t asked = 0;
  for (size_t i = 0; !stop; ++i, ++asked) {
    std::promise<void> answered;
    readers.Run([&] {
      (void)CountInChunks(tenant, *questions[i % questions.size()], clock.Now());
      answered.set_value();
    });
    answered.get_future().wait();
  }
  return asked;
}

// Holds over 10 ms so far, and all holds (pond_exclusive_hold_seconds).
std::pair<int64_t, int64_t> LongHolds(const TenantMetrics& m) {
  static_assert(TenantMetrics::kHoldBucketMicros[3] == 10000);
  return {m.holds - m.holds_within[3], m.holds};
}

// Ingest alone, then with two clients asking; orders/s of each.
int CompareIngest(const bench::IngestDataSet& data, const std::string& dir, const Clock& clock) {
  const auto orders = static_cast<double>(data.rows.size());
  double seconds[2] = {0, 0};
  for (int with_readers = 0; with_readers < 2; ++with_readers) {
    auto t = OpenTenant(dir + "/ingest", clock);
    if (!t.ok()) return std::fprintf(stderr, "%s\n", t.status().ToString().c_str()), 1;
    std::atomic<bool> stop{false};
    ReaderPool readers(2);  // as the server's (http/api_support.hpp)
    std::vector<std::future<int64_t>> clients;
    for (int c = 0; with_readers && c < 2; ++c) {
      clients.push_back(std::async(std::launch::async, [&] { return AskUntil(*t->tenant, readers, clock, stop); }));
    }
    const auto start = std::chrono::steady_clock::now();
    auto result = bench::FeedChunks(*t->tenant, data.chunks);
    seconds[with_readers] = SecondsSince(start);
    stop = true;
    int64_t asked = 0;
    for (auto& c : clients) asked += c.get();
    if (!result.ok() || !result->rejected.empty()) return std::fprintf(stderr, "ingest failed\n"), 1;
    const auto [long_holds, holds] = LongHolds(t->tenant->metrics());
    std::printf("ingest %-34s %8.0f orders/s (%.1f s; longest exclusive hold %.1f ms, %lld of %lld over 10 ms; "
                "waited for readers %.1f s%s)\n",
                with_readers ? "with two clients asking slow questions" : "alone", orders / seconds[with_readers],
                seconds[with_readers], static_cast<double>(t->tenant->metrics().exclusive_micros_max) / 1e3,
                static_cast<long long>(long_holds), static_cast<long long>(holds),
                static_cast<double>(t->tenant->metrics().exclusive_wait_micros_total) / 1e6,
                with_readers ? (", " + std::to_string(asked) + " questions answered").c_str() : "");
  }
  std::printf("ratio with readers / alone: %.2f   (target >= 0.8)\n", seconds[0] / seconds[1]);
  return 0;
}

// A client reading members one after another while `work` runs; prints the
// work's time, the longest exclusive hold, how many holds passed 10 ms, and
// the reads' latencies.
void Measure(const char* what, TenantEngine& tenant, const std::function<void()>& work) {
  tenant.metrics().exclusive_micros_max = 0;
  const auto [long_before, holds_before] = LongHolds(tenant.metrics());
  std::atomic<bool> stop{false};
  auto reads = std::async(std::launch::async, [&] {
    std::vector<double> micros;
    Random rng(7);
    while (!stop) {
      const auto start = std::chrono::steady_clock::now();
      tenant.Read([&](const TenantState& s) {
        const MemberId m = rng.Range(1, std::max<int64_t>(s.members().size(), 1));
        const Member* member = s.members().Get(m);
        const Account* account = s.loyalty().Find(m);
        return (member ? member->identities.size() : 0) + (account ? account->balance : 0) +
               static_cast<int>(s.StageOfMember(m)) + Coupons(s).CouponsOf(s.members().Standing(m)).size();
      });
      micros.push_back(static_cast<double>(
          std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count()));
    }
    return micros;
  });
  const auto start = std::chrono::steady_clock::now();
  work();
  const double seconds = SecondsSince(start);
  stop = true;
  std::vector<double> micros = reads.get();
  std::sort(micros.begin(), micros.end());
  auto at = [&](double q) { return micros.empty() ? 0 : micros[static_cast<size_t>(q * (micros.size() - 1))] / 1e3; };
  const auto [long_after, holds_after] = LongHolds(tenant.metrics());
  std::printf("%-32s %7.2f s  longest hold %7.2f ms  over 10 ms %4lld of %7lld  member reads %8zu  p50 %5.2f ms  "
              "p99 %6.2f ms  max %6.2f ms\n",
              what, seconds, static_cast<double>(tenant.metrics().exclusive_micros_max) / 1e3,
              static_cast<long long>(long_after - long_before), static_cast<long long>(holds_after - holds_before),
              micros.size(), at(0.5), at(0.99), micros.empty() ? 0 : micros.back() / 1e3);
}

// Submits `apply` and waits for its answer.
Status Run(TenantEngine& tenant, std::function<Slice(TenantState&, Timestamp)> apply) {
  std::promise<Status> done;
  tenant.Submit(TenantCommand{std::move(apply), [&](const Status& s) { done.set_value(s); },
                              CommandContext{Actor::System("bench"), ""}});
  return done.get_future().get();
}

// Process resident memory in bytes (/proc/self/statm).
size_t ResidentBytes() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<size_t>(resident) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

int BenchTimers(int64_t pending, const std::string& dir) {
  ManualClock clock(DataEnd());
  auto t = OpenTenant(dir + "/timers", clock);
  if (!t.ok()) return std::fprintf(stderr, "%s\n", t.status().ToString().c_str()), 1;
  TenantEngine& tenant = *t->tenant;
  auto fired = std::make_shared<std::atomic<int64_t>>(0);
  const int64_t due = std::min<int64_t>(pending, 1'000'000);
  const Timestamp due_at = DataEnd().PlusSeconds(3600);
  size_t rss_before = 0, timer_bytes = 0;
  const auto arm_start = std::chrono::steady_clock::now();
  Status done = Run(tenant, [&](TenantState& s, Timestamp now) {
    if (s.RunDue(now) == Slice::kLater) return Slice::kLater;  // today's day run first: only timers fire later
    s.OnTimer(TimerKind::kTest, [fired](TenantState&, int64_t, Timestamp) { fired->fetch_add(1); });
    rss_before = ResidentBytes();
    Random rng(3);
    // `due` in the same minute an hour from now, the rest over 30 days.
    for (int64_t i = 0; i < pending; ++i) {
      const Timestamp at = i < due ? due_at.PlusSeconds(static_cast<int64_t>(rng.Uniform(60)))
                                   : due_at.PlusSeconds(120 + static_cast<int64_t>(rng.Uniform(30 * 86400)));
      (void)s.ArmTimer(TimerKind::kTest, i, at);
    }
    timer_bytes = s.timers().MemoryBytes();
    return Slice::kDone;
  });
  const double arm_seconds = SecondsSince(arm_start);
  if (!done.ok()) return std::fprintf(stderr, "%s\n", done.ToString().c_str()), 1;
  std::printf("timers: %lld pending armed in %.2f s: %.1f MB by the timers' count (%.1f bytes each), %.1f MB more "
              "resident\n",
              static_cast<long long>(pending), arm_seconds, static_cast<double>(timer_bytes) / 1e6,
              static_cast<double>(timer_bytes) / static_cast<double>(std::max<int64_t>(pending, 1)),
              static_cast<double>(ResidentBytes() - rss_before) / 1e6);
  clock.Set(due_at.PlusSeconds(60));
  Measure(("timers: firing " + std::to_string(due) + " due together").c_str(), tenant, [&] {
    done = Run(tenant, [](TenantState& s, Timestamp now) { return s.RunDue(now); });
  });
  std::printf("timers: %lld fired, %zu still pending\n", static_cast<long long>(fired->load()),
              tenant.Read([](const TenantState& s) { return s.timers().pending(); }));
  return done.ok() ? 0 : 1;
}

// The demo data set's events straight from the generator, through a Feeder
// as `pond demo` sends them.
void FeedDemo(TenantEngine& tenant, int64_t members) {
  DemoOptions demo;
  demo.members = members;
  demo.seed = 1;
  demo.zone = *TimeZone::Load("Asia/Shanghai");
  demo.end = *ParseRfc3339("2026-11-01T00:00:00+08:00");
  DemoGenerator generator(demo);
  Feeder feeder(tenant);
  std::vector<Event> batch;
  int line = 0;
  while (generator.Next(&batch, bench::kIngestChunkLines)) {
    std::vector<ParsedLine> lines;
    for (Event& e : batch) lines.push_back({++line, std::move(e)});
    feeder.Submit(std::move(lines));
    batch.clear();
  }
  auto result = feeder.Finish();
  std::printf("data set: %lld members, %lld events accepted (pond demo --seed 1)\n", static_cast<long long>(members),
              result.ok() ? static_cast<long long>(result->accepted) : -1LL);
}

int RunBench(int64_t members, const std::string& dir, bool compare_ingest, bool stream) {
  ManualClock clock(DataEnd());
  bench::IngestDataSet data;
  if (!stream) {
    data = bench::BuildIngestDataSet(members);
    std::printf("data set: %lld members, %zu orders, %lld events (pond demo --seed 1)\n",
                static_cast<long long>(members), data.rows.size(), static_cast<long long>(data.events));
  }
  if (compare_ingest && !stream) {
    if (int rc = CompareIngest(data, dir, clock); rc != 0) return rc;
  }
  auto t = OpenTenant(dir + "/holds", clock);
  if (!t.ok()) return std::fprintf(stderr, "%s\n", t.status().ToString().c_str()), 1;
  TenantEngine& tenant = *t->tenant;
  Measure("ingest", tenant, [&] {
    if (stream) {
      FeedDemo(tenant, members);
    } else {
      (void)bench::FeedChunks(tenant, data.chunks);
    }
  });
  data = {};
  Status failed;
  auto note = [&](const Status& s) {
    if (failed.ok()) failed = s;
  };
  Measure("day run (first)", tenant, [&] { note(Run(tenant, [](TenantState& s, Timestamp now) { return s.RunDue(now); })); });
  clock.Set(clock.Now().PlusSeconds(86400));
  Measure("day run (the next day)", tenant, [&] {
    note(Run(tenant, [](TenantState& s, Timestamp now) { return s.RunDue(now); }));
  });
  int64_t snapshot = 0, template_id = 0, audience = 0;
  // Everyone, or past 1 M members the first of these that holds 200 000
  // to 1 000 000 (a bulk issue takes at most 1 M); chosen outside the
  // measure.
  std::string who = "points >= 0";
  note(Run(tenant, [&](TenantState& s, Timestamp now) {
    for (const char* text : {"birthday_month = 3", "birthday_month in (3, 4)", R"(city = "深圳")", R"(tier = "gold")",
                             "orders_30d >= 1"}) {
      if (s.members().size() <= 1'000'000) break;
      auto n = s.segments().Count(**segments::ParseExpr(text), s.SegmentContext(now));
      if (n.ok() && *n >= 200'000 && *n <= 1'000'000) {
        who = text;
        break;
      }
    }
    coupons::CouponTemplate c;
    c.name = "bench 无门槛5元";
    c.kind = coupons::CouponKind::kNoThreshold;
    c.off = Money::Fen(500);
    c.valid_days = 7;
    auto created = Coupons(s).CreateCouponTemplate(c);
    if (created.ok()) template_id = (*created)->id;
    return Slice::kDone;
  }));
  // As POST .../segments/snapshots runs it: evaluated in slices, then recorded.
  const auto expr = std::move(segments::ParseExpr(who)).value();
  TenantState::Audience audience_of{.list = true};
  Measure(("snapshot (" + who + ")").c_str(), tenant, [&] {
    note(Run(tenant, [&](TenantState& s, Timestamp now) {
      auto slice = s.Evaluate(*expr, now, audience_of);
      if (!slice.ok() || *slice == Slice::kLater) return slice.ok() ? Slice::kLater : Slice::kDone;
      auto made = s.CreateSnapshot("audience", *expr, "bench", now, audience_of);
      if (made.ok()) {
        snapshot = (*made)->id;
        audience = (*made)->count;
      }
      return Slice::kDone;
    }));
  });
  CouponsModule::BulkIssue bulk;
  Measure(("bulk issue to " + std::to_string(audience) + " members").c_str(), tenant, [&] {
    note(Run(tenant, [&](TenantState& s, Timestamp now) {
      auto slice = Coupons(s).IssueToSnapshot(template_id, snapshot, coupons::NewCouponCode, now, bulk);
      if (!slice.ok()) note(slice.status());
      return slice.ok() ? *slice : Slice::kDone;
    }));
  });
  std::printf("bulk issue: %lld issued, %lld already\n", static_cast<long long>(bulk.issued),
              static_cast<long long>(bulk.already));
  std::filesystem::remove_all(dir);
  if (!failed.ok()) return std::fprintf(stderr, "%s\n", failed.ToString().c_str()), 1;
  return 0;
}

}  // namespace
}  // namespace pond

int main(int argc, char** argv) {
  int64_t members = 200'000, timers = 10'000'000;
  bool compare_ingest = true, timers_only = false, stream = false;
  std::string dir = std::filesystem::temp_directory_path().string() + "/pond-bench-holds-" + std::to_string(getpid());
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--members")) members = std::stoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
    if (!std::strcmp(argv[i], "--no-ingest-compare")) compare_ingest = false;
    if (!std::strcmp(argv[i], "--timers")) timers = std::stoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--timers-only")) timers_only = true;
    if (!std::strcmp(argv[i], "--stream")) stream = true;
  }
  if (timers > 0 && pond::BenchTimers(timers, dir) != 0) return 1;
  return timers_only ? 0 : pond::RunBench(members, dir, compare_ingest, stream);
}
