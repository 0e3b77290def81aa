// bench/segments: the shared pieces of the segment benchmark (issue #4
// point 6, DESIGN.md "Performance targets"): the data set's files, the
// question suite, timing, and one entry point per system.
//
// The benchmark has two steps, both in pond_bench_segments:
//   export  runs `pond demo`'s generator through Pond's own rules
//           (TenantState, shard by shard) and writes plain CSV files, so
//           that every system — Pond's segment index included — loads the
//           same rows (demo_export.cpp);
//   run     loads those files into each system and times the same questions
//           on each, and fails when two systems count differently.
// README.md beside this file describes the files, the schemas and how to run.
//
// Not thread-safe; the peers use their own threads where they have them.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.hpp"

namespace pond::bench {

// meta.json: the data set's "today" and size, written by the export.
struct DataMeta {
  int64_t demo_members = 0;  // what the generator was asked for (--members)
  int64_t members = 0;       // standing members: the rows of members.csv
  int64_t orders = 0;
  int64_t seed = 0;
  std::string end;                   // the generator's end instant (RFC 3339)
  int32_t today = 0;                 // tenant-local LocalDate days of `end`
  int year = 0, month = 0, day = 0;  // of `today`
  std::vector<std::pair<std::string, std::string>> category_parents;  // child -> parent
};

Status WriteMeta(const std::string& path, const DataMeta& meta);
Result<DataMeta> ReadMeta(const std::string& path);

struct ExportOptions {
  int64_t members = 1'000'000;
  uint64_t seed = 1;
  std::string end = "2026-11-20T00:00:00+08:00";
  std::string dir;
  int64_t shard_members = 1'000'000;  // members per TenantState: what fits in memory
};

// Generates the demo data set and writes members.csv, orders.csv,
// order_categories.csv, member_tags.csv and meta.json into options.dir.
Status ExportDemo(const ExportOptions& options);

// One question of the suite: Pond's expression and the SQL that asks the
// same of the peers (day numbers already substituted).
struct Question {
  std::string name;
  int conditions = 0;
  std::string expr;
  std::string sql;
  int number = 0;  // 1-based place in the suite
};

// The fixed suite, with values for the data set's today.
std::vector<Question> BuildSuite(const DataMeta& meta);

// The timings of one question on one system.
struct Timing {
  int64_t count = -1;
  double p50_ms = 0, p99_ms = 0;
  int runs = 0;
  std::string error;  // non-empty: the system could not answer
};

// A system's answers, one Timing per question of the suite, in suite order.
struct SystemResult {
  std::string system;
  std::string notes;  // load time, memory: printed under the table
  std::vector<Timing> timings;
};

// How often to ask each question.
struct RepeatPolicy {
  int warmups = 1;
  int max_runs = 30;
  int min_runs = 3;
  double budget_seconds = 10;  // stop after this much time once min_runs are done
};

// Runs `ask` warmups + repeats times and summarizes; a run that fails or
// counts differently from the first ends the series with an error.
Timing TimeQuestion(const std::function<Result<int64_t>()>& ask, const RepeatPolicy& policy);

struct RunOptions {
  std::string dir;                // holds the exported files; peers keep their databases here
  int repeat = 30;                // timed runs per question (peers: fewer when slow)
  bool reload = false;            // rebuild the peers' databases even when cached
  std::string pg_bin = "/usr/lib/postgresql/15/bin";
  std::string duckdb_script;      // duckdb_peer.mjs
  std::string node = "node";
};

Status RunPond(const RunOptions& options, const DataMeta& meta, const std::vector<Question>& suite,
               SystemResult* out);
// The same data generated again and sent event by event through
// TenantState::Apply, what the server's writer runs for `POST /events`, to
// a new tenant (no day run yet); then the same questions on its index.
// Refused above kMostLiveMembers: the whole engine holds ~2.2 KB a member.
inline constexpr int64_t kMostLiveMembers = 2'000'000;
Status RunPondLive(const RunOptions& options, const DataMeta& meta, const std::vector<Question>& suite,
                   SystemResult* out);
Status RunSqlite(const RunOptions& options, const DataMeta& meta, const std::vector<Question>& suite,
                 SystemResult* out);
Status RunPostgres(const RunOptions& options, const DataMeta& meta, const std::vector<Question>& suite,
                   SystemResult* out);
Status RunDuckdb(const RunOptions& options, const DataMeta& meta, const std::vector<Question>& suite,
                 SystemResult* out);

// Reads a CSV file this benchmark wrote: no quoting, no commas inside values,
// one header line (skipped).
class CsvReader {
 public:
  CsvReader() = default;
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  Status Open(const std::string& path);
  // The next row's fields, views valid until the next call; false at the end.
  bool Next(std::vector<std::string_view>* fields);

 private:
  std::FILE* file_ = nullptr;
  char* line_ = nullptr;
  size_t capacity_ = 0;
};

// Parses a whole decimal number (an empty field is 0: callers check
// emptiness first where "none" differs from 0).
int64_t ToInt(std::string_view field);

double SecondsSince(int64_t start_nanos);
int64_t NowNanos();

}  // namespace pond::bench
