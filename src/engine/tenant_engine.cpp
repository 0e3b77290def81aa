#include "engine/tenant_engine.hpp"

#include <chrono>
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
  engine->writer_ = std::thread([e = engine.get()] { e->WriterLoop(); });
  return engine;
}

TenantEngine::~TenantEngine() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

void TenantEngine::Submit(TenantCommand command) {
  {
    std::lock_guard lock(queue_mu_);
    if (!stopping_) {
      queue_.push_back(std::move(command));
      metrics_.queue_depth = static_cast<int64_t>(queue_.size());
      queue_cv_.notify_one();
      return;
    }
  }
  command.done(Unavailable("tenant is shutting down").With("tenant", record_.id));
}

void TenantEngine::WriterLoop() {
  std::vector<TenantCommand> group;
  for (;;) {
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued is done
      while (!queue_.empty() && group.size() < kMaxCommandsPerCommit) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      metrics_.queue_depth = static_cast<int64_t>(queue_.size());
    }
    if (broken_) {
      for (TenantCommand& c : group) c.done(Unavailable("tenant refuses writes until restart").With("tenant", record_.id));
      group.clear();
      continue;
    }
    {
      const auto started = std::chrono::steady_clock::now();
      std::unique_lock lock(state_mu_);
      for (TenantCommand& c : group) c.apply(*state_, clock_.Now());
      state_->TakePending(batch_);
      metrics_.standing_members = state_->members().standing_count();
      metrics_.apply_micros_total += std::chrono::duration_cast<std::chrono::microseconds>(
                                         std::chrono::steady_clock::now() - started)
                                         .count();
    }
    Status committed;
    if (!batch_.empty()) {
      const auto started = std::chrono::steady_clock::now();
      committed = store_->Commit(batch_);
      batch_.Clear();
      const int64_t us =
          std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
      metrics_.commits++;
      metrics_.commit_micros_total += us;
      if (us > metrics_.commit_micros_max) metrics_.commit_micros_max = us;
    }
    if (!committed.ok()) {
      metrics_.commit_failures++;
      Log(LogLevel::kError, "commit failed; rebuilding tenant state from the store",
          {{"tenant", record_.id}, {"error", committed.ToString()}});
      auto reloaded = LoadState(record_, *store_);
      std::unique_lock lock(state_mu_);
      if (reloaded.ok()) {
        state_ = std::move(reloaded).value();
      } else {
        // The store cannot even be read back: memory may hold writes the
        // store lost, so refuse every further write until a restart reloads.
        Log(LogLevel::kError, "reload failed; tenant refuses writes until restart",
            {{"tenant", record_.id}, {"error", reloaded.status().ToString()}});
        broken_ = true;
      }
      committed = Unavailable("the store did not commit the write; nothing was applied").With("tenant", record_.id);
    }
    metrics_.commands += static_cast<int64_t>(group.size());
    for (TenantCommand& c : group) c.done(committed);
    group.clear();
  }
}

}  // namespace pond
