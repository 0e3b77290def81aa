// Timers: wake-ups a tenant's modules ask for — a member in a journey at
// 09:00 tomorrow, a group buy at its deadline, a commission at the end of
// its refund window (ARCHITECTURE.md "Timers").
//
// A timer is (kind, id, instant): the kind names who asked (TimerKind,
// one per module) and the id what to wake (a member, a claim); the
// instant has whole seconds. The tenant's day run and clock fire what is
// due in time order, through the handler its kind registered.
//
// Timers are not journal rows: each module arms its timers again from its
// own state when the tenant loads, so a restart rebuilds them in one pass
// over that state instead of replaying every wait. Arming is all there is:
// to cancel or move a wake-up, the module arms the new one and, when the
// old one fires, sees from its state that it is no longer wanted. That
// keeps a timer at 8 bytes (10 M pending: ~80 MB) with no index by id.
//
// Not thread-safe: the tenant's writer owns it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "core/time.hpp"

namespace pond {

// Who asked; a byte. Add a kind per module that arms timers.
enum class TimerKind : uint8_t {
  kTest = 1,  // for the engine's own tests
};

struct Timer {
  TimerKind kind{};
  int64_t id = 0;  // 0 .. 2^50 - 1
  Timestamp at;    // whole seconds
};

class Timers {
 public:
  static constexpr int64_t kMaxId = (int64_t{1} << 50) - 1;

  // Wakes `id` of `kind` at `at` (its second; an id out of range is a bug
  // of the caller and is refused by returning false).
  bool Arm(TimerKind kind, int64_t id, Timestamp at);
  // The earliest instant a timer is due at, if any.
  std::optional<Timestamp> Next() const;
  // Takes the timers due at or before `now` into `out` in time order
  // (ties in arming order), at most `max`; returns how many.
  size_t TakeDue(Timestamp now, size_t max, std::vector<Timer>& out);
  size_t pending() const { return pending_; }
  size_t MemoryBytes() const;

 private:
  // A timer packed in 8 bytes: second within its minute (6 bits), kind
  // (8 bits), id (50 bits).
  using Packed = uint64_t;
  struct Minute {
    std::vector<Packed> timers;
    size_t taken = 0;  // those before it have fired
    bool sorted = true;
  };
  std::map<int64_t, Minute> minutes_;  // by minute since the epoch
  size_t pending_ = 0;
};

}  // namespace pond
