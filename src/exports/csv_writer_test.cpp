#include "exports/csv_writer.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "exports/internal/test_files.hpp"

namespace pond::exports {
namespace {

using namespace std::string_view_literals;

std::unique_ptr<CsvWriter> OpenOrDie(const std::string& path, ByteOrderMark bom = ByteOrderMark::kWrite) {
  auto writer = CsvWriter::Open(path, bom);
  EXPECT_TRUE(writer.ok()) << writer.status().ToString();
  return std::move(writer).value();
}

TEST(CsvWriterTest, QuotesFieldsAndEndsLinesWithCrlfAfterBom) {
  TempDir dir;
  const std::string path = dir.File("members.csv");
  auto csv = OpenOrDie(path);
  const std::vector<std::string_view> header = {"member_id", "name", "note"};
  ASSERT_TRUE(csv->Header(header).ok());
  ASSERT_TRUE(csv->Row(std::vector<Cell>{int64_t{1001}, "张三"sv, "says \"hi\", twice"sv}).ok());
  ASSERT_TRUE(csv->Row(std::vector<Cell>{int64_t{1002}, "line 1\nline 2"sv, Cell{}}).ok());
  ASSERT_TRUE(csv->Row(std::vector<Cell>{int64_t{1003}, "a\rb"sv, "\""sv}).ok());
  ASSERT_TRUE(csv->Finish().ok());

  EXPECT_EQ(ReadFile(path),
            "\xEF\xBB\xBF"
            "member_id,name,note\r\n"
            "1001,张三,\"says \"\"hi\"\", twice\"\r\n"
            "1002,\"line 1\nline 2\",\r\n"
            "1003,\"a\rb\",\"\"\"\"\r\n");
}

TEST(CsvWriterTest, OmitsBomWhenAsked) {
  TempDir dir;
  const std::string path = dir.File("plain.csv");
  auto csv = OpenOrDie(path, ByteOrderMark::kOmit);
  ASSERT_TRUE(csv->Row(std::vector<Cell>{"深圳"sv}).ok());
  ASSERT_TRUE(csv->Finish().ok());
  EXPECT_EQ(ReadFile(path), "深圳\r\n");
}

TEST(CsvWriterTest, DefusesTextThatSpreadsheetsWouldRunAsFormula) {
  TempDir dir;
  const std::string path = dir.File("injection.csv");
  auto csv = OpenOrDie(path, ByteOrderMark::kOmit);
  ASSERT_TRUE(csv->Row(std::vector<Cell>{"=HYPERLINK(\"http://x\")"sv, "+86"sv, "-1"sv, "@SUM(A1)"sv}).ok());
  ASSERT_TRUE(csv->Row(std::vector<Cell>{"\tx"sv, "\rx"sv, "a=b"sv, ""sv}).ok());
  // Numbers are not text a spreadsheet could misread: a minus stays a minus.
  ASSERT_TRUE(csv->Row(std::vector<Cell>{int64_t{-7}, Money::Fen(-250)}).ok());
  ASSERT_TRUE(csv->Finish().ok());

  EXPECT_EQ(ReadFile(path),
            "\"'=HYPERLINK(\"\"http://x\"\")\",'+86,'-1,'@SUM(A1)\r\n"
            "'\tx,\"'\rx\",a=b,\r\n"
            "-7,-2.50\r\n");
}

TEST(CsvWriterTest, WritesMoneyAsYuanWithTwoDecimals) {
  TempDir dir;
  const std::string path = dir.File("money.csv");
  auto csv = OpenOrDie(path, ByteOrderMark::kOmit);
  for (int64_t fen : {12345, 5, -5, 0, 100, -12345, 1'000'000'007}) {
    ASSERT_TRUE(csv->Row(std::vector<Cell>{Money::Fen(fen)}).ok());
  }
  ASSERT_TRUE(csv->Finish().ok());
  EXPECT_EQ(ReadFile(path), "123.45\r\n0.05\r\n-0.05\r\n0.00\r\n1.00\r\n-123.45\r\n10000000.07\r\n");
}

TEST(CsvWriterTest, UnwritablePathNamesThePath) {
  const std::string path = "/nonexistent/dir/members.csv";
  auto csv = CsvWriter::Open(path);
  ASSERT_FALSE(csv.ok());
  EXPECT_EQ(csv.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(csv.status().message().find(path), std::string::npos) << csv.status().message();
  EXPECT_NE(csv.status().message().find("No such file or directory"), std::string::npos);
}

TEST(CsvWriterTest, UnfinishedExportLeavesNoFile) {
  TempDir dir;
  const std::string path = dir.File("aborted.csv");
  {
    auto csv = OpenOrDie(path);
    ASSERT_TRUE(csv->Row(std::vector<Cell>{int64_t{1}}).ok());
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(CsvWriterTest, FullDiskFailsTheExportAndRemovesTheFile) {
  TempDir dir;
  const std::string path = dir.File("big.csv");
  FileSizeCap cap(64 * 1024);
  auto csv = OpenOrDie(path);
  const std::string note(100, 'x');
  Status status;
  // The 1 MiB buffer hides the cap until it is flushed, by a row or by Finish.
  for (int i = 0; i < 20'000 && status.ok(); ++i) {
    status = csv->Row(std::vector<Cell>{int64_t{i}, std::string_view(note)});
  }
  if (status.ok()) status = csv->Finish();
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("File too large"), std::string::npos) << status.ToString();
  csv.reset();
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace pond::exports
