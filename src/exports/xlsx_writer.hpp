// XlsxWriter: a TableWriter producing an Excel workbook through libxlsxwriter.
//
// The workbook is written in libxlsxwriter's constant-memory mode: each row
// goes to a temp file beside the output as soon as the next one starts, and
// the sheets are zipped into `path` by Finish(). Integers are numeric cells,
// money a numeric cell formatted "0.00", text a string cell (never a
// formula, so unlike CSV it needs no injection guard). The header row is
// bold and frozen. An Excel sheet holds 1,048,576 rows; a longer table goes
// on in further sheets "members (2)", "members (3)"... each repeating the
// header. Not thread-safe (table_writer.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "exports/table_writer.hpp"

// libxlsxwriter's handles; its header stays inside xlsx_writer.cpp.
struct lxw_workbook;
struct lxw_worksheet;
struct lxw_format;

namespace pond::exports {

class XlsxWriter final : public TableWriter {
 public:
  static constexpr uint32_t kExcelMaxRows = 1'048'576;

  // Creates the file at `path` at once, so a path that cannot be written
  // fails here rather than after the last row. `sheet` names the first
  // sheet; it must be a valid Excel sheet name (FieldInvalid "sheet"
  // otherwise). `max_rows_per_sheet` counts the header row and is at least 2.
  static Result<std::unique_ptr<XlsxWriter>> Open(const std::string& path, std::string_view sheet,
                                                  uint32_t max_rows_per_sheet = kExcelMaxRows);
  ~XlsxWriter() override;
  XlsxWriter(const XlsxWriter&) = delete;
  XlsxWriter& operator=(const XlsxWriter&) = delete;

  Status Header(std::span<const std::string_view> names) override;
  Status Row(std::span<const Cell> cells) override;
  Status Finish() override;

 private:
  XlsxWriter(std::string path, std::string sheet, uint32_t max_rows_per_sheet);
  Status AddSheet();
  Status WriteHeader();
  Status WriteCell(uint16_t col, const Cell& cell);
  Status CheckTempFile() const;

  std::string path_;
  std::string sheet_name_;
  uint32_t max_rows_per_sheet_;
  std::vector<std::string> header_;
  lxw_workbook* workbook_ = nullptr;  // null once finished
  lxw_worksheet* sheet_ = nullptr;
  lxw_format* bold_ = nullptr;
  lxw_format* money_ = nullptr;
  int sheets_ = 0;
  uint32_t next_row_ = 0;  // in the current sheet
  int64_t rows_ = 0;       // data rows so far, to name a failing one
  std::string text_;       // libxlsxwriter takes NUL-terminated strings
};

}  // namespace pond::exports
