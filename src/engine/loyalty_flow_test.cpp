// Loyalty through the engine with a simulated clock: years of orders,
// refunds, redemptions, day runs and restarts in seconds, against a tiny
// model that applies CONTRACT.md's rules literally (every point a unit with
// its expiry; stages from the list of purchase dates).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>

#include "core/random.hpp"
#include "engine/tenant_state.hpp"
#include "engine/testing/loyalty_config.hpp"
#include "engine/testing/memory_store.hpp"
#include "engine/testing/rows_of.hpp"

namespace pond {
namespace {

const TimeZone kZone = *TimeZone::Load("Asia/Shanghai");

std::unique_ptr<TenantState> NewState() {
  return std::make_unique<TenantState>(TenantRecord{"t", "T", "Asia/Shanghai", {}}, kZone);
}

MemberRef Phone(int n) { return MemberRef{{Identity{IdentityKind::kPhone, "1380000000" + std::to_string(n)}}, {}}; }

bool IsBirthdayLiterally(LocalDate b, LocalDate d) {
  const bool leap = (d.year() % 4 == 0 && d.year() % 100 != 0) || d.year() % 400 == 0;
  return (b.month() == d.month() && b.day() == d.day()) ||
         (b.month() == 2 && b.day() == 29 && d.month() == 2 && d.day() == 28 && !leap);
}

struct ModelOrder {
  int member;
  Timestamp paid_at;
  int64_t net;
  int64_t rate_bp;
  Timestamp lot;
  int64_t points;  // earned at the current net
};

struct Model {
  std::map<int, std::vector<Timestamp>> units;  // member → one entry per point
  std::map<int, int64_t> growth;
  std::vector<ModelOrder> orders;
  std::map<int, LocalDate> birthdays;

  static int Tier(int64_t g) { return g >= 6000 ? 2 : g >= 3000 ? 1 : 0; }

  void Spend(int m, int64_t n) {
    auto& u = units[m];
    std::sort(u.begin(), u.end());
    u.erase(u.begin(), u.begin() + std::min<int64_t>(n, static_cast<int64_t>(u.size())));
  }

  std::string Stage(int m, LocalDate today) const {
    std::vector<int32_t> days;
    for (const ModelOrder& o : orders) {
      if (o.member == m && o.net > 0) days.push_back(kZone.DateOf(o.paid_at).days());
    }
    if (days.empty()) return "intro";
    std::sort(days.begin(), days.end());
    const int64_t d = std::max(0, today.days() - days.back());
    int64_t n = 0;
    for (int32_t x : days) n += today.days() - x < 365;
    if (d <= 90 && days.size() >= 2 && days.back() - days[days.size() - 2] > 180) return "won_back";
    if (d <= 90 && n >= 3) return "mature";
    if (d <= 90) return "growth";
    return d <= 180 ? "decline" : "lost";
  }
};

TEST(LoyaltyFlowTest, EngineAgreesWithTheRulesOverYearsWithRestarts) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    Random rng(seed);
    auto data = std::make_shared<testing::MemoryTenantData>();
    testing::MemoryTenantStore store(data);
    auto state = NewState();
    Model model;
    Timestamp now = *ParseRfc3339("2026-01-01T08:00:00+08:00");
    state->RunDue(now);
    int restarts = 0, expiries = 0, redemptions = 0;
    const LocalDate leap_day = LocalDate::FromYmd(2000, 2, 29);
    for (int step = 0; step < 500; ++step) {
      const std::string where = "seed " + std::to_string(seed) + " step " + std::to_string(step);
      const int m = static_cast<int>(rng.Range(1, 4));
      switch (rng.Uniform(8)) {
        case 0: {  // time passes: up to 40 days, often across midnight
          now = now.PlusSeconds(rng.Range(600, 40 * 86'400));
          state->RunDue(now);
          const Timestamp day_start = kZone.StartOfDay(kZone.DateOf(now));
          for (auto& [member, u] : model.units) {
            expiries += static_cast<int>(std::count_if(u.begin(), u.end(), [&](Timestamp t) { return t <= day_start; }));
            std::erase_if(u, [&](Timestamp t) { return t <= day_start; });
          }
          break;
        }
        case 1: {  // a profile with a birthday: today's date, or Feb 29
          const LocalDate today = kZone.DateOf(now);
          const LocalDate b = rng.Chance(0.5) ? LocalDate::FromYmd(1990, today.month(), today.day()) : leap_day;
          MemberEvent e{Phone(m), MemberProfile{.birthday = b}};
          auto r = state->Apply(e, now);
          ASSERT_TRUE(r.ok()) << where;
          // A member event seen before (by content) changes nothing, even
          // after a different one: it is a re-sent old event.
          if (*r == EventOutcome::kAccepted) model.birthdays[m] = b;
          break;
        }
        case 2:
        case 3:
        case 4: {  // an order paid a little earlier, sometimes just before midnight
          OrderEvent o;
          o.order_id = "O" + std::to_string(model.orders.size());
          o.member = Phone(m);
          o.paid = Money::Fen(rng.Range(0, 60'000));
          o.paid_at = now.PlusSeconds(-rng.Range(0, 3 * 3600));
          ASSERT_TRUE(state->Apply(o, now).ok()) << where;
          const LocalDate paid_day = kZone.DateOf(o.paid_at);
          int64_t rate = std::array<int64_t, 3>{10'000, 15'000, 20'000}[Model::Tier(model.growth[m])];
          if (model.birthdays.count(m) && IsBirthdayLiterally(model.birthdays[m], paid_day)) rate *= 2;
          const Timestamp lot = kZone.StartOfDay(LocalDate::FromYmd(paid_day.year() + 2, 1, 1));
          const int64_t points = o.paid.fen() * rate / 1'000'000;
          model.orders.push_back({m, o.paid_at, o.paid.fen(), rate, lot, points});
          model.units[m].insert(model.units[m].end(), static_cast<size_t>(points), lot);
          model.growth[m] += o.paid.fen() / 10;
          break;
        }
        case 5: {  // a refund of part or all of an order
          if (model.orders.empty()) break;
          const size_t i = rng.Uniform(model.orders.size());
          ModelOrder& o = model.orders[i];
          if (o.net == 0) break;
          const int64_t amount = rng.Chance(0.4) ? o.net : rng.Range(1, o.net);
          RefundEvent r{"R" + std::to_string(step), "O" + std::to_string(i), Money::Fen(amount), now};
          ASSERT_TRUE(state->Apply(r, now).ok()) << where;
          model.growth[o.member] += (o.net - amount) / 10 - o.net / 10;
          o.net -= amount;
          const int64_t points = o.net * o.rate_bp / 1'000'000;
          int64_t take = o.points - points;
          o.points = points;
          auto& u = model.units[o.member];
          for (auto it = u.begin(); it != u.end() && take > 0;) {  // the order's own lot first
            if (*it == o.lot) {
              it = u.erase(it), --take;
            } else {
              ++it;
            }
          }
          model.Spend(o.member, take);
          break;
        }
        case 6: {  // a redemption, sometimes more than the balance
          const auto balance = static_cast<int64_t>(model.units[m].size());
          const int64_t points = rng.Range(1, std::min<int64_t>(balance + 50, 500));  // small: lots must live to expire
          const MemberId id = state->members().Find(Phone(m));
          if (!id) break;
          auto r = state->Redeem(id, points, "G" + std::to_string(step), now);
          ASSERT_EQ(r.ok(), points <= balance) << where;
          if (r.ok()) model.Spend(m, points), ++redemptions;
          break;
        }
        default: {  // a restart: commit, reload, carry on with the reloaded state
          ASSERT_TRUE(store.Commit(state->TakePending()).ok());
          auto reloaded = NewState();
          TenantState::Loader loader(*reloaded);
          ASSERT_TRUE(store.Load(loader).ok());
          loader.Finish();
          state = std::move(reloaded);
          ++restarts;
        }
      }
      // After every step: balances, lots, growth, tiers and stages agree.
      const LocalDate today = kZone.DateOf(now);
      for (int member = 1; member <= 4; ++member) {
        const MemberId id = state->members().Find(Phone(member));
        if (!id) continue;
        const Account* a = state->loyalty().Find(id);
        static const Account kNone;
        if (!a) a = &kNone;
        ASSERT_EQ(a->balance, static_cast<int64_t>(model.units[member].size())) << where << " member " << member;
        ASSERT_EQ(a->growth, model.growth[member]) << where;
        ASSERT_EQ(state->loyalty().TierOf(id), Model::Tier(model.growth[member])) << where;
        ASSERT_EQ(StageName(state->StageOfMember(id)), model.Stage(member, today)) << where << " member " << member;
        int64_t sum = 0;
        state->loyalty().ForEachEntryOf(id, [&](const LedgerEntry& e) { sum += e.points; });
        ASSERT_EQ(sum, a->balance) << where << ": the balance is the sum of the ledger";
        for (const Lot& lot : a->lots) ASSERT_GT(lot.points, 0) << where;
      }
    }
    EXPECT_GT(restarts, 10);
    EXPECT_GT(expiries, 0);
    EXPECT_GT(redemptions, 0);
  }
}

// The rolling basis through the scheduler: a downgrade waits for the first of
// the month plus the grace days, and is recorded with its cause.
TEST(LoyaltyFlowTest, RollingReviewRunsOnTheFirstPlusGraceDays) {
  auto state = NewState();
  LoyaltyConfig config = DefaultLoyaltyConfig();
  config.basis = GrowthBasis::kRollingMonths;
  config.rolling_months = 1;
  config.review_grace_days = 3;
  testing::SetLoyaltyConfig(*state, config, {});
  Timestamp now = *ParseRfc3339("2026-03-10T10:00:00+08:00");
  state->RunDue(now);
  OrderEvent o;
  o.order_id = "O1";
  o.member = Phone(1);
  o.paid = Money::Fen(30000);  // growth 3000: silver at once
  o.paid_at = now;
  ASSERT_TRUE(state->Apply(o, now).ok());
  const MemberId id = state->members().Find(Phone(1));
  EXPECT_EQ(state->loyalty().TierOf(id), 1);
  // The review on Apr 4 (Apr 1 + 3 days of grace) looks at March: silver holds.
  state->RunDue(*ParseRfc3339("2026-04-04T00:10:00+08:00"));
  EXPECT_EQ(state->loyalty().TierOf(id), 1);
  // May 3: not yet (grace); May 4 looks at April, which is empty.
  state->RunDue(*ParseRfc3339("2026-05-03T23:00:00+08:00"));
  EXPECT_EQ(state->loyalty().TierOf(id), 1);
  state->TakePending();
  state->RunDue(*ParseRfc3339("2026-05-04T00:10:00+08:00"));
  EXPECT_EQ(state->loyalty().TierOf(id), 0);
  const WriteBatch rows = state->TakePending();
  const std::vector<LoyaltyRow> loyalty = testing::RowsOf<LoyaltyRow>(rows);
  const auto tier_row =
      std::find_if(loyalty.begin(), loyalty.end(), [](const LoyaltyRow& r) { return r.kind == LoyaltyKind::kTier; });
  ASSERT_NE(tier_row, loyalty.end());
  EXPECT_EQ(tier_row->from, "silver");
  EXPECT_EQ(tier_row->to, "standard");
  EXPECT_EQ(tier_row->note, "review");
}

}  // namespace
}  // namespace pond
