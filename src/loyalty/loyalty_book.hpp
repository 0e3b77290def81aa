// LoyaltyBook: every member's growth, tier and points — the points ledger
// with its lots — under a tenant's LoyaltyConfig (DOMAIN.md §2, CONTRACT.md
// "Tenants").
//
// The ledger is append-only. An entry changes the balance (points) and/or
// growth and says why: an order earned (kEarn), a refund took back
// (kReverse), a redemption spent (kRedeem), points expired (kExpire), an
// operator adjusted (kAdjust). Earned points sit in lots by expiry instant;
// spending takes from the lot that expires first, so what a member loses
// to expiry is as little as possible. The balance never goes below zero and
// always equals the sum of the entries — apart from a refund's points the
// member had already spent, which cannot be taken back and are recorded on
// the entry as `unrecovered`.
//
// Tiers: on the lifetime basis a tier follows growth up and down at once;
// on the rolling and calendar-month bases an order can lift a member at once
// but downgrades wait for the periodic review (Review).
//
// Every call takes the tick (the tenant's journal position) and the instant
// it happens at: the engine persists entries with their tick, and Replay
// feeds them back on start in tick order to rebuild the same state.
//
// Pure in-memory logic. Not thread-safe: written by the tenant's writer,
// read under its read lock.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/chunked_array.hpp"
#include "core/money.hpp"
#include "core/points.hpp"
#include "core/stable_vector.hpp"
#include "core/status.hpp"
#include "core/time.hpp"
#include "events/event.hpp"
#include "loyalty/loyalty_config.hpp"

namespace pond {

enum class EntryKind : uint8_t { kEarn, kReverse, kRedeem, kExpire, kAdjust };
std::string_view EntryKindName(EntryKind k);

// One entry of the tenant-wide ledger. A member's entries are linked
// newest to oldest through previous_of_member (LoyaltyBook::ForEachEntryOf),
// so the ledger is one append-only array with no per-member allocation.
struct LedgerEntry {
  // Eight-byte fields first, then four-byte ones, then the kind: 88 bytes,
  // where declaration in reading order padded it to 104 (millions of these).
  int64_t tick = 0;
  Timestamp at;        // when it happened
  int64_t points = 0;  // change of the balance
  int64_t growth = 0;  // change of growth (earn, reverse)
  int64_t unrecovered = 0;  // reverse: points already spent, not taken back
  // earn and reverse: the order, when it was paid (growth windows count the
  // growth then) and the terms it earned on, which its refunds reuse.
  Timestamp paid_at;
  int64_t rate_bp = 0;
  Timestamp lot;       // earn, adjust up: the lot's expiry; expire: the lot that expired
  int32_t growth_per_yuan = 0;  // LoyaltyConfig bounds it to 10 000
  int32_t order = -1;
  int32_t note = -1;   // redeem: the redemption id; adjust: the reason; reverse: the refund id (NoteOf)
  int32_t previous_of_member = -1;
  EntryKind kind = EntryKind::kEarn;
};
static_assert(sizeof(LedgerEntry) == 88);

// Points that expire at the same instant.
struct Lot {
  Timestamp expires_at;  // kNeverExpires under the "never" policy
  int64_t points = 0;
};
inline constexpr Timestamp kNeverExpires = Timestamp::FromMicros(std::numeric_limits<int64_t>::max());

// InvalidArgument naming `points` when |points| > kMaxPointsPerOperation.
Status CheckPointsPerOperation(int64_t points);

struct TierChange {
  MemberId member = 0;
  int from = 0, to = 0;  // indexes into the config's tiers
  Timestamp at;
  std::string cause;     // "order", "refund", "review", "config", "merge"
};

// A tier change as the member's history shows it: tier ids and the cause as
// they were when it happened (configurations change).
struct TierHistoryEntry {
  Timestamp at;
  std::string_view from, to, cause;
};

struct Account {
  int64_t growth = 0;   // lifetime growth
  int64_t balance = 0;
  int tier = 0;         // index into the config's tiers
  std::vector<Lot> lots;  // by expiry, soonest first; none empty
  int32_t latest_entry = -1;  // the newest of its ledger entries
  int32_t latest_tier_change = -1;
};

// What a purchase earns on: the order as the engine knows it.
struct Purchase {
  MemberId member = 0;
  int32_t order = -1;  // position in the order book
  Timestamp paid_at;
  Money net;
  Channel channel = Channel::kOther;
  std::span<const OrderItem> items;     // for category multipliers
  std::optional<LocalDate> birthday;    // the member's, if known
};

class LoyaltyBook {
 public:
  LoyaltyBook(LoyaltyConfig config, TimeZone zone);

  const LoyaltyConfig& config() const { return config_; }
  // Replaces the rules. Tiers are re-evaluated for every member at `at`
  // (lifetime basis at once; other bases may only rise until the review);
  // returns the changes. Earned entries keep the terms they were earned on.
  // At once: for loading, where nobody waits.
  std::vector<TierChange> SetConfig(LoyaltyConfig config, Timestamp at);
  // The same a member at a time, for a running tenant: first ClampTier for
  // every member (before the rules change: a member on a tier the new rules
  // drop moves to the highest they keep, a tier under both rules), then
  // SetRules, then RetierForRules for every member.
  // CapTiers first: until SetRules no member rises past the last tier
  // kept (an order, a review or a merge behind the clamp's cursor would
  // otherwise bring back a tier the new rules do not have).
  void CapTiers(size_t tiers) { cap_ = static_cast<int>(tiers) - 1; }
  std::optional<TierChange> ClampTier(MemberId member, size_t tiers, Timestamp at);
  void SetRules(LoyaltyConfig config) {
    config_ = std::move(config);
    cap_ = kNoCap;
  }
  std::optional<TierChange> RetierForRules(MemberId member, Timestamp at);

  // An order was paid: records its earn entry. The tier held before the
  // order sets the rate; the tier may change after it.
  const LedgerEntry& Earn(int64_t tick, const Purchase& p, std::optional<TierChange>* tier_change);

  // An order's net amount fell to `net` (a refund, whose id the entry
  // keeps): re-computes what it earned on the terms of its earn entry and
  // records the difference.
  const LedgerEntry& Reverse(int64_t tick, MemberId member, int32_t order, Money net, Timestamp at,
                             std::optional<TierChange>* tier_change, std::string refund_id = {});

  // Spends points, soonest-expiring first. FailedPrecondition naming
  // `points` when the balance is short; InvalidArgument when points <= 0.
  Result<const LedgerEntry*> Redeem(int64_t tick, MemberId member, int64_t points, std::string redemption_id,
                                    Timestamp at);
  // Adds (points > 0, into a new lot) or removes (points < 0) points with an
  // operator's reason; removing more than the balance is FailedPrecondition.
  Result<const LedgerEntry*> Adjust(int64_t tick, MemberId member, int64_t points, std::string reason, Timestamp at);

  // Expires every lot whose instant is <= `now`; one entry per member and lot.
  // Ticks are drawn from `next_tick` as entries are made.
  std::vector<std::pair<MemberId, LedgerEntry>> ExpireDue(Timestamp now, int64_t& next_tick);
  // The same for one member: lots that were already dead when they arrived
  // (an order imported long after it was paid) expire at once.
  std::vector<LedgerEntry> ExpireDueOf(MemberId member, Timestamp now, int64_t& next_tick);

  // The periodic review of the rolling and calendar bases: each member gets
  // the tier its basis value over the period just ended reaches. No-op on
  // the lifetime basis.
  std::vector<TierChange> Review(Timestamp period_end, Timestamp at);
  // The same for one member (the day run reviews member by member, in slices).
  std::optional<TierChange> ReviewOf(MemberId member, Timestamp period_end, Timestamp at);

  // Moves the merged member's account onto the survivor.
  std::optional<TierChange> Merge(MemberId survivor, MemberId merged, Timestamp at);
  // Start-up: moves the account only; the tier change, if any, has its own row.
  void ReplayMerge(MemberId survivor, MemberId merged);

  // Start-up: re-applies a stored entry (with its note) or tier change, in
  // tick order.
  void Replay(MemberId member, const LedgerEntry& entry, std::string note = {});
  // A stored tier change names tiers by id; one since removed from the
  // configuration counts as the lowest.
  void ReplayTier(MemberId member, std::string_view from, std::string_view to, std::string_view cause, Timestamp at);

  const Account* Find(MemberId member) const;
  // The member's ledger, newest first.
  template <typename F>
  void ForEachEntryOf(MemberId member, F&& f) const {
    const Account* a = Find(member);
    for (int32_t i = a ? a->latest_entry : -1; i >= 0; i = entries_[static_cast<size_t>(i)].previous_of_member) {
      f(entries_[static_cast<size_t>(i)]);
    }
  }
  // The member's tier changes, newest first.
  template <typename F>
  void ForEachTierChangeOf(MemberId member, F&& f) const {
    const Account* a = Find(member);
    for (int32_t i = a ? a->latest_tier_change : -1; i >= 0; i = tier_changes_[static_cast<size_t>(i)].previous) {
      const TierRecord& r = tier_changes_[static_cast<size_t>(i)];
      f(TierHistoryEntry{r.at, names_[r.from], names_[r.to], names_[r.cause]});
    }
  }
  std::string_view NoteOf(const LedgerEntry& e) const {
    return e.note < 0 ? std::string_view() : std::string_view(notes_[static_cast<size_t>(e.note)]);
  }
  // Points expiring within the config's expiring_soon_days after `now`.
  int64_t ExpiringSoon(MemberId member, Timestamp now) const;
  // The basis value tiers are measured on, as of `now`.
  int64_t BasisValue(MemberId member, Timestamp now) const;
  // Whether a redemption id was used, and its entry.
  const LedgerEntry* FindRedemption(const std::string& redemption_id) const;
  // The member's tier index (0, the first tier, for members never seen).
  int TierOf(MemberId member) const;

  // When points earned at `at` expire under the current policy.
  Timestamp LotExpiry(Timestamp at) const;

 private:
  Account& Mutable(MemberId member);
  // Adds a new entry and applies its effect on balance, lots and growth.
  // The reference is valid until the next entry is posted.
  const LedgerEntry& Post(MemberId member, LedgerEntry entry, std::string note = {});
  // Takes up to `points` from the lots, `first` (if present) before the
  // others, soonest-expiring first; returns what was taken.
  static int64_t Take(Account& a, int64_t points, std::optional<Timestamp> first);
  static void AddToLot(Account& a, Timestamp expires_at, int64_t points);
  // FailedPrecondition naming `points` when the member holds fewer.
  Status CheckCovers(MemberId member, int64_t points) const;
  // Posts a redemption (points < 0) or an adjustment; added points get a lot.
  const LedgerEntry* PostSpendOrAdjust(int64_t tick, MemberId member, EntryKind kind, int64_t points,
                                       std::string note, Timestamp at);
  // Sets the tier after growth changed, per the basis rules.
  std::optional<TierChange> Retier(MemberId member, Timestamp at, std::string_view cause, bool may_fall);
  int64_t BasisValueBetween(MemberId member, Timestamp from, Timestamp to) const;
  // The start of the basis window that ends at `now`.
  Timestamp WindowStart(Timestamp now) const;
  int64_t RateFor(const Purchase& p, int tier) const;

  LoyaltyConfig config_;
  static constexpr int kNoCap = std::numeric_limits<int>::max();
  int cap_ = kNoCap;  // the highest tier a member may reach (CapTiers)
  // The tier `basis_value` reaches, within the cap.
  int TierFor(int64_t basis_value) const { return std::min(config_.TierFor(basis_value), cap_); }
  TimeZone zone_;
  StableVector<Account> accounts_;  // by member id; index 0 unused; growing moves no account
  // Balances, lots and ledger of `merged` onto `survivor`; tiers untouched.
  void MoveAccount(MemberId survivor, MemberId merged);
  // Records a tier change in the member's history.
  void RecordTierChange(MemberId member, std::string_view from, std::string_view to, std::string_view cause,
                        Timestamp at);
  uint16_t Intern(std::string_view name);

  struct TierRecord {
    Timestamp at;
    uint16_t from = 0, to = 0, cause = 0;  // into names_
    int32_t previous = -1;                 // the member's change before this one
  };
  ChunkedArray<TierRecord> tier_changes_;  // grows by chunks: never copied under the writer's lock
  std::vector<std::string> names_;  // tier ids and causes, each once
  ChunkedArray<LedgerEntry> entries_;  // in tick order
  StableVector<std::string> notes_;  // never copied as it grows (a copy of millions held an apply 8 ms)
  std::unordered_map<std::string, int32_t> redemptions_;  // redemption id → entry
};

}  // namespace pond
