#include "core/huge_pages.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <thread>

#include "core/chunked_array.hpp"

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

// A chunked table's chunks come from the pool already faulted in: filling
// four of them (8 MiB) costs the filling thread no page fault, where cold
// chunks cost at least one a huge page (512 without huge pages).
TEST(HugePagesTest, ChunksComeFaultedInFromThePool) {
  (void)WarmBlocksReady();  // starts the background thread
  ASSERT_TRUE(WaitFor([] { return WarmBlocksReady() == kWarmBlocks; }));
  ChunkedArray<uint64_t> values;
  const long before = FaultsOfThisThread();
  for (uint64_t i = 0; i < 4 * kHugePage / sizeof(uint64_t); ++i) values.push_back(i);
  EXPECT_LE(FaultsOfThisThread() - before, 2);  // the chunk pointers' small vector may fault once
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
  EXPECT_EQ(FaultsOfThisThread() - before, 0);
  EXPECT_EQ(nonzero, 2u);
  EXPECT_EQ(p[0], 7);
  EXPECT_EQ(p[bytes - 1], 9);
  FreeZeroedHuge(p, bytes);
}

// Stopped part way, a WarmUp leaves the memory to its owner at once: it
// can be written and freed, and a WarmUp of nothing is done never.
TEST(HugePagesTest, AStoppedWarmUpLetsGoOfTheMemory) {
  for (int round = 0; round < 20; ++round) {
    const size_t bytes = 64 * kHugePage;
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

}  // namespace
}  // namespace pond
