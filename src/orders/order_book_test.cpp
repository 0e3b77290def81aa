#include "orders/order_book.hpp"

#include <gtest/gtest.h>

#include "core/random.hpp"

namespace pond {
namespace {

OrderEvent Order(std::string id, int64_t paid_fen, int64_t at) {
  OrderEvent o;
  o.order_id = std::move(id);
  o.paid = Money::Fen(paid_fen);
  o.paid_at = Timestamp::FromSeconds(at);
  return o;
}

RefundEvent Refund(std::string id, std::string order, int64_t fen) {
  return RefundEvent{std::move(id), std::move(order), Money::Fen(fen), Timestamp::FromSeconds(1000)};
}

TEST(OrderBookTest, TotalsFollowOrdersAndRefunds) {
  OrderBook book;
  book.AddOrder(Order("A", 6800, 100), 1);
  book.AddOrder(Order("B", 3000, 50), 1);
  EXPECT_TRUE(book.HasOrder("A"));
  EXPECT_EQ(book.Totals(1).count, 2);
  EXPECT_EQ(book.Totals(1).paid.fen(), 9800);
  EXPECT_EQ(book.Totals(1).last_paid_at.seconds(), 100);
  ASSERT_TRUE(book.CheckRefund(Refund("R1", "A", 3400)).ok());
  EXPECT_EQ(book.ApplyRefund(Refund("R1", "A", 3400)), 1);
  EXPECT_EQ(book.Totals(1).refunded.fen(), 3400);
  EXPECT_TRUE(book.HasRefund("R1"));
}

// Refund ids are known by their text, whatever their number, and ids that
// differ only in their last character stay apart.
TEST(OrderBookTest, EveryRefundIdIsKnownAndOnlyThose) {
  OrderBook book;
  book.AddOrder(Order("A", 10'000'000, 1), 1);
  for (int i = 0; i < 50'000; ++i) book.ApplyRefund(Refund("RF-" + std::to_string(i), "A", 1));
  EXPECT_EQ(book.refund_count(), 50'000);
  for (int i = 0; i < 50'000; i += 7) ASSERT_TRUE(book.HasRefund("RF-" + std::to_string(i))) << i;
  EXPECT_FALSE(book.HasRefund("RF-50000"));
  EXPECT_FALSE(book.HasRefund("RF-"));
  EXPECT_FALSE(book.HasRefund("A"));
}

TEST(OrderBookTest, RefundsNeverExceedWhatWasPaid) {
  OrderBook book;
  book.AddOrder(Order("A", 1000, 1), 1);
  book.ApplyRefund(Refund("R1", "A", 600));
  Status s = book.CheckRefund(Refund("R2", "A", 401));
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.field_errors()[0].field, "amount_fen");
  EXPECT_TRUE(book.CheckRefund(Refund("R2", "A", 400)).ok());
  EXPECT_EQ(book.CheckRefund(Refund("R3", "nope", 1)).field_errors()[0].field, "order_id");
}

TEST(OrderBookTest, MergingMovesHistoryAndTotals) {
  Random rng(7);
  OrderBook book;
  int64_t expect_paid = 0;
  for (int i = 0; i < 50; ++i) {
    const MemberId m = 1 + static_cast<MemberId>(rng.Uniform(2));
    const int64_t fen = rng.Range(0, 10000);
    expect_paid += fen;
    book.AddOrder(Order("O" + std::to_string(i), fen, rng.Range(0, 1000)), m);
  }
  book.MergeMembers(1, 2);
  EXPECT_EQ(book.Totals(2).count, 0);
  EXPECT_EQ(book.Totals(1).count, 50);
  EXPECT_EQ(book.Totals(1).paid.fen(), expect_paid);
  int walked = 0;
  int64_t latest = -1;
  book.ForEachOrderOf(1, [&](const OrderRecord& o) {
    ++walked;
    EXPECT_EQ(o.member, 1);
    latest = std::max(latest, o.paid_at.seconds());
  });
  EXPECT_EQ(walked, 50);
  EXPECT_EQ(book.Totals(1).last_paid_at.seconds(), latest);
}

TEST(OrderBookTest, ARefundIsNotBeforeItsOrder) {
  OrderBook book;
  book.AddOrder(Order("A", 6800, 2000), 1);
  RefundEvent early = Refund("R1", "A", 100);  // at 1000, before the order's 2000
  const Status s = book.CheckRefund(early);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.field_errors()[0].field, "refunded_at");
  early.refunded_at = Timestamp::FromSeconds(2000);
  EXPECT_TRUE(book.CheckRefund(early).ok());
}

}  // namespace
}  // namespace pond
