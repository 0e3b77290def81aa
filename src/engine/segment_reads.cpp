#include "engine/segment_reads.hpp"

#include <functional>
#include <vector>

namespace pond {
namespace {

// Runs `read` over [from, from + chunk) for every chunk of members, one
// ReadChunk each. Members registered meanwhile are read when their chunk
// comes.
Status InChunks(const TenantEngine& tenant, MemberId chunk,
                const std::function<Status(const TenantState&, MemberId from, MemberId to)>& read) {
  for (MemberId from = 0;; from += chunk) {
    auto last = tenant.ReadChunk([&](const TenantState& s) -> Result<bool> {
      RETURN_IF_ERROR(read(s, from, from + chunk));
      return from + chunk > s.members().size();
    });
    if (!last.ok()) return last.status();
    if (*last) return Status::Ok();
  }
}

}  // namespace

Result<int64_t> CountInChunks(const TenantEngine& tenant, const segments::Node& expr, Timestamp now, MemberId chunk) {
  int64_t count = 0;
  RETURN_IF_ERROR(InChunks(tenant, chunk, [&](const TenantState& s, MemberId from, MemberId to) -> Status {
    ASSIGN_OR_RETURN(int64_t n, s.segments().CountIn(expr, s.SegmentContext(now), from, to));
    count += n;
    return Status::Ok();
  }));
  return count;
}

Result<segments::SegmentIndex::Sample> SampleInChunks(const TenantEngine& tenant, const segments::Node& expr,
                                                      Timestamp now, size_t size, uint64_t seed, MemberId chunk) {
  using segments::SegmentIndex;
  std::vector<int64_t> counts;  // by chunk
  RETURN_IF_ERROR(InChunks(tenant, chunk, [&](const TenantState& s, MemberId from, MemberId to) -> Status {
    ASSIGN_OR_RETURN(int64_t n, s.segments().CountIn(expr, s.SegmentContext(now), from, to));
    counts.push_back(n);
    return Status::Ok();
  }));
  SegmentIndex::Sample out;
  for (int64_t n : counts) out.count += n;
  const std::vector<uint64_t> ranks = SegmentIndex::SampleRanks(static_cast<uint64_t>(out.count), size, seed);
  // The chunks again, each with the ranks that fall in it. A member that
  // stopped matching meanwhile leaves its place empty (or moves the next
  // one in): the sample of a moment during the question.
  auto rank = ranks.begin();
  uint64_t first = 0;  // the rank of the chunk's first match, as counted
  for (size_t c = 0; c < counts.size() && rank != ranks.end(); first += static_cast<uint64_t>(counts[c]), ++c) {
    std::vector<uint64_t> local;
    for (; rank != ranks.end() && *rank < first + static_cast<uint64_t>(counts[c]); ++rank) local.push_back(*rank - first);
    if (local.empty()) continue;
    const MemberId from = static_cast<MemberId>(c) * chunk;
    ASSIGN_OR_RETURN(std::vector<MemberId> members, tenant.ReadChunk([&](const TenantState& s) {
      return s.segments().AtRanksIn(expr, s.SegmentContext(now), from, from + chunk, local);
    }));
    out.members.insert(out.members.end(), members.begin(), members.end());
  }
  return out;
}

}  // namespace pond
