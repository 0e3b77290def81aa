#include "exports/csv_writer.hpp"

#include <cassert>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <type_traits>
#include <utility>

namespace pond::exports {
namespace {

// With 1 MiB per write(2) a 10 M row export makes hundreds of calls, not
// the hundred thousand of stdio's default 4 KiB.
constexpr size_t kBufferBytes = 1 << 20;
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

bool StartsLikeFormula(std::string_view text) {
  return !text.empty() && std::string_view("=+-@\t\r").find(text.front()) != std::string_view::npos;
}

void AppendText(std::string& line, std::string_view text) {
  const bool quote = text.find_first_of(",\"\r\n") != std::string_view::npos;
  if (quote) line += '"';
  if (StartsLikeFormula(text)) line += '\'';
  for (char c : text) {
    if (c == '"') line += '"';
    line += c;
  }
  if (quote) line += '"';
}

void AppendCell(std::string& line, const Cell& cell) {
  std::visit(
      [&line](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string_view>) {
          AppendText(line, v);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          char buf[24];
          line.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
        } else if constexpr (std::is_same_v<T, Money>) {
          line += v.ToYuanString();
        }  // an empty cell is an empty field
      },
      cell);
}

}  // namespace

Result<std::unique_ptr<CsvWriter>> CsvWriter::Open(const std::string& path, ByteOrderMark bom) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return Unavailable("create " + path + ": " + std::strerror(errno)).With("path", path);
  }
  std::setvbuf(file, nullptr, _IOFBF, kBufferBytes);
  std::unique_ptr<CsvWriter> writer(new CsvWriter(path, file));
  if (bom == ByteOrderMark::kWrite) {
    writer->line_ = kUtf8Bom;
    RETURN_IF_ERROR(writer->WriteLine());
  }
  return writer;
}

CsvWriter::CsvWriter(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}

CsvWriter::~CsvWriter() {
  if (file_ == nullptr) return;
  std::fclose(file_);
  std::remove(path_.c_str());
}

Status CsvWriter::Header(std::span<const std::string_view> names) {
  assert(file_ != nullptr && !started_ && "Header comes first and once");
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) line_ += ',';
    AppendText(line_, names[i]);
  }
  line_ += "\r\n";
  started_ = true;
  return WriteLine();
}

Status CsvWriter::Row(std::span<const Cell> cells) {
  assert(file_ != nullptr && "Row after Finish");
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i) line_ += ',';
    AppendCell(line_, cells[i]);
  }
  line_ += "\r\n";
  started_ = true;
  return WriteLine();
}

Status CsvWriter::Finish() {
  assert(file_ != nullptr && "Finish twice");
  const bool flushed = std::fflush(file_) == 0;
  Status status = flushed ? Status::Ok() : IoError("write");
  std::FILE* file = std::exchange(file_, nullptr);
  if (std::fclose(file) != 0 && status.ok()) status = IoError("close");
  if (!status.ok()) std::remove(path_.c_str());
  return status;
}

Status CsvWriter::WriteLine() {
  const size_t written = std::fwrite(line_.data(), 1, line_.size(), file_);
  const bool whole = written == line_.size();
  line_.clear();
  return whole ? Status::Ok() : IoError("write");
}

Status CsvWriter::IoError(std::string_view what) const {
  return Unavailable(std::string(what) + " " + path_ + ": " + std::strerror(errno)).With("path", path_);
}

}  // namespace pond::exports
