#include "coupons/coupon_report.hpp"

#include <charconv>
#include <string_view>

namespace pond::coupons {
namespace {

// The id after `prefix` in an occasion ("rule:3:order:O-1" → 3), or 0.
int64_t IdAfter(std::string_view occasion, std::string_view prefix) {
  if (!occasion.starts_with(prefix)) return 0;
  occasion.remove_prefix(prefix.size());
  int64_t id = 0;
  const auto [end, ec] = std::from_chars(occasion.data(), occasion.data() + occasion.size(), id);
  return ec == std::errc() && end != occasion.data() ? id : 0;
}

void Add(Amounts& a, const CouponTemplate* t) {
  ++a.count;
  if (t != nullptr) {
    // Saturating: a sum past int64 shows as the largest amount, never as a
    // negative one (templates bound each amount; counts are unbounded).
    a.face_value = a.face_value.SaturatingPlus(t->face_value);
    a.cost = a.cost.SaturatingPlus(t->cost);
  }
}

void Count(CouponTally& tally, const Coupon& c, CouponState state, const CouponTemplate* t,
           const RedemptionChecks& checks) {
  Add(tally.issued, t);
  switch (state) {
    case CouponState::kIssued:
    case CouponState::kLocked: Add(tally.unused, t); break;
    case CouponState::kRedeemed:
      Add(tally.redeemed, t);
      if (checks.violated && checks.violated(c.code)) Add(tally.violated, t);
      if (checks.unchecked && checks.unchecked(c.code)) Add(tally.unchecked, t);
      break;
    case CouponState::kExpired: Add(tally.expired, t); break;
    case CouponState::kRevoked: Add(tally.revoked, t); break;
  }
}

}  // namespace

CouponReport ReportCoupons(const Wallet& wallet, const std::vector<CouponTemplate>& templates, Timestamp now,
                           const RedemptionChecks& checks) {
  CouponReport report;
  for (const CouponTemplate& t : templates) report.by_template[t.id];  // a template nobody holds shows zeros
  wallet.ForEach([&](const Coupon& c) {
    const CouponTemplate* t =
        c.template_id >= 1 && c.template_id <= static_cast<int64_t>(templates.size()) ? &templates[c.template_id - 1]
                                                                                      : nullptr;
    const CouponState state = Wallet::AsOf(c, now).state;
    Count(report.by_template[c.template_id], c, state, t, checks);
    if (const int64_t rule = IdAfter(c.occasion, "rule:")) Count(report.by_rule[rule], c, state, t, checks);
    if (const int64_t activity = IdAfter(c.occasion, "activity:")) {
      Count(report.by_activity[activity], c, state, t, checks);
    }
  });
  return report;
}

}  // namespace pond::coupons
