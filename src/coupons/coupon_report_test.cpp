#include "coupons/coupon_report.hpp"

#include <gtest/gtest.h>

namespace pond::coupons {
namespace {

using V = std::vector<int64_t>;

const TimeZone kShanghai = TimeZone::Fixed(8 * 3600);
const Timestamp kStart = *ParseRfc3339("2026-11-02T10:00:00+08:00");

CouponTemplate Template(int64_t id, int64_t face, int64_t cost, int32_t days) {
  CouponTemplate t;
  t.id = id;
  t.name = "t" + std::to_string(id);
  t.kind = CouponKind::kNoThreshold;
  t.off = Money::Fen(face);
  t.face_value = Money::Fen(face);
  t.cost = Money::Fen(cost);
  t.valid_days = days;
  return t;
}

TEST(CouponReportTest, CountsByStateTemplateRuleAndActivity) {
  const std::vector<CouponTemplate> templates = {Template(1, 1000, 600, 7), Template(2, 800, 800, 1),
                                                 Template(3, 500, 500, 7)};
  Wallet w(kShanghai);
  // Template 1: two from rule 4 (one redeemed), one from the API (revoked).
  ASSERT_TRUE(w.Issue(templates[0], 1, "rule:4:order:O-1", "A1", kStart).ok());
  ASSERT_TRUE(w.Issue(templates[0], 2, "rule:4:order:O-2", "A2", kStart).ok());
  ASSERT_TRUE(w.Issue(templates[0], 3, "api:key", "A3", kStart).ok());
  ASSERT_TRUE(w.Redeem("A1", "POS-1", kStart.PlusSeconds(60)).ok());
  ASSERT_TRUE(w.Revoke("A3", kStart.PlusSeconds(60)).ok());
  // Template 2 (valid one day): two from activity 9, one locked; both run out.
  ASSERT_TRUE(w.Issue(templates[1], 1, "activity:9:claim:1", "B1", kStart).ok());
  ASSERT_TRUE(w.Issue(templates[1], 2, "activity:9:claim:2", "B2", kStart).ok());
  ASSERT_TRUE(w.Lock("B2", "CART", kStart.PlusSeconds(600), kStart).ok());

  const Timestamp day_later = kStart.PlusSeconds(24 * 3600);  // template 2's day is over
  const CouponReport r = ReportCoupons(w, templates, day_later);
  const CouponTally& t1 = r.by_template.at(1);
  EXPECT_EQ((V{t1.issued.count, t1.issued.face_value.fen(), t1.issued.cost.fen()}), (V{3, 3000, 1800}));
  EXPECT_EQ((V{t1.redeemed.count, t1.redeemed.cost.fen()}), (V{1, 600}));
  EXPECT_EQ((V{t1.revoked.count, t1.unused.count, t1.expired.count}), (V{1, 1, 0}));
  const CouponTally& t2 = r.by_template.at(2);
  EXPECT_EQ((V{t2.issued.count, t2.expired.count, t2.expired.face_value.fen(), t2.unused.count}), (V{2, 2, 1600, 0}));
  EXPECT_EQ(r.by_template.at(3).issued.count, 0) << "a template nobody holds is reported with zeros";
  ASSERT_EQ(r.by_rule.size(), 1u);
  EXPECT_EQ((V{r.by_rule.at(4).issued.count, r.by_rule.at(4).redeemed.count}), (V{2, 1}));
  ASSERT_EQ(r.by_activity.size(), 1u);
  EXPECT_EQ(r.by_activity.at(9).expired.count, 2);
  // Before the day is over the locked one is unused, not expired.
  EXPECT_EQ(ReportCoupons(w, templates, kStart.PlusSeconds(60)).by_template.at(2).unused.count, 2);
}

}  // namespace
}  // namespace pond::coupons
