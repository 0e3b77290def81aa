// TenantEngine: the single writer of one tenant (DESIGN.md "Single writer
// per tenant").
//
// Commands are queued and applied in order by one writer thread. The writer
// drains the queue, applies every waiting command to the in-memory state
// under an exclusive lock, commits the rows they produced in one store
// transaction (group commit), and only then tells each command's caller how
// it went: a write is acknowledged only once it is durable. If the commit
// fails, nothing is acknowledged and the state is rebuilt from the store,
// so memory never keeps what the store lost.
//
// Readers run `Read` under a shared lock from any thread; they see a
// consistent state between commands. They may see a command's effect up to
// one group commit before it is durable (its caller is not yet answered).
//
// Thread-safety: every public method may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "core/clock.hpp"
#include "engine/store.hpp"
#include "engine/tenant_state.hpp"

namespace pond {

struct TenantCommand {
  // Runs on the writer thread with the clock's time for this command.
  std::function<void(TenantState& state, Timestamp now)> apply;
  // Runs on the writer thread after the commit: OK once what `apply` did is
  // durable; Unavailable when the commit failed (and the state was rebuilt).
  std::function<void(const Status& commit)> done;
};

// Counters for /metrics; read without locks.
struct TenantMetrics {
  std::atomic<int64_t> commands{0};
  std::atomic<int64_t> commits{0};
  std::atomic<int64_t> commit_failures{0};
  std::atomic<int64_t> commit_micros_total{0};
  std::atomic<int64_t> commit_micros_max{0};
  std::atomic<int64_t> apply_micros_total{0};  // applying commands to memory
  std::atomic<int64_t> queue_depth{0};
  std::atomic<int64_t> events_accepted{0};
  std::atomic<int64_t> events_duplicate{0};
  std::atomic<int64_t> events_rejected{0};
  std::atomic<int64_t> standing_members{0};
};

class TenantEngine {
 public:
  // Loads the tenant's state from `store` and starts its writer.
  static Result<std::unique_ptr<TenantEngine>> Open(TenantRecord record, std::unique_ptr<TenantStore> store,
                                                    const Clock& clock);
  // Finishes the queued commands, then stops the writer.
  ~TenantEngine();
  TenantEngine(const TenantEngine&) = delete;
  TenantEngine& operator=(const TenantEngine&) = delete;

  // Queues a command; returns at once. `done` always runs exactly once.
  void Submit(TenantCommand command);

  // Runs `f(const TenantState&)` under the shared lock and returns its result.
  template <typename F>
  auto Read(F&& f) const {
    std::shared_lock lock(state_mu_);
    return f(static_cast<const TenantState&>(*state_));
  }

  const TenantRecord& record() const { return record_; }
  TenantMetrics& metrics() { return metrics_; }

 private:
  TenantEngine(TenantRecord record, std::unique_ptr<TenantStore> store, const Clock& clock);
  static Result<std::unique_ptr<TenantState>> LoadState(const TenantRecord& record, TenantStore& store);
  void WriterLoop();

  const TenantRecord record_;
  const std::unique_ptr<TenantStore> store_;
  const Clock& clock_;
  TenantMetrics metrics_;

  mutable std::shared_mutex state_mu_;
  std::unique_ptr<TenantState> state_;
  WriteBatch batch_;  // writer thread only: the group being committed, reused

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<TenantCommand> queue_;
  bool stopping_ = false;
  bool broken_ = false;  // writer thread only: the store lost writes memory holds
  std::thread writer_;
};

}  // namespace pond
