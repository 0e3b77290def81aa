#include "core/hash_index.hpp"

#include <gtest/gtest.h>

#include <string>
#include <unordered_map>

#include "core/random.hpp"

namespace pond {
namespace {

// Model: std::unordered_map. Keys live in a vector, as callers keep them in
// their records; colliding hashes are forced by truncating them.
TEST(HashIndexTest, AgreesWithAMapEvenWhenHashesCollide) {
  for (uint64_t hash_mask : {~uint64_t{0}, uint64_t{0xff}, uint64_t{0}}) {
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
        continue;
      }
      const auto v = static_cast<uint32_t>(keys.size());
      keys.push_back(key);
      index.Insert(HashKey(key) & hash_mask, v);
      model.emplace(key, v);
    }
    EXPECT_EQ(index.size(), model.size());
  }
}

}  // namespace
}  // namespace pond
