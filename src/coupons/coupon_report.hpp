// Coupon reports (issue #5 "Reporting"): how many coupons, and how much
// face value, were issued, redeemed, expired, revoked or are still unused —
// per template, per issue rule and per activity that gave them (read from
// each coupon's occasion: "rule:<id>:...", "activity:<id>:...").
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <map>
#include <vector>

#include "core/money.hpp"
#include "core/time.hpp"
#include "coupons/coupon_template.hpp"
#include "coupons/wallet.hpp"

namespace pond::coupons {

struct Amounts {
  int64_t count = 0;
  Money face_value;  // the template's face value, per coupon
  Money cost;        // the template's cost to the brand, per coupon
};

// Issued counts every coupon; the others split it by state at the report's
// time (a locked coupon is unused). Of the redeemed: `violated` broke the
// coupon's terms on the order that used it, `unchecked` were redeemed with
// no cart and their order has not arrived to be checked against.
struct CouponTally {
  Amounts issued, unused, redeemed, expired, revoked, violated, unchecked;
};

// What the report knows of redemptions beyond the wallet.
struct RedemptionChecks {
  std::function<bool(const std::string& code)> violated;
  std::function<bool(const std::string& code)> unchecked;
};

struct CouponReport {
  std::map<int64_t, CouponTally> by_template, by_rule, by_activity;
};

// Counts every coupon of `wallet` as it stands at `now`.
CouponReport ReportCoupons(const Wallet& wallet, const std::vector<CouponTemplate>& templates, Timestamp now,
                           const RedemptionChecks& checks = {});

}  // namespace pond::coupons
