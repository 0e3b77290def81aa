// Pond's side of bench/postgres: one node (Engine) on OpenPostgresStore.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "ingest_data.hpp"
#include "postgres_bench.hpp"
#include "storage/postgres/postgres_store.hpp"

namespace pond::bench {
namespace {

constexpr char kTenant[] = "bench";

// Keeps `in_flight` postings submitted: each acknowledgement (on the
// tenant's committer thread) submits the next, as clients of an API under
// load would, so the engine's group commit sees what such a load offers.
class PostingDriver {
 public:
  PostingDriver(TenantEngine& tenant, const std::vector<Posting>& postings)
      : tenant_(tenant),
        postings_(postings),
        outcome_(postings.size()),
        sent_(postings.size()),
        micros_(postings.size()) {}

  Result<PostingRun> Run(int in_flight) {
    const auto n = static_cast<int64_t>(postings_.size());
    const auto start = std::chrono::steady_clock::now();
    next_ = std::min<int64_t>(in_flight, n);
    for (int64_t i = 0; i < next_; ++i) Send(i);
    std::unique_lock lock(mu_);
    answered_cv_.wait(lock, [&] { return answered_ == n; });
    PostingRun run;
    run.seconds = SecondsSince(start);
    if (!failure_.ok()) return failure_;
    for (const Outcome o : outcome_) {
      if (o == Outcome::kApplied) ++run.applied;
      if (o == Outcome::kRefused) ++run.refused;
      if (o == Outcome::kError) return Internal("a posting failed for another reason than the balance");
    }
    SetLatencies(micros_, run);
    return run;
  }

 private:
  enum class Outcome : int8_t { kPending, kApplied, kRefused, kError };

  void Send(int64_t i) {
    sent_[static_cast<size_t>(i)] = std::chrono::steady_clock::now();
    tenant_.Submit(TenantCommand{.apply =
                                     [this, i](TenantState& state, Timestamp now) {
                                       const Posting& p = postings_[static_cast<size_t>(i)];
                                       auto entry = p.redeem
                                                        ? state.Redeem(p.member, p.points, RedemptionId(i), now)
                                                        : state.Adjust(p.member, p.points, "bench adjustment", now);
                                       outcome_[static_cast<size_t>(i)] =
                                           entry.ok() ? Outcome::kApplied
                                           : entry.status().code() == StatusCode::kFailedPrecondition
                                               ? Outcome::kRefused
                                               : Outcome::kError;
                                       return Slice::kDone;
                                     },
                                 .done = [this, i](const Status& commit) { Answered(i, commit); }});
  }

  void Answered(int64_t i, const Status& commit) {
    const auto took = std::chrono::steady_clock::now() - sent_[static_cast<size_t>(i)];
    micros_[static_cast<size_t>(i)] =
        static_cast<int32_t>(std::chrono::duration_cast<std::chrono::microseconds>(took).count());
    const int64_t next = next_.fetch_add(1);
    if (next < static_cast<int64_t>(postings_.size())) Send(next);
    std::lock_guard lock(mu_);
    if (!commit.ok() && failure_.ok()) failure_ = commit;
    if (++answered_ == static_cast<int64_t>(postings_.size())) answered_cv_.notify_one();
  }

  TenantEngine& tenant_;
  const std::vector<Posting>& postings_;
  std::vector<Outcome> outcome_;  // written by the writer thread, read after every answer
  std::vector<std::chrono::steady_clock::time_point> sent_;
  std::vector<int32_t> micros_;
  std::atomic<int64_t> next_{0};
  std::mutex mu_;
  std::condition_variable answered_cv_;
  int64_t answered_ = 0;
  Status failure_;
};

}  // namespace

PondOnPostgres::PondOnPostgres(std::unique_ptr<Store> store) : store_(std::move(store)) {}

PondOnPostgres::~PondOnPostgres() { engine_.reset(); }  // the engine lets its leases go before the store closes

Result<std::unique_ptr<PondOnPostgres>> PondOnPostgres::Open(const std::string& conninfo) {
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenPostgresStore(PostgresOptions{.url = conninfo}));
  std::unique_ptr<PondOnPostgres> pond(new PondOnPostgres(std::move(store)));
  pond->engine_ = std::make_unique<Engine>(*pond->store_, pond->clock_);
  RETURN_IF_ERROR(pond->engine_->Start());
  RETURN_IF_ERROR(pond->engine_->CreateTenant(TenantRecord{kTenant, kTenant, "Asia/Shanghai", {}}).status());
  return pond;
}

Result<IngestResult> PondOnPostgres::Ingest(const std::vector<std::string>& chunks) {
  return FeedChunks(*engine_->Tenant(kTenant), chunks);
}

std::vector<std::pair<int64_t, int64_t>> PondOnPostgres::Balances() const {
  return engine_->Tenant(kTenant)->Read([](const TenantState& s) {
    std::vector<std::pair<int64_t, int64_t>> out;
    for (MemberId m = 1; m <= s.members().size(); ++m) {
      if (s.members().Standing(m) != m) continue;
      const Account* account = s.loyalty().Find(m);
      out.emplace_back(m, account ? account->balance : 0);
    }
    return out;
  });
}

Result<PostingRun> PondOnPostgres::Post(const std::vector<Posting>& postings, int in_flight) {
  PostingDriver driver(*engine_->Tenant(kTenant), postings);
  return driver.Run(in_flight);
}

std::string PondOnPostgres::CommitSummary() {
  const TenantMetrics& m = engine_->Tenant(kTenant)->metrics();
  const int64_t commits = m.commits.load() - seen_commits_;
  const int64_t commands = m.commands.load() - seen_commands_;
  const int64_t micros = m.commit_micros_total.load() - seen_commit_micros_;
  seen_commits_ += commits, seen_commands_ += commands, seen_commit_micros_ += micros;
  char text[160];
  std::snprintf(text, sizeof text, "%lld commits, %.1f commands a commit, %.2f ms a commit",
                static_cast<long long>(commits),
                commits ? static_cast<double>(commands) / static_cast<double>(commits) : 0.0,
                commits ? static_cast<double>(micros) / 1e3 / static_cast<double>(commits) : 0.0);
  return text;
}

}  // namespace pond::bench
