#include "storage/postgres/internal/pg_conn.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <cstdio>
#include <cstring>

namespace pond::pg_internal {
namespace {

// Rows fetched per round trip by a cursor: large enough that the round trip
// is noise, small enough that a chunk of wide rows stays a few MB.
constexpr int kCursorChunk = 8192;

std::string_view Trimmed(const char* text) {
  std::string_view s = text ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  return s;
}

bool Unavailable(std::string_view state) {
  return state.starts_with("08") || state.starts_with("57P") || state.starts_with("53") || state == "40001" ||
         state == "40P01";
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void ConnCloser::operator()(pg_conn* conn) const { PQfinish(conn); }
void ResultCloser::operator()(pg_result* res) const { PQclear(res); }

Result<ConnHandle> Connect(const std::string& url, std::string_view search_path) {
  ConnHandle conn(PQconnectdb(url.c_str()));
  if (!conn) return pond::Unavailable("connect to PostgreSQL: out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    // libpq's message names host and port, never the password.
    return pond::Unavailable("connect to PostgreSQL: " + std::string(Trimmed(PQerrorMessage(conn.get()))));
  }
  ASSIGN_OR_RETURN(Rows mode, Exec(conn.get(), "SELECT current_setting('synchronous_commit')", "session"));
  std::string setup = "SET application_name = 'pond'; SET client_min_messages = warning";
  if (mode.size() == 1 && mode.Text(0, 0) == "off") setup += "; SET synchronous_commit = on";
  if (!search_path.empty()) setup += "; SET search_path = " + std::string(search_path);
  RETURN_IF_ERROR(Run(conn.get(), setup, "session"));
  return conn;
}

bool Broken(pg_conn* conn) { return conn == nullptr || PQstatus(conn) != CONNECTION_OK; }

Status PgStatus(pg_conn* conn, pg_result* res, std::string_view action, std::string_view table) {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  const std::string_view sqlstate = state ? state : "";
  std::string message(action);
  message += ' ';
  message += table;
  message += ": ";
  std::string_view detail = res ? Trimmed(PQresultErrorMessage(res)) : std::string_view();
  if (detail.empty()) detail = Trimmed(PQerrorMessage(conn));
  message += detail.empty() ? "unknown error" : detail;
  Status status;
  if (Broken(conn) || Unavailable(sqlstate) || (res == nullptr && sqlstate.empty())) {
    status = pond::Unavailable(std::move(message));
  } else if (sqlstate == "23505") {
    status = AlreadyExists(std::move(message));
  } else if (sqlstate.starts_with("22")) {
    status = InvalidArgument(std::move(message));
  } else {
    status = Internal(std::move(message));
  }
  status.With("table", std::string(table));
  if (!sqlstate.empty()) status.With("sqlstate", std::string(sqlstate));
  return status;
}

Rows::Rows(ResultHandle res) : res_(std::move(res)), size_(res_ ? PQntuples(res_.get()) : 0) {}

bool Rows::IsNull(int row, int col) const { return PQgetisnull(res_.get(), row, col) != 0; }

std::string_view Rows::Text(int row, int col) const {
  return {PQgetvalue(res_.get(), row, col), static_cast<size_t>(PQgetlength(res_.get(), row, col))};
}

int64_t Rows::Int(int row, int col) const {
  const std::string_view t = Text(row, col);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size()) bad_ = true;
  return v;
}

std::optional<int64_t> Rows::OptInt(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  return Int(row, col);
}

std::optional<std::string> Rows::OptStr(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  return Str(row, col);
}

std::optional<double> Rows::OptReal(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  const std::string_view t = Text(row, col);
  double v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size()) bad_ = true;
  return v;
}

std::string Rows::Bytes(int row, int col) const {
  const std::string_view t = Text(row, col);
  std::string out;
  if (t.size() < 2 || t[0] != '\\' || t[1] != 'x' || t.size() % 2 != 0) {
    bad_ = true;
    return out;
  }
  out.resize((t.size() - 2) / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = HexValue(t[2 + 2 * i]), lo = HexValue(t[3 + 2 * i]);
    if (hi < 0 || lo < 0) bad_ = true;
    out[i] = static_cast<char>((hi << 4) | (lo & 0xf));
  }
  return out;
}

Result<Rows> Exec(pg_conn* conn, std::string_view sql, std::string_view table, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  for (const std::string& p : params) {
    values.push_back(p.c_str());
    lengths.push_back(static_cast<int>(p.size()));
  }
  const std::string text(sql);
  ResultHandle res(PQexecParams(conn, text.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                                lengths.data(), nullptr, 0));
  const ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) return PgStatus(conn, res.get(), "execute on", table);
  return Rows(std::move(res));
}

Result<Rows> Query(pg_conn* conn, std::string_view sql, std::string_view table) {
  const std::string text(sql);
  ResultHandle res(PQexec(conn, text.c_str()));
  const ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) return PgStatus(conn, res.get(), "execute on", table);
  return Rows(std::move(res));
}

Status Run(pg_conn* conn, std::string_view sql, std::string_view table) { return Query(conn, sql, table).status(); }

std::string Literal(pg_conn* conn, std::string_view value) {
  char* quoted = PQescapeLiteral(conn, value.data(), value.size());
  if (quoted == nullptr) return "NULL";  // out of memory: the statement then matches nothing
  std::string out(quoted);
  PQfreemem(quoted);
  return out;
}

void CopyRows::Separate() {
  if (!first_) data_.push_back('\t');
  first_ = false;
}

void CopyRows::Field(std::string_view raw) {
  Separate();
  data_.append(raw);
}

void CopyRows::Int(int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  Field(std::string_view(buf, static_cast<size_t>(end - buf)));
}

void CopyRows::Real(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that reads back the same
  (void)ec;
  Field(std::string_view(buf, static_cast<size_t>(end - buf)));
}

// COPY's text format: a backslash, tab, newline or carriage return inside a
// value would end it, so each is escaped.
void CopyRows::Text(std::string_view v) {
  Separate();
  for (char c : v) {
    switch (c) {
      case '\\':
        data_ += "\\\\";
        break;
      case '\t':
        data_ += "\\t";
        break;
      case '\n':
        data_ += "\\n";
        break;
      case '\r':
        data_ += "\\r";
        break;
      default:
        data_.push_back(c);
    }
  }
}

// bytea's hex input, its leading backslash escaped for COPY.
void CopyRows::Bytes(std::string_view v) {
  static constexpr char kHex[] = "0123456789abcdef";
  Separate();
  data_ += "\\\\x";
  for (char c : v) {
    const auto b = static_cast<unsigned char>(c);
    data_.push_back(kHex[b >> 4]);
    data_.push_back(kHex[b & 0xf]);
  }
}

void CopyRows::Null() { Field("\\N"); }

void CopyRows::EndRow() {
  data_.push_back('\n');
  first_ = true;
  ++rows_;
}

Status CopyIn(pg_conn* conn, std::string_view copy_sql, const CopyRows& rows, std::string_view table) {
  const std::string sql(copy_sql);
  ResultHandle start(PQexec(conn, sql.c_str()));
  if (!start || PQresultStatus(start.get()) != PGRES_COPY_IN) return PgStatus(conn, start.get(), "copy into", table);
  // libpq takes the data in pieces of at most INT_MAX bytes.
  std::string_view data = rows.data();
  while (!data.empty()) {
    const size_t n = std::min<size_t>(data.size(), size_t{1} << 30);
    if (PQputCopyData(conn, data.data(), static_cast<int>(n)) != 1) return PgStatus(conn, nullptr, "copy into", table);
    data.remove_prefix(n);
  }
  if (PQputCopyEnd(conn, nullptr) != 1) return PgStatus(conn, nullptr, "copy into", table);
  Status status;
  while (pg_result* raw = PQgetResult(conn)) {
    ResultHandle done(raw);
    if (PQresultStatus(raw) != PGRES_COMMAND_OK && status.ok()) status = PgStatus(conn, raw, "copy into", table);
  }
  return status;
}

Result<Cursor> Cursor::Open(pg_conn* conn, std::string name, std::string_view select, std::string_view table) {
  RETURN_IF_ERROR(Run(conn, "DECLARE " + name + " NO SCROLL CURSOR FOR " + std::string(select), table));
  return Cursor(conn, std::move(name), table);
}

Result<bool> Cursor::Next() {
  if (rows_ && row_ + 1 < rows_->size()) {
    ++row_;
    return true;
  }
  if (last_chunk_) return false;
  ASSIGN_OR_RETURN(Rows chunk, Exec(conn_, "FETCH " + std::to_string(kCursorChunk) + " FROM " + name_, table_));
  last_chunk_ = chunk.size() < kCursorChunk;
  rows_.emplace(std::move(chunk));
  row_ = 0;
  return rows_->size() > 0;
}

std::string QuoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace pond::pg_internal
