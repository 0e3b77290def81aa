#include "cli/feeder.hpp"

#include <memory>

namespace pond {

void Feeder::Submit(std::vector<ParsedLine> lines) {
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ < max_in_flight_; });
    ++in_flight_;
  }
  auto chunk = std::make_shared<std::vector<ParsedLine>>(std::move(lines));
  auto result = std::make_shared<IngestResult>();
  tenant_.Submit(TenantCommand{
      [chunk, result, this, next = size_t{0}](TenantState& s, Timestamp now) mutable {
        if (ApplyEventLines(s, *chunk, now, *result, next) == Slice::kMore) return Slice::kMore;
        TenantMetrics& m = tenant_.metrics();
        m.events_accepted += result->accepted;
        m.events_duplicate += result->duplicates;
        m.events_rejected += static_cast<int64_t>(result->rejected.size());
        return Slice::kDone;
      },
      [chunk, result, this](const Status& committed) {
        std::lock_guard lock(mu_);
        if (committed.ok()) {
          acknowledged_ += static_cast<int64_t>(chunk->size());
          Accumulate(total_, std::move(*result));
        } else if (first_error_.ok()) {
          first_error_ = committed;
        }
        --in_flight_;
        cv_.notify_all();
      }});
}

Result<IngestResult> Feeder::Finish() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return in_flight_ == 0; });
  if (!first_error_.ok()) return first_error_;
  // Chunks may commit in one group but report in any order; keep lines sorted.
  std::sort(total_.rejected.begin(), total_.rejected.end(),
            [](const RejectedLine& a, const RejectedLine& b) { return a.line < b.line; });
  return total_;
}

int64_t Feeder::acknowledged() const {
  std::lock_guard lock(mu_);
  return acknowledged_;
}

}  // namespace pond
