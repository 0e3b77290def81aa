// The workload both systems get, and the checks and reporting they share.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "promotions_bench.hpp"

namespace pond::bench {

std::string MakeWorkload(const BenchOptions& options, Workload& out) {
  out.members = options.members;
  out.stock = options.stock > 0 ? options.stock : options.members * 4 / 5;
  // 1.2 x stock claims from 1.1 x stock distinct members: the sale sells out
  // (the last 0.1 x stock newcomers are refused sold_out) and the 0.1 x stock
  // repeat claims meet the per-member limit, unless they come after the sell-out.
  const int64_t tenth = (out.stock + 9) / 10;
  const int64_t distinct = out.stock + tenth;
  if (out.members < 1 || out.members >= 100'000'000) return "--members must be 1 to 99999999 (8-digit phones)";
  if (out.stock < 10 || distinct > out.members) {
    return "--stock must be 10 to members / 1.1, so that 1.1 x stock distinct members can claim";
  }
  out.claimants.clear();
  for (int64_t m = 0; m < distinct; ++m) out.claimants.push_back(static_cast<uint32_t>(m));
  std::mt19937_64 random(options.seed);
  std::uniform_int_distribution<int64_t> pick(0, distinct - 1);
  for (int64_t r = 0; r < tenth; ++r) out.claimants.push_back(static_cast<uint32_t>(pick(random)));
  std::shuffle(out.claimants.begin(), out.claimants.end(), random);
  // Open for the whole run: from an hour ago to a day ahead (--timeout is less).
  const int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  out.starts_at = now - 3600;
  out.ends_at = now + 86400;
  return {};
}

std::string Phone(int64_t member) {
  char text[32];
  std::snprintf(text, sizeof text, "139%08lld", static_cast<long long>(member + 1));
  return text;
}

std::string OrderId(size_t coupon) { return "O-" + std::to_string(coupon); }

std::string OutcomesText(const std::map<std::string, int64_t>& outcomes) {
  std::vector<std::pair<int64_t, std::string>> by_count;
  for (const auto& [outcome, n] : outcomes) by_count.emplace_back(n, outcome);
  std::sort(by_count.rbegin(), by_count.rend());
  std::string text;
  for (const auto& [n, outcome] : by_count) text += (text.empty() ? "" : ", ") + outcome + ": " + std::to_string(n);
  return text;
}

void RequireAll(PhaseResult& phase, std::string_view expected, size_t count) {
  if (!phase.load.error.empty()) phase.failures.push_back(phase.load.error);
  const auto it = phase.outcomes.find(std::string(expected));
  const int64_t seen = it == phase.outcomes.end() ? 0 : it->second;
  if (seen != static_cast<int64_t>(count)) {
    phase.failures.push_back(std::to_string(seen) + " of " + std::to_string(count) + " answered " +
                             std::string(expected) + " (" + OutcomesText(phase.outcomes) + ")");
  } else {
    phase.checks.push_back("all " + std::to_string(count) + " answered " + std::string(expected));
  }
}

void CheckClaims(PhaseResult& phase, const Workload& workload, const std::vector<int32_t>& wins_per_member,
                 std::string_view won, const std::vector<std::string>& refusals) {
  int64_t wins = 0;
  int32_t most = 0;
  for (int32_t n : wins_per_member) {
    wins += n;
    most = std::max(most, n);
  }
  if (wins != workload.stock) {
    phase.failures.push_back(std::to_string(wins) + " claims won for a stock of " + std::to_string(workload.stock) +
                             (wins > workload.stock ? " (oversold)" : " (undersold)"));
  } else {
    phase.checks.push_back("claims won = stock = " + std::to_string(wins));
  }
  if (most > workload.per_member_limit) {
    phase.failures.push_back("a member won " + std::to_string(most) + " claims; the limit is " +
                             std::to_string(workload.per_member_limit));
  } else {
    phase.checks.push_back("no member over the limit of " + std::to_string(workload.per_member_limit));
  }
  for (const auto& [outcome, n] : phase.outcomes) {
    if (outcome != won && std::find(refusals.begin(), refusals.end(), outcome) == refusals.end()) {
      phase.failures.push_back(std::to_string(n) + " claims answered " + outcome);
    }
  }
}

void Verify(const LoadOptions& load_options, PhaseResult& phase, std::string_view what, size_t count,
            const RequestBuilder& build, const std::function<bool(size_t, const Reply&)>& good) {
  int64_t bad = 0;
  LoadResult load =
      Drive(load_options, count, build, [&](size_t i, const Reply& reply) { bad += good(i, reply) ? 0 : 1; });
  if (!load.error.empty()) {
    phase.failures.push_back(std::string(what) + ": " + load.error);
  } else if (bad > 0) {
    phase.failures.push_back(std::string(what) + ": " + std::to_string(bad) + " of " + std::to_string(count) +
                             " not so");
  } else {
    phase.checks.push_back(std::string(what) + " (" + std::to_string(count) + ")");
  }
}

}  // namespace pond::bench
