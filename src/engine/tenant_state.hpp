// TenantState: everything Pond knows about one tenant in memory — the core
// (members and identities, orders, master data, loyalty, lifecycle, tags
// and segments, the audit trail, effects, idempotency records) and the
// modules built on it (engine/module.hpp: coupons, activities) — and the
// rules that apply a command to it.
//
// Every change appends the rows that make it durable (journal/rows.hpp) to
// a pending WriteBatch, which the tenant engine takes and commits
// (TakePending): journal rows at the next tick of the tenant's one order,
// state rows for what is kept as it stands. The state is rebuilt from those
// rows on start (Loader), so applying and loading must agree: every change
// goes through the same domain books either way.
//
// Not thread-safe: the tenant engine applies from its writer thread under an
// exclusive lock and lets readers in under a shared lock.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "core/id_list.hpp"
#include "core/status.hpp"
#include "core/time.hpp"
#include "engine/actor.hpp"
#include "engine/module.hpp"
#include "engine/store.hpp"
#include "engine/timers.hpp"
#include "events/event.hpp"
#include "journal/codec.hpp"
#include "journal/rows.hpp"
#include "lifecycle/lifecycle_book.hpp"
#include "loyalty/loyalty_book.hpp"
#include "masterdata/master_data.hpp"
#include "members/member_book.hpp"
#include "orders/order_book.hpp"
#include "segments/saved_segments.hpp"
#include "segments/segment_index.hpp"
#include "tags/tag_book.hpp"

namespace pond {

enum class EventOutcome { kAccepted, kDuplicate };

// What a command's work says when it returns (ARCHITECTURE.md "Sliced
// work"): done; more to do, before anything that was queued after it (an
// ingest, whose events must apply in the order sent); or more to do after
// what arrived meanwhile (a day run, a bulk issue: work that others need
// not wait for).
enum class Slice { kDone, kMore, kLater };

class TenantState {
 public:
  TenantState(TenantRecord record, TimeZone zone);
  // Modules hold a reference to their tenant: it stays where it was made.
  TenantState(const TenantState&) = delete;
  TenantState& operator=(const TenantState&) = delete;

  // Applies one event at `now`. Accepted when it changed something,
  // Duplicate when its natural key was seen (or it changes nothing); an error
  // names the field and leaves the state as it was.
  // The event is taken by value: its strings move into the rows.
  Result<EventOutcome> Apply(Event event, Timestamp now);

  // Points spent or adjusted by a caller (the points endpoints). A redemption
  // id seen before returns its first entry and changes nothing.
  Result<LedgerEntry> Redeem(MemberId member, int64_t points, std::string redemption_id, Timestamp now);
  Result<LedgerEntry> Adjust(MemberId member, int64_t points, std::string reason, Timestamp now);
  // Replaces the loyalty rules (validated by the caller) and re-tiers every
  // member under them, in slices (kLater; call again with the same
  // `change` until kDone): members on tiers the rules drop move down first,
  // under the old rules; then the rules are stored and each member's tier
  // follows. Between slices a member not yet reached holds the tier it had
  // (an order it pays meanwhile is tiered by the new rules).
  struct LoyaltyChange {
    LoyaltyConfig config;
    bool switched = false;  // the new rules are in
    MemberId next = 1;      // the next member of the current pass
  };
  Slice ChangeLoyaltyConfig(LoyaltyChange& change, Timestamp now);
  // The scheduler's timed work up to `now`, in time order: the timers due
  // (ArmTimer) and, for every tenant-zone day that began since the last
  // run, the day run: expiry, tier reviews, lifecycle stages, the
  // modules' day (coupons expire, birthday coupons), saved segments' sizes. A day runs in slices (kLater
  // while the slice is spent with work left); the day under way is kept
  // here, so any later call goes on with it. A day cut short by a restart
  // runs again from its start: every step of it is idempotent.
  Slice RunDue(Timestamp now);

  // --- timers (engine/timers.hpp) ----------------------------------------
  // What a kind of timer does when it fires: `id` was due at `at`. Set by
  // the module that arms that kind, once, before the tenant loads; it
  // arms its timers again from its state in Loader::Finish.
  using TimerHandler = std::function<void(TenantState& state, int64_t id, Timestamp at)>;
  void OnTimer(TimerKind kind, TimerHandler handler) { timer_handlers_[kind] = std::move(handler); }
  // Wakes `id` at `at` through `kind`'s handler (RunDue); false for an id
  // out of range. Not durable: see OnTimer.
  bool ArmTimer(TimerKind kind, int64_t id, Timestamp at) { return timers_.Arm(kind, id, at); }
  const Timers& timers() const { return timers_; }

  // --- work in slices (ARCHITECTURE.md "Sliced work") --------------------
  // Work over many members stops once the writer's slice is spent and
  // returns Slice::kMore or kLater; the engine lets readers (and, for
  // kLater, other commands) in, then applies it again. Each call does at least one step. Without an
  // engine (tests, tools) the slice never ends.
  void StartSlice(std::chrono::steady_clock::time_point until) { slice_until_ = until; }
  bool SliceSpent() const { return std::chrono::steady_clock::now() >= slice_until_; }

  // --- tags and audiences (docs/segments.md) ----------------------------
  // Creates a tag (`create`: AlreadyExists when taken) or changes one
  // (NotFound when missing; its kind stays). A rule is parsed and checked
  // against the tenant: errors name the field, "rule" with its position.
  Status PutTag(tags::TagDefinition def, bool create, Timestamp now);
  // FailedPrecondition while a rule tag or a saved segment reads the tag.
  Status RemoveTag(std::string_view name, Timestamp now);
  // Puts a manual tag on members or takes it off, as one recorded operation.
  struct TagChange {
    int64_t operation = 0;  // 0 when nothing changed (nothing is recorded)
    int64_t changed = 0, unchanged = 0;
  };
  // NotFound for an unknown tag, FailedPrecondition for a rule tag.
  Status CheckManualTag(std::string_view tag) const;
  Result<TagChange> TagMembers(std::string_view tag, bool add, std::vector<MemberId> members, std::string by,
                               std::string note, Timestamp now);
  // Who matches an expression, taken a chunk of members per slice: call
  // Evaluate with the same `audience` while it returns kLater (members
  // registered meanwhile are taken when their chunk comes), then hand it
  // to CreateSnapshot or SaveSegment. Errors name "expr".
  struct Audience {
    bool list = false;  // keep the members (a snapshot); else only count them
    MemberId next = 0;  // the first member not yet looked at
    int64_t count = 0;
    IdListWriter members;  // encoded as they come: a million ids is ~1 MB, not 8
  };
  Result<Slice> Evaluate(const segments::Node& expr, Timestamp now, Audience& audience) const;
  // Freezes `who` (Evaluate with list set) as matching `expr` now.
  Result<const SnapshotRow*> CreateSnapshot(std::string name, const segments::Node& expr, std::string by,
                                            Timestamp now, const Audience& who);
  // Keeps `expr` under a name, with `who`'s count as today's size; counted
  // again at every day's run.
  Result<const segments::SavedSegment*> SaveSegment(std::string name, const segments::Node& expr, std::string by,
                                                    Timestamp now, const Audience& who);
  Status RemoveSegment(int64_t id);

  // --- the audit trail (CONTRACT.md "Actors and the audit trail") --------
  // Records who (the command's actor and request id) did `action` to
  // `target` at `now`, in the same commit as the change. `detail` is a
  // JSON object. Timed work of the system is not audited.
  void Audit(std::string action, std::string target, std::string detail, Timestamp now);
  // Entries in the order made (ids ascending). Kept in memory; see
  // ARCHITECTURE.md "Known limits".
  const std::vector<AuditRow>& audit() const { return audit_; }
  // What a command wants its audit entry to say (an ingest's counts); the
  // caller that audits takes it.
  void NoteAuditDetail(std::string detail) { audit_detail_ = std::move(detail); }
  std::string TakeAuditDetail() { return std::exchange(audit_detail_, {}); }

  // --- effects (ARCHITECTURE.md "Effects after commit") -----------------
  // Records something to hand to the outside world through `channel`, in
  // this command's commit; the engine dispatches it once that commit is
  // durable (engine/outbox.hpp). Returns its id, the receiver's
  // idempotency key within the tenant.
  int64_t Emit(std::string channel, std::string payload, Timestamp now);
  // How a dispatched effect ended (a command from the outbox): records the
  // outcome and forgets the effect; nothing when it has one already.
  void SettleEffect(int64_t id, bool delivered, int32_t attempts, std::string detail, Timestamp now);
  // Effects without an outcome, by id: what a restart dispatches again.
  const std::map<int64_t, EffectRow>& pending_effects() const { return effects_; }

  // Remembers the answer to an idempotent request, durably with the batch.
  // Answers are kept kIdempotencyDays (docs/api.md "Idempotency-Key"): a
  // key older than that is a new request, and the day run drops them.
  static constexpr int64_t kIdempotencyDays = 7;
  void RememberIdempotent(IdempotencyRow row);
  const IdempotencyRow* FindIdempotent(const std::string& key, Timestamp now) const;

  // --- modules (engine/module.hpp, ARCHITECTURE.md "Modules") ------------
  // Adds a module; engine/modules/modules.cpp adds every module of the
  // build as the state is made, before anything loads.
  void AddModule(std::unique_ptr<Module> module) { modules_.push_back(std::move(module)); }
  // The module of type M (a logic_error when the build has none).
  template <typename M>
  M& module() {
    for (const std::unique_ptr<Module>& m : modules_) {
      if (auto* found = dynamic_cast<M*>(m.get())) return *found;
    }
    throw std::logic_error("no such module");
  }
  template <typename M>
  const M& module() const {
    return const_cast<TenantState*>(this)->module<M>();
  }
  // The module that stores journal rows of `kind`, or nullptr.
  Module* ModuleOf(RowKind kind);
  // Tells every module what happened, in the order they were added
  // (engine/module.hpp: events published meanwhile wait their turn).
  void Publish(DomainEvent event);
  // Appends `row` as a journal row at the next tick, in this command's commit.
  template <typename Row>
  void Journal(const Row& row) {
    Record(TakeTick(), row);
  }
  // The same for a kind whose codec the module keeps itself: any kind
  // number a module claims (journal_kinds) is stored and replayed to it.
  void Journal(RowKind kind, std::string key, std::string payload) {
    pending_.journal.push_back(JournalRow{TakeTick(), kind, std::move(key), std::move(payload)});
  }
  // Appends `row` as a state row: what is kept as it stands (a setting).
  template <typename Row>
  void Put(const Row& row) {
    StateRow& out = pending_.state.emplace_back();
    out.kind = static_cast<RowKind>(journal::RowKindOf<Row>::value);
    journal::Encode(row, out.key, out.payload);
  }
  // A number field a module adds to segment expressions ("coupons.unused")
  // and a member's value of it (segments/segment_index.hpp).
  int DefineSegmentNumber(std::string name, std::optional<int64_t> missing) {
    return segments_.DefineNumberField(std::move(name), missing);
  }
  void SetSegmentNumber(int field, MemberId member, std::optional<int64_t> value) {
    segments_.SetNumber(member, field, value);
  }

  // Hands over the rows of everything applied since the last call by
  // swapping them into `into`, which must be empty (its memory is reused).
  void TakePending(WriteBatch& into);
  WriteBatch TakePending() {
    WriteBatch out;
    TakePending(out);
    return out;
  }

  // Who the command being applied runs for (the tenant engine sets it
  // around each command; timed work runs as the system).
  void SetContext(CommandContext context) { context_ = std::move(context); }
  const CommandContext& context() const { return context_; }

  const TenantRecord& record() const { return record_; }
  const TimeZone& zone() const { return zone_; }
  const MemberBook& members() const { return members_; }
  const OrderBook& orders() const { return orders_; }
  const MasterData& master() const { return master_; }
  const LoyaltyBook& loyalty() const { return loyalty_; }
  const LifecycleBook& lifecycle() const { return lifecycle_; }
  const segments::SegmentIndex& segments() const { return segments_; }
  const tags::TagBook& tags() const { return tags_; }
  const std::vector<SnapshotRow>& snapshots() const { return snapshots_; }
  const std::vector<segments::SavedSegment>& saved_segments() const { return saved_segments_; }
  // What a segment query is evaluated against today (tenant zone, tiers).
  segments::QueryContext SegmentContext(Timestamp now) const;
  Stage StageOfMember(MemberId member) const { return lifecycle_.StageOfMember(member); }
  // The last day the scheduler finished (none yet: a default date).
  LocalDate last_day_run() const { return last_day_; }

  // Feeds stored rows back in, in TenantStore::Load's order: the state,
  // then the journal by tick. A row that does not decode or replay stops
  // the load with an Internal error naming its kind and key (or tick): a
  // damaged store is never papered over with defaults.
  class Loader final : public LoadSink {
   public:
    explicit Loader(TenantState& state) : s_(state) {}
    Status OnState(StateRow row) override;
    Status OnJournal(JournalRow row) override;

    // Finishes the load: scores RFM as of the last scheduled day.
    void Finish();

   private:
    Status OnSetting(const SettingRow& row);
    Status OnMember(MemberRow row);
    Status OnMerge(MergeRow row);
    Status OnOrder(const OrderRow& row);
    Status OnRefund(const RefundRow& row);
    Status OnLoyalty(LoyaltyRow row);
    Status OnTagOperation(tags::TagOperation row);
    // The member whose account holds `member`'s loyalty at this point of
    // the replay: merges are followed only once their kMerge row is replayed.
    MemberId LoyaltyOwner(MemberId member) const;

    TenantState& s_;
    std::vector<MemberId> merged_into_;   // by member id; 0 while standing (in replay time)
    std::vector<MemberId> order_members_;  // by order position: the member it arrived for
  };

 private:
  Result<EventOutcome> ApplyMember(const MemberEvent& e, Timestamp now);
  Result<EventOutcome> ApplyOrder(OrderEvent&& e, Timestamp now);
  Result<EventOutcome> ApplyRefund(RefundEvent&& e, Timestamp now);
  template <typename Info>
  Result<EventOutcome> ApplyMaster(Info&& info);
  // Appends `row` to the pending batch as a journal row at `tick` (the next
  // tick, TakeTick(), unless the row carries its own), or as a state row.
  template <typename Row>
  void Record(int64_t tick, const Row& row) {
    JournalRow& out = pending_.journal.emplace_back();
    out.tick = tick;
    out.kind = static_cast<RowKind>(journal::RowKindOf<Row>::value);
    journal::Encode(row, out.key, out.payload);
  }
  void Record(const LoyaltyRow& row) { Record(row.tick, row); }
  template <typename Row>
  void Drop(const Row& row) {  // erases the state row of `row`'s key
    StateRow& out = pending_.state.emplace_back();
    out.kind = static_cast<RowKind>(journal::RowKindOf<Row>::value);
    std::string payload;
    journal::Encode(row, out.key, payload);
    out.erase = true;
  }
  // Records what a resolution did: identity and merge rows, merged histories.
  void Persist(const Resolution& res, Timestamp now);
  // Records a tier change and publishes it (TierChanged at `now`).
  void RecordTier(const std::optional<TierChange>& change, Timestamp now);
  // Recomputes a member's lifecycle stage as of `now`; records a change.
  // History that arrived late (an order paid on `history_from` or later,
  // imported now) also records the changes its dates imply between then
  // and now, each at the start of the day it happened on.
  void Restage(MemberId member, Timestamp now, std::optional<LocalDate> history_from = std::nullopt);
  // Expires the member's lots that are dead at `now` (an order paid long
  // ago earns a lot that has expired already), recording each.
  void ExpireDead(MemberId member, Timestamp now);
  void RecordExpiry(MemberId member, const LedgerEntry& e);
  // The day run (RunDue), a slice at a time: begins `day` (what takes no
  // pass over the members), then goes on with the day under way.
  void BeginDay(LocalDate day);
  Slice StepDay();
  // Fires the timers due at or before `until`, a batch at a time; kLater
  // when the slice was spent with more due.
  Slice FireTimers(Timestamp until);
  // One member's share of the day: expiry, review, stage, index, then the modules'.
  void RunDayFor(MemberId m);
  // Forgets idempotency answers older than kIdempotencyDays at `now`.
  void ExpireIdempotency(Timestamp now);
  // Hands the member's current attributes (standing, profile, tier, stage,
  // points, growth) to the segment index.
  void Reindex(MemberId member);
  // Only what loyalty and lifecycle change (tier, stage, RFM, points, growth).
  void ReindexLoyalty(MemberId member);
  // The categories of an order's items, into categories_; returns its units.
  int32_t CollectItems(const OrderEvent& e);
  // RFM over standing members as of the start of `day` (on load; the day
  // run gathers the same inputs in slices).
  void ScoreRfmAsOf(LocalDate day);
  RfmInput RfmInputOf(MemberId m, LocalDate day) const;
  // Dates of the member's orders whose net is > 0, into dates_.
  void CollectPurchaseDates(MemberId member);
  int64_t TakeTick() { return next_tick_++; }
  // Hands every tag definition of the book to the segment index.
  void DefineTagsInIndex();
  // The rule of a rule tag, parsed and checked; errors name "rule".
  Result<segments::NodePtr> CompileRule(std::string_view name, std::string_view rule, Timestamp now) const;
  // Records a manual tagging operation of the members whose holding changed.
  int64_t RecordTagOperation(std::string tag, bool add, std::vector<MemberId> changed, std::string by,
                             std::string note, Timestamp now);
  // The merged member's manual tags go to the survivor.
  void MergeTags(MemberId survivor, MemberId merged, Timestamp now);
  void PersistTags() { Put(SettingRow{"tags", tags::TagDefinitionsJson(tags_)}); }
  void PersistSegments() {
    Put(SettingRow{"segments", segments::SavedSegmentsJson(saved_segments_)});
  }

  TenantRecord record_;
  CommandContext context_;
  TimeZone zone_;
  MemberBook members_;
  OrderBook orders_;
  MasterData master_;
  LoyaltyBook loyalty_;
  LifecycleBook lifecycle_;
  segments::SegmentIndex segments_;  // kept current by Reindex and the purchase calls
  tags::TagBook tags_;
  std::vector<SnapshotRow> snapshots_;
  std::vector<segments::SavedSegment> saved_segments_;
  std::vector<AuditRow> audit_;
  std::string audit_detail_;
  std::map<int64_t, EffectRow> effects_;  // pending
  int64_t next_effect_ = 1;
  std::vector<LocalDate> dates_;     // scratch for Restage
  std::vector<std::string_view> categories_;  // scratch for CollectCategories; views into the order
  std::string scratch_;              // for member-event digests
  int64_t next_tick_ = 1;            // the journal position of the next change
  LocalDate last_day_;               // the scheduler's last finished day
  // The day run under way, between its slices.
  struct DayRun {
    enum class Phase { kIndex, kRfm, kScore, kMembers, kSegments } phase = Phase::kIndex;
    LocalDate day;
    Timestamp start;
    std::optional<Timestamp> review_period_end;  // set on a review day of a rolling basis
    std::vector<RfmInput> rfm;  // by member id
    std::optional<RfmScoring> scoring;
    MemberId next = 1;          // the next member of the phase's pass
    int64_t segment = 0;        // kSegments: the saved segment being counted (id), and its count so far
    int64_t counted = 0;
  };
  std::optional<DayRun> day_run_;
  Timers timers_;
  std::map<TimerKind, TimerHandler> timer_handlers_;
  std::vector<Timer> firing_;  // scratch for FireTimers
  std::chrono::steady_clock::time_point slice_until_ = std::chrono::steady_clock::time_point::max();
  std::unordered_map<std::string, IdempotencyRow> idempotency_;
  std::vector<std::unique_ptr<Module>> modules_;
  bool publishing_ = false;                // modules are hearing an event
  std::vector<DomainEvent> published_;     // events published meanwhile, in order
  WriteBatch pending_;
  std::unordered_set<MemberId> dirty_members_;  // rows to write at TakePending
};

}  // namespace pond
