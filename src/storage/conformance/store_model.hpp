// A model of a tenant's store for randomized tests (leveldb's ModelDB):
// TenantModel holds what a TenantStore must hold after the batches it
// accepted, kept the obvious way, and hands it over in Load's order;
// RandomPlan makes batches of every row kind, some repeating a stored key,
// and keeps the model of the ones a store accepted. Shared by the
// conformance suite (every backend) and the backends' own fault-injection
// tests. Header-only; for tests. Not thread-safe.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/random.hpp"
#include "engine/store.hpp"
#include "storage/conformance/store_testing.hpp"

namespace pond::store_testing {

// What a tenant must hold after the batches it accepted, kept the obvious
// way: upserts in maps, inserts in vectors.
struct TenantModel {
  std::map<std::string, StoreInfo> stores;
  std::map<std::string, StaffInfo> staff;
  std::map<std::string, ProductInfo> products;
  std::map<std::string, CategoryInfo> categories;
  std::map<std::string, std::string> settings;
  std::map<int64_t, MemberRow> members;
  std::vector<MergeRow> merges;
  // Every row gets a tick of its own, so each table's insertion order is
  // its tick order too.
  std::vector<OrderRow> orders;
  std::vector<RefundRow> refunds;
  std::vector<JournalRow> journal;
  std::vector<tags::TagOperation> tag_operations;
  std::vector<SnapshotRow> snapshots;
  std::vector<CouponEventRow> coupon_events;
  std::vector<ActivityEventRow> activity_events;
  std::map<std::string, IdempotencyRow> idempotency;  // upserted by key, as both backends do

  // Records a batch the store accepted.
  void Apply(const WriteBatch& b) {
    for (const StoreInfo& r : b.stores) stores[r.id] = r;
    for (const StaffInfo& r : b.staff) staff[r.id] = r;
    for (const ProductInfo& r : b.products) products[r.sku] = r;
    for (const CategoryInfo& r : b.categories) categories[r.id] = r;
    for (const SettingRow& r : b.settings) settings[r.key] = r.value;
    for (const MemberRow& r : b.members) members[r.member_id] = r;
    merges.insert(merges.end(), b.merges.begin(), b.merges.end());
    orders.insert(orders.end(), b.orders.begin(), b.orders.end());
    refunds.insert(refunds.end(), b.refunds.begin(), b.refunds.end());
    journal.insert(journal.end(), b.journal.begin(), b.journal.end());
    tag_operations.insert(tag_operations.end(), b.tag_operations.begin(), b.tag_operations.end());
    snapshots.insert(snapshots.end(), b.snapshots.begin(), b.snapshots.end());
    coupon_events.insert(coupon_events.end(), b.coupon_events.begin(), b.coupon_events.end());
    activity_events.insert(activity_events.end(), b.activity_events.begin(), b.activity_events.end());
    for (const IdempotencyRow& r : b.idempotency) idempotency[r.key] = r;
  }

  // What Load must hand over, in store.hpp's order.
  Loaded Expected() const {
    Loaded out;
    RecordingSink sink(out);
    for (const auto& [id, r] : stores) sink.OnStore(r);
    for (const auto& [id, r] : staff) sink.OnStaff(r);
    for (const auto& [sku, r] : products) sink.OnProduct(r);
    for (const auto& [id, r] : categories) sink.OnCategory(r);
    for (const auto& [key, value] : settings) sink.OnSetting({key, value});
    for (const auto& [id, r] : members) sink.OnMember(r);
    for (const MergeRow& r : merges) sink.OnMerge(r);
    size_t o = 0, f = 0, j = 0;  // merge the three tables by tick
    const int64_t kNone = INT64_MAX;
    while (o < orders.size() || f < refunds.size() || j < journal.size()) {
      const int64_t ot = o < orders.size() ? orders[o].loyalty.tick : kNone;
      const int64_t ft = f < refunds.size() ? refunds[f].loyalty.tick : kNone;
      const int64_t jt = j < journal.size() ? journal[j].tick : kNone;
      if (ot <= ft && ot <= jt) {
        sink.OnOrder(orders[o++]);
      } else if (ft <= jt) {
        sink.OnRefund(refunds[f++]);
      } else {
        sink.OnJournal(journal[j++]);
      }
    }
    for (const tags::TagOperation& r : tag_operations) sink.OnTagOperation(r);
    for (const SnapshotRow& r : snapshots) sink.OnSnapshot(r);
    for (const CouponEventRow& r : coupon_events) sink.OnCouponEvent(r);
    for (const ActivityEventRow& r : activity_events) sink.OnActivityEvent(r);
    for (const auto& [key, r] : idempotency) sink.OnIdempotency(r);
    return out;
  }
};

// Expects `got` to hold exactly the rows of `want`, in the same order.
inline void ExpectSameRows(const Loaded& got, const Loaded& want) {
  EXPECT_EQ(got.phases, want.phases);
  EXPECT_EQ(got.stores, want.stores);
  EXPECT_EQ(got.staff, want.staff);
  EXPECT_EQ(got.products, want.products);
  EXPECT_EQ(got.categories, want.categories);
  EXPECT_EQ(Keys(got.settings), Keys(want.settings));
  EXPECT_EQ(Keys(got.members), Keys(want.members));
  EXPECT_EQ(Keys(got.merges), Keys(want.merges));
  EXPECT_EQ(got.by_tick, want.by_tick);
  EXPECT_EQ(Keys(got.orders), Keys(want.orders));
  EXPECT_EQ(Keys(got.refunds), Keys(want.refunds));
  EXPECT_EQ(Keys(got.journal), Keys(want.journal));
  EXPECT_EQ(Keys(got.tag_operations), Keys(want.tag_operations));
  EXPECT_EQ(Keys(got.snapshots), Keys(want.snapshots));
  EXPECT_EQ(Keys(got.coupon_events), Keys(want.coupon_events));
  EXPECT_EQ(Keys(got.activity_events), Keys(want.activity_events));
  EXPECT_EQ(Keys(got.idempotency), Keys(want.idempotency));
}

// The next fresh id of each inserted kind; ids and ticks ascend, as the
// engine hands them out.
struct NextIds {
  int64_t tick = 0;
  int64_t order = 0;
  int64_t refund = 0;
  int64_t tag_operation = 0;
  int64_t snapshot = 0;
  int64_t coupon_event = 0;
  int64_t activity_event = 0;
};

// Ascending member ids, possibly none.
inline std::vector<int64_t> RandomMembers(Random& rng) {
  std::vector<int64_t> ids;
  for (int64_t id = rng.Range(1, 5), n = rng.Range(0, 6); n > 0; --n, id += rng.Range(1, 1000)) ids.push_back(id);
  return ids;
}

// A member row with random fields. Here and below, values are drawn one
// statement at a time: the order in which a call's arguments are evaluated
// is unspecified, and a seed must give the same plan whatever the compiler.
inline MemberRow RandomMember(Random& rng) {
  const int64_t id = rng.Range(1, 40);
  MemberRow m = Member(id, "m" + std::to_string(rng.Uniform(1000)));
  if (rng.Chance(0.2)) m.profile.name.reset();
  if (rng.Chance(0.5)) m.profile.city = "city" + std::to_string(rng.Uniform(5));
  if (rng.Chance(0.3)) m.profile.gender = static_cast<Gender>(rng.Uniform(3));
  if (rng.Chance(0.3)) m.profile.birthday = LocalDate::FromDays(static_cast<int32_t>(rng.Range(-20'000, 20'000)));
  if (rng.Chance(0.2)) m.profile.registered_at = Timestamp::FromMicros(rng.Range(0, 1'800'000'000'000'000));
  for (int k = static_cast<int>(rng.Uniform(3)); k > 0; --k) {
    m.identities.push_back({static_cast<IdentityKind>(rng.Uniform(kIdentityKinds)), std::to_string(rng.Uniform(200))});
  }
  if (rng.Chance(0.5)) m.event_digests.push_back(rng.Next());
  if (rng.Chance(0.1)) m.merged_into = rng.Range(1, 40);
  return m;
}

// A batch of random rows of every kind. Upserts draw their keys from small
// sets, so they replace earlier rows, within the batch too.
inline WriteBatch RandomBatch(Random& rng, NextIds& next) {
  WriteBatch b;
  const auto one_of = [&rng](std::string prefix, uint64_t n) { return prefix + std::to_string(rng.Uniform(n)); };
  for (int i = rng.Range(0, 4); i > 0; --i) b.members.push_back(RandomMember(rng));
  if (rng.Chance(0.2)) {
    b.merges.push_back({rng.Range(1, 40), rng.Range(1, 40), Timestamp::FromSeconds(next.tick), "phone"});
  }
  for (int i = rng.Range(0, 10); i > 0; --i) {
    const int64_t tick = ++next.tick;
    const Timestamp lot = Timestamp::FromSeconds(rng.Range(0, 1'900'000'000));
    switch (rng.Uniform(3)) {
      case 0: {
        const int64_t member = rng.Range(1, 40);
        b.orders.push_back(Order("o" + std::to_string(next.order++), member, static_cast<int>(rng.Uniform(4))));
        b.orders.back().order.channel = static_cast<Channel>(rng.Uniform(kChannels));
        b.orders.back().loyalty = {.tick = tick,
                                   .points = rng.Range(0, 500),
                                   .growth = rng.Range(0, 50),
                                   .rate_bp = rng.Range(0, 20'000),
                                   .growth_per_yuan = rng.Range(0, 10),
                                   .lot = lot};
        break;
      }
      case 1:
        b.refunds.push_back(Refund("r" + std::to_string(next.refund++), "o0", tick));
        b.refunds.back().loyalty = {.tick = tick,
                                    .points = -rng.Range(0, 500),
                                    .growth = -rng.Range(0, 50),
                                    .unrecovered = rng.Range(0, 100),
                                    .lot = lot};
        break;
      default: {
        const auto kind = static_cast<JournalKind>(rng.Uniform(kJournalKinds));
        b.journal.push_back(Journal(tick, kind, rng.Range(0, 40)));
        b.journal.back().points = rng.Range(-500, 500);
        b.journal.back().lot = lot;
        b.journal.back().from = one_of("f", 3);
        b.journal.back().note = one_of("n", 1000);
      }
    }
  }
  for (int i = rng.Range(0, 2); i > 0; --i) b.settings.push_back({one_of("k", 3), one_of("v", 1000)});
  if (rng.Chance(0.3)) {
    b.stores.push_back({one_of("S", 4), one_of("n", 1000), one_of("c", 2), std::nullopt,
                        rng.Chance(0.5) ? std::optional<double>(1.5) : std::nullopt});
  }
  if (rng.Chance(0.2)) b.staff.push_back({one_of("E", 4), one_of("n", 1000), one_of("S", 4)});
  if (rng.Chance(0.2))
    b.products.push_back({one_of("P", 4), one_of("n", 1000), one_of("c", 3), Money::Fen(rng.Range(0, 9999))});
  if (rng.Chance(0.2)) b.categories.push_back({one_of("c", 3), one_of("n", 1000), rng.Chance(0.5) ? "" : "c0"});
  for (int i = rng.Range(0, 2); i > 0; --i) {
    b.idempotency.push_back({one_of("i", 5), 200 + static_cast<int>(rng.Uniform(300)), one_of("{}", 9),
                             Timestamp::FromSeconds(next.tick), rng.Next()});
  }
  for (int i = rng.Range(0, 2); i > 0; --i) {
    std::string tag = one_of("tag", 3);
    b.tag_operations.push_back(TagOperation(++next.tag_operation, std::move(tag), RandomMembers(rng)));
    b.tag_operations.back().add = rng.Chance(0.7);
  }
  if (rng.Chance(0.2)) b.snapshots.push_back(Snapshot(++next.snapshot, RandomMembers(rng)));
  for (int i = rng.Range(0, 2); i > 0; --i) {
    const Timestamp at = Timestamp::FromSeconds(1'772'600'000 + next.coupon_event);
    b.coupon_events.push_back({++next.coupon_event, rng.Chance(0.5) ? "issue" : "lock", one_of("C", 20),
                               rng.Range(0, 5), rng.Range(0, 40), one_of("api:", 9), one_of("O-", 9), at,
                               rng.Chance(0.5) ? at : Timestamp()});
  }
  for (int i = rng.Range(0, 2); i > 0; --i) {
    b.activity_events.push_back({++next.activity_event, rng.Range(1, 3), rng.Chance(0.5) ? "take" : "help",
                                 rng.Range(1, 40), rng.Range(0, 9), Timestamp::FromSeconds(next.activity_event),
                                 one_of("d", 5)});
  }
  return b;
}

// Adds to `b` a row whose key `model` holds already, of a random kind;
// false when the model holds none of that kind yet.
inline bool AddStoredKey(Random& rng, const TenantModel& model, NextIds& next, WriteBatch& b) {
  switch (rng.Uniform(6)) {
    case 0:
      if (model.orders.empty()) return false;
      b.orders.push_back(OrderAt(++next.tick, model.orders.front().order.order_id));
      return true;
    case 1:
      if (model.refunds.empty()) return false;
      b.refunds.push_back(Refund(model.refunds.front().refund.refund_id, "o1", ++next.tick));
      return true;
    case 2:
      if (model.tag_operations.empty()) return false;
      b.tag_operations.push_back(TagOperation(model.tag_operations.back().id, "again", {1}));
      return true;
    case 3:
      if (model.snapshots.empty()) return false;
      b.snapshots.push_back(Snapshot(model.snapshots.back().id, {1}));
      return true;
    case 4:
      if (model.coupon_events.empty()) return false;
      b.coupon_events.push_back(model.coupon_events.back());
      return true;
    default:
      if (model.activity_events.empty()) return false;
      b.activity_events.push_back(model.activity_events.back());
      return true;
  }
}

// A batch of a RandomPlan, and whether the store must refuse it.
struct PlannedBatch {
  WriteBatch batch;
  bool repeats_a_key = false;  // holds a key stored already
};

// A seeded plan of random batches, and the model of what the batches a
// store accepted leave behind.
class RandomPlan {
 public:
  explicit RandomPlan(uint64_t seed) : rng_(seed) {}

  // Random rows of every kind; with chance `repeat_chance` also one whose
  // key the model holds already.
  PlannedBatch Next(double repeat_chance) {
    PlannedBatch planned{RandomBatch(rng_, next_)};
    planned.repeats_a_key = rng_.Chance(repeat_chance) && AddStoredKey(rng_, model_, next_, planned.batch);
    return planned;
  }
  // Records a batch the store committed.
  void Accept(const WriteBatch& batch) { model_.Apply(batch); }
  // What Load must hand over now.
  Loaded Expected() const { return model_.Expected(); }
  // The plan's random source, for the test's own choices (faults, restarts).
  Random& rng() { return rng_; }

 private:
  Random rng_;
  TenantModel model_;
  NextIds next_;
};

}  // namespace pond::store_testing
