#include "engine/scheduler.hpp"

#include <pthread.h>

namespace pond {

Scheduler::Scheduler(Engine& engine, std::chrono::milliseconds period) : engine_(engine), period_(period) {
  // The first pass is queued before the constructor returns, so it comes
  // ahead of anything a caller sends once serving starts: a tenant created
  // then never has its day run by a pass racing its first events.
  RunDueEverywhere(engine_);
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "pond-scheduler");
    Loop();
  });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Scheduler::RunDueEverywhere(Engine& engine) {
  for (const auto& tenant : engine.Tenants()) {
    tenant->Submit(TenantCommand{[](TenantState& s, Timestamp now) { return s.RunDue(now); }, [](const Status&) {},
                                 {Actor::System("scheduler"), {}}});
  }
}

void Scheduler::Loop() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, period_, [this] { return stop_; })) {
    lock.unlock();
    RunDueEverywhere(engine_);
    lock.lock();
  }
}

}  // namespace pond
