// The ingest benchmarks' shared data set and feeding (pond_bench_ingest,
// pond_bench_postgres): `pond demo`'s events (seed 1, a year ending
// 2026-11-01, Asia/Shanghai) serialized to ndjson in chunks of 10 000 lines,
// as `pond import` reads a file, so that parsing is timed; and the order
// rows a raw peer writes, each with the number of the member it belongs to
// in arrival order and no loyalty effect (a raw load computes none).
//
// Thread-safety: none needed; one thread builds and feeds.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "engine/ingest.hpp"
#include "journal/rows.hpp"
#include "engine/tenant_engine.hpp"

namespace pond::bench {

inline constexpr size_t kIngestChunkLines = 10'000;

struct IngestDataSet {
  std::vector<std::string> chunks;  // ndjson, kIngestChunkLines lines each (the last fewer)
  std::vector<OrderRow> rows;       // every order event, in order
  int64_t members = 0;
  int64_t events = 0;
};

// Generates the demo data set of `members` members.
IngestDataSet BuildIngestDataSet(int64_t members);

// What `pond import` does with the chunks: parse every line and feed it to
// `tenant` through a Feeder (a few chunks in flight, group commit). Returns
// Feeder::Finish's result, or the first parse error.
Result<IngestResult> FeedChunks(TenantEngine& tenant, const std::vector<std::string>& chunks);

double SecondsSince(std::chrono::steady_clock::time_point since);

// User and system CPU seconds of the whole process so far: steadier than
// wall time on a shared VM, and it shows what the pipeline costs in total.
struct CpuSeconds {
  double user = 0, sys = 0;
};
CpuSeconds ProcessCpu();

// CPU seconds (user+system) of each live thread by name, from
// /proc/self/task: " writer 1.2+0.1 s ..." — which stage costs what.
std::string ThreadCpu();

}  // namespace pond::bench
