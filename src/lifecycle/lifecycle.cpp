#include "lifecycle/lifecycle.hpp"

#include <algorithm>
#include <array>
#include <limits>

namespace pond {
namespace {

constexpr std::array<std::string_view, kStages> kStageNames = {"intro",   "growth", "mature",
                                                               "decline", "lost",   "won_back"};
constexpr std::array<std::string_view, kStages> kStageLabels = {"引入期", "成长期", "成熟期", "衰退期", "流失", "挽回"};

constexpr std::array<std::string_view, 9> kRfmClassNames = {
    "none",          "important_value", "important_develop", "important_keep", "important_retain",
    "general_value", "general_develop", "general_keep",      "general_retain"};
constexpr std::array<std::string_view, 9> kRfmClassLabels = {"",
                                                             "重要价值客户",
                                                             "重要发展客户",
                                                             "重要保持客户",
                                                             "重要挽留客户",
                                                             "一般价值客户",
                                                             "一般发展客户",
                                                             "一般保持客户",
                                                             "一般挽留客户"};

template <typename E, size_t N>
std::optional<E> FromName(const std::array<std::string_view, N>& names, std::string_view name) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<E>(i);
  }
  return std::nullopt;
}

// Below every LocalDate (an int32 day count): "no such purchase".
constexpr int64_t kNoDay = std::numeric_limits<int64_t>::min();

// A dimension's score is 1 + floor(5 * rank / count), rank = members strictly
// worse. For k = 1..4, floor(5 * rank / count) >= k exactly when
// rank >= t_k = ceil(k * count / 5), i.e. when the t_k-th smallest goodness is
// below the member's. So the four cuts "t_k-th smallest" (found by selection,
// without sorting) give every score with four comparisons, and a score can
// only be 1..5.
class QuintileCuts {
 public:
  // `goodness`: one value per scored member (greater is better), not empty.
  // Reorders it.
  explicit QuintileCuts(std::vector<int64_t>& goodness) {
    const auto count = static_cast<int64_t>(goodness.size());
    auto from = goodness.begin();
    for (int64_t k = 1; k <= 4; ++k) {
      const int64_t t = (k * count + 4) / 5;  // ceil(k * count / 5), >= 1
      const auto nth = goodness.begin() + (t - 1);
      std::nth_element(from, nth, goodness.end());
      cuts_[k - 1] = *nth;
      // Cuts ascend and selection left nothing greater before `nth`, so the
      // next cut lies in [nth, end).
      from = nth;
    }
  }

  uint8_t ScoreOf(int64_t goodness) const {
    uint8_t score = 1;
    for (int64_t cut : cuts_) score += goodness > cut ? 1 : 0;
    return score;
  }

 private:
  std::array<int64_t, 4> cuts_{};
};

// Scores the scored members on one dimension into `out[i].*field`; returns the
// sum of those scores. `buffer` is scratch space reused across dimensions.
template <typename GoodnessOf>
int64_t ScoreDimension(std::span<const RfmInput> members, GoodnessOf goodness_of, uint8_t RfmScore::*field,
                       std::vector<int64_t>& buffer, std::vector<RfmScore>& out) {
  buffer.clear();
  for (const RfmInput& in : members) {
    if (in.scored) buffer.push_back(goodness_of(in));
  }
  const QuintileCuts cuts(buffer);
  int64_t sum = 0;
  for (size_t i = 0; i < members.size(); ++i) {
    if (!members[i].scored) continue;
    out[i].*field = cuts.ScoreOf(goodness_of(members[i]));
    sum += out[i].*field;
  }
  return sum;
}

// Monetary value splits important from general; within each, recency and
// frequency give value (both high), develop (recent only), keep (frequent
// only) and retain (neither).
RfmClass ClassOf(bool r_high, bool f_high, bool m_high) {
  if (m_high) {
    if (r_high) return f_high ? RfmClass::kImportantValue : RfmClass::kImportantDevelop;
    return f_high ? RfmClass::kImportantKeep : RfmClass::kImportantRetain;
  }
  if (r_high) return f_high ? RfmClass::kGeneralValue : RfmClass::kGeneralDevelop;
  return f_high ? RfmClass::kGeneralKeep : RfmClass::kGeneralRetain;
}

}  // namespace

std::string_view StageName(Stage s) { return kStageNames[static_cast<size_t>(s)]; }
std::optional<Stage> StageFromName(std::string_view name) { return FromName<Stage>(kStageNames, name); }
std::string_view StageLabel(Stage s) { return kStageLabels[static_cast<size_t>(s)]; }

std::string_view RfmClassName(RfmClass c) { return kRfmClassNames[static_cast<size_t>(c)]; }
std::optional<RfmClass> RfmClassFromName(std::string_view name) { return FromName<RfmClass>(kRfmClassNames, name); }
std::string_view RfmClassLabel(RfmClass c) { return kRfmClassLabels[static_cast<size_t>(c)]; }

Stage StageOf(std::span<const LocalDate> purchase_dates, LocalDate today, const LifecycleRule& rule) {
  if (purchase_dates.empty()) return Stage::kIntro;
  // One pass, no copy (this runs for every member daily): the latest day, the
  // one before it in time, and the purchases inside the window. Days are
  // int64 so that differences of int32 day counts cannot overflow.
  const int64_t today_day = today.days();
  int64_t latest = kNoDay;
  int64_t second = kNoDay;
  int64_t in_window = 0;
  for (const LocalDate date : purchase_dates) {
    const int64_t day = date.days();
    if (day > latest) {
      second = latest;
      latest = day;
    } else if (day > second) {
      second = day;  // also a second purchase on the latest day: gap 0
    }
    if (today_day - day < rule.window_days) ++in_window;  // dates after today are inside too
  }
  const int64_t d = std::max<int64_t>(0, today_day - latest);
  if (d <= rule.active_days) {
    if (second != kNoDay && latest - second > rule.won_back_gap_days) return Stage::kWonBack;
    return in_window >= rule.mature_orders ? Stage::kMature : Stage::kGrowth;
  }
  return d <= rule.lost_after_days ? Stage::kDecline : Stage::kLost;
}

std::vector<RfmScore> ScoreRfm(std::span<const RfmInput> members) {
  std::vector<RfmScore> out(members.size());
  const auto count = std::count_if(members.begin(), members.end(), [](const RfmInput& in) { return in.scored; });
  if (count == 0) return out;

  std::vector<int64_t> buffer;
  buffer.reserve(static_cast<size_t>(count));
  // Goodness is "greater is better" on every dimension, so recency is negated.
  const int64_t r_sum = ScoreDimension(
      members, [](const RfmInput& in) { return -int64_t{in.recency_days}; }, &RfmScore::r, buffer, out);
  const int64_t f_sum = ScoreDimension(
      members, [](const RfmInput& in) { return int64_t{in.frequency}; }, &RfmScore::f, buffer, out);
  const int64_t m_sum = ScoreDimension(
      members, [](const RfmInput& in) { return in.monetary_fen; }, &RfmScore::m, buffer, out);

  // High means above the mean score: score > sum / count, compared as
  // score * count > sum to stay in exact integers.
  for (size_t i = 0; i < members.size(); ++i) {
    if (!members[i].scored) continue;
    RfmScore& s = out[i];
    s.cls = ClassOf(s.r * count > r_sum, s.f * count > f_sum, s.m * count > m_sum);
  }
  return out;
}

}  // namespace pond
