// The outbox: hands a tenant's effects (TenantState::Emit) to the outside
// world only once the commit that recorded them is durable, outside the
// writer, and returns each outcome as a command (DESIGN.md "Effects after
// commit").
//
//   writer: Emit → effect row in the command's batch
//   committer: batch durable → Outbox::Hand(its effect rows)
//   outbox thread: channel(effect, key) → delivered | retry later | failed
//   writer: SettleEffect (an outcome row) ← command from the outbox
//
// An effect without an outcome row is pending: a restart, or a reload after
// a failed commit, hands it again. So an effect is sent at least once; each
// attempt carries the same idempotency key ("pond:<tenant>:<id>"), so a
// receiver that honours one acts on it exactly once. A receiver without
// one may see an effect twice only when the process dies (or the store
// fails) between its answer and the commit of the outcome; the outbox never
// sends an effect twice on its own, and an outcome that did not commit is
// retried, not the send. Only the node serving a tenant (on PostgreSQL, its
// lease holder) has its engine, and so its outbox.
//
// Thread-safety: every public method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/status.hpp"
#include "journal/rows.hpp"

namespace pond {

// What a channel answers for one attempt.
struct Delivery {
  enum class Result {
    kDelivered,  // the receiver has it
    kRetry,      // try again later (a timeout, a 5xx, a rate limit)
    kFailed,     // it will never take it (a 4xx, a bad payload)
  };
  Result result = Result::kDelivered;
  std::string detail;  // what the receiver said, for the outcome row
};

// Sends one effect and waits for the answer (it runs on the tenant's outbox
// thread). `key` is the receiver's idempotency key: the same for every
// attempt of the effect, across restarts.
using EffectChannel = std::function<Delivery(const EffectRow& effect, const std::string& key)>;

// The channels of a node by name, set up before its tenants open.
class EffectChannels {
 public:
  void Register(std::string name, EffectChannel channel) { channels_.insert_or_assign(std::move(name), std::move(channel)); }
  const EffectChannel* Find(std::string_view name) const {
    auto it = channels_.find(name);
    return it == channels_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, EffectChannel, std::less<>> channels_;
};

struct OutboxOptions {
  // Waits between attempts: doubling from `first_retry` up to `max_retry`.
  std::chrono::milliseconds first_retry{1000};
  std::chrono::milliseconds max_retry{std::chrono::minutes(5)};
  // Attempts before an effect is given up (recorded as not delivered).
  int32_t max_attempts = 10;
};

class Outbox {
 public:
  // Records an outcome as a command; `done` is told whether it committed.
  using Settle = std::function<void(int64_t id, bool delivered, int32_t attempts, std::string detail,
                                    std::function<void(bool committed)> done)>;
  Outbox(std::string tenant, const EffectChannels& channels, OutboxOptions options, Settle settle);
  // Stops; an effect not settled by then stays pending in the store.
  ~Outbox() { Stop(); }
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Committed effects to send; one the outbox holds already is ignored.
  void Hand(const std::vector<EffectRow>& effects);
  // Waits for the attempt under way, then stops taking and sending.
  void Stop();

  // "pond:<tenant>:<id>".
  static std::string KeyOf(std::string_view tenant, int64_t id);

 private:
  using Time = std::chrono::steady_clock::time_point;
  struct Item {
    EffectRow effect;
    int32_t attempts = 0;
    bool ended = false;  // the outcome is known; only recording it is left
    bool delivered = false;
    std::string detail;
    std::chrono::milliseconds wait{0};  // before the next retry
  };
  void Loop();
  // Sends `item` once (without the lock) and decides what comes next.
  void Attempt(Item& item);
  // Queues `item` again after its next wait (doubling, capped).
  void Later(Item item);

  const std::string tenant_;
  const EffectChannels& channels_;
  const OutboxOptions options_;
  const Settle settle_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> ready_;
  std::multimap<Time, Item> waiting_;  // retries, and outcomes to record again
  std::set<int64_t> held_;             // every id handed and not yet settled
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pond
