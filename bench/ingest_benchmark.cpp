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
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "ingest_data.hpp"
#include "raw_sqlite.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace pond {
namespace {

using bench::ProcessCpu;
using bench::SecondsSince;

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
  const bench::CpuSeconds cpu0 = ProcessCpu();
  auto result = bench::FeedChunks(*engine.Tenant("bench"), chunks);
  const double seconds = SecondsSince(start);
  const bench::CpuSeconds cpu1 = ProcessCpu();
  if (!result.ok() || !result->rejected.empty()) return std::fprintf(stderr, "ingest failed or rejected lines\n"), -1;
  const TenantMetrics& m = engine.Tenant("bench")->metrics();
  std::printf("thread cpu:%s\n", bench::ThreadCpu().c_str());
  std::printf(
      "pond full processing:  %8.0f orders/s (%.2f s, %lld events accepted; apply %.2f s, %lld commits %.2f s; "
      "cpu user %.1f s sys %.1f s)\n",
      orders / seconds, seconds, static_cast<long long>(result->accepted),
      static_cast<double>(m.apply_micros_total.load()) / 1e6, static_cast<long long>(m.commits.load()),
      static_cast<double>(m.commit_micros_total.load()) / 1e6, cpu1.user - cpu0.user, cpu1.sys - cpu0.sys);
  return seconds;
}

int Run(int64_t members, int rounds, const std::string& dir) {
  const bench::IngestDataSet data = bench::BuildIngestDataSet(members);
  const std::vector<std::string>& chunks = data.chunks;
  const std::vector<OrderRow>& rows = data.rows;
  const auto orders = static_cast<double>(rows.size());
  std::printf("data set: %lld members, %zu orders, %lld events (pond demo --seed 1)\n", static_cast<long long>(members),
              rows.size(), static_cast<long long>(data.events));

  double best_pond = 1e300, best_raw = 1e300;
  for (int round = 1; round <= rounds; ++round) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const double pond_seconds = TimePond(chunks, dir, orders);
    if (pond_seconds < 0) return 1;
    const auto start = std::chrono::steady_clock::now();
    const bench::CpuSeconds cpu0 = ProcessCpu();
    if (Status s = bench::RawBulkLoadOrders(dir + "/raw.db", rows, bench::kIngestChunkLines); !s.ok()) {
      return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
    }
    const double raw_seconds = SecondsSince(start);
    const bench::CpuSeconds cpu1 = ProcessCpu();
    std::printf("round %d: raw SQLite bulk load %8.0f orders/s (%.2f s; cpu user %.1f s sys %.1f s); ratio %.2f\n",
                round, orders / raw_seconds, raw_seconds, cpu1.user - cpu0.user, cpu1.sys - cpu0.sys,
                raw_seconds / pond_seconds);
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
