// OrderBook: a tenant's orders and refunds as compact in-memory records,
// with each member's order history and purchase totals.
//
// An order is known by its order_id (its natural key): adding it again is a
// duplicate. A refund reduces what an order earned; refunds of one order
// never exceed what was paid for it. Orders hang off their member in a
// singly linked list (4 bytes an order) so that rolling windows can walk a
// member's history without a per-member vector.
//
// Pure in-memory logic. Not thread-safe: written by the tenant's writer,
// read under its read lock.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/hash_index.hpp"
#include "core/chunked_array.hpp"
#include "core/money.hpp"
#include "core/status.hpp"
#include "core/string_arena.hpp"
#include "core/time.hpp"
#include "events/event.hpp"

namespace pond {

inline constexpr int32_t kNoOrder = -1;

struct OrderRecord {
  MemberId member = 0;  // the standing member it belongs to now
  Timestamp paid_at;
  Money paid;
  Money refunded;
  StringArena::Ref order_id = 0;
  Channel channel = Channel::kOther;
  int32_t next_of_member = kNoOrder;  // the member's previous order
  Money net() const { return paid - refunded; }
};

// A member's purchase totals.
struct PurchaseTotals {
  int64_t count = 0;
  Money paid;
  Money refunded;
  Timestamp last_paid_at;             // meaningful when count > 0
  int32_t latest_order = kNoOrder;    // head of the member's order list
};

class OrderBook {
 public:
  bool HasOrder(std::string_view order_id) const { return Find(order_id) != nullptr; }
  // The order's position (what Order() takes), or -1.
  int32_t PositionOf(std::string_view order_id) const {
    const int32_t* p = Find(order_id);
    return p ? *p : kNoOrder;
  }
  bool HasRefund(std::string_view refund_id) const;

  // Records `order` for `member`. The caller checks HasOrder first.
  void AddOrder(const OrderEvent& order, MemberId member);

  // OK when `refund` may be applied: its order exists and the amount fits in
  // what remains refundable. Errors name the field.
  Status CheckRefund(const RefundEvent& refund) const;
  // Applies a refund that passed CheckRefund; returns the order's member.
  MemberId ApplyRefund(const RefundEvent& refund);

  // Moves `merged`'s history and totals onto `survivor`.
  void MergeMembers(MemberId survivor, MemberId merged);

  // Totals of a standing member (zeros when it never bought).
  const PurchaseTotals& Totals(MemberId member) const;
  const OrderRecord& Order(int32_t index) const { return orders_[static_cast<size_t>(index)]; }
  std::string_view OrderId(int32_t index) const { return ids_.Get(Order(index).order_id); }
  // Visits a member's orders, newest first.
  template <typename F>
  void ForEachOrderOf(MemberId member, F&& f) const {
    for (int32_t i = Totals(member).latest_order; i != kNoOrder; i = orders_[static_cast<size_t>(i)].next_of_member) {
      f(orders_[static_cast<size_t>(i)]);
    }
  }

  int64_t order_count() const { return static_cast<int64_t>(orders_.size()); }
  int64_t refund_count() const { return static_cast<int64_t>(refund_ids_.size()); }

 private:
  PurchaseTotals& MutableTotals(MemberId member);
  // Position of the order in orders_, or nullptr.
  const int32_t* Find(std::string_view order_id) const;

  ChunkedArray<OrderRecord> orders_;
  StringArena ids_;             // the order ids, which the index does not keep
  HashIndex<int32_t> index_;    // order_id → position in orders_
  // The refund ids seen, kept as the orders' are: a node-based set's
  // rehash of millions of ids held the writer for a quarter second.
  ChunkedArray<StringArena::Ref> refund_ids_;
  StringArena refund_id_text_;
  HashIndex<int32_t> refund_index_;  // refund_id → position in refund_ids_
  ChunkedArray<PurchaseTotals> totals_;  // by member_id
};

}  // namespace pond
