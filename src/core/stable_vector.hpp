// StableVector: a growing array of records that never move, for the books
// kept by number (members, loyalty accounts, coupons), whose records hold
// strings and lists and are referred to while the book grows.
//
// Why not std::deque, which never moves its records either: it keeps one
// pointer per 512 bytes of records in a map that doubles, and a member
// record is a block of its own. At 10 M members the map is 80 MB, and its
// doubling — a copy into fresh pages — held one member's apply for 183 ms.
// Here a block holds 1 024 records, so the list of blocks is a thousandth
// of that and its growth is nothing.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace pond {

template <typename T>
class StableVector {
 public:
  StableVector() = default;
  StableVector(StableVector&& other) noexcept
      : blocks_(std::exchange(other.blocks_, {})), size_(std::exchange(other.size_, 0)) {}
  StableVector& operator=(StableVector&& other) noexcept {
    if (this != &other) {
      Clear();
      blocks_ = std::exchange(other.blocks_, {});
      size_ = std::exchange(other.size_, 0);
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
    if (size_ == blocks_.size() * kPerBlock) blocks_.push_back(std::allocator<T>().allocate(kPerBlock));
    T* at = &(*this)[size_];
    ::new (static_cast<void*>(at)) T(std::forward<Args>(args)...);
    ++size_;
    return *at;
  }
  void push_back(T value) { emplace_back(std::move(value)); }
  // Grows to n records, the new ones value-initialized; never shrinks.
  void resize(size_t n) {
    while (size_ < n) emplace_back();
  }

 private:
  static constexpr size_t kShift = 10;
  static constexpr size_t kPerBlock = size_t{1} << kShift;
  static constexpr size_t kMask = kPerBlock - 1;

  void Clear() {
    for (size_t i = 0; i < size_; ++i) (*this)[i].~T();
    for (T* block : blocks_) std::allocator<T>().deallocate(block, kPerBlock);
    blocks_.clear();
    size_ = 0;
  }

  std::vector<T*> blocks_;
  size_t size_ = 0;
};

}  // namespace pond
