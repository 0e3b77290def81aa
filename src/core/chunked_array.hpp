// ChunkedArray: an append-mostly array of plain records kept in fixed 2 MiB
// chunks, for the engine's tables that grow with the tenant (order records,
// the points ledger, per-member totals).
//
// Why not std::vector: a vector that doubles copies everything it holds and
// touches twice its final memory, so the writer stalls for the copy (a
// ledger of 5 M entries is half a gigabyte) and the kernel zeroes pages that
// are thrown away at once. Chunks never move: each page is faulted once, in
// 2 MiB huge pages where the kernel allows, and references stay valid as the
// array grows. The chunk size is a constant, so finding an element compiles
// to a multiply and a shift.
#pragma once

#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/huge_pages.hpp"

namespace pond {

template <typename T>
class ChunkedArray {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>,
                "chunks are released without running destructors");

 public:
  ChunkedArray() = default;
  ChunkedArray(ChunkedArray&& other) noexcept
      : chunks_(std::exchange(other.chunks_, {})), size_(std::exchange(other.size_, 0)) {}
  ChunkedArray& operator=(ChunkedArray&& other) noexcept {
    if (this != &other) {
      Release();
      chunks_ = std::exchange(other.chunks_, {});
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ChunkedArray(const ChunkedArray&) = delete;
  ChunkedArray& operator=(const ChunkedArray&) = delete;
  ~ChunkedArray() { Release(); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  T& operator[](size_t i) { return chunks_[i / kPerChunk][i % kPerChunk]; }
  const T& operator[](size_t i) const { return chunks_[i / kPerChunk][i % kPerChunk]; }
  T& back() { return (*this)[size_ - 1]; }

  void push_back(const T& value) {
    if (size_ == chunks_.size() * kPerChunk) AddChunk();
    ::new (&(*this)[size_]) T(value);
    ++size_;
  }

  // Drops the last element (its chunk stays, for the next push_back).
  void pop_back() { --size_; }

  // Grows to n elements, the new ones copies of `fill`; never shrinks.
  void resize(size_t n, const T& fill = T{}) {
    while (size_ < n) push_back(fill);
  }

 private:
  static constexpr size_t kChunkBytes = size_t{2} << 20;
  static constexpr size_t kPerChunk = kChunkBytes / sizeof(T);

  void AddChunk() { chunks_.push_back(static_cast<T*>(AllocateHuge(kChunkBytes))); }
  void Release() {
    for (T* chunk : chunks_) FreeHuge(chunk, kChunkBytes);
    chunks_.clear();
    size_ = 0;
  }

  std::vector<T*> chunks_;
  size_t size_ = 0;
};

}  // namespace pond
