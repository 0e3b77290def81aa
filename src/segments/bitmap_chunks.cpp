#include "segments/bitmap_chunks.hpp"

#include <cstring>

namespace pond::segments {

std::vector<uint16_t> ChunkKeys(const Roaring& r) {
  const roaring_array_t& ra = r.roaring.high_low_container;
  return std::vector<uint16_t>(ra.keys, ra.keys + ra.size);
}

const uint64_t* ChunkOf(const Roaring& r, uint16_t key, ChunkWords& scratch) {
  const roaring_array_t& ra = r.roaring.high_low_container;
  const int32_t index = ra_get_index(&ra, key);
  if (index < 0) return nullptr;
  uint8_t type = ra.typecodes[index];
  const void* c = container_unwrap_shared(ra.containers[index], &type);
  if (type == BITSET_CONTAINER_TYPE_CODE) return static_cast<const bitset_container_t*>(c)->array;
  scratch.fill(0);
  if (type == ARRAY_CONTAINER_TYPE_CODE) {
    const auto* a = static_cast<const array_container_t*>(c);
    for (int32_t i = 0; i < a->cardinality; ++i) scratch[a->array[i] >> 6] |= uint64_t{1} << (a->array[i] & 63);
  } else {  // runs: [value, value + length]
    const auto* runs = static_cast<const run_container_t*>(c);
    for (int32_t i = 0; i < runs->n_runs; ++i) {
      const uint32_t first = runs->runs[i].value, last = first + runs->runs[i].length;
      for (uint32_t v = first; v <= last; ++v) scratch[v >> 6] |= uint64_t{1} << (v & 63);
    }
  }
  return scratch.data();
}

void AppendChunk(Roaring& out, uint16_t key, const uint64_t* words) {
  std::array<uint32_t, 4096> batch;
  size_t n = 0;
  const uint32_t base = uint32_t{key} << 16;
  for (size_t w = 0; w < kChunkWords; ++w) {
    for (uint64_t bits = words[w]; bits != 0; bits &= bits - 1) {
      batch[n++] = base | static_cast<uint32_t>(w * 64 + static_cast<size_t>(__builtin_ctzll(bits)));
      if (n == batch.size()) {
        out.addMany(n, batch.data());
        n = 0;
      }
    }
  }
  out.addMany(n, batch.data());
}

}  // namespace pond::segments
