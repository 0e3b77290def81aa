#include "coupons/quote.hpp"

#include <gtest/gtest.h>

#include <set>

#include "core/random.hpp"

namespace pond::coupons {
namespace {

const Timestamp kNow = *ParseRfc3339("2026-11-04T12:00:00+08:00");

CouponTemplate Template(int64_t id, CouponKind kind, int64_t threshold, int64_t off, int32_t percent = 0) {
  CouponTemplate t;
  t.id = id;
  t.name = "t" + std::to_string(id);
  t.kind = kind;
  t.threshold = Money::Fen(threshold);
  t.off = Money::Fen(off);
  t.percent_off = percent;
  t.valid_days = 7;
  return t;
}

Coupon Usable(std::string code, int64_t template_id, int64_t expires_in_hours = 24) {
  Coupon c;
  c.code = std::move(code);
  c.template_id = template_id;
  c.valid_from = kNow.PlusSeconds(-3600);
  c.valid_to = kNow.PlusSeconds(expires_in_hours * 3600);
  return c;
}

Cart FoodAndToys(int64_t food_fen, int64_t toys_fen) {
  return Cart{"S001", "store",
              {{"SKU-F", {"snacks", "food"}, Money::Fen(food_fen)}, {"SKU-T", {"toys"}, Money::Fen(toys_fen)}}};
}

TEST(QuoteTest, EachKindGivesWhatTheShopFloorExpects) {
  CouponTemplate cash = Template(1, CouponKind::kCashOff, 6800, 1000);                // 满68减10
  CouponTemplate food = Template(2, CouponKind::kCashOff, 3000, 500);                 // food only
  food.scope.categories = {"food"};
  CouponTemplate discount = Template(3, CouponKind::kDiscount, 0, 0, 12);             // 88折
  CouponTemplate store_only = Template(4, CouponKind::kNoThreshold, 0, 800);
  store_only.scope.stores = {"S002"};
  const Cart cart = FoodAndToys(2500, 5000);  // 75 yuan, 25 of it food
  EXPECT_EQ(CouponGives(cash, cart).first.fen(), 1000);
  EXPECT_EQ(CouponGives(food, cart).second, "below threshold");
  EXPECT_EQ(CouponGives(food, FoodAndToys(3000, 0)).first.fen(), 500);
  EXPECT_EQ(CouponGives(discount, cart).first.fen(), 900);  // 12 % of 75 yuan
  EXPECT_EQ(CouponGives(store_only, cart).second, "not for this store");
  EXPECT_EQ(CouponGives(cash, FoodAndToys(3000, 3799)).second, "below threshold");  // 67.99 yuan
}

TEST(QuoteTest, StackableCouponsCombineOnePerTemplateAndSoonerExpiringWinsTies) {
  CouponTemplate a = Template(1, CouponKind::kNoThreshold, 0, 500);
  CouponTemplate b = Template(2, CouponKind::kNoThreshold, 0, 300);
  CouponTemplate big = Template(3, CouponKind::kCashOff, 5000, 700);
  a.stackable = b.stackable = true;
  const Coupon a1 = Usable("A1", 1, 48), a2 = Usable("A2", 1, 5), b1 = Usable("B1", 2), big1 = Usable("BIG", 3);
  const Quote q = QuoteCart(FoodAndToys(3000, 3000), {{&a1, &a}, {&a2, &a}, {&b1, &b}, {&big1, &big}}, kNow);
  EXPECT_EQ(q.best_gives.fen(), 800);  // 5 + 3 stacked beats 7 alone
  ASSERT_EQ(q.best.size(), 2u);
  EXPECT_EQ(q.best[0]->code, "A2") << "of two equal coupons, the one expiring sooner";
  EXPECT_EQ(q.best[1]->code, "B1");
}

// The best combination is the best of every subset the rules allow.
TEST(QuoteTest, BestCombinationMatchesEveryAllowedSubset) {
  Random rng(11);
  auto pick = [&](int n) { return static_cast<int>(rng.Uniform(static_cast<uint64_t>(n))); };
  for (int round = 0; round < 500; ++round) {
    std::vector<CouponTemplate> templates;
    for (int64_t id = 1; id <= 4; ++id) {
      const auto kind = static_cast<CouponKind>(pick(5));
      CouponTemplate t = Template(id, kind, pick(3) * 2000, 100 * (1 + pick(30)), 1 + pick(30));
      if (kind == CouponKind::kNoThreshold) t.threshold = Money();
      if (kind == CouponKind::kExchange || kind == CouponKind::kGift) {
        t.face_value = Money::Fen(100 * pick(20));
        t.exchange_price = Money::Fen(100 * pick(3));
      }
      if (pick(2)) t.scope.categories = {pick(2) ? "food" : "toys"};
      t.stackable = pick(2);
      templates.push_back(t);
    }
    std::vector<Coupon> coupons;
    for (int i = 0, n = 1 + pick(7); i < n; ++i) {
      coupons.push_back(Usable("C" + std::to_string(i), 1 + pick(4), pick(4) == 0 ? -1 : 1 + pick(100)));
    }
    std::vector<std::pair<const Coupon*, const CouponTemplate*>> input;
    for (const Coupon& c : coupons) input.emplace_back(&c, &templates[static_cast<size_t>(c.template_id - 1)]);
    const Cart cart = FoodAndToys(100 * pick(60), 100 * pick(60));
    const int64_t total = cart.items[0].paid.fen() + cart.items[1].paid.fen();
    const Quote q = QuoteCart(cart, input, kNow);

    auto value = [&](const std::vector<size_t>& chosen) -> int64_t {  // -1: not allowed
      std::set<int64_t> seen;
      int64_t sum = 0;
      for (size_t i : chosen) {
        const CouponTemplate& t = *input[i].second;
        if (coupons[i].valid_to <= kNow) return -1;
        if (chosen.size() > 1 && (!t.stackable || !seen.insert(t.id).second)) return -1;
        sum += CouponGives(t, cart).first.fen();
      }
      return std::min(sum, total);
    };
    int64_t best = 0;
    for (uint32_t mask = 0; mask < (1u << coupons.size()); ++mask) {
      std::vector<size_t> chosen;
      for (size_t i = 0; i < coupons.size(); ++i) {
        if (mask & (1u << i)) chosen.push_back(i);
      }
      best = std::max(best, value(chosen));
    }
    ASSERT_EQ(q.best_gives.fen(), best) << "round " << round;
    std::vector<size_t> chosen;
    for (const Coupon* c : q.best) chosen.push_back(static_cast<size_t>(c - coupons.data()));
    ASSERT_EQ(value(chosen), best) << "round " << round << ": the combination named gives what it says";
  }
}

}  // namespace
}  // namespace pond::coupons
