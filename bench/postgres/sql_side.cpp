// The SQL side of bench/postgres through libpq: the cluster's
// administration and the points peer, a loyalty service's usual
// transaction per posting. (The ingest peers are in raw_load.cpp.)
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <latch>
#include <thread>
#include <tuple>

#include "ingest_data.hpp"
#include "postgres_bench.hpp"

namespace pond::bench {
namespace {

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnCloser>;
struct ResultCloser {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Res = std::unique_ptr<PGresult, ResultCloser>;

Status Failed(PGconn* c, std::string_view what) {
  std::string message = std::string(what) + ": " + PQerrorMessage(c);
  while (!message.empty() && message.back() == '\n') message.pop_back();
  return Internal(message);
}

Result<Conn> Connect(const std::string& conninfo) {
  Conn c(PQconnectdb(conninfo.c_str()));
  if (PQstatus(c.get()) != CONNECTION_OK) return Unavailable(std::string("connect: ") + PQerrorMessage(c.get()));
  PQsetNoticeProcessor(
      c.get(), [](void*, const char*) {}, nullptr);  // "does not exist, skipping"
  return c;
}

// Runs SQL without parameters and wants no rows back.
Status Run(PGconn* c, const std::string& sql) {
  Res r(PQexec(c, sql.c_str()));
  const ExecStatusType s = PQresultStatus(r.get());
  if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) return Failed(c, sql.substr(0, 60));
  return Status::Ok();
}

Result<std::string> Show(PGconn* c, const char* setting) {
  Res r(PQexec(c, ("SHOW " + std::string(setting)).c_str()));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) != 1) return Failed(c, setting);
  return std::string(PQgetvalue(r.get(), 0, 0));
}

constexpr const char* kDurability[] = {"fsync", "synchronous_commit", "full_page_writes"};

constexpr const char* kPeerSchema = R"sql(
CREATE SCHEMA points_peer;
SET search_path = points_peer;
CREATE TABLE balances(
  member_id bigint PRIMARY KEY,
  points    bigint NOT NULL
);
CREATE TABLE points_journal(
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  member_id     bigint NOT NULL,
  kind          smallint NOT NULL,   -- 1 adjustment, 2 redemption
  points        bigint NOT NULL,     -- change of the balance
  at            timestamptz NOT NULL,
  redemption_id text UNIQUE,         -- makes a redemption idempotent, as Pond's is
  reason        text
);
)sql";

// A redemption passes the balance through `points + $2 >= 0`; 0 rows
// updated means the balance did not cover it.
constexpr const char* kUpdateBalance =
    "UPDATE points_peer.balances SET points = points + $2 WHERE member_id = $1 AND points + $2 >= 0";
constexpr const char* kInsertJournal =
    "INSERT INTO points_peer.points_journal(member_id, kind, points, at, redemption_id, reason) "
    "VALUES($1, $2, $3, now(), $4, $5)";

// One connection's loop: takes the next posting until none is left.
class PeerWorker {
 public:
  PeerWorker(const std::vector<Posting>& postings, std::atomic<int64_t>& next, std::vector<int32_t>& micros)
      : postings_(postings), next_(next), micros_(micros) {}

  // Connects and prepares the statements, as a service's pool has done
  // before its first request.
  Status Open(const std::string& conninfo) {
    ASSIGN_OR_RETURN(conn_, Connect(conninfo));
    for (const auto& [name, sql, params] :
         {std::tuple{"update_balance", kUpdateBalance, 2}, std::tuple{"insert_journal", kInsertJournal, 5}}) {
      Res r(PQprepare(conn_.get(), name, sql, params, nullptr));
      if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) return Failed(conn_.get(), name);
    }
    return Status::Ok();
  }

  Status Run() {
    for (int64_t i = next_.fetch_add(1); i < static_cast<int64_t>(postings_.size()); i = next_.fetch_add(1)) {
      const auto start = std::chrono::steady_clock::now();
      RETURN_IF_ERROR(Post(i));
      micros_[static_cast<size_t>(i)] = static_cast<int32_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count());
    }
    return Status::Ok();
  }

  int64_t applied() const { return applied_; }
  int64_t refused() const { return refused_; }

 private:
  bool Exec(const char* statement, std::initializer_list<const char*> values, Res& out) {
    out.reset(
        PQexecPrepared(conn_.get(), statement, static_cast<int>(values.size()), values.begin(), nullptr, nullptr, 0));
    return PQresultStatus(out.get()) == PGRES_COMMAND_OK;
  }

  Status Post(int64_t i) {
    const Posting& p = postings_[static_cast<size_t>(i)];
    const std::string member = std::to_string(p.member);
    const std::string change = std::to_string(p.redeem ? -p.points : p.points);
    const std::string id = RedemptionId(i);
    RETURN_IF_ERROR(bench::Run(conn_.get(), "BEGIN"));
    Res r;
    if (!Exec("update_balance", {member.c_str(), change.c_str()}, r)) return Failed(conn_.get(), "update balance");
    if (std::strcmp(PQcmdTuples(r.get()), "1") != 0) {
      ++refused_;
      return bench::Run(conn_.get(), "ROLLBACK");
    }
    if (!Exec("insert_journal",
              {member.c_str(), p.redeem ? "2" : "1", change.c_str(), p.redeem ? id.c_str() : nullptr,
               p.redeem ? nullptr : "bench adjustment"},
              r)) {
      return Failed(conn_.get(), "insert journal");
    }
    RETURN_IF_ERROR(bench::Run(conn_.get(), "COMMIT"));
    ++applied_;
    return Status::Ok();
  }

  const std::vector<Posting>& postings_;
  std::atomic<int64_t>& next_;
  std::vector<int32_t>& micros_;
  Conn conn_;
  int64_t applied_ = 0, refused_ = 0;
};

}  // namespace

std::string WithDatabase(const std::string& base, const std::string& database) { return base + " dbname=" + database; }

Result<std::string> DescribeServer(const std::string& conninfo) {
  ASSIGN_OR_RETURN(Conn c, Connect(conninfo));
  std::string out = "PostgreSQL " + std::to_string(PQserverVersion(c.get()) / 10000) + "." +
                    std::to_string(PQserverVersion(c.get()) % 10000);
  for (const char* setting : {"fsync", "synchronous_commit", "full_page_writes", "wal_sync_method", "shared_buffers",
                              "max_wal_size", "commit_delay"}) {
    ASSIGN_OR_RETURN(std::string value, Show(c.get(), setting));
    out += std::string(", ") + setting + "=" + value;
  }
  return out;
}

Status CheckDurable(const std::string& conninfo) {
  ASSIGN_OR_RETURN(Conn c, Connect(conninfo));
  for (const char* setting : kDurability) {
    ASSIGN_OR_RETURN(std::string value, Show(c.get(), setting));
    if (value != "on") return FailedPrecondition(std::string(setting) + " is " + value + "; the benchmark needs it on");
  }
  return Status::Ok();
}

Status CreateDatabase(const std::string& base, const std::string& name) {
  ASSIGN_OR_RETURN(Conn c, Connect(WithDatabase(base, "postgres")));
  return Run(c.get(), "CREATE DATABASE " + name);
}

Status DropDatabase(const std::string& base, const std::string& name) {
  ASSIGN_OR_RETURN(Conn c, Connect(WithDatabase(base, "postgres")));
  return Run(c.get(), "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
}

Status Checkpoint(const std::string& base) {
  ASSIGN_OR_RETURN(Conn c, Connect(WithDatabase(base, "postgres")));
  return Run(c.get(), "CHECKPOINT");
}

Result<int64_t> QueryCount(const std::string& conninfo, const std::string& select) {
  ASSIGN_OR_RETURN(Conn c, Connect(conninfo));
  Res r(PQexec(c.get(), select.c_str()));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) != 1) return Failed(c.get(), select);
  return std::stoll(PQgetvalue(r.get(), 0, 0));
}

Status SetUpPointsPeer(const std::string& conninfo, const std::vector<std::pair<int64_t, int64_t>>& balances) {
  ASSIGN_OR_RETURN(Conn c, Connect(conninfo));
  RETURN_IF_ERROR(Run(c.get(), kPeerSchema));
  Res copy(PQexec(c.get(), "COPY points_peer.balances(member_id, points) FROM STDIN"));
  if (PQresultStatus(copy.get()) != PGRES_COPY_IN) return Failed(c.get(), "copy balances");
  std::string data;
  for (const auto& [member, points] : balances) data += std::to_string(member) + '\t' + std::to_string(points) + '\n';
  if (PQputCopyData(c.get(), data.data(), static_cast<int>(data.size())) != 1 || PQputCopyEnd(c.get(), nullptr) != 1) {
    return Failed(c.get(), "copy balances");
  }
  Res done(PQgetResult(c.get()));
  if (PQresultStatus(done.get()) != PGRES_COMMAND_OK) return Failed(c.get(), "copy balances");
  return Run(c.get(), "VACUUM ANALYZE points_peer.balances");
}

Result<PostingRun> RunPointsPeer(const std::string& conninfo, const std::vector<Posting>& postings, int connections) {
  std::atomic<int64_t> next{0};
  std::vector<int32_t> micros(postings.size());
  std::vector<PeerWorker> workers;
  workers.reserve(static_cast<size_t>(connections));
  for (int i = 0; i < connections; ++i) workers.emplace_back(postings, next, micros);
  std::vector<Status> results(workers.size());
  // The clock starts once every connection is open.
  std::latch opened(connections), start(1);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < workers.size(); ++i) {
    threads.emplace_back([&, i] {
      results[i] = workers[i].Open(conninfo);
      opened.count_down();
      start.wait();
      if (results[i].ok()) results[i] = workers[i].Run();
    });
  }
  opened.wait();
  const auto began = std::chrono::steady_clock::now();
  start.count_down();
  for (std::thread& t : threads) t.join();
  PostingRun run;
  run.seconds = SecondsSince(began);
  for (size_t i = 0; i < workers.size(); ++i) {
    RETURN_IF_ERROR(results[i]);
    run.applied += workers[i].applied();
    run.refused += workers[i].refused();
  }
  SetLatencies(micros, run);
  return run;
}

}  // namespace pond::bench
