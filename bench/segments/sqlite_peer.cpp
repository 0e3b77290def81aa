// SQLite's side of bench/segments: the exported files loaded into a fresh
// database file (kept in the data directory and reused until the data set
// changes), then the suite's SQL timed on one connection.
//
// Schema choices (SQLite uses one index per table in a query, so each
// table is laid out for the way the questions reach it):
//   members            rowid = member_id; one index per attribute a
//                      question filters on, ANALYZE picks the most selective.
//   orders             WITHOUT ROWID, keyed (member_id, day, order_pos): a
//                      member's orders in a window are one range of the
//                      table itself, and a scan of the whole table comes in
//                      member order for GROUP BY member_id.
//   order_categories   the item categories with their ancestors, the
//                      order's member, day and net repeated; covering
//                      indexes (member_id, category, day, net_fen) for the
//                      per-member EXISTS and (category, day, member_id,
//                      net_fen) for a scan of one category's window.
//   member_tags        WITHOUT ROWID, keyed (tag, member_id).
// Load: journal off, synchronous off, one transaction, indexes built after
// the rows. Queries: 2 GB page cache and the file memory-mapped.
#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include "segments_bench.hpp"

namespace pond::bench {
namespace {

Status SqliteError(sqlite3* db, std::string_view what) {
  return Internal(std::string(what) + ": " + sqlite3_errmsg(db));
}

Status Exec(sqlite3* db, const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "?";
    sqlite3_free(message);
    return Internal("sqlite: " + text + " in: " + sql.substr(0, 200));
  }
  return Status::Ok();
}

// Inserts the rows of `file` into `table`; `types` has one letter per CSV
// column: 'i' integer, 't' text (an empty field is NULL either way).
Status LoadCsv(sqlite3* db, const std::string& file, const std::string& table, const std::string& columns,
               std::string_view types) {
  std::string sql = "INSERT INTO " + table + " (" + columns + ") VALUES (";
  for (size_t i = 0; i < types.size(); ++i) sql += i ? ",?" : "?";
  sql += ")";
  sqlite3_stmt* insert = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &insert, nullptr) != SQLITE_OK) return SqliteError(db, sql);
  CsvReader csv;
  Status status = csv.Open(file);
  std::vector<std::string_view> f;
  while (status.ok() && csv.Next(&f)) {
    if (f.size() != types.size()) {
      status = InvalidArgument(file + ": a row with a wrong number of fields");
      break;
    }
    for (size_t i = 0; i < f.size(); ++i) {
      const int column = static_cast<int>(i) + 1;
      if (f[i].empty()) {
        sqlite3_bind_null(insert, column);
      } else if (types[i] == 'i') {
        sqlite3_bind_int64(insert, column, ToInt(f[i]));
      } else {
        sqlite3_bind_text(insert, column, f[i].data(), static_cast<int>(f[i].size()), SQLITE_STATIC);
      }
    }
    if (sqlite3_step(insert) != SQLITE_DONE) status = SqliteError(db, "insert into " + table);
    sqlite3_reset(insert);
  }
  sqlite3_finalize(insert);
  return status;
}

Status Load(sqlite3* db, const std::string& dir) {
  RETURN_IF_ERROR(Exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE; "
                           "PRAGMA cache_size=-2000000; PRAGMA temp_store=FILE; BEGIN"));
  RETURN_IF_ERROR(Exec(db, R"(
    CREATE TABLE members (member_id INTEGER PRIMARY KEY, tier TEXT, lifecycle TEXT, gender TEXT, city TEXT,
      home_store TEXT, source TEXT, owner_staff TEXT, rfm TEXT, points INTEGER, growth INTEGER,
      registered_day INTEGER, birthday_day INTEGER, birth_year INTEGER, birth_month INTEGER, birth_day INTEGER);
    CREATE TABLE orders (member_id INTEGER, day INTEGER, order_pos INTEGER, net_fen INTEGER, units INTEGER,
      weekend INTEGER, PRIMARY KEY (member_id, day, order_pos)) WITHOUT ROWID;
    CREATE TABLE order_categories (order_pos INTEGER, member_id INTEGER, day INTEGER, net_fen INTEGER,
      category TEXT, ancestor INTEGER);
    CREATE TABLE member_tags (tag TEXT, member_id INTEGER, PRIMARY KEY (tag, member_id)) WITHOUT ROWID;
  )"));
  RETURN_IF_ERROR(LoadCsv(db, dir + "/members.csv", "members",
                          "member_id,tier,lifecycle,gender,city,home_store,source,owner_staff,rfm,points,growth,"
                          "registered_day,birthday_day,birth_year,birth_month,birth_day",
                          "i" "tttttttt" "iiiiiii"));
  RETURN_IF_ERROR(LoadCsv(db, dir + "/orders.csv", "orders", "order_pos,member_id,day,net_fen,units,weekend",
                          "iiiiii"));
  RETURN_IF_ERROR(LoadCsv(db, dir + "/order_categories.csv", "order_categories",
                          "order_pos,member_id,day,net_fen,category,ancestor", "iiiiti"));
  RETURN_IF_ERROR(LoadCsv(db, dir + "/member_tags.csv", "member_tags", "member_id,tag", "it"));
  RETURN_IF_ERROR(Exec(db, R"(
    CREATE INDEX members_tier ON members (tier);
    CREATE INDEX members_lifecycle ON members (lifecycle);
    CREATE INDEX members_city ON members (city);
    CREATE INDEX members_home_store ON members (home_store);
    CREATE INDEX members_source ON members (source);
    CREATE INDEX members_owner_staff ON members (owner_staff);
    CREATE INDEX members_rfm ON members (rfm);
    CREATE INDEX members_points ON members (points);
    CREATE INDEX members_registered_day ON members (registered_day);
    CREATE INDEX members_birthday_day ON members (birthday_day);
    CREATE INDEX members_birth_month ON members (birth_month);
    CREATE INDEX order_categories_member ON order_categories (member_id, category, day, net_fen);
    CREATE INDEX order_categories_category ON order_categories (category, day, member_id, net_fen);
    COMMIT;
    ANALYZE;
  )"));
  return Status::Ok();
}

}  // namespace

Status RunSqlite(const RunOptions& options, const DataMeta&, const std::vector<Question>& suite,
                 SystemResult* out) {
  out->system = "sqlite";
  const std::string path = options.dir + "/sqlite.db";
  const std::string marker = options.dir + "/sqlite.loaded";
  sqlite3* db = nullptr;
  std::string load_note;
  if (options.reload || !std::filesystem::exists(marker)) {
    std::filesystem::remove(marker);
    std::filesystem::remove(path);
    const int64_t start = NowNanos();
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return SqliteError(db, "open " + path);
    Status loaded = Load(db, options.dir);
    sqlite3_close(db);
    if (!loaded.ok()) return loaded;
    std::ofstream(marker) << SecondsSince(start) << "\n";
  }
  {
    std::ifstream seconds(marker);
    double s = 0;
    seconds >> s;
    char text[160];
    std::snprintf(text, sizeof text, "sqlite %s: loaded and indexed in %.0f s, file %.2f GB", sqlite3_libversion(), s,
                  static_cast<double>(std::filesystem::file_size(path)) / 1e9);
    out->notes = text;
  }
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    return SqliteError(db, "open " + path);
  }
  Status status = Exec(db, "PRAGMA cache_size=-2000000; PRAGMA mmap_size=34359738368; PRAGMA temp_store=MEMORY");
  const RepeatPolicy policy{.warmups = 1, .max_runs = options.repeat, .min_runs = 3, .budget_seconds = 10};
  for (const Question& q : suite) {
    if (!status.ok()) break;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, q.sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      out->timings.push_back(Timing{.error = std::string("prepare: ") + sqlite3_errmsg(db)});
      continue;
    }
    out->timings.push_back(TimeQuestion(
        [&]() -> Result<int64_t> {
          const int rc = sqlite3_step(stmt);
          Result<int64_t> n = rc == SQLITE_ROW ? Result<int64_t>(sqlite3_column_int64(stmt, 0))
                                               : Result<int64_t>(SqliteError(db, "step"));
          sqlite3_reset(stmt);
          return n;
        },
        policy));
    sqlite3_finalize(stmt);
    std::fprintf(stderr, "sqlite: %s %.1f ms\n", q.name.c_str(), out->timings.back().p50_ms);
  }
  sqlite3_close(db);
  return status;
}

}  // namespace pond::bench
