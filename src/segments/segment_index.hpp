// SegmentIndex: a tenant's members as columns and roaring bitmaps, kept
// current by the writer as events are applied, and the evaluation of segment
// expressions (segments/expr.hpp) over them.
//
// Members are numbered densely by their MemberId; merged-away members leave
// every segment. Per member the index holds:
//   - text attributes (tier, lifecycle, gender, city, home store, source,
//     owner staff) dictionary-encoded, with one bitmap per value;
//   - numbers (points, growth), dates (registered, birthday, last order);
//   - a compact purchase history (day, net fen, categories) for the window
//     fields orders_Nd, spend_Nd and bought(category, days).
// The engine owns no copy of these rules: it reports facts (SetText,
// AddPurchase, ...) and asks questions (Count, Match).
//
// Semantics, shared with the brute-force model in segment_index_test.cpp:
//   - A comparison never matches a member without a value for its field
//     (`city != "深圳"` skips members with no city; `not city = "深圳"`
//     includes them).
//   - "Within N days" of day D means a purchase on a local day in
//     [D - N + 1, D]: today and the N - 1 days before it.
//   - orders_Nd counts orders with net (paid minus refunded) above zero;
//     spend_Nd sums their net, compared in yuan (two decimals).
//   - bought(c, N) needs an order within N days, net above zero, with an
//     item whose category is c or lies under c in the category tree.
//
// Thread-safety: not synchronized. The tenant's writer mutates it under the
// exclusive state lock; readers evaluate under the shared lock.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/money.hpp"
#include "core/status.hpp"
#include "core/time.hpp"
#include "events/event.hpp"
#include "segments/expr.hpp"

namespace pond::segments {

// What a query is evaluated against besides the members.
struct QueryContext {
  LocalDate today;                    // in the tenant's zone
  std::vector<std::string> tier_ids;  // the tenant's tiers, for checking `tier = "..."`
  // The category tree (child id -> parent id), so that bought("food", N)
  // also counts items of food's sub-categories.
  std::vector<std::pair<std::string, std::string>> category_parents;
};

class SegmentIndex {
 public:
  SegmentIndex();
  ~SegmentIndex();
  SegmentIndex(SegmentIndex&&) noexcept;
  SegmentIndex& operator=(SegmentIndex&&) noexcept;

  // --- writer side -------------------------------------------------------
  // A member that stands on its own (true) or was merged away (false).
  void SetStanding(MemberId member, bool standing);
  // A text attribute (IsTextField); empty means none.
  void SetText(MemberId member, Field field, std::string_view value);
  void SetPoints(MemberId member, int64_t points);
  void SetGrowth(MemberId member, int64_t growth);
  void SetRegistered(MemberId member, std::optional<LocalDate> day);
  void SetBirthday(MemberId member, std::optional<LocalDate> birthday);
  // An order paid on local day `day`, with the categories of its items.
  // `order` is its position in the tenant's order book: orders are reported
  // once each, in ascending position.
  void AddPurchase(MemberId member, int32_t order, LocalDate day, Money net,
                   std::span<const std::string_view> categories);
  // The order's net after a refund.
  void SetPurchaseNet(int32_t order, Money net);
  // The merged member's purchases move to the survivor; the merged member
  // stops standing.
  void Merge(MemberId survivor, MemberId merged);

  // --- reader side -------------------------------------------------------
  // Checks `expr` against the tenant (tier ids, window bounds) and counts
  // the standing members it matches. InvalidArgument with a position as
  // ParseExpr gives for a value the tenant does not know.
  Result<int64_t> Count(const Node& expr, const QueryContext& context) const;
  // The matching members in ascending id order, at most `limit`.
  Result<std::vector<MemberId>> Match(const Node& expr, const QueryContext& context, size_t limit) const;

  // A uniform random sample of `size` matching members (all of them when
  // fewer match), in ascending id order, drawn from `seed`: the same seed
  // over the same members gives the same sample. Also the number matching.
  struct Sample {
    int64_t count = 0;
    std::vector<MemberId> members;
  };
  Result<Sample> SampleOf(const Node& expr, const QueryContext& context, size_t size, uint64_t seed) const;

  int64_t standing_count() const;
  // Bytes the index holds (columns, bitmaps, histories, dictionaries).
  size_t MemoryBytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pond::segments
