// ActivityBook: the activities of a tenant and every claim made on them.
//
// A claim takes what its kind gives:
//   flash sale, points mall — one unit;
//   group buy — opening a group reserves `group_size` units; members join it
//     until it is full (complete: every member buys) or its time runs out
//     (failed: the units go back, its claims no longer count to limits);
//   bargain — starts a bargain; each helper cuts an amount fixed by the
//     seed (random, decreasing, the last one reaching `price`); the last cut
//     completes it and takes one unit, if one is left;
//   lucky draw — a draw: prize i when roll % total weight falls in its
//     share, nothing when the prize is out of stock (roll = DrawRoll(seed, n)
//     for the activity's n-th draw, so anyone with the seed can check it).
//
// Rules that hold whatever the order and timing of calls (activity_book_test
// checks them against a plain model): units taken never exceed stock; a
// member never holds more live claims than per_member_limit; nothing is
// taken outside [starts_at, ends_at). A claim or cut names the members
// merged into its member (`merged`): the limit counts their claims too, and
// one of them in a group or among a bargain's helpers (or its owner) is the
// member itself; a replay names none, so what was taken replays as it was.
// Refusals are Conflict statuses whose context `reason` is what the API
// answers: not_started, ended, sold_out, limit_reached, group_full,
// group_closed, not_a_group, already_helped, own_bargain, bargain_closed.
//
// Deterministic: times are passed in and results follow from the seed, so
// replaying the same calls rebuilds the same book. Not thread-safe: the
// tenant's writer owns it. Pointers it returns stay valid until the next
// change (claims live in a vector).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "activities/activity.hpp"
#include "events/event.hpp"

namespace pond::activities {

enum class ClaimState {
  kTaken,     // the member has the unit, prize or draw
  kWaiting,   // a group not yet full, a bargain not yet cut down
  kComplete,  // the group filled, the bargain reached its price
  kFailed,    // the group's time ran out, the bargain's too, or it ran out of stock
};
std::string_view ClaimStateName(ClaimState state);

struct Claim {
  int64_t id = 0;  // tenant-wide, ascending
  int64_t activity_id = 0;
  MemberId member = 0;
  Timestamp at;
  int64_t group = 0;     // group buy: the claim that opened the group (its own id for the opener)
  int32_t prize = -1;    // lucky draw: index of the prize won; -1 none
  int64_t draw = 0;      // lucky draw: n, the activity's n-th draw
  uint64_t roll = 0;     // lucky draw: DrawRoll(seed, n)
  std::vector<MemberId> members;  // group buy, on the opener's claim: the group, opener first
  std::vector<int64_t> cuts;      // bargain: the fen each helper cut, in order
  std::vector<MemberId> helpers;
  bool missed = false;   // bargain: cut down after the last unit went (failed)
  Timestamp deadline;    // group buy, bargain: when waiting turns to failed
  std::string coupon;    // the coupon code the claim gave, if any
};

// What a lucky draw's n-th draw rolls: splitmix64(seed + n * 0x9e3779b97f4a7c15).
uint64_t DrawRoll(uint64_t seed, int64_t n);
// The cuts of a bargain: `helpers` amounts ≥ 1 fen summing to `total` fen,
// largest first, drawn from `seed` and the bargain's claim id.
std::vector<int64_t> BargainCuts(int64_t total, int32_t helpers, uint64_t seed, int64_t claim_id);

// Per-activity counts for reports.
struct Tally {
  int64_t successes = 0;  // claims made (groups joined, bargains started, draws)
  std::map<std::string, int64_t> refused;  // claims refused, by reason
  std::map<std::string, int64_t> cuts_refused;  // bargain: helpers' cuts refused, by reason
  int64_t taken = 0;      // units taken or reserved (a lucky draw: prizes won)
  std::optional<Timestamp> sold_out_at;  // since when no unit is left
  std::vector<int64_t> prizes_won;       // lucky draw, by prize
  int64_t groups_open = 0, groups_complete = 0, groups_failed = 0;
  int64_t bargains_complete = 0, helps = 0;
};

class ActivityBook {
 public:
  // Adds a checked activity, giving it the next id.
  const Activity& Add(Activity a);
  const Activity* Find(int64_t id) const;
  // Ends activity `id` at `now` (or at its start, if it has not begun):
  // NotFound, or FailedPrecondition when it has ended already.
  Result<const Activity*> Cancel(int64_t id, Timestamp now);
  const std::vector<Activity>& activities() const { return activities_; }

  // Makes a claim for `member` at `now` (group buy: `group` 0 opens a
  // group, else the opener's claim id joins it). The caller has already
  // checked what the book does not know (audience, points).
  Result<const Claim*> Take(int64_t activity_id, MemberId member, int64_t group, Timestamp now,
                            std::span<const MemberId> merged = {});
  // A helper's cut of bargain `claim_id`.
  Result<const Claim*> Help(int64_t claim_id, MemberId helper, Timestamp now, std::span<const MemberId> merged = {});
  // Notes the coupon a claim gave.
  void SetCoupon(int64_t claim_id, std::string code);
  // Counts a refused claim or cut (the book's reasons and the caller's:
  // not_eligible, ...).
  void CountRefusal(int64_t activity_id, const std::string& reason, bool cut);

  const Claim* FindClaim(int64_t claim_id) const;
  // A claim's state at `now` (a waiting group or bargain fails at its deadline).
  ClaimState StateOf(const Claim& c, Timestamp now) const;
  // The activity's claims in order, and its counts as of `now`.
  std::vector<const Claim*> ClaimsOf(int64_t activity_id) const;
  Tally TallyOf(int64_t activity_id, Timestamp now) const;
  // Live claims of `member` on the activity (what per_member_limit counts).
  int32_t HeldBy(int64_t activity_id, MemberId member) const;

 private:
  struct State {
    Tally tally;
    std::vector<int64_t> claims;
    std::unordered_map<MemberId, int32_t> held;
    std::set<std::pair<int64_t, int64_t>> waiting;  // (deadline micros, claim id): open groups, bargains
    int64_t draws = 0;
  };
  Claim& Mutable(int64_t claim_id) { return claims_[static_cast<size_t>(claim_id - 1)]; }
  // Settles what `now` decided: open groups whose time ran out fail and
  // give their units back; bargains past their deadline fail.
  void Settle(const Activity& a, State& s, Timestamp now);
  void Give(const Activity& a, State& s, int64_t units, Timestamp now);
  void GiveBack(const Activity& a, State& s, int64_t units);
  Result<Claim*> TakeGroup(const Activity& a, State& s, Claim c, Timestamp now);
  Claim& Append(Claim c);

  std::vector<Activity> activities_;  // id = position + 1
  std::vector<State> states_;         // by activity position
  std::vector<Claim> claims_;         // id = position + 1
};

}  // namespace pond::activities
