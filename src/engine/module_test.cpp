// A module added from outside the engine — its own row kind, a segment
// field, a share of the day — shows what adding one costs: the class and
// AddModule, nothing in the core, the stores or the expression grammar.
#include "engine/module.hpp"

#include <gtest/gtest.h>

#include <charconv>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/modules/coupons_module.hpp"
#include "engine/tenant_state.hpp"
#include "engine/testing/memory_store.hpp"
#include "journal/codec.hpp"
#include "segments/expr.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace pond {
namespace {

// Counts each member's orders, as a row of its own kind per change, and
// offers the count as `visits.orders`.
class VisitsModule final : public Module {
 public:
  static constexpr RowKind kVisitKind = 900;  // no kind of journal/rows.hpp

  explicit VisitsModule(TenantState& tenant)
      : tenant_(tenant), field_(tenant.DefineSegmentNumber("visits.orders", std::nullopt)) {}
  std::string_view name() const override { return "visits"; }

  void On(const DomainEvent& event) override {
    heard.push_back(std::visit(
        [](const auto& e) -> std::string {
          using E = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<E, OrderApplied>) return "order " + e.row->order.order_id;
          if constexpr (std::is_same_v<E, RefundApplied>) return "refund " + e.row->refund.refund_id;
          if constexpr (std::is_same_v<E, MemberMerged>) return "merge " + std::to_string(e.merged);
          if constexpr (std::is_same_v<E, TierChanged>) return "tier " + std::to_string(e.change.to);
          if constexpr (std::is_same_v<E, StageChanged>) return "stage " + std::string(StageName(e.to));
          if constexpr (std::is_same_v<E, CouponIssued>) return "coupon " + e.occasion;
          if constexpr (std::is_same_v<E, CouponRedeemed>) return "redeemed " + e.order_id;
          return "claim";
        },
        event));
    if (const auto* order = std::get_if<OrderApplied>(&event)) Set(order->member, orders_[order->member] + 1);
    if (const auto* merged = std::get_if<MemberMerged>(&event)) {
      const int64_t theirs = orders_[merged->merged];
      if (theirs > 0) Set(merged->survivor, orders_[merged->survivor] + theirs);
      Set(merged->merged, 0);  // recorded, so a replay moves them too
    }
  }

  std::span<const uint16_t> journal_kinds() const override { return kKinds; }
  Status Replay(const JournalRow& row) override {
    const std::optional<int64_t> member = journal::IdFromKey(row.key);
    int64_t n = 0;
    const char* end = row.payload.data() + row.payload.size();
    if (auto [p, ec] = std::from_chars(row.payload.data(), end, n); !member || ec != std::errc() || p != end) {
      return Internal("a visit row is a member id and a count");
    }
    if (n == 0) {
      orders_.erase(*member);
    } else {
      orders_[*member] = n;
    }
    return Status::Ok();
  }
  void FinishLoad(LocalDate) override {
    for (const auto& [member, n] : orders_) tenant_.SetSegmentNumber(field_, member, n);
  }
  void DayFor(MemberId, LocalDate, Timestamp) override { ++day_members; }

  std::vector<std::string> heard;
  int64_t day_members = 0;
  const std::map<MemberId, int64_t>& orders() const { return orders_; }

 private:
  static constexpr std::array<uint16_t, 1> kKinds = {kVisitKind};

  void Set(MemberId member, int64_t n) {
    if (n == 0) {
      orders_.erase(member);
    } else {
      orders_[member] = n;
    }
    tenant_.Journal(kVisitKind, journal::IdKey(member), std::to_string(n));
    tenant_.SetSegmentNumber(field_, member, n);
  }

  TenantState& tenant_;
  int field_;
  std::map<MemberId, int64_t> orders_;
};

const TimeZone& Shanghai() {
  static const TimeZone zone = *TimeZone::Load("Asia/Shanghai");
  return zone;
}
const TenantRecord kTenant{"t", "T", "Asia/Shanghai", {}};

Timestamp At(std::string_view rfc3339) { return *ParseRfc3339(rfc3339); }

MemberRef Phone(std::string phone) { return MemberRef{{Identity{IdentityKind::kPhone, std::move(phone)}}, std::nullopt}; }

OrderEvent Order(std::string id, MemberRef who, int64_t fen, Timestamp at) {
  OrderEvent o;
  o.order_id = std::move(id);
  o.member = std::move(who);
  o.paid = Money::Fen(fen);
  o.paid_at = at;
  return o;
}

VisitsModule& AddVisits(TenantState& s) {
  auto module = std::make_unique<VisitsModule>(s);
  VisitsModule& visits = *module;
  s.AddModule(std::move(module));
  return visits;
}

int64_t CountOf(const TenantState& s, std::string_view expr, Timestamp now) {
  auto node = segments::ParseExpr(expr);
  EXPECT_TRUE(node.ok()) << node.status().ToString();
  auto n = s.segments().Count(**node, s.SegmentContext(now));
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  return n.ok() ? *n : -1;
}

TEST(ModulesTest, EveryModuleHearsEachEventCausesBeforeWhatTheyCause) {
  TenantState s(kTenant, Shanghai());
  VisitsModule& visits = AddVisits(s);
  const Timestamp now = At("2026-12-07T10:00:00+08:00");
  coupons::CouponTemplate t;
  t.name = "thanks";
  t.kind = coupons::CouponKind::kNoThreshold;
  t.off = Money::Fen(500);
  t.valid_days = 30;
  ASSERT_TRUE(Coupons(s).CreateCouponTemplate(t).ok());
  coupons::IssueRule rule;
  rule.template_id = 1;
  rule.trigger = coupons::Trigger::kPostPayment;
  ASSERT_TRUE(Coupons(s).CreateIssueRule(rule).ok());

  // 400 yuan is 4 000 growth (10 a yuan): silver, from 3 000. The coupons module, added
  // before visits, issues the rule's coupon while hearing the order; visits
  // still hears the order first.
  ASSERT_TRUE(s.Apply(Order("A", Phone("13800000001"), 40'000, now), now).ok());
  EXPECT_EQ(visits.heard, (std::vector<std::string>{"order A", "coupon rule:1:order:A", "tier 1", "stage growth"}));
}

TEST(ModulesTest, AModulesRowsFieldAndDayComeBackAfterARestartOnTheEmbeddedStore) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / "module_test_store";
  std::filesystem::remove_all(dir);
  auto store = OpenSqliteStore(dir.string());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->CreateTenant(kTenant).ok());
  auto tenant_store = (*store)->OpenTenant(kTenant.id);
  ASSERT_TRUE(tenant_store.ok());

  const Timestamp now = At("2026-12-07T10:00:00+08:00");
  TenantState live(kTenant, Shanghai());
  VisitsModule& visits = AddVisits(live);
  ASSERT_TRUE(live.Apply(Order("A", Phone("13800000001"), 1000, now), now).ok());
  ASSERT_TRUE(live.Apply(Order("B", Phone("13800000001"), 1000, now), now).ok());
  ASSERT_TRUE(live.Apply(Order("C", Phone("13800000002"), 1000, now), now).ok());
  // The second member's phone joins the first's: its order counts for the survivor.
  ASSERT_TRUE(live.Apply(MemberEvent{MemberRef{{Identity{IdentityKind::kPhone, "13800000001"},
                                               Identity{IdentityKind::kPhone, "13800000002"}},
                                              std::nullopt},
                                    MemberProfile{}},
                         now)
                  .ok());
  ASSERT_TRUE(live.Apply(Order("D", Phone("13800000003"), 1000, now), now).ok());
  EXPECT_EQ(visits.orders(), (std::map<MemberId, int64_t>{{1, 3}, {3, 1}}));
  EXPECT_EQ(CountOf(live, "visits.orders >= 2", now), 1);
  EXPECT_EQ(CountOf(live, "visits.orders between 1 and 1", now), 1);
  EXPECT_EQ(live.RunDue(now), Slice::kDone);  // the first day run
  EXPECT_EQ(visits.day_members, 2);           // standing members only
  ASSERT_TRUE((*tenant_store)->Commit(live.TakePending()).ok());

  TenantState restarted(kTenant, Shanghai());
  VisitsModule& again = AddVisits(restarted);
  TenantState::Loader loader(restarted);
  ASSERT_TRUE((*tenant_store)->Load(loader).ok());
  loader.Finish();
  EXPECT_EQ(again.orders(), visits.orders());
  EXPECT_EQ(CountOf(restarted, "visits.orders >= 2", now), 1);
  EXPECT_EQ(CountOf(restarted, "visits.orders between 1 and 1", now), 1);
  EXPECT_TRUE(again.heard.empty());  // a load replays rows, not events
}

TEST(ModulesTest, AFieldNoModuleAddsIsAnErrorAtTheField) {
  TenantState s(kTenant, Shanghai());
  AddVisits(s);
  auto node = segments::ParseExpr("points > 1 and visits.order >= 2");
  ASSERT_TRUE(node.ok()) << node.status().ToString();  // the grammar knows no module's fields
  auto n = s.segments().Count(**node, s.SegmentContext({}));
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(n.status().message().find("at position 16: unknown field 'visits.order'"), std::string::npos)
      << n.status().ToString();
  EXPECT_NE(n.status().ToString().find("coupons.unused, visits.orders"), std::string::npos) << n.status().ToString();
  // The canonical text keeps the field as written.
  EXPECT_EQ(segments::ToText(**segments::ParseExpr("Visits.Orders>=2")), "visits.orders >= 2");
}

TEST(ModulesTest, ADamagedRowOfAModulesKindStopsTheLoadNamingIt) {
  auto data = std::make_shared<testing::MemoryTenantData>();
  WriteBatch batch;
  batch.journal.push_back(JournalRow{7, VisitsModule::kVisitKind, journal::IdKey(1), "three"});
  data->commits.push_back(batch);
  testing::MemoryTenantStore store(data);
  TenantState s(kTenant, Shanghai());
  AddVisits(s);
  TenantState::Loader loader(s);
  const Status loaded = store.Load(loader);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.ToString().find("a visit row is a member id and a count"), std::string::npos) << loaded.ToString();
  EXPECT_NE(loaded.ToString().find("900"), std::string::npos) << loaded.ToString();
  EXPECT_NE(loaded.ToString().find("tick"), std::string::npos) << loaded.ToString();
  // Without the module that claims it, the kind is unknown: also a stop, never a silent skip.
  TenantState without(kTenant, Shanghai());
  TenantState::Loader bare(without);
  EXPECT_NE(store.Load(bare).ToString().find("not a journal kind this build knows"), std::string::npos);
}

}  // namespace
}  // namespace pond
