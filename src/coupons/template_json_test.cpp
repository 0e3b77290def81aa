#include "coupons/template_json.hpp"

#include <gtest/gtest.h>

#include <map>

namespace pond::coupons {
namespace {

std::map<std::string, std::string> Reasons(const Status& s) {
  std::map<std::string, std::string> out;
  for (const FieldError& e : s.field_errors()) out[e.field] = e.reason;
  return out;
}

TEST(TemplateJsonTest, TheContractsExampleIsAccepted) {
  auto t = ParseTemplate(
      R"({"name":"满68减10","kind":"cash_off","threshold_fen":6800,"off_fen":1000,"valid_days":7,"stock":1000,"per_member_limit":1})");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->kind, CouponKind::kCashOff);
  EXPECT_EQ(t->threshold.fen(), 6800);
  EXPECT_EQ(t->stock, 1000);
  EXPECT_EQ(t->face_value.fen(), 1000) << "face value defaults to what it takes off";
}

TEST(TemplateJsonTest, EveryBadFieldIsNamedOnce) {
  auto t = ParseTemplate(
      R"({"name":"x","kind":"cash_off","threshhold_fen":6800,"off_fen":"10","valid_days":7,)"
      R"("scope":{"stores":"S001","brands":[]},"valid_to":"tomorrow","id":3})");
  ASSERT_FALSE(t.ok());
  const auto reasons = Reasons(t.status());
  EXPECT_EQ(reasons.at("threshhold_fen"), "is not a field of a coupon template");
  EXPECT_EQ(reasons.at("off_fen"), "must be a whole number");
  EXPECT_EQ(reasons.at("threshold_fen"), "must be > 0 for cash_off (use no_threshold otherwise)");
  EXPECT_EQ(reasons.at("scope.stores"), "must be an array of strings");
  EXPECT_EQ(reasons.at("scope.brands"), "is not a field of a coupon template");
  EXPECT_NE(reasons.at("valid_to").find("RFC 3339"), std::string::npos);
  EXPECT_EQ(reasons.at("id"), "is given by Pond");
  EXPECT_EQ(ParseTemplate("[1]").status().field_errors().at(0).field, "body");
  EXPECT_EQ(ParseTemplate("{").status().field_errors().at(0).field, "body");
}

TEST(TemplateJsonTest, StoredTemplatesComeBackAsTheyWent) {
  auto a = ParseTemplate(
      R"({"name":"88折 food","kind":"discount","percent_off":12,"threshold_fen":0,"scope":{"categories":["food"],)"
      R"("channels":["store","miniprogram"]},"valid_from":"2026-11-01T00:00:00+08:00",)"
      R"("valid_to":"2026-12-01T00:00:00+08:00","per_day_limit":1,"stackable":true,"restore_on_refund":true,)"
      R"("face_value_fen":500,"cost_fen":300})");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  a->id = 7;
  auto b = ParseTemplate(R"({"name":"加1元换购","kind":"exchange","sku":"SKU-9","exchange_price_fen":100,"valid_days":3})");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  b->id = 8;
  auto back = ParseTemplates(TemplatesJson({*a, *b}));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ(TemplatesJson(*back), TemplatesJson({*a, *b}));
  EXPECT_EQ((*back)[0].id, 7);
  EXPECT_EQ((*back)[0].scope.channels, (std::vector<std::string>{"store", "miniprogram"}));
  EXPECT_EQ((*back)[0].valid_to, a->valid_to);
  EXPECT_FALSE((*back)[1].stock.has_value());
}

}  // namespace
}  // namespace pond::coupons

namespace pond::coupons {
namespace {

TEST(TemplateJsonTest, AFieldOfTheWrongTypeHasOneReason) {
  auto t = ParseTemplate(R"({"name":"x","kind":1000,"valid_days":7})");
  ASSERT_FALSE(t.ok());
  ASSERT_EQ(t.status().field_errors().size(), 1u);
  EXPECT_EQ(t.status().field_errors()[0].field, "kind");
  EXPECT_EQ(t.status().field_errors()[0].reason, "must be a string");
}

}  // namespace
}  // namespace pond::coupons
