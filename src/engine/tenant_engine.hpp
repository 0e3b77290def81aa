// TenantEngine: the single writer of one tenant (DESIGN.md "Single writer
// per tenant").
//
// Commands are queued and applied in order by one writer thread. The writer
// applies every waiting command to the in-memory state under an exclusive
// lock as it arrives, and whenever the tenant's committer thread is free
// hands it the rows of all commands applied since, as one group, to write in
// one store transaction (group commit). While a group commits, everything
// that arrives is applied and gathers into the next group. Only after the
// commit does the committer tell each command's caller how it went: a write
// is acknowledged only once it is durable, and answers go out in order. If a
// commit fails, its commands and the group applied after it are answered
// Unavailable and the state is rebuilt from the store, so memory never keeps
// what the store lost.
//
// Readers run `Read` under a shared lock from any thread; they see a
// consistent state between commands. They may see a command's effect before
// it is durable (its caller is not yet answered): the group committing and
// the one gathering.
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
  // Runs on the committer thread after the commit: OK once what `apply` did
  // is durable; Unavailable when the commit failed (and the state is rebuilt).
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
  // Applies `incoming` and moves it onto `group`; when the state was
  // rebuilt since `group` was applied, `group` moves to `stale` first.
  void Apply(std::vector<TenantCommand>& group, std::vector<TenantCommand>& incoming,
             std::vector<TenantCommand>& stale, uint64_t& applied_to);
  void CommitterLoop();
  // Answers every command of `group` Unavailable and empties it.
  void Fail(std::vector<TenantCommand>& group, const char* why);
  // Rebuilds the state from the store (committer thread, after a failed
  // commit; the writer may be applying the next group meanwhile).
  void Reload();

  const TenantRecord record_;
  const std::unique_ptr<TenantStore> store_;
  const Clock& clock_;
  TenantMetrics metrics_;

  mutable std::shared_mutex state_mu_;
  std::unique_ptr<TenantState> state_;
  // Rebuilds of state_ so far: written by Reload under state_mu_ while a group
  // is handed off, read by the writer under state_mu_ or after the handoff.
  uint64_t generation_ = 0;

  // The queue, and the group handed from the writer to the committer.
  std::mutex mu_;
  std::condition_variable writer_cv_;     // commands queued, the committer free, stopping
  std::condition_variable committer_cv_;  // a group handed over, or stop
  std::deque<TenantCommand> queue_;
  bool stopping_ = false;
  std::atomic<bool> broken_{false};  // the store lost writes that memory held
  std::thread writer_;
  bool handoff_full_ = false;            // a group waits for or is in its commit
  WriteBatch handoff_batch_;             // owned by the committer while full
  std::vector<TenantCommand> handoff_group_;
  bool committer_stop_ = false;
  std::thread committer_;
};

}  // namespace pond
