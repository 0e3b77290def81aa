// CSV import: events from spreadsheets and POS exports (`pond import`).
//
// Contract: RFC 4180 — comma separated, quoted cells with doubled quotes,
// CRLF or LF, newlines inside quoted cells — with an optional UTF-8 byte
// order mark and a header row. Header names are field paths of the JSON
// event: "type", "order_id", "member.phone", "items[0].sku", "items[0].qty".
// Each row becomes one JSON object (cells as strings, an empty cell absent)
// and goes through the same validation as JSON input (ParseEvent with
// numbers_as_strings), so CSV and JSON accept and reject exactly the same
// events with the same field names. A column "items" may instead hold the
// whole items array as JSON text. Row numbers are file line numbers (the
// header is line 1), counted where the row starts.
//
// Thread-safety: a reader is used by one thread at a time.
#pragma once

#include <istream>
#include <memory>
#include <string>

#include "core/status.hpp"
#include "ingest/event_parser.hpp"

namespace pond {

class CsvEventReader {
 public:
  // Rows longer than this are rejected with an error for that row.
  static constexpr size_t kMaxRowBytes = size_t{1} << 20;

  // `default_type` is the event type of rows when the file has no "type"
  // column or a row leaves it empty; it may be "" when every row has one.
  CsvEventReader(std::istream& in, std::string default_type);
  ~CsvEventReader();
  CsvEventReader(const CsvEventReader&) = delete;
  CsvEventReader& operator=(const CsvEventReader&) = delete;

  // Reads the header row. InvalidArgument naming every bad column: no header,
  // an empty or duplicate name, a name that is not a field path, columns that
  // contradict each other ("member" and "member.phone"), items indices with a
  // gap, or no "type" column without a default type.
  Status ReadHeader();

  // Reads and parses the next non-blank row into `out`; false at the end.
  // Call only after ReadHeader succeeded.
  bool Next(ParsedLine* out);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pond
