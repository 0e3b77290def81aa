#include "engine/timers.hpp"

#include <algorithm>
#include <array>

namespace pond {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

}  // namespace

bool Timers::Arm(TimerKind kind, int64_t id, Timestamp at) {
  if (id < 0 || id > kMaxId) return false;
  const int64_t seconds = at.seconds();
  const int64_t minute = FloorDiv(seconds, 60);
  const auto second = static_cast<uint64_t>(seconds - minute * 60);
  Minute& m = minutes_[minute];
  if (m.taken > 0) {  // the minute is firing: what arrives now fires with the rest
    m.timers.erase(m.timers.begin(), m.timers.begin() + static_cast<std::ptrdiff_t>(m.taken));
    m.taken = 0;
  }
  const Packed packed = second << 58 | uint64_t{static_cast<uint8_t>(kind)} << 50 | static_cast<uint64_t>(id);
  // Kept sorted by second while timers arrive in time order (the usual
  // case); otherwise sorted once, when the minute comes due.
  if (!m.timers.empty() && (m.timers.back() >> 58) > second) m.sorted = false;
  m.timers.push_back(packed);
  ++pending_;
  return true;
}

std::optional<Timestamp> Timers::Next() const {
  if (minutes_.empty()) return std::nullopt;
  const auto& [minute, m] = *minutes_.begin();
  uint64_t first = 60;
  for (size_t i = m.taken; i < m.timers.size(); ++i) first = std::min(first, m.timers[i] >> 58);
  return Timestamp::FromSeconds(minute * 60 + static_cast<int64_t>(first));
}

size_t Timers::TakeDue(Timestamp now, size_t max, std::vector<Timer>& out) {
  size_t taken = 0;
  while (taken < max && !minutes_.empty()) {
    auto it = minutes_.begin();
    Minute& m = it->second;
    if (it->first * 60 > now.seconds()) break;
    if (!m.sorted) {
      // By second, stable (ties keep their arming order): a counting sort,
      // one pass to count and one to place, for a minute of a million.
      std::array<size_t, 61> start{};
      for (Packed p : m.timers) ++start[(p >> 58) + 1];
      for (size_t i = 1; i < start.size(); ++i) start[i] += start[i - 1];
      std::vector<Packed> sorted(m.timers.size());
      for (Packed p : m.timers) sorted[start[p >> 58]++] = p;
      m.timers.swap(sorted);
      m.sorted = true;
    }
    // Due ones are a prefix of what has not fired.
    for (; m.taken < m.timers.size() && taken < max; ++m.taken, ++taken) {
      const Packed p = m.timers[m.taken];
      const int64_t at = it->first * 60 + static_cast<int64_t>(p >> 58);
      if (at > now.seconds()) break;
      out.push_back(Timer{static_cast<TimerKind>((p >> 50) & 0xff), static_cast<int64_t>(p & kMaxId),
                          Timestamp::FromSeconds(at)});
      --pending_;
    }
    if (m.taken < m.timers.size()) break;  // the rest of this minute is not due yet, or `max` is reached
    minutes_.erase(it);
  }
  return taken;
}

size_t Timers::MemoryBytes() const {
  // A map node is about four pointers and the key beside its value.
  size_t bytes = minutes_.size() * (sizeof(Minute) + sizeof(int64_t) + 4 * sizeof(void*));
  for (const auto& [minute, m] : minutes_) bytes += m.timers.capacity() * sizeof(Packed);
  return bytes;
}

}  // namespace pond
