// The bounds of loyalty points, which every module that takes points from
// outside checks (docs/loyalty.md "Limits").
//
// One redemption, adjustment or price in points moves at most
// kMaxPointsPerOperation; a balance and a member's lifetime growth hold at
// most kMaxPoints: an order that would earn past it earns up to it, an
// adjustment past it is refused. Merges add two bounded accounts with
// saturating sums, so no arithmetic on points can wrap.
#pragma once

#include <cstdint>

namespace pond {

inline constexpr int64_t kMaxPointsPerOperation = 1'000'000'000;
inline constexpr int64_t kMaxPoints = 1'000'000'000'000;

}  // namespace pond
