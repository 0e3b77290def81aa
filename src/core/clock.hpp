// Clock: where every rule reads "now". Production uses SystemClock; tests
// inject a ManualClock and fast-forward it instead of sleeping.
// Both are safe to call from any thread.
#pragma once

#include <atomic>

#include "core/time.hpp"

namespace pond {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Timestamp Now() const override;
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp start) : now_(start.micros()) {}
  Timestamp Now() const override { return Timestamp::FromMicros(now_.load()); }
  void Set(Timestamp t) { now_.store(t.micros()); }
  void AdvanceSeconds(int64_t s) { now_.fetch_add(s * 1'000'000); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace pond
