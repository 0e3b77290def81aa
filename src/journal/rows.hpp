// The kinds of row a tenant's store holds, as the engine writes and replays
// them. The store itself (engine/store.hpp) sees only a kind number, a key
// and payload bytes; codec.hpp turns each row here into those and back.
//
// Two shapes (engine/store.hpp):
// - journal kinds are changes, each at its tick in the tenant's one order,
//   replayed in tick order on load;
// - state kinds are the latest value of a key (a member as it stands, a
//   setting), loaded before the journal, kind by kind in the order of their
//   numbers, each by key.
// Kind numbers are stored with every row: assigned once, never reused.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.hpp"
#include "events/event.hpp"

namespace pond::journal {

enum class Kind : uint16_t {
  // State kinds, loaded in this order.
  kStore = 1,
  kStaff = 2,
  kProduct = 3,
  kCategory = 4,
  kSetting = 5,
  kMember = 6,
  kIdempotency = 7,
  // Journal kinds.
  kMerge = 100,
  kOrder = 101,
  kRefund = 102,
  kLoyalty = 103,
  kTagOperation = 104,
  kSnapshot = 105,
  kCouponEvent = 106,
  kActivityEvent = 107,
  kAudit = 108,
  kEffect = 109,
  kEffectOutcome = 110,
};

// "order", "member", ...; "" for a number no kind has.
std::string_view KindName(uint16_t kind);

}  // namespace pond::journal

namespace pond {

// A member's row: its profile and identities as they stand now. A merged
// member keeps its row, without identities, with merged_into set to the
// survivor, which holds them. Identities live in the row (not rows of their
// own) because the engine's in-memory index is what keeps them unique; one
// row per member halves what ingest writes. State kind, keyed by member id.
struct MemberRow {
  int64_t member_id = 0;
  MemberProfile profile;
  std::vector<Identity> identities;
  std::vector<uint64_t> event_digests;  // member events seen, to know a re-sent one
  int64_t merged_into = 0;              // 0 while the member stands on its own
  Timestamp created_at;
  bool operator==(const MemberRow&) const = default;
};

// Loyalty rides on the rows that cause it: what an order earned and what a
// refund took back are stored on the order's and the refund's row, so
// ingest writes no extra row for them. `tick` is the row's journal position.
struct LoyaltyEffect {
  int64_t tick = 0;
  int64_t points = 0;           // change of the balance
  int64_t growth = 0;           // change of growth
  int64_t unrecovered = 0;      // refunds: points already spent, not taken back
  int64_t rate_bp = 0;          // the terms the order earned on, which its refunds reuse
  int64_t growth_per_yuan = 0;
  Timestamp lot;                // the lot (its expiry instant) the points went to or came from
  bool operator==(const LoyaltyEffect&) const = default;
};

// Journal kind, keyed by order id.
struct OrderRow {
  int64_t member_id = 0;  // as resolved when the order arrived; merges redirect it
  OrderEvent order;       // order.member is not stored
  LoyaltyEffect loyalty;
  bool operator==(const OrderRow&) const = default;
};

// Journal kind, keyed by refund id.
struct RefundRow {
  RefundEvent refund;
  LoyaltyEffect loyalty;
  bool operator==(const RefundRow&) const = default;
};

// Loyalty changes that no order or refund row carries.
enum class LoyaltyKind : uint8_t {
  kRedeem = 0,  // points spent; note = the redemption id
  kAdjust = 1,  // points added or removed by an operator; note = the reason
  kExpire = 2,  // a lot expired
  kTier = 3,    // from/to = tier ids; note = the cause
  kStage = 4,   // from/to = lifecycle stage names
  kDay = 5,     // the scheduler finished a day's work; note = "YYYY-MM-DD"; member_id 0
  kMerge = 6,   // the account of member `note` moved onto member_id (replayed at its place in time)
};
inline constexpr int kLoyaltyKinds = 7;

// Journal kind, keyed by member id.
struct LoyaltyRow {
  int64_t tick = 0;
  int64_t member_id = 0;
  LoyaltyKind kind = LoyaltyKind::kRedeem;
  Timestamp at;
  int64_t points = 0;
  Timestamp lot;
  std::string from, to;
  std::string note;
  bool operator==(const LoyaltyRow&) const = default;
};

// A tenant setting, such as its loyalty configuration (key "loyalty", a
// JSON document). State kind, keyed by `key`.
struct SettingRow {
  std::string key;
  std::string value;
  bool operator==(const SettingRow&) const = default;
};

// Journal kind, keyed by the merged member's id.
struct MergeRow {
  int64_t survivor = 0;
  int64_t merged = 0;
  Timestamp at;
  std::string reason;  // which identities met: "phone+unionid"
  bool operator==(const MergeRow&) const = default;
};

// State kind, keyed by `key`.
struct IdempotencyRow {
  std::string key;
  int status = 0;       // HTTP status of the first answer
  std::string body;     // its body
  Timestamp at;
  // HashKey of the request body it answered, so a key reused for another
  // request is refused; 0 for answers stored before this was kept.
  uint64_t request_digest = 0;
  bool operator==(const IdempotencyRow&) const = default;
};

// A frozen audience: who matched an expression at one instant, kept for a
// campaign however the members change afterwards. Journal kind, keyed by id.
struct SnapshotRow {
  int64_t id = 0;  // ascending
  std::string name;
  std::string expr;  // canonical (segments::ToText)
  std::string by;
  Timestamp at;
  int64_t count = 0;
  std::string members;  // the member ids, EncodeIdList (core/id_list.hpp)
  bool operator==(const SnapshotRow&) const = default;
};

// A change of one coupon in the tenant's wallet (coupons/wallet.hpp): the
// wallet is rebuilt on load by replaying these; expiry follows from the
// times, so it needs no row. Journal kind, keyed by id.
struct CouponEventRow {
  int64_t id = 0;        // ascending
  std::string kind;      // "issue", "lock", "unlock", "redeem", "restore", "revoke"
  std::string code;
  int64_t template_id = 0;  // issue
  int64_t member = 0;       // issue
  std::string occasion;     // issue: the idempotency key or rule occasion
  std::string order_id;     // lock, unlock, redeem, restore
  Timestamp at;
  Timestamp until;          // lock: when the hold lapses
  bool operator==(const CouponEventRow&) const = default;
};

// A claim on an activity, a helper's cut, or a refusal
// (activities/activity_book.hpp): the book is rebuilt on load by replaying
// these; results follow from the activity's seed and the times. Journal
// kind, keyed by id.
struct ActivityEventRow {
  int64_t id = 0;           // ascending
  int64_t activity_id = 0;
  std::string kind;         // "take", "help", "refused"
  int64_t member = 0;       // who claimed, helped or was refused
  int64_t ref = 0;          // take: the group joined (0 none); help, a refused cut: the bargain's claim id
  Timestamp at;
  std::string detail;       // take: the coupon code it gave, if any; refused: the reason
  bool operator==(const ActivityEventRow&) const = default;
};

// One entry of the audit trail (CONTRACT.md "Actors and the audit trail"):
// a change made by a person or a key, a reveal of personal data, an
// export; committed with what it records. Journal kind, keyed by id.
struct AuditRow {
  int64_t id = 0;           // ascending
  Timestamp at;
  uint8_t actor_kind = 0;   // engine/actor.hpp Actor::Kind
  std::string actor_id;     // the key's id or the person's login
  std::string actor_by;     // system: what acted
  std::string action;       // "<area>.<verb>": "points.adjust"
  std::string target;       // "member:42", "tag:VIP"
  std::string request_id;
  std::string detail;       // a JSON object
  bool operator==(const AuditRow&) const = default;
};

// Something to hand to the outside world (a message, a webhook, a WeCom
// call), recorded in the commit of its cause and dispatched only once that
// commit is durable (engine/outbox.hpp). Journal kind, keyed by id; the id
// is the receiver's idempotency key, so it is never reused.
struct EffectRow {
  int64_t id = 0;        // ascending
  std::string channel;   // which registered channel sends it
  std::string payload;   // the channel's to read
  Timestamp at;          // business time it was recorded
  bool operator==(const EffectRow&) const = default;
};

// How an effect ended: delivered, or given up. An effect without one is
// pending, and dispatched again after a restart. Journal kind, keyed by
// the effect's id.
struct EffectOutcomeRow {
  int64_t id = 0;
  bool delivered = false;
  int32_t attempts = 0;
  std::string detail;    // what the receiver answered, or why it was given up
  Timestamp at;
  bool operator==(const EffectOutcomeRow&) const = default;
};

}  // namespace pond
