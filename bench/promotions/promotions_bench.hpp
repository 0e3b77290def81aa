// bench/promotions: coupon redemptions and flash-sale claims per second over
// Pond's HTTP API beside a Redis peer doing the same check-and-write in Lua,
// in the same run on the same machine (README.md beside this file).
//
// Both systems get the same workload: M members with one coupon each, all
// redeemed concurrently, each with its own order id; and one flash sale of S
// units, limit one per member, claimed 1.2 x S times in a fixed random order
// by 1.1 x S distinct members, so it sells out and repeat claims meet the
// limit. Every phase is verified afterwards (no oversell, no member over the
// limit, every coupon redeemed once, the server's own counts agree with the
// client's); a failed check fails the run.
// Not thread-safe; everything runs on the calling thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "load_driver.hpp"

namespace pond::bench {

struct BenchOptions {
  Endpoint pond;                                                  // port 0: Pond is not run
  Endpoint redis;                                                 // port 0: Redis is not run
  std::vector<std::string> redis_fsync = {"always", "everysec"};  // one Redis run per appendfsync policy
  int connections = 64;
  int64_t members = 100'000;
  int64_t stock = 0;  // flash-sale units; 0: 80 % of members
  uint64_t seed = 1;
  std::chrono::steady_clock::time_point deadline;
  std::string state_file;  // Pond's coupons and sale, for `recheck` after a restart; empty: not written
};

// What both systems are asked to do.
struct Workload {
  int64_t members = 0;
  int64_t stock = 0;
  int64_t per_member_limit = 1;
  std::vector<uint32_t> claimants;     // the member of each claim, in sending order
  int64_t starts_at = 0, ends_at = 0;  // the sale's window, Unix seconds
};

// The claim sequence and window for `options`; an error text when the sizes
// cannot make the sale sell out.
std::string MakeWorkload(const BenchOptions& options, Workload& out);

// Member i's phone: "139" and 8 digits.
std::string Phone(int64_t member);
// The order that redeems coupon i.
std::string OrderId(size_t coupon);

// Coupons re-redeemed to check idempotency. Re-redeeming all would time a
// second phase of no-ops; a spread sample shows the rule, and reading every
// coupon's state afterwards shows the rest.
constexpr int64_t kRedeemSample = 1000;

// One timed phase on one system: a row of the table.
struct PhaseResult {
  std::string phase;   // "issue", "redeem", "claim"
  std::string system;  // "pond", "redis always", "redis everysec"
  LoadResult load;
  std::map<std::string, int64_t> outcomes;  // "200", "409 already_redeemed", "sold_out"...
  std::vector<std::string> checks;          // verifications that passed, said briefly
  std::vector<std::string> failures;        // verifications that failed; any fails the run
  std::string note;                         // context: group commits, "not available"
  bool available = true;                    // false: the system lacks the endpoint; no row figures
};

// Creates tenant "bench" on a fresh Pond, its members and coupons, then times
// issuing, redeeming and claiming and verifies each.
std::vector<PhaseResult> RunPond(const BenchOptions& options, const Workload& workload);

// After Pond was killed and restarted on the same data: every acknowledged
// redemption and claim is still there (options.state_file).
PhaseResult RecheckPond(const BenchOptions& options);

// The same redemptions and claims on Redis under `appendfsync` = `fsync`,
// after FLUSHALL.
std::vector<PhaseResult> RunRedis(const BenchOptions& options, const Workload& workload, std::string_view fsync);

// Fails `phase` when its run stopped early or any of its `count` replies had
// another outcome than `expected`; otherwise records the check as passed.
void RequireAll(PhaseResult& phase, std::string_view expected, size_t count);

// Checks a sale's claims: exactly its stock won, nobody over the limit, and
// no outcome but `won` and the expected `refusals` (sold_out, limit_reached).
void CheckClaims(PhaseResult& phase, const Workload& workload, const std::vector<int32_t>& wins_per_member,
                 std::string_view won, const std::vector<std::string>& refusals);

// Sends `count` requests and records one check named `what`: passed when
// `good` accepts every reply, failed (with how many it rejected) otherwise.
void Verify(const LoadOptions& load_options, PhaseResult& phase, std::string_view what, size_t count,
            const RequestBuilder& build, const std::function<bool(size_t, const Reply&)>& good);

// "201: 80000, 409 sold_out: 8000" — the outcomes, most frequent first.
std::string OutcomesText(const std::map<std::string, int64_t>& outcomes);

}  // namespace pond::bench
