#include "orders/order_book.hpp"

namespace pond {

PurchaseTotals& OrderBook::MutableTotals(MemberId member) {
  if (static_cast<size_t>(member) >= totals_.size()) totals_.resize(static_cast<size_t>(member) + 1);
  return totals_[static_cast<size_t>(member)];
}

const PurchaseTotals& OrderBook::Totals(MemberId member) const {
  static const PurchaseTotals kNone;
  return member >= 0 && static_cast<size_t>(member) < totals_.size() ? totals_[static_cast<size_t>(member)] : kNone;
}

const int32_t* OrderBook::Find(std::string_view order_id) const {
  return index_.Find(HashKey(order_id),
                     [&](int32_t i) { return ids_.Get(orders_[static_cast<size_t>(i)].order_id) == order_id; });
}

void OrderBook::AddOrder(const OrderEvent& order, MemberId member) {
  const auto position = static_cast<int32_t>(orders_.size());
  PurchaseTotals& t = MutableTotals(member);
  OrderRecord r;
  r.member = member;
  r.paid_at = order.paid_at;
  r.paid = order.paid;
  r.channel = order.channel;
  r.order_id = ids_.Add(order.order_id);
  r.next_of_member = t.latest_order;
  orders_.push_back(r);
  index_.Insert(HashKey(order.order_id), position);
  t.latest_order = position;
  ++t.count;
  t.paid += order.paid;
  if (t.count == 1 || order.paid_at > t.last_paid_at) t.last_paid_at = order.paid_at;
}

Status OrderBook::CheckRefund(const RefundEvent& refund) const {
  const int32_t* position = Find(refund.order_id);
  if (!position) {
    return FieldInvalid("order_id", "unknown order '" + refund.order_id + "'").With("order_id", refund.order_id);
  }
  const OrderRecord& order = orders_[static_cast<size_t>(*position)];
  if (refund.refunded_at < order.paid_at) {
    return FieldInvalid("refunded_at", "must not be before the order was paid").With("order_id", refund.order_id);
  }
  const Money left = order.net();
  if (refund.amount > left) {
    Status s = FailedPrecondition("refund exceeds what remains refundable");
    s.AddFieldError("amount_fen", "exceeds what remains refundable on order '" + refund.order_id + "' (" +
                                      std::to_string(left.fen()) + " fen)");
    return std::move(s.With("order_id", refund.order_id));
  }
  return Status::Ok();
}

bool OrderBook::HasRefund(std::string_view refund_id) const {
  return refund_index_.Find(HashKey(refund_id), [&](int32_t i) {
    return refund_id_text_.Get(refund_ids_[static_cast<size_t>(i)]) == refund_id;
  }) != nullptr;
}

MemberId OrderBook::ApplyRefund(const RefundEvent& refund) {
  OrderRecord& order = orders_[static_cast<size_t>(*Find(refund.order_id))];
  order.refunded += refund.amount;
  MutableTotals(order.member).refunded += refund.amount;
  refund_index_.Insert(HashKey(refund.refund_id), static_cast<int32_t>(refund_ids_.size()));
  refund_ids_.push_back(refund_id_text_.Add(refund.refund_id));
  return order.member;
}

void OrderBook::MergeMembers(MemberId survivor, MemberId merged) {
  PurchaseTotals from = Totals(merged);
  if (from.count == 0) return;
  MutableTotals(merged) = PurchaseTotals{};
  PurchaseTotals& into = MutableTotals(survivor);
  // Re-home the merged member's orders, then splice its list in front.
  int32_t tail = kNoOrder;
  for (int32_t i = from.latest_order; i != kNoOrder; i = orders_[static_cast<size_t>(i)].next_of_member) {
    orders_[static_cast<size_t>(i)].member = survivor;
    tail = i;
  }
  orders_[static_cast<size_t>(tail)].next_of_member = into.latest_order;
  // The list stays newest-first only per member; walks that need time order
  // compare paid_at, which is what rolling windows do anyway.
  into.latest_order = from.latest_order;
  if (into.count == 0 || from.last_paid_at > into.last_paid_at) into.last_paid_at = from.last_paid_at;
  into.count += from.count;
  into.paid += from.paid;
  into.refunded += from.refunded;
}

}  // namespace pond
