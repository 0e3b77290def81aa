#include "loyalty/loyalty_book.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "core/random.hpp"

namespace pond {
namespace {

const TimeZone kShanghai = *TimeZone::Load("Asia/Shanghai");

Timestamp At(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

Purchase Buy(MemberId m, int32_t order, const char* at, int64_t fen, std::optional<LocalDate> birthday = {}) {
  return Purchase{m, order, At(at), Money::Fen(fen), Channel::kStore, {}, birthday};
}

TEST(LoyaltyBookTest, ContractDefaultsForGrowthPointsAndTiers) {
  LoyaltyBook book(DefaultLoyaltyConfig(), kShanghai);
  std::optional<TierChange> change;
  // 299.99 yuan: growth floor(29999/10) = 2999, points floor(29999 * 1 / 100) = 299.
  const LedgerEntry& first = book.Earn(1, Buy(7, 0, "2026-03-04T10:00:00+08:00", 29999), &change);
  EXPECT_EQ(first.growth, 2999);
  EXPECT_EQ(first.points, 299);
  EXPECT_FALSE(change);
  // One more fen of growth reaches silver (3000); the rate is the tier held before.
  const LedgerEntry& second = book.Earn(2, Buy(7, 1, "2026-03-05T10:00:00+08:00", 1000), &change);
  EXPECT_EQ(second.points, 10);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->to, 1);
  const LedgerEntry& third = book.Earn(3, Buy(7, 2, "2026-03-06T10:00:00+08:00", 1000), &change);
  EXPECT_EQ(third.points, 15);  // silver: 1.5 points per yuan
  EXPECT_EQ(book.Find(7)->balance, 299 + 10 + 15);
}

TEST(LoyaltyBookTest, BirthdayDoublesInTheTenantZoneAndFeb29FallsOnFeb28) {
  LoyaltyBook book(DefaultLoyaltyConfig(), kShanghai);
  std::optional<TierChange> change;
  const LocalDate birthday = LocalDate::FromYmd(1995, 11, 22);
  // 23:30 on Nov 21 in UTC is 07:30 on Nov 22 in Shanghai: the birthday.
  EXPECT_EQ(book.Earn(1, Buy(1, 0, "2026-11-21T23:30:00Z", 10000, birthday), &change).points, 200);
  // 16:30 UTC on Nov 22 is 00:30 on Nov 23 in Shanghai: not any more.
  EXPECT_EQ(book.Earn(2, Buy(1, 1, "2026-11-22T16:30:00Z", 10000, birthday), &change).points, 100);
  const LocalDate leap = LocalDate::FromYmd(2000, 2, 29);
  EXPECT_EQ(book.Earn(3, Buy(2, 2, "2027-02-28T12:00:00+08:00", 10000, leap), &change).points, 200);
  EXPECT_EQ(book.Earn(4, Buy(2, 3, "2028-02-28T12:00:00+08:00", 10000, leap), &change).points, 100);
  EXPECT_EQ(book.Earn(5, Buy(2, 4, "2028-02-29T12:00:00+08:00", 10000, leap), &change).points, 200);
}

TEST(LoyaltyBookTest, CategoryMultipliersWeighByWhatEachItemPaidAndChannelsMultiply) {
  LoyaltyConfig config = DefaultLoyaltyConfig();
  config.category_multiplier_pct = {{"beauty", 300}};
  config.channel_multiplier_pct = {{"miniprogram", 150}};
  LoyaltyBook book(config, kShanghai);
  std::optional<TierChange> change;
  // 100 yuan: 40 of beauty at 3x, 60 of snacks at 1x → 40*3 + 60 = 180 points.
  const std::vector<OrderItem> items = {{"S1", "beauty", 1, Money::Fen(4000)}, {"S2", "snacks", 2, Money::Fen(6000)}};
  Purchase p{1, 0, At("2026-03-04T10:00:00+08:00"), Money::Fen(10000), Channel::kStore, items, {}};
  EXPECT_EQ(book.Earn(1, p, &change).points, 180);
  // The same basket in the mini-program: x1.5 on top → 270.
  p.order = 1, p.channel = Channel::kMiniprogram;
  EXPECT_EQ(book.Earn(2, p, &change).points, 270);
  // A refund of half re-computes on the same terms: 135 come back.
  EXPECT_EQ(book.Reverse(3, 1, 1, Money::Fen(5000), At("2026-03-05T10:00:00+08:00"), &change).points, -135);
}

TEST(LoyaltyBookTest, CalendarMonthBasisHoldsTheMonthsTierUntilTheReview) {
  LoyaltyConfig config = DefaultLoyaltyConfig();
  config.basis = GrowthBasis::kCalendarMonth;
  LoyaltyBook book(config, kShanghai);
  std::optional<TierChange> change;
  book.Earn(1, Buy(1, 0, "2026-03-30T10:00:00+08:00", 60000), &change);  // 6000 in March: gold
  EXPECT_EQ(book.TierOf(1), 2);
  // April: nothing bought yet, but March's tier holds until the review on Apr 1 ...
  EXPECT_EQ(book.BasisValue(1, At("2026-04-02T10:00:00+08:00")), 0);
  // ... which looks at March and keeps gold; May 1 looks at April and drops it.
  EXPECT_TRUE(book.Review(At("2026-04-01T00:00:00+08:00"), At("2026-04-01T00:00:00+08:00")).empty());
  auto may = book.Review(At("2026-05-01T00:00:00+08:00"), At("2026-05-01T00:00:00+08:00"));
  ASSERT_EQ(may.size(), 1u);
  EXPECT_EQ(may[0].to, 0);
  EXPECT_EQ(may[0].cause, "review");
}

TEST(LoyaltyBookTest, PointsExpireAtTheEndOfTheYearAfter) {
  LoyaltyBook book(DefaultLoyaltyConfig(), kShanghai);
  std::optional<TierChange> change;
  book.Earn(1, Buy(1, 0, "2026-01-01T00:30:00+08:00", 10000), &change);
  book.Earn(2, Buy(1, 1, "2026-12-31T23:59:00+08:00", 5000), &change);
  book.Earn(3, Buy(1, 2, "2027-01-01T00:00:00+08:00", 2000), &change);
  EXPECT_EQ(book.ExpiringSoon(1, At("2027-12-15T00:00:00+08:00")), 150);
  int64_t tick = 10;
  EXPECT_TRUE(book.ExpireDue(At("2027-12-31T23:59:59+08:00"), tick).empty());
  auto expired = book.ExpireDue(At("2028-01-01T00:00:00+08:00"), tick);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].second.points, -150);
  EXPECT_EQ(book.Find(1)->balance, 20);
}

TEST(LoyaltyBookTest, RefundTakesBackFromTheOrdersLotAndRecordsWhatWasSpent) {
  LoyaltyBook book(DefaultLoyaltyConfig(), kShanghai);
  std::optional<TierChange> change;
  book.Earn(1, Buy(1, 0, "2026-05-01T10:00:00+08:00", 10000), &change);  // 100 points, lot end of 2027
  ASSERT_TRUE(book.Redeem(2, 1, 80, "R-1", At("2026-05-02T10:00:00+08:00")).ok());
  // A full refund should take back 100 but only 20 are left.
  const LedgerEntry& e = book.Reverse(3, 1, 0, Money::Fen(0), At("2026-05-03T10:00:00+08:00"), &change);
  EXPECT_EQ(e.points, -20);
  EXPECT_EQ(e.unrecovered, 80);
  EXPECT_EQ(e.growth, -1000);
  EXPECT_EQ(book.Find(1)->balance, 0);
  EXPECT_EQ(book.Find(1)->growth, 0);
}

TEST(LoyaltyBookTest, RollingBasisLiftsAtOnceAndLowersOnlyAtReview) {
  LoyaltyConfig config = DefaultLoyaltyConfig();
  config.basis = GrowthBasis::kRollingMonths;
  config.rolling_months = 3;
  LoyaltyBook book(config, kShanghai);
  std::optional<TierChange> change;
  book.Earn(1, Buy(1, 0, "2026-01-10T10:00:00+08:00", 30000), &change);  // growth 3000: silver
  ASSERT_TRUE(change);
  EXPECT_EQ(book.TierOf(1), 1);
  // May 1: the window Feb 1 – Apr 30 holds nothing: down to standard.
  auto review = book.Review(At("2026-05-01T00:00:00+08:00"), At("2026-05-01T00:00:00+08:00"));
  ASSERT_EQ(review.size(), 1u);
  EXPECT_EQ(review[0].to, 0);
  // An April review still saw January in its window (Jan 1 – Mar 31).
  LoyaltyBook early(config, kShanghai);
  early.Earn(1, Buy(1, 0, "2026-01-10T10:00:00+08:00", 30000), &change);
  EXPECT_TRUE(early.Review(At("2026-04-01T00:00:00+08:00"), At("2026-04-01T00:00:00+08:00")).empty());
}

// --- Model-based: the book against a model that keeps every point as a unit
// with its expiry, so "soonest first", expiry and refunds are literal.

struct ModelOrder {
  MemberId member;
  int64_t net;
  int64_t rate_bp;
  Timestamp lot;
  int64_t points_claimed;  // what the order counts as earned now
};

struct ModelMember {
  std::vector<Timestamp> units;  // one per point
  int64_t growth = 0;
};

class Model {
 public:
  explicit Model(const LoyaltyConfig& c) : config_(c) {}

  int64_t Earn(MemberId m, int64_t net, bool birthday, Timestamp lot) {
    int64_t rate = config_.tiers[static_cast<size_t>(config_.TierFor(members_[m].growth))].points_rate_bp;
    if (birthday) rate *= 2;
    const int64_t points = net * rate / 1'000'000;
    members_[m].units.insert(members_[m].units.end(), static_cast<size_t>(points), lot);
    members_[m].growth += net / 10;
    orders_.push_back({m, net, rate, lot, points});
    return points;
  }

  void Refund(size_t order, int64_t amount) {
    ModelOrder& o = orders_[order];
    ModelMember& mm = members_[o.member];
    mm.growth -= o.net / 10;
    o.net -= amount;
    mm.growth += o.net / 10;
    const int64_t now = o.net * o.rate_bp / 1'000'000;
    int64_t to_take = o.points_claimed - now;
    o.points_claimed = now;
    // The order's own lot first, then soonest first.
    for (auto it = mm.units.begin(); it != mm.units.end() && to_take > 0;) {
      if (*it == o.lot) {
        it = mm.units.erase(it), --to_take;
      } else {
        ++it;
      }
    }
    Spend(o.member, std::min<int64_t>(to_take, static_cast<int64_t>(mm.units.size())));
  }

  void Spend(MemberId m, int64_t points) {
    auto& u = members_[m].units;
    std::sort(u.begin(), u.end());
    u.erase(u.begin(), u.begin() + points);
  }

  void Expire(Timestamp now) {
    for (auto& [m, mm] : members_) std::erase_if(mm.units, [&](Timestamp t) { return t <= now; });
  }

  std::map<MemberId, ModelMember> members_;
  std::vector<ModelOrder> orders_;
  LoyaltyConfig config_;
};

std::vector<Lot> Lots(const ModelMember& m) {
  std::map<Timestamp, int64_t> by;
  for (Timestamp t : m.units) ++by[t];
  std::vector<Lot> out;
  for (auto [t, n] : by) out.push_back({t, n});
  return out;
}

void ExpectSame(const LoyaltyBook& book, const Model& model, const std::string& where) {
  for (const auto& [m, mm] : model.members_) {
    static const Account kNone;
    const Account* a = book.Find(m) ? book.Find(m) : &kNone;
    ASSERT_EQ(a->balance, static_cast<int64_t>(mm.units.size())) << where << " member " << m;
    ASSERT_EQ(a->growth, mm.growth) << where << " member " << m;
    ASSERT_EQ(a->tier, model.config_.TierFor(mm.growth)) << where << " member " << m;
    const std::vector<Lot> lots = Lots(mm);
    ASSERT_EQ(a->lots.size(), lots.size()) << where << " member " << m;
    for (size_t i = 0; i < lots.size(); ++i) {
      ASSERT_EQ(a->lots[i].expires_at, lots[i].expires_at) << where;
      ASSERT_EQ(a->lots[i].points, lots[i].points) << where;
    }
    // The ledger invariant: balance and growth are the sums of the entries.
    int64_t points = 0, growth = 0;
    book.ForEachEntryOf(m, [&](const LedgerEntry& e) { points += e.points, growth += e.growth; });
    ASSERT_EQ(points, a->balance) << where;
    ASSERT_EQ(growth, a->growth) << where;
  }
}

TEST(LoyaltyBookTest, AgreesWithAUnitModelUnderRandomOrdersRefundsRedemptionsAndTime) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Random rng(seed);
    const LoyaltyConfig config = DefaultLoyaltyConfig();
    LoyaltyBook book(config, kShanghai);
    Model model(config);
    Timestamp now = At("2026-01-01T09:00:00+08:00");
    int64_t tick = 1;
    std::vector<std::pair<MemberId, LedgerEntry>> journal;  // for the replay check
    std::vector<TierChange> tiers;
    auto keep_tier = [&](const std::optional<TierChange>& c) {
      if (c) tiers.push_back(*c);
    };
    for (int step = 0; step < 400; ++step) {
      const MemberId m = rng.Range(1, 4);
      const std::string where = "seed " + std::to_string(seed) + " step " + std::to_string(step);
      switch (rng.Uniform(6)) {
        case 0:
        case 1: {  // an order, sometimes on the member's birthday
          const int64_t net = rng.Range(0, 40'000);
          const bool on_birthday = rng.Chance(0.2);
          const LocalDate today = kShanghai.DateOf(now);
          const LocalDate birthday =
              on_birthday ? LocalDate::FromYmd(1990, today.month(), today.day()) : LocalDate::FromYmd(1990, 1, 1);
          const bool counts = on_birthday || (today.month() == 1 && today.day() == 1);
          const auto order = static_cast<int32_t>(model.orders_.size());
          std::optional<TierChange> c;
          const LedgerEntry& e =
              book.Earn(tick++, Purchase{m, order, now, Money::Fen(net), Channel::kStore, {}, birthday}, &c);
          keep_tier(c);
          journal.emplace_back(m, e);
          ASSERT_EQ(e.points, model.Earn(m, net, counts, book.LotExpiry(now))) << where;
          break;
        }
        case 2: {  // a refund of part or all of what is left of an order
          if (model.orders_.empty()) break;
          const size_t o = rng.Uniform(model.orders_.size());
          if (model.orders_[o].net == 0) break;
          const int64_t amount = rng.Chance(0.3) ? model.orders_[o].net : rng.Range(1, model.orders_[o].net);
          model.Refund(o, amount);
          std::optional<TierChange> c;
          journal.emplace_back(model.orders_[o].member,
                               book.Reverse(tick++, model.orders_[o].member, static_cast<int32_t>(o),
                                            Money::Fen(model.orders_[o].net), now, &c));
          keep_tier(c);
          break;
        }
        case 3: {  // a redemption, sometimes more than the balance
          const auto balance = static_cast<int64_t>(model.members_[m].units.size());
          const int64_t points = rng.Range(1, balance + 20);
          auto r = book.Redeem(tick, m, points, "R-" + std::to_string(tick), now);
          ASSERT_EQ(r.ok(), points <= balance) << where;
          if (r.ok()) {
            ++tick;
            model.Spend(m, points);
            journal.emplace_back(m, **r);
          }
          break;
        }
        case 4: {  // time passes; due lots expire
          now = now.PlusSeconds(rng.Range(3600, 120 * 86'400));
          model.Expire(now);
          for (auto& x : book.ExpireDue(now, tick)) journal.push_back(std::move(x));
          break;
        }
        default: {  // an operator adjusts, up or down
          const auto balance = static_cast<int64_t>(model.members_[m].units.size());
          const int64_t points = rng.Chance(0.5) ? rng.Range(1, 300) : -rng.Range(1, balance + 20);
          auto r = book.Adjust(tick, m, points, "goodwill", now);
          ASSERT_EQ(r.ok(), points > 0 || -points <= balance) << where;
          if (!r.ok()) break;
          ++tick;
          if (points > 0) {
            model.members_[m].units.insert(model.members_[m].units.end(), static_cast<size_t>(points),
                                           book.LotExpiry(now));
          } else {
            model.Spend(m, -points);
          }
          journal.emplace_back(m, **r);
        }
      }
      ExpectSame(book, model, where);
      if (HasFatalFailure()) return;
    }
    // Replaying the journal in tick order rebuilds the same accounts.
    std::sort(journal.begin(), journal.end(),
              [](const auto& a, const auto& b) { return a.second.tick < b.second.tick; });
    LoyaltyBook replayed(config, kShanghai);
    for (const auto& [member, entry] : journal) replayed.Replay(member, entry, std::string(book.NoteOf(entry)));
    for (const TierChange& c : tiers) {
      replayed.ReplayTier(c.member, config.tiers[static_cast<size_t>(c.from)].id,
                          config.tiers[static_cast<size_t>(c.to)].id, c.cause, c.at);
    }
    ExpectSame(replayed, model, "replay of seed " + std::to_string(seed));
  }
}


// A configuration with every rate and multiplier at the top of its range.
LoyaltyConfig RichestConfig() {
  LoyaltyConfig config = DefaultLoyaltyConfig();
  for (TierRule& t : config.tiers) t.points_rate_bp = 1'000'000;
  config.channel_multiplier_pct = {{"store", 1000}};
  config.category_multiplier_pct = {{"gold", 1000}};
  config.birthday.points_multiplier_pct = 1000;
  config.growth_per_yuan = 10'000;
  return config;
}

TEST(LoyaltyBookTest, PointsPerOperationAndBalancesAreBounded) {
  LoyaltyBook book(DefaultLoyaltyConfig(), kShanghai);
  const Timestamp t = At("2026-03-04T10:00:00+08:00");
  // The reproduction: 9e18 twice wrapped the balance to a negative number.
  auto huge = book.Adjust(1, 1, 9'000'000'000'000'000'000, "a", t);
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().field_errors()[0].field, "points");
  EXPECT_FALSE(book.Redeem(2, 1, kMaxPointsPerOperation + 1, "r", t).ok());
  EXPECT_FALSE(book.Adjust(3, 1, -kMaxPointsPerOperation - 1, "a", t).ok());
  // Up to the bound of a balance, one operation at a time; past it is refused.
  int64_t tick = 10;
  for (int64_t held = 0; held < kMaxPoints; held += kMaxPointsPerOperation) {
    ASSERT_TRUE(book.Adjust(tick++, 1, kMaxPointsPerOperation, "a", t).ok()) << held;
  }
  EXPECT_EQ(book.Find(1)->balance, kMaxPoints);
  auto past = book.Adjust(tick++, 1, 1, "a", t);
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(book.Find(1)->balance, kMaxPoints);
}

TEST(LoyaltyBookTest, TheLargestOrderAtTheHighestRatesEarnsUpToTheBoundWithoutOverflow) {
  LoyaltyBook book(RichestConfig(), kShanghai);
  std::optional<TierChange> change;
  const LocalDate birthday = LocalDate::FromYmd(1990, 3, 4);
  const std::vector<OrderItem> items = {{"S", "gold", 1, Money::Fen(Money::kMaxFen)}};
  Purchase p = Buy(1, 0, "2026-03-04T10:00:00+08:00", Money::kMaxFen, birthday);
  p.items = items;
  // 10^12 fen at 10^9 bp would be 10^15 points: 10^21 on the way, past int64.
  const LedgerEntry& first = book.Earn(1, p, &change);
  EXPECT_EQ(first.points, kMaxPoints);
  EXPECT_EQ(book.Find(1)->balance, kMaxPoints);
  EXPECT_EQ(book.Find(1)->growth, kMaxPoints);
  p.order = 1;
  EXPECT_EQ(book.Earn(2, p, &change).points, 0);
  // A partial refund of the capped order cannot add points.
  const LedgerEntry& back = book.Reverse(3, 1, 0, Money::Fen(Money::kMaxFen / 2), At("2026-03-05T10:00:00+08:00"),
                                         &change, "R1");
  EXPECT_LE(back.points, 0);
  EXPECT_LE(back.growth, 0);
  EXPECT_GE(book.Find(1)->balance, 0);
}

// Random operations with amounts at and near their bounds; the ledger must
// add up and no figure may wrap.
TEST(LoyaltyBookTest, AmountsDrivenToTheirBoundsNeverWrap) {
  Random rng(20261207);
  LoyaltyBook book(RichestConfig(), kShanghai);
  std::optional<TierChange> change;
  const std::vector<int64_t> fens = {0, 1, 99, Money::kMaxFen - 1, Money::kMaxFen};
  const std::vector<int64_t> points = {1, 2, kMaxPointsPerOperation - 1, kMaxPointsPerOperation};
  int64_t tick = 1;
  int32_t orders = 0;
  std::map<int32_t, std::pair<MemberId, int64_t>> paid;  // order → member, net fen
  Timestamp at = At("2026-01-01T10:00:00+08:00");
  for (int step = 0; step < 4000; ++step) {
    at = at.PlusSeconds(3600);
    const MemberId m = static_cast<MemberId>(rng.Range(1, 6));
    const int dice = static_cast<int>(rng.Uniform(10));
    if (dice < 4) {
      const int64_t fen = fens[rng.Uniform(fens.size())];
      const std::vector<OrderItem> items = {{"S", "gold", 1, Money::Fen(fen)}};
      Purchase p{m, orders, at, Money::Fen(fen), Channel::kStore, items, LocalDate::FromYmd(1990, 1, 1)};
      book.Earn(tick++, p, &change);
      paid[orders++] = {m, fen};
    } else if (dice < 6 && !paid.empty()) {
      auto it = paid.begin();
      std::advance(it, static_cast<long>(rng.Uniform(paid.size())));
      auto& [member, net] = it->second;
      if (book.Find(member) == nullptr || book.Find(member)->latest_entry < 0) continue;
      net = std::max<int64_t>(0, net - fens[rng.Uniform(fens.size())]);
      book.Reverse(tick++, member, it->first, Money::Fen(net), at, &change, "R" + std::to_string(step));
    } else if (dice < 7) {
      (void)book.Redeem(tick++, m, points[rng.Uniform(points.size())], "D" + std::to_string(step), at);
    } else if (dice < 9) {
      const int64_t n = points[rng.Uniform(points.size())];
      (void)book.Adjust(tick++, m, rng.Chance(0.5) ? n : -n, "a", at);
    } else {
      const MemberId other = static_cast<MemberId>(rng.Range(1, 6));
      if (other != m) book.Merge(m, other, at);
    }
    for (MemberId k = 1; k <= 6; ++k) {
      const Account* a = book.Find(k);
      if (a == nullptr) continue;
      int64_t lots = 0, entries = 0;
      for (const Lot& lot : a->lots) lots += lot.points;
      book.ForEachEntryOf(k, [&](const LedgerEntry& e) { entries += e.points; });
      ASSERT_GE(a->balance, 0) << "step " << step;
      ASSERT_GE(a->growth, 0) << "step " << step;
      ASSERT_EQ(a->balance, lots) << "step " << step;
      ASSERT_EQ(a->balance, entries) << "step " << step;
    }
  }
}

TEST(LoyaltyBookTest, LotsThatArriveDeadExpireAtOnce) {
  LoyaltyBook book(DefaultLoyaltyConfig(), kShanghai);  // lots expire at the end of the year after
  std::optional<TierChange> change;
  book.Earn(1, Buy(1, 0, "2024-03-01T10:00:00+08:00", 50000), &change);
  book.Earn(2, Buy(1, 1, "2026-03-01T10:00:00+08:00", 10000), &change);  // silver by then: 1.5 a yuan
  EXPECT_EQ(book.Find(1)->balance, 650);
  int64_t next_tick = 3;
  const std::vector<LedgerEntry> expired = book.ExpireDueOf(1, At("2026-12-07T10:00:00+08:00"), next_tick);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].points, -500);
  EXPECT_EQ(expired[0].lot, At("2026-01-01T00:00:00+08:00"));
  EXPECT_EQ(book.Find(1)->balance, 150);
  EXPECT_FALSE(book.Redeem(next_tick, 1, 500, "GIFT", At("2026-12-07T10:00:00+08:00")).ok());
}

}  // namespace
}  // namespace pond
