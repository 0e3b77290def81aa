#include "activities/activity_book.hpp"

#include <algorithm>

#include "core/random.hpp"

namespace pond::activities {
namespace {

int64_t Micros(Timestamp t) { return t.micros(); }

Timestamp Earlier(Timestamp a, Timestamp b) { return a < b ? a : b; }

__extension__ typedef __int128 Wide;  // spare × weight may pass 2^63

// Whether `member`, or a member merged into it, is one of `members`.
bool Among(std::span<const MemberId> members, MemberId member, std::span<const MemberId> merged) {
  auto in = [&](MemberId m) { return std::find(members.begin(), members.end(), m) != members.end(); };
  return in(member) || std::any_of(merged.begin(), merged.end(), in);
}

}  // namespace

std::string_view ClaimStateName(ClaimState state) {
  switch (state) {
    case ClaimState::kTaken: return "taken";
    case ClaimState::kWaiting: return "waiting";
    case ClaimState::kComplete: return "complete";
    case ClaimState::kFailed: return "failed";
  }
  return "taken";
}

uint64_t DrawRoll(uint64_t seed, int64_t n) {
  uint64_t z = seed + static_cast<uint64_t>(n) * 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::vector<int64_t> BargainCuts(int64_t total, int32_t helpers, uint64_t seed, int64_t claim_id) {
  // Random weights, largest first: the first friends cut the most, so the
  // start feels fast and the last cuts slow (the usual 砍价 shape). One fen
  // each first, the rest shared by weight, remainders to the largest.
  Random rng(DrawRoll(seed, claim_id));
  std::vector<int64_t> weights(static_cast<size_t>(helpers));
  int64_t sum = 0;
  for (int64_t& w : weights) sum += (w = 1 + static_cast<int64_t>(rng.Uniform(1000)));
  std::sort(weights.rbegin(), weights.rend());
  const int64_t spare = total - helpers;
  std::vector<int64_t> cuts(static_cast<size_t>(helpers), 1);
  int64_t given = 0;
  for (size_t i = 0; i < cuts.size(); ++i) {
    const int64_t share = static_cast<int64_t>(static_cast<Wide>(spare) * weights[i] / sum);
    cuts[i] += share;
    given += share;
  }
  for (size_t i = 0; given < spare; i = (i + 1) % cuts.size(), ++given) ++cuts[i];
  return cuts;
}

const Activity& ActivityBook::Add(Activity a) {
  a.id = static_cast<int64_t>(activities_.size()) + 1;
  activities_.push_back(std::move(a));
  states_.emplace_back();
  states_.back().tally.prizes_won.assign(activities_.back().prizes.size(), 0);
  return activities_.back();
}

Result<const Activity*> ActivityBook::Cancel(int64_t id, Timestamp now) {
  if (id < 1 || id > static_cast<int64_t>(activities_.size())) return NotFoundField("id", "no activity " + std::to_string(id));
  Activity& a = activities_[static_cast<size_t>(id - 1)];
  if (a.ends_at <= now) return FailedPrecondition("the activity has ended already").With("reason", "ended");
  a.ends_at = std::max(now, a.starts_at);
  a.cancelled_at = now;
  return &a;
}

const Activity* ActivityBook::Find(int64_t id) const {
  if (id < 1 || id > static_cast<int64_t>(activities_.size())) return nullptr;
  return &activities_[static_cast<size_t>(id - 1)];
}

const Claim* ActivityBook::FindClaim(int64_t claim_id) const {
  if (claim_id < 1 || claim_id > static_cast<int64_t>(claims_.size())) return nullptr;
  return &claims_[static_cast<size_t>(claim_id - 1)];
}

ClaimState ActivityBook::StateOf(const Claim& c, Timestamp now) const {
  const Activity& a = activities_[static_cast<size_t>(c.activity_id - 1)];
  if (a.kind == ActivityKind::kGroupBuy) {
    const Claim& opener = *FindClaim(c.group);
    if (static_cast<int32_t>(opener.members.size()) == a.group_size) return ClaimState::kComplete;
    return now >= opener.deadline ? ClaimState::kFailed : ClaimState::kWaiting;
  }
  if (a.kind == ActivityKind::kBargain) {
    if (static_cast<int32_t>(c.cuts.size()) == a.helpers) return c.missed ? ClaimState::kFailed : ClaimState::kComplete;
    return now >= c.deadline ? ClaimState::kFailed : ClaimState::kWaiting;
  }
  return ClaimState::kTaken;
}

void ActivityBook::Give(const Activity& a, State& s, int64_t units, Timestamp now) {
  s.tally.taken += units;
  if (s.tally.taken >= StockOf(a) && !s.tally.sold_out_at) s.tally.sold_out_at = now;
}

void ActivityBook::GiveBack(const Activity& a, State& s, int64_t units) {
  s.tally.taken -= units;
  if (s.tally.taken < StockOf(a)) s.tally.sold_out_at.reset();
}

void ActivityBook::Settle(const Activity& a, State& s, Timestamp now) {
  while (!s.waiting.empty() && s.waiting.begin()->first <= Micros(now)) {
    Claim& c = Mutable(s.waiting.begin()->second);
    s.waiting.erase(s.waiting.begin());
    if (a.kind == ActivityKind::kGroupBuy) {
      // The group did not fill in time: nobody in it buys, the units return
      // and its members may claim again.
      GiveBack(a, s, a.group_size);
      --s.tally.groups_open;
      ++s.tally.groups_failed;
      for (MemberId m : c.members) --s.held[m];
    } else {
      --s.held[c.member];
    }
  }
}

Claim& ActivityBook::Append(Claim c) {
  c.id = static_cast<int64_t>(claims_.size()) + 1;
  claims_.push_back(std::move(c));
  State& s = states_[static_cast<size_t>(claims_.back().activity_id - 1)];
  s.claims.push_back(claims_.back().id);
  ++s.held[claims_.back().member];
  ++s.tally.successes;
  return claims_.back();
}

Result<const Claim*> ActivityBook::Take(int64_t activity_id, MemberId member, int64_t group, Timestamp now,
                                        std::span<const MemberId> merged) {
  const Activity* found = Find(activity_id);
  if (found == nullptr) return NotFoundField("id", "no activity " + std::to_string(activity_id));
  const Activity& a = *found;
  State& s = states_[static_cast<size_t>(activity_id - 1)];
  Settle(a, s, now);
  if (now < a.starts_at) return Refusal("not_started", "the activity has not started");
  if (now >= a.ends_at) return Refusal("ended", "the activity has ended");
  if (group != 0 && a.kind != ActivityKind::kGroupBuy) {
    return FieldInvalid("group_id", "is only for group buys");
  }
  if (a.per_member_limit > 0) {
    int32_t held = 0;
    auto add = [&](MemberId m) {
      if (auto it = s.held.find(m); it != s.held.end()) held += it->second;
    };
    add(member);
    std::for_each(merged.begin(), merged.end(), add);
    if (held >= a.per_member_limit) {
      return Refusal("limit_reached", "the member has claimed " + std::to_string(held) + " of at most " +
                                          std::to_string(a.per_member_limit));
    }
  }
  const int64_t left = StockOf(a) - s.tally.taken;
  Claim c;
  c.activity_id = activity_id;
  c.member = member;
  c.at = now;
  switch (a.kind) {
    case ActivityKind::kFlashSale:
    case ActivityKind::kPointsMall:
      if (left < 1) return Refusal("sold_out", "the activity is sold out");
      Give(a, s, 1, now);
      return &Append(std::move(c));
    case ActivityKind::kLuckyDraw: {
      if (left < 1) return Refusal("sold_out", "every prize has been drawn");
      c.draw = ++s.draws;
      c.roll = DrawRoll(a.seed, c.draw);
      int64_t total = a.none_weight;
      for (const Prize& p : a.prizes) total += p.weight;
      int64_t pick = static_cast<int64_t>(c.roll % static_cast<uint64_t>(total));
      for (size_t i = 0; i < a.prizes.size() && pick >= 0; ++i) {
        if (pick < a.prizes[i].weight && s.tally.prizes_won[i] < a.prizes[i].stock) {
          c.prize = static_cast<int32_t>(i);
          ++s.tally.prizes_won[i];
          Give(a, s, 1, now);
        }
        pick -= a.prizes[i].weight;
      }
      return &Append(std::move(c));
    }
    case ActivityKind::kBargain:
      if (left < 1) return Refusal("sold_out", "the activity is sold out");
      c.deadline = Earlier(now.PlusSeconds(int64_t{a.bargain_hours} * 3600), a.ends_at);
      {
        Claim& made = Append(std::move(c));
        s.waiting.emplace(Micros(made.deadline), made.id);
        return &made;
      }
    case ActivityKind::kGroupBuy:
      break;
  }
  if (group == 0) {
    // Opening reserves the whole group, so a group that fills always has its units.
    if (left < a.group_size) return Refusal("sold_out", "no stock is left for another group");
    Give(a, s, a.group_size, now);
    c.deadline = Earlier(now.PlusSeconds(int64_t{a.group_hours} * 3600), a.ends_at);
    c.members.push_back(member);
    Claim& made = Append(std::move(c));
    made.group = made.id;
    s.waiting.emplace(Micros(made.deadline), made.id);
    ++s.tally.groups_open;
    return &made;
  }
  const Claim* opener = FindClaim(group);
  if (opener == nullptr || opener->activity_id != activity_id || opener->group != opener->id) {
    return NotFoundField("group", "no group " + std::to_string(group) + " in activity " + std::to_string(activity_id));
  }
  const ClaimState state = StateOf(*opener, now);
  if (state == ClaimState::kComplete) return Refusal("group_full", "the group is full");
  if (state == ClaimState::kFailed) return Refusal("group_closed", "the group's time ran out");
  if (Among(opener->members, member, merged)) return Refusal("limit_reached", "the member is in this group already");
  c.group = group;
  c.deadline = opener->deadline;
  Claim& made = Append(std::move(c));
  Claim& head = Mutable(group);
  head.members.push_back(member);
  if (static_cast<int32_t>(head.members.size()) == a.group_size) {
    s.waiting.erase({Micros(head.deadline), head.id});
    --s.tally.groups_open;
    ++s.tally.groups_complete;
  }
  return &made;
}

Result<const Claim*> ActivityBook::Help(int64_t claim_id, MemberId helper, Timestamp now,
                                        std::span<const MemberId> merged) {
  const Claim* found = FindClaim(claim_id);
  const Activity* a = found ? Find(found->activity_id) : nullptr;
  if (a == nullptr || a->kind != ActivityKind::kBargain) return NotFoundField("claim", "no bargain " + std::to_string(claim_id));
  State& s = states_[static_cast<size_t>(a->id - 1)];
  Settle(*a, s, now);
  Claim& c = Mutable(claim_id);
  if (StateOf(c, now) != ClaimState::kWaiting) return Refusal("bargain_closed", "the bargain is over");
  if (Among(std::span(&c.member, 1), helper, merged)) return Refusal("own_bargain", "a member cannot help their own bargain");
  if (Among(c.helpers, helper, merged)) return Refusal("already_helped", "the member has helped this bargain already");
  const std::vector<int64_t> plan = BargainCuts(a->list_price.fen() - a->price.fen(), a->helpers, a->seed, claim_id);
  c.cuts.push_back(plan[c.cuts.size()]);
  c.helpers.push_back(helper);
  ++s.tally.helps;
  if (static_cast<int32_t>(c.cuts.size()) == a->helpers) {
    s.waiting.erase({Micros(c.deadline), c.id});
    if (StockOf(*a) - s.tally.taken >= 1) {
      Give(*a, s, 1, now);
      ++s.tally.bargains_complete;
    } else {
      // Cut down after the last unit went: the bargain fails, and no
      // longer counts to the member's limit.
      c.missed = true;
      --s.held[c.member];
    }
  }
  return &c;
}

void ActivityBook::SetCoupon(int64_t claim_id, std::string code) { Mutable(claim_id).coupon = std::move(code); }

void ActivityBook::CountRefusal(int64_t activity_id, const std::string& reason, bool cut) {
  if (Find(activity_id) == nullptr) return;
  Tally& t = states_[static_cast<size_t>(activity_id - 1)].tally;
  ++(cut ? t.cuts_refused : t.refused)[reason];
}

std::vector<const Claim*> ActivityBook::ClaimsOf(int64_t activity_id) const {
  std::vector<const Claim*> out;
  if (Find(activity_id) == nullptr) return out;
  for (int64_t id : states_[static_cast<size_t>(activity_id - 1)].claims) out.push_back(FindClaim(id));
  return out;
}

Tally ActivityBook::TallyOf(int64_t activity_id, Timestamp now) const {
  const Activity* a = Find(activity_id);
  if (a == nullptr) return {};
  const State& s = states_[static_cast<size_t>(activity_id - 1)];
  Tally t = s.tally;
  // What Settle would do at `now`, without changing the book.
  for (const auto& [deadline, id] : s.waiting) {
    if (deadline > Micros(now)) break;
    if (a->kind == ActivityKind::kGroupBuy) {
      t.taken -= a->group_size;
      --t.groups_open;
      ++t.groups_failed;
    }
  }
  if (t.taken < StockOf(*a)) t.sold_out_at.reset();
  return t;
}

int32_t ActivityBook::HeldBy(int64_t activity_id, MemberId member) const {
  if (Find(activity_id) == nullptr) return 0;
  const auto& held = states_[static_cast<size_t>(activity_id - 1)].held;
  auto it = held.find(member);
  return it == held.end() ? 0 : it->second;
}

}  // namespace pond::activities
