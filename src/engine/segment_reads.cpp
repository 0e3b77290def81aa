#include "engine/segment_reads.hpp"

namespace pond {

Result<int64_t> CountInChunks(const TenantEngine& tenant, const segments::Node& expr, Timestamp now, MemberId chunk) {
  int64_t count = 0;
  for (MemberId from = 0;; from += chunk) {
    // Members registered while counting are counted when their chunk comes.
    auto part = tenant.Read([&](const TenantState& s) -> Result<std::pair<int64_t, bool>> {
      ASSIGN_OR_RETURN(int64_t n, s.segments().CountIn(expr, s.SegmentContext(now), from, from + chunk));
      return std::pair{n, from + chunk > s.members().size()};
    });
    if (!part.ok()) return part.status();
    count += part->first;
    if (part->second) return count;
  }
}

}  // namespace pond
