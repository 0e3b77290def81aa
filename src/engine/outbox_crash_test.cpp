// Effects across kill -9 (DESIGN.md "Effects after commit"): a child
// process runs a tenant on the embedded store and is killed with SIGKILL at
// each stage of an effect's way out; a restart then runs it to its end. The
// receiver writes what each attempt brought to a file (fsync'd before it
// answers), so what it saw survives the kill. Whatever the stage: an effect
// whose cause never committed is never sent; every other one reaches the
// receiver with one key, at least once, and is not sent again once its
// outcome is durable.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <string>
#include <thread>

#include "engine/tenant_engine.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace pond {
namespace {

enum class Stage {
  kBeforeTheCauseCommits,  // the effect's commit never happens
  kCommittedNotSent,       // the channel is called: before the receiver has it
  kReceivedNotAnswered,    // the receiver has it; no answer came back
  kAnsweredNotRecorded,    // the outcome's commit never happens
  kOutcomeRecorded,        // right after the outcome's commit
};

bool Holds(const WriteBatch& batch, journal::Kind kind) {
  for (const JournalRow& row : batch.journal) {
    if (row.kind == static_cast<RowKind>(kind)) return true;
  }
  return false;
}

// The tenant's store, dying where the stage says.
class DyingStore final : public TenantStore {
 public:
  DyingStore(std::unique_ptr<TenantStore> inner, std::optional<Stage> stage) : inner_(std::move(inner)), stage_(stage) {}
  Status Commit(const WriteBatch& batch) override {
    if (stage_ == Stage::kBeforeTheCauseCommits && Holds(batch, journal::Kind::kEffect)) raise(SIGKILL);
    if (stage_ == Stage::kAnsweredNotRecorded && Holds(batch, journal::Kind::kEffectOutcome)) raise(SIGKILL);
    Status s = inner_->Commit(batch);
    if (stage_ == Stage::kOutcomeRecorded && Holds(batch, journal::Kind::kEffectOutcome)) raise(SIGKILL);
    return s;
  }
  Status Load(LoadSink& sink) override { return inner_->Load(sink); }

 private:
  std::unique_ptr<TenantStore> inner_;
  std::optional<Stage> stage_;
};

// The receiver: appends "<key> <payload>" per attempt to `log`, durably.
EffectChannel Receiver(const std::string& log, std::optional<Stage> stage) {
  return [log, stage](const EffectRow& e, const std::string& key) {
    if (stage == Stage::kCommittedNotSent) raise(SIGKILL);
    const int fd = open(log.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
    const std::string line = key + " " + e.payload + "\n";
    const bool written = fd >= 0 && write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    if (fd >= 0) {
      fsync(fd);
      close(fd);
    }
    if (stage == Stage::kReceivedNotAnswered) raise(SIGKILL);
    return written ? Delivery{} : Delivery{Delivery::Result::kRetry, "the log could not be written"};
  };
}

const TenantRecord kTenant{"shop", "Shop", "Asia/Shanghai", {}};

// Runs the tenant until its effects are settled (bounded), then stops it.
void RunToTheEnd(const std::string& dir, std::optional<Stage> stage, const std::string& log, bool emit) {
  auto store = OpenSqliteStore(dir);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto tenant_store = (*store)->OpenTenant(kTenant.id);
  ASSERT_TRUE(tenant_store.ok());
  ManualClock clock(Timestamp::FromSeconds(1'800'000'000));
  EffectChannels channels;
  channels.Register("hook", Receiver(log, stage));
  auto engine = TenantEngine::Open(kTenant, std::make_unique<DyingStore>(std::move(tenant_store).value(), stage),
                                   clock, channels, OutboxOptions{std::chrono::milliseconds(1), std::chrono::milliseconds(5), 5});
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  if (emit) {
    std::promise<Status> acked;
    (*engine)->Submit({[](TenantState& s, Timestamp now) { s.Emit("hook", "order O-1 shipped", now); return Slice::kDone; },
                       [&](const Status& st) { acked.set_value(st); }});
    ASSERT_TRUE(acked.get_future().get().ok());
  }
  for (int i = 0; i < 20'000; ++i) {
    if ((*engine)->Read([](const TenantState& s) { return s.pending_effects().empty(); })) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE((*engine)->Read([](const TenantState& s) { return s.pending_effects().empty(); }));
}

// How many attempts the receiver saw, by key.
std::map<std::string, int> Seen(const std::string& log) {
  std::map<std::string, int> seen;
  std::ifstream in(log);
  std::string key, rest;
  while (in >> key && std::getline(in, rest)) ++seen[key];
  return seen;
}

TEST(OutboxCrashTest, KilledAtEachStageAnEffectIsSentOnlyIfCommittedAndAlwaysReachesTheReceiver) {
  const std::map<Stage, std::map<std::string, int>> expected = {
      {Stage::kBeforeTheCauseCommits, {}},
      {Stage::kCommittedNotSent, {{"pond:shop:1", 1}}},
      {Stage::kReceivedNotAnswered, {{"pond:shop:1", 2}}},  // the same key twice: a receiver keeping keys acts once
      {Stage::kAnsweredNotRecorded, {{"pond:shop:1", 2}}},
      {Stage::kOutcomeRecorded, {{"pond:shop:1", 1}}},
  };
  for (const auto& [stage, want] : expected) {
    SCOPED_TRACE(static_cast<int>(stage));
    const std::string dir =
        (std::filesystem::temp_directory_path() / ("pond-outbox-crash-" + std::to_string(getpid()))).string();
    std::filesystem::remove_all(dir);
    {
      auto store = OpenSqliteStore(dir);
      ASSERT_TRUE(store.ok());
      ASSERT_TRUE((*store)->CreateTenant(kTenant).ok());
    }
    const std::string log = dir + "/receiver.log";
    // The child starts no thread before fork (the engine's start after it).
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      RunToTheEnd(dir, stage, log, true);
      _exit(0);  // not killed: the stage was never reached
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the child was not killed at its stage";
    RunToTheEnd(dir, std::nullopt, log, false);
    EXPECT_EQ(Seen(log), want);
    // Settled for good: another restart sends nothing.
    RunToTheEnd(dir, std::nullopt, log, false);
    EXPECT_EQ(Seen(log), want);
    std::filesystem::remove_all(dir);
  }
}

}  // namespace
}  // namespace pond
