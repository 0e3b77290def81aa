// Money: an amount in integer fen (1 yuan = 100 fen). Never a double.
//
// Arithmetic is exact; rules that divide (growth per yuan, points per rate)
// say how they round where they are written. Plain value type.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

namespace pond {

class Money {
 public:
  // The largest amount any input may carry: 10^12 fen, ten billion yuan. No
  // real order, price or coupon comes near it, and a sum of a thousand such
  // amounts still fits an int64 with room to spare (docs/api.md "Limits").
  static constexpr int64_t kMaxFen = 1'000'000'000'000;

  constexpr Money() = default;
  static constexpr Money Fen(int64_t fen) { return Money(fen); }
  static constexpr Money Yuan(int64_t yuan) { return Money(yuan * 100); }

  constexpr int64_t fen() const { return fen_; }
  // Whole yuan, rounded toward negative infinity (a spend of 99.99 is 99 yuan).
  constexpr int64_t floor_yuan() const { return fen_ >= 0 ? fen_ / 100 : -((-fen_ + 99) / 100); }

  constexpr Money operator+(Money o) const { return Money(fen_ + o.fen_); }
  constexpr Money operator-(Money o) const { return Money(fen_ - o.fen_); }
  constexpr Money& operator+=(Money o) { fen_ += o.fen_; return *this; }
  constexpr Money& operator-=(Money o) { fen_ -= o.fen_; return *this; }
  constexpr auto operator<=>(const Money&) const = default;

  // A sum that stops at the int64 bounds instead of wrapping: for totals
  // that reports add up over many rows (a coupon report of a billion
  // coupons), where a wrapped sum would show a negative amount.
  constexpr Money SaturatingPlus(Money o) const { return Money(SaturatingAdd(fen_, o.fen_)); }
  static constexpr int64_t SaturatingAdd(int64_t a, int64_t b) {
    int64_t out = 0;
    if (__builtin_add_overflow(a, b, &out)) return a > 0 ? INT64_MAX : INT64_MIN;
    return out;
  }

  // "68.00" — for people; APIs carry fen.
  std::string ToYuanString() const;

 private:
  constexpr explicit Money(int64_t fen) : fen_(fen) {}
  int64_t fen_ = 0;
};

}  // namespace pond
