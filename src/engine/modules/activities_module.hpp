// The activities module (activities/activity_book.hpp): claims checked
// against what only the tenant knows — audiences, purchases, points,
// coupon stock — then taken in the book, their consequences (points spent,
// coupons issued through the coupons module, bargain helpers registered
// and tagged) applied, and every claim, cut and refusal recorded as an
// ActivityEventRow. Publishes ClaimMade.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "activities/activity_book.hpp"
#include "engine/module.hpp"
#include "engine/tenant_state.hpp"

namespace pond {

class ActivitiesModule final : public Module {
 public:
  explicit ActivitiesModule(TenantState& tenant) : tenant_(tenant) {}
  std::string_view name() const override { return "activities"; }

  // Adds an activity: its coupon templates and snapshot must exist; a
  // bargain's helper tag is made (manual) when missing.
  Result<const activities::Activity*> CreateActivity(activities::Activity a, Timestamp now);
  const activities::ActivityBook& activity_book() const { return book_; }
  // Ends an activity now: claims from now on are refused "ended"; those
  // made stand.
  Result<const activities::Activity*> CancelActivity(int64_t id, Timestamp now);
  // A member's claim (group buy: `group` 0 opens one, else the opener's
  // claim id joins it): refused not_eligible outside the audience or
  // without a purchase in the window, insufficient_points, the coupon's
  // refusal, or the book's (activity_book.hpp); every refusal is counted.
  // Spends the points and issues the coupon it gives.
  Result<const activities::Claim*> ClaimActivity(int64_t activity_id, MemberId member, int64_t group, Timestamp now);
  // A helper's cut of bargain `claim_id`; a helper not yet a member is
  // registered with source "bargain"; every helper gets the helper tag.
  Result<const activities::Claim*> HelpBargain(int64_t claim_id, const MemberRef& helper, Timestamp now);

  // --- Module --------------------------------------------------------
  std::span<const uint16_t> journal_kinds() const override;
  std::span<const std::string_view> settings() const override;
  Status Replay(const JournalRow& row) override;
  Status LoadSetting(std::string_view name, std::string_view value) override;

 private:
  void RecordActivity(ActivityEventRow row);
  // Counts and records a refused claim, or cut of `bargain` (a Conflict
  // with a reason); returns it.
  Status RefuseClaim(int64_t activity_id, MemberId member, int64_t bargain, Status why, Timestamp now);
  // What the tenant checks before the book: audience, purchase, points, coupon.
  Status CheckClaimer(const activities::Activity& a, MemberId member, Timestamp now);
  // Whether the standing `member`, or a member merged into it, is in the snapshot.
  bool InSnapshot(int64_t snapshot_id, MemberId member);
  Status ReplayActivity(const ActivityEventRow& row);
  void PersistActivities();

  TenantState& tenant_;
  activities::ActivityBook book_;
  int64_t next_event_ = 1;
  // Snapshot members, decoded and sorted when an activity first asks.
  std::unordered_map<int64_t, std::vector<int64_t>> snapshot_members_;
};

inline ActivitiesModule& Activities(TenantState& tenant) { return tenant.module<ActivitiesModule>(); }
inline const ActivitiesModule& Activities(const TenantState& tenant) { return tenant.module<ActivitiesModule>(); }

}  // namespace pond
