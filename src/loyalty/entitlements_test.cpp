#include "loyalty/entitlements.hpp"

#include <gtest/gtest.h>

namespace pond {
namespace {

LocalDate Ymd(int y, int m, int d) { return LocalDate::FromYmd(y, m, d); }

TEST(EntitlementsTest, MemberDayIsWednesdayWithTheTiersDiscount) {
  const LoyaltyConfig config = DefaultLoyaltyConfig();
  // 2026-11-25 is a Wednesday.
  const Entitlements wed = EntitlementsOf(config, 2, std::nullopt, Ymd(2026, 11, 25));
  EXPECT_TRUE(wed.member_day.today);
  EXPECT_EQ(wed.member_day.next, Ymd(2026, 11, 25));
  EXPECT_EQ(wed.member_day.threshold.fen(), 6800);
  EXPECT_EQ(wed.member_day.off.fen(), 1000);  // gold 满68减10
  const Entitlements thu = EntitlementsOf(config, 0, std::nullopt, Ymd(2026, 11, 26));
  EXPECT_FALSE(thu.member_day.today);
  EXPECT_EQ(thu.member_day.next, Ymd(2026, 12, 2));
  EXPECT_EQ(thu.member_day.off.fen(), 600);  // standard 减6
}

TEST(EntitlementsTest, BirthdayPerksComeRoundOnTheDayAndFeb29OnFeb28) {
  const LoyaltyConfig config = DefaultLoyaltyConfig();
  const Entitlements on = EntitlementsOf(config, 0, Ymd(1995, 11, 22), Ymd(2026, 11, 22));
  EXPECT_TRUE(on.birthday.today);
  EXPECT_EQ(on.birthday.points_multiplier_pct, 200);
  EXPECT_EQ(on.birthday.coupon_off.fen(), 800);
  const Entitlements after = EntitlementsOf(config, 0, Ymd(1995, 11, 22), Ymd(2026, 11, 23));
  EXPECT_FALSE(after.birthday.today);
  EXPECT_EQ(after.birthday.next, Ymd(2027, 11, 22));
  EXPECT_EQ(EntitlementsOf(config, 0, Ymd(2000, 2, 29), Ymd(2027, 1, 1)).birthday.next, Ymd(2027, 2, 28));
  EXPECT_EQ(EntitlementsOf(config, 0, Ymd(2000, 2, 29), Ymd(2028, 1, 1)).birthday.next, Ymd(2028, 2, 29));
  EXPECT_FALSE(EntitlementsOf(config, 0, std::nullopt, Ymd(2027, 1, 1)).birthday.known);
}

TEST(EntitlementsTest, BenefitsAreThoseListingTheMembersTier) {
  LoyaltyConfig config = DefaultLoyaltyConfig();
  config.benefits = {Benefit{"a", "A", BenefitKind::kProduct, {"gold"}, ""},
                     Benefit{"b", "B", BenefitKind::kService, {"standard", "gold"}, ""}};
  const Entitlements standard = EntitlementsOf(config, 0, std::nullopt, Ymd(2026, 1, 1));
  ASSERT_EQ(standard.benefits.size(), 1u);
  EXPECT_EQ(standard.benefits[0]->id, "b");
  EXPECT_EQ(EntitlementsOf(config, 2, std::nullopt, Ymd(2026, 1, 1)).benefits.size(), 2u);
  EXPECT_TRUE(EntitlementsOf(config, 1, std::nullopt, Ymd(2026, 1, 1)).benefits.empty());
}

}  // namespace
}  // namespace pond
