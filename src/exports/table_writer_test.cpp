#include "exports/table_writer.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "exports/internal/test_files.hpp"

namespace pond::exports {
namespace {

using namespace std::string_view_literals;

// Writes one member through the writer OpenTableWriter picked for `format`.
std::string ExportOneMember(const TempDir& dir, std::string_view format) {
  const std::string path = dir.File("members." + std::string(format));
  auto writer = OpenTableWriter(format, path, "members");
  EXPECT_TRUE(writer.ok()) << writer.status().ToString();
  EXPECT_TRUE((*writer)->Header(std::vector<std::string_view>{"member_id", "name"}).ok());
  EXPECT_TRUE((*writer)->Row(std::vector<Cell>{int64_t{1}, "张三"sv}).ok());
  EXPECT_TRUE((*writer)->Finish().ok());
  return ReadFile(path);
}

TEST(OpenTableWriterTest, CsvIsUtf8WithBom) {
  TempDir dir;
  EXPECT_EQ(ExportOneMember(dir, "csv"), "\xEF\xBB\xBFmember_id,name\r\n1,张三\r\n");
}

TEST(OpenTableWriterTest, XlsxIsAZipPackage) {
  TempDir dir;
  EXPECT_EQ(ExportOneMember(dir, "xlsx").substr(0, 4), "PK\x03\x04");
}

TEST(OpenTableWriterTest, OtherFormatsAreAFieldErrorAndCreateNoFile) {
  TempDir dir;
  const std::string path = dir.File("members.xls");
  auto writer = OpenTableWriter("xls", path, "members");
  ASSERT_FALSE(writer.ok());
  EXPECT_EQ(writer.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(writer.status().field_errors(), (std::vector<FieldError>{{"format", "must be csv or xlsx"}}));
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace pond::exports
