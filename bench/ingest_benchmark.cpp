// bench/ingest: orders per second through Pond's full processing into the
// embedded store, beside a raw bulk load of the same order rows into SQLite,
// in the same run (issue #2, DESIGN.md target: >= 100 k orders/s on 2 cores
// and >= 0.5x the raw load).
//
// Full processing = what `pond import` does with an ndjson file: parse and
// validate every line, resolve identities (creating members), apply orders
// and refunds, record rows, group-commit durably (synchronous=FULL). The
// data set is `pond demo`'s, serialized to ndjson first so parsing is timed.
// The raw peer inserts only the order rows, with the backend's own table,
// encoding, prepared statement and durability, in transactions of 10 k rows.
//
// Machines are noisy (a shared VM's raw SQLite speed varies by a third from
// run to run), so the two sides alternate for several rounds and the ratio
// is taken between the best of each.
//
// Usage: pond_bench_ingest [--members N] [--rounds R] [--dir DIR]
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "cli/feeder.hpp"
#include "demo/demo_generator.hpp"
#include "engine/engine.hpp"
#include "ingest/event_parser.hpp"
#include "ingest/event_writer.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace pond {
namespace {

constexpr size_t kChunkLines = 10'000;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// User and system CPU seconds of the whole process so far: steadier than
// wall time on a shared VM, and it shows what the pipeline costs in total.
std::pair<double, double> CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](timeval t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return {s(u.ru_utime), s(u.ru_stime)};
}

// CPU seconds (user+system) of each live thread by name, from
// /proc/self/task: shows which pipeline stage costs what.
std::string ThreadCpu() {
  std::string out;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    FILE* f = std::fopen((task.path() / "stat").c_str(), "r");
    if (!f) continue;
    char line[1024] = {};
    const size_t n = std::fread(line, 1, sizeof line - 1, f);
    std::fclose(f);
    line[n] = 0;
    // pid (comm) state ppid ... utime is field 14, stime 15; comm may hold spaces.
    const char* open = std::strchr(line, '(');
    const char* close = std::strrchr(line, ')');
    if (!open || !close) continue;
    unsigned long long utime = 0, stime = 0;
    if (std::sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) continue;
    const auto tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    char text[128];
    std::snprintf(text, sizeof text, " %.*s %.1f+%.1f s", static_cast<int>(close - open - 1), open + 1,
                  static_cast<double>(utime) / tick, static_cast<double>(stime) / tick);
    out += text;
  }
  return out;
}

// One Pond run over the ndjson chunks into a fresh store under `dir`;
// returns its seconds, or -1 after printing why it failed.
double TimePond(const std::vector<std::string>& chunks, const std::string& dir, double orders) {
  auto store = OpenSqliteStore(dir + "/pond");
  if (!store.ok()) return std::fprintf(stderr, "%s\n", store.status().ToString().c_str()), -1;
  SystemClock clock;
  Engine engine(**store, clock);
  if (!engine.Start().ok() || !engine.CreateTenant(TenantRecord{"bench", "bench", "Asia/Shanghai", {}}).ok()) {
    return std::fprintf(stderr, "cannot create the tenant\n"), -1;
  }
  const auto start = std::chrono::steady_clock::now();
  const auto [user0, sys0] = CpuSeconds();
  Feeder feeder(*engine.Tenant("bench"));
  int line = 0;
  for (const std::string& text : chunks) {
    auto parsed = ParseEventBatch(text, kChunkLines + 1);
    if (!parsed.ok()) return std::fprintf(stderr, "%s\n", parsed.status().ToString().c_str()), -1;
    for (ParsedLine& l : *parsed) l.line += line;
    line += static_cast<int>(parsed->size());
    feeder.Submit(std::move(parsed).value());
  }
  auto result = feeder.Finish();
  const double seconds = Seconds(start);
  const auto [user1, sys1] = CpuSeconds();
  if (!result.ok() || !result->rejected.empty()) return std::fprintf(stderr, "ingest failed or rejected lines\n"), -1;
  const TenantMetrics& m = engine.Tenant("bench")->metrics();
  std::printf("thread cpu:%s\n", ThreadCpu().c_str());
  std::printf(
      "pond full processing:  %8.0f orders/s (%.2f s, %lld events accepted; apply %.2f s, %lld commits %.2f s; "
      "cpu user %.1f s sys %.1f s)\n",
      orders / seconds, seconds, static_cast<long long>(result->accepted),
      static_cast<double>(m.apply_micros_total.load()) / 1e6, static_cast<long long>(m.commits.load()),
      static_cast<double>(m.commit_micros_total.load()) / 1e6, user1 - user0, sys1 - sys0);
  return seconds;
}

int Run(int64_t members, int rounds, const std::string& dir) {
  const TimeZone zone = *TimeZone::Load("Asia/Shanghai");
  DemoOptions demo;
  demo.members = members;
  demo.seed = 1;
  demo.zone = zone;
  demo.end = *ParseRfc3339("2026-11-01T00:00:00+08:00");
  DemoGenerator generator(demo);

  // The ndjson text in chunks, and the order rows for the raw peer.
  std::vector<std::string> chunks(1);
  size_t lines_in_chunk = 0;
  std::vector<OrderRow> rows;
  int64_t member_number = 0, events = 0;
  std::vector<Event> batch;
  while (generator.Next(&batch, 10'000)) {
    for (const Event& e : batch) {
      if (std::holds_alternative<MemberEvent>(e)) ++member_number;
      if (const auto* o = std::get_if<OrderEvent>(&e)) rows.push_back(OrderRow{member_number, *o});
      AppendEventJson(e, zone, chunks.back());
      chunks.back().push_back('\n');
      ++events;
      if (++lines_in_chunk == kChunkLines) {
        chunks.emplace_back();
        lines_in_chunk = 0;
      }
    }
    batch.clear();
  }
  const auto orders = static_cast<double>(rows.size());
  std::printf("data set: %lld members, %zu orders, %lld events (pond demo --seed 1)\n",
              static_cast<long long>(members), rows.size(), static_cast<long long>(events));

  double best_pond = 1e300, best_raw = 1e300;
  for (int round = 1; round <= rounds; ++round) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const double pond_seconds = TimePond(chunks, dir, orders);
    if (pond_seconds < 0) return 1;
    const auto start = std::chrono::steady_clock::now();
    const auto [user0, sys0] = CpuSeconds();
    if (Status s = RawBulkLoadOrders(dir + "/raw.db", rows, kChunkLines); !s.ok()) {
      return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
    }
    const double raw_seconds = Seconds(start);
    const auto [user1, sys1] = CpuSeconds();
    std::printf("round %d: raw SQLite bulk load %8.0f orders/s (%.2f s; cpu user %.1f s sys %.1f s); ratio %.2f\n",
                round, orders / raw_seconds, raw_seconds, user1 - user0, sys1 - sys0, raw_seconds / pond_seconds);
    best_pond = std::min(best_pond, pond_seconds);
    best_raw = std::min(best_raw, raw_seconds);
  }
  std::filesystem::remove_all(dir);
  std::printf("best of %d: pond %.0f orders/s, raw %.0f orders/s\n", rounds, orders / best_pond, orders / best_raw);
  std::printf("ratio pond/raw: %.2f   (target >= 0.5; pond target >= 100000 orders/s)\n", best_raw / best_pond);
  return 0;
}

}  // namespace
}  // namespace pond

int main(int argc, char** argv) {
  int64_t members = 200'000;
  int rounds = 3;
  std::string dir = std::filesystem::temp_directory_path().string() + "/pond-bench-ingest-" + std::to_string(getpid());
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--members")) members = std::stoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::max(1, std::stoi(argv[i + 1]));
  }
  return pond::Run(members, rounds, dir);
}
