#include "core/huge_pages.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <thread>

#include "core/chunked_array.hpp"
#include "core/hash_index.hpp"
#include "core/random.hpp"
#include "core/stable_vector.hpp"

namespace pond {
namespace {


bool WaitFor(const std::function<bool()>& ready) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!ready()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

long FaultsOfThisThread() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_minflt;
}

// The calling thread's page faults since `before`. Sanitizers map shadow
// memory as the program first touches its own, so under them the count
// says nothing about Pond's memory and is taken as none.
long FaultsSince(long before) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  (void)before;
  return 0;
#else
  return FaultsOfThisThread() - before;
#endif
}

// A chunked table's chunks come from the pool already faulted in: filling
// four of them (8 MiB) costs the filling thread no page fault, where cold
// chunks cost at least one a huge page (512 without huge pages).
TEST(HugePagesTest, ChunksComeFaultedInFromThePool) {
  (void)WarmBlocksReady();  // starts the background thread
  ASSERT_TRUE(WaitFor([] { return WarmBlocksReady() == kWarmBlocks; }));
  ChunkedArray<uint64_t> values;
  const long before = FaultsOfThisThread();
  for (uint64_t i = 0; i < 4 * kHugePage / sizeof(uint64_t); ++i) values.push_back(i);
  EXPECT_LE(FaultsSince(before), 2);  // the chunk pointers' small vector may fault once
  EXPECT_EQ(values[12345], 12345u);
  // The pool fills up again behind the taker.
  EXPECT_TRUE(WaitFor([] { return WarmBlocksReady() == kWarmBlocks; }));
}

// WarmUp faults a range in without changing it, off the calling thread.
TEST(HugePagesTest, WarmUpFaultsInWithoutChangingTheMemory) {
  const size_t bytes = 5 * kHugePage + 4096;
  auto* p = static_cast<unsigned char*>(AllocateZeroedHuge(bytes));
  p[0] = 7;  // one page written before, the rest never touched
  p[bytes - 1] = 9;
  WarmUp warming(p, bytes);
  ASSERT_TRUE(WaitFor([&] { return warming.done(); }));
  std::vector<unsigned char> resident(bytes / static_cast<size_t>(sysconf(_SC_PAGESIZE)));
  ASSERT_EQ(mincore(p, bytes, resident.data()), 0);
  for (size_t page = 0; page < resident.size(); ++page) ASSERT_EQ(resident[page] & 1, 1) << "page " << page;
  warming.Stop();
  const long before = FaultsOfThisThread();
  size_t nonzero = 0;
  for (size_t at = 0; at < bytes; ++at) nonzero += p[at] != 0;
  EXPECT_EQ(FaultsSince(before), 0);
  EXPECT_EQ(nonzero, 2u);
  EXPECT_EQ(p[0], 7);
  EXPECT_EQ(p[bytes - 1], 9);
  FreeZeroedHuge(p, bytes);
}

// Stopped part way, a WarmUp leaves the memory to its owner at once: it
// can be written and freed, and a WarmUp of nothing is done never.
TEST(HugePagesTest, AStoppedWarmUpLetsGoOfTheMemory) {
  for (int round = 0; round < 10; ++round) {
    const size_t bytes = 16 * kHugePage;
    auto* p = static_cast<unsigned char*>(AllocateZeroedHuge(bytes));
    WarmUp warming(p, bytes);
    if (round % 2) std::this_thread::sleep_for(std::chrono::milliseconds(round));
    warming.Stop();
    EXPECT_FALSE(warming.done());  // stopped: no longer the owner's business
    std::memset(p, round, bytes);
    FreeZeroedHuge(p, bytes);
  }
  EXPECT_FALSE(WarmUp().done());
}

// The table a growth moves into was made at 3/8 full and faulted in on the
// background thread meanwhile: every page of it is in memory before the
// growth takes it, and filling it costs the inserting thread no page fault
// (a cold table of 16 MiB costs at least 8: one per huge page, 4 096
// without huge pages).
TEST(HugePagesTest, TheTableAHashIndexGrowsIntoIsFaultedInBeforehand) {
  HashIndex<uint32_t> index;
  Random rng(11);
  uint32_t v = 0;
  // A table of 1 048 576 slots holds up to 524 288 entries; the next one
  // (2 097 152 slots, 16 MiB) is made at 393 216.
  for (; v < 393'215; ++v) index.Insert(rng.Next(), v);
  EXPECT_EQ(index.next_table(), nullptr);
  index.Insert(rng.Next(), v++);
  ASSERT_NE(index.next_table(), nullptr);
  ASSERT_TRUE(WaitFor([&] { return index.next_ready(); }));
  const void* next = index.next_table();
  const size_t bytes = size_t{2'097'152} * 8;
  std::vector<unsigned char> resident(bytes / static_cast<size_t>(sysconf(_SC_PAGESIZE)));
  ASSERT_EQ(mincore(const_cast<void*>(next), bytes, resident.data()), 0);
  EXPECT_EQ(std::count_if(resident.begin(), resident.end(), [](unsigned char r) { return (r & 1) == 0; }), 0);

  const long before = FaultsOfThisThread();
  for (; !index.growing(); ++v) index.Insert(rng.Next(), v);
  EXPECT_EQ(index.table_in_use(), next);
  // Through the growth: every old slot moved in, inserts placed at random.
  for (; index.growing(); ++v) index.Insert(rng.Next(), v);
  EXPECT_LE(FaultsSince(before), 2);
}

// The block after the last is made at half of it and faulted in on the
// background thread: writing into it costs the writing thread no page fault
// (a cold 1 MiB block costs 256, or one per huge page).
TEST(HugePagesTest, AStableVectorsNextBlockIsFaultedInBeforeItIsWritten) {
  struct Kilobyte {
    char bytes[1024] = {};
  };
  StableVector<Kilobyte> v;
  for (int i = 0; i < 512; ++i) v.emplace_back();
  ASSERT_TRUE(WaitFor([&] { return v.next_ready(); }));
  for (int i = 512; i < 1024; ++i) v.emplace_back();  // the rest of the first block
  const long before = FaultsOfThisThread();
  for (int i = 1024; i < 2048; ++i) v.emplace_back().bytes[1000] = static_cast<char>(i);
  EXPECT_LE(FaultsSince(before), 1);  // the list of blocks may grow into a fresh page
  EXPECT_EQ(v[1500].bytes[1000], static_cast<char>(1500));
}

// What FreeLater is given is destroyed on the background thread, not the
// caller's, and soon.
TEST(HugePagesTest, FreeLaterDestroysOnTheBackgroundThread) {
  struct Witness {
    std::vector<uint64_t> big = std::vector<uint64_t>(1 << 20, 7);
    std::atomic<std::thread::id>* destroyed_on = nullptr;
    Witness() = default;
    Witness(Witness&& other) noexcept
        : big(std::move(other.big)), destroyed_on(std::exchange(other.destroyed_on, nullptr)) {}
    ~Witness() {
      if (destroyed_on) *destroyed_on = std::this_thread::get_id();
    }
  };
  std::atomic<std::thread::id> destroyed_on{};
  Witness w;
  w.destroyed_on = &destroyed_on;
  FreeLater(std::move(w));
  EXPECT_TRUE(w.big.empty());  // the memory went with it
  ASSERT_TRUE(WaitFor([&] { return destroyed_on.load() != std::thread::id(); }));
  EXPECT_NE(destroyed_on.load(), std::this_thread::get_id());
}

}  // namespace
}  // namespace pond
