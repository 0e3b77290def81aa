#include "core/chunked_heap.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <queue>
#include <random>
#include <vector>

namespace pond {
namespace {

// Against std::priority_queue (the obvious model), over random pushes and
// pops with many equal keys, across chunk boundaries (2 MiB of 16-byte
// entries is 131 072 of them).
struct Entry {
  int64_t key;
  uint32_t seq;
  bool operator<(const Entry& o) const { return key != o.key ? key < o.key : seq < o.seq; }
  bool operator>(const Entry& o) const { return o < *this; }
  bool operator==(const Entry& o) const { return key == o.key && seq == o.seq; }
};

TEST(ChunkedHeapTest, PopsInTheOrderAPriorityQueueDoes) {
  std::mt19937_64 rng(5);
  ChunkedHeap<Entry> heap;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> model;
  for (int round = 0; round < 400'000; ++round) {
    if (rng() % 3 != 0 || model.empty()) {
      const Entry e{static_cast<int64_t>(rng() % 5000), static_cast<uint32_t>(round)};
      heap.push(e);
      model.push(e);
    } else {
      ASSERT_TRUE(heap.top() == model.top()) << "round " << round;
      heap.pop();
      model.pop();
    }
    ASSERT_EQ(heap.size(), model.size());
  }
  while (!model.empty()) {
    ASSERT_TRUE(heap.top() == model.top());
    heap.pop();
    model.pop();
  }
  EXPECT_TRUE(heap.empty());
}

}  // namespace
}  // namespace pond
