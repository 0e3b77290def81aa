// HugePageAllocator: a std allocator for the engine's big flat arrays (hash
// index slots, order records, per-member totals), which are read at random
// and grow to hundreds of megabytes. Blocks of 2 MiB and more are aligned to
// 2 MiB and marked for transparent huge pages, so a random lookup costs one
// TLB entry per 2 MiB instead of per 4 KiB and growing faults in 2 MiB at a
// time. Smaller blocks come from operator new. Machines whose kernel offers
// huge pages only on request (Debian's default, "madvise") get them; others
// are unaffected.
#pragma once

#include <cstddef>

namespace pond {

void* AllocateHuge(size_t bytes);
void FreeHuge(void* p, size_t bytes);
// Zeroed memory straight from the kernel, for a table written at random
// (core/hash_index.hpp): nothing is written to make it, a page is faulted
// in when first touched, so a big table costs nothing until used.
void* AllocateZeroedHuge(size_t bytes);
void FreeZeroedHuge(void* p, size_t bytes);

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT(google-explicit-constructor): rebinding

  T* allocate(size_t n) { return static_cast<T*>(AllocateHuge(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { FreeHuge(p, n * sizeof(T)); }

  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
};

}  // namespace pond
