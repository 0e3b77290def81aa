#include "engine/modules/activities_module.hpp"
#include "engine/modules/coupons_module.hpp"
#include "engine/tenant_state.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <map>
#include <set>

#include "core/id_list.hpp"
#include "core/random.hpp"
#include "engine/ingest.hpp"
#include "engine/testing/loyalty_config.hpp"
#include "engine/testing/memory_store.hpp"
#include "engine/testing/rows_of.hpp"
#include "segments/expr.hpp"

namespace pond {
namespace {

TenantState NewState() { return TenantState(TenantRecord{"t", "T", "Asia/Shanghai", {}}, *TimeZone::Load("Asia/Shanghai")); }

// Who matches `expr` (no engine: one call evaluates everything), then the
// snapshot or saved segment of it.
TenantState::Audience Audience(const TenantState& s, const segments::Node& expr, Timestamp now, bool list) {
  TenantState::Audience audience{.list = list};
  EXPECT_EQ(s.Evaluate(expr, now, audience).value(), Slice::kDone);
  return audience;
}
Result<const SnapshotRow*> Snapshot(TenantState& s, std::string name, const segments::Node& expr, std::string by,
                                    Timestamp now) {
  return s.CreateSnapshot(std::move(name), expr, std::move(by), now, Audience(s, expr, now, true));
}
Result<const segments::SavedSegment*> Save(TenantState& s, std::string name, const segments::Node& expr,
                                           std::string by, Timestamp now) {
  return s.SaveSegment(std::move(name), expr, std::move(by), now, Audience(s, expr, now, false));
}

MemberRef Ref(IdentityKind kind, std::string value) { return MemberRef{{Identity{kind, std::move(value)}}, std::nullopt}; }

// A coupon of `off_fen` off anything, valid `days` days from its issue.
coupons::CouponTemplate NoThreshold(std::string name, int64_t off_fen, int32_t days) {
  coupons::CouponTemplate t;
  t.name = std::move(name);
  t.kind = coupons::CouponKind::kNoThreshold;
  t.off = Money::Fen(off_fen);
  t.valid_days = days;
  return t;
}

OrderEvent Order(std::string id, MemberRef who, int64_t fen, int64_t at) {
  OrderEvent o;
  o.order_id = std::move(id);
  o.member = std::move(who);
  o.paid = Money::Fen(fen);
  o.paid_at = Timestamp::FromSeconds(at);
  return o;
}

TEST(TenantStateTest, OrderForAnUnknownIdentityCreatesAMemberRegisteredAtPayment) {
  TenantState s = NewState();
  auto r = s.Apply(Order("A", Ref(IdentityKind::kPhone, "13800000001"), 6800, 1000), Timestamp::FromSeconds(5000));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, EventOutcome::kAccepted);
  const Member* m = s.members().Get(1);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->profile.source, "order");
  EXPECT_EQ(m->profile.registered_at->seconds(), 1000);
  EXPECT_EQ(s.orders().Totals(1).paid.fen(), 6800);
  WriteBatch b = s.TakePending();
  EXPECT_EQ(testing::RowsOf<OrderRow>(b).size(), 1u);
  const std::vector<MemberRow> members = testing::RowsOf<MemberRow>(b);
  ASSERT_EQ(members.size(), 1u);
  EXPECT_EQ(members[0].identities.size(), 1u);
}

TEST(TenantStateTest, ResendingIsADuplicateNotASecondEffect) {
  TenantState s = NewState();
  const Event order = Order("A", Ref(IdentityKind::kPhone, "13800000001"), 6800, 1000);
  const Event refund = RefundEvent{"R", "A", Money::Fen(100), Timestamp::FromSeconds(2000)};
  const Event member = MemberEvent{Ref(IdentityKind::kPhone, "13800000001"), MemberProfile{.name = "王"}};
  EXPECT_EQ(*s.Apply(order, {}), EventOutcome::kAccepted);
  EXPECT_EQ(*s.Apply(refund, {}), EventOutcome::kAccepted);
  EXPECT_EQ(*s.Apply(member, {}), EventOutcome::kAccepted);
  s.TakePending();
  EXPECT_EQ(*s.Apply(order, {}), EventOutcome::kDuplicate);
  EXPECT_EQ(*s.Apply(refund, {}), EventOutcome::kDuplicate);
  EXPECT_EQ(*s.Apply(member, {}), EventOutcome::kDuplicate);
  EXPECT_TRUE(s.TakePending().empty());
  EXPECT_EQ(s.orders().Totals(1).refunded.fen(), 100);
}

TEST(TenantStateTest, AMemberEventResentAfterAMergeIsADuplicate) {
  TenantState s = NewState();
  const Event a = MemberEvent{Ref(IdentityKind::kPhone, "13800000001"), MemberProfile{.city = "深圳"}};
  const Event b = MemberEvent{Ref(IdentityKind::kUnionid, "o6_x"), MemberProfile{.city = "上海"}};
  const Event join = MemberEvent{MemberRef{{{IdentityKind::kPhone, "13800000001"}, {IdentityKind::kUnionid, "o6_x"}},
                                           std::nullopt},
                                 MemberProfile{}};
  for (const Event& e : {a, b, join}) ASSERT_EQ(*s.Apply(e, {}), EventOutcome::kAccepted);
  EXPECT_EQ(s.members().Get(1)->profile.city, "深圳");  // the survivor keeps its own
  // The whole batch again: b now lands on the survivor, but was seen.
  for (const Event& e : {a, b, join}) EXPECT_EQ(*s.Apply(e, {}), EventOutcome::kDuplicate);
  EXPECT_EQ(s.members().Get(1)->profile.city, "深圳");
  // A new event through the merged identity still updates the survivor.
  EXPECT_EQ(*s.Apply(MemberEvent{Ref(IdentityKind::kUnionid, "o6_x"), MemberProfile{.city = "北京"}}, {}),
            EventOutcome::kAccepted);
  EXPECT_EQ(s.members().Get(1)->profile.city, "北京");
}

// A member event's natural key is its content: the same content in another
// identity order is the same event; any field changed makes a new one, even
// when the change is back to an earlier value.
TEST(TenantStateTest, MemberEventsAreKnownByTheirContent) {
  TenantState s = NewState();
  const Timestamp now = *ParseRfc3339("2026-12-07T10:00:00+08:00");
  const Identity phone{IdentityKind::kPhone, "13800000001"}, pos{IdentityKind::kPosId, "P1"};
  const MemberProfile old_city{.birthday = LocalDate::FromYmd(1990, 2, 3), .city = "深圳"};
  ASSERT_EQ(*s.Apply(MemberEvent{MemberRef{{phone, pos}, std::nullopt}, old_city}, now), EventOutcome::kAccepted);
  EXPECT_EQ(*s.Apply(MemberEvent{MemberRef{{pos, phone}, std::nullopt}, old_city}, now), EventOutcome::kDuplicate);
  MemberProfile moved = old_city;
  moved.city = "上海";
  EXPECT_EQ(*s.Apply(MemberEvent{MemberRef{{phone, pos}, std::nullopt}, moved}, now), EventOutcome::kAccepted);
  MemberProfile back = moved;
  back.city = "深圳";
  back.name = "王";
  EXPECT_EQ(*s.Apply(MemberEvent{MemberRef{{phone, pos}, std::nullopt}, back}, now), EventOutcome::kAccepted);
  EXPECT_EQ(s.members().Get(1)->profile.city, "深圳");
}

TEST(TenantStateTest, RejectedEventsChangeNothing) {
  TenantState s = NewState();
  auto r = s.Apply(RefundEvent{"R", "missing", Money::Fen(100), {}}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field_errors()[0].field, "order_id");
  auto m = s.Apply(Order("A", MemberRef{{}, 99}, 100, 1), {});
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().field_errors()[0].field, "member.member_id");
  EXPECT_FALSE(s.orders().HasOrder("A"));
  EXPECT_TRUE(s.TakePending().empty());
}

// An order paid 2024-03-01 and imported on 2026-12-07 earned a lot that
// expired on 2026-01-01: it must not be spendable, and the member went
// through the stages its date implies on the days they began.
TEST(TenantStateTest, HistoryImportedLateGetsTheExpiryAndStagesItWouldHaveHad) {
  TenantState s = NewState();
  const TimeZone& zone = s.zone();
  const Timestamp now = *ParseRfc3339("2026-12-07T10:00:00+08:00");
  OrderEvent o = Order("OLD", Ref(IdentityKind::kPhone, "13800000001"), 50000, 0);
  o.paid_at = *ParseRfc3339("2024-03-01T10:00:00+08:00");
  ASSERT_TRUE(s.Apply(o, now).ok());
  EXPECT_EQ(s.loyalty().Find(1)->balance, 0);
  EXPECT_FALSE(s.Redeem(1, 500, "GIFT", now).ok());
  std::vector<std::string> stages;
  s.lifecycle().ForEachChangeOf(1, [&](const StageChange& c) {
    stages.push_back(std::string(StageName(c.to)) + "@" + FormatRfc3339(c.at, zone));
  });
  EXPECT_EQ(stages, (std::vector<std::string>{"lost@2024-08-29T00:00:00+08:00", "decline@2024-05-31T00:00:00+08:00",
                                              "growth@2024-03-01T00:00:00+08:00"}));
  // Both are journal rows, so a restart replays them.
  const WriteBatch batch = s.TakePending();
  int expiries = 0, stage_rows = 0;
  for (const LoyaltyRow& row : testing::RowsOf<LoyaltyRow>(batch)) {
    expiries += row.kind == LoyaltyKind::kExpire;
    stage_rows += row.kind == LoyaltyKind::kStage;
  }
  EXPECT_EQ(expiries, 1);
  EXPECT_EQ(stage_rows, 3);
}

TEST(TenantStateTest, FactsDatedAfterTomorrowAreRefused) {
  TenantState s = NewState();
  const Timestamp now = *ParseRfc3339("2026-12-07T10:00:00+08:00");
  OrderEvent o = Order("A", Ref(IdentityKind::kPhone, "13800000001"), 100, 0);
  o.paid_at = now.PlusSeconds(2 * 86400);
  auto r = s.Apply(o, now);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field_errors()[0].field, "paid_at");
  o.paid_at = now.PlusSeconds(3600);  // a till whose clock runs an hour ahead
  ASSERT_TRUE(s.Apply(o, now).ok());
  auto refund = s.Apply(RefundEvent{"R", "A", Money::Fen(10), now.PlusSeconds(-60)}, now);
  ASSERT_FALSE(refund.ok());
  EXPECT_EQ(refund.status().field_errors()[0].field, "refunded_at");  // before the order was paid
  MemberProfile future;
  future.registered_at = now.PlusSeconds(3 * 86400);
  auto m = s.Apply(MemberEvent{Ref(IdentityKind::kPhone, "13800000002"), future}, now);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().field_errors()[0].field, "registered_at");
}

TEST(TenantStateTest, IngestReportsEachLine) {
  TenantState s = NewState();
  std::vector<ParsedLine> lines;
  lines.push_back({1, Event(Order("A", Ref(IdentityKind::kPhone, "13800000001"), 100, 1))});
  lines.push_back({2, Result<Event>(FieldInvalid("paid_fen", "must be >= 0"))});
  lines.push_back({3, Event(Order("A", Ref(IdentityKind::kPhone, "13800000001"), 100, 1))});
  lines.push_back({4, Event(RefundEvent{"R", "A", Money::Fen(101), Timestamp::FromSeconds(2)})});
  IngestResult r;
  size_t next = 0;
  ASSERT_EQ(ApplyEventLines(s, lines, {}, r, next), Slice::kDone);  // no engine: the slice never ends
  EXPECT_EQ(r.accepted, 1);
  EXPECT_EQ(r.duplicates, 1);
  ASSERT_EQ(r.rejected.size(), 2u);
  EXPECT_EQ(r.rejected[0].line, 2);
  EXPECT_EQ(r.rejected[1].line, 4);
  EXPECT_EQ(IngestResultJson(r),
            R"({"accepted":1,"duplicates":1,"rejected":[{"line":2,"errors":[{"field":"paid_fen","reason":"must be >= 0"}]},)"
            R"j({"line":4,"errors":[{"field":"amount_fen","reason":"exceeds what remains refundable on order 'A' (100 fen)"}]}]})j");
}

// What a user can observe of a tenant, for comparing a live state with one
// reloaded from its rows.
std::string ObserveRfm(const TenantState& s) {
  std::string out;
  for (MemberId id = 1; id <= s.members().size(); ++id) {
    const RfmScore rfm = s.lifecycle().RfmOf(id);
    out += std::to_string(rfm.r) + std::to_string(rfm.f) + std::to_string(rfm.m) + std::string(RfmClassName(rfm.cls)) + " ";
  }
  return out;
}

std::string Observe(const TenantState& s) {
  std::string out;
  for (MemberId id = 1; id <= s.members().size(); ++id) {
    const Member* m = s.members().Get(id);
    const MemberId standing = s.members().Standing(id);
    out += std::to_string(id) + "->" + std::to_string(standing) + " ";
    if (standing != id) continue;
    out += m->profile.name.value_or("-") + "/" + m->profile.source.value_or("-") + "/" +
           std::to_string(m->profile.registered_at ? m->profile.registered_at->seconds() : -1) + " ids:";
    for (const auto& i : m->identities) out += std::string(IdentityKindName(i.kind)) + "=" + i.value + ",";
    const auto& t = s.orders().Totals(id);
    out += " orders:" + std::to_string(t.count) + "/" + std::to_string(t.paid.fen()) + "/" +
           std::to_string(t.refunded.fen()) + "/" + std::to_string(t.last_paid_at.seconds()) + " merges:" +
           std::to_string(m->merges.size());
    out += " tier:" + std::to_string(s.loyalty().TierOf(id)) + " stage:" + std::string(StageName(s.StageOfMember(id)));
    s.lifecycle().ForEachChangeOf(id, [&](const StageChange& c) { out += "<" + std::string(StageName(c.from)); });
    s.loyalty().ForEachTierChangeOf(id, [&](const TierHistoryEntry& c) {
      out += " tier " + std::string(c.from) + ">" + std::string(c.to) + " by " + std::string(c.cause);
    });
    if (const Account* a = s.loyalty().Find(id)) {
      out += " growth:" + std::to_string(a->growth) + " balance:" + std::to_string(a->balance) + " lots:";
      for (const Lot& l : a->lots) out += std::to_string(l.expires_at.seconds()) + "=" + std::to_string(l.points) + ",";
      out += " ledger:";
      s.loyalty().ForEachEntryOf(id, [&](const LedgerEntry& e) {
        out += std::string(EntryKindName(e.kind)) + std::to_string(e.points) + "/" + std::to_string(e.unrecovered) + "/" +
               std::string(s.loyalty().NoteOf(e)) + ",";
      });
    }
    out += "\n";
  }
  out += "next day after " + s.last_day_run().ToString() + "\n";
  return out;
}

// The members a few segment questions match, for comparing a live state
// with a reloaded one.
std::string ObserveSegments(const TenantState& s, Timestamp now) {
  std::string out;
  for (const char* text : {R"(tier = "silver" or tier = "gold")", R"(lifecycle in ("growth", "mature", "won_back"))",
                           "points >= 100 and growth < 3000", "orders_30d >= 1 or spend_90d > 100",
                           "last_order_days <= 10", "not registered_days < 5", R"(source = "src1")",
                           R"(tag("vip") or tag("新客"))", R"(tag("active_vip"))"}) {
    auto expr = segments::ParseExpr(text);
    EXPECT_TRUE(expr.ok()) << text;
    auto matched = s.segments().Match(**expr, s.SegmentContext(now), std::numeric_limits<size_t>::max());
    EXPECT_TRUE(matched.ok()) << matched.status().ToString();
    out += std::string(text) + ":";
    for (MemberId m : *matched) out += " " + std::to_string(m);
    out += "\n";
  }
  // Who holds which tag, who put it there and when; the audiences kept.
  for (MemberId m = 1; m <= s.members().size(); ++m) {
    if (s.members().Standing(m) != m) continue;
    auto tags = s.segments().TagsOf(m, s.SegmentContext(now));
    EXPECT_TRUE(tags.ok());
    for (const std::string& tag : *tags) {
      const tags::TagOperation* op = s.tags().LastAdd(tag, m);
      out += std::to_string(m) + ":" + tag + (op ? "/" + op->by + "@" + std::to_string(op->at.seconds()) : "") + " ";
    }
  }
  for (const auto& [name, def] : s.tags().definitions()) out += "\ntag " + name + " " + def.rule + " " + def.group;
  for (const SnapshotRow& row : s.snapshots()) {
    out += "\nsnapshot " + std::to_string(row.id) + " " + row.name + " " + std::to_string(row.count) + " " + row.expr;
    auto ids = DecodeIdList(row.members);
    EXPECT_TRUE(ids.ok());
    for (int64_t id : *ids) out += " " + std::to_string(id);
  }
  for (const segments::SavedSegment& saved : s.saved_segments()) {
    out += "\nsaved " + std::to_string(saved.id) + " " + saved.expr;
    for (const auto& [day, n] : saved.sizes) out += " " + day.ToString() + "=" + std::to_string(n);
  }
  return out;
}

// The segment index says of every member what the state's own books say.
// coupons.unused as the wallet says it, member by member: the coupons a
// standing member and those merged into it hold, neither redeemed nor
// revoked, whose validity outlasts the start of the last day run.
void ExpectUnusedCouponsAgreeWithTheWallet(const TenantState& s, Timestamp now) {
  const Timestamp as_of = s.last_day_run() == LocalDate() ? Timestamp() : s.zone().StartOfDay(s.last_day_run());
  std::map<int64_t, int64_t> members_by_count;
  for (MemberId m = 1; m <= s.members().size(); ++m) {
    if (s.members().Standing(m) != m) continue;
    int64_t unused = 0;
    for (const coupons::Coupon* c : Coupons(s).wallet().CouponsOf(m, s.members().MergedInto(m))) {
      unused += c->state != coupons::CouponState::kRedeemed && c->state != coupons::CouponState::kRevoked &&
                c->valid_to > as_of;
    }
    ++members_by_count[unused];
  }
  for (int64_t k = 0; k <= 6; ++k) {
    auto expr = segments::ParseExpr("coupons.unused = " + std::to_string(k));
    EXPECT_EQ(s.segments().Count(**expr, s.SegmentContext(now)).value(), members_by_count[k]) << "coupons.unused = " << k;
  }
}

void ExpectSegmentsAgreeWithTheBooks(const TenantState& s, Timestamp now) {
  const auto context = s.SegmentContext(now);
  auto members_of = [&](const std::string& text) {
    auto expr = segments::ParseExpr(text);
    EXPECT_TRUE(expr.ok()) << text;
    auto matched = s.segments().Match(**expr, context, std::numeric_limits<size_t>::max());
    EXPECT_TRUE(matched.ok()) << text;
    return std::set<MemberId>(matched->begin(), matched->end());
  };
  std::map<std::string, std::set<MemberId>> by_tier, by_stage, by_rfm;
  std::set<MemberId> rich, buyers;
  for (MemberId m = 1; m <= s.members().size(); ++m) {
    if (s.members().Standing(m) != m) continue;
    by_tier[s.loyalty().config().tiers[static_cast<size_t>(s.loyalty().TierOf(m))].id].insert(m);
    by_stage[std::string(StageName(s.StageOfMember(m)))].insert(m);
    by_rfm[std::string(RfmClassName(s.lifecycle().RfmOf(m).cls))].insert(m);
    const Account* a = s.loyalty().Find(m);
    if (a && a->balance >= 100) rich.insert(m);
    bool bought = false;
    s.orders().ForEachOrderOf(m, [&](const OrderRecord& o) { bought = bought || o.net() > Money(); });
    if (bought) buyers.insert(m);
  }
  for (const TierRule& t : s.loyalty().config().tiers) {
    EXPECT_EQ(members_of("tier = \"" + t.id + "\""), by_tier[t.id]) << t.id;
  }
  for (const char* stage : {"intro", "growth", "mature", "decline", "lost", "won_back"}) {
    EXPECT_EQ(members_of(std::string("lifecycle = \"") + stage + "\""), by_stage[stage]) << stage;
  }
  for (int c = 0; c < kRfmClasses; ++c) {
    const std::string name(RfmClassName(static_cast<RfmClass>(c)));
    EXPECT_EQ(members_of("tag(\"rfm:" + name + "\")"), by_rfm[name]) << name;
  }
  EXPECT_EQ(members_of("points >= 100"), rich);
  EXPECT_EQ(members_of("last_order_days >= -100000"), buyers);
}

// Random events (with merges, duplicates, refunds and bad refunds) applied
// live and committed in random group sizes; after every commit a state
// rebuilt from the committed rows must look the same, and totals must equal
// a model's sum over accepted orders and refunds.
TEST(TenantStateTest, ReloadedStateMatchesLiveStateAfterRandomEvents) {
  Random rng(2026);
  auto data = std::make_shared<testing::MemoryTenantData>();
  testing::MemoryTenantStore store(data);
  TenantState live = NewState();
  // Points that expire after 30 days, so expiry happens within the run; the
  // configuration itself must come back from the store too.
  LoyaltyConfig config = DefaultLoyaltyConfig();
  config.expiry = ExpiryPolicy{ExpiryKind::kAfterDays, 1, 30};
  testing::SetLoyaltyConfig(live, config, {});
  const Timestamp start = *ParseRfc3339("2026-01-01T09:00:00+08:00");
  // Manual tags, a rule tag reading one of them, a saved segment.
  auto manual = [](std::string name) {
    return tags::TagDefinition{std::move(name), "运营", tags::TagKind::kManual, "", "", "E1", {}};
  };
  ASSERT_TRUE(live.PutTag(manual("vip"), true, start).ok());
  ASSERT_TRUE(live.PutTag(manual("新客"), true, start).ok());
  ASSERT_TRUE(live.PutTag(tags::TagDefinition{"active_vip", "", tags::TagKind::kRule,
                                              R"(tag("vip") and orders_30d >= 1)", "", "E1", {}},
                          true, start)
                  .ok());
  const auto saved_expr = std::move(segments::ParseExpr(R"(tag("vip") or points >= 100)")).value();
  ASSERT_TRUE(Save(live, "vip or rich", *saved_expr, "E2", start).ok());
  // Coupons valid three days, given for orders of 200 yuan and more and
  // back after a full refund; issued, redeemed and revoked by hand too.
  coupons::CouponTemplate coupon;
  coupon.name = "满200减20";
  coupon.threshold = Money::Fen(20000);
  coupon.off = Money::Fen(2000);
  coupon.valid_days = 3;
  coupon.restore_on_refund = true;
  ASSERT_TRUE(Coupons(live).CreateCouponTemplate(coupon).ok());
  coupons::IssueRule thanks;
  thanks.template_id = 1;
  thanks.name = "满200送券";
  thanks.min_paid = Money::Fen(20000);
  ASSERT_TRUE(Coupons(live).CreateIssueRule(thanks).ok());
  std::vector<std::string> codes;
  int coupon_moves = 0;
  int tag_changes = 0, sliced_runs = 0;
  // RFM is a snapshot of the last day run; a reload recomputes it as of that
  // day from what it finds, so the two agree when nothing came in between.
  bool day_ran_last = false;
  int64_t model_paid = 0, model_refunded = 0;
  std::map<std::string, int64_t> model_left;  // order → refundable
  auto apply = [&](const Event& e, Timestamp now) {
    auto r = live.Apply(e, now);
    if (!r.ok() || *r != EventOutcome::kAccepted) return;
    if (auto* o = std::get_if<OrderEvent>(&e)) {
      model_paid += o->paid.fen();
      model_left[o->order_id] = o->paid.fen();
    } else if (auto* f = std::get_if<RefundEvent>(&e)) {
      model_refunded += f->amount.fen();
      EXPECT_LE(f->amount.fen(), model_left[f->order_id]);
      model_left[f->order_id] -= f->amount.fen();
    }
  };
  for (int step = 0; step < 3000; ++step) {
    const auto kind = static_cast<IdentityKind>(rng.Uniform(kIdentityKinds));
    MemberRef ref = Ref(kind, std::to_string(rng.Uniform(300)));
    if (rng.Chance(0.2)) ref.identities.push_back({static_cast<IdentityKind>(rng.Uniform(4)), std::to_string(rng.Uniform(300))});
    const Timestamp now = start.PlusSeconds(int64_t{step} * 3 * 3600);
    const uint64_t dice = rng.Uniform(12);
    if (dice >= 10) {  // loyalty commands and the scheduler's day runs
      const MemberId m = rng.Range(1, std::max<int64_t>(live.members().size(), 1));
      if (dice == 11 && rng.Chance(0.6)) {  // coupons by hand: an issue, a redemption, a revocation
        const std::string code = "C" + std::to_string(step);
        if (Coupons(live).IssueCoupon(1, m, "hand:" + std::to_string(rng.Uniform(50)), code, now).ok()) {
          codes.push_back(code);
        }
        if (!codes.empty()) {
          const std::string& some = codes[codes.size() - 1 - rng.Uniform(std::min<size_t>(codes.size(), 4))];  // recent: unexpired
          coupon_moves += rng.Chance(0.5) ? Coupons(live).RedeemCoupon(some, "P" + std::to_string(step), now).ok()
                                          : Coupons(live).RevokeCoupon(some, now).ok();
        }
      } else if (dice == 10 && rng.Chance(0.5)) {
        (void)live.Redeem(m, rng.Range(1, 200), "R" + std::to_string(rng.Uniform(400)), now);
        (void)live.Adjust(m, rng.Range(-100, 300), rng.Chance(0.9) ? "goodwill" : "", now);
      } else if (dice == 10) {  // tagging by hand, now and then a tag deleted and made anew, a snapshot
        const std::string tag = rng.Chance(0.5) ? "vip" : "新客";
        std::vector<MemberId> some;
        for (int i = static_cast<int>(rng.Range(1, 5)); i > 0; --i) some.push_back(rng.Range(1, std::max<int64_t>(live.members().size(), 1)));
        auto change = live.TagMembers(tag, rng.Chance(0.7), some, "E" + std::to_string(rng.Uniform(9)), "", now);
        ASSERT_TRUE(change.ok()) << change.status().ToString();
        tag_changes += change->changed > 0;
        if (tag == "新客" && rng.Chance(0.05)) {
          ASSERT_TRUE(live.RemoveTag(tag, now).ok());
          ASSERT_TRUE(live.PutTag(manual(tag), true, now).ok());
        }
        if (rng.Chance(0.05)) {
          ASSERT_TRUE(Snapshot(live, "s", *saved_expr, "E3", now).ok());
        }
      } else if (rng.Chance(0.5)) {
        live.RunDue(now);
        day_ran_last = true;
      } else {
        // In the smallest slices, with orders and tagging in between (as
        // the engine lets other commands in): what is stored still
        // reloads to what memory holds.
        live.StartSlice(std::chrono::steady_clock::time_point::min());
        int slices = 1;
        for (; live.RunDue(now) == Slice::kLater; ++slices) {
          if (rng.Chance(0.2)) apply(Order("O" + std::to_string(rng.Uniform(2000)), ref, rng.Range(0, 50000), now.seconds()), now);
          if (rng.Chance(0.1)) (void)live.TagMembers("vip", true, {rng.Range(1, live.members().size())}, "E1", "", now);
        }
        live.StartSlice(std::chrono::steady_clock::time_point::max());
        sliced_runs += slices > 1;
        day_ran_last = slices == 1;  // RFM as of a day whose orders came in part after it was scored
      }
      continue;
    }
    Event e;
    if (dice < 3) {
      MemberProfile p;
      if (rng.Chance(0.5)) p.name = "n" + std::to_string(rng.Uniform(50));
      if (rng.Chance(0.3)) p.source = "src" + std::to_string(rng.Uniform(3));
      e = MemberEvent{ref, p};
    } else if (dice < 8) {
      // Now and then history arrives late: lots already expired, stages it went through.
      const int64_t age = rng.Chance(0.1) ? rng.Range(0, 800 * 86400) : rng.Range(0, 86400);
      e = Order("O" + std::to_string(rng.Uniform(2000)), ref, rng.Range(0, 50000), now.seconds() - age);
    } else {
      e = RefundEvent{"R" + std::to_string(rng.Uniform(1500)), "O" + std::to_string(rng.Uniform(2000)),
                      Money::Fen(rng.Range(1, 20000)), now};
    }
    day_ran_last = false;
    apply(e, now);
    if (rng.Chance(0.1)) {
      ASSERT_TRUE(store.Commit(live.TakePending()).ok());
      TenantState reloaded = NewState();
      TenantState::Loader loader(reloaded);
      const Status loaded = store.Load(loader);
      ASSERT_TRUE(loaded.ok()) << loaded.ToString();
      loader.Finish();
      ASSERT_EQ(Observe(reloaded), Observe(live)) << "step " << step;
      ASSERT_EQ(ObserveSegments(reloaded, now), ObserveSegments(live, now)) << "step " << step;
      ExpectSegmentsAgreeWithTheBooks(live, now);
      ExpectUnusedCouponsAgreeWithTheWallet(live, now);
      ExpectUnusedCouponsAgreeWithTheWallet(reloaded, now);
      if (day_ran_last) {
        ASSERT_EQ(ObserveRfm(reloaded), ObserveRfm(live)) << "step " << step;
      }
    }
  }
  int64_t paid = 0, refunded = 0;
  for (MemberId id = 1; id <= live.members().size(); ++id) {
    paid += live.orders().Totals(id).paid.fen();
    refunded += live.orders().Totals(id).refunded.fen();
  }
  EXPECT_EQ(paid, model_paid);
  EXPECT_EQ(refunded, model_refunded);
  EXPECT_GT(live.members().size(), live.members().standing_count());  // merges happened
  // The run reached what it is meant to test.
  std::map<EntryKind, int> kinds;
  int tiers_above_first = 0;
  for (MemberId id = 1; id <= live.members().size(); ++id) {
    if (const Account* a = live.loyalty().Find(id)) {
      live.loyalty().ForEachEntryOf(id, [&](const LedgerEntry& e) { ++kinds[e.kind]; });
      tiers_above_first += a->tier > 0;
    }
  }
  for (EntryKind k : {EntryKind::kEarn, EntryKind::kReverse, EntryKind::kRedeem, EntryKind::kExpire, EntryKind::kAdjust}) {
    EXPECT_GT(kinds[k], 0) << EntryKindName(k);
  }
  EXPECT_GT(tiers_above_first, 0);
  EXPECT_GT(coupon_moves, 20);
  EXPECT_GT(Coupons(live).wallet().size(), codes.size()) << "the rule issued some too";
  EXPECT_GT(tag_changes, 50);
  EXPECT_GT(sliced_runs, 20);
  EXPECT_GT(live.snapshots().size(), 1u);
  EXPECT_GT(live.saved_segments()[0].sizes.size(), 10u) << "a size a day run";
  EXPECT_FALSE(live.RemoveTag("vip", start).ok()) << "read by active_vip and the saved segment";
}

// Rules under which a day run at the start of March 2026 does everything
// it can: a review (rolling basis of a month: January's spend drops out),
// expiries (late January's lots) and stage moves (mid-January's one-time
// buyers decline).
LoyaltyConfig DayRunConfig() {
  LoyaltyConfig config = DefaultLoyaltyConfig();
  config.basis = GrowthBasis::kRollingMonths;
  config.rolling_months = 1;
  config.expiry = ExpiryPolicy{ExpiryKind::kAfterDays, 1, 30};
  config.lifecycle.active_days = 40;
  return config;
}

// A day run in the smallest slices does exactly what one run at once does:
// the same rows in the same order, the same books.
TEST(TenantStateTest, ADayRunInSlicesDoesWhatOneRunDoes) {
  TenantState whole = NewState(), sliced = NewState();
  const Timestamp start = *ParseRfc3339("2026-01-01T09:00:00+08:00");
  const Timestamp loaded = *ParseRfc3339("2026-03-01T00:10:00+08:00");
  for (TenantState* s : {&whole, &sliced}) {
    testing::SetLoyaltyConfig(*s, DayRunConfig(), start);
    for (const char* text : {"points >= 100", R"(lifecycle = "growth" or orders_30d >= 2)"}) {
      ASSERT_TRUE(Save(*s, text, **segments::ParseExpr(text), "E1", loaded).ok());
    }
  }
  Random events(11);
  for (int i = 0; i < 4000; ++i) {
    const Event e = Order("O" + std::to_string(i), Ref(IdentityKind::kPhone, std::to_string(events.Uniform(700))),
                          events.Range(100, 90000), start.seconds() + events.Range(0, 58 * 86400));
    ASSERT_EQ(whole.Apply(e, loaded).ok(), sliced.Apply(e, loaded).ok());
  }
  for (int i = 0; i < 150; ++i) {
    const Event e = Order("P" + std::to_string(i), Ref(IdentityKind::kPhone, "p" + std::to_string(i)), 5000,
                          start.seconds() + events.Range(14 * 86400, 24 * 86400));
    ASSERT_EQ(whole.Apply(e, loaded).ok(), sliced.Apply(e, loaded).ok());
  }
  (void)whole.TakePending();
  (void)sliced.TakePending();
  const Timestamp first_of_month = *ParseRfc3339("2026-03-01T00:30:00+08:00");
  sliced.StartSlice(std::chrono::steady_clock::time_point::min());
  int slices = 0;
  for (Timestamp now = first_of_month; now < first_of_month.PlusSeconds(3 * 86400); now = now.PlusSeconds(86400)) {
    ASSERT_EQ(whole.RunDue(now), Slice::kDone);
    for (++slices; sliced.RunDue(now) == Slice::kLater;) ++slices;
  }
  EXPECT_GT(slices, 3 * 850 / 64);  // a slice takes 64 members before it looks at the time
  const WriteBatch a = whole.TakePending(), b = sliced.TakePending();
  std::map<LoyaltyKind, int> kinds;
  for (const LoyaltyRow& row : testing::RowsOf<LoyaltyRow>(a)) ++kinds[row.kind];
  EXPECT_GT(kinds[LoyaltyKind::kExpire], 0);
  EXPECT_GT(kinds[LoyaltyKind::kTier], 0);
  EXPECT_GT(kinds[LoyaltyKind::kStage], 0);
  EXPECT_EQ(kinds[LoyaltyKind::kDay], 3);
  ASSERT_EQ(a.journal.size(), b.journal.size());
  for (size_t i = 0; i < a.journal.size(); ++i) {
    ASSERT_EQ(a.journal[i].tick, b.journal[i].tick) << i;
    ASSERT_EQ(a.journal[i].key, b.journal[i].key) << i;
    ASSERT_EQ(a.journal[i].payload, b.journal[i].payload) << i;
  }
  ASSERT_EQ(a.state.size(), b.state.size());
  for (size_t i = 0; i < a.state.size(); ++i) EXPECT_EQ(a.state[i].payload, b.state[i].payload) << i;
  EXPECT_EQ(Observe(whole), Observe(sliced));
  EXPECT_EQ(ObserveRfm(whole), ObserveRfm(sliced));
  ExpectSegmentsAgreeWithTheBooks(sliced, first_of_month.PlusSeconds(2 * 86400));
  ASSERT_EQ(sliced.saved_segments()[1].sizes.size(), 3u);  // the day it was saved was the first day run's
  EXPECT_EQ(sliced.saved_segments()[1].sizes, whole.saved_segments()[1].sizes);
  EXPECT_GT(sliced.saved_segments()[1].sizes[0].second, 0);
}

}  // namespace
}  // namespace pond

namespace pond {
namespace {

// coupons.unused follows every way a coupon is used up or comes back: an
// order redeeming it, a full refund giving it back, a revocation, a merge
// bringing the merged member's coupons, the day its validity ends; and a
// restart counts the same.
// A change of the loyalty rules re-tiers members a slice at a time. Here
// gold goes and silver starts lower: every member ends on the tier its
// growth reaches under the new rules (the model: the highest tier whose
// threshold it reaches), one "config" tier row for each member whose tier
// moved past the clamp, and no reader between slices ever sees a tier the
// rules in force do not have.
TEST(TenantStateTest, ALoyaltyRulesChangeReTiersEveryMemberInSlices) {
  auto data = std::make_shared<testing::MemoryTenantData>();
  testing::MemoryTenantStore store(data);
  TenantState s = NewState();
  const Timestamp now = *ParseRfc3339("2026-12-07T10:00:00+08:00");
  constexpr int kMembers = 300;
  for (int i = 1; i <= kMembers; ++i) {
    const int64_t fen = (i % 31) * 3000 + 100;  // growth 10 a yuan: 10 to 9 010
    ASSERT_TRUE(s.Apply(Order("O" + std::to_string(i), Ref(IdentityKind::kPhone, std::to_string(13800000000 + i)), fen,
                              now.seconds() - 60),
                        now)
                    .ok());
  }
  int gold = 0;  // members 1–299 whose growth (i % 31) * 300 + 10 reaches 6 000
  for (int i = 1; i < kMembers; ++i) gold += (i % 31) * 300 + 10 >= 6000;
  std::map<MemberId, int> clamped;  // the tier each held, at most silver
  for (MemberId m = 1; m <= kMembers; ++m) clamped[m] = std::min(s.loyalty().Find(m)->tier, 1);
  ASSERT_TRUE(store.Commit(s.TakePending()).ok());

  LoyaltyConfig rules = DefaultLoyaltyConfig();
  rules.tiers.pop_back();  // no gold
  rules.tiers[1].threshold = 2000;
  for (Benefit& b : rules.benefits) std::erase(b.tiers, "gold");
  std::erase_if(rules.benefits, [](const Benefit& b) { return b.tiers.empty(); });
  ASSERT_TRUE(ValidateLoyaltyConfig(rules).ok());
  s.StartSlice(std::chrono::steady_clock::time_point::min());
  TenantState::LoyaltyChange change{rules};
  int slices = 0, rows = 0;
  bool paid_between = false;
  for (Slice slice = Slice::kLater; slice == Slice::kLater; ++slices) {
    ASSERT_LT(slices, 100);
    slice = s.ChangeLoyaltyConfig(change, now);
    if (!change.switched && slices == 0) {
      // Member 20 (gold growth), already moved down, pays under the old
      // rules: it stays on silver, or the switch would find it on a tier
      // the new rules lack.
      ASSERT_EQ(s.loyalty().Find(20)->tier, 1);
      ASSERT_TRUE(s.Apply(Order("again", Ref(IdentityKind::kPhone, "13800000020"), 100, now.seconds()), now).ok());
      EXPECT_EQ(s.loyalty().Find(20)->tier, 1);
    }
    if (change.switched && change.next < kMembers && !paid_between) {
      // Member 300 pays before its turn: the new rules tier the order.
      ASSERT_TRUE(s.Apply(Order("late", Ref(IdentityKind::kPhone, "13800000300"), 50000, now.seconds()), now).ok());
      EXPECT_EQ(s.loyalty().Find(kMembers)->tier, 1);
      paid_between = true;
    }
    // Each slice commits (kLater): what a restart here would load is what
    // readers saw, every tier one the rules in force have.
    WriteBatch batch = s.TakePending();
    for (const LoyaltyRow& r : testing::RowsOf<LoyaltyRow>(batch)) {
      rows += r.kind == LoyaltyKind::kTier && r.note == "config" && r.member_id != kMembers;
    }
    ASSERT_TRUE(store.Commit(batch).ok());
    TenantState restarted = NewState();
    TenantState::Loader loader(restarted);
    ASSERT_TRUE(store.Load(loader).ok());
    loader.Finish();
    for (MemberId m = 1; m <= kMembers; ++m) {
      ASSERT_LT(static_cast<size_t>(s.loyalty().Find(m)->tier), s.loyalty().config().tiers.size()) << "member " << m;
      ASSERT_EQ(restarted.loyalty().Find(m)->tier, s.loyalty().Find(m)->tier) << "member " << m << " slice " << slices;
    }
  }
  EXPECT_TRUE(paid_between);
  EXPECT_GE(slices, 9) << "300 clamped, then 300 re-tiered, 64 a slice";
  EXPECT_EQ(s.loyalty().config().tiers.size(), 2u);
  int moved = 0;
  for (MemberId m = 1; m <= kMembers; ++m) {
    const int64_t growth = s.loyalty().Find(m)->growth;
    const int model = growth >= 2000 ? 1 : 0;
    EXPECT_EQ(s.loyalty().Find(m)->tier, model) << "member " << m << " growth " << growth;
    moved += m != kMembers && clamped[m] != model;
  }
  EXPECT_GT(moved, 0);
  EXPECT_EQ(rows, gold + moved) << "one row for each member moved down from gold, one for each re-tiered";
  const auto silver = std::move(segments::ParseExpr(R"(tier = "silver")")).value();
  int64_t silvers = 0;
  for (MemberId m = 1; m <= kMembers; ++m) silvers += s.loyalty().Find(m)->growth >= 2000;
  EXPECT_EQ(s.segments().Count(*silver, s.SegmentContext(now)).value(), silvers) << "the index follows";
}

// A bulk issue reads its snapshot's member list a slice at a time, where the
// last slice stopped, whatever changes between slices (other snapshots
// made, members added, coupons issued by hand).
TEST(TenantStateTest, ABulkIssueInSlicesReachesEverySnapshotMemberOnce) {
  TenantState s = NewState();
  const Timestamp now = *ParseRfc3339("2026-12-07T10:00:00+08:00");
  coupons::CouponTemplate t = NoThreshold("5元", 500, 7);
  t.stock = 1000;
  ASSERT_TRUE(Coupons(s).CreateCouponTemplate(t).ok());
  for (int i = 1; i <= 700; ++i) {
    MemberProfile p;
    if (i % 3 != 0) p.city = "深圳";  // 467 of them, ids far apart and near
    ASSERT_TRUE(s.Apply(MemberEvent{Ref(IdentityKind::kPhone, std::to_string(13800000000 + i)), p}, now).ok());
  }
  const auto shenzhen = std::move(segments::ParseExpr(R"(city = "深圳")")).value();
  const int64_t snapshot = (*Snapshot(s, "深圳", *shenzhen, "test", now))->id;
  ASSERT_TRUE(Coupons(s).IssueCoupon(1, 2, "by-hand", "H1", now).ok());  // member 2 has one already
  s.StartSlice(std::chrono::steady_clock::time_point::min());  // every slice spent at its first check
  CouponsModule::BulkIssue bulk;
  int slices = 0, codes = 0;
  auto next_code = [&]() -> Result<std::string> { return "C" + std::to_string(++codes); };
  for (Slice slice = Slice::kLater; slice == Slice::kLater; ++slices) {
    ASSERT_LT(slices, 100) << "a slice that does not go on from the last";
    slice = Coupons(s).IssueToSnapshot(1, snapshot, next_code, now, bulk).value();
    // Between slices: another snapshot (the list of snapshots grows), a new member.
    ASSERT_TRUE(Snapshot(s, "again " + std::to_string(slices), *shenzhen, "test", now).ok());
    ASSERT_TRUE(s.Apply(MemberEvent{Ref(IdentityKind::kPhone, std::to_string(13900000000 + slices)), {}}, now).ok());
  }
  EXPECT_EQ(slices, 8) << "64 members a slice";
  // Member 2's coupon by hand was another occasion: it gets this one too.
  EXPECT_EQ(std::tuple(bulk.members, bulk.issued, bulk.already), std::tuple(467, 467, 0));
  EXPECT_TRUE(bulk.refused.empty());
  CouponsModule::BulkIssue again;
  while (Coupons(s).IssueToSnapshot(1, snapshot, next_code, now, again).value() == Slice::kLater) {
  }
  EXPECT_EQ(std::tuple(again.issued, again.already), std::tuple(0, 467)) << "each member once per snapshot";
  for (MemberId m = 1; m <= 700; ++m) {
    const size_t held = Coupons(s).CouponsOf(m).size();
    EXPECT_EQ(held, m % 3 != 0 ? (m == 2 ? 2u : 1u) : 0u) << "member " << m;
  }
}

TEST(TenantStateTest, UnusedCouponsAreASegmentField) {
  auto data = std::make_shared<testing::MemoryTenantData>();
  testing::MemoryTenantStore store(data);
  TenantState s = NewState();
  const Timestamp monday = *ParseRfc3339("2026-12-07T10:00:00+08:00");
  auto count = [&](const TenantState& state, std::string_view expr) {
    return state.segments().Count(**segments::ParseExpr(expr), state.SegmentContext(monday)).value();
  };
  coupons::CouponTemplate t = NoThreshold("无门槛8元", 800, 2);  // to the end of Tuesday
  t.restore_on_refund = true;
  ASSERT_TRUE(Coupons(s).CreateCouponTemplate(t).ok());
  const Event alice = MemberEvent{Ref(IdentityKind::kPhone, "13800000001"), {}};
  const Event bob = MemberEvent{Ref(IdentityKind::kPhone, "13800000002"), {}};
  const Event carol = MemberEvent{Ref(IdentityKind::kPhone, "13800000003"), {}};
  for (const Event& e : {alice, bob, carol}) ASSERT_TRUE(s.Apply(e, monday).ok());
  for (const char* code : {"A1", "A2", "A3"}) ASSERT_TRUE(Coupons(s).IssueCoupon(1, 1, code, code, monday).ok());
  ASSERT_TRUE(Coupons(s).IssueCoupon(1, 2, "B1", "B1", monday).ok());
  EXPECT_EQ(count(s, "coupons.unused = 3"), 1);
  EXPECT_EQ(count(s, "coupons.unused = 0"), 1) << "carol holds none";

  OrderEvent paid = Order("O1", Ref(IdentityKind::kPhone, "13800000001"), 5000, monday.seconds());
  paid.coupons = {"A1"};
  ASSERT_TRUE(s.Apply(paid, monday).ok());
  ASSERT_TRUE(Coupons(s).RevokeCoupon("A2", monday).ok());
  EXPECT_EQ(count(s, "coupons.unused = 1"), 2) << "alice's A3, bob's B1";
  ASSERT_TRUE(s.Apply(RefundEvent{"R1", "O1", Money::Fen(5000), monday}, monday).ok());
  EXPECT_EQ(count(s, "coupons.unused = 2"), 1) << "A1 is back";

  // Bob's phone joins alice's: she stands for both, with his coupon.
  const Event both = MemberEvent{MemberRef{{{IdentityKind::kPhone, "13800000001"}, {IdentityKind::kPhone, "13800000002"}},
                                           std::nullopt},
                                 {}};
  ASSERT_TRUE(s.Apply(both, monday).ok());
  EXPECT_EQ(count(s, "coupons.unused = 3"), 1);
  EXPECT_EQ(count(s, "coupons.unused >= 1"), 1) << "bob no longer stands";

  ASSERT_TRUE(store.Commit(s.TakePending()).ok());
  TenantState restarted = NewState();
  TenantState::Loader loader(restarted);
  ASSERT_TRUE(store.Load(loader).ok());
  loader.Finish();
  EXPECT_EQ(count(restarted, "coupons.unused = 3"), 1);

  // Wednesday's run: their validity ended with Tuesday.
  s.RunDue(monday);
  EXPECT_EQ(count(s, "coupons.unused = 3"), 1) << "Monday's run ends nothing";
  s.RunDue(*ParseRfc3339("2026-12-09T00:00:01+08:00"));
  EXPECT_EQ(count(s, "coupons.unused = 0"), 2);
}

// Coupons survive a restart exactly: the wallet is replayed from its rows.
TEST(TenantStateTest, TheWalletComesBackAfterAReload) {
  auto data = std::make_shared<testing::MemoryTenantData>();
  testing::MemoryTenantStore store(data);
  TenantState live = NewState();
  const Timestamp t0 = *ParseRfc3339("2026-11-02T10:00:00+08:00");
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(live.Apply(Order("O" + std::to_string(i), Ref(IdentityKind::kPhone, "1380000000" + std::to_string(i)),
                                 5000, t0.seconds()),
                           t0)
                    .ok());
  }
  coupons::CouponTemplate t;
  t.name = "满68减10";
  t.threshold = Money::Fen(6800);
  t.off = Money::Fen(1000);
  t.valid_days = 2;
  t.stock = 2;
  auto made = Coupons(live).CreateCouponTemplate(t);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ((*made)->id, 1);
  t.valid_days = 0;
  EXPECT_EQ(Coupons(live).CreateCouponTemplate(t).status().field_errors().at(0).field, "valid_to");
  ASSERT_TRUE(Coupons(live).IssueCoupon(1, 1, "k1", "CODEA", t0).ok());
  ASSERT_TRUE(Coupons(live).IssueCoupon(1, 2, "k2", "CODEB", t0).ok());
  EXPECT_EQ(Coupons(live).IssueCoupon(1, 3, "k3", "CODEC", t0).status().context().at(0).second, "out_of_stock");
  EXPECT_FALSE(Coupons(live).IssueCoupon(1, 1, "k1", "CODED", t0)->fresh);
  EXPECT_EQ(Coupons(live).IssueCoupon(2, 1, "k1", "CODEE", t0).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(Coupons(live).LockCoupon("CODEA", "POS-1", t0.PlusSeconds(600), t0.PlusSeconds(60)).ok());
  ASSERT_TRUE(Coupons(live).RedeemCoupon("CODEA", "POS-1", t0.PlusSeconds(120)).ok());
  ASSERT_TRUE(Coupons(live).RedeemCoupon("CODEA", "POS-1", t0.PlusSeconds(180)).ok());
  ASSERT_TRUE(Coupons(live).RevokeCoupon("CODEB", t0.PlusSeconds(240)).ok());
  const WriteBatch batch = live.TakePending();
  EXPECT_EQ(testing::RowsOf<CouponEventRow>(batch).size(), 5u) << "issue, issue, lock, redeem, revoke: replays record nothing";
  ASSERT_TRUE(store.Commit(batch).ok());

  TenantState reloaded = NewState();
  TenantState::Loader loader(reloaded);
  ASSERT_TRUE(store.Load(loader).ok());
  loader.Finish();
  ASSERT_EQ(Coupons(reloaded).coupon_templates().size(), 1u);
  for (const char* code : {"CODEA", "CODEB"}) {
    const coupons::Coupon* a = Coupons(live).wallet().Find(code);
    const coupons::Coupon* b = Coupons(reloaded).wallet().Find(code);
    ASSERT_NE(b, nullptr) << code;
    EXPECT_EQ(std::tuple(a->state, a->order_id, a->member, a->valid_to, a->changed_at),
              std::tuple(b->state, b->order_id, b->member, b->valid_to, b->changed_at))
        << code;
  }
  EXPECT_EQ(Coupons(reloaded).wallet().IssuedOf(1), 2);
  // The next change continues the ids.
  ASSERT_TRUE(Coupons(reloaded).IssueCoupon(1, 3, "k3", "CODEF", t0).status().code() == StatusCode::kConflict);
  ASSERT_TRUE(Coupons(reloaded).RedeemCoupon("CODEB", "POS-2", t0.PlusSeconds(300)).status().code() == StatusCode::kConflict);
}

}  // namespace
}  // namespace pond

namespace pond {
namespace {

TEST(TenantStateTest, OrdersRedeemTheirCouponsAndFullRefundsGiveThemBack) {
  TenantState s = NewState();
  const Timestamp t0 = *ParseRfc3339("2026-11-02T10:00:00+08:00");
  const MemberRef alice = Ref(IdentityKind::kPhone, "13800000001"), bob = Ref(IdentityKind::kPhone, "13800000002");
  ASSERT_TRUE(s.Apply(Order("O1", alice, 1000, t0.seconds()), t0).ok());
  ASSERT_TRUE(s.Apply(Order("O2", bob, 1000, t0.seconds()), t0).ok());
  coupons::CouponTemplate t = NoThreshold("无门槛8元", 800, 7);
  t.restore_on_refund = true;
  ASSERT_TRUE(Coupons(s).CreateCouponTemplate(t).ok());
  ASSERT_TRUE(Coupons(s).IssueCoupon(1, 1, "a", "ALICE1", t0).ok());
  ASSERT_TRUE(Coupons(s).IssueCoupon(1, 2, "b", "BOB1", t0).ok());

  const Timestamp t1 = t0.PlusSeconds(3600);
  OrderEvent bad = Order("O3", alice, 6800, t1.seconds());
  bad.coupons = {"ALICE1", "BOB1", "NOPE"};
  auto refused = s.Apply(bad, t1);
  ASSERT_FALSE(refused.ok());
  std::vector<std::string> fields;
  for (const FieldError& e : refused.status().field_errors()) fields.push_back(e.field + ": " + e.reason);
  EXPECT_EQ(fields, (std::vector<std::string>{"coupons[1]: belongs to another member", "coupons[2]: no such coupon"}));
  EXPECT_FALSE(s.orders().HasOrder("O3")) << "a refused coupon refuses the order, nothing half-applied";
  EXPECT_EQ(Coupons(s).wallet().Find("ALICE1")->state, coupons::CouponState::kIssued);

  OrderEvent good = Order("O3", alice, 6800, t1.seconds());
  good.coupons = {"ALICE1"};
  ASSERT_TRUE(s.Apply(good, t1).ok());
  EXPECT_EQ(Coupons(s).wallet().Find("ALICE1")->order_id, "O3");
  OrderEvent reuse = Order("O4", alice, 6800, t1.seconds());
  reuse.coupons = {"ALICE1"};
  EXPECT_EQ(s.Apply(reuse, t1).status().field_errors().at(0).reason, "coupon ALICE1 is redeemed already");
  EXPECT_EQ(*s.Apply(good, t1), EventOutcome::kDuplicate);

  // A partial refund keeps the coupon used; the refund of the rest gives it back.
  RefundEvent part{"R1", "O3", Money::Fen(3000), t1.PlusSeconds(60)};
  ASSERT_TRUE(s.Apply(part, t1).ok());
  EXPECT_EQ(Coupons(s).wallet().Find("ALICE1")->state, coupons::CouponState::kRedeemed);
  RefundEvent rest{"R2", "O3", Money::Fen(3800), t1.PlusSeconds(120)};
  ASSERT_TRUE(s.Apply(rest, t1).ok());
  EXPECT_EQ(Coupons(s).wallet().Find("ALICE1")->state, coupons::CouponState::kIssued);
  const WriteBatch batch = s.TakePending();
  std::vector<std::string> kinds;
  for (const CouponEventRow& r : testing::RowsOf<CouponEventRow>(batch)) kinds.push_back(r.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"issue", "issue", "redeem", "restore"}));
}

}  // namespace
}  // namespace pond

namespace pond {
namespace {

TEST(TenantStateTest, IssueRulesGiveCouponsOncePerOccasion) {
  TenantState s = NewState();
  const Timestamp t0 = *ParseRfc3339("2026-11-02T10:00:00+08:00");
  coupons::CouponTemplate t;
  t.name = "12%";
  t.kind = coupons::CouponKind::kDiscount;
  t.percent_off = 12;
  t.valid_days = 7;
  ASSERT_TRUE(Coupons(s).CreateCouponTemplate(t).ok());
  auto rule = [&](std::string json) {
    auto parsed = coupons::ParseRule(json);
    EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
    return Coupons(s).CreateIssueRule(*parsed);
  };
  ASSERT_TRUE(rule(R"({"name":"支付后","trigger":"post_payment","template_id":1,"min_paid_fen":3500,"payments":["wechat_pay"]})").ok());
  ASSERT_TRUE(rule(R"({"name":"首单","trigger":"first_purchase","template_id":1})").ok());
  ASSERT_TRUE(rule(R"({"name":"升金","trigger":"tier_upgrade","template_id":1,"tiers":["gold"]})").ok());
  EXPECT_EQ(rule(R"({"name":"x","trigger":"first_purchase","template_id":9})").status().field_errors().at(0).field,
            "template_id");
  EXPECT_EQ(rule(R"({"name":"x","trigger":"tier_upgrade","template_id":1,"tiers":["diamond"]})").status().field_errors().at(0).field,
            "tiers");

  auto order = [&](std::string id, int64_t fen, std::string payment, Timestamp paid, Timestamp now) {
    OrderEvent o = Order(std::move(id), Ref(IdentityKind::kPhone, "13800000001"), fen, paid.seconds());
    o.payment = std::move(payment);
    EXPECT_TRUE(s.Apply(o, now).ok());
  };
  auto occasions = [&]() {
    std::vector<std::string> out;
    for (const coupons::Coupon* c : Coupons(s).wallet().CouponsOf(1)) out.push_back(c->occasion);
    return out;
  };
  // History imported a week late gives nothing, not even the first purchase.
  order("OLD", 100'00, "wechat_pay", t0, t0.PlusSeconds(7 * 86'400));
  EXPECT_TRUE(occasions().empty());
  const Timestamp t1 = t0.PlusSeconds(7 * 86'400);
  order("A", 34'99, "wechat_pay", t1, t1);  // under 35 yuan
  order("B", 35'00, "alipay", t1, t1);      // not WeChat Pay
  order("C", 35'00, "wechat_pay", t1, t1);
  EXPECT_EQ(occasions(), (std::vector<std::string>{"rule:1:order:C"}));
  // 600 yuan more reaches gold (6000 growth): the upgrade gives one, once.
  order("D", 600'00, "cash", t1, t1);
  order("E", 600'00, "cash", t1, t1);
  EXPECT_EQ(occasions(), (std::vector<std::string>{"rule:1:order:C", "rule:3:tier:gold"}));

  // A new member's first order (recent) gives the welcome coupon and the post-payment one.
  OrderEvent first = Order("F", Ref(IdentityKind::kPhone, "13800000002"), 50'00, t1.seconds());
  first.payment = "wechat_pay";
  ASSERT_TRUE(s.Apply(first, t1).ok());
  std::vector<std::string> second;
  for (const coupons::Coupon* c : Coupons(s).wallet().CouponsOf(2)) second.push_back(c->occasion);
  EXPECT_EQ(second, (std::vector<std::string>{"rule:1:order:F", "rule:2:first"}));
}

}  // namespace
}  // namespace pond

namespace pond {
namespace {

TEST(TenantStateTest, BirthdayRulesGiveOneCouponAYearOnTheDay) {
  TenantState s = NewState();
  const Timestamp t0 = *ParseRfc3339("2027-02-25T10:00:00+08:00");
  auto member = [&](std::string phone, std::string birthday) {
    MemberEvent e;
    e.member = Ref(IdentityKind::kPhone, std::move(phone));
    e.profile.birthday = *ParseDate(birthday);
    ASSERT_TRUE(s.Apply(e, t0).ok());
  };
  member("13800000001", "1990-02-28");
  member("13800000002", "1992-02-29");  // kept on 28 February in 2027
  member("13800000003", "1990-03-01");
  coupons::CouponTemplate t = NoThreshold("生日8元", 800, 30);
  ASSERT_TRUE(Coupons(s).CreateCouponTemplate(t).ok());
  ASSERT_TRUE(Coupons(s).CreateIssueRule(*coupons::ParseRule(R"({"name":"生日","trigger":"birthday","template_id":1})")).ok());
  EXPECT_EQ(coupons::ParseRule(R"({"name":"x","trigger":"birthday","template_id":1,"min_paid_fen":1})")
                .status().field_errors().at(0).field,
            "min_paid_fen");
  auto holders = [&]() {
    std::vector<std::pair<MemberId, std::string>> out;
    for (MemberId m = 1; m <= 3; ++m) {
      for (const coupons::Coupon* c : Coupons(s).wallet().CouponsOf(m)) out.emplace_back(m, c->occasion);
    }
    return out;
  };
  s.RunDue(t0);                                               // 25 Feb: nobody
  EXPECT_TRUE(holders().empty());
  s.RunDue(*ParseRfc3339("2027-02-28T00:10:00+08:00"));       // 26-28 Feb
  EXPECT_EQ(holders(), (std::vector<std::pair<MemberId, std::string>>{{1, "rule:1:birthday:2027"},
                                                                      {2, "rule:1:birthday:2027"}}));
  s.RunDue(*ParseRfc3339("2027-03-01T08:00:00+08:00"));
  EXPECT_EQ(holders().size(), 3u);
  EXPECT_EQ(Coupons(s).wallet().CouponsOf(3).at(0)->valid_from, *ParseRfc3339("2027-03-01T00:00:00+08:00"));
}

}  // namespace
}  // namespace pond

namespace pond {
namespace {

TEST(TenantStateTest, MemberDayCouponsAreClaimedOnTheirWeekdayByTierOnceADay) {
  TenantState s = NewState();
  const Timestamp wednesday = *ParseRfc3339("2026-11-04T09:00:00+08:00");
  for (const char* phone : {"13800000001", "13800000002"}) {
    MemberEvent e;
    e.member = Ref(IdentityKind::kPhone, phone);
    ASSERT_TRUE(s.Apply(e, wednesday).ok());
  }
  coupons::CouponTemplate t;
  t.name = "会员日满68减6";
  t.threshold = Money::Fen(6800);
  t.off = Money::Fen(600);
  t.valid_days = 1;
  ASSERT_TRUE(Coupons(s).CreateCouponTemplate(t).ok());
  t.name = "会员日满68减10";
  t.off = Money::Fen(1000);
  ASSERT_TRUE(Coupons(s).CreateCouponTemplate(t).ok());
  // DOMAIN.md §2: standard members get 减6, gold 减10, every Wednesday.
  ASSERT_TRUE(Coupons(s).CreateIssueRule(*coupons::ParseRule(
                                    R"({"name":"会员日","trigger":"member_day","template_id":1,"tiers":["standard"]})"))
                  .ok());
  ASSERT_TRUE(Coupons(s).CreateIssueRule(*coupons::ParseRule(
                                    R"({"name":"会员日金卡","trigger":"member_day","template_id":2,"tiers":["gold"]})"))
                  .ok());
  EXPECT_EQ(coupons::ParseRule(R"({"name":"x","trigger":"member_day","template_id":1,"weekday":8})")
                .status().field_errors().at(0).field,
            "weekday");
  auto got = Coupons(s).ClaimMemberDay(1, wednesday);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].coupon->template_id, 1);
  EXPECT_EQ((*got)[0].coupon->valid_to, *ParseRfc3339("2026-11-05T00:00:00+08:00")) << "valid that day";
  EXPECT_FALSE(Coupons(s).ClaimMemberDay(1, wednesday.PlusSeconds(3600))->at(0).fresh) << "once a day";
  EXPECT_EQ(ReasonOf(Coupons(s).ClaimMemberDay(1, wednesday.PlusSeconds(24 * 3600)).status()), "not_member_day");
  auto next = Coupons(s).ClaimMemberDay(1, wednesday.PlusSeconds(7 * 24 * 3600));
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(next->at(0).fresh) << "the next Wednesday gives another";
  EXPECT_EQ(Coupons(s).wallet().CouponsOf(1).size(), 2u);
}

TEST(TenantStateTest, ActivityClaimsComeBackAfterAReloadAndTimeFailsOpenGroups) {
  auto data = std::make_shared<testing::MemoryTenantData>();
  testing::MemoryTenantStore store(data);
  TenantState live = NewState();
  const Timestamp t0 = *ParseRfc3339("2026-11-06T20:00:00+08:00");
  for (int i = 1; i <= 4; ++i) {
    MemberEvent e;
    e.member = Ref(IdentityKind::kPhone, "1380000000" + std::to_string(i));
    ASSERT_TRUE(live.Apply(e, t0).ok());
  }
  activities::Activity group;
  group.kind = activities::ActivityKind::kGroupBuy;
  group.name = "拼团";
  group.sku = "SKU-G";
  group.price = Money::Fen(990);
  group.list_price = Money::Fen(1990);
  group.stock = 4;
  group.group_size = 2;
  group.group_hours = 2;
  group.starts_at = t0;
  group.ends_at = t0.PlusSeconds(48 * 3600);
  ASSERT_TRUE(Activities(live).CreateActivity(group, t0).ok());
  auto opened = Activities(live).ClaimActivity(1, 1, 0, t0);  // stays alone: fails after 2 hours
  ASSERT_TRUE(opened.ok());
  const int64_t lonely = (*opened)->id;
  auto other = Activities(live).ClaimActivity(1, 2, 0, t0.PlusSeconds(60));
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(Activities(live).ClaimActivity(1, 3, (*other)->id, t0.PlusSeconds(120)).ok());
  EXPECT_EQ(ReasonOf(Activities(live).ClaimActivity(1, 4, 0, t0.PlusSeconds(180)).status()), "sold_out");
  EXPECT_EQ(ReasonOf(Activities(live).ClaimActivity(1, 4, lonely, t0.PlusSeconds(2 * 3600)).status()), "group_closed");
  ASSERT_TRUE(Activities(live).ClaimActivity(1, 4, 0, t0.PlusSeconds(2 * 3600 + 1)).ok()) << "the failed group's units are back";
  ASSERT_TRUE(store.Commit(live.TakePending()).ok());

  TenantState reloaded = NewState();
  TenantState::Loader loader(reloaded);
  ASSERT_TRUE(store.Load(loader).ok());
  loader.Finish();
  const Timestamp later = t0.PlusSeconds(3 * 3600);
  for (const TenantState* s : {&live, &reloaded}) {
    const activities::Tally t = Activities(*s).activity_book().TallyOf(1, later);
    EXPECT_EQ((std::vector<int64_t>{t.successes, t.taken, t.groups_complete, t.groups_failed, t.groups_open}),
              (std::vector<int64_t>{4, 4, 1, 1, 1}));  // units: the full group 2, member 4's open one 2
    EXPECT_EQ(t.refused, (std::map<std::string, int64_t>{{"group_closed", 1}, {"sold_out", 1}}));
    EXPECT_EQ(Activities(*s).activity_book().StateOf(*Activities(*s).activity_book().FindClaim(lonely), later), activities::ClaimState::kFailed);
  }
}

}  // namespace
}  // namespace pond

namespace pond {
namespace {

TEST(TenantStateTest, AMergedMembersCouponsAreTheSurvivors) {
  TenantState s = NewState();
  const Timestamp t0 = *ParseRfc3339("2026-11-02T10:00:00+08:00");
  MemberEvent by_phone, by_unionid, both;
  by_phone.member = Ref(IdentityKind::kPhone, "13800000001");
  by_unionid.member = Ref(IdentityKind::kUnionid, "oU-1");
  ASSERT_TRUE(s.Apply(by_phone, t0).ok());
  ASSERT_TRUE(s.Apply(by_unionid, t0).ok());
  coupons::CouponTemplate t = NoThreshold("8元", 800, 7);
  ASSERT_TRUE(Coupons(s).CreateCouponTemplate(t).ok());
  ASSERT_TRUE(Coupons(s).IssueCoupon(1, 2, "k-unionid", "CODE2", t0).ok());
  ASSERT_TRUE(Coupons(s).IssueCoupon(1, 1, "k-phone", "CODE1", t0.PlusSeconds(60)).ok());
  // The same person shows both identities: the two members become one.
  both.member = MemberRef{{Identity{IdentityKind::kPhone, "13800000001"}, Identity{IdentityKind::kUnionid, "oU-1"}},
                          std::nullopt};
  ASSERT_TRUE(s.Apply(both, t0.PlusSeconds(120)).ok());
  const MemberId survivor = s.members().Standing(1);
  ASSERT_EQ(survivor, s.members().Standing(2));
  std::vector<std::string> codes;
  for (const coupons::Coupon* c : Coupons(s).CouponsOf(survivor)) codes.push_back(c->code);
  EXPECT_EQ(codes, (std::vector<std::string>{"CODE2", "CODE1"})) << "both, in issue order";
  const MemberId merged = survivor == 1 ? 2 : 1;
  EXPECT_EQ(Coupons(s).CouponsOf(merged).size(), 2u) << "asked by the merged number, the survivor answers";
  // A chain: the survivor merges again, with a member holding a third coupon.
  MemberEvent by_ext, again;
  by_ext.member = Ref(IdentityKind::kExternalUserid, "wm-3");
  ASSERT_TRUE(s.Apply(by_ext, t0).ok());
  ASSERT_TRUE(Coupons(s).IssueCoupon(1, 3, "k-ext", "CODE3", t0.PlusSeconds(180)).ok());
  again.member = MemberRef{{Identity{IdentityKind::kExternalUserid, "wm-3"}, Identity{IdentityKind::kUnionid, "oU-1"}},
                           std::nullopt};
  ASSERT_TRUE(s.Apply(again, t0.PlusSeconds(240)).ok());
  codes.clear();
  for (const coupons::Coupon* c : Coupons(s).CouponsOf(s.members().Standing(3))) codes.push_back(c->code);
  EXPECT_EQ(codes, (std::vector<std::string>{"CODE2", "CODE1", "CODE3"})) << "through every merge, in issue order";
}

}  // namespace
}  // namespace pond

namespace pond {
namespace {

TEST(TenantStateTest, AHelperOfABargainThatIsOverIsNotRegistered) {
  TenantState s = NewState();
  const Timestamp t0 = *ParseRfc3339("2026-11-06T20:00:00+08:00");
  MemberEvent e;
  e.member = Ref(IdentityKind::kPhone, "13800000001");
  ASSERT_TRUE(s.Apply(e, t0).ok());
  activities::Activity bargain;
  bargain.kind = activities::ActivityKind::kBargain;
  bargain.name = "砍价";
  bargain.sku = "SKU-B";
  bargain.price = Money::Fen(100);
  bargain.list_price = Money::Fen(1000);
  bargain.helpers = 1;
  bargain.bargain_hours = 24;
  bargain.helper_tag = "bargain_helper";
  bargain.stock = 5;
  bargain.starts_at = t0;
  bargain.ends_at = t0.PlusSeconds(48 * 3600);
  ASSERT_TRUE(Activities(s).CreateActivity(bargain, t0).ok());
  auto started = Activities(s).ClaimActivity(1, 1, 0, t0);
  ASSERT_TRUE(started.ok());
  const int64_t claim = (*started)->id;
  ASSERT_TRUE(Activities(s).HelpBargain(claim, Ref(IdentityKind::kPhone, "13700000001"), t0.PlusSeconds(60)).ok());
  EXPECT_EQ(s.members().standing_count(), 2) << "the first friend became a member";
  EXPECT_EQ(ReasonOf(Activities(s).HelpBargain(claim, Ref(IdentityKind::kPhone, "13700000002"), t0.PlusSeconds(120)).status()),
            "bargain_closed");
  EXPECT_EQ(s.members().standing_count(), 2) << "a friend refused is not registered";
  EXPECT_EQ(Activities(s).activity_book().TallyOf(1, t0.PlusSeconds(120)).cuts_refused,
            (std::map<std::string, int64_t>{{"bargain_closed", 1}}));
}

}  // namespace
}  // namespace pond

namespace pond {
namespace {

// CONTRACT.md "Merged members and per-member limits": whatever came first,
// the claims or the merge, a survivor counts with every member merged into
// it — also after a reload.
TEST(TenantStateTest, PerMemberLimitsCountEveryMemberMergedIntoTheSurvivor) {
  auto data = std::make_shared<testing::MemoryTenantData>();
  testing::MemoryTenantStore store(data);
  TenantState live = NewState();
  const Timestamp wednesday = *ParseRfc3339("2026-11-04T10:00:00+08:00");
  auto at = [&](int minutes) { return wednesday.PlusSeconds(minutes * 60); };
  auto join = [&](std::vector<Identity> ids, int minute) {
    MemberEvent e;
    e.member = MemberRef{std::move(ids), std::nullopt};
    ASSERT_TRUE(live.Apply(e, at(minute)).ok());
  };
  // Members 1-6: the odd ones known by phone, the even ones by unionid.
  for (int i = 1; i <= 6; ++i) {
    join({i % 2 ? Identity{IdentityKind::kPhone, "1380000000" + std::to_string(i)}
                : Identity{IdentityKind::kUnionid, "oU-" + std::to_string(i)}},
         0);
  }
  coupons::CouponTemplate one_each = NoThreshold("新人券", 500, 7);
  one_each.per_member_limit = 1;
  ASSERT_TRUE(Coupons(live).CreateCouponTemplate(one_each).ok());
  ASSERT_TRUE(Coupons(live).CreateIssueRule(*coupons::ParseRule(R"({"name":"会员日","trigger":"member_day","template_id":1})")).ok());
  activities::Activity flash;
  flash.kind = activities::ActivityKind::kFlashSale;
  flash.name = "秒杀";
  flash.sku = "SKU-F";
  flash.price = Money::Fen(990);
  flash.stock = 10;
  flash.per_member_limit = 1;
  flash.starts_at = wednesday;
  flash.ends_at = wednesday.PlusSeconds(7 * 86400);
  ASSERT_TRUE(Activities(live).CreateActivity(flash, wednesday).ok());  // 1
  activities::Activity group = flash;
  group.kind = activities::ActivityKind::kGroupBuy;
  group.name = "拼团";
  group.list_price = Money::Fen(1990);
  group.group_size = 3;
  group.group_hours = 24;
  group.per_member_limit = 0;
  ASSERT_TRUE(Activities(live).CreateActivity(group, wednesday).ok());  // 2
  activities::Activity bargain = group;
  bargain.kind = activities::ActivityKind::kBargain;
  bargain.name = "砍价";
  bargain.group_size = 0;
  bargain.group_hours = 0;
  bargain.helpers = 3;
  bargain.bargain_hours = 24;
  bargain.helper_tag = "bargain_helper";
  bargain.seed = 7;
  ASSERT_TRUE(Activities(live).CreateActivity(bargain, wednesday).ok());  // 3
  // A lucky draw for an audience frozen before the merges: member 6 only.
  MemberEvent in_shenzhen;
  in_shenzhen.member = Ref(IdentityKind::kUnionid, "oU-6");
  in_shenzhen.profile.city = "深圳";
  ASSERT_TRUE(live.Apply(in_shenzhen, wednesday).ok());
  auto snapshot = Snapshot(live, "深圳", **segments::ParseExpr(R"(city = "深圳")"), "test", wednesday);
  ASSERT_TRUE(snapshot.ok());
  ASSERT_EQ((*snapshot)->count, 1);
  activities::Activity draw = flash;
  draw.kind = activities::ActivityKind::kLuckyDraw;
  draw.name = "抽奖";
  draw.stock = 0;
  draw.sku.clear();
  draw.price = Money::Fen(0);
  draw.prizes = {{"mug", 5, 1, 0}};
  draw.snapshot_id = (*snapshot)->id;
  draw.seed = 11;
  auto made_draw = Activities(live).CreateActivity(draw, wednesday);  // 4
  ASSERT_TRUE(made_draw.ok()) << made_draw.status().ToString();

  // Claims first: member 2 takes the template's one coupon and the flash
  // sale's one unit and opens a group, 2 helps 3's bargain, 6 claims the
  // member-day coupon and starts a bargain of its own.
  ASSERT_TRUE(Coupons(live).IssueCoupon(1, 2, "k2", "CODE2", at(1)).ok());
  ASSERT_TRUE(Activities(live).ClaimActivity(1, 2, 0, at(2)).ok());
  auto opened = Activities(live).ClaimActivity(2, 2, 0, at(3));
  ASSERT_TRUE(opened.ok());
  const int64_t group_id = (*opened)->id;
  auto started = Activities(live).ClaimActivity(3, 3, 0, at(4));
  ASSERT_TRUE(started.ok());
  const int64_t bargain_of_3 = (*started)->id;
  ASSERT_TRUE(Activities(live).HelpBargain(bargain_of_3, Ref(IdentityKind::kUnionid, "oU-2"), at(4)).ok());
  auto claimed = Coupons(live).ClaimMemberDay(6, at(5));
  ASSERT_TRUE(claimed.ok() && claimed->at(0).fresh);
  auto started_by_6 = Activities(live).ClaimActivity(3, 6, 0, at(5));
  ASSERT_TRUE(started_by_6.ok());
  const int64_t bargain_of_6 = (*started_by_6)->id;

  // Then the merges: 2 into 1, 6 into 5 (the oldest member survives).
  join({Identity{IdentityKind::kPhone, "13800000001"}, Identity{IdentityKind::kUnionid, "oU-2"}}, 6);
  join({Identity{IdentityKind::kPhone, "13800000005"}, Identity{IdentityKind::kUnionid, "oU-6"}}, 6);
  ASSERT_EQ(live.members().Standing(2), 1);
  ASSERT_EQ(live.members().Standing(6), 5);

  // Then a merge before the claim: 4 into 3, after which 4's identity
  // takes 3's flash-sale unit and 3 has none left.
  join({Identity{IdentityKind::kPhone, "13800000003"}, Identity{IdentityKind::kUnionid, "oU-4"}}, 7);
  ASSERT_TRUE(Activities(live).ClaimActivity(1, 4, 0, at(8)).ok());

  auto expect_counted_together = [&](TenantState& s, const char* when) {
    SCOPED_TRACE(when);
    EXPECT_EQ(ReasonOf(Coupons(s).IssueCoupon(1, 1, "k-again", "CODE9", at(10)).status()), "limit_reached");
    EXPECT_EQ(ReasonOf(Activities(s).ClaimActivity(1, 1, 0, at(10)).status()), "limit_reached");
    EXPECT_EQ(ReasonOf(Activities(s).ClaimActivity(1, 3, 0, at(10)).status()), "limit_reached");
    EXPECT_EQ(ReasonOf(Activities(s).ClaimActivity(2, 1, group_id, at(10)).status()), "limit_reached") << "one join per group";
    EXPECT_EQ(ReasonOf(Activities(s).HelpBargain(bargain_of_3, Ref(IdentityKind::kPhone, "13800000001"), at(10)).status()),
              "already_helped");
    EXPECT_EQ(ReasonOf(Activities(s).HelpBargain(bargain_of_6, Ref(IdentityKind::kPhone, "13800000005"), at(10)).status()),
              "own_bargain");
    auto day = Coupons(s).ClaimMemberDay(5, at(10));
    ASSERT_TRUE(day.ok()) << day.status().ToString();
    EXPECT_FALSE(day->at(0).fresh) << "6's member-day coupon is 5's";
    EXPECT_EQ(Coupons(s).CouponsOf(5).size(), 1u);
    EXPECT_TRUE(Activities(s).ClaimActivity(4, 5, 0, at(10)).ok()) << "in the audience through 6";
    EXPECT_EQ(ReasonOf(Activities(s).ClaimActivity(4, 1, 0, at(10)).status()), "not_eligible");
    // Members standing alone are not held back by it.
    EXPECT_TRUE(Activities(s).ClaimActivity(1, 5, 0, at(10)).ok());
  };
  ASSERT_TRUE(store.Commit(live.TakePending()).ok());
  expect_counted_together(live, "live");

  TenantState reloaded = NewState();
  TenantState::Loader loader(reloaded);
  ASSERT_TRUE(store.Load(loader).ok());
  loader.Finish();
  expect_counted_together(reloaded, "after a reload");
}

}  // namespace
}  // namespace pond

namespace pond {
namespace {

// Timers fire through their kind's handler in time order, each once, and
// day runs take their place among them: a timer due before a day begins
// fires before that day's run, one due after it fires after — also when
// the work goes in the smallest slices.
TEST(TenantStateTest, TimersAndDayRunsFireInTimeOrder) {
  for (const bool sliced : {false, true}) {
    TenantState s = NewState();
    std::vector<std::string> fired;
    s.OnTimer(TimerKind::kTest, [&](TenantState& st, int64_t id, Timestamp at) {
      fired.push_back(std::to_string(id) + "@" + FormatRfc3339(at, st.zone()) + " after day " +
                      st.last_day_run().ToString());
    });
    const Timestamp monday = *ParseRfc3339("2026-03-02T09:00:00+08:00");
    ASSERT_EQ(s.RunDue(monday), Slice::kDone);  // the first day run: Monday
    // Armed out of order; two share a second; one is due already.
    const std::pair<int64_t, const char*> timers[] = {
        {3, "2026-03-04T08:00:00+08:00"}, {1, "2026-03-02T23:59:59+08:00"}, {2, "2026-03-03T00:00:00+08:00"},
        {4, "2026-03-04T08:00:00+08:00"}, {0, "2026-03-02T08:00:00+08:00"}, {5, "2026-03-09T00:00:00+08:00"}};
    for (const auto& [id, at] : timers) ASSERT_TRUE(s.ArmTimer(TimerKind::kTest, id, *ParseRfc3339(at)));
    if (sliced) s.StartSlice(std::chrono::steady_clock::time_point::min());
    const Timestamp thursday = *ParseRfc3339("2026-03-05T10:00:00+08:00");
    int calls = 1;
    while (s.RunDue(thursday) == Slice::kLater) ++calls;
    EXPECT_EQ(fired, (std::vector<std::string>{
                         "0@2026-03-02T08:00:00+08:00 after day 2026-03-02",
                         "1@2026-03-02T23:59:59+08:00 after day 2026-03-02",
                         "2@2026-03-03T00:00:00+08:00 after day 2026-03-03",
                         "3@2026-03-04T08:00:00+08:00 after day 2026-03-04",
                         "4@2026-03-04T08:00:00+08:00 after day 2026-03-04",
                     }));
    EXPECT_EQ(s.last_day_run().ToString(), "2026-03-05");
    EXPECT_EQ(s.timers().pending(), 1u);  // next Monday's
    EXPECT_EQ(calls > 3, sliced) << calls;
  }
}

}  // namespace
}  // namespace pond

namespace pond {
namespace {

// The day run's cursor is not stored: a restart in the middle of a day runs
// that day again from its start. What the interrupted run stored and the
// second run together must be what one run would have done.
TEST(TenantStateTest, ADayRunCutShortByARestartEndsAsOneRunWould) {
  const Timestamp start = *ParseRfc3339("2026-01-01T09:00:00+08:00");
  const Timestamp loaded = *ParseRfc3339("2026-03-01T00:10:00+08:00");
  auto fill = [&](TenantState& s) {
    testing::SetLoyaltyConfig(s, DayRunConfig(), start);
    ASSERT_TRUE(Save(s, "rich", **segments::ParseExpr("points >= 100"), "E1", loaded).ok());
    Random events(5);
    for (int i = 0; i < 3000; ++i) {
      const Event e = Order("O" + std::to_string(i), Ref(IdentityKind::kPhone, std::to_string(events.Uniform(600))),
                            events.Range(100, 90000), start.seconds() + events.Range(0, 58 * 86400));
      ASSERT_TRUE(s.Apply(e, loaded).ok());
    }
  };
  const Timestamp day_two = *ParseRfc3339("2026-03-02T00:30:00+08:00");
  TenantState whole = NewState();
  fill(whole);
  ASSERT_EQ(whole.RunDue(loaded), Slice::kDone);
  ASSERT_EQ(whole.RunDue(day_two), Slice::kDone);
  for (int cut : {1, 3, 8, 20}) {
    auto data = std::make_shared<testing::MemoryTenantData>();
    testing::MemoryTenantStore store(data);
    {
      TenantState live = NewState();
      fill(live);
      ASSERT_EQ(live.RunDue(loaded), Slice::kDone);
      live.StartSlice(std::chrono::steady_clock::time_point::min());
      // Each slice commits; the process dies after `cut` of them.
      for (int i = 0; i < cut; ++i) {
        ASSERT_EQ(live.RunDue(day_two), Slice::kLater) << cut;
        ASSERT_TRUE(store.Commit(live.TakePending()).ok());
      }
    }
    TenantState restarted = NewState();
    TenantState::Loader loader(restarted);
    ASSERT_TRUE(store.Load(loader).ok());
    loader.Finish();
    EXPECT_EQ(restarted.last_day_run().ToString(), "2026-03-01") << cut;
    ASSERT_EQ(restarted.RunDue(day_two), Slice::kDone);
    EXPECT_EQ(Observe(restarted), Observe(whole)) << "cut after " << cut << " slices";
    EXPECT_EQ(ObserveRfm(restarted), ObserveRfm(whole)) << cut;
    EXPECT_EQ(restarted.saved_segments()[0].sizes, whole.saved_segments()[0].sizes) << cut;
  }
}

}  // namespace
}  // namespace pond

namespace pond {
namespace {

// An audience taken a chunk of members per slice is the audience taken at
// once: the same members in the same order, the same count.
TEST(TenantStateTest, AnAudienceInSlicesIsTheAudienceAtOnce) {
  TenantState s = NewState();
  const Timestamp now = *ParseRfc3339("2026-03-02T09:00:00+08:00");
  for (int i = 0; i < 140'000; ++i) {
    MemberProfile p;
    if (i % 7 == 0) p.city = "深圳";
    if (i % 3 == 0) p.source = "store";
    ASSERT_TRUE(s.Apply(MemberEvent{Ref(IdentityKind::kPhone, std::to_string(13800000000 + i)), p}, now).ok());
  }
  s.StartSlice(std::chrono::steady_clock::time_point::min());
  for (const char* text : {R"(city = "深圳")", R"(city = "深圳" and not source = "store")", R"(source = "store")"}) {
    const auto expr = std::move(segments::ParseExpr(text)).value();
    TenantState::Audience listed{.list = true}, counted;
    int slices = 1;
    while (s.Evaluate(*expr, now, listed).value() == Slice::kLater) ++slices;
    EXPECT_EQ(slices, 3) << "one 65 536-member chunk a slice";
    while (s.Evaluate(*expr, now, counted).value() == Slice::kLater) {
    }
    const auto at_once = s.segments().Match(*expr, s.SegmentContext(now), SIZE_MAX).value();
    EXPECT_GT(at_once.size(), 10'000u) << text;
    EXPECT_EQ(DecodeIdList(listed.members.bytes()).value(), at_once) << text;
    EXPECT_EQ(listed.count, static_cast<int64_t>(at_once.size()));
    EXPECT_EQ(counted.count, static_cast<int64_t>(at_once.size()));
    EXPECT_TRUE(counted.members.bytes().empty());
  }
  TenantState::Audience bad;
  EXPECT_EQ(s.Evaluate(**segments::ParseExpr(R"(tier = "platinum9")"), now, bad).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pond
