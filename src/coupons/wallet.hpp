// Wallet: every coupon a tenant has issued and where each stands.
//
//   issued ──lock(order)──► locked ──redeem(order)──► redeemed
//     ▲  ◄──unlock(order)────┘  (or its hold runs out)     │
//     └──────────── restore(order), if the template says so ┘
//   issued/locked ──revoke──► revoked;  ──valid_to passes──► expired
//
// Rules that hold whatever the order of calls (wallet_test.cpp checks them
// against a plain model):
//   - Stock: a template never has more coupons issued than its stock.
//   - Limits: a member never holds more than per_member_limit coupons of a
//     template (revoked ones do not count), nor receives more than
//     per_day_limit of it in one tenant-zone day.
//   - Idempotency: issuing for the same (template, member, occasion) again
//     returns the first coupon and changes nothing — an API request's
//     idempotency key, a rule's occasion ("birthday:2026") — and redeeming
//     with the order that redeemed it returns the same answer.
//   - Merged members: a coupon stays with the member it was issued to. An
//     issue names the members merged into its member (`merged`), and the
//     limits and occasions count theirs too. A replay names none: what was
//     issued is replayed as it was, whatever merge came between.
//   - A coupon is redeemed at most once, only inside its validity, and
//     only by the order that holds its lock when locked.
// Refusals are Conflict statuses whose context `reason` is what the API
// answers: out_of_stock, limit_reached, already_redeemed, expired,
// not_started, revoked, locked, not_locked, not_redeemed.
//
// Deterministic: codes are given by the caller (CouponCode over a CSPRNG's
// bytes), times are passed in; replaying the same calls rebuilds the same
// wallet. Not thread-safe: the tenant's writer owns it. A `const Coupon*`
// it returns stays valid as long as the wallet (coupons live in a StableVector).
//
// Its indexes store no keys (core/hash_index.hpp): 8-byte slots that point
// at the coupons, which hold the keys. Growing one walks a flat table;
// node-based maps relinking a million nodes each, five of them at the same
// insertion, kept a bulk issue's readers out for most of a second.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/chunked_array.hpp"
#include "core/chunked_heap.hpp"
#include "core/hash_index.hpp"
#include "core/stable_vector.hpp"
#include "core/status.hpp"
#include "core/time.hpp"
#include "coupons/coupon_template.hpp"
#include "events/event.hpp"

namespace pond::coupons {

enum class CouponState { kIssued, kLocked, kRedeemed, kExpired, kRevoked };
std::string_view StateName(CouponState state);

struct Coupon {
  std::string code;
  int64_t template_id = 0;
  MemberId member = 0;
  std::string occasion;  // what it was issued for; unique per template and member
  Timestamp issued_at, valid_from, valid_to;
  LocalDate issued_day;  // tenant-zone day of issue, for per_day_limit
  CouponState state = CouponState::kIssued;
  std::string order_id;  // the order holding its lock, or that redeemed it
  Timestamp lock_until;  // while locked: when the hold lapses
  Timestamp changed_at;  // of the last change of state
};

class Wallet {
 public:
  explicit Wallet(TimeZone zone) : zone_(std::move(zone)) {}

  struct Issued {
    const Coupon* coupon;
    bool fresh;  // false: the occasion had its coupon already
  };
  // Issues a coupon of `t` to `member` at `now` with `code` (unused; an
  // InvalidArgument when taken). Refused out_of_stock, limit_reached, or
  // expired when the template's window has closed. `merged`: the members
  // merged into `member`, whose coupons count with its own.
  Result<Issued> Issue(const CouponTemplate& t, MemberId member, std::string occasion, std::string code,
                       Timestamp now, std::span<const MemberId> merged = {});

  // What Issue would answer for a new occasion, changing nothing: OK, or
  // the refusal (out_of_stock, limit_reached, expired).
  Status CanIssue(const CouponTemplate& t, MemberId member, Timestamp now,
                  std::span<const MemberId> merged = {}) const;
  // Holds a coupon for an order during checkout until `until`. Locking it
  // again for the same order extends the hold.
  Result<const Coupon*> Lock(std::string_view code, std::string_view order_id, Timestamp until, Timestamp now);
  // Releases the hold of `order_id` (not_locked when it holds none).
  Result<const Coupon*> Unlock(std::string_view code, std::string_view order_id, Timestamp now);
  // Redeems for `order_id`; the same order again answers the same.
  Result<const Coupon*> Redeem(std::string_view code, std::string_view order_id, Timestamp now);
  // Gives a redeemed coupon back after its order was refunded, when the
  // template allows (FailedPrecondition otherwise); expired if its
  // validity ended meanwhile.
  Result<const Coupon*> Restore(const CouponTemplate& t, std::string_view code, std::string_view order_id,
                                Timestamp now);
  // Withdraws an unused coupon.
  Result<const Coupon*> Revoke(std::string_view code, Timestamp now);
  // What Redeem would answer, changing nothing.
  Status CanRedeem(std::string_view code, std::string_view order_id, Timestamp now) const;
  // The coupons `order_id` redeemed and still holds.
  std::vector<const Coupon*> RedeemedBy(std::string_view order_id) const;

  // Expires every unused coupon whose validity ended by `now` and lets
  // lapsed holds go; calls on_due for each coupon whose validity ended
  // since the last call, in whatever state (one touched meanwhile was
  // settled then), and for some whose hold lapsed.
  void ExpireDue(Timestamp now, const std::function<void(const Coupon&)>& on_due = {});

  const Coupon* Find(std::string_view code) const;
  // `c` as it stands at `now`: a lapsed hold let go, an ended validity
  // expired (the wallet itself settles a coupon when next touched).
  static Coupon AsOf(Coupon c, Timestamp now) {
    Settle(c, now);
    return c;
  }
  // Visits every coupon in issue order.
  template <typename F>
  void ForEach(F&& f) const {
    for (size_t i = 0; i < coupons_.size(); ++i) f(coupons_[i]);
  }
  // Coupons issued of a template (stock used), and a member's (limits).
  int64_t IssuedOf(int64_t template_id) const;
  int32_t HeldBy(int64_t template_id, MemberId member) const;
  // A member's coupons, with those of the members merged into it, in issue order.
  std::vector<const Coupon*> CouponsOf(MemberId member, std::span<const MemberId> merged = {}) const;
  size_t size() const { return coupons_.size(); }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  static uint64_t OccasionHash(int64_t template_id, MemberId member, std::string_view occasion);
  static uint64_t MemberHash(MemberId member) {
    return HashKey(std::string_view(reinterpret_cast<const char*>(&member), sizeof member));
  }
  // The coupon issued to `member` for (template, occasion), or kNone.
  uint32_t ByOccasion(int64_t template_id, MemberId member, std::string_view occasion) const;
  uint32_t IndexOf(std::string_view code) const;
  // The member's coupons, latest first: f(index).
  template <typename F>
  void ForEachOf(MemberId member, F&& f) const {
    const uint32_t* last =
        last_of_member_.Find(MemberHash(member), [&](uint32_t i) { return coupons_[i].member == member; });
    for (uint32_t i = last ? *last : kNone; i != kNone; i = previous_of_member_[i]) f(i);
  }
  // Coupons of the template that `member` and `merged` hold (not revoked),
  // or were issued on `day` when given.
  int32_t CountOf(int64_t template_id, MemberId member, std::span<const MemberId> merged,
                  std::optional<LocalDate> day) const;
  Coupon* Mutable(std::string_view code);
  // Expires `c` when its validity ended by `now`; lets its lapsed hold go.
  static void Settle(Coupon& c, Timestamp now);
  // Whether a settled `c` may be locked or redeemed for `order_id` now.
  static Status CheckUsable(const Coupon& c, std::string_view order_id, Timestamp now);

  TimeZone zone_;
  StableVector<Coupon> coupons_;          // in issue order; growing moves none
  HashIndex<uint32_t> by_code_;           // HashKey(code) -> index
  HashIndex<uint32_t> by_occasion_;       // OccasionHash -> index
  HashIndex<uint32_t> last_of_member_;    // HashKey(member id) -> index of its latest coupon
  ChunkedArray<uint32_t> previous_of_member_;  // by index: the member's coupon before it, or kNone
  std::unordered_map<int64_t, int64_t> issued_;  // template -> coupons issued
  std::unordered_map<std::string, std::vector<uint32_t>> by_order_;  // order -> coupons it ever redeemed
  // Unused coupons by the end of their validity, soonest first (stale
  // entries are skipped when popped).
  struct Due {
    int64_t at;  // valid_to, micros
    uint32_t index;
    bool operator<(const Due& o) const { return at != o.at ? at < o.at : index < o.index; }
  };
  ChunkedHeap<Due> due_;
};

}  // namespace pond::coupons
