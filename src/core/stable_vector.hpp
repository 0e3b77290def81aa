// StableVector: a growing array of records that never move, for the books
// kept by number (members, loyalty accounts, coupons), whose records hold
// strings and lists and are referred to while the book grows.
//
// Why not std::deque, which never moves its records either: it keeps one
// pointer per 512 bytes of records in a map that doubles, and a member
// record is a block of its own. At 10 M members the map is 80 MB, and its
// doubling — a copy into fresh pages — held one member's apply for 183 ms.
// Here a block holds 1 024 records, so the list of blocks is a thousandth
// of that and its growth is nothing. The next block is made when the last
// is half full and faulted in on a background thread (WarmUp): a member
// written into fresh memory otherwise paid its page faults under the
// writer's lock, up to 10 ms at once on a VM whose fresh memory is slow.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

#include "core/huge_pages.hpp"

namespace pond {

template <typename T>
class StableVector {
 public:
  StableVector() = default;
  StableVector(StableVector&& other) noexcept { *this = std::move(other); }
  StableVector& operator=(StableVector&& other) noexcept {
    if (this != &other) {
      Clear();
      blocks_ = std::exchange(other.blocks_, {});
      size_ = std::exchange(other.size_, 0);
      next_ = std::exchange(other.next_, nullptr);
      warming_ = std::move(other.warming_);
    }
    return *this;
  }
  StableVector(const StableVector&) = delete;
  StableVector& operator=(const StableVector&) = delete;
  ~StableVector() { Clear(); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](size_t i) { return blocks_[i >> kShift][i & kMask]; }
  const T& operator[](size_t i) const { return blocks_[i >> kShift][i & kMask]; }
  T& back() { return (*this)[size_ - 1]; }

  template <typename... Args>
  T& emplace_back(Args&&... args) {
    if (size_ == blocks_.size() * kPerBlock) AddBlock();
    T* at = &(*this)[size_];
    ::new (static_cast<void*>(at)) T(std::forward<Args>(args)...);
    ++size_;
    if ((size_ & kMask) == kPerBlock / 2) PrepareNext();
    return *at;
  }
  void push_back(T value) { emplace_back(std::move(value)); }
  // Whether the block after the last is made and faulted in (for tests).
  bool next_ready() const { return warming_.done(); }
  // Grows to n records, the new ones value-initialized; never shrinks.
  void resize(size_t n) {
    while (size_ < n) emplace_back();
  }

 private:
  static constexpr size_t kShift = 10;
  static constexpr size_t kPerBlock = size_t{1} << kShift;
  static constexpr size_t kMask = kPerBlock - 1;

  void AddBlock() {
    warming_.Stop();  // what is not faulted in yet faults in as it is written
    blocks_.push_back(next_ ? std::exchange(next_, nullptr) : std::allocator<T>().allocate(kPerBlock));
  }
  void PrepareNext() {
    next_ = std::allocator<T>().allocate(kPerBlock);
    warming_ = WarmUp(next_, kPerBlock * sizeof(T));
  }
  void Clear() {
    warming_.Stop();
    for (size_t i = 0; i < size_; ++i) (*this)[i].~T();
    for (T* block : blocks_) std::allocator<T>().deallocate(block, kPerBlock);
    if (next_) std::allocator<T>().deallocate(next_, kPerBlock);
    blocks_.clear();
    next_ = nullptr;
    size_ = 0;
  }

  std::vector<T*> blocks_;
  size_t size_ = 0;
  T* next_ = nullptr;  // from half of the last block on: the block after it
  WarmUp warming_;     // faulting next_ in
};

}  // namespace pond
