#include "loyalty/loyalty_config.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pond {
namespace {

using Fields = std::vector<std::string>;

Fields FieldsOf(const Status& s) {
  Fields out;
  for (const FieldError& e : s.field_errors()) out.push_back(e.field);
  return out;
}

// The reason given for `field`, or a marker that fails any comparison.
std::string ReasonFor(const Status& s, std::string_view field) {
  for (const FieldError& e : s.field_errors()) {
    if (e.field == field) return e.reason;
  }
  return "<no error for " + std::string(field) + ">";
}

Fields RuleErrors(const LoyaltyConfig& c) {
  const Status s = ValidateLoyaltyConfig(c);
  if (!s.ok()) {
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("invalid loyalty configuration"), std::string::npos) << s.message();
  }
  return FieldsOf(s);
}

Status ParseError(std::string_view json) {
  Result<LoyaltyConfig> r = ParseLoyaltyConfig(json);
  if (r.ok()) return Status::Ok();
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status();
}

// A valid configuration in which every field differs from the default.
LoyaltyConfig ChangedConfig() {
  LoyaltyConfig c;
  c.growth_per_yuan = 20;
  c.basis = GrowthBasis::kRollingMonths;
  c.rolling_months = 6;
  c.review_grace_days = 15;
  c.tiers = {
      {"basic", "基础会员", 0, 8000, Money::Fen(0)},
      {"vip", "VIP \"尊享\"", 1000, 12'500, Money::Fen(300)},
      {"svip_2", "SVIP", 50'000, 30'000, Money::Fen(2000)},
  };
  c.category_multiplier_pct = {{"food", 150}, {"美妆", 0}};
  c.channel_multiplier_pct = {{"tmall", 50}, {"store", 1000}};
  c.expiry = {ExpiryKind::kAfterDays, 3, 180};
  c.expiring_soon_days = 14;
  c.member_day = {false, 5, Money::Fen(9900)};
  c.birthday = {300, Money::Fen(1500), 30};
  c.benefits = {
      {"lounge", "贵宾休息室", BenefitKind::kService, {"vip", "svip_2"}, "line 1\nline 2 \"quoted\" \\ \t"},
      {"ally", "联名", BenefitKind::kAlliance, {"svip_2"}, ""},
  };
  c.lifecycle = {60, 240, 5, 120, 400};
  return c;
}

TEST(LoyaltyConfigTest, NamesOfEnums) {
  EXPECT_EQ(GrowthBasisName(GrowthBasis::kLifetime), "lifetime");
  EXPECT_EQ(GrowthBasisName(GrowthBasis::kRollingMonths), "rolling_months");
  EXPECT_EQ(GrowthBasisName(GrowthBasis::kCalendarMonth), "calendar_month");
  EXPECT_EQ(ExpiryKindName(ExpiryKind::kEndOfYearAfter), "end_of_year_after");
  EXPECT_EQ(ExpiryKindName(ExpiryKind::kAfterDays), "after_days");
  EXPECT_EQ(ExpiryKindName(ExpiryKind::kNever), "never");
  EXPECT_EQ(BenefitKindName(BenefitKind::kProduct), "product");
  EXPECT_EQ(BenefitKindName(BenefitKind::kActivity), "activity");
  EXPECT_EQ(BenefitKindName(BenefitKind::kWelfare), "welfare");
  EXPECT_EQ(BenefitKindName(BenefitKind::kService), "service");
  EXPECT_EQ(BenefitKindName(BenefitKind::kAlliance), "alliance");
}

TEST(LoyaltyConfigTest, DefaultsFollowDomain) {
  const LoyaltyConfig c = DefaultLoyaltyConfig();
  EXPECT_TRUE(ValidateLoyaltyConfig(c).ok()) << ValidateLoyaltyConfig(c).ToString();
  EXPECT_EQ(c.growth_per_yuan, 10);
  EXPECT_EQ(c.basis, GrowthBasis::kLifetime);
  EXPECT_EQ(c.rolling_months, 3);
  EXPECT_EQ(c.review_grace_days, 0);
  const std::vector<TierRule> tiers = {{"standard", "普卡", 0, 10'000, Money::Fen(600)},
                                       {"silver", "银卡", 3000, 15'000, Money::Fen(800)},
                                       {"gold", "金卡", 6000, 20'000, Money::Fen(1000)}};
  EXPECT_EQ(c.tiers, tiers);
  EXPECT_TRUE(c.category_multiplier_pct.empty());
  EXPECT_TRUE(c.channel_multiplier_pct.empty());
  EXPECT_EQ(c.expiry, (ExpiryPolicy{ExpiryKind::kEndOfYearAfter, 1, 365}));
  EXPECT_EQ(c.expiring_soon_days, 30);
  EXPECT_EQ(c.member_day, (MemberDayRule{true, 3, Money::Fen(6800)}));
  EXPECT_EQ(c.birthday, (BirthdayRule{200, Money::Fen(800), 7}));
  EXPECT_EQ(c.lifecycle, (LifecycleRule{90, 180, 3, 180, 365}));
  ASSERT_FALSE(c.benefits.empty());
  const Benefit& member_day = c.benefits.front();
  EXPECT_EQ(member_day.id, "member_day");
  EXPECT_EQ(member_day.kind, BenefitKind::kActivity);
  EXPECT_EQ(member_day.tiers, (std::vector<std::string>{"standard", "silver", "gold"}));
}

TEST(LoyaltyConfigTest, TierForPicksTheHighestThresholdReached) {
  const LoyaltyConfig c = DefaultLoyaltyConfig();  // 0, 3000, 6000
  EXPECT_EQ(c.TierFor(-5), 0);
  EXPECT_EQ(c.TierFor(0), 0);
  EXPECT_EQ(c.TierFor(2999), 0);
  EXPECT_EQ(c.TierFor(3000), 1);
  EXPECT_EQ(c.TierFor(5999), 1);
  EXPECT_EQ(c.TierFor(6000), 2);
  EXPECT_EQ(c.TierFor(1'000'000'000), 2);
}

TEST(LoyaltyConfigTest, TierIndexByIdOrMinusOne) {
  const LoyaltyConfig c = DefaultLoyaltyConfig();
  EXPECT_EQ(c.TierIndex("standard"), 0);
  EXPECT_EQ(c.TierIndex("gold"), 2);
  EXPECT_EQ(c.TierIndex("platinum"), -1);
  EXPECT_EQ(c.TierIndex(""), -1);
}

// ---- Validation ----

TEST(LoyaltyConfigValidateTest, ChangedConfigIsValidAndDiffersEverywhere) {
  const LoyaltyConfig c = ChangedConfig();
  const LoyaltyConfig d = DefaultLoyaltyConfig();
  EXPECT_TRUE(ValidateLoyaltyConfig(c).ok()) << ValidateLoyaltyConfig(c).ToString();
  // The round trip below only proves every field survives if every field changed.
  EXPECT_NE(c.growth_per_yuan, d.growth_per_yuan);
  EXPECT_NE(c.basis, d.basis);
  EXPECT_NE(c.rolling_months, d.rolling_months);
  EXPECT_NE(c.review_grace_days, d.review_grace_days);
  ASSERT_EQ(c.tiers.size(), d.tiers.size());
  for (size_t i = 0; i < c.tiers.size(); ++i) {
    EXPECT_NE(c.tiers[i].id, d.tiers[i].id);
    EXPECT_NE(c.tiers[i].name, d.tiers[i].name);
    if (i > 0) {  // the first is 0 by rule
      EXPECT_NE(c.tiers[i].threshold, d.tiers[i].threshold);
    }
    EXPECT_NE(c.tiers[i].points_rate_bp, d.tiers[i].points_rate_bp);
    EXPECT_NE(c.tiers[i].member_day_off, d.tiers[i].member_day_off);
  }
  EXPECT_NE(c.category_multiplier_pct, d.category_multiplier_pct);
  EXPECT_NE(c.channel_multiplier_pct, d.channel_multiplier_pct);
  EXPECT_NE(c.expiry.kind, d.expiry.kind);
  EXPECT_NE(c.expiry.years, d.expiry.years);
  EXPECT_NE(c.expiry.days, d.expiry.days);
  EXPECT_NE(c.expiring_soon_days, d.expiring_soon_days);
  EXPECT_NE(c.member_day.enabled, d.member_day.enabled);
  EXPECT_NE(c.member_day.weekday, d.member_day.weekday);
  EXPECT_NE(c.member_day.threshold, d.member_day.threshold);
  EXPECT_NE(c.birthday.points_multiplier_pct, d.birthday.points_multiplier_pct);
  EXPECT_NE(c.birthday.coupon_off, d.birthday.coupon_off);
  EXPECT_NE(c.birthday.coupon_valid_days, d.birthday.coupon_valid_days);
  for (const Benefit& b : c.benefits) {
    for (const Benefit& db : d.benefits) {
      EXPECT_NE(b.id, db.id);
      EXPECT_NE(b.name, db.name);
      EXPECT_NE(b.tiers, db.tiers);
      EXPECT_NE(b.description, db.description);
    }
  }
  EXPECT_NE(c.lifecycle.active_days, d.lifecycle.active_days);
  EXPECT_NE(c.lifecycle.lost_after_days, d.lifecycle.lost_after_days);
  EXPECT_NE(c.lifecycle.mature_orders, d.lifecycle.mature_orders);
  EXPECT_NE(c.lifecycle.won_back_gap_days, d.lifecycle.won_back_gap_days);
  EXPECT_NE(c.lifecycle.window_days, d.lifecycle.window_days);
}

TEST(LoyaltyConfigValidateTest, TopLevelRanges) {
  LoyaltyConfig c = DefaultLoyaltyConfig();
  c.growth_per_yuan = 0;
  c.rolling_months = 25;
  c.review_grace_days = -1;
  c.expiring_soon_days = 366;
  const Status s = ValidateLoyaltyConfig(c);
  EXPECT_EQ(FieldsOf(s), (Fields{"growth_per_yuan", "rolling_months", "review_grace_days", "expiring_soon_days"}));
  EXPECT_EQ(ReasonFor(s, "growth_per_yuan"), "must be between 1 and 10000");
  EXPECT_EQ(ReasonFor(s, "rolling_months"), "must be between 1 and 24");

  c.growth_per_yuan = 10'001;
  c.rolling_months = 0;
  c.review_grace_days = 91;
  c.expiring_soon_days = 0;
  EXPECT_EQ(RuleErrors(c), (Fields{"growth_per_yuan", "rolling_months", "review_grace_days", "expiring_soon_days"}));

  c.growth_per_yuan = 10'000;
  c.rolling_months = 24;
  c.review_grace_days = 90;
  c.expiring_soon_days = 365;
  EXPECT_EQ(RuleErrors(c), Fields{});
  c.growth_per_yuan = 1;
  c.rolling_months = 1;
  c.review_grace_days = 0;
  c.expiring_soon_days = 1;
  EXPECT_EQ(RuleErrors(c), Fields{});
}

TEST(LoyaltyConfigValidateTest, TierCount) {
  LoyaltyConfig c = DefaultLoyaltyConfig();
  c.benefits.clear();  // they name the default tiers
  c.tiers.clear();
  EXPECT_EQ(RuleErrors(c), (Fields{"tiers"}));

  for (int64_t i = 0; i < 20; ++i) c.tiers.push_back({"t" + std::to_string(i), "T", i * 100, 10'000, Money()});
  EXPECT_EQ(RuleErrors(c), Fields{});
  c.tiers.push_back({"t20", "T", 2000, 10'000, Money()});
  EXPECT_EQ(RuleErrors(c), (Fields{"tiers"}));
}

TEST(LoyaltyConfigValidateTest, TierIds) {
  LoyaltyConfig c = DefaultLoyaltyConfig();
  c.benefits.clear();
  c.tiers = {{"", "A", 0, 10'000, Money()},
             {"Gold", "B", 10, 10'000, Money()},
             {"a-b", "C", 20, 10'000, Money()},
             {std::string(33, 'x'), "D", 30, 10'000, Money()},
             {std::string(32, 'x'), "E", 40, 10'000, Money()},
             {"ok_1", "F", 50, 10'000, Money()},
             {"ok_1", "G", 60, 10'000, Money()}};
  const Status s = ValidateLoyaltyConfig(c);
  EXPECT_EQ(FieldsOf(s), (Fields{"tiers[0].id", "tiers[1].id", "tiers[2].id", "tiers[3].id", "tiers[6].id"}));
  EXPECT_EQ(ReasonFor(s, "tiers[0].id"), "must not be empty");
  EXPECT_EQ(ReasonFor(s, "tiers[6].id"), "duplicates tiers[5].id");
}

TEST(LoyaltyConfigValidateTest, TierNamesCountBytes) {
  LoyaltyConfig c = DefaultLoyaltyConfig();
  std::string gold_21;  // "金" is 3 bytes in UTF-8: 21 of them are 63 bytes
  for (int i = 0; i < 21; ++i) gold_21 += "金";
  c.tiers[0].name = gold_21;
  c.tiers[1].name = "";
  c.tiers[2].name = gold_21 + "金";  // 66 bytes
  const Status s = ValidateLoyaltyConfig(c);
  EXPECT_EQ(FieldsOf(s), (Fields{"tiers[1].name", "tiers[2].name"}));
  EXPECT_EQ(ReasonFor(s, "tiers[2].name"), "must be at most 64 bytes");

  c.tiers[1].name = std::string(64, 'n');
  c.tiers[2].name = gold_21;
  EXPECT_EQ(RuleErrors(c), Fields{});
}

TEST(LoyaltyConfigValidateTest, ThresholdsStartAtZeroAndAscend) {
  LoyaltyConfig c = DefaultLoyaltyConfig();
  c.tiers[0].threshold = 100;
  c.tiers[1].threshold = 100;
  c.tiers[2].threshold = 50;
  const Status s = ValidateLoyaltyConfig(c);
  EXPECT_EQ(FieldsOf(s), (Fields{"tiers[0].threshold", "tiers[1].threshold", "tiers[2].threshold"}));
  EXPECT_EQ(ReasonFor(s, "tiers[2].threshold"), "must be greater than tiers[1].threshold (100)");

  c.tiers[0].threshold = 0;
  c.tiers[1].threshold = 1;
  c.tiers[2].threshold = 2;
  EXPECT_EQ(RuleErrors(c), Fields{});
}

TEST(LoyaltyConfigValidateTest, PointsRateAndMemberDayOff) {
  LoyaltyConfig c = DefaultLoyaltyConfig();
  c.tiers[0].points_rate_bp = -1;
  c.tiers[1].points_rate_bp = 1'000'001;
  c.tiers[1].member_day_off = Money::Fen(-1);
  c.tiers[2].member_day_off = Money::Fen(6801);  // above the 6800 threshold
  const Status s = ValidateLoyaltyConfig(c);
  EXPECT_EQ(FieldsOf(s), (Fields{"tiers[0].points_rate_bp", "tiers[1].points_rate_bp", "tiers[1].member_day_off_fen",
                                 "tiers[2].member_day_off_fen"}));
  EXPECT_EQ(ReasonFor(s, "tiers[2].member_day_off_fen"), "must not exceed member_day.threshold_fen (6800)");

  c.tiers[0].points_rate_bp = 0;
  c.tiers[1].points_rate_bp = 1'000'000;
  c.tiers[1].member_day_off = Money();
  c.tiers[2].member_day_off = Money::Fen(6800);
  EXPECT_EQ(RuleErrors(c), Fields{});
}

TEST(LoyaltyConfigValidateTest, Multipliers) {
  LoyaltyConfig c = DefaultLoyaltyConfig();
  c.category_multiplier_pct = {{"", 100}, {"beauty", -1}, {"food", 1001}, {"toys", 1000}, {"snacks", 0}};
  c.channel_multiplier_pct = {{"wechat", 100}, {"tmall", 1001}, {"jd", 0}, {"douyin", 1000}, {"minaprogram", 1500}};
  const Status s = ValidateLoyaltyConfig(c);
  EXPECT_EQ(FieldsOf(s),
            (Fields{"category_multiplier_pct", "category_multiplier_pct.beauty", "category_multiplier_pct.food",
                    "channel_multiplier_pct.minaprogram", "channel_multiplier_pct.tmall",
                    "channel_multiplier_pct.wechat"}));
  EXPECT_EQ(s.field_errors().size(), 6u) << "an unknown channel is named once, not also for its percentage";
  EXPECT_EQ(ReasonFor(s, "category_multiplier_pct.food"), "must be between 0 and 1000");
  EXPECT_NE(ReasonFor(s, "channel_multiplier_pct.wechat").find("miniprogram"), std::string::npos);
}

TEST(LoyaltyConfigValidateTest, EveryChannelNameIsAccepted) {
  LoyaltyConfig c = DefaultLoyaltyConfig();
  for (const char* ch :
       {"store", "miniprogram", "official_account", "wecom", "tmall", "jd", "pdd", "douyin", "app", "other"}) {
    c.channel_multiplier_pct[ch] = 100;
  }
  EXPECT_EQ(RuleErrors(c), Fields{});
}

TEST(LoyaltyConfigValidateTest, Expiry) {
  LoyaltyConfig c = DefaultLoyaltyConfig();
  c.expiry = {ExpiryKind::kNever, -1, 0};
  EXPECT_EQ(RuleErrors(c), (Fields{"expiry.years", "expiry.days"}));
  c.expiry = {ExpiryKind::kAfterDays, 11, 3651};
  EXPECT_EQ(RuleErrors(c), (Fields{"expiry.years", "expiry.days"}));
  c.expiry = {ExpiryKind::kEndOfYearAfter, 0, 1};  // 0: the end of the year earned
  EXPECT_EQ(RuleErrors(c), Fields{});
  c.expiry = {ExpiryKind::kAfterDays, 10, 3650};
  EXPECT_EQ(RuleErrors(c), Fields{});
}

TEST(LoyaltyConfigValidateTest, MemberDayAndBirthday) {
  LoyaltyConfig c = DefaultLoyaltyConfig();
  c.member_day.weekday = 0;
  c.birthday = {99, Money::Fen(-1), 0};
  EXPECT_EQ(RuleErrors(c), (Fields{"member_day.weekday", "birthday.points_multiplier_pct", "birthday.coupon_off_fen",
                                   "birthday.coupon_valid_days"}));
  c.member_day.weekday = 8;
  c.birthday = {1001, Money(), 367};
  EXPECT_EQ(RuleErrors(c),
            (Fields{"member_day.weekday", "birthday.points_multiplier_pct", "birthday.coupon_valid_days"}));
  c.member_day.weekday = 7;
  c.birthday = {100, Money(), 366};
  EXPECT_EQ(RuleErrors(c), Fields{});
  c.member_day.weekday = 1;
  c.birthday = {1000, Money(), 1};
  EXPECT_EQ(RuleErrors(c), Fields{});
}

TEST(LoyaltyConfigValidateTest, NegativeMemberDayThresholdAlsoFailsEveryTierDiscount) {
  LoyaltyConfig c = DefaultLoyaltyConfig();
  c.member_day.threshold = Money::Fen(-1);
  EXPECT_EQ(RuleErrors(c), (Fields{"tiers[0].member_day_off_fen", "tiers[1].member_day_off_fen",
                                   "tiers[2].member_day_off_fen", "member_day.threshold_fen"}));
}

TEST(LoyaltyConfigValidateTest, Benefits) {
  LoyaltyConfig c = DefaultLoyaltyConfig();
  c.benefits = {{"bag", "购物袋", BenefitKind::kService, {"gold"}, ""},
                {"bag", "", BenefitKind::kService, {}, ""},
                {"", "x", BenefitKind::kWelfare, {"silver", "platinum", "gold", "Gold"}, ""}};
  const Status s = ValidateLoyaltyConfig(c);
  EXPECT_EQ(FieldsOf(s), (Fields{"benefits[1].id", "benefits[1].name", "benefits[1].tiers", "benefits[2].id",
                                 "benefits[2].tiers[1]", "benefits[2].tiers[3]"}));
  EXPECT_EQ(ReasonFor(s, "benefits[1].id"), "duplicates benefits[0].id");
}

TEST(LoyaltyConfigValidateTest, Lifecycle) {
  LoyaltyConfig c = DefaultLoyaltyConfig();
  c.lifecycle = {0, 0, 0, 0, 0};
  EXPECT_EQ(RuleErrors(c), (Fields{"lifecycle.active_days", "lifecycle.lost_after_days", "lifecycle.mature_orders",
                                   "lifecycle.won_back_gap_days", "lifecycle.window_days"}));
  c.lifecycle = {3651, 3651, 1001, 3651, 3651};
  EXPECT_EQ(RuleErrors(c), (Fields{"lifecycle.active_days", "lifecycle.lost_after_days", "lifecycle.mature_orders",
                                   "lifecycle.won_back_gap_days", "lifecycle.window_days"}));
  c.lifecycle = {90, 90, 3, 180, 365};  // lost must come after active
  EXPECT_EQ(RuleErrors(c), (Fields{"lifecycle.lost_after_days"}));
  c.lifecycle = {1, 2, 1, 1, 1};
  EXPECT_EQ(RuleErrors(c), Fields{});
  c.lifecycle = {3649, 3650, 1000, 3650, 3650};
  EXPECT_EQ(RuleErrors(c), Fields{});
}

TEST(LoyaltyConfigValidateTest, ReportsEveryProblemAtOnceInDocumentOrder) {
  LoyaltyConfig c = DefaultLoyaltyConfig();
  c.growth_per_yuan = -10;
  c.tiers[1].threshold = 0;
  c.channel_multiplier_pct["fax"] = 100;
  c.expiry.years = 20;
  c.benefits[0].name = "";
  c.lifecycle.window_days = 0;
  const Status s = ValidateLoyaltyConfig(c);
  EXPECT_EQ(FieldsOf(s), (Fields{"growth_per_yuan", "tiers[1].threshold", "channel_multiplier_pct.fax", "expiry.years",
                                 "benefits[0].name", "lifecycle.window_days"}));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("invalid loyalty configuration"), std::string::npos);
  EXPECT_NE(s.message().find("(and 5 more)"), std::string::npos) << s.message();
}

// ---- JSON ----

TEST(LoyaltyConfigJsonTest, DocumentShape) {
  LoyaltyConfig c = DefaultLoyaltyConfig();
  c.tiers = {{"standard", "普卡", 0, 10'000, Money::Fen(600)}};
  c.category_multiplier_pct = {{"food", 150}, {"beauty", 200}};
  c.channel_multiplier_pct = {{"tmall", 50}};
  c.benefits = {{"free_bag", "免费购物袋", BenefitKind::kService, {"standard"}, "门店\"结账\""}};
  EXPECT_EQ(
      LoyaltyConfigJson(c),
      R"({"growth_per_yuan":10,"basis":"lifetime","rolling_months":3,"review_grace_days":0,)"
      R"("tiers":[{"id":"standard","name":"普卡","threshold":0,"points_rate_bp":10000,"member_day_off_fen":600}],)"
      R"("category_multiplier_pct":{"beauty":200,"food":150},"channel_multiplier_pct":{"tmall":50},)"
      R"("expiry":{"kind":"end_of_year_after","years":1,"days":365},"expiring_soon_days":30,)"
      R"("member_day":{"enabled":true,"weekday":3,"threshold_fen":6800},)"
      R"("birthday":{"points_multiplier_pct":200,"coupon_off_fen":800,"coupon_valid_days":7},)"
      R"("benefits":[{"id":"free_bag","name":"免费购物袋","kind":"service","tiers":["standard"],)"
      R"("description":"门店\"结账\""}],)"
      R"("lifecycle":{"active_days":90,"lost_after_days":180,"mature_orders":3,"won_back_gap_days":180,)"
      R"("window_days":365}})");
}

void ExpectRoundTrip(const LoyaltyConfig& c) {
  const std::string json = LoyaltyConfigJson(c);
  const Result<LoyaltyConfig> parsed = ParseLoyaltyConfig(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString() << "\n" << json;
  EXPECT_EQ(LoyaltyConfigJson(*parsed), json);  // a readable diff when a field is lost
  EXPECT_TRUE(*parsed == c);
}

TEST(LoyaltyConfigJsonTest, AFieldIsNamedOnceEvenWhenTwoKeysHaveItsPath) {
  // Found by the fuzzer: a top-level key "lifecycle.x" and lifecycle's "x".
  auto c = ParseLoyaltyConfig(R"({"lifecycle.x":1,"lifecycle":{"x":1}})");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(FieldsOf(c.status()), (Fields{"lifecycle.x"}));
}

TEST(LoyaltyConfigJsonTest, DefaultRoundTrips) { ExpectRoundTrip(DefaultLoyaltyConfig()); }

TEST(LoyaltyConfigJsonTest, ChangedRoundTrips) { ExpectRoundTrip(ChangedConfig()); }

TEST(LoyaltyConfigJsonTest, EveryEnumValueRoundTrips) {
  LoyaltyConfig c = DefaultLoyaltyConfig();
  for (GrowthBasis b : {GrowthBasis::kLifetime, GrowthBasis::kRollingMonths, GrowthBasis::kCalendarMonth}) {
    c.basis = b;
    ExpectRoundTrip(c);
  }
  for (ExpiryKind k : {ExpiryKind::kEndOfYearAfter, ExpiryKind::kAfterDays, ExpiryKind::kNever}) {
    c.expiry.kind = k;
    ExpectRoundTrip(c);
  }
  for (BenefitKind k : {BenefitKind::kProduct, BenefitKind::kActivity, BenefitKind::kWelfare, BenefitKind::kService,
                        BenefitKind::kAlliance}) {
    c.benefits[0].kind = k;
    ExpectRoundTrip(c);
  }
}

TEST(LoyaltyConfigParseTest, EmptyObjectIsTheDefault) {
  const Result<LoyaltyConfig> r = ParseLoyaltyConfig("{}");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(*r == DefaultLoyaltyConfig());
}

TEST(LoyaltyConfigParseTest, PartialDocumentChangesOnlyWhatItNames) {
  const Result<LoyaltyConfig> r =
      ParseLoyaltyConfig(R"({"growth_per_yuan":20,"member_day":{"weekday":5},"channel_multiplier_pct":{"tmall":50},)"
                         R"("lifecycle":{"window_days":180}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  LoyaltyConfig expected = DefaultLoyaltyConfig();
  expected.growth_per_yuan = 20;
  expected.member_day.weekday = 5;
  expected.channel_multiplier_pct = {{"tmall", 50}};
  expected.lifecycle.window_days = 180;
  EXPECT_EQ(LoyaltyConfigJson(*r), LoyaltyConfigJson(expected));
  EXPECT_TRUE(*r == expected);
}

TEST(LoyaltyConfigParseTest, GivenTiersReplaceTheListAndOptionalTierKeysDefault) {
  const Result<LoyaltyConfig> r = ParseLoyaltyConfig(
      R"({"tiers":[{"id":"standard","name":"普","threshold":0},)"
      R"({"id":"silver","name":"银","threshold":5000,"points_rate_bp":12000,"member_day_off_fen":700},)"
      R"({"id":"gold","name":"金","threshold":9000}]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::vector<TierRule> tiers = {{"standard", "普", 0, 10'000, Money()},
                                       {"silver", "银", 5000, 12'000, Money::Fen(700)},
                                       {"gold", "金", 9000, 10'000, Money()}};
  EXPECT_EQ(r->tiers, tiers);
  EXPECT_EQ(r->benefits, DefaultLoyaltyConfig().benefits);
}

TEST(LoyaltyConfigParseTest, GivenBenefitsReplaceTheList) {
  Result<LoyaltyConfig> r = ParseLoyaltyConfig(R"({"benefits":[]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->benefits.empty());

  r = ParseLoyaltyConfig(R"({"benefits":[{"id":"bag","name":"袋","kind":"service","tiers":["gold","silver"]}]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::vector<Benefit> benefits = {{"bag", "袋", BenefitKind::kService, {"gold", "silver"}, ""}};
  EXPECT_EQ(r->benefits, benefits);
}

TEST(LoyaltyConfigParseTest, WholeNumbersWrittenAsDecimalsAreIntegers) {
  const Result<LoyaltyConfig> r = ParseLoyaltyConfig(R"({"growth_per_yuan":20.0,"member_day":{"threshold_fen":99e2}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->growth_per_yuan, 20);
  EXPECT_EQ(r->member_day.threshold, Money::Fen(9900));
}

TEST(LoyaltyConfigParseTest, MalformedBodiesNameTheBody) {
  for (const char* body : {"", "   ", "{", R"({"growth_per_yuan":})", "{} x", "{'a':1}", "\xff", "{\"a\":\"\xc0\x80\"}",
                           "[1,2]", "42", "null", R"("config")"}) {
    const Status s = ParseError(body);
    EXPECT_EQ(FieldsOf(s), Fields{"body"}) << body;
    EXPECT_TRUE(IsUnreadable(s)) << s.ToString();  // a 400, not a 422
  }
  EXPECT_EQ(ReasonFor(ParseError("[1,2]"), "body"), "must be a JSON object");
  EXPECT_EQ(ReasonFor(ParseError("{"), "body").rfind("is not JSON: ", 0), 0u);
}

TEST(LoyaltyConfigParseTest, WrongTypesNameEachField) {
  const Status s =
      ParseError(R"({"growth_per_yuan":"10","basis":3,"tiers":{},"expiry":[],)"
                 R"("member_day":{"enabled":"yes","weekday":"3"},"category_multiplier_pct":{"food":"150"},)"
                 R"("benefits":[{"id":1,"name":"n","kind":"welfare","tiers":"gold"}],"lifecycle":null,)"
                 R"("birthday":{"coupon_off_fen":8.5}})");
  EXPECT_EQ(FieldsOf(s), (Fields{"growth_per_yuan", "basis", "tiers", "expiry", "member_day.enabled",
                                 "member_day.weekday", "category_multiplier_pct.food", "benefits[0].id",
                                 "benefits[0].tiers", "lifecycle", "birthday.coupon_off_fen"}));
  EXPECT_EQ(ReasonFor(s, "growth_per_yuan"), "must be an integer");
  EXPECT_EQ(ReasonFor(s, "basis"), "must be a string");
  EXPECT_EQ(ReasonFor(s, "tiers"), "must be an array");
  EXPECT_EQ(ReasonFor(s, "expiry"), "must be an object");
  EXPECT_EQ(ReasonFor(s, "member_day.enabled"), "must be true or false");
  EXPECT_EQ(ReasonFor(s, "benefits[0].id"), "must be a string");
  EXPECT_EQ(ReasonFor(s, "lifecycle"), "must be an object");
  EXPECT_EQ(ReasonFor(s, "birthday.coupon_off_fen"), "must be an integer");
}

TEST(LoyaltyConfigParseTest, UnknownKeysAnywhere) {
  const Status s = ParseError(R"({"growth":1,"expiry":{"month":3},"benefits":[],)"
                              R"("tiers":[{"id":"standard","name":"普卡","threshold":0,"color":"red"}]})");
  EXPECT_EQ(FieldsOf(s), (Fields{"growth", "expiry.month", "tiers[0].color"}));
  EXPECT_EQ(ReasonFor(s, "tiers[0].color"), "unknown field");
}

TEST(LoyaltyConfigParseTest, MissingRequiredListKeys) {
  const Status s = ParseError(R"({"tiers":[{"name":"普卡"}],"benefits":[{"id":"b"}]})");
  // The empty id and name the rules would also find are not reported twice.
  EXPECT_EQ(FieldsOf(s),
            (Fields{"tiers[0].id", "tiers[0].threshold", "benefits[0].name", "benefits[0].kind", "benefits[0].tiers"}));
  EXPECT_EQ(ReasonFor(s, "tiers[0].threshold"), "is required");
}

TEST(LoyaltyConfigParseTest, UnknownEnumNamesListTheAllowedOnes) {
  const Status s = ParseError(R"({"basis":"weekly","expiry":{"kind":"monthly"},)"
                              R"("benefits":[{"id":"x","name":"x","kind":"coupon","tiers":["gold"]}]})");
  EXPECT_EQ(FieldsOf(s), (Fields{"basis", "expiry.kind", "benefits[0].kind"}));
  EXPECT_EQ(ReasonFor(s, "basis"), "unknown basis 'weekly' (expected one of lifetime, rolling_months, calendar_month)");
  EXPECT_EQ(ReasonFor(s, "expiry.kind"),
            "unknown expiry kind 'monthly' (expected one of end_of_year_after, after_days, never)");
  EXPECT_EQ(ReasonFor(s, "benefits[0].kind"),
            "unknown benefit kind 'coupon' (expected one of product, activity, welfare, service, alliance)");
}

TEST(LoyaltyConfigParseTest, NumbersOutsideInt64OrNotWhole) {
  const Status s =
      ParseError(R"({"growth_per_yuan":1e30,"tiers":[{"id":"standard","name":"普卡","threshold":0},)"
                 R"({"id":"silver","name":"银卡","threshold":9223372036854775808},)"
                 R"({"id":"gold","name":"金卡","threshold":6000.5}],"member_day":{"threshold_fen":-1e300}})");
  EXPECT_EQ(FieldsOf(s),
            (Fields{"growth_per_yuan", "tiers[1].threshold", "tiers[2].threshold", "member_day.threshold_fen"}));
  EXPECT_EQ(ReasonFor(s, "growth_per_yuan"), "is out of the 64-bit integer range");
  EXPECT_EQ(ReasonFor(s, "tiers[1].threshold"), "is out of the 64-bit integer range");
  EXPECT_EQ(ReasonFor(s, "tiers[2].threshold"), "must be an integer");
}

TEST(LoyaltyConfigParseTest, IntegersBeyondIntGetTheRuleRange) {
  // 2^32 + 5 and -(2^32) + 3 would wrap to the valid 5 and 3 if narrowed.
  const Status s = ParseError(R"({"expiry":{"years":4294967301},"lifecycle":{"mature_orders":-4294967293}})");
  EXPECT_EQ(FieldsOf(s), (Fields{"expiry.years", "lifecycle.mature_orders"}));
  EXPECT_EQ(ReasonFor(s, "expiry.years"), "must be between 0 and 10");
  EXPECT_EQ(ReasonFor(s, "lifecycle.mature_orders"), "must be between 1 and 1000");
}

TEST(LoyaltyConfigParseTest, StructuralAndRuleErrorsTogether) {
  const Status s = ParseError(R"({"growth_per_yuan":0,"basis":"weekly","channel_multiplier_pct":{"fax":100},)"
                              R"("birthday":{"coupon_valid_days":400,"points_multiplier_pct":true}})");
  // Structural errors in document order, then the rules' in theirs.
  EXPECT_EQ(FieldsOf(s), (Fields{"basis", "birthday.points_multiplier_pct", "growth_per_yuan",
                                 "channel_multiplier_pct.fax", "birthday.coupon_valid_days"}));
}

TEST(LoyaltyConfigParseTest, UnreadableTierIsReportedOnceAndKeepsItsIndex) {
  const Status s = ParseError(R"({"benefits":[],"tiers":[{"id":"standard","name":"普卡","threshold":0},5,)"
                              R"({"id":"gold","name":"金卡","threshold":-1}]})");
  // The tier after the unreadable one keeps its index in the errors.
  EXPECT_EQ(FieldsOf(s), (Fields{"tiers[1]", "tiers[2].threshold"}));
  EXPECT_EQ(ReasonFor(s, "tiers[1]"), "must be an object");
}

TEST(LoyaltyConfigParseTest, NoPrefixOfADocumentParses) {
  const std::string json = LoyaltyConfigJson(ChangedConfig());
  for (size_t n = 0; n < json.size(); ++n) {
    EXPECT_EQ(FieldsOf(ParseError(json.substr(0, n))), Fields{"body"}) << json.substr(0, n);
  }
}

TEST(LoyaltyConfigParseTest, DeepNestingIsAnErrorNotACrash) {
  const std::string deep = R"({"tiers":)" + std::string(100'000, '[') + std::string(100'000, ']') + "}";
  EXPECT_EQ(FieldsOf(ParseError(deep)), Fields{"body"});
}

// PUT {} used to reset the whole programme to the defaults without a word.
TEST(LoyaltyConfigParseTest, AWholeDocumentNeedsEveryKey) {
  const Result<LoyaltyConfig> empty = ParseLoyaltyConfig("{}", LoyaltyDocument::kWhole);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(ReasonFor(empty.status(), "tiers").rfind("is required", 0), 0u);
  EXPECT_EQ(ReasonFor(empty.status(), "growth_per_yuan").rfind("is required", 0), 0u);
  EXPECT_FALSE(ParseLoyaltyConfig(R"({"growth_per_yuan":20})", LoyaltyDocument::kWhole).ok());
  const std::string whole = LoyaltyConfigJson(ChangedConfig());
  const Result<LoyaltyConfig> back = ParseLoyaltyConfig(whole, LoyaltyDocument::kWhole);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(LoyaltyConfigJson(*back), whole);
}

TEST(LoyaltyConfigParseTest, APatchChangesOnlyTheKeysItNames) {
  const LoyaltyConfig current = ChangedConfig();
  const Result<LoyaltyConfig> patched =
      ParseLoyaltyConfig(R"({"growth_per_yuan":20,"member_day":{"weekday":5}})", LoyaltyDocument::kPatch, current);
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  LoyaltyConfig expected = current;
  expected.growth_per_yuan = 20;
  expected.member_day.weekday = 5;
  EXPECT_EQ(LoyaltyConfigJson(*patched), LoyaltyConfigJson(expected));
  EXPECT_EQ(LoyaltyConfigJson(*ParseLoyaltyConfig("{}", LoyaltyDocument::kPatch, current)), LoyaltyConfigJson(current));
  // A patch is checked like a whole document.
  EXPECT_FALSE(ParseLoyaltyConfig(R"({"growth_per_yuan":0})", LoyaltyDocument::kPatch, current).ok());
}

TEST(LoyaltyConfigParseTest, AmountsAreBounded) {
  const Result<LoyaltyConfig> r = ParseLoyaltyConfig(R"({"birthday":{"coupon_off_fen":1000000000001}})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(FieldsOf(r.status()), Fields{"birthday.coupon_off_fen"});
}

}  // namespace
}  // namespace pond
