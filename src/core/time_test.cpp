#include "core/time.hpp"

#include <gtest/gtest.h>


namespace pond {
namespace {

TEST(TimeTest, ParsesAndFormatsRfc3339InTheTenantZone) {
  auto t = ParseRfc3339("2026-03-04T19:20:00+08:00");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->seconds(), 1772623200);
  auto sh = TimeZone::Load("Asia/Shanghai");
  ASSERT_TRUE(sh.ok()) << sh.status().ToString();
  EXPECT_EQ(FormatRfc3339(*t, *sh), "2026-03-04T19:20:00+08:00");
  EXPECT_EQ(FormatRfc3339(*t, TimeZone::Fixed(0)), "2026-03-04T11:20:00+00:00");
  EXPECT_EQ(ParseRfc3339("2026-03-04T11:20:00Z")->micros(), t->micros());
  EXPECT_EQ(ParseRfc3339("2026-03-04T11:20:00.25Z")->micros(), t->micros() + 250000);
}

TEST(TimeTest, RejectsMalformedTimesWithAReason) {
  for (const char* bad : {"", "2026-03-04", "2026-02-30T00:00:00Z", "2026-03-04T19:20:00", "2026-03-04T25:00:00Z",
                          "2026-03-04T19:20:00+0800", "2026-03-04T19:20:00Zjunk", "yesterday"}) {
    auto r = ParseRfc3339(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("RFC 3339"), std::string::npos);
    }
  }
}

TEST(TimeTest, LocalDateOfAnInstantDependsOnTheZone) {
  // 2026-03-04 23:30 in Shanghai is still the 4th there, already the 4th in
  // UTC at 15:30, but New York is on the 4th at 10:30 too; near midnight UTC+8
  // the dates differ.
  auto t = *ParseRfc3339("2026-03-04T23:30:00+08:00");
  auto sh = *TimeZone::Load("Asia/Shanghai");
  auto ny = *TimeZone::Load("America/New_York");
  EXPECT_EQ(sh.DateOf(t).ToString(), "2026-03-04");
  EXPECT_EQ(ny.DateOf(t).ToString(), "2026-03-04");
  auto t2 = *ParseRfc3339("2026-03-05T00:30:00+08:00");
  EXPECT_EQ(sh.DateOf(t2).ToString(), "2026-03-05");
  EXPECT_EQ(ny.DateOf(t2).ToString(), "2026-03-04");
  // New York observes DST: -05:00 in winter, -04:00 in summer.
  EXPECT_EQ(ny.OffsetAt(*ParseRfc3339("2026-01-15T12:00:00Z")), -5 * 3600);
  EXPECT_EQ(ny.OffsetAt(*ParseRfc3339("2026-07-15T12:00:00Z")), -4 * 3600);
  EXPECT_EQ(FormatRfc3339(t, ny), "2026-03-04T10:30:00-05:00");
}

TEST(TimeTest, StartOfDayIsLocalMidnight) {
  auto sh = *TimeZone::Load("Asia/Shanghai");
  EXPECT_EQ(FormatRfc3339(sh.StartOfDay(LocalDate::FromYmd(2026, 11, 23)), sh), "2026-11-23T00:00:00+08:00");
  auto ny = *TimeZone::Load("America/New_York");
  EXPECT_EQ(FormatRfc3339(ny.StartOfDay(LocalDate::FromYmd(2026, 3, 8)), ny), "2026-03-08T00:00:00-05:00");
  EXPECT_EQ(FormatRfc3339(ny.StartOfDay(LocalDate::FromYmd(2026, 3, 9)), ny), "2026-03-09T00:00:00-04:00");
}

TEST(TimeTest, UnknownOrHostileZoneNamesAreRejected) {
  EXPECT_FALSE(TimeZone::Load("Mars/Olympus").ok());
  EXPECT_FALSE(TimeZone::Load("../../etc/passwd").ok());
  EXPECT_FALSE(TimeZone::Load("").ok());
}

TEST(TimeTest, CalendarMatchesAnIndependentDayCounter) {
  // Walk day by day from 1900 and compare with a counter that only knows
  // month lengths and leap years.
  int y = 1900, m = 1, d = 1;
  int32_t days = LocalDate::FromYmd(1900, 1, 1).days();
  int weekday = 1;  // 1900-01-01 was a Monday
  for (int i = 0; i < 200 * 366; ++i) {
    LocalDate ld = LocalDate::FromDays(days);
    ASSERT_EQ(ld.year(), y);
    ASSERT_EQ(ld.month(), m);
    ASSERT_EQ(ld.day(), d);
    ASSERT_EQ(ld.weekday(), weekday);
    ++days;
    weekday = weekday % 7 + 1;
    if (!IsValidYmd(y, m, ++d)) {
      d = 1;
      if (++m > 12) m = 1, ++y;
    }
  }
}

TEST(TimeTest, DatesParseStrictly) {
  EXPECT_EQ(ParseDate("2024-02-29")->ToString(), "2024-02-29");
  EXPECT_FALSE(ParseDate("2023-02-29").ok());
  EXPECT_FALSE(ParseDate("2023-2-9").ok());
}


// A zone's local mean time has an offset with seconds (Shanghai before 1901:
// +08:05:43); RFC 3339 writes minutes only, so the text must still name the
// same instant when read back.
TEST(TimeTest, FormatsInstantsOfLocalMeanTimeSoTheyReadBack) {
  auto sh = TimeZone::Load("Asia/Shanghai");
  ASSERT_TRUE(sh.ok());
  const Timestamp t = Timestamp::FromSeconds(-62'135'596'800 + 3600);  // 0001-01-01T01:00:00Z
  const std::string text = FormatRfc3339(t, *sh);
  EXPECT_EQ(text.substr(19), "+08:05");
  auto back = ParseRfc3339(text);
  ASSERT_TRUE(back.ok()) << text;
  EXPECT_EQ(back->seconds(), t.seconds()) << text;
}

TEST(TimeTest, InputInstantsHaveARange) {
  const Timestamp now = *ParseRfc3339("2026-12-07T10:00:00+08:00");
  EXPECT_EQ(InstantRangeProblem(*ParseRfc3339("2000-01-01T00:00:00Z")), "");
  EXPECT_NE(InstantRangeProblem(*ParseRfc3339("1999-12-31T23:59:59Z")), "");
  EXPECT_NE(InstantRangeProblem(*ParseRfc3339("2100-01-01T00:00:00Z")), "");
  EXPECT_EQ(FutureProblem(now.PlusSeconds(86'400), now), "");
  EXPECT_EQ(FutureProblem(now.PlusSeconds(86'401), now), "must not be more than a day in the future");
  EXPECT_NE(InstantRangeProblem(*ParseRfc3339("9999-12-31T23:59:59+08:00")), "");
}

}  // namespace
TEST(TimeTest, DurationsOfDaysHoursMinutesAndSeconds) {
  EXPECT_EQ(*ParseDurationSeconds("P3DT2H"), 3 * 86400 + 2 * 3600);
  EXPECT_EQ(*ParseDurationSeconds("PT90M"), 5400);
  EXPECT_EQ(*ParseDurationSeconds("P1D"), 86400);
  EXPECT_EQ(*ParseDurationSeconds("PT1H1M1S"), 3661);
  EXPECT_EQ(*ParseDurationSeconds("PT0S"), 0);
  EXPECT_EQ(*ParseDurationSeconds("P36500D"), int64_t{36500} * 86400);
  for (const char* bad : {"", "P", "PT", "3D", "P1Y", "P1M", "P2W", "PT1D", "P1H", "PT1M1H", "P1DT", "PT1.5S",
                          "P-1D", "P1D1D", "PT1H2", "P99999999999999999999D", "P40000D", "p1d", "P1DT2HX"}) {
    EXPECT_FALSE(ParseDurationSeconds(bad).ok()) << bad;
  }
}

}  // namespace pond
