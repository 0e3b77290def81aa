// Roaring bitmaps read 65 536 members at a time as plain 64-bit words, so
// that an `and` of many conditions is evaluated word by word without
// building a bitmap for each step (DESIGN.md: "evaluate without
// materializing intermediate bitmaps").
//
// A roaring bitmap keeps each run of 65 536 members (a chunk, keyed by the
// high 16 bits) in a container: a bitset when dense — read here in place —
// or a sorted array or runs when sparse — decoded into scratch words. This
// is the one place that reads CRoaring's containers.
#pragma once

#include <roaring/roaring.hh>

#include <array>
#include <cstdint>
#include <vector>

namespace pond::segments {

inline constexpr size_t kChunkWords = 1024;  // 65 536 bits
using ChunkWords = std::array<uint64_t, kChunkWords>;

// The chunk keys `r` holds, ascending.
std::vector<uint16_t> ChunkKeys(const Roaring& r);

// The words of `r`'s chunk `key`: its bitset in place, or decoded into
// `scratch`; nullptr when `r` holds nobody there.
const uint64_t* ChunkOf(const Roaring& r, uint16_t key, ChunkWords& scratch);

// Adds the members set in `words` (chunk `key`) to `out`, whose chunks
// are added in ascending key order.
void AppendChunk(Roaring& out, uint16_t key, const uint64_t* words);

inline uint64_t PopCount(const uint64_t* words) {
  uint64_t n = 0;
  for (size_t w = 0; w < kChunkWords; ++w) n += static_cast<uint64_t>(__builtin_popcountll(words[w]));
  return n;
}

}  // namespace pond::segments
