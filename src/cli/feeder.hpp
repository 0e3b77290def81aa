// Feeder: streams many event lines into one tenant in chunks, keeping a few
// chunks in flight so parsing overlaps with the writer's apply and commit.
// Used by `pond import` and `pond demo`. Thread-safety: one thread drives a
// Feeder; the tenant's writer calls back into it.
#pragma once

#include <condition_variable>
#include <mutex>
#include <vector>

#include "engine/ingest.hpp"
#include "engine/tenant_engine.hpp"

namespace pond {

class Feeder {
 public:
  Feeder(TenantEngine& tenant, int max_in_flight = 4) : tenant_(tenant), max_in_flight_(max_in_flight) {}
  // Waits for what is in flight; a caller that wants the outcome calls Finish first.
  ~Feeder() { (void)Finish(); }

  // Queues a chunk; blocks while `max_in_flight` chunks are not yet durable.
  void Submit(std::vector<ParsedLine> lines);
  // Waits for every chunk; returns the merged result, or the first commit
  // error (then nothing after it was acknowledged).
  Result<IngestResult> Finish();
  // Lines acknowledged so far (durable).
  int64_t acknowledged() const;

 private:
  TenantEngine& tenant_;
  const int max_in_flight_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;
  int64_t acknowledged_ = 0;
  IngestResult total_;
  Status first_error_;
};

}  // namespace pond
