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

// A dimension's goodness (greater is better: recency is negated) as a key
// whose unsigned order is the goodness's order.
int64_t Goodness(const RfmInput& in, int dim) {
  return dim == 0 ? -int64_t{in.recency_days} : dim == 1 ? int64_t{in.frequency} : in.monetary_fen;
}
uint64_t KeyOf(int64_t goodness) { return static_cast<uint64_t>(goodness) ^ (uint64_t{1} << 63); }
int64_t GoodnessOf(uint64_t key) { return static_cast<int64_t>(key ^ (uint64_t{1} << 63)); }

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
  RfmScoring scoring(std::vector<RfmInput>(members.begin(), members.end()));
  while (!scoring.Step(SIZE_MAX)) {
  }
  return scoring.TakeScores();
}

// A dimension's score is 1 + floor(5 * rank / count), rank = members strictly
// worse. For k = 1..4, floor(5 * rank / count) >= k exactly when
// rank >= t_k = ceil(k * count / 5), i.e. when the t_k-th smallest goodness is
// below the member's. So the four cuts "t_k-th smallest" give every score
// with four comparisons, and a score can only be 1..5.
// Nothing is read here: the first pass counts the scored members too.
RfmScoring::RfmScoring(std::vector<RfmInput> inputs) : in_(std::move(inputs)) { out_.reserve(in_.size()); }

bool RfmScoring::Step(size_t members) {
  constexpr int kDone = kRadixPasses + 2;
  for (size_t done = 0; pass_ < kDone && done < members; ++done) {
    if (next_ == in_.size()) {
      EndPass();
      continue;
    }
    const RfmInput& in = in_[next_++];
    if (pass_ == kRadixPasses) {  // scores, in member order
      RfmScore& s = out_.emplace_back();
      if (!in.scored) continue;
      for (size_t d = 0; d < kDims; ++d) {
        const int64_t g = Goodness(in, static_cast<int>(d));
        uint8_t score = 1;
        for (int64_t cut : cuts_[d]) score += g > cut ? 1 : 0;
        (d == 0 ? s.r : d == 1 ? s.f : s.m) = score;
        sums_[d] += score;
      }
      continue;
    }
    if (!in.scored) continue;
    if (pass_ < kRadixPasses) {
      count_ += pass_ == 0;
      const int above = 64 - kRadixBits * pass_;  // the bits known: those from `above` up
      for (size_t d = 0; d < kDims; ++d) {
        const uint64_t key = KeyOf(Goodness(in, static_cast<int>(d)));
        const uint64_t known = above == 64 ? 0 : key >> above;
        const auto digit = static_cast<size_t>((key >> (above - kRadixBits)) & (kDigits - 1));
        for (size_t k = 0; k < kCuts; ++k) {
          if (known == prefix_[d][k]) ++counts_[d][k][digit];
        }
      }
    } else {
      // High means above the mean score: score > sum / count, compared as
      // score * count > sum to stay in exact integers.
      RfmScore& s = out_[next_ - 1];
      s.cls = ClassOf(s.r * count_ > sums_[0], s.f * count_ > sums_[1], s.m * count_ > sums_[2]);
    }
  }
  return pass_ == kDone;
}

void RfmScoring::EndPass() {
  next_ = 0;
  if (pass_ == 0) {
    if (count_ == 0) {  // nobody scored: every score is none
      out_.resize(in_.size());
      pass_ = kRadixPasses + 2;
      return;
    }
    for (auto& ranks : rank_) {
      for (int64_t k = 1; k <= kCuts; ++k) ranks[static_cast<size_t>(k - 1)] = (k * count_ + 4) / 5;  // ceil(k * count / 5)
    }
  }
  if (pass_ < kRadixPasses) {
    // Each cut's next bits: the digit whose members reach its rank.
    for (size_t d = 0; d < kDims; ++d) {
      for (size_t k = 0; k < kCuts; ++k) {
        std::array<uint32_t, kDigits>& counts = counts_[d][k];
        uint64_t digit = 0;
        for (; rank_[d][k] > counts[digit]; ++digit) rank_[d][k] -= counts[digit];
        prefix_[d][k] = (prefix_[d][k] << kRadixBits) | digit;
        counts.fill(0);
        if (pass_ == kRadixPasses - 1) cuts_[d][k] = GoodnessOf(prefix_[d][k]);
      }
    }
  }
  ++pass_;
}

}  // namespace pond
