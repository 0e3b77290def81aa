// What both backends' migration to the journal share: the rows of the
// tables older schemas kept (one table per kind of row), taken in the order
// older builds loaded them, become the journal and state rows the engine
// writes today.
//
// The conversion keeps what the engine answered from those tables:
// - orders, refunds and loyalty journal rows keep their ticks (the ledger
//   shows them as `seq`); rows from before ticks existed (tick 0) take
//   negative ticks in the order they were loaded, so they still replay
//   first;
// - merges, tag operations, snapshots, coupon events and activity events,
//   which had ids of their own but no tick, take ticks after the last one,
//   in the order they were loaded (after all orders, as they replayed);
// - members, settings, master data and idempotency answers become state
//   rows.
#pragma once

#include <cstdint>

#include "core/status.hpp"
#include "engine/store.hpp"
#include "journal/codec.hpp"
#include "journal/rows.hpp"

namespace pond::journal {

// Where converted rows go: a backend's writes inside its migration's
// transaction.
class RowSink {
 public:
  virtual ~RowSink() = default;
  virtual Status Journal(const JournalRow& row) = 0;
  virtual Status State(const StateRow& row) = 0;
};

// Takes old rows in the order older builds loaded them: master data,
// settings, members, merges, then orders, refunds and loyalty rows by tick
// (MergeByTick), tag operations, snapshots, coupon events, activity events,
// idempotency answers. `untimed` is how many rows of the three tick tables
// have tick 0; `last_tick` the largest tick there.
class LegacyRows {
 public:
  LegacyRows(RowSink& out, int64_t untimed, int64_t last_tick) : out_(out), before_(-untimed), after_(last_tick) {}

  Status OnStore(const StoreInfo& row) { return State(row); }
  Status OnStaff(const StaffInfo& row) { return State(row); }
  Status OnProduct(const ProductInfo& row) { return State(row); }
  Status OnCategory(const CategoryInfo& row) { return State(row); }
  Status OnSetting(const SettingRow& row) { return State(row); }
  Status OnMember(const MemberRow& row) { return State(row); }
  Status OnIdempotency(const IdempotencyRow& row) { return State(row); }
  Status OnMerge(const MergeRow& row) { return Journal(++after_, row); }
  Status OnOrder(const OrderRow& row) { return Journal(Tick(row.loyalty.tick), row); }
  Status OnRefund(const RefundRow& row) { return Journal(Tick(row.loyalty.tick), row); }
  Status OnLoyalty(const LoyaltyRow& row) { return Journal(Tick(row.tick), row); }
  Status OnTagOperation(const tags::TagOperation& row) { return Journal(++after_, row); }
  Status OnSnapshot(const SnapshotRow& row) { return Journal(++after_, row); }
  Status OnCouponEvent(const CouponEventRow& row) { return Journal(++after_, row); }
  Status OnActivityEvent(const ActivityEventRow& row) { return Journal(++after_, row); }

 private:
  // A row's own tick, or the next negative one for a row from before ticks.
  int64_t Tick(int64_t own) { return own != 0 ? own : before_++; }

  template <typename Row>
  Status State(const Row& row) {
    state_.kind = static_cast<RowKind>(RowKindOf<Row>::value);
    Encode(row, state_.key, state_.payload);
    return out_.State(state_);
  }

  template <typename Row>
  Status Journal(int64_t tick, const Row& row) {
    journal_.tick = tick;
    journal_.kind = static_cast<RowKind>(RowKindOf<Row>::value);
    Encode(row, journal_.key, journal_.payload);
    return out_.Journal(journal_);
  }

  RowSink& out_;
  int64_t before_;  // next tick for a row from before ticks
  int64_t after_;   // last tick handed out
  StateRow state_;  // reused by every row
  JournalRow journal_;
};

// Older builds' interleaving of orders, refunds and loyalty rows by tick.
// `Stream` reads one table a row ahead: done(), tick() of the row at hand,
// and EmitAndStep(rows), which hands that row on and reads the next. Each
// table's tick grows with its own order, so stepping the three side by side
// is enough; for equal ticks (0, before ticks existed) orders come first,
// then refunds, then loyalty rows.
template <typename Stream>
Status MergeByTick(Stream& orders, Stream& refunds, Stream& loyalty, LegacyRows& rows) {
  Stream* const streams[] = {&orders, &refunds, &loyalty};
  for (;;) {
    Stream* next = nullptr;
    for (Stream* stream : streams) {
      if (!stream->done() && (next == nullptr || stream->tick() < next->tick())) next = stream;
    }
    if (next == nullptr) return Status::Ok();
    RETURN_IF_ERROR(next->EmitAndStep(rows));
  }
}

}  // namespace pond::journal
