// LoyaltyConfig: a tenant's membership rules as data (DOMAIN.md §2–3). A new
// tenant starts with DefaultLoyaltyConfig(), the defaults CONTRACT.md fixes;
// every field can be replaced through the configuration endpoint, which
// validates the whole document and names each bad field.
//
// Units: money in fen; point rates in basis points of "one point per yuan"
// (10000 = 1 point per yuan, 15000 = 1.5); multipliers in percent (200 =
// double). Days and months are tenant-zone calendar units.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/money.hpp"
#include "core/status.hpp"

namespace pond {

struct TierRule {
  std::string id;         // "standard", "silver", "gold": what APIs and segments name
  std::string name;       // for people: "金卡"
  int64_t threshold = 0;  // basis value (growth) from which the tier holds; the first is 0
  int64_t points_rate_bp = 10'000;
  Money member_day_off;   // the member-day discount this tier gets
  bool operator==(const TierRule&) const = default;
};

// What tiers are measured on.
enum class GrowthBasis : uint8_t {
  kLifetime,       // all growth ever; a tier changes as soon as growth crosses a threshold
  kRollingMonths,  // growth of orders paid in the last `rolling_months` months
  kCalendarMonth,  // growth of orders paid this calendar month
};
std::string_view GrowthBasisName(GrowthBasis b);

// When earned points expire.
enum class ExpiryKind : uint8_t {
  kEndOfYearAfter,  // at the end of the year `years` after the year earned (default 1)
  kAfterDays,       // `days` after being earned
  kNever,
};
std::string_view ExpiryKindName(ExpiryKind k);

struct ExpiryPolicy {
  ExpiryKind kind = ExpiryKind::kEndOfYearAfter;
  int years = 1;
  int days = 365;
  bool operator==(const ExpiryPolicy&) const = default;
};

enum class BenefitKind : uint8_t { kProduct, kActivity, kWelfare, kService, kAlliance };
std::string_view BenefitKindName(BenefitKind k);

// One entry of the benefits catalogue, held by members of the listed tiers.
struct Benefit {
  std::string id;
  std::string name;
  BenefitKind kind = BenefitKind::kWelfare;
  std::vector<std::string> tiers;  // tier ids
  std::string description;
  bool operator==(const Benefit&) const = default;
};

struct MemberDayRule {
  bool enabled = true;
  int weekday = 3;  // ISO: 1 = Monday .. 7 = Sunday; default Wednesday
  Money threshold = Money::Fen(6800);  // 满68 ...; the discount per tier is TierRule::member_day_off
  bool operator==(const MemberDayRule&) const = default;
};

struct BirthdayRule {
  int points_multiplier_pct = 200;        // double points on the birthday
  Money coupon_off = Money::Fen(800);     // an 8-yuan no-threshold coupon
  int coupon_valid_days = 7;
  bool operator==(const BirthdayRule&) const = default;
};

// CONTRACT.md's stages, with `d` = days since the last order with net > 0
// and `n` = such orders in the last `window_days` days.
struct LifecycleRule {
  int active_days = 90;         // growth, mature, won_back: d <= active_days
  int lost_after_days = 180;    // lost: d > lost_after_days; decline between
  int mature_orders = 3;        // mature: n >= mature_orders
  int won_back_gap_days = 180;  // won_back: the gap between the last two orders exceeds this
  int window_days = 365;
  bool operator==(const LifecycleRule&) const = default;
};

struct LoyaltyConfig {
  int64_t growth_per_yuan = 10;  // growth of an order = floor(net_fen * growth_per_yuan / 100)
  GrowthBasis basis = GrowthBasis::kLifetime;
  int rolling_months = 3;        // for kRollingMonths
  int review_grace_days = 0;     // rolling bases: downgrades wait this long after the period ends
  std::vector<TierRule> tiers;   // ascending thresholds, the first at 0
  std::map<std::string, int> category_multiplier_pct;  // category id → percent, default 100
  std::map<std::string, int> channel_multiplier_pct;   // channel name → percent
  ExpiryPolicy expiry;
  int expiring_soon_days = 30;
  MemberDayRule member_day;
  BirthdayRule birthday;
  std::vector<Benefit> benefits;
  LifecycleRule lifecycle;
  bool operator==(const LoyaltyConfig&) const = default;

  // Index into `tiers` of the tier a basis value reaches.
  int TierFor(int64_t basis_value) const;
  int TierIndex(std::string_view id) const;  // -1 when unknown
};

LoyaltyConfig DefaultLoyaltyConfig();

// Checks a whole configuration; the error lists every bad field by its JSON
// path ("tiers[1].threshold") with the reason.
Status ValidateLoyaltyConfig(const LoyaltyConfig& config);

// The configuration as JSON (the document the configuration endpoint serves
// and stores), and back. Parsing validates: unknown fields, wrong types and
// rule violations are errors naming the field.
std::string LoyaltyConfigJson(const LoyaltyConfig& config);
// How a document is read. kStored: over the defaults (a stored document
// from before a key existed keeps its default). kWhole: a PUT, which
// replaces the configuration, so every top-level key is required — a
// partial document is refused, never a silent reset of what it left out.
// kPatch: over `current`, changing only the keys given (a list or map given
// replaces the one it names whole; an object is merged key by key).
enum class LoyaltyDocument { kStored, kWhole, kPatch };
Result<LoyaltyConfig> ParseLoyaltyConfig(std::string_view json, LoyaltyDocument kind = LoyaltyDocument::kStored,
                                         const LoyaltyConfig& current = DefaultLoyaltyConfig());

}  // namespace pond
