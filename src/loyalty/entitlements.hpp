// Entitlements: what a member may claim today under the tenant's rules — the
// benefits of its tier, the member day (DOMAIN.md: every Wednesday 满68减10/
// 8/6 by tier) and the birthday perks (double points, an 8-yuan coupon) —
// with the next date each comes round. Computed on read from the
// configuration, the member's tier and birthday and the tenant-zone date;
// nothing is stored. Coupons are shown as entitlements until the coupon
// wallet issues them.
#pragma once

#include <optional>
#include <vector>

#include "core/time.hpp"
#include "loyalty/loyalty_config.hpp"

namespace pond {

struct Entitlements {
  std::vector<const Benefit*> benefits;  // of the member's tier, catalogue order
  struct MemberDay {
    bool enabled = false;
    bool today = false;
    LocalDate next;  // today when today
    Money threshold, off;
  } member_day;
  struct Birthday {
    bool known = false;
    bool today = false;
    LocalDate next;  // today when today
    int points_multiplier_pct = 100;
    Money coupon_off;
    int coupon_valid_days = 0;
  } birthday;
};

// A Feb 29 birthday is kept on Feb 28 in other years.
bool IsBirthday(LocalDate birthday, LocalDate day);

Entitlements EntitlementsOf(const LoyaltyConfig& config, int tier, std::optional<LocalDate> birthday, LocalDate today);

}  // namespace pond
