#include "core/chunked_array.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace pond {
namespace {

struct Row {
  int64_t a = 0;
  int32_t b = -1;  // value-initialized rows keep their defaults
};

// Enough rows to span several 2 MiB chunks, and an odd count so the last
// chunk is partly filled.
constexpr size_t kRows = 3 * (size_t{2} << 20) / sizeof(Row) + 7;

TEST(ChunkedArrayTest, HoldsWhatWasAppendedAcrossChunks) {
  ChunkedArray<Row> rows;
  std::vector<Row> model;
  for (size_t i = 0; i < kRows; ++i) {
    rows.push_back(Row{static_cast<int64_t>(i * 3), static_cast<int32_t>(i % 1000)});
    model.push_back(rows.back());
  }
  ASSERT_EQ(rows.size(), model.size());
  for (size_t i = 0; i < kRows; ++i) {
    ASSERT_EQ(rows[i].a, model[i].a) << i;
    ASSERT_EQ(rows[i].b, model[i].b) << i;
  }
}

TEST(ChunkedArrayTest, ReferencesStayValidAsItGrows) {
  ChunkedArray<Row> rows;
  rows.push_back(Row{42, 1});
  const Row* first = &rows[0];
  for (size_t i = 1; i < kRows; ++i) rows.push_back(Row{});
  EXPECT_EQ(first, &rows[0]);
  EXPECT_EQ(first->a, 42);
}

TEST(ChunkedArrayTest, ResizeAddsDefaultRowsAndNeverShrinks) {
  ChunkedArray<Row> rows;
  rows.push_back(Row{5, 5});
  rows.resize(kRows);
  EXPECT_EQ(rows.size(), kRows);
  EXPECT_EQ(rows[0].a, 5);
  EXPECT_EQ(rows[kRows - 1].a, 0);
  EXPECT_EQ(rows[kRows - 1].b, -1);
  rows.resize(1);
  EXPECT_EQ(rows.size(), kRows);
}

TEST(ChunkedArrayTest, MovingHandsOverTheRows) {
  ChunkedArray<Row> rows;
  for (size_t i = 0; i < kRows; ++i) rows.push_back(Row{static_cast<int64_t>(i), 0});
  ChunkedArray<Row> moved(std::move(rows));
  EXPECT_EQ(moved.size(), kRows);
  EXPECT_EQ(moved[kRows - 1].a, static_cast<int64_t>(kRows - 1));
  EXPECT_TRUE(rows.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  rows = std::move(moved);
  EXPECT_EQ(rows.size(), kRows);
  rows.push_back(Row{-1, 0});
  EXPECT_EQ(rows.back().a, -1);
}

}  // namespace
}  // namespace pond
