// The points workload both sides post, and the latency summary they share.
#include <algorithm>
#include <cmath>
#include <random>

#include "postgres_bench.hpp"

namespace pond::bench {

std::vector<Posting> BuildPostings(const std::vector<int64_t>& members, int64_t count) {
  std::vector<Posting> out;
  if (members.empty()) return out;
  out.reserve(static_cast<size_t>(count));
  std::mt19937_64 random(20261124);
  std::uniform_int_distribution<size_t> member(0, members.size() - 1);
  std::uniform_int_distribution<int64_t> small(1, 20);
  for (int64_t i = 0; i < count; ++i) {
    // An adjustment, then a redemption of the same member: in-flight
    // neighbours, so the redemption usually finds the points just added.
    const int64_t who = i % 2 == 0 ? members[member(random)] : out.back().member;
    out.push_back(Posting{.member = who, .points = small(random), .redeem = i % 2 == 1});
  }
  return out;
}

std::string RedemptionId(int64_t index) { return "bench-" + std::to_string(index); }

void SetLatencies(std::vector<int32_t>& micros, PostingRun& run) {
  if (micros.empty()) return;
  std::sort(micros.begin(), micros.end());
  auto rank = [&](double p) {
    const auto k = static_cast<size_t>(std::ceil(p * static_cast<double>(micros.size())));
    return static_cast<double>(micros[std::max<size_t>(k, 1) - 1]) / 1e3;
  };
  run.p50_ms = rank(0.50);
  run.p99_ms = rank(0.99);
}

}  // namespace pond::bench
