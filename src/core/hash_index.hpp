// HashIndex: an open-addressing table from a key's 64-bit hash to a 32-bit
// value (a member number, an order position), for indexes with tens of
// millions of entries. It stores no keys: the caller keeps them (in its own
// records) and confirms a candidate with a predicate, so an entry costs one
// 8-byte slot instead of a node, a string and a pointer.
//
// A slot holds the top 32 bits of the hash (the tag) and the value. The tag's
// top bits also choose the home slot, so slots stay sorted by tag and
// growing walks the old table and fills the new one front to back instead of
// scattering writes over hundreds of megabytes. Linear probing, at most half
// full. Not thread-safe.
#pragma once

#include <bit>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "core/huge_pages.hpp"

namespace pond {

// The hash of a text key: used by HashIndex and, because it is written to
// disk (member-event digests), fixed for good — unlike std::hash, which may
// change with the library. Defined for little-endian machines.
uint64_t HashKey(std::string_view key);

template <typename V>
class HashIndex {
  static_assert(sizeof(V) == 4, "a slot is a 32-bit tag and a 32-bit value");

 public:
  // The value of the entry with this hash for which `is_key(value)` holds
  // (the caller compares the real key), or nullptr.
  template <typename IsKey>
  const V* Find(uint64_t hash, IsKey&& is_key) const {
    if (slots_.empty()) return nullptr;
    const uint32_t tag = Tag(hash);
    for (size_t i = Home(tag);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.tag == 0) return nullptr;
      if (s.tag == tag && is_key(s.value)) return &s.value;
    }
  }

  // The same, for changing the value in place.
  template <typename IsKey>
  V* Find(uint64_t hash, IsKey&& is_key) {
    return const_cast<V*>(static_cast<const HashIndex&>(*this).Find(hash, std::forward<IsKey>(is_key)));
  }

  // Asks the CPU to start loading the slot a later Find of `hash` reads
  // first, so a batch of lookups overlaps its cache misses.
  void Prefetch(uint64_t hash) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[Home(Tag(hash))]);
  }

  // Adds an entry; the caller has checked that the key is absent.
  void Insert(uint64_t hash, V value) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    Place(Tag(hash), value);
    ++size_;
  }

  size_t size() const { return size_; }

 private:
  struct Slot {
    uint32_t tag = 0;  // 0 marks an empty slot
    V value{};
  };
  // Tag 0 means empty, so a real tag of 0 is stored as 1.
  static uint32_t Tag(uint64_t hash) {
    const auto tag = static_cast<uint32_t>(hash >> 32);
    return tag ? tag : 1;
  }
  size_t Home(uint32_t tag) const { return tag >> shift_; }

  void Place(uint32_t tag, V value) {
    size_t i = Home(tag);
    while (slots_[i].tag != 0) i = (i + 1) & mask_;
    slots_[i] = Slot{tag, value};
  }

  void Grow() {
    Slots old = std::move(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    shift_ = 32 - std::countr_zero(slots_.size());
    // Any insertion order gives a valid table; this one writes sequentially.
    for (const Slot& s : old) {
      if (s.tag != 0) Place(s.tag, s.value);
    }
  }

  using Slots = std::vector<Slot, HugePageAllocator<Slot>>;
  Slots slots_;
  size_t mask_ = 0;
  int shift_ = 32;
  size_t size_ = 0;
};

}  // namespace pond
