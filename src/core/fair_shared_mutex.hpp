// FairSharedMutex: a readers-writer lock where nobody waits forever.
//
// glibc's rwlock (under std::shared_mutex) prefers readers: two clients
// asking slow segment questions in turn can keep a tenant's writer out
// for as long as they keep asking, and a writer that releases and takes
// the lock again at once (a command in slices) can keep readers and the
// committer out. This one is phase-fair:
// - writers take turns in arrival order (a ticket each);
// - once a writer waits, readers arriving after it wait for it;
// - readers that waited for a writer get in when it lets go, before the
//   next writer.
// So a reader waits at most for the writers ahead of it and the readers
// already in, and the writer at most for the readers already in.
//
// Meets the standard's SharedMutex requirements for lock/unlock and
// lock_shared/unlock_shared (std::unique_lock, std::shared_lock).
//
// Thread-safety: everything may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace pond {

class FairSharedMutex {
 public:
  FairSharedMutex() = default;
  FairSharedMutex(const FairSharedMutex&) = delete;
  FairSharedMutex& operator=(const FairSharedMutex&) = delete;

  void lock();
  void unlock();
  void lock_shared();
  void unlock_shared();

 private:
  std::mutex mu_;
  std::condition_variable readers_cv_, writers_cv_;
  uint64_t next_ticket_ = 0;  // the ticket the next writer to arrive takes
  uint64_t serving_ = 0;      // the ticket whose turn it is (== next_ticket_: no writer waits or holds)
  bool writing_ = false;
  int64_t reading_ = 0;   // readers holding the lock
  int64_t waiting_ = 0;   // readers waiting
  int64_t admitted_ = 0;  // readers owed a turn before the next writer
};

}  // namespace pond
