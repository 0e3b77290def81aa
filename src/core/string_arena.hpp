// StringArena: append-only storage for many short strings (order ids), kept
// in 1 MiB chunks so that growing never moves what is stored and a string
// costs its bytes plus an 8-byte reference. Strings are at most 4095 bytes
// (ids are at most 64 characters). Not thread-safe.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace pond {

class StringArena {
 public:
  // Where a string lives: chunk (32 bits), offset (20), length (12).
  using Ref = uint64_t;
  static constexpr size_t kMaxLength = 4095;

  // Copies `s` (at most kMaxLength bytes) in and returns its reference.
  Ref Add(std::string_view s) {
    if (chunks_.empty() || used_ + s.size() > kChunkBytes) {
      // Not zeroed: writing a megabyte of zeros faults in all its pages at
      // once (4–6 ms under the writer's lock on a VM with slow fresh
      // memory); unwritten, each page faults in as ids fill it.
      chunks_.push_back(std::make_unique_for_overwrite<char[]>(kChunkBytes));
      used_ = 0;
    }
    assert(s.size() <= kMaxLength);
    const Ref ref = (static_cast<Ref>(chunks_.size() - 1) << 32) | (static_cast<Ref>(used_) << 12) | s.size();
    std::copy(s.begin(), s.end(), chunks_.back().get() + used_);
    used_ += s.size();
    return ref;
  }

  std::string_view Get(Ref ref) const {
    return {chunks_[ref >> 32].get() + ((ref >> 12) & 0xfffff), static_cast<size_t>(ref & 0xfff)};
  }

 private:
  static constexpr size_t kChunkBytes = size_t{1} << 20;  // offsets fit in 20 bits
  std::vector<std::unique_ptr<char[]>> chunks_;
  size_t used_ = 0;
};

}  // namespace pond
