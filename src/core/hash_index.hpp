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
//
// Growing never stops the caller for the whole table: the new table (twice
// the size) comes from the kernel as zero pages, written only where used,
// and each Insert moves the next kMovePerInsert slots of the old one across;
// until the last is moved, a lookup not found in the new table looks in the
// old one (whose moved slots are left as they were, so its probes chain).
// The old table is gone well before the new one is half full (it has half
// the slots and at least kMovePerInsert are moved an insert).
//
// Nor does the new table's memory stop it: lookups and inserts land at
// random, so a fresh table would fault in all its pages within its first
// few hundred uses, each fault zeroing a 2 MiB page in the kernel (48 ms of
// faults in one 5 ms slice of a 1 M-member ingest on a VM whose fresh
// memory is slow). Instead the next table is made at 3/8 full and faulted
// in on a background thread (WarmUp, core/huge_pages.hpp) while this one
// fills to half.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <string_view>
#include <utility>

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
    const uint32_t tag = Tag(hash);
    if (const V* v = table_.Find(tag, is_key)) return v;
    // An entry already moved is found above; its old slot is left as it
    // was, so probes through the old table still chain.
    return old_.Find(tag, is_key);  // empty unless growing
  }

  // The same, for changing the value in place.
  template <typename IsKey>
  V* Find(uint64_t hash, IsKey&& is_key) {
    return const_cast<V*>(static_cast<const HashIndex&>(*this).Find(hash, std::forward<IsKey>(is_key)));
  }

  // Asks the CPU to start loading the slot a later Find of `hash` reads
  // first, so a batch of lookups overlaps its cache misses.
  void Prefetch(uint64_t hash) const {
    if (table_.size != 0) __builtin_prefetch(&table_.slots[table_.Home(Tag(hash))]);
  }

  // Adds an entry; the caller has checked that the key is absent.
  void Insert(uint64_t hash, V value) {
    if ((size_ + 1) * 2 > table_.size) StartGrowing();
    table_.Place(Tag(hash), value);
    ++size_;
    MoveSome(kMovePerInsert);
    PrepareNext();
  }

  size_t size() const { return size_; }
  bool growing() const { return old_.size != 0; }

  // Whether the table growing takes next is made and faulted in, and where
  // it is (for tests).
  bool next_ready() const { return warming_.done(); }
  const void* next_table() const { return next_.slots; }
  const void* table_in_use() const { return table_.slots; }

  static constexpr size_t kMovePerInsert = 8;

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

  // A power-of-two array of slots on zero pages (AllocateZeroedHuge).
  struct Table {
    Slot* slots = nullptr;
    size_t size = 0;
    size_t mask = 0;
    int shift = 32;

    Table() = default;
    explicit Table(size_t n)
        : slots(static_cast<Slot*>(AllocateZeroedHuge(n * sizeof(Slot)))),
          size(n),
          mask(n - 1),
          shift(32 - std::countr_zero(n)) {}
    Table(Table&& other) noexcept { *this = std::move(other); }
    Table& operator=(Table&& other) noexcept {
      if (this != &other) {
        Free();
        slots = std::exchange(other.slots, nullptr);
        size = std::exchange(other.size, 0);
        mask = std::exchange(other.mask, 0);
        shift = std::exchange(other.shift, 32);
      }
      return *this;
    }
    ~Table() { Free(); }
    void Free() {
      if (slots) FreeZeroedHuge(slots, size * sizeof(Slot));
      slots = nullptr;
    }

    size_t Home(uint32_t tag) const { return tag >> shift; }
    void Place(uint32_t tag, V value) {
      size_t i = Home(tag);
      while (slots[i].tag != 0) i = (i + 1) & mask;
      slots[i] = Slot{tag, value};
    }
    template <typename IsKey>
    V* Find(uint32_t tag, IsKey& is_key) const {
      if (size == 0) return nullptr;
      for (size_t i = Home(tag);; i = (i + 1) & mask) {
        Slot& s = slots[i];
        if (s.tag == 0) return nullptr;
        if (s.tag == tag && is_key(s.value)) return &s.value;
      }
    }
  };

  void StartGrowing() {
    MoveSome(old_.size);  // only if inserts outran the moves (they cannot: see above)
    old_ = std::move(table_);
    moved_ = 0;
    warming_.Stop();  // what is not faulted in yet faults in as it is used
    table_ = next_.size != 0 ? std::move(next_) : Table(old_.size == 0 ? 1024 : old_.size * 2);
  }

  // At 3/8 full, makes the next table and has it faulted in.
  void PrepareNext() {
    if (next_.size != 0 || size_ * 8 < table_.size * 3) return;
    next_ = Table(table_.size * 2);
    warming_ = WarmUp(next_.slots, next_.size * sizeof(Slot));
  }

  // Moves the next `n` slots of the old table across; frees it after the last.
  void MoveSome(size_t n) {
    if (old_.size == 0) return;
    for (const size_t end = std::min(old_.size, moved_ + n); moved_ < end; ++moved_) {
      const Slot& s = old_.slots[moved_];
      if (s.tag != 0) table_.Place(s.tag, s.value);
    }
    if (moved_ == old_.size) old_ = Table();
  }

  Table table_;
  Table old_;         // while growing: the table before; its slots before moved_ are moved
  size_t moved_ = 0;
  Table next_;        // from 3/8 full: the table growing takes
  WarmUp warming_;    // faulting next_ in; declared after it, so stopped before it is freed
  size_t size_ = 0;
};

}  // namespace pond
