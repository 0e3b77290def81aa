// pond_bench_postgres: Pond on its PostgreSQL backend beside plain SQL on
// the same cluster, in the same run (bench/postgres/README.md). Each round
// uses a fresh database: Pond ingests the demo data set, the same order
// rows go in one INSERT transaction per order (a sample) and by COPY, then
// both sides post the same points adjustments and redemptions with the same
// number in flight. Prints a Markdown table of every round and the best of
// each column.
//
// Usage: pond_bench_postgres --pg "host=... port=... user=..." [--members N] [--rounds R]
//            [--insert-sample N] [--postings N] [--in-flight N]
// --pg is a libpq keyword/value string without dbname; the role must be
// allowed to create databases.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "ingest_data.hpp"
#include "postgres_bench.hpp"
#include "storage/postgres/postgres_store.hpp"

namespace pond::bench {
namespace {

struct Options {
  std::string pg;
  int64_t members = 100'000;
  int rounds = 3;
  int64_t insert_sample = 20'000;  // one fsync per order: the whole data set would take too long
  int64_t postings = 200'000;
  int in_flight = 64;
};

// One round's rates: orders/s for the loads, postings/s for the points.
struct Round {
  double pond_ingest = 0, insert_per_order = 0, copy = 0;
  PostingRun pond_points, peer_points;
};

double Rate(double n, double seconds) { return seconds > 0 ? n / seconds : 0; }

// 123 456 as RESULTS.md writes numbers.
std::string Grouped(double v) {
  const std::string digits = std::to_string(static_cast<int64_t>(v + 0.5));
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ' ';
    out += digits[i];
  }
  return out;
}

std::string PointsCell(const PostingRun& r) {
  char text[96];
  std::snprintf(text, sizeof text, "%s — %.2f / %.2f",
                Grouped(Rate(static_cast<double>(r.applied + r.refused), r.seconds)).c_str(), r.p50_ms, r.p99_ms);
  return text;
}

double PointsRate(const PostingRun& r) { return Rate(static_cast<double>(r.applied + r.refused), r.seconds); }

void PrintRow(const char* label, const Round& r) {
  std::printf("| %s | %s | %s | %s | %.1f× | %.2f× | %s | %s | **%.1f×** |\n", label, Grouped(r.pond_ingest).c_str(),
              Grouped(r.insert_per_order).c_str(), Grouped(r.copy).c_str(), r.pond_ingest / r.insert_per_order,
              r.pond_ingest / r.copy, PointsCell(r.pond_points).c_str(), PointsCell(r.peer_points).c_str(),
              PointsRate(r.pond_points) / PointsRate(r.peer_points));
}

template <typename F>
Result<double> Timed(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(f());
  return SecondsSince(start);
}

Result<Round> RunRound(const Options& o, int number, const IngestDataSet& data, const std::vector<OrderRow>& sample) {
  const std::string database = "pond_bench_r" + std::to_string(number);
  const std::string conninfo = WithDatabase(o.pg, database);
  RETURN_IF_ERROR(DropDatabase(o.pg, database));
  RETURN_IF_ERROR(CreateDatabase(o.pg, database));
  Round round;

  // a. Pond's full processing onto its PostgreSQL backend.
  ASSIGN_OR_RETURN(std::unique_ptr<PondOnPostgres> pond, PondOnPostgres::Open(conninfo));
  RETURN_IF_ERROR(Checkpoint(o.pg));
  const CpuSeconds cpu0 = ProcessCpu();
  const auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(const IngestResult ingested, pond->Ingest(data.chunks));
  const double ingest_seconds = SecondsSince(start);
  const CpuSeconds cpu1 = ProcessCpu();
  if (!ingested.rejected.empty()) return Internal("Pond rejected lines of the demo data set");
  const auto orders = static_cast<double>(data.rows.size());
  round.pond_ingest = Rate(orders, ingest_seconds);
  std::printf(
      "round %d  pond ingest        %9.0f orders/s  %.2f s, %lld events; %s; Pond's cpu user %.1f s sys %.1f s\n",
      number, round.pond_ingest, ingest_seconds, static_cast<long long>(ingested.accepted),
      pond->CommitSummary().c_str(), cpu1.user - cpu0.user, cpu1.sys - cpu0.sys);

  // b. The same order rows, one INSERT transaction per order (a sample).
  RETURN_IF_ERROR(Checkpoint(o.pg));
  ASSIGN_OR_RETURN(const double insert_seconds, Timed([&] {
                     return RawPostgresLoadOrders(conninfo, "raw_insert", sample, RawLoad::kInsertPerOrder, 1);
                   }));
  round.insert_per_order = Rate(static_cast<double>(sample.size()), insert_seconds);
  std::printf("round %d  INSERT per order   %9.0f orders/s  %.2f s for the first %zu orders\n", number,
              round.insert_per_order, insert_seconds, sample.size());

  // c. The same order rows by COPY, 10 000 a transaction.
  RETURN_IF_ERROR(Checkpoint(o.pg));
  ASSIGN_OR_RETURN(const double copy_seconds, Timed([&] {
                     return RawPostgresLoadOrders(conninfo, "raw_copy", data.rows, RawLoad::kCopy, kIngestChunkLines);
                   }));
  round.copy = Rate(orders, copy_seconds);
  std::printf("round %d  COPY               %9.0f orders/s  %.2f s\n", number, round.copy, copy_seconds);

  // d. Points postings: the same list on both sides, from the same balances.
  // The sides take turns going first, round by round.
  const std::vector<std::pair<int64_t, int64_t>> balances = pond->Balances();
  std::vector<int64_t> members;
  for (const auto& [member, points] : balances) members.push_back(member);
  const std::vector<Posting> postings = BuildPostings(members, o.postings);
  RETURN_IF_ERROR(SetUpPointsPeer(conninfo, balances));
  for (const bool pond_turn : {number % 2 == 1, number % 2 == 0}) {
    RETURN_IF_ERROR(Checkpoint(o.pg));
    if (pond_turn) {
      ASSIGN_OR_RETURN(round.pond_points, pond->Post(postings, o.in_flight));
      std::printf("round %d  pond points        %9.0f postings/s  %.2f s, %lld applied, %lld refused; %s\n", number,
                  PointsRate(round.pond_points), round.pond_points.seconds,
                  static_cast<long long>(round.pond_points.applied), static_cast<long long>(round.pond_points.refused),
                  pond->CommitSummary().c_str());
    } else {
      ASSIGN_OR_RETURN(round.peer_points, RunPointsPeer(conninfo, postings, o.in_flight));
      std::printf("round %d  SQL points         %9.0f postings/s  %.2f s, %lld applied, %lld refused\n", number,
                  PointsRate(round.peer_points), round.peer_points.seconds,
                  static_cast<long long>(round.peer_points.applied), static_cast<long long>(round.peer_points.refused));
    }
    std::fflush(stdout);
  }
  // Every acknowledged posting is in the database, and nothing else: the
  // journal rows the postings wrote, on each side.
  // Pond's: loyalty rows (kind 103) whose payload holds the postings' note
  // or redemption id.
  ASSIGN_OR_RETURN(const int64_t pond_rows,
                   QueryCount(conninfo,
                              "SELECT count(*) FROM tenant_bench.journal WHERE kind = 103 AND "
                              "(position(convert_to('bench adjustment', 'UTF8') in payload) > 0 OR "
                              "position(convert_to('bench-', 'UTF8') in payload) > 0)"));
  ASSIGN_OR_RETURN(const int64_t peer_rows, QueryCount(conninfo, "SELECT count(*) FROM points_peer.points_journal"));
  if (pond_rows != round.pond_points.applied || peer_rows != round.peer_points.applied) {
    return Internal("journal rows differ from acknowledged postings: Pond " + std::to_string(pond_rows) + " of " +
                    std::to_string(round.pond_points.applied) + ", SQL " + std::to_string(peer_rows) + " of " +
                    std::to_string(round.peer_points.applied));
  }
  std::printf("round %d  checked: the journals hold exactly the acknowledged postings (%lld and %lld rows)\n", number,
              static_cast<long long>(pond_rows), static_cast<long long>(peer_rows));
  pond.reset();
  RETURN_IF_ERROR(DropDatabase(o.pg, database));
  return round;
}

int Run(const Options& o) {
  if (Status s = CheckDurable(WithDatabase(o.pg, "postgres")); !s.ok()) {
    return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
  }
  Result<std::string> server = DescribeServer(WithDatabase(o.pg, "postgres"));
  if (!server.ok()) return std::fprintf(stderr, "%s\n", server.status().ToString().c_str()), 1;
  const IngestDataSet data = BuildIngestDataSet(o.members);
  const std::vector<OrderRow> sample(data.rows.begin(),
                                     data.rows.begin() + std::min<int64_t>(o.insert_sample, std::ssize(data.rows)));
  std::printf("server: %s\n", server->c_str());
  std::printf("data set: %lld members, %zu orders, %lld events (pond demo --seed 1); %lld postings, %d in flight\n",
              static_cast<long long>(o.members), data.rows.size(), static_cast<long long>(data.events),
              static_cast<long long>(o.postings), o.in_flight);
  std::fflush(stdout);

  std::vector<Round> rounds;
  for (int number = 1; number <= o.rounds; ++number) {
    Result<Round> round = RunRound(o, number, data, sample);
    if (!round.ok()) return std::fprintf(stderr, "round %d: %s\n", number, round.status().ToString().c_str()), 1;
    rounds.push_back(*round);
  }

  Round best;
  for (const Round& r : rounds) {
    best.pond_ingest = std::max(best.pond_ingest, r.pond_ingest);
    best.insert_per_order = std::max(best.insert_per_order, r.insert_per_order);
    best.copy = std::max(best.copy, r.copy);
    if (PointsRate(r.pond_points) > PointsRate(best.pond_points)) best.pond_points = r.pond_points;
    if (PointsRate(r.peer_points) > PointsRate(best.peer_points)) best.peer_points = r.peer_points;
  }
  std::printf(
      "\norders/s for the loads; postings/s — p50 / p99 ms for the points (%d in flight: Pond's commands, the "
      "peer's connections)\n\n",
      o.in_flight);
  std::printf(
      "| round | Pond ingest | INSERT per order | COPY | Pond ÷ INSERT | Pond ÷ COPY | Pond points | SQL per-row "
      "points | Pond ÷ SQL |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (size_t i = 0; i < rounds.size(); ++i) PrintRow(std::to_string(i + 1).c_str(), rounds[i]);
  PrintRow("best", best);
  std::printf("\ntarget: points Pond ÷ SQL per-row >= 10×\n");
  return 0;
}

}  // namespace
}  // namespace pond::bench

int main(int argc, char** argv) {
  pond::bench::Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--pg")) o.pg = argv[i + 1];
    if (!std::strcmp(argv[i], "--members")) o.members = std::stoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--rounds")) o.rounds = std::max(1, std::stoi(argv[i + 1]));
    if (!std::strcmp(argv[i], "--insert-sample")) o.insert_sample = std::max(1LL, std::stoll(argv[i + 1]));
    if (!std::strcmp(argv[i], "--postings")) o.postings = std::max(2LL, std::stoll(argv[i + 1]));
    if (!std::strcmp(argv[i], "--in-flight")) o.in_flight = std::max(1, std::stoi(argv[i + 1]));
  }
  if (o.pg.empty()) {
    std::fprintf(stderr,
                 "usage: pond_bench_postgres --pg \"host=... port=... user=...\" [--members N] [--rounds R]\n"
                 "           [--insert-sample N] [--postings N] [--in-flight N]\n");
    return 2;
  }
  return pond::bench::Run(o);
}
