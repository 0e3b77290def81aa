// Scheduler: drives the tenants' timed work (DESIGN.md "Time is an input").
// Every `period` of real time it queues, for each tenant, a command that
// runs TenantState::RunDue at the engine clock's time, so the writer does
// the work in order with everything else and a day's work is done once,
// however often it is asked. Tests call RunDue (or the scheduler endpoint)
// with a manual clock instead of waiting for this thread.
//
// Thread-safety: construct and destroy on one thread; the worker thread is
// internal.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "engine/engine.hpp"

namespace pond {

class Scheduler {
 public:
  Scheduler(Engine& engine, std::chrono::milliseconds period);
  ~Scheduler();  // stops the thread; queued work finishes with the tenants
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues RunDue for every tenant now; `done` runs once per tenant after
  // the work is durable (or failed).
  static void RunDueEverywhere(Engine& engine);

 private:
  void Loop();

  Engine& engine_;
  const std::chrono::milliseconds period_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace pond
