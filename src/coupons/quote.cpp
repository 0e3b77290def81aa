#include "coupons/quote.hpp"

#include <algorithm>
#include <map>

namespace pond::coupons {
namespace {

bool Admits(const std::vector<std::string>& list, std::string_view value) {
  return list.empty() || std::find(list.begin(), list.end(), value) != list.end();
}

bool InScope(const Scope& scope, const CartItem& item) {
  if (!Admits(scope.skus, item.sku)) return false;
  if (scope.categories.empty()) return true;
  return std::any_of(item.categories.begin(), item.categories.end(),
                     [&](const std::string& c) { return Admits(scope.categories, c); });
}

// What the items in the coupon's scope cost; a reason when the cart's
// store or channel is outside it, or no item is in it.
std::string ScopeProblem(const CouponTemplate& t, const Cart& cart, int64_t* scoped) {
  if (!Admits(t.scope.stores, cart.store)) return "not for this store";
  if (!Admits(t.scope.channels, cart.channel)) return "not for this channel";
  *scoped = 0;
  for (const CartItem& item : cart.items) {
    if (InScope(t.scope, item)) *scoped += item.paid.fen();
  }
  return *scoped <= 0 ? "no item in scope" : "";
}

}  // namespace

std::pair<Money, std::string> CouponGives(const CouponTemplate& t, const Cart& cart) {
  int64_t scoped = 0;
  if (std::string why = ScopeProblem(t, cart, &scoped); !why.empty()) return {Money(), std::move(why)};
  if (scoped < t.threshold.fen()) return {Money(), "below threshold"};
  switch (t.kind) {
    case CouponKind::kCashOff:
    case CouponKind::kNoThreshold: return {Money::Fen(std::min(t.off.fen(), scoped)), ""};
    case CouponKind::kDiscount: return {Money::Fen(scoped * t.percent_off / 100), ""};
    case CouponKind::kExchange: return {Money::Fen(std::max<int64_t>(0, t.face_value.fen() - t.exchange_price.fen())), ""};
    case CouponKind::kGift: return {t.face_value, ""};
  }
  return {Money(), ""};
}

std::string TermsProblemAfterPayment(const CouponTemplate& t, const Cart& paid) {
  int64_t scoped = 0;
  if (std::string why = ScopeProblem(t, paid, &scoped); !why.empty()) return why;
  // Before the coupon the items cost what was paid plus what it took off.
  int64_t before = scoped;
  switch (t.kind) {
    case CouponKind::kCashOff:
    case CouponKind::kNoThreshold: before += t.off.fen(); break;
    case CouponKind::kDiscount: before += (scoped * t.percent_off + (100 - t.percent_off) - 1) / (100 - t.percent_off); break;
    case CouponKind::kExchange:
    case CouponKind::kGift: break;
  }
  return before < t.threshold.fen() ? "below threshold" : "";
}

Quote QuoteCart(const Cart& cart, const std::vector<std::pair<const Coupon*, const CouponTemplate*>>& coupons,
                Timestamp now) {
  Quote q;
  int64_t total = 0;
  for (const CartItem& item : cart.items) total += item.paid.fen();
  for (const auto& [coupon, tmpl] : coupons) {
    CouponOffer offer{coupon, tmpl, Money(), ""};
    if (now < coupon->valid_from) {
      offer.why = "not valid yet";
    } else if (coupon->valid_to <= now) {
      offer.why = "expired";
    } else {
      std::tie(offer.gives, offer.why) = CouponGives(*tmpl, cart);
    }
    q.offers.push_back(std::move(offer));
  }
  // Sooner to expire first, so that ties go to it.
  std::vector<const CouponOffer*> applying;
  for (const CouponOffer& o : q.offers) {
    if (o.gives.fen() > 0) applying.push_back(&o);
  }
  std::stable_sort(applying.begin(), applying.end(), [](const CouponOffer* a, const CouponOffer* b) {
    return a->coupon->valid_to < b->coupon->valid_to;
  });
  // The stackable set: one coupon of each template (coupons of a template
  // give the same), the soonest to expire.
  std::map<int64_t, const CouponOffer*> per_template;
  for (const CouponOffer* o : applying) {
    if (o->tmpl->stackable) per_template.emplace(o->tmpl->id, o);
  }
  int64_t stacked = 0;
  for (const auto& [id, o] : per_template) stacked += o->gives.fen();
  stacked = std::min(stacked, total);
  // ...against each coupon alone.
  const CouponOffer* alone = nullptr;
  for (const CouponOffer* o : applying) {
    if (alone == nullptr || std::min(o->gives.fen(), total) > std::min(alone->gives.fen(), total)) alone = o;
  }
  if (alone != nullptr && std::min(alone->gives.fen(), total) >= stacked) {
    q.best = {alone->coupon};
    q.best_gives = Money::Fen(std::min(alone->gives.fen(), total));
  } else if (stacked > 0) {
    for (const CouponOffer* o : applying) {
      if (auto it = per_template.find(o->tmpl->id); it != per_template.end() && it->second == o) q.best.push_back(o->coupon);
    }
    q.best_gives = Money::Fen(stacked);
  }
  return q;
}

}  // namespace pond::coupons
