// TenantEngine: the single writer of one tenant (DESIGN.md "Single writer
// per tenant").
//
// Commands are queued and applied in order by one writer thread, each to
// the in-memory state under an exclusive lock as it arrives. Whenever the
// tenant's committer thread is free it takes every command applied since,
// with the rows they made, and writes the rows in one store transaction
// (group commit). While a group commits, everything that arrives is applied
// and gathers into the next group. Only after the
// commit does the committer tell each command's caller how it went: a write
// is acknowledged only once it is durable, and answers go out in order. If a
// commit fails, its commands and the group applied after it are answered
// Unavailable and the state is rebuilt from the store, so memory never keeps
// what the store lost.
//
// Effects a command emits (TenantState::Emit) go to the tenant's outbox
// only after their commit, and again after a reload; their outcomes come
// back as commands (engine/outbox.hpp).
//
// Work over many members runs in slices (ARCHITECTURE.md "Sliced work"): a
// command whose apply returns Slice::kMore goes back to the head of the
// queue (nothing queued after it overtakes it) and commits whole with its
// last slice; one that returns kLater goes behind what arrived meanwhile
// and commits slice by slice. Either is applied again after readers have
// had their turn, and its caller is answered once the last slice is
// durable. The writer holds the exclusive
// lock for about one slice budget at a time.
//
// Readers run `Read` under a shared lock from any thread; they see a
// consistent state between commands. They may see a command's effect before
// it is durable (its caller is not yet answered): the group committing and
// the one gathering. Long reads go a chunk of members at a time through
// `ReadChunk`, which prefers the writer: while it has work waiting, chunks
// hold the state at most kChunkShare of the time (ARCHITECTURE.md
// "Readers and the writer").
//
// Thread-safety: every public method may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "core/clock.hpp"
#include "core/fair_shared_mutex.hpp"
#include "engine/actor.hpp"
#include "engine/outbox.hpp"
#include "engine/store.hpp"
#include "engine/tenant_state.hpp"

namespace pond {

struct TenantCommand {
  // Runs on the writer thread with the clock's time for this command;
  // kMore to be applied again later (work in slices, TenantState::SliceSpent).
  std::function<Slice(TenantState& state, Timestamp now)> apply;
  // Runs on the committer thread after the commit: OK once what `apply` did
  // (every slice of it) is durable; Unavailable when a commit failed (and the
  // state is rebuilt) or the engine stopped before the last slice.
  std::function<void(const Status& commit)> done;
  // Who it runs for; the state holds it while `apply` runs
  // (TenantState::context()).
  CommandContext context;
};

// Counters for /metrics; read without locks.
struct TenantMetrics {
  std::atomic<int64_t> commands{0};
  std::atomic<int64_t> commits{0};
  std::atomic<int64_t> commit_failures{0};
  std::atomic<int64_t> commit_micros_total{0};
  std::atomic<int64_t> commit_micros_max{0};
  std::atomic<int64_t> apply_micros_total{0};  // applying commands to memory
  std::atomic<int64_t> exclusive_micros_max{0};  // the longest hold of the state's exclusive lock
  std::atomic<int64_t> exclusive_wait_micros_total{0};  // the writer waiting for readers to let go
  // Every hold of the exclusive lock, by how long it lasted: the count of
  // holds up to kHoldBucketMicros[i] (cumulative, as Prometheus has it),
  // the count of all and their sum.
  static constexpr std::array<int64_t, 7> kHoldBucketMicros = {1000, 2000, 5000, 10000, 20000, 50000, 100000};
  std::array<std::atomic<int64_t>, kHoldBucketMicros.size()> holds_within{};
  std::atomic<int64_t> holds{0};
  std::atomic<int64_t> hold_micros_total{0};
  void CountHold(int64_t micros) {
    for (size_t i = 0; i < kHoldBucketMicros.size(); ++i) {
      if (micros <= kHoldBucketMicros[i]) holds_within[i].fetch_add(1, std::memory_order_relaxed);
    }
    holds.fetch_add(1, std::memory_order_relaxed);
    hold_micros_total.fetch_add(micros, std::memory_order_relaxed);
  }
  std::atomic<int64_t> queue_depth{0};
  std::atomic<int64_t> events_accepted{0};
  std::atomic<int64_t> events_duplicate{0};
  std::atomic<int64_t> events_rejected{0};
  std::atomic<int64_t> standing_members{0};
  std::atomic<int64_t> effects_delivered{0};  // outcomes committed
  std::atomic<int64_t> effects_given_up{0};
};

class TenantEngine {
 public:
  // Loads the tenant's state from `store` and starts its writer, and its
  // outbox sending through `channels` (which must outlive the engine).
  // `slice` is how long the writer applies before it lets readers in.
  static constexpr std::chrono::microseconds kDefaultSlice{5000};
  static Result<std::unique_ptr<TenantEngine>> Open(TenantRecord record, std::unique_ptr<TenantStore> store,
                                                    const Clock& clock, const EffectChannels& channels,
                                                    OutboxOptions outbox = {},
                                                    std::chrono::microseconds slice = kDefaultSlice);
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

  // Read, for one chunk of a long read (a segment count over every
  // member). While the writer has work waiting, a chunk waits its turn
  // first: chunks, from however many readers, hold the state at most
  // kChunkShare of the time.
  template <typename F>
  auto ReadChunk(F&& f) const {
    WaitForChunkTurn();
    std::chrono::steady_clock::time_point held_from;
    auto result = Read([&](const TenantState& s) {
      held_from = std::chrono::steady_clock::now();
      return f(s);
    });
    ChunkDone(held_from);
    return result;
  }
  static constexpr double kChunkShare = 0.15;

  const TenantRecord& record() const { return record_; }
  TenantMetrics& metrics() { return metrics_; }
  // True once a failed commit could not be repaired by reloading: the
  // tenant refuses writes until it is opened again.
  bool broken() const { return broken_; }

 private:
  TenantEngine(TenantRecord record, std::unique_ptr<TenantStore> store, const Clock& clock,
               std::chrono::microseconds slice);
  // A queued command; `state` is the state generation its earlier slices
  // went into (-1 before its first), so a reload in between fails it.
  struct Queued {
    TenantCommand command;
    int64_t state = -1;
  };
  static Result<std::unique_ptr<TenantState>> LoadState(const TenantRecord& record, TenantStore& store);
  void WriterLoop();
  // Applies `incoming` and adds it to the commands gathering for the next
  // commit (it empties `incoming`).
  void Apply(std::vector<Queued>& incoming);
  // Applies the commands in turn, moving those done to `done`, one with
  // more to do (kMore) and every command after it to `head`, those that
  // let others go first (kLater) to `tail`; what one threw ("" when none did).
  std::string ApplyEach(std::vector<Queued>& incoming, std::vector<TenantCommand>& done, std::vector<Queued>& head,
                        std::vector<Queued>& tail);
  void CommitterLoop();
  // Answers every command of `group` Unavailable and empties it.
  void Fail(std::vector<TenantCommand>& group, const char* why);
  // Rebuilds the state from the store (committer thread, after a failed
  // commit) and returns the commands applied to the old state since the
  // failed group was taken, which the caller must refuse.
  std::vector<TenantCommand> Reload();
  // Hands the effects of a durable batch, or every pending one, to the outbox.
  void HandEffects(const WriteBatch& committed);
  void HandPending();
  // ReadChunk's turns: sleeps until the next chunk may start, if the
  // writer has work; a chunk that held the state from `held_from` until
  // now moves that on.
  void WaitForChunkTurn() const;
  void ChunkDone(std::chrono::steady_clock::time_point held_from) const;

  const TenantRecord record_;
  const std::unique_ptr<TenantStore> store_;
  const Clock& clock_;
  const std::chrono::microseconds slice_;
  TenantMetrics metrics_;

  // Lock order: state_mu_, then mu_.
  mutable FairSharedMutex state_mu_;  // phase-fair: neither readers nor the writer starve the other
  std::unique_ptr<TenantState> state_;
  int64_t generation_ = 0;  // bumped by each reload, under state_mu_

  // The queue, and the commands applied but not yet taken for a commit.
  std::mutex mu_;
  std::condition_variable writer_cv_;     // commands queued, room to gather, stopping
  std::condition_variable committer_cv_;  // commands gathered, or the writer is done
  std::deque<Queued> queue_;
  bool stopping_ = false;
  std::atomic<bool> broken_{false};  // the store lost writes that memory held
  // Applied under state_mu_ and added here under both locks, so they always
  // match the rows pending in state_; the committer takes both at once.
  std::vector<TenantCommand> gathering_;
  bool slices_gathered_ = false;  // rows of slices of unfinished kLater work are pending too
  bool unfinished_ = false;       // a kMore command is under way: nothing may commit before it ends
  bool writer_done_ = false;
  std::atomic<bool> writer_busy_{false};  // commands queued or being applied
  mutable std::mutex chunk_mu_;
  mutable std::chrono::steady_clock::time_point next_chunk_{};  // the earliest a chunk may start while busy
  std::thread writer_;
  std::thread committer_;
  // Stopped first when the engine stops; lives until the threads above
  // have answered the outcomes it submitted.
  std::unique_ptr<Outbox> outbox_;
};

}  // namespace pond
