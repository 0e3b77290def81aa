// TableWriter: writes an audience export (a header row, then rows of cells)
// to a file an operator downloads, as CSV or as an Excel workbook.
//
// Writers stream: each row is encoded and handed to the file (or to
// libxlsxwriter's temp file) before the next one arrives, so memory stays
// constant however many rows a segment has (10 M and more). The file is whole
// only once Finish() returned OK; a writer destroyed before that deletes the
// file, so an aborted export never passes for a complete one.
//
// Call order: Header() at most once and before any Row(), Row() any number of
// times, Finish() once. After any error the writer is spent: destroy it.
// Not thread-safe: a writer belongs to the one job that fills it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "core/money.hpp"
#include "core/status.hpp"

namespace pond::exports {

// One cell: empty, text, an integer, or money (written in yuan with two
// decimals, 12345 fen → 123.45). Text is borrowed and must stay valid until
// Row() returns. Spreadsheets hold numbers as doubles and show 15 digits, so
// identifiers longer than that (ID card, phone, order numbers) go as text.
using Cell = std::variant<std::monostate, std::string_view, int64_t, Money>;

class TableWriter {
 public:
  virtual ~TableWriter() = default;

  // Writes the column names; a writer that splits the table repeats them.
  virtual Status Header(std::span<const std::string_view> names) = 0;
  // Appends one row.
  virtual Status Row(std::span<const Cell> cells) = 0;
  // Completes the file; only after OK may anyone read it.
  virtual Status Finish() = 0;
};

// Opens a writer for `format` "csv" (UTF-8 with a byte order mark) or "xlsx"
// (a workbook whose sheets are named after `sheet`) that writes to `path`.
Result<std::unique_ptr<TableWriter>> OpenTableWriter(std::string_view format, const std::string& path,
                                                     std::string_view sheet);

}  // namespace pond::exports
