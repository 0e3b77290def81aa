#include "exports/xlsx_writer.hpp"

#include <xlsxwriter.h>

#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <type_traits>
#include <utility>

namespace pond::exports {
namespace {

constexpr size_t kExcelMaxColumns = 16'384;
constexpr size_t kSheetNameMaxChars = 31;

// "members (2)", the base cut at a character boundary so that the whole name
// stays within Excel's 31 characters (a UTF-8 character is one byte that
// does not start 10xxxxxx plus its continuation bytes).
std::string ContinuationSheetName(std::string_view base, int number) {
  const std::string suffix = " (" + std::to_string(number) + ")";
  const size_t keep = kSheetNameMaxChars - suffix.size();
  size_t chars = 0;
  size_t end = 0;
  for (; end < base.size(); ++end) {
    const bool starts_char = (static_cast<unsigned char>(base[end]) & 0xC0) != 0x80;
    if (starts_char && chars++ == keep) break;
  }
  return std::string(base.substr(0, end)) + suffix;
}

// Errors in the file or zip layer are the disk's and may pass; the rest
// are limits of the format that the data ran into.
Status LxwStatus(lxw_error error, const std::string& what, const std::string& path) {
  std::string message = what + ": " + lxw_strerror(error);
  switch (error) {
    case LXW_ERROR_MEMORY_MALLOC_FAILED:
    case LXW_ERROR_CREATING_XLSX_FILE:
    case LXW_ERROR_CREATING_TMPFILE:
    case LXW_ERROR_READING_TMPFILE:
    case LXW_ERROR_ZIP_FILE_OPERATION:
    case LXW_ERROR_ZIP_PARAMETER_ERROR:
    case LXW_ERROR_ZIP_BAD_ZIP_FILE:
    case LXW_ERROR_ZIP_INTERNAL_ERROR:
    case LXW_ERROR_ZIP_FILE_ADD:
    case LXW_ERROR_ZIP_CLOSE:
      return Unavailable(std::move(message)).With("path", path);
    default:
      return InvalidArgument(std::move(message)).With("path", path);
  }
}

}  // namespace

Result<std::unique_ptr<XlsxWriter>> XlsxWriter::Open(const std::string& path, std::string_view sheet,
                                                     uint32_t max_rows_per_sheet) {
  assert(max_rows_per_sheet >= 2 && max_rows_per_sheet <= kExcelMaxRows && "a header and a row per sheet");
  // libxlsxwriter opens `path` only when it zips the workbook at the end;
  // creating it now reports a bad path before rows are spent on it.
  std::FILE* probe = std::fopen(path.c_str(), "wb");
  if (probe == nullptr) {
    return Unavailable("create " + path + ": " + std::strerror(errno)).With("path", path);
  }
  std::fclose(probe);
  std::unique_ptr<XlsxWriter> writer(new XlsxWriter(path, std::string(sheet), max_rows_per_sheet));

  // The sheets' temp files go beside the export rather than in /tmp, which
  // may be a tmpfs (Debian 13 makes it one) and would hold 10 M rows in RAM;
  // the export's disk needs that room for the result anyway. No ZIP64: a
  // sheet's XML would reach zip's 4 GB limit only if its 1,048,576 rows
  // averaged 4 KB, far beyond a member export's.
  std::string tmpdir = std::filesystem::path(path).parent_path().string();
  if (tmpdir.empty()) tmpdir = ".";
  lxw_workbook_options options = {.constant_memory = LXW_TRUE, .tmpdir = tmpdir.data(), .use_zip64 = LXW_FALSE};
  writer->workbook_ = workbook_new_opt(path.c_str(), &options);  // copies tmpdir
  if (writer->workbook_ == nullptr) return Unavailable("create workbook " + path).With("path", path);

  if (sheet.empty()) return FieldInvalid("sheet", "must not be empty");
  if (lxw_error error = workbook_validate_sheet_name(writer->workbook_, writer->sheet_name_.c_str())) {
    return FieldInvalid("sheet", lxw_strerror(error));
  }
  writer->bold_ = workbook_add_format(writer->workbook_);
  format_set_bold(writer->bold_);
  writer->money_ = workbook_add_format(writer->workbook_);
  format_set_num_format(writer->money_, "0.00");
  RETURN_IF_ERROR(writer->AddSheet());
  return writer;
}

XlsxWriter::XlsxWriter(std::string path, std::string sheet, uint32_t max_rows_per_sheet)
    : path_(std::move(path)), sheet_name_(std::move(sheet)), max_rows_per_sheet_(max_rows_per_sheet) {}

XlsxWriter::~XlsxWriter() {
  if (workbook_ == nullptr) return;
  lxw_workbook_free(workbook_);
  std::remove(path_.c_str());
}

Status XlsxWriter::Header(std::span<const std::string_view> names) {
  assert(workbook_ != nullptr && rows_ == 0 && header_.empty() && "Header comes first and once");
  if (names.size() > kExcelMaxColumns) return InvalidArgument("a sheet holds at most 16,384 columns");
  header_.assign(names.begin(), names.end());
  return WriteHeader();
}

Status XlsxWriter::Row(std::span<const Cell> cells) {
  assert(workbook_ != nullptr && "Row after Finish");
  if (cells.size() > kExcelMaxColumns) return InvalidArgument("a sheet holds at most 16,384 columns");
  if (next_row_ == max_rows_per_sheet_) RETURN_IF_ERROR(AddSheet());
  ++rows_;
  for (size_t col = 0; col < cells.size(); ++col) {
    RETURN_IF_ERROR(WriteCell(static_cast<lxw_col_t>(col), cells[col]));
  }
  ++next_row_;
  return CheckTempFile();
}

Status XlsxWriter::Finish() {
  assert(workbook_ != nullptr && "Finish twice");
  RETURN_IF_ERROR(CheckTempFile());
  // workbook_close frees the workbook whether or not it succeeds.
  lxw_error error = workbook_close(std::exchange(workbook_, nullptr));
  if (error == LXW_NO_ERROR) return Status::Ok();
  std::remove(path_.c_str());
  return LxwStatus(error, "write " + path_, path_);
}

Status XlsxWriter::AddSheet() {
  ++sheets_;
  const std::string name = sheets_ == 1 ? sheet_name_ : ContinuationSheetName(sheet_name_, sheets_);
  sheet_ = workbook_add_worksheet(workbook_, name.c_str());
  // The name was validated and the continuation names are unique, so only
  // the temp file (or memory) can have failed.
  if (sheet_ == nullptr) return Unavailable("add sheet \"" + name + "\" to " + path_).With("path", path_);
  next_row_ = 0;
  return WriteHeader();
}

// libxlsxwriter 1.1.4 ignores failed writes to a sheet's temp file: on a
// full disk it zips a truncated sheet and reports success. The stream's
// error flag stays set, so checking it catches that. A row reaches the file
// when the next one starts; a sheet's last row only inside workbook_close,
// where a full disk fails the (checked) zip write as well.
Status XlsxWriter::CheckTempFile() const {
  if (!std::ferror(sheet_->optimize_tmpfile)) return Status::Ok();
  return Unavailable("write sheet data to a temp file beside " + path_ + " (is the disk full?)").With("path", path_);
}

Status XlsxWriter::WriteHeader() {
  if (header_.empty()) return Status::Ok();
  for (size_t col = 0; col < header_.size(); ++col) {
    if (lxw_error error = worksheet_write_string(sheet_, 0, static_cast<lxw_col_t>(col), header_[col].c_str(), bold_)) {
      return LxwStatus(error, "write header", path_).With("column", header_[col]);
    }
  }
  worksheet_freeze_panes(sheet_, 1, 0);
  next_row_ = 1;
  return Status::Ok();
}

Status XlsxWriter::WriteCell(uint16_t col, const Cell& cell) {
  const lxw_error error = std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string_view>) {
          text_.assign(v);
          return worksheet_write_string(sheet_, next_row_, col, text_.c_str(), nullptr);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return worksheet_write_number(sheet_, next_row_, col, static_cast<double>(v), nullptr);
        } else if constexpr (std::is_same_v<T, Money>) {
          return worksheet_write_number(sheet_, next_row_, col, static_cast<double>(v.fen()) / 100, money_);
        } else {
          return LXW_NO_ERROR;
        }
      },
      cell);
  if (error == LXW_NO_ERROR) return Status::Ok();
  Status status = LxwStatus(error, "write cell", path_).With("row", std::to_string(rows_));
  return std::move(status).With("column", header_.size() > col ? header_[col] : std::to_string(col + 1));
}

}  // namespace pond::exports
