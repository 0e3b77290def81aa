#include "segments/saved_segments.hpp"

#include <gtest/gtest.h>

namespace pond::segments {
namespace {

TEST(SavedSegmentsTest, SizesKeepOnePerDayAndAYearAndABit) {
  SavedSegment s{1, "winback", "orders_365d >= 4", "E1", Timestamp::FromMicros(1), {}};
  RecordSize(s, LocalDate::FromDays(100), 5);
  RecordSize(s, LocalDate::FromDays(100), 7);  // counted again the same day
  ASSERT_EQ(s.sizes.size(), 1u);
  EXPECT_EQ(s.sizes[0].second, 7);
  for (int32_t d = 101; d < 101 + 500; ++d) RecordSize(s, LocalDate::FromDays(d), d);
  ASSERT_EQ(s.sizes.size(), kMaxSizeHistory);
  EXPECT_EQ(s.sizes.front().first, LocalDate::FromDays(600 - 399));
  EXPECT_EQ(s.sizes.back().second, 600);
}

TEST(SavedSegmentsTest, TheDocumentComesBackAsItWent) {
  std::vector<SavedSegment> list = {
      {1, "生日会员", "birthday_month = 11", "E1", Timestamp::FromMicros(42), {}},
      {3, "winback", "orders_365d >= 4 and last_order_days <= 120", "key:abc", Timestamp::FromMicros(43), {}}};
  RecordSize(list[1], LocalDate::FromDays(20'000), 12);
  RecordSize(list[1], LocalDate::FromDays(20'001), 15);
  auto back = ParseSavedSegments(SavedSegmentsJson(list));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].name, "生日会员");
  EXPECT_EQ((*back)[1].id, 3);
  EXPECT_EQ((*back)[1].created_at, Timestamp::FromMicros(43));
  EXPECT_EQ((*back)[1].sizes, list[1].sizes);
  EXPECT_FALSE(ParseSavedSegments(R"({"segments":[{"name":"x"}]})").ok()) << "no id, no expr";
  EXPECT_FALSE(ParseSavedSegments("{}").ok());
}

}  // namespace
}  // namespace pond::segments
