// CsvWriter: a TableWriter producing RFC 4180 CSV for spreadsheet users.
//
// Fields that hold a comma, quote, CR or LF are quoted, with quotes doubled;
// lines end in CRLF. Text that a spreadsheet would run as a formula (it
// starts with = + - @, tab or CR) gets a leading apostrophe, as OWASP's "CSV
// Injection" page advises: exported names and notes are typed by members and
// staff, and an operator opening the file must not execute them. Numbers and
// money are written plainly. Not thread-safe (table_writer.hpp).
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "exports/table_writer.hpp"

namespace pond::exports {

// Whether the file starts with the UTF-8 byte order mark.
enum class ByteOrderMark { kWrite, kOmit };

class CsvWriter final : public TableWriter {
 public:
  // Creates (or truncates) the file at `path`. Keep the default kWrite for
  // files people open: Excel in China reads BOM-less UTF-8 CSV as GBK and
  // garbles every Chinese name; kOmit suits machines that expect bare UTF-8.
  static Result<std::unique_ptr<CsvWriter>> Open(const std::string& path, ByteOrderMark bom = ByteOrderMark::kWrite);
  ~CsvWriter() override;
  CsvWriter(const CsvWriter&) = delete;
  CsvWriter& operator=(const CsvWriter&) = delete;

  Status Header(std::span<const std::string_view> names) override;
  Status Row(std::span<const Cell> cells) override;
  Status Finish() override;

 private:
  CsvWriter(std::string path, std::FILE* file);
  Status WriteLine();
  Status IoError(std::string_view what) const;

  std::string path_;
  std::FILE* file_;       // null once finished
  std::string line_;      // the row being encoded, reused so rows don't allocate
  bool started_ = false;  // a header or a row is out
};

}  // namespace pond::exports
