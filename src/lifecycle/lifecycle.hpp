// Lifecycle stages and RFM classes of members (DOMAIN.md §3–4): the system tags
// that segments and automation key on.
//
// StageOf applies CONTRACT.md's lifecycle rule ("Tenants") to one member's
// purchase dates; ScoreRfm places a whole population into the eight classic
// RFM classes by quintile scores. Both are pure functions over their
// arguments, free of I/O and shared state, so any thread may call them.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/time.hpp"
#include "loyalty/loyalty_config.hpp"

namespace pond {

enum class Stage : uint8_t { kIntro, kGrowth, kMature, kDecline, kLost, kWonBack };
inline constexpr int kStages = 6;

// "intro", "growth", "mature", "decline", "lost", "won_back": what APIs and segments name.
std::string_view StageName(Stage s);
// The stage with exactly that (lower-case) name.
std::optional<Stage> StageFromName(std::string_view name);
// For people: "引入期", "成长期", "成熟期", "衰退期", "流失", "挽回".
std::string_view StageLabel(Stage s);

// The member's stage on `today` under `rule` (CONTRACT.md "Tenants").
// `purchase_dates` are the tenant-zone dates of the member's orders with net
// amount > 0, in any order, one per order (two orders on one day give the date
// twice). d is the days from the latest date to `today` (0 when it is after
// `today`); n counts the dates with today - date < window_days; the won_back
// gap is the days between the latest date and the next one back in time (0 for
// two orders on one day). Does not allocate.
Stage StageOf(std::span<const LocalDate> purchase_dates, LocalDate today, const LifecycleRule& rule);

// The eight classic RFM classes (重要价值客户 …), by whether a member is above
// the population's mean score in recency, frequency and monetary value.
enum class RfmClass : uint8_t {
  kNone,  // not scored: no qualifying purchases
  kImportantValue,
  kImportantDevelop,
  kImportantKeep,
  kImportantRetain,
  kGeneralValue,
  kGeneralDevelop,
  kGeneralKeep,
  kGeneralRetain,
};
inline constexpr int kRfmClasses = 9;

// "none", "important_value", … "general_retain".
std::string_view RfmClassName(RfmClass c);
// The class with exactly that (lower-case) name.
std::optional<RfmClass> RfmClassFromName(std::string_view name);
// For people: "重要价值客户" …; empty for kNone.
std::string_view RfmClassLabel(RfmClass c);

struct RfmInput {
  int32_t recency_days = 0;  // days since the last purchase: fewer is better
  int32_t frequency = 0;     // purchases: more is better
  int64_t monetary_fen = 0;  // spend: more is better
  bool scored = false;       // false: no qualifying purchases, the member gets kNone
};

struct RfmScore {
  uint8_t r = 0, f = 0, m = 0;  // 1..5 when scored, 0 when not
  RfmClass cls = RfmClass::kNone;
};

// Scores every member, in input order. Each dimension's score is a quintile
// over the scored members: 1 + floor(5 * rank / count), where rank is the
// number of scored members strictly worse on it, so equal values score alike
// and the best score 5 once there are five or more. A member is high on a
// dimension when its score exceeds the mean score there; the three highs or
// lows give the class. Linear time in the number of members.
std::vector<RfmScore> ScoreRfm(std::span<const RfmInput> members);

// ScoreRfm a run of members at a time (the day run's slices): Step reads
// at most `members` inputs a call, in passes over them, and returns true
// once the scores are ready to take. Each quintile's cut is found exactly
// without sorting: a pass counts the members under each cut's known high
// bits by the next 8 bits (8 passes cover a 64-bit value); then a pass
// scores and a pass classes. Its memory is written as it goes (no large
// block is zeroed at once: on a virtual machine a fresh 24 MB costs ~70 ms
// of page faults).
class RfmScoring {
 public:
  explicit RfmScoring(std::vector<RfmInput> inputs);
  bool Step(size_t members);
  std::vector<RfmScore> TakeScores() { return std::move(out_); }

 private:
  static constexpr int kDims = 3, kCuts = 4, kRadixBits = 8, kRadixPasses = 64 / kRadixBits, kDigits = 1 << kRadixBits;
  void EndPass();

  std::vector<RfmInput> in_;
  std::vector<RfmScore> out_;
  int64_t count_ = 0;   // scored members (counted by the first pass)
  int pass_ = 0;        // radix passes, then kRadixPasses: score, + 1: class, + 2: done
  size_t next_ = 0;     // the pass's place in in_
  // Per dimension and cut: the key's bits found so far (the top
  // kRadixBits * pass_), the cut's rank among the members sharing them
  // (1-based), the count of those members by their next kRadixBits bits.
  std::array<std::array<uint64_t, kCuts>, kDims> prefix_{};
  std::array<std::array<int64_t, kCuts>, kDims> rank_{};
  std::array<std::array<std::array<uint32_t, kDigits>, kCuts>, kDims> counts_{};
  std::array<std::array<int64_t, kCuts>, kDims> cuts_{};  // goodness
  std::array<int64_t, kDims> sums_{};
};

}  // namespace pond
