#include "exports/xlsx_writer.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "exports/internal/test_files.hpp"

namespace pond::exports {
namespace {

using namespace std::string_view_literals;

// Reads a workbook the way a spreadsheet would, with Python's zipfile and
// ElementTree, and prints it one sheet and one cell per line:
//   sheet members frozen=A2
//   A1 inline "member_id" bold
//   C2 number 123.45 0.00
// "inline" and "shared" tell the two ways xlsx stores a string.
constexpr std::string_view kDumpScript = R"py(
import sys, zipfile, xml.etree.ElementTree as ET
M = '{http://schemas.openxmlformats.org/spreadsheetml/2006/main}'
R = '{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id'
z = zipfile.ZipFile(sys.argv[1])
xml = lambda name: ET.fromstring(z.read(name))
targets = {r.get('Id'): r.get('Target') for r in xml('xl/_rels/workbook.xml.rels')}
styles = xml('xl/styles.xml')
codes = {f.get('numFmtId'): f.get('formatCode') for f in styles.iter(M + 'numFmt')}
fonts = list(styles.find(M + 'fonts'))
xfs = list(styles.find(M + 'cellXfs'))
shared = []
if 'xl/sharedStrings.xml' in z.namelist():
    shared = [''.join(t.text or '' for t in si.iter(M + 't')) for si in xml('xl/sharedStrings.xml')]
for sheet in xml('xl/workbook.xml').iter(M + 'sheet'):
    ws = xml('xl/' + targets[sheet.get(R)])
    pane = ws.find(f'{M}sheetViews/{M}sheetView/{M}pane')
    print(' '.join(filter(None, ['sheet', sheet.get('name'), pane is not None and 'frozen=' + pane.get('topLeftCell')])))
    for c in ws.iter(M + 'c'):
        kind = c.get('t')
        if kind == 'inlineStr':
            value = 'inline "%s"' % ''.join(t.text or '' for t in c.iter(M + 't'))
        elif kind == 's':
            value = 'shared "%s"' % shared[int(c.find(M + 'v').text)]
        else:
            value = 'number ' + c.find(M + 'v').text
        xf = xfs[int(c.get('s', '0'))]
        bold = fonts[int(xf.get('fontId'))].find(M + 'b') is not None
        print(' '.join(filter(None, [c.get('r'), value, bold and 'bold', codes.get(xf.get('numFmtId'))])))
)py";

std::string DumpWorkbook(const TempDir& dir, const std::string& xlsx) {
  const std::string script = dir.File("dump_xlsx.py");
  std::ofstream(script) << kDumpScript;
  std::FILE* pipe = popen(("python3 " + script + " " + xlsx + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  std::string out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  pclose(pipe);
  return out;
}

std::unique_ptr<XlsxWriter> OpenOrDie(const std::string& path, std::string_view sheet,
                                      uint32_t max_rows_per_sheet = XlsxWriter::kExcelMaxRows) {
  auto writer = XlsxWriter::Open(path, sheet, max_rows_per_sheet);
  EXPECT_TRUE(writer.ok()) << writer.status().ToString();
  return std::move(writer).value();
}

const std::vector<std::string_view> kHeader = {"member_id", "name", "spend"};

TEST(XlsxWriterTest, WritesTypedCellsUnderABoldFrozenHeader) {
  TempDir dir;
  const std::string path = dir.File("members.xlsx");
  auto xlsx = OpenOrDie(path, "members");
  ASSERT_TRUE(xlsx->Header(kHeader).ok());
  ASSERT_TRUE(xlsx->Row(std::vector<Cell>{int64_t{1001}, "张三"sv, Money::Fen(12345)}).ok());
  ASSERT_TRUE(xlsx->Row(std::vector<Cell>{int64_t{1002}, Cell{}, Money::Fen(-5)}).ok());
  // A spreadsheet keeps a string cell a string: no apostrophe needed.
  ASSERT_TRUE(xlsx->Row(std::vector<Cell>{int64_t{-3}, "=1+1"sv, Money::Fen(5)}).ok());
  ASSERT_TRUE(xlsx->Finish().ok());

  // Constant-memory mode writes strings inline, with no shared string table.
  EXPECT_EQ(DumpWorkbook(dir, path),
            "sheet members frozen=A2\n"
            "A1 inline \"member_id\" bold\n"
            "B1 inline \"name\" bold\n"
            "C1 inline \"spend\" bold\n"
            "A2 number 1001\n"
            "B2 inline \"张三\"\n"
            "C2 number 123.45 0.00\n"
            "A3 number 1002\n"
            "C3 number -0.05 0.00\n"
            "A4 number -3\n"
            "B4 inline \"=1+1\"\n"
            "C4 number 0.05 0.00\n");
}

TEST(XlsxWriterTest, ContinuesOnNewSheetsThatRepeatTheHeader) {
  TempDir dir;
  const std::string path = dir.File("members.xlsx");
  auto xlsx = OpenOrDie(path, "members", /*max_rows_per_sheet=*/3);
  ASSERT_TRUE(xlsx->Header(std::vector<std::string_view>{"member_id"}).ok());
  for (int64_t id = 1; id <= 5; ++id) ASSERT_TRUE(xlsx->Row(std::vector<Cell>{id}).ok());
  ASSERT_TRUE(xlsx->Finish().ok());

  EXPECT_EQ(DumpWorkbook(dir, path),
            "sheet members frozen=A2\n"
            "A1 inline \"member_id\" bold\n"
            "A2 number 1\n"
            "A3 number 2\n"
            "sheet members (2) frozen=A2\n"
            "A1 inline \"member_id\" bold\n"
            "A2 number 3\n"
            "A3 number 4\n"
            "sheet members (3) frozen=A2\n"
            "A1 inline \"member_id\" bold\n"
            "A2 number 5\n");
}

TEST(XlsxWriterTest, ShortensALongSheetNameToFitTheContinuationNumber) {
  TempDir dir;
  const std::string path = dir.File("long.xlsx");
  // 31 characters, Excel's most; "(2)" must replace whole characters.
  auto xlsx =
      OpenOrDie(path, "二零二四年双十一高价值会员召回名单含近九十天消费明细表汇总清单", /*max_rows_per_sheet=*/2);
  for (int64_t id = 1; id <= 4; ++id) ASSERT_TRUE(xlsx->Row(std::vector<Cell>{id}).ok());
  ASSERT_TRUE(xlsx->Finish().ok());

  EXPECT_EQ(DumpWorkbook(dir, path),
            "sheet 二零二四年双十一高价值会员召回名单含近九十天消费明细表汇总清单\n"
            "A1 number 1\n"
            "A2 number 2\n"
            "sheet 二零二四年双十一高价值会员召回名单含近九十天消费明细表 (2)\n"
            "A1 number 3\n"
            "A2 number 4\n");
}

TEST(XlsxWriterTest, RejectsAnInvalidSheetNameAndLeavesNoFile) {
  TempDir dir;
  const std::string path = dir.File("bad.xlsx");
  auto xlsx = XlsxWriter::Open(path, "members/2024");
  ASSERT_FALSE(xlsx.ok());
  ASSERT_EQ(xlsx.status().field_errors().size(), 1u);
  EXPECT_EQ(xlsx.status().field_errors()[0].field, "sheet");
  EXPECT_NE(xlsx.status().message().find("invalid characters"), std::string::npos) << xlsx.status().message();
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(XlsxWriter::Open(path, "").status().field_errors()[0].field, "sheet");
}

TEST(XlsxWriterTest, UnwritablePathFailsAtOpenNamingThePath) {
  const std::string path = "/nonexistent/dir/members.xlsx";
  auto xlsx = XlsxWriter::Open(path, "members");
  ASSERT_FALSE(xlsx.ok());
  EXPECT_EQ(xlsx.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(xlsx.status().message().find(path), std::string::npos) << xlsx.status().message();
}

TEST(XlsxWriterTest, TextPastExcelsCellLimitNamesRowAndColumn) {
  TempDir dir;
  const std::string path = dir.File("long_text.xlsx");
  auto xlsx = OpenOrDie(path, "members");
  ASSERT_TRUE(xlsx->Header(kHeader).ok());
  ASSERT_TRUE(xlsx->Row(std::vector<Cell>{int64_t{1}, "ok"sv, Money::Fen(1)}).ok());
  const std::string too_long(40'000, 'x');  // Excel holds 32,767 characters in a cell
  Status status = xlsx->Row(std::vector<Cell>{int64_t{2}, std::string_view(too_long), Money::Fen(1)});
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("32,767"), std::string::npos) << status.ToString();
  EXPECT_NE(status.ToString().find("row=2, column=name"), std::string::npos) << status.ToString();
}

TEST(XlsxWriterTest, FullDiskFailsTheExportAndRemovesTheFile) {
  TempDir dir;
  const std::string path = dir.File("big.xlsx");
  FileSizeCap cap(64 * 1024);
  auto xlsx = OpenOrDie(path, "members");
  const std::string note(100, 'x');
  Status status;
  for (int i = 0; i < 20'000 && status.ok(); ++i) {
    status = xlsx->Row(std::vector<Cell>{int64_t{i}, std::string_view(note)});
  }
  if (status.ok()) status = xlsx->Finish();
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("disk full"), std::string::npos) << status.ToString();
  xlsx.reset();
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(XlsxWriterTest, UnfinishedExportLeavesNoFile) {
  TempDir dir;
  const std::string path = dir.File("aborted.xlsx");
  {
    auto xlsx = OpenOrDie(path, "members");
    ASSERT_TRUE(xlsx->Row(std::vector<Cell>{int64_t{1}}).ok());
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace pond::exports
