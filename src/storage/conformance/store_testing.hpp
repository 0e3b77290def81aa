// Test helpers shared by the storage backends' tests (the conformance suite
// beside this file and each backend's own tests): rows of every kind to
// write, a LoadSink that records what Load hands over and in which order,
// comparable views (Key) of the row structs that have no operator==, and
// temp directories. Header-only; for tests, never for production code.
// Not thread-safe.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "core/id_list.hpp"
#include "engine/store.hpp"

namespace pond::store_testing {

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/pond_store_test_XXXXXX";
    const char* made = mkdtemp(tmpl);
    EXPECT_NE(made, nullptr);
    path_ = made ? made : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Everything Load hands over, plus the order of the calls.
struct Loaded {
  std::vector<StoreInfo> stores;
  std::vector<StaffInfo> staff;
  std::vector<ProductInfo> products;
  std::vector<CategoryInfo> categories;
  std::vector<SettingRow> settings;
  std::vector<MemberRow> members;
  std::vector<MergeRow> merges;
  std::vector<OrderRow> orders;
  std::vector<RefundRow> refunds;
  std::vector<JournalRow> journal;
  std::vector<tags::TagOperation> tag_operations;
  std::vector<SnapshotRow> snapshots;
  std::vector<CouponEventRow> coupon_events;
  std::vector<ActivityEventRow> activity_events;
  std::vector<IdempotencyRow> idempotency;
  std::vector<int> phases;           // store.hpp's call order: 0 master data ... 9 idempotency
  std::vector<std::string> by_tick;  // orders, refunds and journal rows as replayed: "refund 7"
};

class RecordingSink final : public LoadSink {
 public:
  explicit RecordingSink(Loaded& out) : out_(out) {}
  void OnStore(StoreInfo row) override { Add(0, out_.stores, std::move(row)); }
  void OnStaff(StaffInfo row) override { Add(0, out_.staff, std::move(row)); }
  void OnProduct(ProductInfo row) override { Add(0, out_.products, std::move(row)); }
  void OnCategory(CategoryInfo row) override { Add(0, out_.categories, std::move(row)); }
  void OnSetting(SettingRow row) override { Add(1, out_.settings, std::move(row)); }
  void OnMember(MemberRow row) override { Add(2, out_.members, std::move(row)); }
  void OnMerge(MergeRow row) override { Add(3, out_.merges, std::move(row)); }
  void OnOrder(OrderRow row) override {
    out_.by_tick.push_back("order " + std::to_string(row.loyalty.tick));
    Add(4, out_.orders, std::move(row));
  }
  void OnRefund(RefundRow row) override {
    out_.by_tick.push_back("refund " + std::to_string(row.loyalty.tick));
    Add(4, out_.refunds, std::move(row));
  }
  void OnJournal(JournalRow row) override {
    out_.by_tick.push_back("journal " + std::to_string(row.tick));
    Add(4, out_.journal, std::move(row));
  }
  void OnTagOperation(tags::TagOperation row) override { Add(5, out_.tag_operations, std::move(row)); }
  void OnSnapshot(SnapshotRow row) override { Add(6, out_.snapshots, std::move(row)); }
  void OnCouponEvent(CouponEventRow row) override { Add(7, out_.coupon_events, std::move(row)); }
  void OnActivityEvent(ActivityEventRow row) override { Add(8, out_.activity_events, std::move(row)); }
  void OnIdempotency(IdempotencyRow row) override { Add(9, out_.idempotency, std::move(row)); }

 private:
  template <typename T>
  void Add(int phase, std::vector<T>& to, T row) {
    out_.phases.push_back(phase);
    to.push_back(std::move(row));
  }
  Loaded& out_;
};

// Everything `tenant` holds; a failed Load fails the test.
inline Loaded LoadAll(TenantStore& tenant) {
  Loaded out;
  RecordingSink sink(out);
  Status s = tenant.Load(sink);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

// Comparable views of rows whose structs have no operator==.
inline auto Key(const MemberRow& r) {
  return std::tuple(r.member_id, r.profile, r.identities, r.event_digests, r.merged_into, r.created_at);
}
inline auto Key(const LoyaltyEffect& e) {
  return std::tuple(e.tick, e.points, e.growth, e.unrecovered, e.rate_bp, e.growth_per_yuan, e.lot);
}
inline auto Key(const OrderRow& r) {
  const OrderEvent& o = r.order;
  return std::tuple(r.member_id, o.order_id, o.channel, o.store, o.staff, o.payment, o.paid_at, o.paid, o.items,
                    Key(r.loyalty));
}
inline auto Key(const RefundRow& r) {
  const RefundEvent& e = r.refund;
  return std::tuple(e.refund_id, e.order_id, e.amount, e.refunded_at, Key(r.loyalty));
}
inline auto Key(const JournalRow& r) {
  return std::tuple(r.tick, r.member_id, r.kind, r.at, r.points, r.lot, r.from, r.to, r.note);
}
inline auto Key(const SettingRow& r) { return std::tuple(r.key, r.value); }
inline auto Key(const MergeRow& r) { return std::tuple(r.survivor, r.merged, r.at, r.reason); }
inline auto Key(const IdempotencyRow& r) { return std::tuple(r.key, r.status, r.body, r.at, r.request_digest); }
inline auto Key(const tags::TagOperation& r) { return std::tuple(r.id, r.tag, r.add, r.by, r.at, r.note, r.members); }
inline auto Key(const SnapshotRow& r) { return std::tuple(r.id, r.name, r.expr, r.by, r.at, r.count, r.members); }
inline auto Key(const CouponEventRow& r) {
  return std::tuple(r.id, r.kind, r.code, r.template_id, r.member, r.occasion, r.order_id, r.at, r.until);
}
inline auto Key(const ActivityEventRow& r) {
  return std::tuple(r.id, r.activity_id, r.kind, r.member, r.ref, r.at, r.detail);
}

template <typename T>
auto Keys(const std::vector<T>& rows) {
  std::vector<decltype(Key(rows.front()))> out;
  for (const T& r : rows) out.push_back(Key(r));
  return out;
}

inline MemberRow Member(int64_t id, std::string name) {
  MemberRow m;
  m.member_id = id;
  m.profile.name = std::move(name);
  m.created_at = Timestamp::FromSeconds(1'700'000'000 + id);
  return m;
}

inline OrderRow Order(std::string id, int64_t member, int n_items = 1) {
  OrderRow r;
  r.member_id = member;
  r.order.order_id = std::move(id);
  r.order.channel = Channel::kMiniprogram;
  r.order.store = "S01";
  r.order.staff = "E07";
  r.order.payment = "wechat";
  r.order.paid_at = Timestamp::FromMicros(1'772'600'000'123'456);
  for (int i = 0; i < n_items; ++i) {
    r.order.items.push_back(
        {"SKU-" + std::to_string(i), i % 2 ? "" : "drinks", i + 1, Money::Fen(int64_t{100} * (i + 1))});
    r.order.paid += r.order.items.back().paid;
  }
  return r;
}

inline OrderRow OrderAt(int64_t tick, std::string id) {
  OrderRow r = Order(std::move(id), 1);
  r.loyalty.tick = tick;
  return r;
}

inline RefundRow Refund(std::string id, std::string order_id, int64_t tick) {
  RefundRow r;
  r.refund = {std::move(id), std::move(order_id), Money::Fen(100), Timestamp::FromSeconds(1'772'700'000)};
  r.loyalty.tick = tick;
  return r;
}

inline JournalRow Journal(int64_t tick, JournalKind kind, int64_t member) {
  JournalRow r;
  r.tick = tick;
  r.kind = kind;
  r.member_id = member;
  r.at = Timestamp::FromSeconds(1'772'800'000 + tick);
  return r;
}

inline tags::TagOperation TagOperation(int64_t id, std::string tag, std::vector<int64_t> members) {
  tags::TagOperation r;
  r.id = id;
  r.tag = std::move(tag);
  r.by = "ops@tea";
  r.at = Timestamp::FromMicros(1'772'900'000'000'001 + id);
  r.members = std::move(members);
  return r;
}

inline SnapshotRow Snapshot(int64_t id, const std::vector<int64_t>& members) {
  SnapshotRow r;
  r.id = id;
  r.name = "三月沉睡会员";
  r.expr = R"(stage = "沉睡")";
  r.by = "pk_ops";
  r.at = Timestamp::FromMicros(1'773'000'000'000'001 + id);
  r.count = static_cast<int64_t>(members.size());
  r.members = EncodeIdList(members);
  return r;
}

// Creates tenant `id` in `store` and returns the id; a failure fails the test.
inline std::string ExistingTenant(Store& store, const std::string& id) {
  Status s = store.CreateTenant({id, "Tea House 茶馆", "Asia/Shanghai", Timestamp::FromSeconds(1'700'000'000)});
  EXPECT_TRUE(s.ok()) << s.ToString();
  return id;
}

// The tenant's store; null (and the test failed) when it does not open.
inline std::unique_ptr<TenantStore> MustOpenTenant(Store& store, const std::string& id) {
  auto tenant = store.OpenTenant(id);
  EXPECT_TRUE(tenant.ok()) << tenant.status().ToString();
  return tenant.ok() ? std::move(tenant).value() : nullptr;
}

// A batch with every row kind, optional fields both present and absent.
inline WriteBatch FullBatch() {
  WriteBatch b;
  MemberRow full = Member(7, "张伟 🍵");
  full.profile.gender = Gender::kFemale;
  full.profile.birthday = LocalDate::FromYmd(1990, 2, 28);
  full.profile.city = "上海";
  full.profile.home_store = "S01";
  full.profile.source = "mall QR";
  full.profile.owner_staff = "E07";
  full.profile.registered_at = Timestamp::FromMicros(1'600'000'000'000'001);
  MemberRow bare;  // every optional field absent
  bare.member_id = 3;
  bare.created_at = Timestamp::FromSeconds(5);
  MemberRow merged = Member(9, "");                   // present but empty is not absent
  merged.profile.birthday = LocalDate::FromDays(-1);  // 1969-12-31
  merged.profile.gender = Gender::kUnknown;
  merged.merged_into = 7;
  full.identities = {{IdentityKind::kPhone, "13800000000"}, {IdentityKind::kUnionid, "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"}};
  full.event_digests = {1, 0xffff'ffff'ffff'ffffULL, 0x0123'4567'89ab'cdefULL};
  bare.identities = {{IdentityKind::kPosId, "13800000000"}};
  b.members = {full, bare, merged};
  b.orders = {Order("A-1", 7, 3), Order("A-2", 3, 1), Order("A-0", 9, 0)};
  b.orders[1].order.channel = Channel::kOther;
  b.orders[1].order.items[0].qty = -2;  // a return line
  b.orders[1].order.items[0].paid = Money::Fen(-1);
  b.orders[1].order.items[0].sku = "商品-✓";
  // Orders store no `unrecovered` and refunds no earning terms (they reuse
  // their order's), so those stay 0 here.
  const Timestamp lot = Timestamp::FromMicros(1'804'000'000'000'001);
  b.orders[0].loyalty = {.tick = 1, .points = 450, .growth = 45, .rate_bp = 10'000, .growth_per_yuan = 10, .lot = lot};
  b.orders[1].loyalty = {.tick = 2, .points = -1, .growth = -1, .rate_bp = 15'000, .growth_per_yuan = 1, .lot = lot};
  b.orders[2].loyalty.tick = 4;  // earned nothing
  b.refunds = {Refund("R-1", "A-1", 5)};
  b.refunds[0].refund.amount = Money::Fen(150);
  b.refunds[0].loyalty = {.tick = 5, .points = -120, .growth = -15, .unrecovered = 30, .lot = lot};
  // A row of every kind: Load's range check must let both ends through.
  b.journal = {Journal(3, JournalKind::kRedeem, 7), Journal(6, JournalKind::kAdjust, 7),
               Journal(7, JournalKind::kExpire, 3), Journal(8, JournalKind::kTier, 7),
               Journal(9, JournalKind::kStage, 9),  Journal(10, JournalKind::kDay, 0)};
  b.journal[0].points = -200;
  b.journal[0].lot = lot;
  b.journal[0].note = "RD-1";
  b.journal[1].points = INT64_MIN;
  b.journal[1].note = "客服补偿";
  b.journal[2].points = -5;
  b.journal[2].lot = Timestamp::FromMicros(-1);
  b.journal[3].from = "silver";
  b.journal[3].to = "gold";
  b.journal[3].note = "growth";
  b.journal[4].from = "新客";
  b.journal[4].to = "活跃";
  b.journal[5].note = "2026-03-04";
  b.settings = {{"loyalty", R"({"rate_bp":10000,"tiers":["silver","gold"]})"}, {"tiers", ""}};
  b.merges = {{7, 9, Timestamp::FromSeconds(1'772'650'000), "phone+unionid"}};
  b.stores = {{"S01", "人民广场店", "上海", 31.2304, 121.4737}, {"S02", "Online", "", std::nullopt, std::nullopt}};
  b.staff = {{"E07", "李娜", "S01"}};
  b.products = {{"SKU-0", "Jasmine tea", "drinks", Money::Fen(1800)}, {"SKU-1", "Cake", "", Money::Fen(0)}};
  b.categories = {{"drinks", "饮品", ""}, {"tea", "Tea", "drinks"}};
  b.idempotency = {{"idem-1", 201, R"({"accepted":3})", Timestamp::FromSeconds(1'772'600'001), 0xfedcba9876543210ULL}};
  b.tag_operations = {TagOperation(1, "VIP", {3, 7}), TagOperation(2, "VIP", {7})};
  b.tag_operations[1].add = false;
  b.tag_operations[1].by = "merge";
  b.tag_operations[1].note = "降级 ✓";
  b.snapshots = {Snapshot(1, {3, 7, 9})};
  b.coupon_events = {
      {1, "issue", "7K2M9QW4XR8T1VBZ", 3, 42, "api:idem-9", "", Timestamp::FromSeconds(1'772'600'100), {}},
      {2, "lock", "7K2M9QW4XR8T1VBZ", 0, 0, "", "POS-1", Timestamp::FromSeconds(1'772'600'200),
       Timestamp::FromSeconds(1'772'600'500)}};
  b.activity_events = {{1, 2, "take", 42, 0, Timestamp::FromSeconds(1'772'600'300), "7K2M9QW4XR8T1VBZ"},
                       {2, 2, "refused", 43, 0, Timestamp::FromSeconds(1'772'600'301), "sold_out"}};
  return b;
}

}  // namespace pond::store_testing
