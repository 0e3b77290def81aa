#include "engine/tenant_state.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <span>

#include "core/hash_index.hpp"
#include "core/huge_pages.hpp"
#include "core/id_list.hpp"
#include "core/log.hpp"
#include "engine/modules/modules.hpp"

namespace pond {
namespace {

constexpr std::string_view kLoyaltySetting = "loyalty";
constexpr std::string_view kTagsSetting = "tags";
constexpr std::string_view kSegmentsSetting = "segments";
constexpr size_t kMaxSavedSegments = 1000;

// A member event's content as tagged bytes: no two different events give the
// same bytes, identities in a fixed order whatever order they came in, and no
// dependence on the tenant's zone. Stored digests depend on this layout:
// change it only with a migration.
void AppendText(std::string& out, char tag, std::string_view v) {
  const auto n = static_cast<uint32_t>(v.size());
  out.push_back(tag);
  out.append(reinterpret_cast<const char*>(&n), sizeof n).append(v);
}

void AppendInt(std::string& out, char tag, int64_t v) {
  out.push_back(tag);
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

uint64_t MemberEventDigest(const MemberEvent& e, std::string& scratch) {
  scratch.clear();
  for (int k = 0; k < kIdentityKinds; ++k) {
    for (const Identity& i : e.member.identities) {
      if (static_cast<int>(i.kind) == k) AppendText(scratch, static_cast<char>('0' + k), i.value);
    }
  }
  if (e.member.member_id) AppendInt(scratch, 'm', *e.member.member_id);
  const MemberProfile& p = e.profile;
  if (p.name) AppendText(scratch, 'n', *p.name);
  if (p.gender) AppendInt(scratch, 'g', static_cast<int64_t>(*p.gender));
  if (p.birthday) AppendInt(scratch, 'b', p.birthday->days());
  if (p.city) AppendText(scratch, 'c', *p.city);
  if (p.home_store) AppendText(scratch, 'h', *p.home_store);
  if (p.source) AppendText(scratch, 's', *p.source);
  if (p.owner_staff) AppendText(scratch, 'o', *p.owner_staff);
  if (p.registered_at) AppendInt(scratch, 'r', p.registered_at->micros());
  return HashKey(scratch);
}

LoyaltyEffect EffectOf(const LedgerEntry& e) {
  return LoyaltyEffect{e.tick, e.points, e.growth, e.unrecovered, e.rate_bp, e.growth_per_yuan, e.lot};
}

LedgerEntry EntryOf(const LoyaltyEffect& x, EntryKind kind, int32_t order, Timestamp at, Timestamp paid_at) {
  LedgerEntry e;
  e.tick = x.tick;
  e.kind = kind;
  e.at = at;
  e.points = x.points;
  e.growth = x.growth;
  e.unrecovered = x.unrecovered;
  e.order = order;
  e.paid_at = paid_at;
  e.rate_bp = x.rate_bp;
  e.growth_per_yuan = static_cast<int32_t>(x.growth_per_yuan);
  e.lot = x.lot;
  return e;
}

}  // namespace

TenantState::TenantState(TenantRecord record, TimeZone zone)
    : record_(std::move(record)),
      zone_(zone),
      loyalty_(DefaultLoyaltyConfig(), zone_),
      tags_(record_.created_at) {
  DefineTagsInIndex();
  AddModules(*this);
}

void TenantState::Publish(DomainEvent event) {
  if (publishing_) {
    if (std::holds_alternative<OrderApplied>(event) || std::holds_alternative<RefundApplied>(event)) {
      throw std::logic_error("an order or refund applied from a module's reaction");  // fails the tenant, not the process
    }
    published_.push_back(std::move(event));
    return;
  }
  publishing_ = true;
  struct Done {
    TenantState& s;
    ~Done() {
      s.publishing_ = false;
      s.published_.clear();
    }
  } done{*this};
  for (const std::unique_ptr<Module>& m : modules_) m->On(event);
  for (size_t i = 0; i < published_.size(); ++i) {
    const DomainEvent next = std::move(published_[i]);  // hearing it may publish more (and move the vector)
    for (const std::unique_ptr<Module>& m : modules_) m->On(next);
  }
}

Result<EventOutcome> TenantState::Apply(Event event, Timestamp now) {
  segments_.KeepCurrent(zone_.DateOf(now));  // live as loaded, before the first day run too
  return std::visit(
      [&](auto&& e) -> Result<EventOutcome> {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, MemberEvent>) {
          return ApplyMember(e, now);
        } else if constexpr (std::is_same_v<T, OrderEvent>) {
          return ApplyOrder(std::move(e), now);
        } else if constexpr (std::is_same_v<T, RefundEvent>) {
          return ApplyRefund(std::move(e), now);
        } else if constexpr (std::is_same_v<T, StoreInfo>) {
          return ApplyMaster(std::move(e));
        } else if constexpr (std::is_same_v<T, StaffInfo>) {
          return ApplyMaster(std::move(e));
        } else if constexpr (std::is_same_v<T, ProductInfo>) {
          return ApplyMaster(std::move(e));
        } else {
          static_assert(std::is_same_v<T, CategoryInfo>);
          return ApplyMaster(std::move(e));
        }
      },
      event);
}

void TenantState::Persist(const Resolution& res, Timestamp now) {
  for (const MergeRecord& m : res.merges) {
    orders_.MergeMembers(m.survivor, m.merged);
    const std::optional<TierChange> tier = loyalty_.Merge(m.survivor, m.merged, m.at);
    Record(LoyaltyRow{TakeTick(), m.survivor, LoyaltyKind::kMerge, m.at, 0, {}, {}, {}, std::to_string(m.merged)});
    RecordTier(tier, now);
    Record(TakeTick(), MergeRow{m.survivor, m.merged, m.at, m.reason});
    segments_.Merge(m.survivor, m.merged);
    MergeTags(m.survivor, m.merged, m.at);
    dirty_members_.insert(m.merged);
    Publish(MemberMerged{m.survivor, m.merged, now});
  }
  if (!res.merges.empty()) Restage(res.member, now);
  if (res.created || !res.attached.empty() || !res.merges.empty()) dirty_members_.insert(res.member);
}

void TenantState::RecordTier(const std::optional<TierChange>& change, Timestamp now) {
  if (!change) return;
  const auto& tiers = loyalty_.config().tiers;
  Record(LoyaltyRow{TakeTick(), change->member, LoyaltyKind::kTier, change->at, 0, {},
                    tiers[static_cast<size_t>(change->from)].id, tiers[static_cast<size_t>(change->to)].id,
                    change->cause});
  Publish(TierChanged{*change, now});
}

void TenantState::CollectPurchaseDates(MemberId member) {
  dates_.clear();
  orders_.ForEachOrderOf(member, [&](const OrderRecord& o) {
    if (o.net() > Money()) dates_.push_back(zone_.DateOf(o.paid_at));
  });
}

void TenantState::Restage(MemberId member, Timestamp now, std::optional<LocalDate> history_from) {
  CollectPurchaseDates(member);
  const LifecycleRule& rule = loyalty_.config().lifecycle;
  const LocalDate today = zone_.DateOf(now);
  auto move_to = [&](Stage stage, Timestamp at) {
    if (auto change = lifecycle_.MoveTo(member, stage, at)) {
      Record(LoyaltyRow{TakeTick(), member, LoyaltyKind::kStage, at, 0, {}, std::string(StageName(change->from)),
                        std::string(StageName(stage)), {}});
      Publish(StageChanged{member, change->from, stage, at, now});
    }
  };
  if (history_from && *history_from < today) {
    // A stage changes only on a purchase day or when a purchase crosses a
    // bound of the rule (active, lost, the window); look at those days
    // after the last recorded change, each with the purchases made by then.
    std::optional<Timestamp> last = lifecycle_.LastChangeAt(member);
    const int32_t after = std::max(history_from->days() - 1, last ? zone_.DateOf(*last).days() : INT32_MIN);
    std::sort(dates_.begin(), dates_.end());
    std::vector<int32_t> days;
    for (const LocalDate d : dates_) {
      for (int32_t day : {d.days(), d.days() + rule.active_days + 1, d.days() + rule.lost_after_days + 1,
                          d.days() + rule.window_days}) {
        if (day > after && day < today.days()) days.push_back(day);
      }
    }
    std::sort(days.begin(), days.end());
    days.erase(std::unique(days.begin(), days.end()), days.end());
    for (const int32_t day : days) {
      const LocalDate as_of = LocalDate::FromDays(day);
      const auto made = std::upper_bound(dates_.begin(), dates_.end(), as_of) - dates_.begin();
      move_to(StageOf(std::span(dates_.data(), static_cast<size_t>(made)), as_of, rule), zone_.StartOfDay(as_of));
    }
  }
  move_to(StageOf(dates_, today, rule), now);
}

void TenantState::RecordExpiry(MemberId member, const LedgerEntry& e) {
  Record(LoyaltyRow{e.tick, member, LoyaltyKind::kExpire, e.at, e.points, e.lot, {}, {}, {}});
}

void TenantState::ExpireDead(MemberId member, Timestamp now) {
  for (const LedgerEntry& e : loyalty_.ExpireDueOf(member, now, next_tick_)) RecordExpiry(member, e);
}

void TenantState::ScoreRfmAsOf(LocalDate day) {
  std::vector<RfmInput> inputs(static_cast<size_t>(members_.size()) + 1);
  for (MemberId m = 1; m <= members_.size(); ++m) {
    if (members_.Standing(m) == m) inputs[static_cast<size_t>(m)] = RfmInputOf(m, day);
  }
  lifecycle_.SetRfm(ScoreRfm(inputs), day);
}

RfmInput TenantState::RfmInputOf(MemberId m, LocalDate day) const {
  // R: days since the last purchase; F and M: purchases and net spend in the
  // lifecycle window — over members with a purchase in that window.
  const int window = loyalty_.config().lifecycle.window_days;
  RfmInput in;
  int32_t latest = std::numeric_limits<int32_t>::min();
  orders_.ForEachOrderOf(m, [&](const OrderRecord& o) {
    const int32_t ago = day.days() - zone_.DateOf(o.paid_at).days();
    if (o.net() <= Money() || ago >= window) return;
    in.scored = true;
    ++in.frequency;
    in.monetary_fen += o.net().fen();
    latest = std::max(latest, day.days() - std::max(ago, 0));
  });
  if (in.scored) in.recency_days = day.days() - latest;
  return in;
}

Result<EventOutcome> TenantState::ApplyMember(const MemberEvent& e, Timestamp now) {
  if (e.profile.registered_at) {
    if (std::string problem = FutureProblem(*e.profile.registered_at, now); !problem.empty()) {
      return FieldInvalid("registered_at", std::move(problem));
    }
  }
  if (e.profile.birthday && *e.profile.birthday > zone_.DateOf(now)) {
    return FieldInvalid("birthday", "must not be in the future");
  }
  // A member event has no id of its own: its content is its natural key.
  const uint64_t digest = MemberEventDigest(e, scratch_);
  const std::string_view source = e.profile.source ? std::string_view(*e.profile.source) : "api";
  ASSIGN_OR_RETURN(Resolution res, members_.Resolve(e.member, now, source));
  Persist(res, now);
  const bool news = res.created || !res.attached.empty() || !res.merges.empty();
  // Seen before (perhaps by a member since merged into this one): applying
  // it again could overwrite what later events set, so it changes nothing.
  if (!news && members_.HasSeenEvent(res.member, digest)) return EventOutcome::kDuplicate;
  const bool changed = members_.UpdateProfile(res.member, e.profile);
  if (!news && !changed) return EventOutcome::kDuplicate;
  members_.RememberEvent(res.member, digest);
  dirty_members_.insert(res.member);
  Reindex(res.member);
  return EventOutcome::kAccepted;
}

Result<EventOutcome> TenantState::ApplyOrder(OrderEvent&& e, Timestamp now) {
  if (orders_.HasOrder(e.order_id)) return EventOutcome::kDuplicate;
  if (std::string problem = FutureProblem(e.paid_at, now); !problem.empty()) {
    return FieldInvalid("paid_at", std::move(problem));
  }
  // Before anything changes: a module's refusal (a coupon it lists) refuses the order.
  for (const std::unique_ptr<Module>& m : modules_) RETURN_IF_ERROR(m->CheckOrder(e));
  ASSIGN_OR_RETURN(Resolution res, members_.Resolve(e.member, now, "order"));
  if (res.created) {
    // A member first met through an order registered when they paid.
    members_.UpdateProfile(res.member, MemberProfile{.registered_at = e.paid_at});
  }
  Persist(res, now);
  orders_.AddOrder(e, res.member);
  const auto position = static_cast<int32_t>(orders_.order_count() - 1);
  std::optional<TierChange> tier;
  const LedgerEntry& earned = loyalty_.Earn(TakeTick(),
                                            Purchase{res.member, position, e.paid_at, e.paid, e.channel, e.items,
                                                     members_.Get(res.member)->profile.birthday},
                                            &tier);
  const int32_t units = CollectItems(e);
  segments_.AddPurchase(res.member, position, zone_.DateOf(e.paid_at), e.paid, units, categories_);
  e.member = {};
  const OrderRow row{res.member, std::move(e), EffectOf(earned)};
  Record(row.loyalty.tick, row);
  ExpireDead(res.member, now);
  Publish(OrderApplied{res.member, &row, now});
  RecordTier(tier, now);
  Restage(res.member, now, zone_.DateOf(row.order.paid_at));
  // A new or merged member has a profile to report; otherwise only what the order changed.
  if (res.created || !res.merges.empty()) {
    Reindex(res.member);
  } else {
    ReindexLoyalty(res.member);
  }
  return EventOutcome::kAccepted;
}

Result<EventOutcome> TenantState::ApplyRefund(RefundEvent&& e, Timestamp now) {
  if (orders_.HasRefund(e.refund_id)) return EventOutcome::kDuplicate;
  if (std::string problem = FutureProblem(e.refunded_at, now); !problem.empty()) {
    return FieldInvalid("refunded_at", std::move(problem));
  }
  RETURN_IF_ERROR(orders_.CheckRefund(e));
  const MemberId member = orders_.ApplyRefund(e);
  const int32_t position = orders_.PositionOf(e.order_id);
  std::optional<TierChange> tier;
  const LedgerEntry& reversed =
      loyalty_.Reverse(TakeTick(), member, position, orders_.Order(position).net(), e.refunded_at, &tier,
                       e.refund_id);
  segments_.SetPurchaseNet(member, position, orders_.Order(position).net());
  const LocalDate refund_day = zone_.DateOf(e.refunded_at);
  const RefundRow row{std::move(e), EffectOf(reversed)};
  Record(row.loyalty.tick, row);
  Publish(RefundApplied{member, &row, orders_.Order(position).net().fen() <= 0, now});
  RecordTier(tier, now);
  Restage(member, now, refund_day);
  ReindexLoyalty(member);
  return EventOutcome::kAccepted;
}

Result<LedgerEntry> TenantState::Redeem(MemberId member, int64_t points, std::string redemption_id, Timestamp now) {
  member = members_.Standing(member);  // a merged member's points live on its survivor
  if (!member) return NotFoundField("member", "no such member");
  if (redemption_id.empty()) return FieldInvalid("redemption_id", "is required");
  if (const LedgerEntry* seen = loyalty_.FindRedemption(redemption_id)) {
    if (-seen->points == points) return *seen;  // a replay: the first answer
    return FieldInvalid("redemption_id", "was used for a redemption of " + std::to_string(-seen->points) + " points");
  }
  ASSIGN_OR_RETURN(const LedgerEntry* e, loyalty_.Redeem(next_tick_, member, points, std::move(redemption_id), now));
  ++next_tick_;
  Record(LoyaltyRow{e->tick, member, LoyaltyKind::kRedeem, now, e->points, {}, {}, {}, std::string(loyalty_.NoteOf(*e))});
  ReindexLoyalty(member);
  return *e;
}

Result<LedgerEntry> TenantState::Adjust(MemberId member, int64_t points, std::string reason, Timestamp now) {
  member = members_.Standing(member);
  if (!member) return NotFoundField("member", "no such member");
  if (reason.empty()) return FieldInvalid("reason", "is required: say why the points change");
  ASSIGN_OR_RETURN(const LedgerEntry* e, loyalty_.Adjust(next_tick_, member, points, std::move(reason), now));
  ++next_tick_;
  Record(LoyaltyRow{e->tick, member, LoyaltyKind::kAdjust, now, e->points, e->lot, {}, {},
                    std::string(loyalty_.NoteOf(*e))});
  ReindexLoyalty(member);
  return *e;
}

Slice TenantState::ChangeLoyaltyConfig(LoyaltyChange& change, Timestamp now) {
  const size_t tiers = change.config.tiers.size();
  if (!change.switched) {
    if (tiers >= loyalty_.config().tiers.size()) {
      change.next = members_.size() + 1;  // no tier goes: nothing to move down first
    } else {
      loyalty_.CapTiers(tiers);
    }
  }
  for (int64_t steps = 0;; ++steps) {
    if (steps > 0 && steps % 64 == 0 && SliceSpent()) return Slice::kLater;
    if (change.next > members_.size()) {
      if (change.switched) return Slice::kDone;
      Put(SettingRow{std::string(kLoyaltySetting), LoyaltyConfigJson(change.config)});
      loyalty_.SetRules(change.config);
      change.switched = true;
      change.next = 1;
      continue;
    }
    const MemberId m = change.next++;
    if (!change.switched) {
      if (members_.Standing(m) != m) continue;
      if (auto down = loyalty_.ClampTier(m, tiers, now)) {
        RecordTier(down, now);
        ReindexLoyalty(m);
      }
      continue;
    }
    if (members_.Standing(m) != m) continue;
    RecordTier(loyalty_.RetierForRules(m, now), now);
    ReindexLoyalty(m);  // tier ids may have changed
  }
}

Slice TenantState::RunDue(Timestamp now) {
  const LocalDate today = zone_.DateOf(now);
  for (int64_t steps = 0;; ++steps) {
    if (steps > 0 && SliceSpent()) return Slice::kLater;
    if (day_run_) {
      if (StepDay() == Slice::kLater) return Slice::kLater;
      continue;
    }
    // The first run starts today: there is no earlier work to catch up on.
    const LocalDate day = last_day_ == LocalDate() ? today : LocalDate::FromDays(last_day_.days() + 1);
    const std::optional<Timestamp> timer = timers_.Next();
    const bool day_due = day <= today;
    if (!day_due && !(timer && *timer <= now)) return Slice::kDone;
    // In time order: timers due before the day begins fire before its run.
    if (timer && *timer <= now && (!day_due || *timer < zone_.StartOfDay(day))) {
      if (FireTimers(day_due ? zone_.StartOfDay(day).PlusSeconds(-1) : now) == Slice::kLater) return Slice::kLater;
      continue;
    }
    BeginDay(day);
  }
}

Slice TenantState::FireTimers(Timestamp until) {
  constexpr size_t kBatch = 256;
  for (int64_t steps = 0;; ++steps) {
    if (steps > 0 && SliceSpent()) return timers_.Next() && *timers_.Next() <= until ? Slice::kLater : Slice::kDone;
    firing_.clear();
    if (timers_.TakeDue(until, kBatch, firing_) == 0) return Slice::kDone;
    for (const Timer& t : firing_) {
      // A kind nobody handles any more (its module gone) wakes nobody.
      if (auto h = timer_handlers_.find(t.kind); h != timer_handlers_.end()) h->second(*this, t.id, t.at);
    }
  }
}

void TenantState::BeginDay(LocalDate day) {
  DayRun& run = day_run_.emplace();
  run.day = day;
  run.start = zone_.StartOfDay(day);
  ExpireIdempotency(run.start);
  // Rolling bases are reviewed on the first of the month, or `grace` days later.
  const LoyaltyConfig& config = loyalty_.config();
  const LocalDate period = LocalDate::FromDays(day.days() - config.review_grace_days);
  if (config.basis != GrowthBasis::kLifetime && period.day() == 1) run.review_period_end = zone_.StartOfDay(period);
  // Purchases that arrived since the last layout are scattered; once they
  // are an eighth of the history, the day run lays it out again — before
  // the writer's own rule (a quarter, SegmentIndex::KeepCurrent) stops a
  // day's ingest for it, which only a history arriving within a day reaches.
  if (segments_.purchases_since_compaction() > static_cast<size_t>(orders_.order_count() / 8)) {
    segments_.BeginCompact();
  }
  segments_.BeginDay(day);  // both done in the kIndex phase
  for (const std::unique_ptr<Module>& m : modules_) m->BeginDay(day, run.start);
}

Slice TenantState::StepDay() {
  DayRun& run = *day_run_;
  // Each call does some work before it looks at the time (every 64
  // members, or each chunk counted), so even a slice already spent moves on.
  int64_t steps = 0;
  auto spent = [&](int64_t every) { return ++steps > 1 && (steps - 1) % every == 0 && SliceSpent(); };
  // The index first: its purchases laid out (when due), then its windows
  // and ladders for the day, so the rest of the run (and every question
  // meanwhile, once they are in) reads them.
  if (run.phase == DayRun::Phase::kIndex) {
    constexpr size_t kIndexStep = 4096;
    while (!segments_.StepCompact(kIndexStep) || !segments_.StepDay(kIndexStep)) {
      if (spent(1)) return Slice::kLater;
    }
    run.phase = DayRun::Phase::kRfm;
  }
  // RFM next (stages and the index read it): its inputs member by member,
  // then the scores over all of them, a run of members at a time.
  if (run.phase == DayRun::Phase::kRfm) {
    // By member id, written as it goes (a block zeroed at once costs a
    // long hold in page faults); room for members registered meanwhile.
    if (run.rfm.empty()) {
      run.rfm.reserve(static_cast<size_t>(members_.size() + members_.size() / 8) + 1024);
      run.rfm.emplace_back();  // no member 0
    }
    for (; run.next <= members_.size(); ++run.next) {
      if (spent(64)) return Slice::kLater;
      run.rfm.push_back(members_.Standing(run.next) == run.next ? RfmInputOf(run.next, run.day) : RfmInput{});
    }
    run.scoring.emplace(std::exchange(run.rfm, {}));
    run.phase = DayRun::Phase::kScore;
  }
  if (run.phase == DayRun::Phase::kScore) {
    constexpr size_t kScoreStep = 16384;
    while (!run.scoring->Step(kScoreStep)) {
      if (spent(1)) return Slice::kLater;
    }
    lifecycle_.SetRfm(run.scoring->TakeScores(), run.day);
    run.scoring.reset();
    run.phase = DayRun::Phase::kMembers;
    run.next = 1;
  }
  if (run.phase == DayRun::Phase::kMembers) {
    for (; run.next <= members_.size(); ++run.next) {
      if (spent(64)) return Slice::kLater;
      RunDayFor(run.next);
    }
    run.phase = DayRun::Phase::kSegments;
    run.next = 0;
  }
  // Saved segments' sizes as the day begins, in id order, each counted a
  // chunk of members at a time (run.segment: the one under way).
  for (segments::SavedSegment& saved : saved_segments_) {
    if (saved.id < run.segment) continue;
    if (saved.id > run.segment) {
      run.segment = saved.id;
      run.next = 0;
      run.counted = 0;
    }
    auto expr = segments::ParseExpr(saved.expr);
    Status failed = expr.status();
    for (; failed.ok() && run.next <= members_.size(); run.next += segments::kChunkMembers) {
      if (spent(1)) return Slice::kLater;
      auto count = segments_.CountIn(**expr, SegmentContext(run.start), run.next, run.next + segments::kChunkMembers);
      failed = count.status();
      if (count.ok()) run.counted += *count;
    }
    if (failed.ok()) {
      segments::RecordSize(saved, run.day, run.counted);
    } else {
      Log(LogLevel::kWarn, "saved segment not counted",
          {{"tenant", record_.id}, {"segment", saved.name}, {"error", failed.ToString()}});
    }
    run.segment = saved.id + 1;
  }
  if (!saved_segments_.empty()) PersistSegments();
  Record(LoyaltyRow{TakeTick(), 0, LoyaltyKind::kDay, run.start, 0, {}, {}, {}, run.day.ToString()});
  last_day_ = run.day;
  // Its inputs and scores are hundreds of megabytes at 10 M members:
  // freed off the writer.
  FreeLater(std::move(run));
  day_run_.reset();
  return Slice::kDone;
}

void TenantState::RunDayFor(MemberId m) {
  const DayRun& run = *day_run_;
  for (const LedgerEntry& e : loyalty_.ExpireDueOf(m, run.start, next_tick_)) RecordExpiry(m, e);
  if (run.review_period_end) RecordTier(loyalty_.ReviewOf(m, *run.review_period_end, run.start), run.start);
  if (members_.Standing(m) != m) return;
  Restage(m, run.start);
  ReindexLoyalty(m);  // after expiry, reviews, the new stage and RFM
  for (const std::unique_ptr<Module>& module : modules_) module->DayFor(m, run.day, run.start);
}

segments::QueryContext TenantState::SegmentContext(Timestamp now) const {
  segments::QueryContext context{zone_.DateOf(now), {}};
  for (const TierRule& t : loyalty_.config().tiers) context.tier_ids.push_back(t.id);
  for (const auto& [id, c] : master_.categories()) {
    if (!c.parent.empty()) context.category_parents.emplace_back(id, c.parent);
  }
  return context;
}

void TenantState::Reindex(MemberId member) {
  const Member* m = members_.Get(member);
  if (!m) return;
  const bool standing = m->merged_into == 0;
  segments_.SetStanding(member, standing);
  if (!standing) return;
  const MemberProfile& p = m->profile;
  auto text = [&](segments::Field f, const std::optional<std::string>& v) {
    segments_.SetText(member, f, v ? std::string_view(*v) : std::string_view());
  };
  segments_.SetText(member, segments::Field::kGender, p.gender ? GenderName(*p.gender) : std::string_view());
  text(segments::Field::kCity, p.city);
  text(segments::Field::kHomeStore, p.home_store);
  text(segments::Field::kSource, p.source);
  text(segments::Field::kOwnerStaff, p.owner_staff);
  segments_.SetRegistered(member, p.registered_at ? std::optional(zone_.DateOf(*p.registered_at)) : std::nullopt);
  segments_.SetBirthday(member, p.birthday);
  ReindexLoyalty(member);
}

void TenantState::ReindexLoyalty(MemberId member) {
  const auto& tiers = loyalty_.config().tiers;
  segments_.SetText(member, segments::Field::kTier, tiers[static_cast<size_t>(loyalty_.TierOf(member))].id);
  segments_.SetText(member, segments::Field::kLifecycle, StageName(lifecycle_.StageOfMember(member)));
  segments_.SetText(member, segments::Field::kRfm, RfmClassName(lifecycle_.RfmOf(member).cls));
  const Account* account = loyalty_.Find(member);
  segments_.SetPoints(member, account ? account->balance : 0);
  segments_.SetGrowth(member, account ? account->growth : 0);
}

int32_t TenantState::CollectItems(const OrderEvent& e) {
  categories_.clear();
  int64_t units = 0;
  for (const OrderItem& item : e.items) {
    units += item.qty;
    if (!item.category.empty()) {
      categories_.push_back(item.category);
    } else if (auto p = master_.products().find(item.sku); p != master_.products().end()) {
      categories_.push_back(p->second.category);  // CONTRACT.md: an item without one takes its product's
    }
  }
  return static_cast<int32_t>(std::min<int64_t>(units, std::numeric_limits<int32_t>::max()));
}

template <typename Info>
Result<EventOutcome> TenantState::ApplyMaster(Info&& info) {
  if constexpr (std::is_same_v<std::decay_t<Info>, CategoryInfo>) RETURN_IF_ERROR(master_.CheckCategory(info));
  if (!master_.Upsert(info)) return EventOutcome::kDuplicate;
  Put(info);
  return EventOutcome::kAccepted;
}

void TenantState::DefineTagsInIndex() {
  for (const auto& [name, def] : tags_.definitions()) {
    if (def.kind == tags::TagKind::kManual) {
      segments_.DefineTag(name, nullptr);
      continue;
    }
    auto rule = segments::ParseExpr(def.rule);
    if (!rule.ok()) {  // it parsed when it was stored: only a damaged file gets here
      Log(LogLevel::kError, "stored tag rule unreadable; tag left out",
          {{"tenant", record_.id}, {"tag", name}, {"error", rule.status().ToString()}});
      continue;
    }
    segments_.DefineTag(name, std::move(rule).value());
  }
}

Result<segments::NodePtr> TenantState::CompileRule(std::string_view name, std::string_view rule, Timestamp now) const {
  auto as_field = [](Status s) { return std::move(s.AddFieldError("rule", s.message())); };
  auto node = segments::ParseExpr(rule);
  if (!node.ok()) return as_field(node.status());
  if (Status s = segments_.CheckRule(name, **node, SegmentContext(now)); !s.ok()) return as_field(s);
  return std::move(node).value();
}

Status TenantState::PutTag(tags::TagDefinition def, bool create, Timestamp now) {
  RETURN_IF_ERROR(tags::CheckDefinition(def));
  const tags::TagDefinition* existing = tags_.Find(def.name);
  if (create && existing) return AlreadyExists("tag '" + def.name + "' exists").With("tag", def.name);
  if (!create && !existing) return NotFoundField("name", "no tag '" + def.name + "'").With("tag", def.name);
  if (create && tags_.definitions().size() >= tags::kMaxTags) {
    return ResourceExhausted("a tenant has at most " + std::to_string(tags::kMaxTags) + " tags");
  }
  if (existing && existing->kind != def.kind) {
    return FieldInvalid("kind", "cannot change from " + std::string(tags::TagKindName(existing->kind)) +
                                    ": delete the tag and create it anew");
  }
  if (def.kind == tags::TagKind::kRule) {
    ASSIGN_OR_RETURN(segments::NodePtr rule, CompileRule(def.name, def.rule, now));
    def.rule = segments::ToText(*rule);
    // A rule unchanged keeps its cached answer.
    if (!existing || existing->rule != def.rule) segments_.DefineTag(def.name, std::move(rule));
  } else if (!existing) {
    segments_.DefineTag(def.name, nullptr);
  }
  if (existing) {
    def.created_by = existing->created_by;
    def.created_at = existing->created_at;
  } else {
    def.created_at = now;
  }
  tags_.Put(std::move(def));
  PersistTags();
  return Status::Ok();
}

Status TenantState::RemoveTag(std::string_view name, Timestamp now) {
  const tags::TagDefinition* def = tags_.Find(name);
  if (!def) return NotFoundField("name", "no tag '" + std::string(name) + "'").With("tag", std::string(name));
  std::vector<std::string> readers = segments_.RulesReading(name);
  const segments::Node as_node{segments::Tag{std::string(name)}, 1};
  const std::string written = segments::ToText(as_node);  // saved expressions are canonical too
  for (const segments::SavedSegment& saved : saved_segments_) {
    if (saved.expr.find(written) != std::string::npos) readers.push_back("saved segment " + saved.name);
  }
  if (!readers.empty()) {
    std::string list;
    for (const std::string& r : readers) list += (list.empty() ? "" : ", ") + r;
    return FailedPrecondition("tag '" + std::string(name) + "' is read by " + list + ": change those first");
  }
  if (def->kind == tags::TagKind::kManual) {
    // Recorded, so a tag later created under the same name starts empty on reload too.
    auto holders = segments_.Match(as_node, SegmentContext(now), SIZE_MAX);
    if (holders.ok() && !holders->empty()) {
      RecordTagOperation(std::string(name), false, std::move(*holders), "pond", "tag deleted", now);
    }
  }
  segments_.RemoveTag(name);
  tags_.Remove(name);
  PersistTags();
  return Status::Ok();
}

Status TenantState::CheckManualTag(std::string_view tag) const {
  const tags::TagDefinition* def = tags_.Find(tag);
  if (!def) return NotFoundField("name", "no tag '" + std::string(tag) + "'").With("tag", std::string(tag));
  if (def->kind != tags::TagKind::kManual) {
    return FailedPrecondition("tag '" + std::string(tag) + "' is a rule tag: its members follow its rule");
  }
  return Status::Ok();
}

Result<TenantState::TagChange> TenantState::TagMembers(std::string_view tag, bool add, std::vector<MemberId> members,
                                                      std::string by, std::string note, Timestamp now) {
  RETURN_IF_ERROR(CheckManualTag(tag));
  RETURN_IF_ERROR(tags::CheckText("by", by, tags::kMaxTagNameBytes, false));
  RETURN_IF_ERROR(tags::CheckText("note", note, tags::kMaxDescriptionBytes, false));
  TagChange out;
  std::vector<MemberId> changed;
  for (MemberId m : members) {
    const MemberId standing = members_.Standing(m);
    if (standing && segments_.SetTag(standing, tag, add)) {
      changed.push_back(standing);
    } else {
      ++out.unchanged;
    }
  }
  out.changed = static_cast<int64_t>(changed.size());
  if (!changed.empty()) out.operation = RecordTagOperation(std::string(tag), add, std::move(changed), std::move(by),
                                                           std::move(note), now);
  return out;
}

int64_t TenantState::RecordTagOperation(std::string tag, bool add, std::vector<MemberId> changed, std::string by,
                                        std::string note, Timestamp now) {
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  tags::TagOperation op{tags_.next_operation_id(), std::move(tag), add, std::move(by), now, std::move(note),
                        std::move(changed)};
  Record(TakeTick(), op);
  tags_.Record(std::move(op));
  return tags_.next_operation_id() - 1;
}

void TenantState::MergeTags(MemberId survivor, MemberId merged, Timestamp now) {
  for (std::string& tag : segments_.ManualTagsOf(merged)) {
    if (segments_.SetTag(survivor, tag, true)) {
      RecordTagOperation(std::move(tag), true, {survivor}, "merge",
                         "member " + std::to_string(merged) + " merged into " + std::to_string(survivor), now);
    }
  }
}

Result<Slice> TenantState::Evaluate(const segments::Node& expr, Timestamp now, Audience& audience) const {
  const segments::QueryContext context = SegmentContext(now);
  for (int64_t steps = 0; audience.next <= members_.size(); ++steps, audience.next += segments::kChunkMembers) {
    if (steps > 0 && SliceSpent()) return Slice::kLater;
    const MemberId to = audience.next + segments::kChunkMembers;
    if (audience.list) {
      ASSIGN_OR_RETURN(std::vector<MemberId> part, segments_.MatchIn(expr, context, audience.next, to));
      for (MemberId m : part) audience.members.Add(m);
      audience.count += static_cast<int64_t>(part.size());
    } else {
      ASSIGN_OR_RETURN(int64_t n, segments_.CountIn(expr, context, audience.next, to));
      audience.count += n;
    }
  }
  return Slice::kDone;
}

Result<const SnapshotRow*> TenantState::CreateSnapshot(std::string name, const segments::Node& expr, std::string by,
                                                       Timestamp now, const Audience& who) {
  RETURN_IF_ERROR(tags::CheckText("name", name, tags::kMaxTagNameBytes, true));
  SnapshotRow row{snapshots_.empty() ? 1 : snapshots_.back().id + 1,
                  std::move(name),
                  segments::ToText(expr),
                  std::move(by),
                  now,
                  who.count,
                  who.members.bytes()};
  Record(TakeTick(), row);
  snapshots_.push_back(std::move(row));
  return &snapshots_.back();
}

Result<const segments::SavedSegment*> TenantState::SaveSegment(std::string name, const segments::Node& expr,
                                                               std::string by, Timestamp now, const Audience& who) {
  RETURN_IF_ERROR(tags::CheckText("name", name, tags::kMaxTagNameBytes, true));
  if (saved_segments_.size() >= kMaxSavedSegments) {
    return ResourceExhausted("a tenant keeps at most " + std::to_string(kMaxSavedSegments) + " saved segments");
  }
  const int64_t count = who.count;
  segments::SavedSegment saved{saved_segments_.empty() ? 1 : saved_segments_.back().id + 1,
                               std::move(name), segments::ToText(expr), std::move(by), now, {}};
  segments::RecordSize(saved, zone_.DateOf(now), count);
  saved_segments_.push_back(std::move(saved));
  PersistSegments();
  return &saved_segments_.back();
}

Status TenantState::RemoveSegment(int64_t id) {
  auto it = std::find_if(saved_segments_.begin(), saved_segments_.end(),
                         [&](const segments::SavedSegment& s) { return s.id == id; });
  if (it == saved_segments_.end()) return NotFoundField("id", "no saved segment " + std::to_string(id));
  saved_segments_.erase(it);
  PersistSegments();
  return Status::Ok();
}

void TenantState::RememberIdempotent(IdempotencyRow row) {
  Put(row);
  idempotency_.insert_or_assign(row.key, std::move(row));
}

void TenantState::Audit(std::string action, std::string target, std::string detail, Timestamp now) {
  const Actor& actor = context_.actor;
  if (actor.kind == Actor::Kind::kSystem) return;
  AuditRow row{audit_.empty() ? 1 : audit_.back().id + 1, now, static_cast<uint8_t>(actor.kind), actor.id, actor.by,
               std::move(action), std::move(target), context_.request_id, detail.empty() ? "{}" : std::move(detail)};
  Record(TakeTick(), row);
  audit_.push_back(std::move(row));
}

int64_t TenantState::Emit(std::string channel, std::string payload, Timestamp now) {
  EffectRow row{next_effect_++, std::move(channel), std::move(payload), now};
  Record(TakeTick(), row);
  const int64_t id = row.id;
  effects_.emplace(id, std::move(row));
  return id;
}

void TenantState::SettleEffect(int64_t id, bool delivered, int32_t attempts, std::string detail, Timestamp now) {
  if (effects_.erase(id) == 0) return;
  Record(TakeTick(), EffectOutcomeRow{id, delivered, attempts, std::move(detail), now});
}

const IdempotencyRow* TenantState::FindIdempotent(const std::string& key, Timestamp now) const {
  auto it = idempotency_.find(key);
  if (it == idempotency_.end() || it->second.at.PlusSeconds(kIdempotencyDays * 86400) <= now) return nullptr;
  return &it->second;
}

void TenantState::ExpireIdempotency(Timestamp now) {
  std::erase_if(idempotency_, [&](const auto& entry) {
    if (entry.second.at.PlusSeconds(kIdempotencyDays * 86400) > now) return false;
    Drop(entry.second);
    return true;
  });
}

void TenantState::TakePending(WriteBatch& into) {
  for (MemberId id : dirty_members_) {
    const Member* m = members_.Get(id);
    Put(MemberRow{m->id, m->profile, m->identities, m->event_digests, m->merged_into, m->created_at});
  }
  dirty_members_.clear();
  std::swap(pending_, into);
}

namespace {

// What a stored row's key says, for an error: the number of an id key, the
// text of a text key; an idempotency key stays out (it may be a client's
// token).
std::string KeyText(RowKind kind, std::string_view key) {
  switch (static_cast<journal::Kind>(kind)) {
    case journal::Kind::kIdempotency: return "(hidden)";
    case journal::Kind::kMember: case journal::Kind::kMerge: case journal::Kind::kLoyalty:
    case journal::Kind::kTagOperation: case journal::Kind::kSnapshot: case journal::Kind::kCouponEvent:
    case journal::Kind::kActivityEvent: case journal::Kind::kAudit: case journal::Kind::kEffect:
    case journal::Kind::kEffectOutcome:
      if (std::optional<int64_t> id = journal::IdFromKey(key)) return std::to_string(*id);
      return "(malformed)";
    default: return std::string(key);
  }
}

Status Damaged(Status why, RowKind kind, std::string_view key) {
  const std::string_view name = journal::KindName(kind);
  return Internal("stored " + std::string(name.empty() ? "row" : name) + " row does not load: " + why.message())
      .With("kind", name.empty() ? std::to_string(kind) : std::string(name))
      .With("key", KeyText(kind, key));
}

// Decodes a row of type Row and hands it to `replay`.
template <typename Row, typename Replay>
Status DecodeAnd(int64_t tick, const std::string& key, const std::string& payload, Replay&& replay) {
  Row row;
  if (!journal::Decode(tick, key, payload, row)) return Internal("its bytes are not a well-formed encoding");
  return replay(std::move(row));
}

}  // namespace

Status TenantState::Loader::OnState(StateRow row) {
  using journal::Kind;
  auto master = [&](auto info) {
    s_.master_.Upsert(info);
    return Status::Ok();
  };
  Status s;
  switch (static_cast<Kind>(row.kind)) {
    case Kind::kStore: s = DecodeAnd<StoreInfo>(0, row.key, row.payload, master); break;
    case Kind::kStaff: s = DecodeAnd<StaffInfo>(0, row.key, row.payload, master); break;
    case Kind::kProduct: s = DecodeAnd<ProductInfo>(0, row.key, row.payload, master); break;
    case Kind::kCategory: s = DecodeAnd<CategoryInfo>(0, row.key, row.payload, master); break;
    case Kind::kSetting:
      s = DecodeAnd<SettingRow>(0, row.key, row.payload, [&](SettingRow r) { return OnSetting(r); });
      break;
    case Kind::kMember:
      s = DecodeAnd<MemberRow>(0, row.key, row.payload, [&](MemberRow r) { return OnMember(std::move(r)); });
      break;
    case Kind::kIdempotency:
      s = DecodeAnd<IdempotencyRow>(0, row.key, row.payload, [&](IdempotencyRow r) {
        std::string key = r.key;
        s_.idempotency_.insert_or_assign(std::move(key), std::move(r));
        return Status::Ok();
      });
      break;
    default: s = Internal("the kind is not a state kind this build knows");
  }
  return s.ok() ? s : Damaged(std::move(s), row.kind, row.key);
}

Status TenantState::Loader::OnJournal(JournalRow row) {
  using journal::Kind;
  s_.next_tick_ = std::max(s_.next_tick_, row.tick + 1);
  const int64_t t = row.tick;
  Status s;
  switch (static_cast<Kind>(row.kind)) {
    case Kind::kMerge:
      s = DecodeAnd<MergeRow>(t, row.key, row.payload, [&](MergeRow r) { return OnMerge(std::move(r)); });
      break;
    case Kind::kOrder:
      s = DecodeAnd<OrderRow>(t, row.key, row.payload, [&](const OrderRow& r) { return OnOrder(r); });
      break;
    case Kind::kRefund:
      s = DecodeAnd<RefundRow>(t, row.key, row.payload, [&](const RefundRow& r) { return OnRefund(r); });
      break;
    case Kind::kLoyalty:
      s = DecodeAnd<LoyaltyRow>(t, row.key, row.payload, [&](LoyaltyRow r) { return OnLoyalty(std::move(r)); });
      break;
    case Kind::kTagOperation:
      s = DecodeAnd<tags::TagOperation>(t, row.key, row.payload,
                                        [&](tags::TagOperation r) { return OnTagOperation(std::move(r)); });
      break;
    case Kind::kSnapshot:
      s = DecodeAnd<SnapshotRow>(t, row.key, row.payload, [&](SnapshotRow r) {
        s_.snapshots_.push_back(std::move(r));
        return Status::Ok();
      });
      break;
    case Kind::kAudit:
      s = DecodeAnd<AuditRow>(t, row.key, row.payload, [&](AuditRow r) {
        s_.audit_.push_back(std::move(r));
        return Status::Ok();
      });
      break;
    case Kind::kEffect:
      // Held until its outcome comes: what is left at the end is pending.
      s = DecodeAnd<EffectRow>(t, row.key, row.payload, [&](EffectRow r) {
        s_.next_effect_ = std::max(s_.next_effect_, r.id + 1);
        s_.effects_.emplace(r.id, std::move(r));
        return Status::Ok();
      });
      break;
    case Kind::kEffectOutcome:
      s = DecodeAnd<EffectOutcomeRow>(t, row.key, row.payload, [&](const EffectOutcomeRow& r) {
        return s_.effects_.erase(r.id) == 1 ? Status::Ok() : Internal("an outcome of no pending effect");
      });
      break;
    default: {
      Module* owner = s_.ModuleOf(row.kind);
      s = owner ? owner->Replay(row) : Internal("the kind is not a journal kind this build knows");
    }
  }
  if (s.ok()) return s;
  return Damaged(std::move(s), row.kind, row.key).With("tick", std::to_string(row.tick));
}

Status TenantState::Loader::OnMember(MemberRow row) {
  Member m;
  m.id = row.member_id;
  m.profile = std::move(row.profile);
  m.identities = std::move(row.identities);
  m.event_digests = std::move(row.event_digests);
  m.merged_into = row.merged_into;  // the merge rows add the survivor's history
  m.created_at = row.created_at;
  if (m.id <= s_.members_.size()) return Internal("member rows must come by ascending id");
  s_.members_.LoadMember(std::move(m));
  return Status::Ok();
}

Status TenantState::Loader::OnMerge(MergeRow row) {
  if (!s_.members_.LoadMerge(MergeRecord{row.survivor, row.merged, row.at, std::move(row.reason)})) {
    return Internal("it names a member the store does not hold");
  }
  return Status::Ok();
}

Status TenantState::Loader::OnSetting(const SettingRow& row) {
  // Each was validated before it was stored: only a damaged store fails here.
  if (row.key == kTagsSetting) {
    ASSIGN_OR_RETURN(auto defs, tags::ParseTagDefinitions(row.value));
    for (const auto& [name, def] : s_.tags_.definitions()) s_.segments_.RemoveTag(name);
    s_.tags_.Reset(std::move(defs));
    s_.DefineTagsInIndex();
    return Status::Ok();
  }
  if (row.key == kSegmentsSetting) {
    ASSIGN_OR_RETURN(s_.saved_segments_, segments::ParseSavedSegments(row.value));
    return Status::Ok();
  }
  for (const std::unique_ptr<Module>& m : s_.modules_) {
    const auto names = m->settings();
    if (std::find(names.begin(), names.end(), row.key) != names.end()) return m->LoadSetting(row.key, row.value);
  }
  if (row.key == kLoyaltySetting) {
    ASSIGN_OR_RETURN(LoyaltyConfig config, ParseLoyaltyConfig(row.value));
    s_.loyalty_.SetConfig(std::move(config), {});
    return Status::Ok();
  }
  return Internal("no setting of this build is called that");
}

void TenantState::Loader::Finish() {
  if (s_.last_day_ != LocalDate()) s_.ScoreRfmAsOf(s_.last_day_);
  for (MemberId m = 1; m <= s_.members_.size(); ++m) s_.Reindex(m);
  for (const std::unique_ptr<Module>& m : s_.modules_) m->FinishLoad(s_.last_day_);
  s_.segments_.Compact();
  if (s_.last_day_ != LocalDate()) s_.segments_.StartDay(s_.last_day_);
}

MemberId TenantState::Loader::LoyaltyOwner(MemberId member) const {
  while (static_cast<size_t>(member) < merged_into_.size() && merged_into_[static_cast<size_t>(member)]) {
    member = merged_into_[static_cast<size_t>(member)];
  }
  return member;
}

Status TenantState::Loader::OnOrder(const OrderRow& row) {
  // Merges are loaded before orders, so the order lands on today's survivor.
  const MemberId standing = s_.members_.Standing(row.member_id);
  s_.orders_.AddOrder(row.order, standing);
  const auto position = static_cast<int32_t>(s_.orders_.order_count() - 1);
  const int32_t units = s_.CollectItems(row.order);
  s_.segments_.AddPurchase(standing, position, s_.zone_.DateOf(row.order.paid_at), row.order.paid, units,
                           s_.categories_);
  // Loyalty replays merges at their place in time (kMerge rows), so its
  // entries go to the member that held the account then.
  order_members_.push_back(row.member_id);
  s_.loyalty_.Replay(LoyaltyOwner(row.member_id),
                     EntryOf(row.loyalty, EntryKind::kEarn, position, row.order.paid_at, row.order.paid_at));
  return Status::Ok();
}

Status TenantState::Loader::OnRefund(const RefundRow& row) {
  RETURN_IF_ERROR(s_.orders_.CheckRefund(row.refund));
  s_.orders_.ApplyRefund(row.refund);
  const int32_t position = s_.orders_.PositionOf(row.refund.order_id);
  const MemberId member = LoyaltyOwner(order_members_[static_cast<size_t>(position)]);
  s_.segments_.SetPurchaseNet(s_.members_.Standing(member), position, s_.orders_.Order(position).net());
  s_.loyalty_.Replay(member,
                     EntryOf(row.loyalty, EntryKind::kReverse, position, row.refund.refunded_at,
                             s_.orders_.Order(position).paid_at),
                     row.refund.refund_id);
  return Status::Ok();
}

Status TenantState::Loader::OnLoyalty(LoyaltyRow row) {
  const MemberId member = LoyaltyOwner(row.member_id);
  LedgerEntry e;
  e.tick = row.tick;
  e.at = row.at;
  e.points = row.points;
  e.lot = row.lot;
  switch (row.kind) {
    case LoyaltyKind::kRedeem: e.kind = EntryKind::kRedeem; break;
    case LoyaltyKind::kAdjust: e.kind = EntryKind::kAdjust; break;
    case LoyaltyKind::kExpire: e.kind = EntryKind::kExpire; break;
    case LoyaltyKind::kTier:
      s_.loyalty_.ReplayTier(member, row.from, row.to, row.note, row.at);
      return Status::Ok();
    case LoyaltyKind::kStage: {
      const std::optional<Stage> stage = StageFromName(row.to);
      if (!stage) return Internal("no lifecycle stage is called " + row.to);
      s_.lifecycle_.MoveTo(member, *stage, row.at);
      return Status::Ok();
    }
    case LoyaltyKind::kDay: {
      ASSIGN_OR_RETURN(s_.last_day_, ParseDate(row.note));
      return Status::Ok();
    }
    case LoyaltyKind::kMerge: {
      int64_t id = 0;
      const char* end = row.note.data() + row.note.size();
      if (auto [p, ec] = std::from_chars(row.note.data(), end, id); ec != std::errc() || p != end || id <= 0) {
        return Internal("a merge's note must be the merged member's id");
      }
      const MemberId merged = LoyaltyOwner(id);
      if (merged == member) return Status::Ok();
      s_.loyalty_.ReplayMerge(member, merged);  // the tier follows in its own row
      if (static_cast<size_t>(merged) >= merged_into_.size()) merged_into_.resize(static_cast<size_t>(merged) + 1);
      merged_into_[static_cast<size_t>(merged)] = member;
      return Status::Ok();
    }
  }
  s_.loyalty_.Replay(member, e, std::move(row.note));
  return Status::Ok();
}

Status TenantState::Loader::OnTagOperation(tags::TagOperation row) {
  // Operations on a tag since deleted (and perhaps made anew as a rule) no
  // longer say who holds it.
  const tags::TagDefinition* def = s_.tags_.Find(row.tag);
  if (def && def->kind == tags::TagKind::kManual) {
    for (MemberId m : row.members) s_.segments_.SetTag(m, row.tag, row.add);
  }
  s_.tags_.Record(std::move(row));
  return Status::Ok();
}

Module* TenantState::ModuleOf(RowKind kind) {
  for (const std::unique_ptr<Module>& m : modules_) {
    const auto kinds = m->journal_kinds();
    if (std::find(kinds.begin(), kinds.end(), kind) != kinds.end()) return m.get();
  }
  return nullptr;
}

}  // namespace pond
