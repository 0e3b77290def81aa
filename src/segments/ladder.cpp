#include "segments/ladder.hpp"

#include <algorithm>

namespace pond::segments {

void Ladder::Reset(std::vector<int64_t> bounds) {
  bounds_ = std::move(bounds);
  rungs_.assign(bounds_.size(), Roaring());
  unsure_ = Roaring();
}

size_t Ladder::RungsOf(int64_t v) const {
  return static_cast<size_t>(std::upper_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
}

void Ladder::Move(uint32_t m, std::optional<int64_t> from, std::optional<int64_t> to) {
  if (bounds_.empty()) return;
  if (!from) unsure_.remove(m);  // an unsure member stands on no rung, as one without a value
  const size_t was = from ? RungsOf(*from) : 0, now = to ? RungsOf(*to) : 0;
  for (size_t r = now; r < was; ++r) rungs_[r].remove(m);
  for (size_t r = was; r < now; ++r) rungs_[r].add(m);
}

void Ladder::MarkUnsure(uint32_t m) {
  if (bounds_.empty()) return;
  for (Roaring& rung : rungs_) rung.remove(m);
  unsure_.add(m);
}

Ladder::Span Ladder::SpanOf(int64_t lo, int64_t hi) const {
  Span s;
  if (!unsure_.isEmpty()) s.unsure = &unsure_;
  if (lo > hi) {
    s.none = true;
    return s;
  }
  // The highest rung at or below lo: everyone in range is on it.
  const size_t low = RungsOf(lo);  // rungs [0, low) have bounds <= lo
  if (low > 0) s.at_least = &rungs_[low - 1];
  s.low_exact = lo <= floor_ || (low > 0 && bounds_[low - 1] == lo);
  if (!s.low_exact && low < rungs_.size()) s.low_edge_next = &rungs_[low];
  // The lowest rung above hi: nobody in range is on it. Without one, the
  // top rung's members may lie above hi unless nothing does.
  const size_t high = RungsOf(hi);  // rungs [high, size) have bounds > hi
  if (high < rungs_.size()) {
    s.above = &rungs_[high];
    s.high_exact = bounds_[high] == hi + 1;
  } else {
    s.high_exact = hi == std::numeric_limits<int64_t>::max();
  }
  if (!s.high_exact && high > 0) s.high_edge = &rungs_[high - 1];
  return s;
}

size_t Ladder::Bytes() const {
  size_t bytes = bounds_.capacity() * sizeof(int64_t);
  for (const Roaring& r : rungs_) bytes += r.getSizeInBytes(false);
  bytes += unsure_.getSizeInBytes(false);
  return bytes;
}

}  // namespace pond::segments
