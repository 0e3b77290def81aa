// libpq plumbing shared by the catalog and the tenant stores: connections,
// results, error mapping, COPY and cursors.
//
// Only libpq's opaque types are forward-declared here so that libpq-fe.h
// stays inside this module's .cpp files. A connection is used by one thread
// at a time; callers serialize.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/status.hpp"

struct pg_conn;
struct pg_result;

namespace pond::pg_internal {

struct ConnCloser {
  void operator()(pg_conn* conn) const;
};
using ConnHandle = std::unique_ptr<pg_conn, ConnCloser>;

struct ResultCloser {
  void operator()(pg_result* res) const;
};
using ResultHandle = std::unique_ptr<pg_result, ResultCloser>;

// Opens a connection to `url` (any libpq connection string or URI) and makes
// its session safe for Pond's ack rule: synchronous_commit is raised to `on`
// when the server's default is `off`, since a COMMIT that returned must
// survive a server crash. `search_path` (a quoted schema name) becomes the
// session's, when given. Unavailable when the server cannot be reached.
Result<ConnHandle> Connect(const std::string& url, std::string_view search_path = {});

// Whether the connection is gone (the server restarted, the network broke):
// the caller reconnects.
bool Broken(pg_conn* conn);

// Maps a failure to a Status. Lost connections, servers shutting down or
// starting (SQLSTATE classes 08, 57P), resource trouble (53) and
// serialization failures or deadlocks (40001, 40P01) are Unavailable:
// retrying is safe. A unique violation (23505) is AlreadyExists; a value
// PostgreSQL refuses (class 22, such as a NUL byte in text) is
// InvalidArgument; anything else is Internal. The message is
// "<action> <table>: <server's message>" and carries table=<table> and the
// SQLSTATE. `res` may be null (the failure is then the connection's).
Status PgStatus(pg_conn* conn, pg_result* res, std::string_view action, std::string_view table);

// Rows of a result in text format, with typed readers.
class Rows {
 public:
  explicit Rows(ResultHandle res);
  int size() const { return size_; }
  bool IsNull(int row, int col) const;
  std::string_view Text(int row, int col) const;
  std::string Str(int row, int col) const { return std::string(Text(row, col)); }
  // Integers and floats as PostgreSQL prints them; a value that does not
  // parse reads as 0 and marks the rows `bad`, which callers report.
  int64_t Int(int row, int col) const;
  std::optional<int64_t> OptInt(int row, int col) const;
  std::optional<std::string> OptStr(int row, int col) const;
  std::optional<double> OptReal(int row, int col) const;
  bool Bool(int row, int col) const { return Text(row, col) == "t"; }
  // A bytea column, decoded from PostgreSQL's hex output (\x...).
  std::string Bytes(int row, int col) const;
  bool bad() const { return bad_; }

 private:
  ResultHandle res_;
  int size_ = 0;
  mutable bool bad_ = false;
};

// Runs one statement with text parameters (none may be NULL) and returns its
// rows (none for a command).
Result<Rows> Exec(pg_conn* conn, std::string_view sql, std::string_view table,
                  const std::vector<std::string>& params = {});

// Runs SQL without parameters: one or more statements in one round trip;
// returns the last one's rows.
Result<Rows> Query(pg_conn* conn, std::string_view sql, std::string_view table);
// The same when no rows are wanted.
Status Run(pg_conn* conn, std::string_view sql, std::string_view table);

// `value` as an SQL string literal, quoted and escaped for `conn`.
std::string Literal(pg_conn* conn, std::string_view value);

// Builds the data of a COPY ... FROM STDIN in text format, row by row.
class CopyRows {
 public:
  void Int(int64_t v);
  void Real(double v);
  void Bool(bool v) { Field(v ? "t" : "f"); }
  void Text(std::string_view v);
  void Bytes(std::string_view v);  // as bytea
  void Null();
  template <typename T>
  void Opt(const std::optional<T>& v) {
    if (!v) return Null();
    if constexpr (std::is_floating_point_v<T>) {
      Real(*v);
    } else if constexpr (std::is_integral_v<T>) {
      Int(*v);
    } else {
      Text(*v);
    }
  }
  void EndRow();
  void clear() { data_.clear(), rows_ = 0, first_ = true; }
  std::string_view data() const { return data_; }
  int64_t rows() const { return rows_; }

 private:
  void Field(std::string_view raw);
  void Separate();
  std::string data_;
  int64_t rows_ = 0;
  bool first_ = true;
};

// Sends `rows` through `copy_sql` ("COPY t(cols) FROM STDIN").
Status CopyIn(pg_conn* conn, std::string_view copy_sql, const CopyRows& rows, std::string_view table);

// A server-side cursor over one SELECT, read in chunks, so a table of any
// size streams in constant memory. Cursors live inside a transaction, and
// several may be open at once on one connection.
class Cursor {
 public:
  // Declares cursor `name` for `select`.
  static Result<Cursor> Open(pg_conn* conn, std::string name, std::string_view select, std::string_view table);
  // Moves to the next row; false at the end.
  Result<bool> Next();
  const Rows& rows() const { return *rows_; }
  int row() const { return row_; }

 private:
  Cursor(pg_conn* conn, std::string name, std::string_view table)
      : conn_(conn), name_(std::move(name)), table_(table) {}
  pg_conn* conn_;
  std::string name_;
  std::string_view table_;
  std::optional<Rows> rows_;
  int row_ = -1;
  bool last_chunk_ = false;
};

// A double-quoted identifier.
std::string QuoteIdent(std::string_view name);

}  // namespace pond::pg_internal
