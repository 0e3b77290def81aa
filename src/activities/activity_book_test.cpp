// The activity book against a plain model: random claims, joins and
// helps over simulated hours, each answer (taken, or the reason refused)
// compared with what the model derives by scanning every claim made so far.
#include "activities/activity_book.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "core/random.hpp"

namespace pond::activities {
namespace {

const Timestamp kT0 = Timestamp::FromMicros(1'790'000'000'000'000);

Timestamp At(int64_t minutes) { return kT0.PlusSeconds(minutes * 60); }

// A refusal's reason, or the code of another error.
std::string Answer(const Status& s) {
  const std::string reason = ReasonOf(s);
  return reason.empty() ? std::string(StatusCodeName(s.code())) : reason;
}

Activity Base(ActivityKind kind) {
  Activity a;
  a.kind = kind;
  a.name = "test";
  a.starts_at = At(120);
  a.ends_at = At(48 * 60);
  a.sku = "SKU-1";
  a.price = Money::Fen(990);
  a.list_price = Money::Fen(2990);
  a.stock = 7;
  a.per_member_limit = 2;
  a.seed = 42;
  return a;
}

// The model: every claim as it was made; all state derived by scanning.
struct ModelClaim {
  MemberId member;
  int64_t opener = -1;  // group buy: index of the opener's claim
  Timestamp deadline;
  std::vector<MemberId> helpers;
  bool missed = false;
  int prize = -1;
};

class Model {
 public:
  explicit Model(const Activity& a) : a_(a) {}

  bool Full(int64_t opener) const {
    int n = 0;
    for (const ModelClaim& c : claims_) n += c.opener == opener;
    return n == a_.group_size;
  }
  bool Live(const ModelClaim& c, Timestamp t) const {
    switch (a_.kind) {
      case ActivityKind::kGroupBuy: {
        return Full(c.opener) || claims_[static_cast<size_t>(c.opener)].deadline > t;
      }
      case ActivityKind::kBargain:
        if (static_cast<int32_t>(c.helpers.size()) == a_.helpers) return !c.missed;
        return c.deadline > t;
      default:
        return true;
    }
  }
  int64_t Taken(Timestamp t) const {
    int64_t n = 0;
    for (size_t i = 0; i < claims_.size(); ++i) {
      const ModelClaim& c = claims_[i];
      switch (a_.kind) {
        case ActivityKind::kGroupBuy: n += (c.opener == static_cast<int64_t>(i) && Live(c, t)) ? a_.group_size : 0; break;
        case ActivityKind::kBargain: n += static_cast<int32_t>(c.helpers.size()) == a_.helpers && !c.missed; break;
        case ActivityKind::kLuckyDraw: n += c.prize >= 0; break;
        default: ++n;
      }
    }
    return n;
  }
  // Live claims made by `m` itself, and by every member standing as `m`.
  int32_t OwnHeld(MemberId m, Timestamp t) const {
    int32_t n = 0;
    for (const ModelClaim& c : claims_) n += c.member == m && Live(c, t);
    return n;
  }
  int32_t Held(MemberId m, Timestamp t) const {
    int32_t n = 0;
    for (const ModelClaim& c : claims_) n += Standing(c.member) == m && Live(c, t);
    return n;
  }
  // The caller's merges: two members found to be one.
  void Merge(MemberId survivor, MemberId merged) { merged_into_[merged] = survivor; }
  MemberId Standing(MemberId m) const {
    for (auto it = merged_into_.find(m); it != merged_into_.end(); it = merged_into_.find(m)) m = it->second;
    return m;
  }

  // The answer the book should give: "ok" or a reason. `m` is standing.
  std::string Take(MemberId m, int64_t group_claim, Timestamp t) {
    if (t < a_.starts_at) return "not_started";
    if (t >= a_.ends_at) return "ended";
    if (a_.per_member_limit > 0 && Held(m, t) >= a_.per_member_limit) return "limit_reached";
    const int64_t left = StockOf(a_) - Taken(t);
    ModelClaim c{m, -1, {}, {}, false, -1};
    if (a_.kind == ActivityKind::kGroupBuy && group_claim >= 0) {
      const ModelClaim& o = claims_[static_cast<size_t>(group_claim)];
      if (Full(group_claim)) return "group_full";
      if (o.deadline <= t) return "group_closed";
      for (const ModelClaim& x : claims_) {
        if (x.opener == group_claim && Standing(x.member) == m) return "limit_reached";
      }
      c.opener = group_claim;
      claims_.push_back(c);
      return "ok";
    }
    const int64_t need = a_.kind == ActivityKind::kGroupBuy ? a_.group_size : 1;
    if (left < need) return "sold_out";
    if (a_.kind == ActivityKind::kGroupBuy) {
      c.opener = static_cast<int64_t>(claims_.size());
      c.deadline = std::min(t.PlusSeconds(int64_t{a_.group_hours} * 3600), a_.ends_at);
    }
    if (a_.kind == ActivityKind::kBargain) c.deadline = std::min(t.PlusSeconds(int64_t{a_.bargain_hours} * 3600), a_.ends_at);
    if (a_.kind == ActivityKind::kLuckyDraw) {
      ++draws_;
      int64_t total = a_.none_weight;
      for (const Prize& p : a_.prizes) total += p.weight;
      int64_t pick = static_cast<int64_t>(DrawRoll(a_.seed, draws_) % static_cast<uint64_t>(total));
      for (size_t i = 0; i < a_.prizes.size(); ++i) {
        if (pick < a_.prizes[i].weight) {
          int64_t won = 0;
          for (const ModelClaim& x : claims_) won += x.prize == static_cast<int>(i);
          if (won < a_.prizes[i].stock) c.prize = static_cast<int>(i);
          break;
        }
        pick -= a_.prizes[i].weight;
      }
    }
    claims_.push_back(c);
    return "ok";
  }

  std::string Help(size_t claim, MemberId helper, Timestamp t) {
    ModelClaim& c = claims_[claim];
    if (static_cast<int32_t>(c.helpers.size()) == a_.helpers || c.deadline <= t) return "bargain_closed";
    if (Standing(c.member) == helper) return "own_bargain";
    for (MemberId h : c.helpers) {
      if (Standing(h) == helper) return "already_helped";
    }
    const bool last = static_cast<int32_t>(c.helpers.size()) + 1 == a_.helpers;
    const bool unit_left = StockOf(a_) - Taken(t) >= 1;
    c.helpers.push_back(helper);
    if (last && !unit_left) c.missed = true;
    return "ok";
  }

  const std::vector<ModelClaim>& claims() const { return claims_; }

 private:
  const Activity& a_;
  std::vector<ModelClaim> claims_;
  std::map<MemberId, MemberId> merged_into_;
  int64_t draws_ = 0;
};

void RunAgainstModel(Activity shape, uint64_t seed) {
  ActivityBook book;
  const Activity& a = book.Add(shape);
  Model model(a);
  Random rng(seed);
  std::vector<int64_t> ids;  // book claim id by model index
  int64_t minute = 0;
  std::set<std::string> seen;
  for (int step = 0; step < 400; ++step) {
    minute += static_cast<int64_t>(rng.Uniform(40));
    const Timestamp t = At(minute);
    if (rng.Chance(0.03)) {  // two members turn out to be one
      const MemberId a1 = model.Standing(1 + static_cast<MemberId>(rng.Uniform(6)));
      const MemberId a2 = model.Standing(1 + static_cast<MemberId>(rng.Uniform(6)));
      if (a1 != a2) model.Merge(a1, a2);
      continue;
    }
    // The caller acts for the standing member and names those merged into it.
    const MemberId m = model.Standing(1 + static_cast<MemberId>(rng.Uniform(6)));
    std::vector<MemberId> merged;
    for (MemberId x = 1; x <= 6; ++x) {
      if (x != m && model.Standing(x) == m) merged.push_back(x);
    }
    std::string want, got;
    if (a.kind == ActivityKind::kBargain && !ids.empty() && rng.Chance(0.7)) {
      const size_t i = rng.Uniform(ids.size());
      want = model.Help(i, m, t);
      auto r = book.Help(ids[i], m, t, merged);
      got = r.ok() ? "ok" : Answer(r.status());
      if (r.ok()) {
        const std::vector<int64_t> plan =
            BargainCuts(a.list_price.fen() - a.price.fen(), a.helpers, a.seed, ids[i]);
        EXPECT_EQ((*r)->cuts.back(), plan[(*r)->cuts.size() - 1]);
      }
    } else {
      int64_t group = -1;
      if (a.kind == ActivityKind::kGroupBuy && !ids.empty() && rng.Chance(0.6)) {
        // Join some group: the opener of a random claim.
        const size_t i = rng.Uniform(ids.size());
        group = model.claims()[i].opener;
      }
      want = model.Take(m, group, t);
      auto r = book.Take(a.id, m, group >= 0 ? ids[static_cast<size_t>(group)] : 0, t, merged);
      got = r.ok() ? "ok" : Answer(r.status());
      if (r.ok()) {
        ids.push_back((*r)->id);
        if (a.kind == ActivityKind::kLuckyDraw) {
          EXPECT_EQ((*r)->prize, model.claims().back().prize);
        }
      }
    }
    ASSERT_EQ(got, want) << "step " << step << " at minute " << minute << " member " << m;
    seen.insert(got);
    const Tally tally = book.TallyOf(a.id, t);
    ASSERT_EQ(tally.taken, model.Taken(t)) << "step " << step;
    ASSERT_LE(tally.taken, StockOf(a));
    for (MemberId x = 1; x <= 6; ++x) {
      ASSERT_EQ(book.HeldBy(a.id, x), model.OwnHeld(x, t)) << "step " << step << " member " << x;
      if (a.per_member_limit > 0) {
        ASSERT_LE(book.HeldBy(a.id, x), a.per_member_limit);
      }
    }
  }
  // The run went through the interesting answers, not only one of them.
  EXPECT_TRUE(seen.count("ok") && seen.count("ended") && seen.count("not_started")) << seed;
  if (a.kind != ActivityKind::kBargain) {
    EXPECT_TRUE(seen.count("limit_reached") || seen.count("sold_out")) << seed;
  }
}

TEST(ActivityBookModel, FlashSale) {
  for (uint64_t seed = 1; seed <= 20; ++seed) RunAgainstModel(Base(ActivityKind::kFlashSale), seed);
}

TEST(ActivityBookModel, PointsMallWithoutLimit) {
  Activity a = Base(ActivityKind::kPointsMall);
  a.per_member_limit = 0;
  a.stock = 30;
  for (uint64_t seed = 1; seed <= 20; ++seed) RunAgainstModel(a, seed);
}

TEST(ActivityBookModel, GroupBuy) {
  Activity a = Base(ActivityKind::kGroupBuy);
  a.group_size = 3;
  a.group_hours = 3;
  a.stock = 9;
  for (uint64_t seed = 1; seed <= 40; ++seed) RunAgainstModel(a, seed);
}

TEST(ActivityBookModel, Bargain) {
  Activity a = Base(ActivityKind::kBargain);
  a.helpers = 3;
  a.bargain_hours = 5;
  a.stock = 2;
  for (uint64_t seed = 1; seed <= 40; ++seed) RunAgainstModel(a, seed);
}

TEST(ActivityBookModel, LuckyDraw) {
  Activity a = Base(ActivityKind::kLuckyDraw);
  a.stock = 0;
  a.prizes = {{"ticket", 3, 2, 0}, {"mug", 5, 5, 0}};
  a.none_weight = 10;
  a.per_member_limit = 3;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    a.seed = seed * 7919;
    RunAgainstModel(a, seed);
  }
}

TEST(BargainCuts, ReachTheTargetLargestFirst) {
  Random rng(5);
  for (int i = 0; i < 2000; ++i) {
    const int32_t helpers = 1 + static_cast<int32_t>(rng.Uniform(30));
    const int64_t total = helpers + static_cast<int64_t>(rng.Uniform(100000));
    const std::vector<int64_t> cuts = BargainCuts(total, helpers, rng.Next(), 1 + i);
    ASSERT_EQ(static_cast<int32_t>(cuts.size()), helpers);
    EXPECT_EQ(std::accumulate(cuts.begin(), cuts.end(), int64_t{0}), total);
    EXPECT_TRUE(std::is_sorted(cuts.rbegin(), cuts.rend()));
    EXPECT_GE(cuts.back(), 1);
  }
  // The same seed and bargain give the same cuts; another bargain others.
  EXPECT_EQ(BargainCuts(10000, 5, 9, 1), BargainCuts(10000, 5, 9, 1));
  EXPECT_NE(BargainCuts(10000, 5, 9, 1), BargainCuts(10000, 5, 9, 2));
}

TEST(LuckyDraw, PrizesFollowTheirWeights) {
  // 60 000 draws over weights 1:2:7 with ample stock: each share within
  // a few standard deviations of its probability.
  ActivityBook book;
  Activity a = Base(ActivityKind::kLuckyDraw);
  a.stock = 0;
  a.per_member_limit = 0;
  a.prizes = {{"a", 1'000'000, 1, 0}, {"b", 1'000'000, 2, 0}};
  a.none_weight = 7;
  a.seed = 0x5eed;
  const Activity& made = book.Add(a);
  std::vector<int64_t> count(3);
  for (int i = 0; i < 60000; ++i) {
    auto r = book.Take(made.id, 1, 0, At(200));
    ASSERT_TRUE(r.ok());
    ++count[static_cast<size_t>((*r)->prize + 1)];
  }
  EXPECT_NEAR(count[0], 42000, 500);
  EXPECT_NEAR(count[1], 6000, 300);
  EXPECT_NEAR(count[2], 12000, 400);
}

TEST(GroupBuy, AFailedGroupGivesItsUnitsBackAndFreesItsMembers) {
  ActivityBook book;
  Activity a = Base(ActivityKind::kGroupBuy);
  a.group_size = 2;
  a.group_hours = 1;
  a.stock = 2;
  a.per_member_limit = 1;
  const Activity& made = book.Add(a);
  auto opened = book.Take(made.id, 1, 0, At(200));
  ASSERT_TRUE(opened.ok());
  const int64_t group = (*opened)->id;
  EXPECT_EQ(Answer(book.Take(made.id, 2, 0, At(210)).status()), "sold_out");  // the group holds both units
  EXPECT_EQ(Answer(book.Take(made.id, 1, 0, At(220)).status()), "limit_reached");
  EXPECT_EQ(book.TallyOf(made.id, At(259)).taken, 2);
  EXPECT_EQ(book.TallyOf(made.id, At(260)).taken, 0);  // an hour after opening
  EXPECT_EQ(Answer(book.Take(made.id, 2, group, At(260)).status()), "group_closed");
  ASSERT_TRUE(book.Take(made.id, 1, 0, At(261)).ok());  // member 1 may open again
  EXPECT_EQ(book.StateOf(*book.FindClaim(group), At(261)), ClaimState::kFailed);
  const Tally t = book.TallyOf(made.id, At(261));
  EXPECT_EQ(t.groups_failed, 1);
  EXPECT_EQ(t.groups_open, 1);
}

}  // namespace
}  // namespace pond::activities
