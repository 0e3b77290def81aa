// The tenant schema's journal and state tables as statements: shared by
// Commit and Load (tenant_store.cpp) and by the migration step that turns
// the tables of older schema versions into rows of them (legacy_tables.cpp).
#pragma once

#include <string>
#include <string_view>

#include "core/status.hpp"
#include "engine/store.hpp"
#include "storage/postgres/internal/pg_conn.hpp"

namespace pond::pg_internal {

inline Status Unreadable(std::string_view table) {
  return Internal("unreadable value in " + std::string(table)).With("table", std::string(table));
}

// Streams `select` through a cursor, handing each row to `emit`; a value that
// did not read back as its type fails naming the table.
template <typename Emit>
Status ForEachRow(pg_conn* conn, std::string_view select, std::string_view table, Emit&& emit) {
  ASSIGN_OR_RETURN(Cursor cursor, Cursor::Open(conn, "load_" + std::string(table), select, table));
  for (;;) {
    ASSIGN_OR_RETURN(bool more, cursor.Next());
    if (!more) break;
    RETURN_IF_ERROR(emit(cursor.rows(), cursor.row()));
    if (cursor.rows().bad()) return Unreadable(table);
  }
  return Run(conn, "CLOSE load_" + std::string(table), table);
}

// COPY text of journal rows (tick, kind, key, payload) and of state rows
// (kind, key, payload), appended to `copy`.
void AddRow(CopyRows& copy, const JournalRow& row);
void AddRow(CopyRows& copy, const StateRow& row);
inline constexpr std::string_view kCopyJournal = "COPY journal(tick,kind,key,payload) FROM STDIN";
inline constexpr std::string_view kCopyState = "COPY state(kind,key,payload) FROM STDIN";

// Schema step 1 (the tables of one kind of row each, before the journal),
// frozen; and the step that converts their rows into journal and state
// rows and drops them.
const char* LegacyTenantStep1();
Status ConvertLegacyTables(pg_conn* conn);

}  // namespace pond::pg_internal
