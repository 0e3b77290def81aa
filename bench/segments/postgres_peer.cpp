// PostgreSQL's side of bench/segments: a private cluster under
// <dir>/pg (initdb'd once per data set and reused), started for the run on
// a unix socket only (listen_addresses=''), stopped when the run ends,
// failed or not.
//
// Schema choices (PostgreSQL combines indexes with bitmap scans, decorrelates
// EXISTS into semi/anti joins and reads covering indexes without the heap
// after VACUUM):
//   members            primary key member_id; a b-tree per attribute a
//                      question filters on.
//   orders             heap in member order; (member_id, day) INCLUDE
//                      (net_fen) for a member's window, and (day) INCLUDE
//                      (member_id, net_fen, units, weekend) for window scans.
//   order_categories   the item categories with their ancestors and the
//                      order's member, day and net: (member_id, category,
//                      day) INCLUDE (net_fen) and (category, day) INCLUDE
//                      (member_id, net_fen).
//   member_tags        primary key (tag, member_id).
// Settings: shared_buffers ~400 bytes a member (128 MB..4 GB), work_mem
// 256 MB, default parallel workers; durability off (fsync, WAL minimal)
// because the cluster is rebuilt from the files, which does not change
// query plans.
#include "segments_bench.hpp"

#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace pond::bench {
namespace {

// Runs a shell command, as the postgres user when we are root (the server
// refuses to run as root).
Status Shell(const std::string& command) {
  const std::string full = geteuid() == 0 ? "runuser -u postgres -- " + command : command;
  if (std::system(full.c_str()) != 0) return Internal("failed: " + full);
  return Status::Ok();
}

class Cluster {
 public:
  Cluster(std::string pg_bin, std::string root) : bin_(std::move(pg_bin)), root_(std::move(root)) {}
  ~Cluster() { Stop(); }

  std::string data() const { return root_ + "/data"; }

  Status Init() {
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
    if (geteuid() == 0 && std::system(("chown postgres " + root_).c_str()) != 0) {
      return Internal("cannot hand " + root_ + " to the postgres user");
    }
    return Shell(bin_ + "/initdb -D " + data() + " -U postgres -A trust -E UTF8 --locale=C -N >" + root_ +
                 "/initdb.log 2>&1");
  }

  Status Start(int64_t members) {
    const int64_t shared_mb = std::clamp<int64_t>(members * 400 / (1 << 20), 128, 4096);
    const std::string settings = "-c listen_addresses='' -c unix_socket_directories='" + root_ +
                                 "' -c shared_buffers=" + std::to_string(shared_mb) +
                                 "MB -c work_mem=256MB -c maintenance_work_mem=1GB -c effective_cache_size=12GB "
                                 "-c random_page_cost=1.1 -c max_wal_size=16GB -c wal_level=minimal "
                                 "-c max_wal_senders=0 -c fsync=off -c synchronous_commit=off "
                                 "-c full_page_writes=off";
    RETURN_IF_ERROR(Shell(bin_ + "/pg_ctl -D " + data() + " -l " + root_ + "/server.log -w -t 300 -o \"" +
                          settings + "\" start >/dev/null"));
    started_ = true;
    return Status::Ok();
  }

  void Stop() {
    if (!started_) return;
    started_ = false;
    (void)Shell(bin_ + "/pg_ctl -D " + data() + " -m fast -w stop >/dev/null");
  }

  std::string conninfo() const { return "host=" + root_ + " dbname=postgres user=postgres"; }

 private:
  std::string bin_, root_;
  bool started_ = false;
};

Status Exec(PGconn* pg, const std::string& sql) {
  PGresult* r = PQexec(pg, sql.c_str());
  const ExecStatusType st = PQresultStatus(r);
  Status s = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK
                 ? Status::Ok()
                 : Internal(std::string("postgres: ") + PQresultErrorMessage(r) + " in: " + sql.substr(0, 200));
  PQclear(r);
  return s;
}

// COPY FROM STDIN: the client streams the file, so the server needs no
// access to it.
Status Copy(PGconn* pg, const std::string& file, const std::string& table, const std::string& columns) {
  PGresult* r = PQexec(pg, ("COPY " + table + " (" + columns + ") FROM STDIN (FORMAT csv, HEADER true)").c_str());
  const bool copying = PQresultStatus(r) == PGRES_COPY_IN;
  PQclear(r);
  if (!copying) return Internal(std::string("postgres: COPY ") + table + ": " + PQerrorMessage(pg));
  std::ifstream in(file, std::ios::binary);
  if (!in) return NotFound("cannot open " + file);
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() > 0 && PQputCopyData(pg, buffer.data(), static_cast<int>(in.gcount())) != 1) {
      return Internal(std::string("postgres: COPY data: ") + PQerrorMessage(pg));
    }
  }
  if (PQputCopyEnd(pg, nullptr) != 1) return Internal(std::string("postgres: COPY end: ") + PQerrorMessage(pg));
  Status s = Status::Ok();
  while (PGresult* done = PQgetResult(pg)) {
    if (PQresultStatus(done) != PGRES_COMMAND_OK) s = Internal(std::string("postgres: COPY ") + table + ": " +
                                                                PQresultErrorMessage(done));
    PQclear(done);
  }
  return s;
}

Status Load(PGconn* pg, const std::string& dir) {
  // Each table is created and filled in one transaction: with wal_level
  // minimal the COPY then skips the WAL.
  RETURN_IF_ERROR(Exec(pg, R"(BEGIN;
    CREATE TABLE members (member_id bigint, tier text, lifecycle text, gender text, city text, home_store text,
      source text, owner_staff text, rfm text, points bigint, growth bigint, registered_day integer,
      birthday_day integer, birth_year integer, birth_month integer, birth_day integer))"));
  RETURN_IF_ERROR(Copy(pg, dir + "/members.csv", "members",
                       "member_id,tier,lifecycle,gender,city,home_store,source,owner_staff,rfm,points,growth,"
                       "registered_day,birthday_day,birth_year,birth_month,birth_day"));
  RETURN_IF_ERROR(Exec(pg, R"(COMMIT; BEGIN;
    CREATE TABLE orders (order_pos integer, member_id bigint, day integer, net_fen bigint, units integer,
      weekend integer))"));
  RETURN_IF_ERROR(Copy(pg, dir + "/orders.csv", "orders", "order_pos,member_id,day,net_fen,units,weekend"));
  RETURN_IF_ERROR(Exec(pg, R"(COMMIT; BEGIN;
    CREATE TABLE order_categories (order_pos integer, member_id bigint, day integer, net_fen bigint, category text,
      ancestor integer))"));
  RETURN_IF_ERROR(Copy(pg, dir + "/order_categories.csv", "order_categories",
                       "order_pos,member_id,day,net_fen,category,ancestor"));
  RETURN_IF_ERROR(Exec(pg, "COMMIT; BEGIN; CREATE TABLE member_tags (member_id bigint, tag text)"));
  RETURN_IF_ERROR(Copy(pg, dir + "/member_tags.csv", "member_tags", "member_id,tag"));
  RETURN_IF_ERROR(Exec(pg, "COMMIT"));
  RETURN_IF_ERROR(Exec(pg, R"(
    ALTER TABLE members ADD PRIMARY KEY (member_id);
    CREATE INDEX ON members (tier);
    CREATE INDEX ON members (lifecycle);
    CREATE INDEX ON members (city);
    CREATE INDEX ON members (home_store);
    CREATE INDEX ON members (source);
    CREATE INDEX ON members (owner_staff);
    CREATE INDEX ON members (rfm);
    CREATE INDEX ON members (points);
    CREATE INDEX ON members (registered_day);
    CREATE INDEX ON members (birthday_day);
    CREATE INDEX ON members (birth_month);
    CREATE INDEX ON orders (member_id, day) INCLUDE (net_fen);
    CREATE INDEX ON orders (day) INCLUDE (member_id, net_fen, units, weekend);
    CREATE INDEX ON order_categories (member_id, category, day) INCLUDE (net_fen);
    CREATE INDEX ON order_categories (category, day) INCLUDE (member_id, net_fen);
    ALTER TABLE member_tags ADD PRIMARY KEY (tag, member_id);
  )"));
  return Exec(pg, "VACUUM ANALYZE");  // not inside the implicit transaction of a multi-statement query
}

Result<int64_t> Count(PGconn* pg, const std::string& sql) {
  PGresult* r = PQexec(pg, sql.c_str());
  Result<int64_t> n = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
                          ? Result<int64_t>(std::stoll(PQgetvalue(r, 0, 0)))
                          : Result<int64_t>(Internal(std::string("postgres: ") + PQresultErrorMessage(r)));
  PQclear(r);
  return n;
}

}  // namespace

Status RunPostgres(const RunOptions& options, const DataMeta& meta, const std::vector<Question>& suite,
                   SystemResult* out) {
  out->system = "postgres";
  const std::string root = std::filesystem::absolute(options.dir + "/pg").string();
  const std::string marker = root + "/loaded";
  Cluster cluster(options.pg_bin, root);
  const bool load = options.reload || !std::filesystem::exists(marker);
  if (load) RETURN_IF_ERROR(cluster.Init());
  RETURN_IF_ERROR(cluster.Start(meta.members));
  PGconn* pg = PQconnectdb(cluster.conninfo().c_str());
  if (PQstatus(pg) != CONNECTION_OK) {
    Status s = Unavailable(std::string("postgres: ") + PQerrorMessage(pg));
    PQfinish(pg);
    return s;
  }
  Status status = Status::Ok();
  if (load) {
    const int64_t start = NowNanos();
    status = Load(pg, options.dir);
    if (status.ok()) std::ofstream(marker) << SecondsSince(start) << "\n";
  }
  if (status.ok()) {
    std::ifstream seconds(marker);
    double s = 0;
    seconds >> s;
    PGresult* r = PQexec(pg, "SELECT current_setting('server_version'), pg_database_size('postgres'), "
                             "current_setting('shared_buffers'), current_setting('max_parallel_workers_per_gather')");
    char text[256];
    std::snprintf(text, sizeof text,
                  "postgres %s: loaded, indexed and vacuumed in %.0f s, database %.2f GB, shared_buffers %s, "
                  "parallel workers per gather %s",
                  PQgetvalue(r, 0, 0), s, std::stod(PQgetvalue(r, 0, 1)) / 1e9, PQgetvalue(r, 0, 2),
                  PQgetvalue(r, 0, 3));
    PQclear(r);
    out->notes = text;
    const RepeatPolicy policy{.warmups = 1, .max_runs = options.repeat, .min_runs = 3, .budget_seconds = 10};
    for (const Question& q : suite) {
      out->timings.push_back(TimeQuestion([&]() { return Count(pg, q.sql); }, policy));
      std::fprintf(stderr, "postgres: %s %.1f ms\n", q.name.c_str(), out->timings.back().p50_ms);
    }
  }
  PQfinish(pg);
  cluster.Stop();
  return status;
}

}  // namespace pond::bench
