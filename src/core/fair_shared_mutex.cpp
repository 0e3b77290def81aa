#include "core/fair_shared_mutex.hpp"

namespace pond {

void FairSharedMutex::lock() {
  std::unique_lock lock(mu_);
  const uint64_t ticket = next_ticket_++;
  writers_cv_.wait(lock, [&] { return serving_ == ticket && !writing_ && reading_ == 0 && admitted_ == 0; });
  writing_ = true;
}

void FairSharedMutex::unlock() {
  {
    std::lock_guard lock(mu_);
    writing_ = false;
    ++serving_;
    // Those who waited for this writer go before the next one.
    admitted_ = waiting_;
  }
  readers_cv_.notify_all();
  writers_cv_.notify_all();
}

void FairSharedMutex::lock_shared() {
  std::unique_lock lock(mu_);
  ++waiting_;
  readers_cv_.wait(lock, [&] { return !writing_ && (serving_ == next_ticket_ || admitted_ > 0); });
  --waiting_;
  if (admitted_ > 0) --admitted_;
  ++reading_;
}

void FairSharedMutex::unlock_shared() {
  bool last = false;
  {
    std::lock_guard lock(mu_);
    last = --reading_ == 0;
  }
  if (last) writers_cv_.notify_all();
}

}  // namespace pond
