#include "lifecycle/lifecycle_book.hpp"

#include <utility>

#include "core/huge_pages.hpp"

namespace pond {

Stage LifecycleBook::StageOfMember(int64_t member) const {
  return member > 0 && static_cast<size_t>(member) < members_.size() ? members_[static_cast<size_t>(member)].stage
                                                                     : Stage::kIntro;
}

std::optional<StageChange> LifecycleBook::MoveTo(int64_t member, Stage to, Timestamp at) {
  if (static_cast<size_t>(member) >= members_.size()) members_.resize(static_cast<size_t>(member) + 1);
  PerMember& m = members_[static_cast<size_t>(member)];
  if (m.stage == to) return std::nullopt;
  const StageChange change{at, member, m.stage, to, m.latest_change};
  m.stage = to;
  m.latest_change = static_cast<int32_t>(changes_.size());
  changes_.push_back(change);
  return change;
}

void LifecycleBook::SetRfm(std::vector<RfmScore> by_member, LocalDate as_of) {
  FreeLater(std::exchange(rfm_, std::move(by_member)));  // 40 MB at 10 M members: freed off the writer
  rfm_as_of_ = as_of;
}

RfmScore LifecycleBook::RfmOf(int64_t member) const {
  return member > 0 && static_cast<size_t>(member) < rfm_.size() ? rfm_[static_cast<size_t>(member)] : RfmScore{};
}

}  // namespace pond
