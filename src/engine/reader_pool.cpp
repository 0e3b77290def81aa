#include "engine/reader_pool.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

namespace pond {

ReaderPool::~ReaderPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void ReaderPool::Run(std::function<void()> read) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(read));
    while (threads_.size() < static_cast<size_t>(size_)) {
      threads_.emplace_back([this] {
        pthread_setname_np(pthread_self(), "pond-reader");
        // Linux gives each thread its own nice value; failing to lower it
        // only costs the priority, so it is not an error.
        (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kNice);
        Loop();
      });
    }
  }
  cv_.notify_one();
}

void ReaderPool::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;
    std::function<void()> read = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    read();
    lock.lock();
  }
}

}  // namespace pond
