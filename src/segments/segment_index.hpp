// SegmentIndex: a tenant's members as columns and roaring bitmaps, kept
// current by the writer as events are applied, and the evaluation of segment
// expressions (segments/expr.hpp) over them.
//
// Members are numbered densely by their MemberId; merged-away members leave
// every segment. Per member the index holds:
//   - text attributes (tier, lifecycle, gender, city, home store, source,
//     owner staff, RFM class) dictionary-encoded, with one bitmap per value;
//   - numbers (points, growth), dates (registered, birthday, last order);
//   - a compact purchase history (day, net fen, units, categories) for the
//     window fields orders_Nd, spend_Nd, weekend_orders_Nd, max_units_Nd and
//     bought(category, days[, min_orders]);
//   - tags (docs/segments.md "Tags"): manual tags as one bitmap each; rule
//     tags as an expression whose answer is cached and refreshed on use for
//     just the members that changed since (and wholly when the day turns, if
//     the rule depends on the date); system tags "tier:gold",
//     "lifecycle:mature", "rfm:important_value", "source:store_qr",
//     "home_store:S001" read the attribute bitmaps.
// The engine owns no copy of these rules: it reports facts (SetText,
// AddPurchase, SetTag, ...) and asks questions (Count, Match).
//
// Semantics, shared with the brute-force model in segment_index_test.cpp:
//   - A comparison never matches a member without a value for its field
//     (`city != "深圳"` skips members with no city; `not city = "深圳"`
//     includes them).
//   - "Within N days" of day D means a purchase on a local day in
//     [D - N + 1, D]: today and the N - 1 days before it.
//   - orders_Nd counts orders with net (paid minus refunded) above zero;
//     spend_Nd sums their net, compared in yuan (two decimals).
//   - bought(c, N, k) needs k orders (default 1) within N days, net above
//     zero, each with an item whose category is c or lies under c in the
//     category tree.
//   - weekend_orders_Nd counts those orders on a Saturday or Sunday;
//     max_units_Nd is the most units in one of them (0 without any).
//
// Thread-safety: the tenant's writer mutates it under the exclusive state
// lock; readers evaluate under the shared lock. Readers refresh rule-tag
// caches, each under a mutex of its own, so concurrent readers are safe.
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

// Members a range of CountIn/MatchIn should span: one container of the
// index's bitmaps, so a range costs what its members cost.
inline constexpr MemberId kChunkMembers = MemberId{1} << 16;

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
  // A number field a module adds to expressions ("coupons.unused",
  // Field::kModule); returns its slot for SetNumber (the same slot for a
  // name defined before). Members never given a value read `missing`
  // (none: they match no comparison).
  int DefineNumberField(std::string name, std::optional<int64_t> missing);
  void SetNumber(MemberId member, int field, std::optional<int64_t> value);
  void SetBirthday(MemberId member, std::optional<LocalDate> birthday);
  // An order paid on local day `day`: `units` items in all, of these
  // categories. `order` is its position in the tenant's order book: orders
  // are reported once each, in ascending position.
  void AddPurchase(MemberId member, int32_t order, LocalDate day, Money net, int32_t units,
                   std::span<const std::string_view> categories);
  // The net of `member`'s order after a refund.
  void SetPurchaseNet(MemberId member, int32_t order, Money net);
  // The merged member's purchases move to the survivor; the merged member
  // stops standing.
  void Merge(MemberId survivor, MemberId merged);
  // Lays every member's purchases side by side, in member order, so that
  // window scans read memory in order (after a load, and when many
  // purchases arrived since the last time). Compact does it at once;
  // BeginCompact starts it and StepCompact lays out `members` more at a
  // time (true once the new layout is in), into a copy swapped in at the
  // end, while the writer goes on: members it changes once copied are
  // copied again.
  void Compact();
  void BeginCompact();
  bool StepCompact(size_t members);
  // Makes ready each member's orders and spend in the windows operators ask
  // for most (7, 30, 90 and 365 days) as of `today`, kept current as
  // purchases arrive: questions on `today` about those windows then read a
  // number instead of walking the purchases. Called as each day begins;
  // nothing to do when the index keeps `today` already (everything it
  // builds is kept current in between). StartDay does it at once (a load);
  // BeginDay starts it and StepDay builds `members` more at a time (the
  // day run, in slices; true once today's are in). Meanwhile questions
  // about today walk the purchases, and changes the writer makes to
  // members already built are built again, so what is swapped in at the
  // end is what StartDay would have made.
  void StartDay(LocalDate today);
  void BeginDay(LocalDate today);
  bool StepDay(size_t members);
  static constexpr size_t kStepWithAChange = 64;  // KeepCurrent: members built with each change
  size_t purchases_since_compaction() const;
  // The writer's day, reported before each change it applies while serving
  // (a load instead ends with Compact and StartDay), so that an index fed
  // live has what a loaded one has: it begins `today` when it keeps an
  // earlier day or none (a tenant's data may arrive before its first day
  // run) and builds kStepWithAChange members of it with each call, and lays the purchases out again (Compact) once those appended
  // since the last layout outgrow a quarter of the others — a history
  // arriving order by order across members is then walked in member order
  // too, but for its newest fifth at most.
  void KeepCurrent(LocalDate today);

  // Tags. A manual tag (rule == nullptr) is held by the members SetTag puts
  // it on; a rule tag by the members its expression matches, which the
  // caller checked with CheckRule. Redefining a tag drops what it held.
  void DefineTag(const std::string& name, NodePtr rule);
  void RemoveTag(std::string_view name);
  // Puts manual tag `tag` on the member or takes it off; defines the tag if
  // it is unknown. Returns whether the member's holding changed.
  bool SetTag(MemberId member, std::string_view tag, bool on);

  // --- reader side -------------------------------------------------------
  bool HasTag(std::string_view name) const;
  // Whether `rule` may define tag `name`: its values and tags exist, and
  // it does not refer back to `name` through other rule tags.
  Status CheckRule(std::string_view name, const Node& rule, const QueryContext& context) const;
  // The standing members holding a tag (manual, rule or system).
  Result<int64_t> TagCount(std::string_view name, const QueryContext& context) const;
  // The manual tags `member` holds, in name order (no rule is evaluated).
  std::vector<std::string> ManualTagsOf(MemberId member) const;
  // Rule tags whose rule names tag `name` (directly).
  std::vector<std::string> RulesReading(std::string_view name) const;
  // The manual and rule tags `member` holds, in name order.
  Result<std::vector<std::string>> TagsOf(MemberId member, const QueryContext& context) const;
  // The system tags with at least one standing member, and how many.
  std::vector<std::pair<std::string, int64_t>> SystemTags() const;

  // Checks `expr` against the tenant (tier ids, window bounds) and counts
  // the standing members it matches. InvalidArgument with a position as
  // ParseExpr gives for a value the tenant does not know.
  Result<int64_t> Count(const Node& expr, const QueryContext& context) const;
  // The same over the members with ids in [from, to): work over all members
  // taken a range at a time (kChunkMembers), in slices or short read holds.
  Result<int64_t> CountIn(const Node& expr, const QueryContext& context, MemberId from, MemberId to) const;
  Result<std::vector<MemberId>> MatchIn(const Node& expr, const QueryContext& context, MemberId from,
                                        MemberId to) const;
  // The matching members in ascending id order, at most `limit`.
  Result<std::vector<MemberId>> Match(const Node& expr, const QueryContext& context, size_t limit) const;

  // A uniform random sample of `size` matching members (all of them when
  // fewer match), drawn from `seed`, in two passes a range of members at a
  // time, so it can go a chunk per read hold as a count does: count each
  // range (CountIn), draw ranks among all the matches (SampleRanks), then
  // take the members at those ranks range by range (AtRanksIn). The same
  // seed over the same members gives the same sample however the ranges
  // fall (and as Pond has drawn it since samples began).
  struct Sample {
    int64_t count = 0;
    std::vector<MemberId> members;  // ascending
  };
  // Floyd's algorithm: min(size, n) distinct ranks below n, each set
  // equally likely, ascending.
  static std::vector<uint64_t> SampleRanks(uint64_t n, size_t size, uint64_t seed);
  // The members matching in [from, to) at `ranks` among them (ascending);
  // ranks past the last match are skipped.
  Result<std::vector<MemberId>> AtRanksIn(const Node& expr, const QueryContext& context, MemberId from, MemberId to,
                                          std::span<const uint64_t> ranks) const;

  int64_t standing_count() const;
  // Bytes the index holds (columns, bitmaps, histories, dictionaries).
  size_t MemoryBytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The attribute a system tag name reads ("tier:gold" -> kTier, "gold"), or
// nullopt for a name outside the system prefixes. User tags may not use them.
std::optional<std::pair<Field, std::string_view>> SystemTag(std::string_view name);

}  // namespace pond::segments
