// ReaderPool: where heavy reads run — segment counts and samples, tag
// counts, exports (ARCHITECTURE.md "Readers and the writer").
//
// A few threads at a lower CPU priority (nice +10) than the writers,
// committers and I/O threads. On a machine with few cores, two clients
// asking segment questions back to back would otherwise take half the CPU
// from ingest; at a lower priority they get what ingest leaves (roughly a
// tenth when both want everything) and all of it when ingest is idle. Its
// reads take the state lock in short holds (engine/segment_reads.hpp), so a
// reader the scheduler sets aside keeps the writer out briefly at most.
//
// Thread-safety: Run may be called from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace pond {

class ReaderPool {
 public:
  static constexpr int kNice = 10;
  // The threads start with the first read.
  explicit ReaderPool(int threads) : size_(threads) {}
  // Finishes what was queued, then stops the threads.
  ~ReaderPool();
  ReaderPool(const ReaderPool&) = delete;
  ReaderPool& operator=(const ReaderPool&) = delete;

  // Queues `read`; it runs on one of the pool's threads.
  void Run(std::function<void()> read);

 private:
  void Loop();

  const int size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace pond
