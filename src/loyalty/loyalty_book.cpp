#include "loyalty/loyalty_book.hpp"

#include <algorithm>

#include "loyalty/entitlements.hpp"

namespace pond {
namespace {

constexpr int64_t kRateUnit = 10'000;  // points_rate_bp of one point per yuan

// 128-bit intermediates where a product of bounded inputs passes int64
// (__extension__: a GCC/Clang type, which -Wpedantic would flag).
__extension__ typedef __int128 Int128;

// floor(net_fen * rate_bp / (100 * kRateUnit)) without overflow: a rate
// with every multiplier at its bound is 10^9 bp, and 10^12 fen times that
// does not fit an int64 (the result, at most 10^15, does).
int64_t EarnedPoints(int64_t net_fen, int64_t rate_bp) {
  return static_cast<int64_t>(static_cast<Int128>(net_fen) * rate_bp / (100 * kRateUnit));
}

int PercentOr100(const std::map<std::string, int>& table, std::string_view key) {
  if (table.empty()) return 100;  // the default: no copy of the key per order
  auto it = table.find(std::string(key));
  return it == table.end() ? 100 : it->second;
}

// The same day `months` months earlier, clamped to the end of a shorter month.
LocalDate MonthsBefore(LocalDate d, int months) {
  int month_index = d.year() * 12 + (d.month() - 1) - months;
  const int year = month_index / 12, month = month_index % 12 + 1;
  int day = d.day();
  while (!IsValidYmd(year, month, day)) --day;
  return LocalDate::FromYmd(year, month, day);
}

}  // namespace

std::string_view EntryKindName(EntryKind k) {
  switch (k) {
    case EntryKind::kEarn: return "earn";
    case EntryKind::kReverse: return "reverse";
    case EntryKind::kRedeem: return "redeem";
    case EntryKind::kExpire: return "expire";
    case EntryKind::kAdjust: return "adjust";
  }
  return "earn";
}

LoyaltyBook::LoyaltyBook(LoyaltyConfig config, TimeZone zone) : config_(std::move(config)), zone_(std::move(zone)) {}

Account& LoyaltyBook::Mutable(MemberId member) {
  if (static_cast<size_t>(member) >= accounts_.size()) accounts_.resize(static_cast<size_t>(member) + 1);
  return accounts_[static_cast<size_t>(member)];
}

const Account* LoyaltyBook::Find(MemberId member) const {
  return member > 0 && static_cast<size_t>(member) < accounts_.size() ? &accounts_[static_cast<size_t>(member)]
                                                                       : nullptr;
}

int LoyaltyBook::TierOf(MemberId member) const {
  const Account* a = Find(member);
  return a ? a->tier : 0;
}

Timestamp LoyaltyBook::LotExpiry(Timestamp at) const {
  switch (config_.expiry.kind) {
    case ExpiryKind::kEndOfYearAfter:
      return zone_.StartOfDay(LocalDate::FromYmd(zone_.DateOf(at).year() + config_.expiry.years + 1, 1, 1));
    case ExpiryKind::kAfterDays:
      return at.PlusSeconds(int64_t{config_.expiry.days} * 86'400);
    case ExpiryKind::kNever:
      return kNeverExpires;
  }
  return kNeverExpires;
}

void LoyaltyBook::AddToLot(Account& a, Timestamp expires_at, int64_t points) {
  auto it = std::lower_bound(a.lots.begin(), a.lots.end(), expires_at,
                             [](const Lot& l, Timestamp t) { return l.expires_at < t; });
  if (it != a.lots.end() && it->expires_at == expires_at) {
    it->points = Money::SaturatingAdd(it->points, points);
  } else {
    a.lots.insert(it, Lot{expires_at, points});
  }
}

int64_t LoyaltyBook::Take(Account& a, int64_t points, std::optional<Timestamp> first) {
  int64_t taken = 0;
  auto take_from = [&](std::vector<Lot>::iterator lot) {
    const int64_t n = std::min(points - taken, lot->points);
    lot->points -= n;
    taken += n;
  };
  if (first) {
    auto it = std::find_if(a.lots.begin(), a.lots.end(), [&](const Lot& l) { return l.expires_at == *first; });
    if (it != a.lots.end()) take_from(it);
  }
  for (auto it = a.lots.begin(); it != a.lots.end() && taken < points; ++it) take_from(it);
  std::erase_if(a.lots, [](const Lot& l) { return l.points == 0; });
  return taken;
}

const LedgerEntry& LoyaltyBook::Post(MemberId member, LedgerEntry e, std::string note) {
  Account& a = Mutable(member);
  switch (e.kind) {
    case EntryKind::kEarn:
    case EntryKind::kAdjust:
      if (e.points > 0) {
        AddToLot(a, e.lot, e.points);
      } else if (e.points < 0) {
        e.points = -Take(a, -e.points, std::nullopt);  // callers check the balance first
      }
      break;
    case EntryKind::kReverse: {
      // Take back from the order's own lot first: what is left of it is
      // exactly what the refund returns.
      const int64_t wanted = -e.points;
      const int64_t taken = wanted > 0 ? Take(a, wanted, e.lot) : 0;
      e.points = -taken;
      e.unrecovered = std::max<int64_t>(wanted - taken, 0);
      break;
    }
    case EntryKind::kRedeem:
      e.points = -Take(a, -e.points, std::nullopt);
      break;
    case EntryKind::kExpire: {
      auto it = std::find_if(a.lots.begin(), a.lots.end(), [&](const Lot& l) { return l.expires_at == e.lot; });
      e.points = it == a.lots.end() ? 0 : -it->points;
      if (it != a.lots.end()) a.lots.erase(it);
      break;
    }
  }
  a.balance = Money::SaturatingAdd(a.balance, e.points);
  a.growth = Money::SaturatingAdd(a.growth, e.growth);
  const auto index = static_cast<int32_t>(entries_.size());
  if (!note.empty()) {
    e.note = static_cast<int32_t>(notes_.size());
    if (e.kind == EntryKind::kRedeem) redemptions_[note] = index;
    notes_.push_back(std::move(note));
  }
  e.previous_of_member = a.latest_entry;
  a.latest_entry = index;
  entries_.push_back(e);
  return entries_.back();
}

int64_t LoyaltyBook::RateFor(const Purchase& p, int tier) const {
  int64_t rate = config_.tiers[static_cast<size_t>(tier)].points_rate_bp;
  rate = rate * PercentOr100(config_.channel_multiplier_pct, ChannelName(p.channel)) / 100;
  if (!config_.category_multiplier_pct.empty()) {
    // Weighted by what each item paid, so a mixed basket earns in proportion.
    int64_t weighted = 0, paid = 0;
    for (const OrderItem& item : p.items) {
      weighted += item.paid.fen() * PercentOr100(config_.category_multiplier_pct, item.category);
      paid += item.paid.fen();
    }
    if (paid > 0) rate = static_cast<int64_t>(static_cast<Int128>(rate) * weighted / paid / 100);
  }
  if (p.birthday && IsBirthday(*p.birthday, zone_.DateOf(p.paid_at))) {
    rate = rate * config_.birthday.points_multiplier_pct / 100;
  }
  return rate;
}

const LedgerEntry& LoyaltyBook::Earn(int64_t tick, const Purchase& p, std::optional<TierChange>* tier_change) {
  const int64_t net = std::max<int64_t>(p.net.fen(), 0);
  LedgerEntry e;
  e.tick = tick;
  e.kind = EntryKind::kEarn;
  e.at = p.paid_at;
  e.order = p.order;
  e.paid_at = p.paid_at;
  e.rate_bp = RateFor(p, TierOf(p.member));
  e.growth_per_yuan = static_cast<int32_t>(config_.growth_per_yuan);
  // docs/loyalty.md: points = floor(net_fen * rate / 100) with rate in
  // points per yuan; growth = floor(net_fen / 10) at 10 per yuan. Up to the
  // bound of a balance and of growth.
  const Account& a = Mutable(p.member);
  e.points = std::min(EarnedPoints(net, e.rate_bp), std::max<int64_t>(kMaxPoints - a.balance, 0));
  e.growth = std::min(net * e.growth_per_yuan / 100, std::max<int64_t>(kMaxPoints - a.growth, 0));
  e.lot = LotExpiry(p.paid_at);
  const LedgerEntry& posted = Post(p.member, std::move(e));
  *tier_change = Retier(p.member, p.paid_at, "order", config_.basis == GrowthBasis::kLifetime);
  return posted;
}

const LedgerEntry& LoyaltyBook::Reverse(int64_t tick, MemberId member, int32_t order, Money net, Timestamp at,
                                        std::optional<TierChange>* tier_change, std::string refund_id) {
  // What the order has earned so far: its earn entry and earlier reversals.
  std::optional<LedgerEntry> earn;
  int64_t points_now = 0, growth_now = 0;
  ForEachEntryOf(member, [&](const LedgerEntry& x) {
    if (x.order != order) return;
    if (x.kind == EntryKind::kEarn) earn = x;
    points_now += x.points - x.unrecovered;  // what it earns now, whether or not it could be taken back
    growth_now += x.growth;
  });
  LedgerEntry e;
  e.tick = tick;
  e.kind = EntryKind::kReverse;
  e.at = at;
  e.order = order;
  if (earn) {
    const int64_t n = std::max<int64_t>(net.fen(), 0);
    e.paid_at = earn->paid_at;
    e.rate_bp = earn->rate_bp;
    e.growth_per_yuan = earn->growth_per_yuan;
    e.lot = earn->lot;
    // A refund never adds: what the order earned may have been cut at the
    // bound of a balance, and the smaller net must not earn more than that.
    e.points = std::min(EarnedPoints(n, earn->rate_bp), points_now) - points_now;
    e.growth = std::min(n * earn->growth_per_yuan / 100, growth_now) - growth_now;
  }
  const LedgerEntry& posted = Post(member, e, std::move(refund_id));
  *tier_change = Retier(member, at, "refund", config_.basis == GrowthBasis::kLifetime);
  return posted;
}

Status LoyaltyBook::CheckCovers(MemberId member, int64_t points) const {
  const Account* a = Find(member);
  const int64_t balance = a ? a->balance : 0;
  if (points <= balance) return Status::Ok();
  Status s = FailedPrecondition("insufficient points");
  s.AddFieldError("points", "exceeds the balance of " + std::to_string(balance));
  return s;
}

const LedgerEntry* LoyaltyBook::PostSpendOrAdjust(int64_t tick, MemberId member, EntryKind kind, int64_t points,
                                                  std::string note, Timestamp at) {
  LedgerEntry e;
  e.tick = tick;
  e.kind = kind;
  e.at = at;
  e.points = points;
  if (points > 0) e.lot = LotExpiry(at);
  return &Post(member, e, std::move(note));
}

Status CheckPointsPerOperation(int64_t points) {
  if (points > kMaxPointsPerOperation || points < -kMaxPointsPerOperation) {
    return FieldInvalid("points", "must be at most " + std::to_string(kMaxPointsPerOperation) + " in one operation");
  }
  return Status::Ok();
}

Result<const LedgerEntry*> LoyaltyBook::Redeem(int64_t tick, MemberId member, int64_t points,
                                               std::string redemption_id, Timestamp at) {
  if (points <= 0) return FieldInvalid("points", "must be > 0");
  RETURN_IF_ERROR(CheckPointsPerOperation(points));
  RETURN_IF_ERROR(CheckCovers(member, points));
  return PostSpendOrAdjust(tick, member, EntryKind::kRedeem, -points, std::move(redemption_id), at);
}

Result<const LedgerEntry*> LoyaltyBook::Adjust(int64_t tick, MemberId member, int64_t points, std::string reason,
                                               Timestamp at) {
  if (points == 0) return FieldInvalid("points", "must not be 0");
  RETURN_IF_ERROR(CheckPointsPerOperation(points));
  if (points < 0) RETURN_IF_ERROR(CheckCovers(member, -points));
  const Account* a = Find(member);
  if (points > 0 && (a ? a->balance : 0) > kMaxPoints - points) {
    return FailedPrecondition("balance limit").AddFieldError(
        "points", "would take the balance past the limit of " + std::to_string(kMaxPoints));
  }
  return PostSpendOrAdjust(tick, member, EntryKind::kAdjust, points, std::move(reason), at);
}

std::vector<std::pair<MemberId, LedgerEntry>> LoyaltyBook::ExpireDue(Timestamp now, int64_t& next_tick) {
  std::vector<std::pair<MemberId, LedgerEntry>> out;
  for (size_t m = 1; m < accounts_.size(); ++m) {
    for (LedgerEntry& e : ExpireDueOf(static_cast<MemberId>(m), now, next_tick)) {
      out.emplace_back(static_cast<MemberId>(m), e);
    }
  }
  return out;
}

std::vector<LedgerEntry> LoyaltyBook::ExpireDueOf(MemberId member, Timestamp now, int64_t& next_tick) {
  std::vector<LedgerEntry> out;
  const Account* a = Find(member);
  while (a != nullptr && !a->lots.empty() && a->lots.front().expires_at <= now) {
    LedgerEntry e;
    e.tick = next_tick++;
    e.kind = EntryKind::kExpire;
    e.at = a->lots.front().expires_at;
    e.lot = a->lots.front().expires_at;
    out.push_back(Post(member, std::move(e)));
  }
  return out;
}

Timestamp LoyaltyBook::WindowStart(Timestamp now) const {
  const LocalDate today = zone_.DateOf(now);
  if (config_.basis == GrowthBasis::kCalendarMonth) {
    return zone_.StartOfDay(LocalDate::FromYmd(today.year(), today.month(), 1));
  }
  return zone_.StartOfDay(MonthsBefore(today, config_.rolling_months));
}

int64_t LoyaltyBook::BasisValueBetween(MemberId member, Timestamp from, Timestamp to) const {
  int64_t value = 0;
  ForEachEntryOf(member, [&](const LedgerEntry& e) {
    if ((e.kind == EntryKind::kEarn || e.kind == EntryKind::kReverse) && e.paid_at >= from && e.paid_at < to) {
      value += e.growth;
    }
  });
  return value;
}

int64_t LoyaltyBook::BasisValue(MemberId member, Timestamp now) const {
  const Account* a = Find(member);
  if (!a) return 0;
  if (config_.basis == GrowthBasis::kLifetime) return a->growth;
  return BasisValueBetween(member, WindowStart(now), now.PlusSeconds(1));
}

std::optional<TierChange> LoyaltyBook::Retier(MemberId member, Timestamp at, std::string_view cause, bool may_fall) {
  Account& a = Mutable(member);
  const int target = TierFor(BasisValue(member, at));
  if (target == a.tier || (target < a.tier && !may_fall)) return std::nullopt;
  TierChange change{member, a.tier, target, at, std::string(cause)};
  RecordTierChange(member, config_.tiers[static_cast<size_t>(a.tier)].id, config_.tiers[static_cast<size_t>(target)].id,
                   cause, at);
  a.tier = target;
  return change;
}

std::vector<TierChange> LoyaltyBook::Review(Timestamp period_end, Timestamp at) {
  std::vector<TierChange> out;
  for (size_t m = 1; m < accounts_.size(); ++m) {
    if (auto change = ReviewOf(static_cast<MemberId>(m), period_end, at)) out.push_back(std::move(*change));
  }
  return out;
}

std::optional<TierChange> LoyaltyBook::ReviewOf(MemberId member, Timestamp period_end, Timestamp at) {
  if (config_.basis == GrowthBasis::kLifetime || static_cast<size_t>(member) >= accounts_.size()) return std::nullopt;
  // The period just ended: the N months (or the month) before period_end.
  const LocalDate end = zone_.DateOf(period_end);
  const LocalDate start = config_.basis == GrowthBasis::kCalendarMonth ? MonthsBefore(end, 1)
                                                                        : MonthsBefore(end, config_.rolling_months);
  Account& a = accounts_[static_cast<size_t>(member)];
  const int target = TierFor(BasisValueBetween(member, zone_.StartOfDay(start), period_end));
  if (target == a.tier) return std::nullopt;
  TierChange change{member, a.tier, target, at, "review"};
  RecordTierChange(member, config_.tiers[static_cast<size_t>(a.tier)].id, config_.tiers[static_cast<size_t>(target)].id,
                   "review", at);
  a.tier = target;
  return change;
}

std::vector<TierChange> LoyaltyBook::SetConfig(LoyaltyConfig config, Timestamp at) {
  const size_t tiers = config.tiers.size();
  std::vector<TierChange> out;
  for (size_t m = 1; m < accounts_.size(); ++m) {
    if (auto change = ClampTier(static_cast<MemberId>(m), tiers, at)) out.push_back(std::move(*change));
  }
  SetRules(std::move(config));
  for (size_t m = 1; m < accounts_.size(); ++m) {
    if (auto change = RetierForRules(static_cast<MemberId>(m), at)) out.push_back(std::move(*change));
  }
  return out;
}

std::optional<TierChange> LoyaltyBook::ClampTier(MemberId member, size_t tiers, Timestamp at) {
  if (static_cast<size_t>(member) >= accounts_.size()) return std::nullopt;
  Account& a = accounts_[static_cast<size_t>(member)];
  const int highest = static_cast<int>(tiers) - 1;
  if (a.tier <= highest) return std::nullopt;
  // Recorded like any move, so a replay under either rules finds the member
  // on a tier they have.
  TierChange change{member, a.tier, highest, at, "config"};
  RecordTierChange(member, config_.tiers[static_cast<size_t>(a.tier)].id,
                   config_.tiers[static_cast<size_t>(highest)].id, "config", at);
  a.tier = highest;
  return change;
}

std::optional<TierChange> LoyaltyBook::RetierForRules(MemberId member, Timestamp at) {
  if (static_cast<size_t>(member) >= accounts_.size()) return std::nullopt;
  return Retier(member, at, "config", config_.basis == GrowthBasis::kLifetime);
}

std::optional<TierChange> LoyaltyBook::Merge(MemberId survivor, MemberId merged, Timestamp at) {
  if (!Find(merged)) return std::nullopt;
  const int merged_tier = Find(merged)->tier;
  MoveAccount(survivor, merged);
  // On the lifetime basis growth decides at once; otherwise the survivor
  // keeps the better of the two tiers, or more if the merged basis reaches it.
  Account& into = Mutable(survivor);
  const int held = into.tier;
  const int reached = TierFor(BasisValue(survivor, at));
  const int target = std::min(
      config_.basis == GrowthBasis::kLifetime ? reached : std::max({held, merged_tier, reached}), cap_);
  if (target == held) return std::nullopt;
  into.tier = target;
  RecordTierChange(survivor, config_.tiers[static_cast<size_t>(held)].id,
                   config_.tiers[static_cast<size_t>(target)].id, "merge", at);
  return TierChange{survivor, held, target, at, "merge"};
}

void LoyaltyBook::ReplayMerge(MemberId survivor, MemberId merged) {
  if (Find(merged)) MoveAccount(survivor, merged);
}

void LoyaltyBook::MoveAccount(MemberId survivor, MemberId merged) {
  Account from = std::move(Mutable(merged));
  Mutable(merged) = Account{};
  Account& into = Mutable(survivor);
  into.growth = Money::SaturatingAdd(into.growth, from.growth);
  into.balance = Money::SaturatingAdd(into.balance, from.balance);
  for (const Lot& lot : from.lots) AddToLot(into, lot.expires_at, lot.points);
  // Both ledgers become one list, newest first. Entries sit in tick order in
  // entries_, so ordering by index orders by tick.
  std::vector<int32_t> chain;
  for (int32_t i : {into.latest_entry, from.latest_entry}) {
    for (; i >= 0; i = entries_[static_cast<size_t>(i)].previous_of_member) chain.push_back(i);
  }
  std::sort(chain.begin(), chain.end(), std::greater<>());
  into.latest_entry = chain.empty() ? -1 : chain.front();
  for (size_t k = 0; k < chain.size(); ++k) {
    entries_[static_cast<size_t>(chain[k])].previous_of_member = k + 1 < chain.size() ? chain[k + 1] : -1;
  }
}

void LoyaltyBook::Replay(MemberId member, const LedgerEntry& entry, std::string note) {
  LedgerEntry e = entry;
  e.note = e.previous_of_member = -1;
  // Post computes what a reversal could take back; give it what was asked.
  if (e.kind == EntryKind::kReverse) e.points -= e.unrecovered, e.unrecovered = 0;
  Post(member, e, std::move(note));
}

void LoyaltyBook::ReplayTier(MemberId member, std::string_view from, std::string_view to, std::string_view cause,
                             Timestamp at) {
  Mutable(member).tier = std::max(config_.TierIndex(to), 0);
  RecordTierChange(member, from, to, cause, at);
}

uint16_t LoyaltyBook::Intern(std::string_view name) {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return static_cast<uint16_t>(i);
  }
  names_.emplace_back(name);
  return static_cast<uint16_t>(names_.size() - 1);
}

void LoyaltyBook::RecordTierChange(MemberId member, std::string_view from, std::string_view to,
                                   std::string_view cause, Timestamp at) {
  Account& a = Mutable(member);
  tier_changes_.push_back(TierRecord{at, Intern(from), Intern(to), Intern(cause), a.latest_tier_change});
  a.latest_tier_change = static_cast<int32_t>(tier_changes_.size() - 1);
}

int64_t LoyaltyBook::ExpiringSoon(MemberId member, Timestamp now) const {
  const Account* a = Find(member);
  if (!a) return 0;
  const Timestamp until = now.PlusSeconds(int64_t{config_.expiring_soon_days} * 86'400);
  int64_t points = 0;
  for (const Lot& lot : a->lots) {
    if (lot.expires_at > until) break;
    if (lot.expires_at > now) points += lot.points;
  }
  return points;
}

const LedgerEntry* LoyaltyBook::FindRedemption(const std::string& redemption_id) const {
  auto it = redemptions_.find(redemption_id);
  return it == redemptions_.end() ? nullptr : &entries_[static_cast<size_t>(it->second)];
}

}  // namespace pond
