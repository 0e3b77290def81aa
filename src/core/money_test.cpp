#include "core/money.hpp"

#include <gtest/gtest.h>

namespace pond {
namespace {

TEST(MoneyTest, FloorYuanRoundsDown) {
  EXPECT_EQ(Money::Fen(9999).floor_yuan(), 99);
  EXPECT_EQ(Money::Fen(-1).floor_yuan(), -1);
  EXPECT_EQ(Money::Fen(-100).floor_yuan(), -1);
  EXPECT_EQ(Money::Fen(-101).floor_yuan(), -2);
}

TEST(MoneyTest, YuanStringShowsTwoDecimals) {
  EXPECT_EQ(Money::Fen(6800).ToYuanString(), "68.00");
  EXPECT_EQ(Money::Fen(5).ToYuanString(), "0.05");
  EXPECT_EQ(Money::Fen(-1234).ToYuanString(), "-12.34");
  EXPECT_EQ((Money::Yuan(3) + Money::Fen(40) - Money::Fen(50)).fen(), 290);
}


TEST(MoneyTest, SaturatingSumsStopAtTheBounds) {
  const Money big = Money::Fen(INT64_MAX - 1);
  EXPECT_EQ(big.SaturatingPlus(Money::Fen(5)).fen(), INT64_MAX);
  EXPECT_EQ(Money::Fen(INT64_MIN + 1).SaturatingPlus(Money::Fen(-5)).fen(), INT64_MIN);
  EXPECT_EQ(Money::Fen(3).SaturatingPlus(Money::Fen(4)).fen(), 7);
}

}  // namespace
}  // namespace pond
