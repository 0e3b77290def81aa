// Each row kind of rows.hpp as the store keeps it: a key and payload bytes
// (bytes.hpp's fields behind a leading format byte, 1 today; a setting's
// payload is its JSON document as it is). A journal row's tick is its
// position, kept by the store beside the payload, not in it.
//
// Keys: text as it is; ids as 8 big-endian bytes (IdKey), so the keys of a
// kind sort as its numbers do and state rows load by id.
//
// Encode replaces `key` and `payload`. Decode fills `row` and returns false
// when the bytes are not a well-formed encoding of that kind (a damaged
// store); `row` is then unspecified. Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "events/event.hpp"
#include "journal/rows.hpp"
#include "tags/tag_book.hpp"

namespace pond::journal {

std::string IdKey(int64_t id);
std::optional<int64_t> IdFromKey(std::string_view key);

// The kind of each row type: RowKindOf<OrderRow>::value == Kind::kOrder.
template <typename Row>
struct RowKindOf;
#define POND_ROW_KIND(Type, K)                                           \
  template <>                                                            \
  struct RowKindOf<Type> {                                               \
    static constexpr Kind value = K;                                     \
  };                                                                     \
  void Encode(const Type& row, std::string& key, std::string& payload); \
  bool Decode(int64_t tick, std::string_view key, std::string_view payload, Type& row)

// State kinds (Decode's tick is unused).
POND_ROW_KIND(StoreInfo, Kind::kStore);
POND_ROW_KIND(StaffInfo, Kind::kStaff);
POND_ROW_KIND(ProductInfo, Kind::kProduct);
POND_ROW_KIND(CategoryInfo, Kind::kCategory);
POND_ROW_KIND(SettingRow, Kind::kSetting);
POND_ROW_KIND(MemberRow, Kind::kMember);
POND_ROW_KIND(IdempotencyRow, Kind::kIdempotency);
// Journal kinds. The rows that carry their tick (orders and refunds in
// their loyalty effect, loyalty rows) get it back from Decode's `tick`;
// Encode leaves it to the caller, which stores it as the row's position.
POND_ROW_KIND(MergeRow, Kind::kMerge);
POND_ROW_KIND(OrderRow, Kind::kOrder);
POND_ROW_KIND(RefundRow, Kind::kRefund);
POND_ROW_KIND(LoyaltyRow, Kind::kLoyalty);
POND_ROW_KIND(tags::TagOperation, Kind::kTagOperation);
POND_ROW_KIND(SnapshotRow, Kind::kSnapshot);
POND_ROW_KIND(CouponEventRow, Kind::kCouponEvent);
POND_ROW_KIND(ActivityEventRow, Kind::kActivityEvent);
POND_ROW_KIND(AuditRow, Kind::kAudit);
POND_ROW_KIND(EffectRow, Kind::kEffect);
POND_ROW_KIND(EffectOutcomeRow, Kind::kEffectOutcome);
#undef POND_ROW_KIND

}  // namespace pond::journal
