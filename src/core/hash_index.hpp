// HashIndex: an open-addressing table from a key's 64-bit hash to a small
// value (a member number, an order position), for indexes with tens of
// millions of entries. It stores no keys: the caller keeps them (in its own
// records) and confirms a candidate with a predicate, so an index costs 16
// bytes a slot instead of a node, a string and a pointer per entry.
// Linear probing, at most half full. Not thread-safe.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace pond {

// The hash used with HashIndex for text keys.
uint64_t HashKey(std::string_view key);

template <typename V>
class HashIndex {
 public:
  // The value of the entry with this hash for which `is_key(value)` holds
  // (the caller compares the real key), or nullptr.
  template <typename IsKey>
  const V* Find(uint64_t hash, IsKey&& is_key) const {
    if (slots_.empty()) return nullptr;
    hash = Occupied(hash);
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.hash == 0) return nullptr;
      if (s.hash == hash && is_key(s.value)) return &s.value;
    }
  }

  // Adds an entry; the caller has checked that the key is absent.
  void Insert(uint64_t hash, V value) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    Place(Occupied(hash), value);
    ++size_;
  }

  size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t hash = 0;  // 0 marks an empty slot
    V value{};
  };
  // Hash 0 means empty, so a real hash of 0 is stored as 1.
  static uint64_t Occupied(uint64_t hash) { return hash ? hash : 1; }

  void Place(uint64_t hash, V value) {
    size_t i = hash & mask_;
    while (slots_[i].hash != 0) i = (i + 1) & mask_;
    slots_[i] = Slot{hash, value};
  }

  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.hash != 0) Place(s.hash, s.value);
    }
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace pond
