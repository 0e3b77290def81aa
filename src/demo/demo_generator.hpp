// Demo data: a deterministic, realistic event stream for a Miniso-like chain
// (DOMAIN.md §1–3, §7) that `pond demo` feeds to a tenant.
//
// The stream is master data first (categories, stores, staff, products), then
// for each member in turn: its member event, its orders in time order, then
// its refunds — so applying the events in order is always valid. Member i's
// events derive only from (seed, i) and the master data, so the stream is the
// same for the same options whatever chunk sizes `Next` is called with, and
// memory stays O(1) in the number of members (10 M members stream in a few
// kilobytes of state). The distributions are documented at the top of
// demo_generator.cpp.
//
// Thread-safety: none; one generator per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/random.hpp"
#include "core/time.hpp"
#include "events/event.hpp"

namespace pond {

struct DemoOptions {
  int64_t members = 10000;  // at most 1e9 (pos_id and phone spaces)
  uint64_t seed = 1;
  Timestamp end;  // the "now" of the data set: a year of orders ends here
  TimeZone zone;  // tenant zone (Asia/Shanghai by default in callers)
};

class DemoGenerator {
 public:
  explicit DemoGenerator(DemoOptions options);

  // Appends up to `max` next events to `out` (does not clear it). Returns
  // false only when the stream was already exhausted (nothing appended), so
  // `while (gen.Next(&batch, n)) { apply(batch); batch.clear(); }` sees every
  // event. With max == 0 it appends nothing and says whether events remain.
  bool Next(std::vector<Event>* out, size_t max);

  // Counts of events handed out so far, for progress display.
  int64_t members_emitted() const { return members_emitted_; }
  int64_t orders_emitted() const { return orders_emitted_; }
  int64_t refunds_emitted() const { return refunds_emitted_; }

 private:
  void BuildMasterData();
  // Appends member i's member, order and refund events to `out`.
  void GenerateMember(int64_t i, std::vector<Event>* out);
  // Index into day_start_ of the local day containing `t` (clamped to the table).
  int DayIndexOf(int64_t t_seconds) const;
  // A time within [lo, hi] (seconds), on a weekday/weekend and hour drawn from
  // the member's habits and the channel's hours; a store order that cannot
  // fall in opening hours turns into a mini-program order.
  int64_t DrawOrderTime(Random& rng, int64_t lo, int64_t hi, double weekday_accept, Channel* channel) const;

  DemoOptions options_;
  int64_t end_s_ = 0;               // options_.end in seconds
  int32_t first_day_ = 0;           // LocalDate days of day_start_[0]
  int end_year_ = 0;                // local calendar year of `end`
  std::vector<int64_t> day_start_;  // local midnight (UTC seconds) of each day of the window, plus one past the end

  // Master data, emitted first and kept for lookups (a few hundred entries).
  std::vector<Event> master_;
  size_t master_pos_ = 0;
  struct StoreRef {
    std::string id;
    std::string city;
    int city_index = 0;
    int staff_begin = 0;  // index into staff_ids_
    int staff_count = 0;
  };
  std::vector<StoreRef> stores_;
  std::vector<uint32_t> store_weight_cum_;     // cumulative home-store weights
  std::vector<std::vector<int>> city_stores_;  // store indices per city
  std::vector<std::string> staff_ids_;
  struct ProductRef {
    std::string sku;
    std::string category;
    int64_t price_fen = 0;
  };
  std::vector<std::vector<ProductRef>> products_by_group_;  // per demo category group

  // The rest of a member's events that did not fit the last Next call.
  std::vector<Event> pending_;
  size_t pending_pos_ = 0;
  int64_t next_member_ = 0;

  int64_t members_emitted_ = 0;
  int64_t orders_emitted_ = 0;
  int64_t refunds_emitted_ = 0;
};

}  // namespace pond
