#include "coupons/wallet.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>

#include "core/random.hpp"

namespace pond::coupons {
namespace {

const TimeZone kShanghai = TimeZone::Fixed(8 * 3600);
const Timestamp kStart = *ParseRfc3339("2026-11-02T10:00:00+08:00");  // a Monday

CouponTemplate CashOff(int64_t id) {
  CouponTemplate t;
  t.id = id;
  t.name = "满68减10";
  t.kind = CouponKind::kCashOff;
  t.threshold = Money::Fen(6800);
  t.off = Money::Fen(1000);
  t.valid_days = 7;
  return t;
}

std::string Code(Random& rng) {
  uint8_t bytes[10];
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng.Next());
  return CouponCode(bytes);
}

TEST(CouponTemplateTest, EveryBadFieldIsNamed) {
  CouponTemplate t;
  t.kind = CouponKind::kDiscount;
  t.percent_off = 100;
  t.valid_days = 3;
  t.valid_to = kStart;
  t.stock = -1;
  Status s = CheckTemplate(t);
  ASSERT_FALSE(s.ok());
  std::set<std::string> fields;
  for (const FieldError& e : s.field_errors()) fields.insert(e.field);
  EXPECT_EQ(fields, (std::set<std::string>{"name", "percent_off", "valid_days", "stock"}));
  EXPECT_TRUE(CheckTemplate(CashOff(1)).ok());
  CouponTemplate over = CashOff(1);
  over.off = Money::Fen(7000);
  EXPECT_EQ(CheckTemplate(over).field_errors().at(0).field, "off_fen");
}

TEST(CouponTemplateTest, RelativeValidityEndsWithTheLastLocalDay) {
  const auto [from, to] = ValidityOf(CashOff(1), kStart, kShanghai);
  EXPECT_EQ(from, kStart);
  EXPECT_EQ(FormatRfc3339(to, kShanghai), "2026-11-09T00:00:00+08:00");  // Monday + 7 days: through Sunday
}

TEST(CouponTemplateTest, CodesAreSixteenCharactersWithoutLookalikes) {
  Random rng(7);
  std::set<std::string> seen;
  for (int i = 0; i < 10'000; ++i) {
    const std::string code = Code(rng);
    ASSERT_EQ(code.size(), 16u);
    ASSERT_EQ(code.find_first_of("ILOU"), std::string::npos) << code;
    seen.insert(code);
  }
  EXPECT_EQ(seen.size(), 10'000u);
}

// A retired template issues nothing from its retirement on; what was issued
// before it — live, or replayed on a start — stands.
TEST(WalletTest, ARetiredTemplateIssuesNothingAfterItsRetirement) {
  Wallet w(kShanghai);
  CouponTemplate t = CashOff(1);
  t.retired_at = kStart.PlusSeconds(3600);
  ASSERT_TRUE(w.Issue(t, 42, "api:before", "CODE1", kStart).ok());
  EXPECT_TRUE(w.CanIssue(t, 43, kStart.PlusSeconds(3599)).ok());
  const Status after = w.CanIssue(t, 43, kStart.PlusSeconds(3600));
  EXPECT_EQ(ReasonOf(after), "retired");
  EXPECT_EQ(ReasonOf(w.Issue(t, 43, "api:after", "CODE2", kStart.PlusSeconds(7200)).status()), "retired");
  EXPECT_EQ(w.Find("CODE1")->state, CouponState::kIssued);
}

// Coupons never move: what Find or Issue returned stays the same coupon
// however many are issued after it; a member's coupons come back in issue
// order, with those of members merged into it.
TEST(WalletTest, CouponsStayPutAndListInIssueOrder) {
  Wallet w(kShanghai);
  const CouponTemplate t = CashOff(1);
  const Coupon* first = w.Issue(t, 7, "o0", "FIRST", kStart)->coupon;
  for (int i = 1; i < 100'000; ++i) {
    ASSERT_TRUE(w.Issue(t, 1000 + i % 5000, "o" + std::to_string(i), "C" + std::to_string(i), kStart).ok());
    if (i % 30'000 == 0) {
      ASSERT_TRUE(w.Issue(t, 7, "o7-" + std::to_string(i), "M" + std::to_string(i), kStart).ok());
    }
    if (i % 40'000 == 0) {
      ASSERT_TRUE(w.Issue(t, 8, "o8-" + std::to_string(i), "N" + std::to_string(i), kStart).ok());
    }
  }
  EXPECT_EQ(first, w.Find("FIRST"));
  EXPECT_EQ(first->code, "FIRST");
  const MemberId merged[] = {8};
  std::vector<std::string> codes;
  for (const Coupon* c : w.CouponsOf(7, merged)) codes.push_back(c->code);
  EXPECT_EQ(codes, (std::vector<std::string>{"FIRST", "M30000", "N40000", "M60000", "N80000", "M90000"}));
  EXPECT_EQ(w.HeldBy(1, 1000 + 42), 20);  // 100 000 / 5 000 each
}

TEST(WalletTest, RedeemIsIdempotentPerOrderAndRefusesOthers) {
  Wallet w(kShanghai);
  const CouponTemplate t = CashOff(1);
  auto issued = w.Issue(t, 42, "api:k1", "CODE1", kStart);
  ASSERT_TRUE(issued.ok());
  EXPECT_TRUE(issued->fresh);
  EXPECT_FALSE(w.Issue(t, 42, "api:k1", "CODE2", kStart)->fresh) << "the same occasion gets the same coupon";
  ASSERT_TRUE(w.Redeem("CODE1", "POS-1", kStart.PlusSeconds(60)).ok());
  ASSERT_TRUE(w.Redeem("CODE1", "POS-1", kStart.PlusSeconds(120)).ok());
  auto other = w.Redeem("CODE1", "POS-2", kStart.PlusSeconds(120));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), StatusCode::kConflict);
  EXPECT_EQ(other.status().context().at(0).second, "already_redeemed");
}

// A plain model of the wallet: coupons in a list, every rule a loop over it.
struct Model {
  struct C {
    std::string code;
    int64_t template_id;
    MemberId member;
    std::string occasion;
    Timestamp valid_from, valid_to;
    LocalDate day;
    CouponState state = CouponState::kIssued;
    std::string order;
    Timestamp lock_until;
  };
  std::vector<C> coupons;
  std::map<MemberId, MemberId> merged_into;  // the caller's merges

  MemberId Standing(MemberId m) const {
    for (auto it = merged_into.find(m); it != merged_into.end(); it = merged_into.find(m)) m = it->second;
    return m;
  }
  static CouponState Effective(CouponState s, Timestamp lock_until, Timestamp valid_to, Timestamp now) {
    if (s == CouponState::kLocked && lock_until <= now) s = CouponState::kIssued;
    if ((s == CouponState::kIssued || s == CouponState::kLocked) && valid_to <= now) s = CouponState::kExpired;
    return s;
  }
  C* Find(const std::string& code) {
    for (C& c : coupons) {
      if (c.code == code) return &c;
    }
    return nullptr;
  }
  // The outcome as a reason ("" for success).
  // Issued to the member `m` stands as; everything counted over every
  // member standing as it.
  std::string Issue(const CouponTemplate& t, MemberId m, const std::string& occasion, const std::string& code,
                    Timestamp now) {
    m = Standing(m);
    for (const C& c : coupons) {
      if (c.template_id == t.id && Standing(c.member) == m && c.occasion == occasion) return "";
    }
    const auto [from, to] = ValidityOf(t, now, kShanghai);
    if (to <= now) return "expired";
    int64_t all = 0, held = 0, today = 0;
    for (const C& c : coupons) {
      if (c.template_id != t.id) continue;
      ++all;
      if (Standing(c.member) == m && c.state != CouponState::kRevoked) ++held;
      if (Standing(c.member) == m && c.day == kShanghai.DateOf(now)) ++today;
    }
    if (t.stock && all >= *t.stock) return "out_of_stock";
    if (t.per_member_limit > 0 && held >= t.per_member_limit) return "limit_reached";
    if (t.per_day_limit > 0 && today >= t.per_day_limit) return "limit_reached";
    coupons.push_back(C{code, t.id, m, occasion, from, to, kShanghai.DateOf(now)});
    return "";
  }
  void Settle(C& c, Timestamp now) {
    const CouponState s = Effective(c.state, c.lock_until, c.valid_to, now);
    if (s != c.state && (s == CouponState::kIssued || s == CouponState::kExpired)) c.order.clear();
    c.state = s;
  }
  std::string Lock(const std::string& code, const std::string& order, Timestamp until, Timestamp now) {
    C* c = Find(code);
    Settle(*c, now);
    if (c->state == CouponState::kRedeemed) return "already_redeemed";
    if (c->state == CouponState::kExpired) return "expired";
    if (c->state == CouponState::kRevoked) return "revoked";
    if (c->state == CouponState::kLocked && c->order != order) return "locked";
    if (now < c->valid_from) return "not_started";
    c->state = CouponState::kLocked, c->order = order, c->lock_until = until;
    return "";
  }
  std::string Unlock(const std::string& code, const std::string& order, Timestamp now) {
    C* c = Find(code);
    Settle(*c, now);
    if (c->state != CouponState::kLocked || c->order != order) return "not_locked";
    c->state = CouponState::kIssued, c->order.clear();
    return "";
  }
  std::string Redeem(const std::string& code, const std::string& order, Timestamp now) {
    C* c = Find(code);
    Settle(*c, now);
    if (c->state == CouponState::kRedeemed) return c->order == order ? "" : "already_redeemed";
    if (c->state == CouponState::kExpired) return "expired";
    if (c->state == CouponState::kRevoked) return "revoked";
    if (c->state == CouponState::kLocked && c->order != order) return "locked";
    if (now < c->valid_from) return "not_started";
    c->state = CouponState::kRedeemed, c->order = order;
    return "";
  }
  std::string Restore(const CouponTemplate& t, const std::string& code, const std::string& order, Timestamp now) {
    C* c = Find(code);
    if (c->state != CouponState::kRedeemed || c->order != order) return "not_redeemed";
    if (!t.restore_on_refund) return "precondition";
    c->state = CouponState::kIssued, c->order.clear();
    Settle(*c, now);
    return "";
  }
  std::string Revoke(const std::string& code, Timestamp now) {
    C* c = Find(code);
    Settle(*c, now);
    if (c->state == CouponState::kRedeemed) return "already_redeemed";
    if (c->state == CouponState::kExpired) return "expired";
    c->state = CouponState::kRevoked, c->order.clear();
    return "";
  }
};

template <typename T>
std::string ReasonOf(const Result<T>& r) {
  if (r.ok()) return "";
  if (r.status().code() == StatusCode::kFailedPrecondition) return "precondition";
  for (const auto& [key, value] : r.status().context()) {
    if (key == "reason") return value;
  }
  return r.status().ToString();
}

TEST(WalletTest, RandomOperationsMatchAPlainModel) {
  std::map<std::string, int> outcomes;  // every answer should come up
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Random rng(seed), merges(seed + 1000);
    auto pick = [&](int n) { return static_cast<int>(rng.Uniform(static_cast<uint64_t>(n))); };
    std::vector<CouponTemplate> templates;
    for (int64_t id = 1; id <= 4; ++id) {
      CouponTemplate t = CashOff(id);
      if (pick(2)) t.stock = pick(12);
      t.per_member_limit = pick(3);
      t.per_day_limit = pick(3);
      t.restore_on_refund = pick(2);
      if (pick(3) == 0) {  // a fixed window instead of days from issue
        t.valid_days = 0;
        t.valid_from = kStart.PlusSeconds(pick(3) * 86'400);
        t.valid_to = kStart.PlusSeconds((3 + pick(10)) * 86'400);
      } else {
        t.valid_days = 1 + pick(5);
      }
      ASSERT_TRUE(CheckTemplate(t).ok());
      templates.push_back(t);
    }
    Wallet wallet(kShanghai);
    Model model;
    Timestamp now = kStart;
    for (int step = 0; step < 2'000; ++step) {
      now = now.PlusSeconds(pick(4) == 0 ? pick(3 * 86'400) : pick(600));
      const CouponTemplate& t = templates[static_cast<size_t>(pick(4))];
      const std::string order = "O" + std::to_string(pick(4));
      // Often one of the latest coupons, so that one coupon sees several calls.
      const int n = static_cast<int>(model.coupons.size());
      const std::string code = n == 0 || pick(4) == 0 ? "NONE"
                               : pick(2)               ? model.coupons[static_cast<size_t>(n - 1 - pick(std::min(n, 3)))].code
                                                       : model.coupons[static_cast<size_t>(pick(n))].code;
      std::string want, got;
      const int op = pick(7);
      if (merges.Chance(0.003)) {  // two members turn out to be one, a few times a run
        const MemberId a = model.Standing(1 + static_cast<MemberId>(merges.Uniform(6)));
        const MemberId b = model.Standing(1 + static_cast<MemberId>(merges.Uniform(6)));
        if (a != b) model.merged_into[b] = a;
      }
      if (op <= 1 || code == "NONE") {
        // The caller issues to the standing member and names those merged into it.
        const MemberId member = model.Standing(1 + pick(6));
        std::vector<MemberId> merged;
        for (MemberId m = 1; m <= 6; ++m) {
          if (m != member && model.Standing(m) == member) merged.push_back(m);
        }
        const std::string occasion = "k" + std::to_string(pick(6));
        const std::string fresh_code = Code(rng);
        want = model.Issue(t, member, occasion, fresh_code, now);
        const Status can = wallet.CanIssue(t, member, now, merged);
        auto r = wallet.Issue(t, member, occasion, fresh_code, now, merged);
        got = ReasonOf(r);
        // The dry run answers as Issue does for an occasion not seen before.
        if (r.ok() && r->fresh) {
          EXPECT_TRUE(can.ok()) << can.ToString();
        } else if (!r.ok()) {
          EXPECT_EQ(ReasonOf(Result<int>(can)), got);
        }
      } else if (op == 2) {
        const Timestamp until = now.PlusSeconds(pick(1800));
        want = model.Lock(code, order, until, now);
        got = ReasonOf(wallet.Lock(code, order, until, now));
      } else if (op == 3) {
        want = model.Unlock(code, order, now);
        got = ReasonOf(wallet.Unlock(code, order, now));
      } else if (op == 4) {
        want = model.Redeem(code, order, now);
        got = ReasonOf(wallet.Redeem(code, order, now));
      } else if (op == 5) {
        const CouponTemplate& of = templates[static_cast<size_t>(model.Find(code)->template_id - 1)];
        want = model.Restore(of, code, order, now);
        got = ReasonOf(wallet.Restore(of, code, order, now));
      } else if (pick(2)) {
        want = model.Revoke(code, now);
        got = ReasonOf(wallet.Revoke(code, now));
      } else {
        wallet.ExpireDue(now);  // the scheduler's sweep: what it expires was expired already in effect
      }
      ASSERT_EQ(got, want) << "seed " << seed << " step " << step << " op " << op;
      ++outcomes[std::to_string(op <= 1 || code == "NONE" ? 0 : op) + ":" + want];
      ++outcomes[want];
      // Every coupon stands where the model says, seen at `now`.
      ASSERT_EQ(wallet.size(), model.coupons.size()) << "seed " << seed << " step " << step;
      for (const Model::C& m : model.coupons) {
        const Coupon* c = wallet.Find(m.code);
        ASSERT_NE(c, nullptr);
        ASSERT_EQ(Model::Effective(c->state, c->lock_until, c->valid_to, now),
                  Model::Effective(m.state, m.lock_until, m.valid_to, now))
            << "seed " << seed << " step " << step << " coupon " << m.code;
      }
    }
    // What no sequence may break: stock and the per-member limit.
    for (const CouponTemplate& t : templates) {
      if (t.stock) {
        EXPECT_LE(wallet.IssuedOf(t.id), *t.stock);
      }
      for (MemberId m = 1; m <= 5 && t.per_member_limit > 0; ++m) {
        EXPECT_LE(wallet.HeldBy(t.id, m), t.per_member_limit);
      }
    }
  }
  for (const char* seen : {"0:", "0:expired", "0:out_of_stock", "0:limit_reached", "2:", "2:locked", "2:expired",
                           "2:already_redeemed", "3:", "3:not_locked", "4:", "4:already_redeemed",
                           "4:revoked", "4:locked", "5:", "5:not_redeemed", "5:precondition", "6:", "6:expired", "not_started"}) {
    EXPECT_GT(outcomes[seen], 0) << "never came up: " << seen;
  }
}

}  // namespace
}  // namespace pond::coupons
