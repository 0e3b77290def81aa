#include "loyalty/entitlements.hpp"

#include <algorithm>

namespace pond {
bool IsBirthday(LocalDate birthday, LocalDate day) {
  if (birthday.month() == day.month() && birthday.day() == day.day()) return true;
  return birthday.month() == 2 && birthday.day() == 29 && day.month() == 2 && day.day() == 28 &&
         !IsValidYmd(day.year(), 2, 29);
}

Entitlements EntitlementsOf(const LoyaltyConfig& config, int tier, std::optional<LocalDate> birthday, LocalDate today) {
  Entitlements out;
  const TierRule& rule = config.tiers[static_cast<size_t>(tier)];
  for (const Benefit& b : config.benefits) {
    if (std::find(b.tiers.begin(), b.tiers.end(), rule.id) != b.tiers.end()) out.benefits.push_back(&b);
  }
  auto& day = out.member_day;
  day.enabled = config.member_day.enabled;
  day.threshold = config.member_day.threshold;
  day.off = rule.member_day_off;
  day.today = day.enabled && today.weekday() == config.member_day.weekday;
  day.next = LocalDate::FromDays(today.days() + (config.member_day.weekday - today.weekday() + 7) % 7);
  if (birthday) {
    auto& b = out.birthday;
    b.known = true;
    b.points_multiplier_pct = config.birthday.points_multiplier_pct;
    b.coupon_off = config.birthday.coupon_off;
    b.coupon_valid_days = config.birthday.coupon_valid_days;
    // The next day on or after today that is the birthday: at most a year
    // and a day away (Feb 29 in a leap year after a Feb 28 that was not it).
    LocalDate d = today;
    while (!IsBirthday(*birthday, d)) d = LocalDate::FromDays(d.days() + 1);
    b.next = d;
    b.today = d == today;
  }
  return out;
}

}  // namespace pond
