#include "engine/tenant_engine.hpp"

#include <pthread.h>

#include <chrono>
#include <utility>
#include <vector>

#include "core/log.hpp"
#include "journal/codec.hpp"

namespace pond {
namespace {
// A group commit takes at most this many commands, so one huge backlog does
// not hold every caller until all of it is applied.
constexpr size_t kMaxCommandsPerCommit = 4096;
}  // namespace

TenantEngine::TenantEngine(TenantRecord record, std::unique_ptr<TenantStore> store, const Clock& clock,
                           std::chrono::microseconds slice)
    : record_(std::move(record)), store_(std::move(store)), clock_(clock), slice_(slice) {}

namespace {
// The command answered `why` (Unavailable) instead of its outcome, in its
// turn after the next commit.
TenantCommand Refused(TenantCommand c, const char* why, const std::string& tenant) {
  c.done = [done = std::move(c.done), why, tenant](const Status&) { done(Unavailable(why).With("tenant", tenant)); };
  return c;
}
}  // namespace

Result<std::unique_ptr<TenantState>> TenantEngine::LoadState(const TenantRecord& record, TenantStore& store) {
  ASSIGN_OR_RETURN(TimeZone zone, TimeZone::Load(record.timezone));
  auto state = std::make_unique<TenantState>(record, std::move(zone));
  TenantState::Loader loader(*state);
  RETURN_IF_ERROR(store.Load(loader), "tenant", record.id);
  loader.Finish();
  return state;
}

Result<std::unique_ptr<TenantEngine>> TenantEngine::Open(TenantRecord record, std::unique_ptr<TenantStore> store,
                                                         const Clock& clock, const EffectChannels& channels,
                                                         OutboxOptions outbox, std::chrono::microseconds slice) {
  const auto started = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(auto state, LoadState(record, *store));
  std::unique_ptr<TenantEngine> engine(new TenantEngine(std::move(record), std::move(store), clock, slice));
  engine->metrics_.standing_members = state->members().standing_count();
  Log(LogLevel::kInfo, "tenant loaded",
      {{"tenant", engine->record_.id},
       {"members", std::to_string(state->members().standing_count())},
       {"orders", std::to_string(state->orders().order_count())},
       {"ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - started)
                                 .count())}});
  engine->state_ = std::move(state);
  // An outcome is a command of the system's; the outbox learns whether it
  // committed, and records it again if not.
  engine->outbox_ = std::make_unique<Outbox>(
      engine->record_.id, channels, outbox,
      [e = engine.get()](int64_t id, bool delivered, int32_t attempts, std::string detail,
                         std::function<void(bool)> done) {
        e->Submit(TenantCommand{[id, delivered, attempts, detail = std::move(detail)](TenantState& s, Timestamp now) {
                                  s.SettleEffect(id, delivered, attempts, detail, now);
                                  return Slice::kDone;
                                },
                                [e, delivered, done = std::move(done)](const Status& committed) {
                                  if (committed.ok()) ++(delivered ? e->metrics_.effects_delivered : e->metrics_.effects_given_up);
                                  done(committed.ok());
                                },
                                CommandContext{Actor::System("outbox"), ""}});
      });
  engine->HandPending();
  engine->committer_ = std::thread([e = engine.get()] {
    pthread_setname_np(pthread_self(), "pond-commit");  // for top -H and profilers
    e->CommitterLoop();
  });
  engine->writer_ = std::thread([e = engine.get()] {
    pthread_setname_np(pthread_self(), "pond-writer");
    e->WriterLoop();
  });
  return engine;
}

TenantEngine::~TenantEngine() {
  if (outbox_) outbox_->Stop();  // no new outcomes while the queue drains
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  writer_cv_.notify_all();
  if (writer_.joinable()) writer_.join();  // it stops the committer when all is committed
  if (committer_.joinable()) committer_.join();
}

void TenantEngine::Submit(TenantCommand command) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(Queued{std::move(command)});
      writer_busy_ = true;
      metrics_.queue_depth = static_cast<int64_t>(queue_.size());
      writer_cv_.notify_one();
      return;
    }
  }
  command.done(Unavailable("tenant is shutting down").With("tenant", record_.id));
}

void TenantEngine::WaitForChunkTurn() const {
  if (!writer_busy_) return;
  std::chrono::steady_clock::time_point turn;
  {
    std::lock_guard lock(chunk_mu_);
    turn = next_chunk_;
  }
  std::this_thread::sleep_until(turn);
}

void TenantEngine::ChunkDone(std::chrono::steady_clock::time_point held_from) const {
  const auto now = std::chrono::steady_clock::now();
  // A chunk that kept the writer out for d lets it have d·(1−share)/share
  // before the next; chunks of readers let in together are charged once.
  const auto rest = std::chrono::duration_cast<std::chrono::steady_clock::duration>((now - held_from) *
                                                                                    ((1 - kChunkShare) / kChunkShare));
  std::lock_guard lock(chunk_mu_);
  next_chunk_ = std::max(next_chunk_, now + rest);
}

void TenantEngine::WriterLoop() {
  std::vector<Queued> incoming;
  std::unique_lock lock(mu_);
  for (;;) {
    if (queue_.empty()) writer_busy_ = false;
    writer_cv_.wait(lock, [&] {
      return (!queue_.empty() && (gathering_.size() < kMaxCommandsPerCommit || unfinished_)) ||
             (stopping_ && queue_.empty());
    });
    if (queue_.empty()) break;  // stopping, and everything queued is applied
    // A command under way that keeps its place goes on alone: its group
    // cannot commit before it ends.
    do {
      incoming.push_back(std::move(queue_.front()));
      queue_.pop_front();
    } while (!unfinished_ && !queue_.empty() && gathering_.size() + incoming.size() < kMaxCommandsPerCommit);
    metrics_.queue_depth = static_cast<int64_t>(queue_.size());
    lock.unlock();
    Apply(incoming);
    lock.lock();
  }
  writer_done_ = true;
  committer_cv_.notify_one();
}

void TenantEngine::Apply(std::vector<Queued>& incoming) {
  std::vector<TenantCommand> done;
  std::vector<Queued> head, tail;
  auto fail_all = [&](const char* why) {
    {
      std::lock_guard lock(mu_);
      unfinished_ = false;  // what was under way is refused with the rest
    }
    for (auto* v : {&incoming, &head, &tail}) {
      for (Queued& q : *v) done.push_back(std::move(q.command));
      v->clear();
    }
    Fail(done, why);
  };
  const auto started = std::chrono::steady_clock::now();
  std::unique_lock state_lock(state_mu_);
  const auto held_from = std::chrono::steady_clock::now();
  metrics_.exclusive_wait_micros_total +=
      std::chrono::duration_cast<std::chrono::microseconds>(held_from - started).count();
  // Checked under the state lock: a failed rebuild sets it under that lock.
  if (broken_) {
    state_lock.unlock();
    fail_all("tenant refuses writes until restart");
    return;
  }
  state_->StartSlice(held_from + slice_);
  if (const std::string thrown = ApplyEach(incoming, done, head, tail); !thrown.empty()) {
    // The state may be half changed: nothing applied since the last commit
    // may reach the store, and the tenant refuses writes until it is
    // reloaded (a restart; on PostgreSQL the keeper reopens it). Every
    // other tenant and the process go on.
    WriteBatch dropped;
    state_->TakePending(dropped);
    broken_ = true;
    std::vector<TenantCommand> stale;
    {
      std::lock_guard lock(mu_);
      stale.swap(gathering_);
      slices_gathered_ = unfinished_ = false;
    }
    state_lock.unlock();
    Log(LogLevel::kError, "a command threw; tenant refuses writes until it is reloaded",
        {{"tenant", record_.id}, {"error", thrown}});
    Fail(stale, "the tenant failed applying a write; nothing since the last commit was stored");
    fail_all("the tenant failed applying a write; nothing since the last commit was stored");
    return;
  }
  metrics_.standing_members = state_->members().standing_count();
  const auto applied = std::chrono::steady_clock::now();
  metrics_.apply_micros_total += std::chrono::duration_cast<std::chrono::microseconds>(applied - started).count();
  // How long readers were kept out (ARCHITECTURE.md "Threading model").
  const int64_t held = std::chrono::duration_cast<std::chrono::microseconds>(applied - held_from).count();
  if (held > metrics_.exclusive_micros_max) metrics_.exclusive_micros_max = held;
  metrics_.CountHold(held);
  // Still under the state lock: the rows in the state's pending batch and
  // the commands gathered always match when the committer takes both.
  std::lock_guard lock(mu_);
  // Work that lets others go first commits slice by slice; work that keeps
  // its place commits whole, with its last slice (an ingest batch is one
  // transaction: all of it or, after a failed commit, none).
  slices_gathered_ = slices_gathered_ || !tail.empty();
  unfinished_ = !head.empty();
  for (TenantCommand& c : done) gathering_.push_back(std::move(c));
  // Work under way goes on later. A command that keeps its place finishes
  // even when the engine stops (an ingest: what came after it depends on
  // it); long work that lets others go first ends there, answered after
  // the slices done so far.
  for (size_t at = 0; at < head.size(); ++at) {
    queue_.insert(queue_.begin() + static_cast<std::ptrdiff_t>(at), std::move(head[at]));
  }
  for (Queued& q : tail) {
    if (stopping_) {
      gathering_.push_back(Refused(std::move(q.command),
                                   "tenant is shutting down; the work stopped part way (what was done is stored)",
                                   record_.id));
    } else {
      queue_.push_back(std::move(q));
    }
  }
  metrics_.queue_depth = static_cast<int64_t>(queue_.size());
  incoming.clear();
  if ((!gathering_.empty() || slices_gathered_) && !unfinished_) committer_cv_.notify_one();
}

std::string TenantEngine::ApplyEach(std::vector<Queued>& incoming, std::vector<TenantCommand>& done,
                                    std::vector<Queued>& head, std::vector<Queued>& tail) {
  size_t i = 0;
  std::string thrown;
  try {
    for (; i < incoming.size(); ++i) {
      Queued& q = incoming[i];
      if (q.state >= 0 && q.state != generation_) {  // its earlier slices were lost with a failed commit
        done.push_back(Refused(std::move(q.command), "the store did not commit part of this work; "
                               "what it did may be partly undone", record_.id));
        continue;
      }
      state_->SetContext(q.command.context);
      const Slice slice = q.command.apply(*state_, clock_.Now());
      if (slice == Slice::kDone) {
        done.push_back(std::move(q.command));
        continue;
      }
      q.state = generation_;
      if (slice == Slice::kLater) {
        tail.push_back(std::move(q));
        continue;
      }
      // kMore: it and everything after it wait for its next slice.
      for (; i < incoming.size(); ++i) head.push_back(std::move(incoming[i]));
      break;
    }
  } catch (const std::exception& e) {
    thrown = std::string("exception: ") + e.what();
  } catch (...) {
    thrown = "an exception of unknown type";
  }
  state_->SetContext({});
  // Those moved on are gone from `incoming`; the one that threw and those
  // after it stay for the caller to refuse.
  incoming.erase(incoming.begin(), incoming.begin() + static_cast<std::ptrdiff_t>(std::min(i, incoming.size())));
  return thrown;
}

void TenantEngine::CommitterLoop() {
  std::vector<TenantCommand> group, after;  // after: applied on top of a group whose commit failed
  WriteBatch batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      committer_cv_.wait(lock,
                         [&] { return ((!gathering_.empty() || slices_gathered_) && !unfinished_) || writer_done_; });
      if (gathering_.empty() && !slices_gathered_) return;  // the writer has stopped and everything is committed
      lock.unlock();
      // The state lock first (the writer's order), so no command is half
      // applied; then everything gathered with the rows it made.
      std::unique_lock state_lock(state_mu_);
      lock.lock();
      group.swap(gathering_);
      slices_gathered_ = false;
      state_->TakePending(batch);
      writer_cv_.notify_one();  // room to gather again, if the writer was at the cap
    }
    Status committed;
    if (!batch.empty()) {
      const auto started = std::chrono::steady_clock::now();
      try {
        committed = store_->Commit(batch);
      } catch (const std::exception& e) {  // a bug in a backend fails this commit, not the process
        committed = Internal(std::string("commit threw: ") + e.what());
      }
      const int64_t us =
          std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
      metrics_.commits++;
      metrics_.commit_micros_total += us;
      if (us > metrics_.commit_micros_max) metrics_.commit_micros_max = us;
    }
    if (!committed.ok()) {
      metrics_.commit_failures++;
      Log(LogLevel::kError, "commit failed; rebuilding the tenant state from the store",
          {{"tenant", record_.id}, {"error", committed.ToString()}});
      // Rebuilt before anyone is answered, so a caller told "not applied"
      // never reads the write it was refused. What was applied since on
      // top of the refused group is refused too: it may depend on it.
      after = Reload();
      committed = Unavailable("the store did not commit the write; nothing was applied").With("tenant", record_.id);
    }
    // Answers go out in commit order, after the rows they depend on are
    // durable — also for commands that wrote nothing (a duplicate is only
    // a duplicate once the first write is durable).
    if (committed.ok()) HandEffects(batch);  // only now may they leave
    metrics_.commands += static_cast<int64_t>(group.size());
    for (TenantCommand& c : group) c.done(committed);
    Fail(after, "the store did not commit the write; nothing was applied");  // in order, after the group
    group.clear();
    batch.Clear();
  }
}

void TenantEngine::Fail(std::vector<TenantCommand>& group, const char* why) {
  for (TenantCommand& c : group) c.done(Unavailable(why).With("tenant", record_.id));
  group.clear();
}

std::vector<TenantCommand> TenantEngine::Reload() {
  auto reloaded = LoadState(record_, *store_);
  std::vector<TenantCommand> stale;
  std::unique_ptr<TenantState> old;  // destroyed after the lock is let go
  {
    std::unique_lock state_lock(state_mu_);
    {
      std::lock_guard lock(mu_);
      stale.swap(gathering_);  // applied to the state being replaced
      slices_gathered_ = false;
      writer_cv_.notify_one();  // the writer may wait for room to gather
    }
    if (reloaded.ok()) {
      old = std::exchange(state_, std::move(reloaded).value());
      ++generation_;  // work in slices begun on the old state is refused
      HandPending();  // those whose outcome the failed commit lost
      return stale;
    }
    // The store cannot even be read back: memory may hold writes the store
    // lost, so refuse every further write until a restart reloads — and
    // drop the rows pending in memory, which no commit may ever write.
    WriteBatch dropped;
    state_->TakePending(dropped);
    broken_ = true;
  }
  Log(LogLevel::kError, "reload failed; tenant refuses writes until restart",
      {{"tenant", record_.id}, {"error", reloaded.status().ToString()}});
  return stale;
}

void TenantEngine::HandEffects(const WriteBatch& committed) {
  std::vector<EffectRow> effects;
  for (const JournalRow& row : committed.journal) {
    if (row.kind != static_cast<RowKind>(journal::Kind::kEffect)) continue;
    EffectRow e;
    if (journal::Decode(row.tick, row.key, row.payload, e)) effects.push_back(std::move(e));
  }
  if (!effects.empty()) outbox_->Hand(effects);
}

void TenantEngine::HandPending() {
  std::vector<EffectRow> effects;
  for (const auto& [id, e] : state_->pending_effects()) effects.push_back(e);
  if (!effects.empty()) outbox_->Hand(effects);
}

}  // namespace pond
