#include "engine/tenant_engine.hpp"

#include <pthread.h>

#include <chrono>
#include <utility>
#include <vector>

#include "core/log.hpp"

namespace pond {
namespace {
// A group commit takes at most this many commands, so one huge backlog does
// not hold every caller until all of it is applied.
constexpr size_t kMaxCommandsPerCommit = 4096;
}  // namespace

TenantEngine::TenantEngine(TenantRecord record, std::unique_ptr<TenantStore> store, const Clock& clock)
    : record_(std::move(record)), store_(std::move(store)), clock_(clock) {}

Result<std::unique_ptr<TenantState>> TenantEngine::LoadState(const TenantRecord& record, TenantStore& store) {
  ASSIGN_OR_RETURN(TimeZone zone, TimeZone::Load(record.timezone));
  auto state = std::make_unique<TenantState>(record, std::move(zone));
  TenantState::Loader loader(*state);
  RETURN_IF_ERROR(store.Load(loader));
  loader.Finish();
  return state;
}

Result<std::unique_ptr<TenantEngine>> TenantEngine::Open(TenantRecord record, std::unique_ptr<TenantStore> store,
                                                         const Clock& clock) {
  const auto started = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(auto state, LoadState(record, *store));
  std::unique_ptr<TenantEngine> engine(new TenantEngine(std::move(record), std::move(store), clock));
  engine->metrics_.standing_members = state->members().standing_count();
  Log(LogLevel::kInfo, "tenant loaded",
      {{"tenant", engine->record_.id},
       {"members", std::to_string(state->members().standing_count())},
       {"orders", std::to_string(state->orders().order_count())},
       {"ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - started)
                                 .count())}});
  engine->state_ = std::move(state);
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
      queue_.push_back(std::move(command));
      metrics_.queue_depth = static_cast<int64_t>(queue_.size());
      writer_cv_.notify_one();
      return;
    }
  }
  command.done(Unavailable("tenant is shutting down").With("tenant", record_.id));
}

void TenantEngine::WriterLoop() {
  std::vector<TenantCommand> group, incoming, stale;
  WriteBatch batch;
  uint64_t applied_to = 0;  // which rebuild of the state the group went into
  std::unique_lock lock(mu_);
  for (;;) {
    // Apply whatever arrived; hand the group over whenever the committer is
    // free. So every command that arrives during a commit goes into the
    // next one, however many there are (up to the cap).
    writer_cv_.wait(lock, [&] {
      return (!queue_.empty() && group.size() < kMaxCommandsPerCommit) || (!group.empty() && !handoff_full_) ||
             (stopping_ && queue_.empty() && group.empty());
    });
    if (!queue_.empty() && group.size() < kMaxCommandsPerCommit) {
      while (!queue_.empty() && group.size() + incoming.size() < kMaxCommandsPerCommit) {
        incoming.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      metrics_.queue_depth = static_cast<int64_t>(queue_.size());
      lock.unlock();
      Apply(group, incoming, stale, applied_to);
      Fail(stale, "the store did not commit the write; nothing was applied");
      lock.lock();
      continue;
    }
    if (group.empty()) break;  // stopping, and everything queued is committed or handed over
    lock.unlock();
    bool current = false;
    {
      std::unique_lock state_lock(state_mu_);
      current = applied_to == generation_;
      if (current) state_->TakePending(batch);
    }
    if (!current) {
      // A commit failed and the state was rebuilt after this group was
      // applied: its effects are gone and it may depend on the refused
      // group, so it is refused too.
      Fail(group, "the store did not commit the write; nothing was applied");
      lock.lock();
      continue;
    }
    lock.lock();
    std::swap(batch, handoff_batch_);  // `batch` gets the committer's emptied buffer
    std::swap(group, handoff_group_);
    handoff_full_ = true;
    committer_cv_.notify_one();
  }
  writer_cv_.wait(lock, [&] { return !handoff_full_; });
  committer_stop_ = true;
  committer_cv_.notify_one();
}

void TenantEngine::Apply(std::vector<TenantCommand>& group, std::vector<TenantCommand>& incoming,
                         std::vector<TenantCommand>& stale, uint64_t& applied_to) {
  if (broken_) {
    Fail(incoming, "tenant refuses writes until restart");
    return;
  }
  const auto started = std::chrono::steady_clock::now();
  std::unique_lock lock(state_mu_);
  if (!group.empty() && applied_to != generation_) stale.swap(group);  // rebuilt since: their effects are gone
  if (group.empty()) applied_to = generation_;
  for (TenantCommand& c : incoming) {
    c.apply(*state_, clock_.Now());
    group.push_back(std::move(c));
  }
  incoming.clear();
  metrics_.standing_members = state_->members().standing_count();
  metrics_.apply_micros_total +=
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
}

void TenantEngine::CommitterLoop() {
  for (;;) {
    std::unique_lock lock(mu_);
    committer_cv_.wait(lock, [&] { return handoff_full_ || committer_stop_; });
    if (!handoff_full_) return;
    lock.unlock();
    Status committed;
    if (!handoff_batch_.empty()) {
      const auto started = std::chrono::steady_clock::now();
      committed = store_->Commit(handoff_batch_);
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
      // never reads the write it was refused.
      Reload();
      committed = Unavailable("the store did not commit the write; nothing was applied").With("tenant", record_.id);
    }
    // Answers go out in commit order, after the rows they depend on are
    // durable — also for commands that wrote nothing (a duplicate is only
    // a duplicate once the first write is durable).
    metrics_.commands += static_cast<int64_t>(handoff_group_.size());
    for (TenantCommand& c : handoff_group_) c.done(committed);
    handoff_group_.clear();
    handoff_batch_.Clear();
    lock.lock();
    handoff_full_ = false;
    writer_cv_.notify_one();
  }
}

void TenantEngine::Fail(std::vector<TenantCommand>& group, const char* why) {
  for (TenantCommand& c : group) c.done(Unavailable(why).With("tenant", record_.id));
  group.clear();
}

void TenantEngine::Reload() {
  auto reloaded = LoadState(record_, *store_);
  std::unique_lock lock(state_mu_);
  ++generation_;
  if (reloaded.ok()) {
    state_ = std::move(reloaded).value();
    return;
  }
  // The store cannot even be read back: memory may hold writes the store
  // lost, so refuse every further write until a restart reloads.
  Log(LogLevel::kError, "reload failed; tenant refuses writes until restart",
      {{"tenant", record_.id}, {"error", reloaded.status().ToString()}});
  broken_ = true;
}

}  // namespace pond
