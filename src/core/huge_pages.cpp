#include "core/huge_pages.hpp"

#include <sys/mman.h>

#include <cstdlib>
#include <new>

namespace pond {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

size_t RoundUp(size_t bytes) { return (bytes + kHugePage - 1) / kHugePage * kHugePage; }

}  // namespace

void* AllocateHuge(size_t bytes) {
  if (bytes < kHugePage) return ::operator new(bytes);
  void* p = std::aligned_alloc(kHugePage, RoundUp(bytes));
  if (!p) throw std::bad_alloc();
  // Advice only: where the kernel refuses, the block works with small pages.
  madvise(p, RoundUp(bytes), MADV_HUGEPAGE);
  return p;
}

void FreeHuge(void* p, size_t bytes) {
  if (bytes < kHugePage) {
    ::operator delete(p);
  } else {
    std::free(p);
  }
}

}  // namespace pond
