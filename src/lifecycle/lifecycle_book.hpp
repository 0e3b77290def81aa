// LifecycleBook: each member's lifecycle stage, the history of stage changes
// (for the member's view and for transitions between two dates), and the
// RFM scores of the last scheduled computation.
//
// Which stage a member is in is decided by StageOf (lifecycle.hpp) from its
// orders; the book only keeps the results. Changes hang off their member in
// a linked list through one tenant-wide array, so a change costs 24 bytes
// and no per-member allocation; the arrays grow by chunks, never copied (a
// vector's doubling copied millions of changes under the writer's lock). Not thread-safe: written by the tenant's
// writer, read under its read lock.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/chunked_array.hpp"

#include "core/time.hpp"
#include "lifecycle/lifecycle.hpp"

namespace pond {

struct StageChange {
  Timestamp at;
  int64_t member = 0;
  Stage from = Stage::kIntro, to = Stage::kIntro;
  int32_t previous_of_member = -1;  // the member's change before this one
};

class LifecycleBook {
 public:
  // A member never seen is an intro member.
  Stage StageOfMember(int64_t member) const;
  // Moves `member` to `to` at `at` and records the change; nullopt (and
  // nothing recorded) when the member is there already.
  std::optional<StageChange> MoveTo(int64_t member, Stage to, Timestamp at);
  // When the member's stage last changed; nullopt when it never did.
  std::optional<Timestamp> LastChangeAt(int64_t member) const {
    if (member <= 0 || static_cast<size_t>(member) >= members_.size()) return std::nullopt;
    const int32_t i = members_[static_cast<size_t>(member)].latest_change;
    return i < 0 ? std::nullopt : std::optional<Timestamp>(changes_[static_cast<size_t>(i)].at);
  }

  // The member's changes, newest first.
  template <typename F>
  void ForEachChangeOf(int64_t member, F&& f) const {
    if (static_cast<size_t>(member) >= members_.size()) return;
    for (int32_t i = members_[static_cast<size_t>(member)].latest_change; i >= 0; i = changes_[static_cast<size_t>(i)].previous_of_member) {
      f(changes_[static_cast<size_t>(i)]);
    }
  }
  const ChunkedArray<StageChange>& changes() const { return changes_; }

  // Scores from a scheduled computation as of `as_of`, by member id.
  void SetRfm(std::vector<RfmScore> by_member, LocalDate as_of);
  RfmScore RfmOf(int64_t member) const;
  std::optional<LocalDate> rfm_as_of() const { return rfm_as_of_; }

 private:
  struct PerMember {
    Stage stage = Stage::kIntro;
    int32_t latest_change = -1;
  };
  ChunkedArray<PerMember> members_;  // by member id
  ChunkedArray<StageChange> changes_;
  std::vector<RfmScore> rfm_;
  std::optional<LocalDate> rfm_as_of_;
};

}  // namespace pond
