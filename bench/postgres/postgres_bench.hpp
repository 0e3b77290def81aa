// bench/postgres: Pond on its PostgreSQL backend beside plain SQL on the same
// PostgreSQL cluster, in the same run on the same data
// (bench/postgres/README.md). Two workloads:
//
//   ingest  the demo data set through Pond's full processing onto
//           OpenPostgresStore, against its order rows written one INSERT
//           transaction per order and by COPY (RawPostgresLoadOrders);
//   points  concurrent point adjustments and redemptions through Pond's
//           engine, against a loyalty service's usual transaction per
//           posting (UPDATE the balance, INSERT a journal row, COMMIT) on
//           as many connections as Pond has postings in flight.
//
// The pieces: pond_side.cpp drives Pond's engine, sql_side.cpp speaks libpq
// for the points peer and the cluster's administration, raw_load.cpp writes
// the ingest peers, postings.cpp builds
// the points workload, postgres_benchmark.cpp runs the rounds and prints.
// Thread-safety: each function runs on the caller's thread and the threads
// it starts itself.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "engine/engine.hpp"
#include "engine/ingest.hpp"
#include "journal/rows.hpp"

namespace pond::bench {

// --- the ingest peers (raw_load.cpp) -------------------------------------

// Writes the order rows as the journal rows Pond stores for them
// (journal/codec.hpp) into a fresh `<schema>.journal` with the backend's
// journal table, either one INSERT transaction per order or by COPY in
// transactions of `batch_size` rows. AlreadyExists when the schema exists.
enum class RawLoad { kInsertPerOrder, kCopy };
Status RawPostgresLoadOrders(const std::string& url, const std::string& schema, const std::vector<OrderRow>& rows,
                             RawLoad how, size_t batch_size);

// --- the points workload (postings.cpp) --------------------------------

struct Posting {
  int64_t member = 0;   // a standing member's id, the same on both sides
  int64_t points = 0;   // > 0
  bool redeem = false;  // spend `points` (refused when the balance is short), else add them
};

// `count` postings spread over `members` by a fixed seed: alternately an
// adjustment adding a few points and a redemption spending a few, so that
// most redemptions are covered and balances stay bounded.
std::vector<Posting> BuildPostings(const std::vector<int64_t>& members, int64_t count);

// The redemption id of posting `index`: each redemption is a new one.
std::string RedemptionId(int64_t index);

// One side's run of the postings.
struct PostingRun {
  double seconds = 0;
  int64_t applied = 0;            // durable and acknowledged
  int64_t refused = 0;            // a redemption the balance did not cover (answered, nothing written)
  double p50_ms = 0, p99_ms = 0;  // from sending a posting to its acknowledgement
};

// Nearest-rank p50 and p99 of `micros` (sorted in place) into `run`.
void SetLatencies(std::vector<int32_t>& micros, PostingRun& run);

// --- Pond on PostgreSQL (pond_side.cpp) --------------------------------

// One Pond node on a PostgreSQL database, serving tenant "bench".
class PondOnPostgres {
 public:
  // Opens the store at `conninfo` (a fresh database) and creates the tenant.
  static Result<std::unique_ptr<PondOnPostgres>> Open(const std::string& conninfo);
  ~PondOnPostgres();

  // `pond import` of the chunks (bench/ingest_data.hpp).
  Result<IngestResult> Ingest(const std::vector<std::string>& chunks);
  // Every standing member with its points balance, by id.
  std::vector<std::pair<int64_t, int64_t>> Balances() const;
  // Posts `postings` through TenantEngine::Submit, `in_flight` at a time;
  // each counts when its `done` reports the commit OK.
  Result<PostingRun> Post(const std::vector<Posting>& postings, int in_flight);
  // "commits N, mean group G, commit M ms" since the last call.
  std::string CommitSummary();

 private:
  explicit PondOnPostgres(std::unique_ptr<Store> store);

  std::unique_ptr<Store> store_;
  SystemClock clock_;
  std::unique_ptr<Engine> engine_;
  int64_t seen_commits_ = 0, seen_commands_ = 0, seen_commit_micros_ = 0;
};

// --- plain SQL on PostgreSQL (sql_side.cpp) ----------------------------

// `base` is a libpq keyword/value connection string without dbname.
std::string WithDatabase(const std::string& base, const std::string& database);

// The server's version and the settings that decide durability and speed,
// for the report; Unavailable when it cannot be reached.
Result<std::string> DescribeServer(const std::string& conninfo);
// FailedPrecondition unless fsync, synchronous_commit and full_page_writes
// are all on: a benchmark of durable writes must not run without them.
Status CheckDurable(const std::string& conninfo);

// CREATE DATABASE / DROP DATABASE IF EXISTS through the `postgres` database.
Status CreateDatabase(const std::string& base, const std::string& name);
Status DropDatabase(const std::string& base, const std::string& name);
// CHECKPOINT, so that no phase pays for flushing what the one before wrote.
Status Checkpoint(const std::string& base);

// The one number `select` answers (a count), to check what each side wrote.
Result<int64_t> QueryCount(const std::string& conninfo, const std::string& select);

// Creates the peer's tables in schema `points_peer` and copies the balances in:
//   balances(member_id bigint PRIMARY KEY, points bigint NOT NULL)
//   points_journal(id identity PRIMARY KEY, member_id, kind, points, at,
//                  redemption_id text UNIQUE, reason text)
Status SetUpPointsPeer(const std::string& conninfo, const std::vector<std::pair<int64_t, int64_t>>& balances);
// Runs the postings on `connections` connections, one thread each; per
// posting BEGIN, UPDATE balances (a redemption only while the balance
// covers it), INSERT the journal row, COMMIT (prepared statements).
Result<PostingRun> RunPointsPeer(const std::string& conninfo, const std::vector<Posting>& postings, int connections);

}  // namespace pond::bench
