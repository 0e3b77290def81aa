// Segment questions asked of a running tenant without keeping its writer
// out: a count is taken a chunk of members at a time, each chunk under its
// own shared hold of the state (ARCHITECTURE.md "Readers and the writer").
// Writes may land between chunks, so a count over a tenant being written is
// that of a moment during the question, member by member — as a count
// taken a second later would be.
#pragma once

#include "core/status.hpp"
#include "core/time.hpp"
#include "engine/tenant_engine.hpp"
#include "segments/expr.hpp"
#include "segments/segment_index.hpp"

namespace pond {

// The standing members `expr` matches at `now` (SegmentIndex::Count),
// `chunk` members per shared hold.
Result<int64_t> CountInChunks(const TenantEngine& tenant, const segments::Node& expr, Timestamp now,
                              MemberId chunk = segments::kChunkMembers);

}  // namespace pond
