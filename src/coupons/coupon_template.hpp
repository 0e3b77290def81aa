// Coupon templates (DOMAIN.md §7, CONTRACT.md "Coupons and flash sales"):
// what a coupon gives, on which items, for how long, and how many may be
// issued. A template is data; the wallet (wallet.hpp) issues and redeems
// coupons of it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/money.hpp"
#include "core/status.hpp"
#include "core/time.hpp"

namespace pond::coupons {

enum class CouponKind {
  kCashOff,      // 满减: `off` when the items in scope reach `threshold` (满68减10)
  kNoThreshold,  // 无门槛: `off` on any order (8 yuan)
  kDiscount,     // 折扣: `percent_off` of the items in scope (88折 = 12)
  kExchange,     // 换购: `sku` for `exchange_price` with an order (加1元换购)
  kGift,         // 赠品: `sku` free with an order
};
std::string_view KindName(CouponKind kind);  // "cash_off", "no_threshold", "discount", "exchange", "gift"
std::optional<CouponKind> KindFromName(std::string_view name);

// Which items and orders a coupon applies to; an empty list admits all.
struct Scope {
  std::vector<std::string> categories;  // an item's category or one above it
  std::vector<std::string> skus;
  std::vector<std::string> stores;
  std::vector<std::string> channels;    // the order channels of CONTRACT.md
};

struct CouponTemplate {
  int64_t id = 0;
  std::string name;
  CouponKind kind = CouponKind::kCashOff;
  Money threshold;          // cash_off
  Money off;                // cash_off, no_threshold
  int32_t percent_off = 0;  // discount: 1..99
  std::string sku;          // exchange, gift
  Money exchange_price;     // exchange
  Scope scope;
  // Validity: `valid_days` > 0 counts from issue to the end of the last
  // day in the tenant's zone (7 days issued Monday 10:00 end Sunday
  // 24:00); otherwise the window [valid_from, valid_to).
  int32_t valid_days = 0;
  std::optional<Timestamp> valid_from, valid_to;
  std::optional<int64_t> stock;  // coupons that may ever be issued, all members together
  int32_t per_member_limit = 0;  // coupons a member may hold of it in all (revoked ones aside); 0: any
  int32_t per_day_limit = 0;     // ... issued to a member within one tenant-zone day; 0: any
  bool stackable = false;        // may share an order with other stackable coupons
  bool restore_on_refund = false;  // a refund of the order it was redeemed on gives it back
  Money face_value;              // what the member is told it is worth (reports)
  Money cost;                    // what a redemption costs the brand (reports)
  // Set once the template is retired: no coupon is issued from it any more;
  // those issued stay valid until their own end.
  std::optional<Timestamp> retired_at;
};

// Checks every field of a template; the error names each offending field
// (`off_fen`, `percent_off`, `valid_to`, ...: the names of the API).
Status CheckTemplate(const CouponTemplate& t);

// The window [from, to) in which a coupon of `t` issued at `issued` may be
// redeemed.
std::pair<Timestamp, Timestamp> ValidityOf(const CouponTemplate& t, Timestamp issued, const TimeZone& zone);

// A coupon code from 10 random bytes: 16 characters of Crockford's base32
// (no I, L, O, U), 80 bits, so codes cannot be guessed or enumerated.
std::string CouponCode(const uint8_t (&random)[10]);
// A fresh code from the kernel's random source (getrandom).
Result<std::string> NewCouponCode();

}  // namespace pond::coupons
