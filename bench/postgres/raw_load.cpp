// The ingest peers: the demo's orders as the journal rows Pond stores for
// them, written through the backend's own connection plumbing and COPY
// encoding (storage/postgres/internal), without members, loyalty or group
// commit.
#include <libpq-fe.h>

#include <algorithm>
#include <string>
#include <vector>

#include "journal/codec.hpp"
#include "postgres_bench.hpp"
#include "storage/postgres/internal/pg_conn.hpp"
#include "storage/postgres/internal/pg_rows.hpp"

namespace pond::bench {
namespace {

using pg_internal::ConnHandle;
using pg_internal::ResultHandle;

// The backend's journal table (storage/postgres/tenant_store.cpp).
constexpr const char* kJournal =
    "CREATE TABLE journal(tick bigint PRIMARY KEY, kind integer NOT NULL, key bytea NOT NULL, payload bytea NOT NULL)";

JournalRow RowOf(int64_t tick, const OrderRow& order) {
  JournalRow row{tick, static_cast<RowKind>(journal::Kind::kOrder), {}, {}};
  journal::Encode(order, row.key, row.payload);
  return row;
}

}  // namespace

Status RawPostgresLoadOrders(const std::string& url, const std::string& schema, const std::vector<OrderRow>& rows,
                             RawLoad how, size_t batch_size) {
  if (batch_size == 0) return InvalidArgument("batch_size must be > 0");
  ASSIGN_OR_RETURN(ConnHandle conn, pg_internal::Connect(url));
  ASSIGN_OR_RETURN(pg_internal::Rows exists,
                   pg_internal::Exec(conn.get(), "SELECT 1 FROM pg_namespace WHERE nspname = $1", "schema", {schema}));
  if (exists.size() != 0) return AlreadyExists("raw load needs a fresh schema").With("schema", schema);
  const std::string quoted = pg_internal::QuoteIdent(schema);
  RETURN_IF_ERROR(pg_internal::Run(conn.get(), "CREATE SCHEMA " + quoted + "; SET search_path = " + quoted, "schema"));
  RETURN_IF_ERROR(pg_internal::Run(conn.get(), kJournal, "journal"));
  if (how == RawLoad::kCopy) {
    pg_internal::CopyRows copy;
    for (size_t begin = 0; begin < rows.size(); begin += batch_size) {
      copy.clear();
      for (size_t i = begin; i < std::min(rows.size(), begin + batch_size); ++i) {
        pg_internal::AddRow(copy, RowOf(static_cast<int64_t>(i + 1), rows[i]));
      }
      RETURN_IF_ERROR(pg_internal::Run(conn.get(), "BEGIN", "journal"));
      RETURN_IF_ERROR(pg_internal::CopyIn(conn.get(), pg_internal::kCopyJournal, copy, "journal"));
      RETURN_IF_ERROR(pg_internal::Run(conn.get(), "COMMIT", "journal"));
    }
    return Status::Ok();
  }
  // What an application without group commit does: each order its own
  // INSERT and its own durable COMMIT, the statement prepared once.
  ResultHandle prepared(PQprepare(conn.get(), "insert_order",
                                  "INSERT INTO journal(tick,kind,key,payload) VALUES($1,$2,$3,$4)", 4, nullptr));
  if (!prepared || PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
    return pg_internal::PgStatus(conn.get(), prepared.get(), "prepare insert into", "journal");
  }
  const int formats[] = {0, 0, 1, 1};  // key and payload as binary bytea
  for (size_t i = 0; i < rows.size(); ++i) {
    const JournalRow row = RowOf(static_cast<int64_t>(i + 1), rows[i]);
    const std::string tick = std::to_string(row.tick), kind = std::to_string(row.kind);
    const char* values[] = {tick.c_str(), kind.c_str(), row.key.data(), row.payload.data()};
    const int lengths[] = {0, 0, static_cast<int>(row.key.size()), static_cast<int>(row.payload.size())};
    RETURN_IF_ERROR(pg_internal::Run(conn.get(), "BEGIN", "journal"));
    ResultHandle done(PQexecPrepared(conn.get(), "insert_order", 4, values, lengths, formats, 0));
    if (!done || PQresultStatus(done.get()) != PGRES_COMMAND_OK) {
      return pg_internal::PgStatus(conn.get(), done.get(), "insert into", "journal").With("order_id", row.key);
    }
    RETURN_IF_ERROR(pg_internal::Run(conn.get(), "COMMIT", "journal"));
  }
  return Status::Ok();
}

}  // namespace pond::bench
