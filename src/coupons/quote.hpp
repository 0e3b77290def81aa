// Quote: for a member's cart, what each coupon would give and the best
// combination under the stacking rules (issue #5, "a quote endpoint").
//
// What a coupon gives is computed on the cart as it stands (not after the
// others), over the items in its scope:
//   cash_off      `off` when the items in scope reach `threshold`
//   no_threshold  `off`, at most what the items in scope cost
//   discount      percent_off of the items in scope, rounded down to the
//                 fen, when they reach `threshold`
//   exchange      face_value − exchange_price, gift face_value: when the
//                 cart reaches `threshold` (the item is added at checkout)
// Stacking: a coupon that is not stackable is used alone; stackable ones
// combine, one per template. The best combination gives the most in all,
// at most the cart's total; among equals, coupons that expire sooner go
// first (use them before they are lost).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/money.hpp"
#include "coupons/coupon_template.hpp"
#include "coupons/wallet.hpp"

namespace pond::coupons {

struct CartItem {
  std::string sku;
  std::vector<std::string> categories;  // the item's category and those above it
  Money paid;                           // the line: quantity times price
};

struct Cart {
  std::string store, channel;
  std::vector<CartItem> items;
};

struct CouponOffer {
  const Coupon* coupon = nullptr;
  const CouponTemplate* tmpl = nullptr;
  Money gives;         // zero: it does not apply (why says why)
  std::string why;     // "below threshold", "no item in scope", "not valid yet", ...
};

struct Quote {
  std::vector<CouponOffer> offers;   // every usable coupon of the member, applying or not
  std::vector<const Coupon*> best;   // the best combination (empty: none applies)
  Money best_gives;
};

// `coupons`: the member's unused coupons with their templates, as of `now`.
Quote QuoteCart(const Cart& cart, const std::vector<std::pair<const Coupon*, const CouponTemplate*>>& coupons,
                Timestamp now);

// What one coupon of `t` gives on `cart` (zero with the reason when nothing).
// The cart's amounts are before any coupon (a checkout's, a quote's).
std::pair<Money, std::string> CouponGives(const CouponTemplate& t, const Cart& cart);

// Why a coupon of `t` that an order used broke its terms ("below threshold",
// "no item in scope", "not for this store", ...), or "" when it kept them.
// The cart is the order as paid, after the coupon: the coupon's own
// reduction is added back before the threshold is compared (满68减10 paid
// 58 was a cart of 68).
std::string TermsProblemAfterPayment(const CouponTemplate& t, const Cart& paid);

}  // namespace pond::coupons
