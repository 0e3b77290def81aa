#include "core/fair_shared_mutex.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <shared_mutex>
#include <thread>
#include <vector>

namespace pond {
namespace {

TEST(FairSharedMutexTest, WritersExcludeEveryoneReadersOnlyWriters) {
  FairSharedMutex mu;
  std::atomic<int> readers{0}, writers{0}, bad{0};
  int64_t counter = 0;  // written only under the exclusive lock
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        if ((i + t) % 3 == 0) {
          std::unique_lock lock(mu);
          if (++writers != 1 || readers != 0) ++bad;
          ++counter;
          --writers;
        } else {
          std::shared_lock lock(mu);
          ++readers;
          if (writers != 0) ++bad;
          --readers;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad, 0);
  int64_t expected = 0;
  for (int t = 0; t < 4; ++t) {
    for (int i = 0; i < 2000; ++i) expected += (i + t) % 3 == 0;
  }
  EXPECT_EQ(counter, expected);
}

// Two readers that always overlap would keep a reader-preferring lock from
// any writer for as long as they go on; here readers that come after a
// waiting writer wait for it.
TEST(FairSharedMutexTest, OverlappingReadersDoNotStarveAWriter) {
  FairSharedMutex mu;
  std::atomic<bool> writer_waiting{false}, written{false};
  std::atomic<int> reads_while_waiting{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < 100000 && !written; ++i) {
        std::shared_lock lock(mu);
        if (writer_waiting && !written) ++reads_while_waiting;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the readers are going
  writer_waiting = true;
  {
    std::unique_lock lock(mu);
    written = true;
  }
  for (auto& t : readers) t.join();
  // Those already in, and at most one each that raced the flag.
  EXPECT_LE(reads_while_waiting, 4);
}

// A writer that lets go and takes the lock again at once (a command in
// slices) lets a waiting reader in between.
TEST(FairSharedMutexTest, AReaderGetsInBetweenAWritersTurns) {
  FairSharedMutex mu;
  std::atomic<bool> reader_waiting{false}, read{false};
  std::atomic<int> turns_while_waiting{0};
  std::thread writer([&] {
    for (int i = 0; i < 100000 && !read; ++i) {
      std::unique_lock lock(mu);
      if (reader_waiting && !read) ++turns_while_waiting;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  reader_waiting = true;
  {
    std::shared_lock lock(mu);
    read = true;
  }
  writer.join();
  EXPECT_LE(turns_while_waiting, 2);
}

}  // namespace
}  // namespace pond
