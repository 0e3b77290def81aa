#include "engine/reader_pool.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>
#include <thread>

namespace pond {
namespace {

// Reads run on the pool's own threads, beneath the caller's CPU priority,
// and every read queued runs, also when the pool is destroyed right after.
TEST(ReaderPoolTest, RunsEveryReadOnItsThreadsAtALowerPriority) {
  const int mine = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  std::atomic<int> ran{0};
  std::promise<std::pair<std::thread::id, int>> seen;
  {
    ReaderPool pool(2);
    pool.Run([&] {
      errno = 0;
      seen.set_value({std::this_thread::get_id(), getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()))});
    });
    const auto [thread, nice] = seen.get_future().get();
    EXPECT_NE(thread, std::this_thread::get_id());
    EXPECT_GE(nice, ReaderPool::kNice);  // more when the tests themselves run niced
    EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())), mine) << "the caller's priority is untouched";
    for (int i = 0; i < 1000; ++i) pool.Run([&] { ++ran; });
  }
  EXPECT_EQ(ran, 1000);
}

}  // namespace
}  // namespace pond
