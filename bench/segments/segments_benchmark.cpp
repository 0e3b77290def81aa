// bench/segments: segment counts on Pond's segment index beside SQLite,
// PostgreSQL and DuckDB on the same data and the same questions, in the same
// run (issue #4 point 6; DESIGN.md "Performance targets": the 8-condition
// question at 10 M members in p50 <= 5 ms on one core, >= 5x DuckDB,
// >= 50x PostgreSQL and SQLite; the index <= 300 bytes a member).
//
// Usage:
//   pond_bench_segments export --members N [--seed 1] [--end RFC3339] --dir D [--force]
//   pond_bench_segments run --dir D [--systems pond,pond-live,sqlite,postgres,duckdb] [--repeat 30] [--reload]
//                           [--questions 9,15]
//                           [--pg-bin DIR] [--duckdb-script PATH] [--node PATH]
// `export` is skipped when D already holds the files for the same
// --members/--seed/--end (unless --force). `run` prints p50/p99 per question
// and system, the counts, and each peer's p50 over Pond's, and exits 1 when
// two systems count differently (a correctness failure of one of them) or a
// system fails a question. bench/segments/run.sh does both steps; README.md
// beside this file explains the data and the schemas.
#include <unistd.h>

#include <cinttypes>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "segments_bench.hpp"

#ifndef POND_BENCH_SEGMENTS_DIR
#define POND_BENCH_SEGMENTS_DIR "bench/segments"
#endif

namespace pond::bench {
namespace {

std::map<std::string, std::string> ParseFlags(int argc, char** argv, int first) {
  std::map<std::string, std::string> flags;
  for (int i = first; i < argc; ++i) {
    std::string name = argv[i];
    if (!name.starts_with("--")) continue;
    const bool has_value = i + 1 < argc && std::strncmp(argv[i + 1], "--", 2) != 0;
    flags[name.substr(2)] = has_value ? argv[++i] : "";
  }
  return flags;
}

std::string Machine() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, model;
  while (std::getline(cpuinfo, line)) {
    if (line.starts_with("model name")) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  const double gib = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE)) /
                     (1024.0 * 1024 * 1024);
  char text[256];
  std::snprintf(text, sizeof text, "%ld cores (%s), %.1f GiB", sysconf(_SC_NPROCESSORS_ONLN), model.c_str(), gib);
  return text;
}

int Export(const std::map<std::string, std::string>& flags) {
  ExportOptions options;
  if (!flags.contains("dir") || !flags.contains("members")) {
    std::fprintf(stderr, "usage: pond_bench_segments export --members N [--seed S] [--end RFC3339] --dir D\n");
    return 2;
  }
  options.dir = flags.at("dir");
  options.members = std::stoll(flags.at("members"));
  if (flags.contains("seed")) options.seed = std::stoull(flags.at("seed"));
  if (flags.contains("end")) options.end = flags.at("end");
  if (flags.contains("shard-members")) options.shard_members = std::stoll(flags.at("shard-members"));
  if (!flags.contains("force")) {
    auto meta = ReadMeta(options.dir + "/meta.json");
    if (meta.ok() && meta->demo_members == options.members && meta->seed == static_cast<int64_t>(options.seed) &&
        meta->end == options.end) {
      std::fprintf(stderr, "export: %s already holds this data set (%" PRId64 " members, %" PRId64 " orders)\n",
                   options.dir.c_str(), meta->members, meta->orders);
      return 0;
    }
  }
  if (Status s = ExportDemo(options); !s.ok()) {
    std::fprintf(stderr, "export failed: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}

std::string Ms(const Timing& t) {
  if (!t.error.empty()) return "error";
  auto one = [](double ms) {
    char text[32];
    std::snprintf(text, sizeof text, ms < 1 ? "%.3f" : ms < 10 ? "%.2f" : ms < 100 ? "%.1f" : "%.0f", ms);
    return std::string(text);
  };
  return one(t.p50_ms) + " / " + one(t.p99_ms);
}

std::string Ratio(const Timing& peer, const Timing& pond) {
  if (!peer.error.empty() || !pond.error.empty() || pond.p50_ms <= 0) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.0fx", peer.p50_ms / pond.p50_ms);
  if (peer.p50_ms / pond.p50_ms < 10) std::snprintf(text, sizeof text, "%.1fx", peer.p50_ms / pond.p50_ms);
  return text;
}

// Prints the table and the target checks; returns whether all counts agree
// and no system failed a question.
bool Report(const DataMeta& meta, const std::vector<Question>& suite, const std::vector<SystemResult>& systems) {
  const SystemResult* pond = nullptr;
  for (const SystemResult& s : systems) {
    if (s.system == "pond") pond = &s;
  }
  std::printf("\n%" PRId64 " members, %" PRId64 " orders; today %04d-%02d-%02d; p50 / p99 in ms; ratio = peer p50 / "
              "pond p50 (pond-live / pond: the same data sent live over loaded)\n\n",
              meta.members, meta.orders, meta.year, meta.month, meta.day);
  std::printf("| # | question | conds | count |");
  for (const SystemResult& s : systems) {
    std::printf(" %s p50 / p99 |", s.system.c_str());
    if (pond && &s != pond) std::printf(" %s / pond |", s.system.c_str());
  }
  std::printf("\n|---:|---|---:|---:|");
  for (const SystemResult& s : systems) std::printf(pond && &s != pond ? "---:|---:|" : "---:|");
  std::printf("\n");

  bool ok = true;
  std::vector<std::string> problems, notes;
  for (size_t i = 0; i < suite.size(); ++i) {
    int64_t count = -1;
    std::string counts;
    bool agree = true;
    for (const SystemResult& s : systems) {
      const Timing& t = s.timings[i];
      if (!t.error.empty()) {
        problems.push_back("ERROR " + suite[i].name + " on " + s.system + ": " + t.error);
        ok = false;
        continue;
      }
      if (s.system == "pond-live" && suite[i].expr.find("rfm") != std::string::npos) {
        // RFM classes are scored by the day run (the export's follows its
        // events), and none has run on the live tenant since its data came.
        notes.push_back("pond-live counts " + std::to_string(t.count) + " for " + suite[i].name +
                        ": no day run has scored RFM classes since its events arrived");
        continue;
      }
      counts += " " + s.system + "=" + std::to_string(t.count);
      if (count >= 0 && t.count != count) agree = false;
      if (count < 0) count = t.count;
    }
    if (!agree) {
      problems.push_back("COUNT MISMATCH " + suite[i].name + ":" + counts);
      ok = false;
    }
    std::printf("| %d | %s | %d | %s |", suite[i].number, suite[i].name.c_str(), suite[i].conditions,
                agree ? std::to_string(count).c_str() : "MISMATCH");
    for (const SystemResult& s : systems) {
      std::printf(" %s |", Ms(s.timings[i]).c_str());
      if (pond && &s != pond) std::printf(" %s |", Ratio(s.timings[i], pond->timings[i]).c_str());
    }
    std::printf("\n");
  }
  std::printf("\n");
  for (const SystemResult& s : systems) std::printf("%s\n", s.notes.c_str());
  for (const std::string& n : notes) std::printf("%s\n", n.c_str());
  for (size_t i = 0; pond && i < suite.size(); ++i) {
    if (suite[i].conditions != 8) continue;
    const Timing& p = pond->timings[i];
    std::printf("\ntargets (DESIGN.md, at 10 M members): 8 conditions p50 %.3f ms (<= 5 ms)", p.p50_ms);
    for (const SystemResult& s : systems) {
      if (&s == pond || s.system == "pond-live") continue;
      std::printf("; vs %s %s (>= %s)", s.system.c_str(), Ratio(s.timings[i], p).c_str(),
                  s.system == "duckdb" ? "5x" : "50x");
    }
    std::printf("\n");
  }
  for (const std::string& p : problems) std::printf("%s\n", p.c_str());
  if (!ok) {
    std::printf("FAILED\n");
  } else {
    std::printf("%s\n", systems.size() > 1 ? "all systems agree on every count" : "one system: counts not cross-checked");
  }
  return ok;
}

int Run(const std::map<std::string, std::string>& flags) {
  RunOptions options;
  if (!flags.contains("dir")) {
    std::fprintf(stderr, "usage: pond_bench_segments run --dir D [--systems pond,pond-live,sqlite,postgres,duckdb]\n");
    return 2;
  }
  options.dir = std::filesystem::absolute(flags.at("dir")).string();
  if (flags.contains("repeat")) options.repeat = std::max(3, std::stoi(flags.at("repeat")));
  options.reload = flags.contains("reload");
  if (flags.contains("pg-bin")) options.pg_bin = flags.at("pg-bin");
  options.duckdb_script =
      flags.contains("duckdb-script") ? flags.at("duckdb-script") : POND_BENCH_SEGMENTS_DIR "/duckdb_peer.mjs";
  if (flags.contains("node")) options.node = flags.at("node");
  const std::string systems_flag =
      flags.contains("systems") ? flags.at("systems") : "pond,pond-live,sqlite,postgres,duckdb";

  auto meta = ReadMeta(options.dir + "/meta.json");
  if (!meta.ok()) {
    std::fprintf(stderr, "%s\n", meta.status().ToString().c_str());
    return 1;
  }
  std::vector<Question> suite = BuildSuite(*meta);
  if (flags.contains("questions")) {  // a subset by number, e.g. "9,15", to look at a few closely
    std::vector<Question> chosen;
    std::stringstream numbers(flags.at("questions"));
    for (std::string n; std::getline(numbers, n, ',');) {
      const int number = std::atoi(n.c_str());
      if (number < 1 || number > static_cast<int>(suite.size())) {
        std::fprintf(stderr, "--questions: no question %s (1 to %zu)\n", n.c_str(), suite.size());
        return 2;
      }
      chosen.push_back(suite[static_cast<size_t>(number - 1)]);
    }
    suite = std::move(chosen);
  }
  std::printf("machine: %s\n", Machine().c_str());

  std::vector<SystemResult> results;
  std::stringstream names(systems_flag);
  for (std::string name; std::getline(names, name, ',');) {
    if (name == "pond-live" && meta->demo_members > kMostLiveMembers) {
      std::fprintf(stderr, "pond-live: skipped, %" PRId64 " members do not fit one TenantState here\n",
                   meta->demo_members);
      continue;
    }
    SystemResult result;
    const int64_t start = NowNanos();
    std::fprintf(stderr, "%s: loading and asking %zu questions\n", name.c_str(), suite.size());
    Status s = name == "pond"        ? RunPond(options, *meta, suite, &result)
               : name == "pond-live" ? RunPondLive(options, *meta, suite, &result)
               : name == "sqlite"   ? RunSqlite(options, *meta, suite, &result)
               : name == "postgres" ? RunPostgres(options, *meta, suite, &result)
               : name == "duckdb"   ? RunDuckdb(options, *meta, suite, &result)
                                    : InvalidArgument("unknown system " + name);
    if (!s.ok()) {
      std::fprintf(stderr, "%s failed: %s\n", name.c_str(), s.ToString().c_str());
      result.system = name;
      result.notes = name + ": FAILED: " + s.ToString();
      result.timings.assign(suite.size(), Timing{.error = "system failed"});
    }
    result.timings.resize(suite.size(), Timing{.error = "not asked"});
    std::fprintf(stderr, "%s: done in %.0f s\n", name.c_str(), SecondsSince(start));
    results.push_back(std::move(result));
  }
  return Report(*meta, suite, results) ? 0 : 1;
}

}  // namespace
}  // namespace pond::bench

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  const auto flags = pond::bench::ParseFlags(argc, argv, 2);
  if (command == "export") return pond::bench::Export(flags);
  if (command == "run") return pond::bench::Run(flags);
  std::fprintf(stderr,
               "usage: pond_bench_segments export --members N [--seed S] [--end RFC3339] --dir D [--force]\n"
               "       pond_bench_segments run --dir D [--systems pond,pond-live,sqlite,postgres,duckdb] [--repeat R] "
               "[--reload] [--questions 9,15]\n");
  return 2;
}
