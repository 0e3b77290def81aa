// Segment questions asked of a running tenant without keeping its writer
// out: a count or a sample is taken a chunk of members at a time, each
// chunk under its own shared hold of the state, in turns that prefer the
// writer (TenantEngine::ReadChunk; ARCHITECTURE.md "Readers and the
// writer"). Writes may land between chunks, so an answer over a tenant
// being written is that of a moment during the question, member by
// member — as one taken a second later would be.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/status.hpp"
#include "core/time.hpp"
#include "engine/tenant_engine.hpp"
#include "segments/expr.hpp"
#include "segments/segment_index.hpp"

namespace pond {

// The standing members `expr` matches at `now` (SegmentIndex::CountIn),
// `chunk` members per shared hold.
Result<int64_t> CountInChunks(const TenantEngine& tenant, const segments::Node& expr, Timestamp now,
                              MemberId chunk = segments::kChunkMembers);

// A sample of `size` of them drawn from `seed`, and their number
// (SegmentIndex::SampleIn): the same as drawn at once.
Result<segments::SegmentIndex::Sample> SampleInChunks(const TenantEngine& tenant, const segments::Node& expr,
                                                      Timestamp now, size_t size, uint64_t seed,
                                                      MemberId chunk = segments::kChunkMembers);

}  // namespace pond
