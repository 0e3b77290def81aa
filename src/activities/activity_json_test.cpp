#include "activities/activity_json.hpp"

#include <gtest/gtest.h>

#include <map>

namespace pond::activities {
namespace {

std::map<std::string, std::string> Reasons(const Status& s) {
  std::map<std::string, std::string> out;
  for (const FieldError& e : s.field_errors()) out[e.field] = e.reason;
  return out;
}

TEST(ActivityJsonTest, TheContractsExampleIsAccepted) {
  auto a = ParseActivity(
      R"({"kind":"flash_sale","sku":"SKU-1","price_fen":990,"stock":100,"per_member_limit":1,)"
      R"("starts_at":"2026-11-27T20:00:00+08:00","ends_at":"2026-11-27T22:00:00+08:00"})");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->kind, ActivityKind::kFlashSale);
  EXPECT_EQ(a->name, "flash_sale") << "a name defaults to the kind's";
  EXPECT_EQ(a->stock, 100);
  EXPECT_EQ(a->price.fen(), 990);
  EXPECT_EQ(a->ends_at.micros() - a->starts_at.micros(), int64_t{2} * 3600 * 1'000'000);
  // Two requests without a seed get different ones (from the kernel).
  auto b = ParseActivity(
      R"({"kind":"flash_sale","sku":"SKU-1","stock":1,"starts_at":"2026-11-27T20:00:00+08:00","ends_at":"2026-11-28T20:00:00+08:00"})");
  ASSERT_TRUE(b.ok());
  EXPECT_NE(a->seed, b->seed);
}

TEST(ActivityJsonTest, EveryBadFieldIsNamedOnce) {
  auto a = ParseActivity(
      R"({"kind":"group_buy","sku":"S","price_fen":500,"list_price_fen":"x","stock":1,"group_size":3,)"
      R"("starts_at":"tomorrow","prizes":[{"name":"t"}],"stok":3,"seed":"xyz","id":4})");
  ASSERT_FALSE(a.ok());
  const auto reasons = Reasons(a.status());
  EXPECT_EQ(reasons.at("list_price_fen"), "must be a whole number");
  EXPECT_NE(reasons.at("starts_at").find("RFC 3339"), std::string::npos);
  EXPECT_EQ(reasons.at("ends_at"), "is required");
  EXPECT_EQ(reasons.at("stock"), "must hold one group at least");
  EXPECT_EQ(reasons.at("stok"), "is not a field of an activity");
  EXPECT_EQ(reasons.at("seed"), "must be 16 hex digits");
  EXPECT_EQ(reasons.at("id"), "is given by Pond");
  EXPECT_EQ(reasons.at("prizes"), "applies only to lucky_draw") << "a field of another kind is refused";
  EXPECT_EQ(reasons.size(), 8u) << a.status().ToString();
  // An empty or null instant is no instant (the fuzzer found "" taken as 1970).
  const auto blank = Reasons(ParseActivity(
      R"({"kind":"points_mall","points":500,"template_id":3,"stock":100,"starts_at":"","ends_at":null})").status());
  EXPECT_EQ(blank.at("starts_at"), "is required");
  EXPECT_EQ(blank.at("ends_at"), "is required");
  EXPECT_EQ(Reasons(ParseActivity(R"({"kind":"raffle"})").status()).at("kind"),
            "must be: flash_sale, group_buy, bargain, lucky_draw or points_mall");
  EXPECT_EQ(ParseActivity("[]").status().field_errors().at(0).field, "body");
}

TEST(ActivityJsonTest, EachKindChecksItsOwnFields) {
  const std::string window = R"("starts_at":"2026-11-27T20:00:00+08:00","ends_at":"2026-11-27T19:00:00+08:00")";
  EXPECT_EQ(Reasons(ParseActivity(R"({"kind":"bargain","sku":"S","price_fen":100,"list_price_fen":102,"helpers":5,"stock":3,)" +
                                  window + "}")
                        .status()),
            (std::map<std::string, std::string>{
                {"ends_at", "must be after starts_at"},
                {"list_price_fen", "must exceed price_fen by at least one fen per helper"}}));
  EXPECT_EQ(Reasons(ParseActivity(R"({"kind":"lucky_draw","stock":5,"price_fen":1,"prizes":[{"name":"","stock":0,"weight":1,"colour":1}],)" +
                                  window + "}")
                        .status()),
            (std::map<std::string, std::string>{{"ends_at", "must be after starts_at"},
                                                {"stock", "is the prizes' stock for a lucky draw"},
                                                {"price_fen", "is only for flash_sale, group_buy and bargain"},
                                                {"prizes[0].colour", "is not a field of a prize"},
                                                {"prizes[0].name", "must be 1 to 200 bytes"},
                                                {"prizes[0].stock", "must be between 1 and 2^40"}}));
  EXPECT_EQ(Reasons(ParseActivity(R"({"kind":"lucky_draw","prizes":[{"name":"a","stock":1,"weight":1},{"name":"a","stock":1,"weight":1}],)" +
                                  window + "}")
                        .status())
                .at("prizes[1].name"),
            "is the name of another prize");
  EXPECT_EQ(Reasons(ParseActivity(R"({"kind":"points_mall","stock":5,"sku":"G","template_id":2,)" + window + "}").status())
                .at("points"),
            "must be >= 1: what a claim costs");
}

TEST(ActivityJsonTest, TheStoredFormRoundTrips) {
  auto a = ParseActivity(
      R"({"kind":"lucky_draw","name":"演唱会","prizes":[{"name":"ticket","stock":300,"weight":3,"template_id":4}],)"
      R"("none_weight":997,"snapshot_id":2,"purchase_required":true,"per_member_limit":2,"seed":"00000000deadbeef",)"
      R"("starts_at":"2026-11-27T20:00:00+08:00","ends_at":"2026-11-30T20:00:00+08:00"})");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->seed, 0xdeadbeefu);
  a->id = 1;
  auto back = ParseActivities(ActivitiesJson({*a}));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 1u);
  const Activity& b = back->front();
  EXPECT_EQ(ActivitiesJson({b}), ActivitiesJson({*a}));
  EXPECT_EQ(b.id, 1);
  EXPECT_EQ(b.seed, 0xdeadbeefu);
  EXPECT_EQ(b.prizes.at(0).template_id, 4);
  EXPECT_TRUE(b.purchase_required);
}

}  // namespace
}  // namespace pond::activities
