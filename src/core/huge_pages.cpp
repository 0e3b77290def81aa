#include "core/huge_pages.hpp"

#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <new>
#include <thread>
#include <utility>
#include <vector>

namespace pond {

struct WarmUp::Job {
  std::mutex mu;  // held while a piece is faulted in, and by Stop
  char* p = nullptr;
  size_t bytes = 0;
  std::atomic<size_t> done{0};  // written under mu
  bool stopped = false;  // under mu
};

namespace {

size_t RoundUp(size_t bytes) { return (bytes + kHugePage - 1) / kHugePage * kHugePage; }

// nullptr when memory is out.
void* TryHugeBlock(size_t bytes) {
  void* p = std::aligned_alloc(kHugePage, RoundUp(bytes));
  // Advice only: where the kernel refuses, the block works with small pages.
  if (p) madvise(p, RoundUp(bytes), MADV_HUGEPAGE);
  return p;
}

void* NewHugeBlock(size_t bytes) {
  void* p = TryHugeBlock(bytes);
  if (!p) throw std::bad_alloc();
  return p;
}

// Faults in [p, p + bytes) writable without changing it: an atomic OR of
// zero into a byte of each page is a write (so the kernel maps a page of its
// own at once, not its shared zero page first) that leaves the byte as it
// was. Not madvise(MADV_POPULATE_WRITE): it holds the process's memory-map
// lock while it zeroes, so the writer's own mmap or munmap waited on it.
void FaultIn(char* p, size_t bytes) {
  constexpr uintptr_t kPage = 4096;
  for (char* at = p; at < p + bytes;
       at = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(at) + kPage) & ~(kPage - 1))) {
    __atomic_fetch_or(at, 0, __ATOMIC_RELAXED);  // the first byte of each page the range covers
  }
}

// The background thread and what it serves: the pool of 2 MiB blocks
// faulted in, and WarmUp jobs in the order they came. Made on first use and
// never destroyed (its thread runs until the process exits). A child made by
// fork has no such thread, and a mutex the parent's thread held at the fork
// stays held in it: there every call falls back to cold memory.
class Warmer {
 public:
  static Warmer& Get() {
    static Warmer* warmer = new Warmer;
    return *warmer;
  }

  bool usable() const { return getpid() == pid_; }

  void* TakeBlock() {
    if (!usable()) return nullptr;
    std::lock_guard lock(mu_);
    if (pool_.empty()) return nullptr;
    void* block = pool_.back();
    pool_.pop_back();
    cv_.notify_one();
    return block;
  }

  // Keeps a freed block for the next taker while the pool has room: it is
  // faulted in already.
  bool GiveBack(void* block) {
    if (!usable()) return false;
    std::lock_guard lock(mu_);
    if (pool_.size() >= kWarmBlocks) return false;
    pool_.push_back(block);
    return true;
  }

  size_t ready() {
    if (!usable()) return 0;
    std::lock_guard lock(mu_);
    return pool_.size();
  }

  void Dispose(void* object, void (*destroy)(void*)) {
    if (!usable()) return destroy(object);
    std::lock_guard lock(mu_);
    disposals_.emplace_back(object, destroy);
    cv_.notify_one();
  }

  void Add(std::shared_ptr<WarmUp::Job> job) {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
    cv_.notify_one();
  }

 private:
  Warmer() : pid_(getpid()) {
    std::thread([this] {
      pthread_setname_np(pthread_self(), "pond-warmer");
      // Behind the writer for the CPU: on two cores it is one of five busy
      // threads, and the writer descheduled holds readers out. A block not
      // ready in time costs only the fault it was to save.
      (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
      Run();
    }).detach();
  }

  void Run() {
    for (;;) {
      std::shared_ptr<WarmUp::Job> job;
      std::vector<std::pair<void*, void (*)(void*)>> disposals;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return pool_.size() < kWarmBlocks || !jobs_.empty() || !disposals_.empty(); });
        disposals.swap(disposals_);
        // Blocks first: a chunked table waiting for a chunk faults it in
        // itself, a table made ahead has time.
        if (disposals.empty() && pool_.size() >= kWarmBlocks) job = jobs_.front();
      }
      if (!disposals.empty()) {  // first: they hold memory the others would add to
        for (auto [object, destroy] : disposals) destroy(object);
        continue;
      }
      if (!job) {
        if (auto* block = static_cast<char*>(TryHugeBlock(kHugePage))) {
          FaultIn(block, kHugePage);
          std::lock_guard lock(mu_);
          pool_.push_back(block);
          continue;
        }
        // Out of memory: a job meanwhile, else a second's wait, rather
        // than ending the process; takers fall back to blocks of their own.
        std::unique_lock lock(mu_);
        if (jobs_.empty()) {
          cv_.wait_for(lock, std::chrono::seconds(1));
          continue;
        }
        job = jobs_.front();
      }
      bool finished = false;
      {
        std::lock_guard piece(job->mu);
        if (!job->stopped && job->done < job->bytes) {
          const size_t n = std::min(kHugePage, job->bytes - job->done);
          FaultIn(job->p + job->done, n);
          job->done += n;
        }
        finished = job->stopped || job->done == job->bytes;
      }
      if (finished) {
        std::lock_guard lock(mu_);
        jobs_.pop_front();  // only this thread removes jobs: the front is still `job`
      }
    }
  }

  const pid_t pid_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<void*> pool_;
  std::deque<std::shared_ptr<WarmUp::Job>> jobs_;
  std::vector<std::pair<void*, void (*)(void*)>> disposals_;  // objects to destroy, with how
};

}  // namespace

void* AllocateHuge(size_t bytes) {
  if (bytes < kHugePage) return ::operator new(bytes);
  if (bytes == kHugePage) {
    if (void* warm = Warmer::Get().TakeBlock()) return warm;
  }
  return NewHugeBlock(bytes);
}

void FreeHuge(void* p, size_t bytes) {
  if (bytes < kHugePage) {
    ::operator delete(p);
  } else if (bytes != kHugePage || !Warmer::Get().GiveBack(p)) {
    std::free(p);
  }
}

size_t WarmBlocksReady() { return Warmer::Get().ready(); }

void DestroyOnTheSide(void* object, void (*destroy)(void*)) { Warmer::Get().Dispose(object, destroy); }

void* AllocateZeroedHuge(size_t bytes) {
  if (bytes < kHugePage) {
    void* p = std::calloc(1, bytes);
    if (!p) throw std::bad_alloc();
    return p;
  }
  // mmap, not calloc: glibc's threshold for mapping moves up after big
  // frees, and below it calloc writes every zero itself.
  void* p = mmap(nullptr, RoundUp(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  madvise(p, RoundUp(bytes), MADV_HUGEPAGE);
  return p;
}

void FreeZeroedHuge(void* p, size_t bytes) {
  if (bytes < kHugePage) {
    std::free(p);
  } else {
    munmap(p, RoundUp(bytes));
  }
}

WarmUp::WarmUp(void* p, size_t bytes) {
  Warmer& warmer = Warmer::Get();
  if (!warmer.usable() || bytes == 0) return;
  job_ = std::make_shared<Job>();
  job_->p = static_cast<char*>(p);
  job_->bytes = bytes;
  warmer.Add(job_);
}

WarmUp& WarmUp::operator=(WarmUp&& other) noexcept {
  if (this != &other) {
    Stop();
    job_ = std::move(other.job_);
  }
  return *this;
}

bool WarmUp::done() const { return job_ && job_->done == job_->bytes; }

void WarmUp::Stop() {
  if (!job_) return;
  if (Warmer::Get().usable()) {
    std::lock_guard lock(job_->mu);
    job_->stopped = true;
  }
  job_.reset();
}

}  // namespace pond
