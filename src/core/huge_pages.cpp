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

void* AllocateZeroedHuge(size_t bytes) {
  if (bytes < kHugePage) {
    void* p = std::calloc(1, bytes);
    if (!p) throw std::bad_alloc();
    return p;
  }
  // mmap, not calloc: glibc's threshold for mapping moves up after big
  // frees, and below it calloc writes every zero itself.
  void* p = mmap(nullptr, RoundUp(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  madvise(p, RoundUp(bytes), MADV_HUGEPAGE);
  return p;
}

void FreeZeroedHuge(void* p, size_t bytes) {
  if (bytes < kHugePage) {
    std::free(p);
  } else {
    munmap(p, RoundUp(bytes));
  }
}

}  // namespace pond
