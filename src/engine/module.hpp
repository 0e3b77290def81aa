// A module: one capability of the tenant (coupons, activities, and the
// second half's WeCom, reach, journeys ...) bound to the tenant's core —
// members, orders, master data, loyalty and lifecycle, tags, the segment
// index — through one interface (ARCHITECTURE.md "Modules").
//
// A module keeps its own state and rows. The core does not name it: the
// module learns what happened from domain events (below), replays the row
// kinds and settings it registered, does its share of each day's run, and
// may add number fields to segment expressions (`coupons.unused`). Its
// commands are its own methods, which the API calls on it
// (TenantState::module<M>()); they record through the tenant like the
// core does, in the same commit.
//
// Everything runs on the tenant's writer thread (readers only read what a
// module exposes as const), so a module needs no locks.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "core/status.hpp"
#include "core/time.hpp"
#include "engine/store.hpp"
#include "events/event.hpp"
#include "lifecycle/lifecycle.hpp"
#include "loyalty/loyalty_book.hpp"

namespace pond {

struct OrderRow;
struct RefundRow;

// --- domain events ------------------------------------------------------
// What the core and the modules tell each other (TenantState::Publish),
// after the change is applied and its rows recorded; a subscriber's own
// changes go into the same commit. Every module hears every event in the
// order published, causes before what they cause: an event published while
// modules are hearing another (a coupon an order's rule issued) waits until
// all of them have heard that one, so it holds its data, not views. Orders
// and refunds are applied only by the core, never from a reaction, so
// theirs point at the recorded row. `now` is the command's time (the day's
// start in the day run). Loading replays rows, not events: what a
// reaction changed has rows of its own.
struct OrderApplied {
  MemberId member;      // the standing member it counts for
  const OrderRow* row;  // as recorded
  Timestamp now;
};
struct RefundApplied {
  MemberId member;
  const RefundRow* row;
  bool nothing_left;  // the order's net fell to zero or below
  Timestamp now;
};
struct MemberMerged {
  MemberId survivor, merged;
  Timestamp now;
};
struct TierChanged {
  TierChange change;  // tiers by index into the loyalty config
  Timestamp now;
};
struct StageChanged {
  MemberId member;
  Stage from, to;
  Timestamp at, now;
};
struct CouponIssued {
  MemberId member;
  int64_t template_id;
  std::string code, occasion;
  Timestamp now;
};
struct CouponRedeemed {
  MemberId member;  // the coupon's holder
  std::string code, order_id;
  Timestamp now;
};
struct ClaimMade {
  MemberId member;
  int64_t activity_id, claim_id;
  Timestamp now;
};
using DomainEvent = std::variant<OrderApplied, RefundApplied, MemberMerged, TierChanged, StageChanged, CouponIssued,
                                 CouponRedeemed, ClaimMade>;

class Module {
 public:
  virtual ~Module() = default;
  // Its name in logs and errors, and the prefix of the segment fields it
  // adds ("coupons" -> coupons.unused).
  virtual std::string_view name() const = 0;

  // An order the core is about to apply: an error refuses it whole,
  // before anything changed (errors name the event's fields).
  virtual Status CheckOrder(const OrderEvent& /*order*/) const { return Status::Ok(); }
  // A domain event, in the order published.
  virtual void On(const DomainEvent& /*event*/) {}

  // --- replay --------------------------------------------------------
  // The journal kinds and settings the module stores; the load hands it
  // each such row, journal rows in tick order among everyone's.
  virtual std::span<const uint16_t> journal_kinds() const { return {}; }
  virtual std::span<const std::string_view> settings() const { return {}; }
  virtual Status Replay(const JournalRow& /*row*/) { return Internal("module replays no journal rows"); }
  virtual Status LoadSetting(std::string_view /*name*/, std::string_view /*value*/) {
    return Internal("module loads no settings");
  }
  // The load is over (members reindexed, before the segment index's layout):
  // rebuild what follows from the rows — caches, segment fields, timers.
  virtual void FinishLoad(LocalDate /*last_day*/) {}

  // --- the day run (TenantState::RunDue) ------------------------------
  // As `day` begins, before the pass over the members.
  virtual void BeginDay(LocalDate /*day*/, Timestamp /*start*/) {}
  // Member `m`'s share of the day, for each standing member, after the
  // core's (expiry, tier review, stage).
  virtual void DayFor(MemberId /*m*/, LocalDate /*day*/, Timestamp /*start*/) {}
};

}  // namespace pond
