#include "lifecycle/lifecycle.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "core/random.hpp"

namespace pond {
namespace {

constexpr int32_t kToday = 20'000;

LocalDate Today() { return LocalDate::FromDays(kToday); }

// The stage of a member whose purchases were the given numbers of days ago
// (negative: after today).
Stage StageOfDaysAgo(const std::vector<int>& days_ago, const LifecycleRule& rule = {}) {
  std::vector<LocalDate> dates;
  for (int ago : days_ago) dates.push_back(LocalDate::FromDays(kToday - ago));
  return StageOf(dates, Today(), rule);
}

TEST(StageTest, NamesAndLabels) {
  for (int i = 0; i < kStages; ++i) {
    const auto stage = static_cast<Stage>(i);
    EXPECT_EQ(StageFromName(StageName(stage)), stage);
  }
  EXPECT_EQ(StageName(Stage::kWonBack), "won_back");
  EXPECT_EQ(StageLabel(Stage::kIntro), "引入期");
  EXPECT_EQ(StageLabel(Stage::kWonBack), "挽回");
  EXPECT_EQ(StageFromName("Growth"), std::nullopt);  // names are exact
  EXPECT_EQ(StageFromName(""), std::nullopt);
}

TEST(StageTest, IntroUntilTheFirstPurchase) { EXPECT_EQ(StageOfDaysAgo({}), Stage::kIntro); }

TEST(StageTest, RecencyBoundariesOfTheDefaultRule) {
  // CONTRACT.md: growth d <= 90, decline 91..180, lost d > 180.
  EXPECT_EQ(StageOfDaysAgo({0}), Stage::kGrowth);
  EXPECT_EQ(StageOfDaysAgo({90}), Stage::kGrowth);
  EXPECT_EQ(StageOfDaysAgo({91}), Stage::kDecline);
  EXPECT_EQ(StageOfDaysAgo({180}), Stage::kDecline);
  EXPECT_EQ(StageOfDaysAgo({181}), Stage::kLost);
}

TEST(StageTest, MatureCountsOrdersInsideTheWindow) {
  // 364 days ago is inside the 365-day window, 365 is not: n = 3 vs n = 2.
  EXPECT_EQ(StageOfDaysAgo({90, 100, 364}), Stage::kMature);
  EXPECT_EQ(StageOfDaysAgo({90, 100, 365}), Stage::kGrowth);
  // Enough orders but not active any more.
  EXPECT_EQ(StageOfDaysAgo({91, 100, 110}), Stage::kDecline);
}

TEST(StageTest, WonBackNeedsAGapOverTheRule) {
  EXPECT_EQ(StageOfDaysAgo({90, 271}), Stage::kWonBack);  // d = 90, gap 181
  EXPECT_EQ(StageOfDaysAgo({90, 270}), Stage::kGrowth);   // gap 180 is not over 180
  EXPECT_EQ(StageOfDaysAgo({91, 272}), Stage::kDecline);  // gap 181 but not active
  // won_back comes before mature: n = 4 here.
  EXPECT_EQ(StageOfDaysAgo({0, 181, 182, 183}), Stage::kWonBack);
  // The gap is to the order just before the latest, not to the first order.
  EXPECT_EQ(StageOfDaysAgo({0, 10, 200}), Stage::kMature);
}

TEST(StageTest, AnyOrderAndSameDayOrders) {
  EXPECT_EQ(StageOfDaysAgo({200, 0, 10}), Stage::kMature);
  EXPECT_EQ(StageOfDaysAgo({181, 0}), Stage::kWonBack);
  // Two orders today: the gap is 0, not the 200 days to the order before.
  EXPECT_EQ(StageOfDaysAgo({0, 200}), Stage::kWonBack);
  EXPECT_EQ(StageOfDaysAgo({0, 0, 200}), Stage::kMature);
  EXPECT_EQ(StageOfDaysAgo({200, 0, 0}), Stage::kMature);
  EXPECT_EQ(StageOfDaysAgo({0, 0}), Stage::kGrowth);  // two orders, n = 2 < 3
}

TEST(StageTest, DatesAfterToday) {
  EXPECT_EQ(StageOfDaysAgo({-5}), Stage::kGrowth);  // d = 0
  // Future dates are inside the window however far ahead.
  EXPECT_EQ(StageOfDaysAgo({-400, -399, -398}), Stage::kMature);
  EXPECT_EQ(StageOfDaysAgo({-5, -3, 364}), Stage::kMature);
  // The gap runs between the dates themselves: 5 days ahead to 300 back.
  EXPECT_EQ(StageOfDaysAgo({-5, 300}), Stage::kWonBack);
}

TEST(StageTest, FollowsTheTenantsRule) {
  const LifecycleRule rule{
      .active_days = 30, .lost_after_days = 60, .mature_orders = 3, .won_back_gap_days = 10, .window_days = 50};
  EXPECT_EQ(StageOfDaysAgo({30}, rule), Stage::kGrowth);
  EXPECT_EQ(StageOfDaysAgo({31}, rule), Stage::kDecline);
  EXPECT_EQ(StageOfDaysAgo({60}, rule), Stage::kDecline);
  EXPECT_EQ(StageOfDaysAgo({61}, rule), Stage::kLost);
  EXPECT_EQ(StageOfDaysAgo({10, 15, 49}, rule), Stage::kMature);
  EXPECT_EQ(StageOfDaysAgo({10, 15, 50}, rule), Stage::kGrowth);  // 50 days ago is outside
  EXPECT_EQ(StageOfDaysAgo({10, 20}, rule), Stage::kGrowth);      // gap 10 is not over 10
  EXPECT_EQ(StageOfDaysAgo({10, 21}, rule), Stage::kWonBack);
  EXPECT_EQ(StageOfDaysAgo({10, 21}), Stage::kGrowth);  // the same dates under the defaults
}

// CONTRACT.md's rule read literally, over a copy sorted latest first.
Stage ReferenceStage(std::vector<LocalDate> dates, LocalDate today, const LifecycleRule& rule) {
  if (dates.empty()) return Stage::kIntro;
  std::sort(dates.begin(), dates.end(), std::greater<>());
  const int d = std::max(0, today.days() - dates[0].days());
  int n = 0;
  for (LocalDate date : dates) {
    if (today.days() - date.days() < rule.window_days) ++n;
  }
  const bool active = d <= rule.active_days;
  if (active && dates.size() >= 2 && dates[0].days() - dates[1].days() > rule.won_back_gap_days) {
    return Stage::kWonBack;
  }
  if (active && n >= rule.mature_orders) return Stage::kMature;
  if (active) return Stage::kGrowth;
  if (d <= rule.lost_after_days) return Stage::kDecline;
  return Stage::kLost;
}

TEST(StageTest, MatchesTheLiteralRuleOnRandomHistories) {
  Random rng(20260304);
  std::vector<int> seen(kStages, 0);
  for (int i = 0; i < 20'000; ++i) {
    LifecycleRule rule;
    rule.active_days = static_cast<int>(rng.Range(0, 200));
    rule.lost_after_days = rule.active_days + static_cast<int>(rng.Range(0, 200));
    rule.mature_orders = static_cast<int>(rng.Range(1, 6));
    rule.won_back_gap_days = static_cast<int>(rng.Range(0, 300));
    rule.window_days = static_cast<int>(rng.Range(1, 500));
    const LocalDate today = LocalDate::FromDays(kToday + static_cast<int32_t>(rng.Range(-1000, 1000)));
    std::vector<LocalDate> dates(rng.Uniform(9));
    for (LocalDate& date : dates) {
      // Half the dates come from a few days, so that same-day orders are common.
      const int64_t ago = rng.Chance(0.5) ? rng.Range(0, 3) * 100 : rng.Range(-30, 700);
      date = LocalDate::FromDays(today.days() - static_cast<int32_t>(ago));
    }
    const Stage expected = ReferenceStage(dates, today, rule);
    ASSERT_EQ(StageName(StageOf(dates, today, rule)), StageName(expected)) << "case " << i;
    ++seen[static_cast<size_t>(expected)];
  }
  // Every stage was exercised, so the comparison covered each rule.
  for (int i = 0; i < kStages; ++i) EXPECT_GT(seen[i], 100) << StageName(static_cast<Stage>(i));
}

RfmInput Scored(int32_t recency_days, int32_t frequency, int64_t monetary_fen) {
  return RfmInput{recency_days, frequency, monetary_fen, true};
}

TEST(RfmTest, NamesAndLabels) {
  for (int i = 0; i < 9; ++i) {
    const auto cls = static_cast<RfmClass>(i);
    EXPECT_EQ(RfmClassFromName(RfmClassName(cls)), cls);
  }
  EXPECT_EQ(RfmClassName(RfmClass::kImportantDevelop), "important_develop");
  EXPECT_EQ(RfmClassName(RfmClass::kGeneralRetain), "general_retain");
  EXPECT_EQ(RfmClassLabel(RfmClass::kImportantValue), "重要价值客户");
  EXPECT_EQ(RfmClassLabel(RfmClass::kGeneralKeep), "一般保持客户");
  EXPECT_EQ(RfmClassLabel(RfmClass::kNone), "");
  EXPECT_EQ(RfmClassFromName("Important_Value"), std::nullopt);
}

void ExpectScore(const RfmScore& s, int r, int f, int m, RfmClass cls) {
  EXPECT_EQ(s.r, r);
  EXPECT_EQ(s.f, f);
  EXPECT_EQ(s.m, m);
  EXPECT_EQ(RfmClassName(s.cls), RfmClassName(cls));
}

TEST(RfmTest, HandCheckedPopulationCoversEveryClass) {
  // Eight scored members with distinct values on each dimension: ranks 0..7
  // score 1 + floor(5 * rank / 8) = 1, 1, 2, 2, 3, 4, 4, 5 (sum 22, mean
  // 2.75), so "high" is the better half (score >= 3). Each member sits in the
  // better or worse half of each dimension as its class demands. The two
  // unscored members would be the best on every dimension if they counted.
  const std::vector<RfmInput> members = {
      Scored(1, 23, 900'000),  // R rank 7, F rank 7, M rank 7
      RfmInput{0, 999, 99'999'999, false},
      Scored(2, 1, 800'000),     // R 6, F 0, M 6
      Scored(100, 22, 700'000),  // R 3, F 6, M 5
      Scored(200, 2, 600'000),   // R 2, F 1, M 4
      Scored(3, 21, 500),        // R 5, F 5, M 3
      Scored(4, 3, 400),         // R 4, F 2, M 2
      Scored(300, 20, 300),      // R 1, F 4, M 1
      Scored(400, 4, 200),       // R 0, F 3, M 0
      RfmInput{0, 999, 99'999'999, false},
  };
  const std::vector<RfmScore> scores = ScoreRfm(members);
  ASSERT_EQ(scores.size(), members.size());
  ExpectScore(scores[0], 5, 5, 5, RfmClass::kImportantValue);
  ExpectScore(scores[1], 0, 0, 0, RfmClass::kNone);
  ExpectScore(scores[2], 4, 1, 4, RfmClass::kImportantDevelop);
  ExpectScore(scores[3], 2, 4, 4, RfmClass::kImportantKeep);
  ExpectScore(scores[4], 2, 1, 3, RfmClass::kImportantRetain);
  ExpectScore(scores[5], 4, 4, 2, RfmClass::kGeneralValue);
  ExpectScore(scores[6], 3, 2, 2, RfmClass::kGeneralDevelop);
  ExpectScore(scores[7], 1, 3, 1, RfmClass::kGeneralKeep);
  ExpectScore(scores[8], 1, 2, 1, RfmClass::kGeneralRetain);
  ExpectScore(scores[9], 0, 0, 0, RfmClass::kNone);
}

TEST(RfmTest, EqualValuesScoreAlike) {
  // R: all 7 days, nobody is strictly worse: rank 0, score 1, mean 1, none high.
  // F 1, 1, 2, 3: ranks 0, 0, 2, 3 of 4 give 1, 1, 1 + floor(10 / 4) = 3,
  //   1 + floor(15 / 4) = 4; mean 9 / 4 = 2.25, high: the last two.
  // M 5, 5, 5, 9: ranks 0, 0, 0, 3 give 1, 1, 1, 4; mean 7 / 4 = 1.75, high: the last.
  const std::vector<RfmInput> members = {Scored(7, 1, 5), Scored(7, 1, 5), Scored(7, 2, 5), Scored(7, 3, 9)};
  const std::vector<RfmScore> scores = ScoreRfm(members);
  ExpectScore(scores[0], 1, 1, 1, RfmClass::kGeneralRetain);
  ExpectScore(scores[1], 1, 1, 1, RfmClass::kGeneralRetain);
  ExpectScore(scores[2], 1, 3, 1, RfmClass::kGeneralKeep);
  ExpectScore(scores[3], 1, 4, 4, RfmClass::kImportantKeep);
}

TEST(RfmTest, UnscoredMembersGetNone) {
  EXPECT_TRUE(ScoreRfm({}).empty());
  const std::vector<RfmInput> nobody = {RfmInput{3, 4, 500, false}, RfmInput{}};
  for (const RfmScore& s : ScoreRfm(nobody)) ExpectScore(s, 0, 0, 0, RfmClass::kNone);
  // A lone scored member has nobody worse (score 1) and is not above its own
  // mean, so it is low on everything.
  const std::vector<RfmInput> one = {RfmInput{3, 4, 500, false}, Scored(3, 4, 500)};
  const std::vector<RfmScore> scores = ScoreRfm(one);
  ExpectScore(scores[0], 0, 0, 0, RfmClass::kNone);
  ExpectScore(scores[1], 1, 1, 1, RfmClass::kGeneralRetain);
}

// "Greater is better" per dimension, for the checks below.
int64_t Goodness(const RfmInput& in, int dim) {
  if (dim == 0) return -int64_t{in.recency_days};
  if (dim == 1) return in.frequency;
  return in.monetary_fen;
}
int ScoreOn(const RfmScore& s, int dim) { return dim == 0 ? s.r : dim == 1 ? s.f : s.m; }

// The class table of DOMAIN.md's eight classic RFM classes, row by row.
RfmClass ReferenceClass(bool r_high, bool f_high, bool m_high) {
  if (r_high && f_high && m_high) return RfmClass::kImportantValue;
  if (r_high && !f_high && m_high) return RfmClass::kImportantDevelop;
  if (!r_high && f_high && m_high) return RfmClass::kImportantKeep;
  if (!r_high && !f_high && m_high) return RfmClass::kImportantRetain;
  if (r_high && f_high && !m_high) return RfmClass::kGeneralValue;
  if (r_high && !f_high && !m_high) return RfmClass::kGeneralDevelop;
  if (!r_high && f_high && !m_high) return RfmClass::kGeneralKeep;
  return RfmClass::kGeneralRetain;
}

// ScoreRfm's contract read literally: ranks by counting, means as doubles.
std::vector<RfmScore> ReferenceRfm(const std::vector<RfmInput>& members) {
  std::vector<RfmScore> out(members.size());
  const auto count = std::count_if(members.begin(), members.end(), [](const RfmInput& in) { return in.scored; });
  double mean[3] = {0, 0, 0};
  for (size_t i = 0; i < members.size(); ++i) {
    if (!members[i].scored) continue;
    int score[3];
    for (int dim = 0; dim < 3; ++dim) {
      int64_t rank = 0;
      for (const RfmInput& other : members) {
        if (other.scored && Goodness(other, dim) < Goodness(members[i], dim)) ++rank;
      }
      score[dim] = static_cast<int>(1 + 5 * rank / count);
      mean[dim] += static_cast<double>(score[dim]) / static_cast<double>(count);
    }
    out[i] = RfmScore{static_cast<uint8_t>(score[0]), static_cast<uint8_t>(score[1]), static_cast<uint8_t>(score[2])};
  }
  for (size_t i = 0; i < members.size(); ++i) {
    if (!members[i].scored) continue;
    RfmScore& s = out[i];
    s.cls = ReferenceClass(s.r > mean[0] + 1e-9, s.f > mean[1] + 1e-9, s.m > mean[2] + 1e-9);
  }
  return out;
}

TEST(RfmTest, MatchesTheLiteralContractOnRandomPopulations) {
  Random rng(42);
  for (int round = 0; round < 2'000; ++round) {
    // Narrow value ranges in some rounds make ties common.
    const int64_t spread = rng.Chance(0.5) ? 5 : 100'000;
    std::vector<RfmInput> members(rng.Uniform(120));
    // Spend up to 10^12 fen in some rounds: values whose high bits differ.
    const int64_t most_fen = rng.Chance(0.2) ? 1'000'000'000'000 : spread * 1000;
    for (RfmInput& in : members) {
      in = RfmInput{static_cast<int32_t>(rng.Range(0, spread)), static_cast<int32_t>(rng.Range(1, spread)),
                    rng.Range(1, most_fen), rng.Chance(0.9)};
    }
    const std::vector<RfmScore> scores = ScoreRfm(members);
    const std::vector<RfmScore> expected = ReferenceRfm(members);
    // The same scores taken a few members a step, as the day run takes them.
    RfmScoring sliced(members);
    const size_t step = 1 + rng.Uniform(7);
    int steps = 1;
    for (; !sliced.Step(step); ++steps) {
    }
    const std::vector<RfmScore> in_steps = sliced.TakeScores();
    ASSERT_EQ(scores.size(), members.size());
    ASSERT_EQ(in_steps.size(), members.size());
    if (members.size() > 20) {
      EXPECT_GT(steps, 6) << "several passes";
    }
    for (size_t i = 0; i < members.size(); ++i) {
      SCOPED_TRACE("round " + std::to_string(round) + " member " + std::to_string(i));
      ExpectScore(scores[i], expected[i].r, expected[i].f, expected[i].m, expected[i].cls);
      ExpectScore(in_steps[i], expected[i].r, expected[i].f, expected[i].m, expected[i].cls);
    }
    ASSERT_FALSE(HasFailure());
  }
}

TEST(RfmTest, BetterNeverScoresLowerOnRandomPopulations) {
  Random rng(7);
  for (int round = 0; round < 500; ++round) {
    std::vector<RfmInput> members(1 + rng.Uniform(300));
    for (RfmInput& in : members) {
      in = RfmInput{static_cast<int32_t>(rng.Range(0, 400)), static_cast<int32_t>(rng.Range(1, 50)),
                    rng.Range(1, 2'000'000), rng.Chance(0.8)};
    }
    const std::vector<RfmScore> scores = ScoreRfm(members);
    for (int dim = 0; dim < 3; ++dim) {
      int64_t count = 0, best = 0, best_count = 0;
      for (size_t i = 0; i < members.size(); ++i) {
        if (!members[i].scored) {
          ExpectScore(scores[i], 0, 0, 0, RfmClass::kNone);
          continue;
        }
        ASSERT_GE(ScoreOn(scores[i], dim), 1);
        ASSERT_LE(ScoreOn(scores[i], dim), 5);
        for (size_t j = 0; j < members.size(); ++j) {
          if (!members[j].scored || Goodness(members[i], dim) < Goodness(members[j], dim)) continue;
          // i is at least as good as j.
          if (Goodness(members[i], dim) == Goodness(members[j], dim)) {
            ASSERT_EQ(ScoreOn(scores[i], dim), ScoreOn(scores[j], dim)) << "dim " << dim;
          } else {
            ASSERT_GE(ScoreOn(scores[i], dim), ScoreOn(scores[j], dim)) << "dim " << dim;
          }
        }
        const int64_t g = Goodness(members[i], dim);
        if (count == 0 || g > best) {
          best = g;
          best_count = 0;
        }
        if (g == best) ++best_count;
        ++count;
      }
      // A sole best among five or more scores 5.
      if (count >= 5 && best_count == 1) {
        for (size_t i = 0; i < members.size(); ++i) {
          if (members[i].scored && Goodness(members[i], dim) == best) {
            EXPECT_EQ(ScoreOn(scores[i], dim), 5);
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace pond
