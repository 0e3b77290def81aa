#include "core/hash_index.hpp"

#include <cstring>

namespace pond {
namespace {

// Multiplies and folds the 128-bit product: every input bit reaches many
// output bits in one instruction pair.
uint64_t Fold(uint64_t a, uint64_t b) {
  __extension__ using Wide = unsigned __int128;  // GCC and Clang on 64-bit targets
  const Wide product = static_cast<Wide>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

constexpr uint64_t kWordMultiplier = 0x9e3779b97f4a7c15ULL;  // 2^64 / golden ratio
constexpr uint64_t kTailMultiplier = 0xc2b2ae3d27d4eb4fULL;
constexpr uint64_t kSeed = 0x243f6a8885a308d3ULL;  // digits of pi

}  // namespace

// Eight bytes at a time, each folded into the state, then a final avalanche
// (splitmix64's) so the top bits, which HashIndex uses, depend on every byte.
uint64_t HashKey(std::string_view key) {
  const char* p = key.data();
  size_t n = key.size();
  uint64_t h = kSeed ^ n;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    h = Fold(h ^ word, kWordMultiplier);
  }
  if (n > 0) {
    uint64_t word = 0;
    std::memcpy(&word, p, n);
    h = Fold(h ^ word, kTailMultiplier);
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

}  // namespace pond
