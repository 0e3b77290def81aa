#include "core/hash_index.hpp"

#include <gtest/gtest.h>

#include <string>
#include <unordered_map>

#include "core/random.hpp"

namespace pond {
namespace {

// Model: std::unordered_map. Keys live in a vector, as callers keep them in
// their records; colliding hashes are forced by masking them: keeping only
// the low bits makes every tag equal, keeping only the top 16 bits crowds
// keys onto few home slots with distinct tags.
TEST(HashIndexTest, AgreesWithAMapEvenWhenHashesCollide) {
  for (uint64_t hash_mask : {~uint64_t{0}, uint64_t{0xffff} << 48, uint64_t{0xff}, uint64_t{0}}) {
    Random rng(hash_mask);
    HashIndex<uint32_t> index;
    std::vector<std::string> keys;
    std::unordered_map<std::string, uint32_t> model;
    const int n = hash_mask == 0 ? 300 : 20000;
    for (int step = 0; step < n; ++step) {
      std::string key = "k" + std::to_string(rng.Uniform(static_cast<uint64_t>(n)));
      auto is_key = [&](uint32_t v) { return keys[v] == key; };
      const uint32_t* found = index.Find(HashKey(key) & hash_mask, is_key);
      auto it = model.find(key);
      ASSERT_EQ(found != nullptr, it != model.end()) << key;
      if (found) {
        ASSERT_EQ(*found, it->second);
        if (rng.Chance(0.3)) {  // changed in place (the wallet moves a member's latest coupon so)
          keys.push_back(key);
          *index.Find(HashKey(key) & hash_mask, is_key) = static_cast<uint32_t>(keys.size() - 1);
          it->second = static_cast<uint32_t>(keys.size() - 1);
        }
        continue;
      }
      const auto v = static_cast<uint32_t>(keys.size());
      keys.push_back(key);
      index.Insert(HashKey(key) & hash_mask, v);
      model.emplace(key, v);
    }
    EXPECT_EQ(index.size(), model.size());
    for (const auto& [key, v] : model) {
      const uint32_t* found = index.Find(HashKey(key) & hash_mask, [&](uint32_t at) { return keys[at] == key; });
      ASSERT_TRUE(found != nullptr && *found == v) << key;
    }
  }
}

// Growing moves the old table a few slots an insert: every entry stays
// found throughout, and the old table is gone before the new one fills.
TEST(HashIndexTest, GrowingMovesTheOldTableAFewSlotsAnInsert) {
  HashIndex<uint32_t> index;
  std::vector<uint64_t> hashes;
  Random rng(7);
  int inserts_while_growing = 0;
  for (uint32_t v = 0; v < 200'000; ++v) {
    hashes.push_back(rng.Next());
    index.Insert(hashes.back(), v);
    inserts_while_growing += index.growing();
    if (v % 997 == 0) {
      for (uint32_t w = 0; w <= v; w += 13) {
        const uint32_t* found = index.Find(hashes[w], [&](uint32_t at) { return at == w; });
        ASSERT_TRUE(found != nullptr && *found == w) << w << " after " << v;
      }
    }
  }
  // Tables of 1024, 2048, ... 262 144 slots were outgrown (200 000 entries
  // need 524 288 slots): each is moved over size / kMovePerInsert inserts,
  // the last of which ends the growth.
  int expected = 0;
  for (int size = 1024; size <= 262'144; size *= 2) expected += size / static_cast<int>(HashIndex<uint32_t>::kMovePerInsert) - 1;
  EXPECT_EQ(inserts_while_growing, expected);
  EXPECT_FALSE(index.growing());
}

// The top bits choose the home slot, so they must depend on every byte of
// the key: keys differing in one byte, at any position, rarely share them.
TEST(HashIndexTest, HashKeyTopBitsDependOnEveryByte) {
  const std::string base = "ORD-2026-11-23-000123";
  for (size_t at = 0; at < base.size(); ++at) {
    int same_top_byte = 0;
    for (int c = 0; c < 256; ++c) {
      std::string key = base;
      if (static_cast<unsigned char>(key[at]) == c) continue;
      key[at] = static_cast<char>(c);
      same_top_byte += (HashKey(key) >> 56) == (HashKey(base) >> 56);
    }
    EXPECT_LE(same_top_byte, 8) << "byte " << at;  // 1 expected by chance
  }
}

}  // namespace
}  // namespace pond
