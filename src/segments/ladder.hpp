// Ladder: a numeric column as range-encoded bitmaps, so that a range
// condition (`spend_365d >= 500`, `age between 20 and 40`) over millions of
// members is one or two bitmaps rather than a look at each member.
//
// Rung k holds the members whose value is at least bounds[k]. A range
// [lo, hi] is then "on the highest rung at or below lo, and not on the
// lowest rung above hi"; when lo or hi is not a bound, the members between
// two rungs at that end (one rung's share) are looked at one by one. The
// bounds are the numbers operators ask about (1-2-3-5 series of yuan,
// whole order counts, 30/60/90 days, ages 20/25/30...), so most questions
// need no look at all. Rungs nest, so moving a member from one value to
// another touches only the rungs between the two.
//
// Members without a value (no birthday, no order) are on no rung; a
// ladder over such a column starts with the bound kMinBound, whose rung is
// everyone with a value.
#pragma once

#include <roaring/roaring.hh>

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace pond::segments {

class Ladder {
 public:
  static constexpr int64_t kMinBound = std::numeric_limits<int64_t>::min();

  // `floor`: no member's value is below it (0 for counts), so a range
  // starting at or below it needs no look at its low end.
  explicit Ladder(int64_t floor = kMinBound) : floor_(floor) {}

  // Sets the bounds (ascending, distinct) and empties the rungs.
  void Reset(std::vector<int64_t> bounds);
  // Refills every rung from value_of(m) for members [0, members).
  template <typename ValueOf>
  void Rebuild(std::vector<int64_t> bounds, size_t members, ValueOf value_of);
  // The member's value changed (nullopt: none).
  void Move(uint32_t m, std::optional<int64_t> from, std::optional<int64_t> to);
  // The member's value is not known to the ladder (a total too big for its
  // column): on no rung, and looked at by every question.
  void MarkUnsure(uint32_t m);

  // Without bounds (not built yet) a ladder answers nothing.
  bool ready() const { return !bounds_.empty(); }

  // How the members with a value in [lo, hi] (both included) read from
  // the rungs: those on `at_least` (everyone when nullptr) and not on
  // `above` (nobody when nullptr); the members of `low_edge` not on
  // `low_edge_next` (and of `high_edge` not on `above`) may lie outside
  // and need a look, as do the `unsure` members (nullptr: none). `none`
  // when no value can lie in the range.
  struct Span {
    bool none = false;
    const Roaring* unsure = nullptr;
    const Roaring* at_least = nullptr;
    const Roaring* above = nullptr;
    bool low_exact = true, high_exact = true;
    const Roaring* low_edge_next = nullptr;  // with !low_exact: the rung after at_least
    const Roaring* high_edge = nullptr;      // with !high_exact: the rung below above (nullptr: everyone)
  };
  Span SpanOf(int64_t lo, int64_t hi) const;

  size_t Bytes() const;

 private:
  // How many bounds `v` reaches: the rungs it is on.
  size_t RungsOf(int64_t v) const;

  int64_t floor_;
  std::vector<int64_t> bounds_;
  std::vector<Roaring> rungs_;
  Roaring unsure_;
};

template <typename ValueOf>
void Ladder::Rebuild(std::vector<int64_t> bounds, size_t members, ValueOf value_of) {
  Reset(std::move(bounds));
  // Members in ascending order, a few thousand at a time per rung: roaring
  // appends at its end cheaply.
  constexpr size_t kBatch = 4096;
  std::vector<std::vector<uint32_t>> batch(rungs_.size());
  for (auto& b : batch) b.reserve(kBatch);
  auto flush = [&](size_t r) {
    rungs_[r].addMany(batch[r].size(), batch[r].data());
    batch[r].clear();
  };
  for (size_t m = 0; m < members; ++m) {
    const std::optional<int64_t> v = value_of(static_cast<uint32_t>(m));
    if (!v) continue;
    for (size_t r = 0, n = RungsOf(*v); r < n; ++r) {
      batch[r].push_back(static_cast<uint32_t>(m));
      if (batch[r].size() == kBatch) flush(r);
    }
  }
  for (size_t r = 0; r < rungs_.size(); ++r) flush(r);
  for (Roaring& rung : rungs_) rung.shrinkToFit();
}

}  // namespace pond::segments
