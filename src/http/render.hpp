// Render: the JSON (and Prometheus text) the API answers with, built from
// engine state. Phone numbers are masked unless `reveal_phones`.
// Call under the tenant's read lock (TenantEngine::Read).
#pragma once

#include <optional>
#include <string>

#include "engine/engine.hpp"
#include "engine/tenant_state.hpp"

namespace pond {

struct MemberFilter {
  std::string city, home_store, source, owner_staff;  // empty: any
  std::optional<Gender> gender;
  std::optional<bool> has_orders;
};

// The tenant's record, times in its own zone.
std::string TenantJson(const TenantState& s);
// The tenant with its counts.
std::string TenantSummaryJson(const TenantState& s);
// `{"stores":[...]}` for kind "store", and likewise staff, product, category.
std::string MasterDataJson(const MasterData& master, std::string_view kind);
// A standing member, with its tags as of `now`; `requested` is the member
// number asked for when it was merged into `id` (0 otherwise).
std::string MemberJson(const TenantState& s, MemberId id, MemberId requested, bool reveal_phones, Timestamp now);
// Standing members after `after` that pass `filter`, at most `limit`, with
// the cursor for the next page.
std::string MemberPageJson(const TenantState& s, const MemberFilter& filter, int64_t after, int64_t limit,
                           bool reveal_phones, Timestamp now);
// A member's loyalty view (tier, growth and progress, points with lots and
// what expires soon, lifecycle stage, a page of the ledger newest first:
// entries with seq < `ledger_before` when it is not 0).
std::string LoyaltyJson(const TenantState& s, MemberId id, Timestamp now, int64_t ledger_before, int64_t ledger_limit);
// A points entry just made, with the balance after it.
std::string LedgerEntryJson(const TenantState& s, const LedgerEntry& e, int64_t balance);
// Standing members per tier, and per lifecycle stage.
std::string TierDistributionJson(const TenantState& s);
std::string LifecycleDistributionJson(const TenantState& s);
// Stage changes between two tenant-zone dates (both included), by from → to.
std::string LifecycleTransitionsJson(const TenantState& s, LocalDate from, LocalDate to);
// Prometheus text exposition of every tenant's counters.
std::string MetricsText(Engine& engine);

}  // namespace pond
