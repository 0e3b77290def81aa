// Saved segments: named expressions an operator keeps, re-counted by the
// scheduler every day so their size history shows how an audience grows or
// shrinks (docs/segments.md "Saved segments"). Stored as one JSON document,
// the tenant setting "segments".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.hpp"
#include "core/time.hpp"

namespace pond::segments {

struct SavedSegment {
  int64_t id = 0;  // ascending, never reused
  std::string name;
  std::string expr;  // canonical (ToText)
  std::string created_by;
  Timestamp created_at;
  std::vector<std::pair<LocalDate, int64_t>> sizes;  // oldest first; one per day counted
};

// Days of history kept per segment: a year and a bit, for year-on-year.
inline constexpr size_t kMaxSizeHistory = 400;

// Records the segment's size on `day`, replacing a size already recorded
// for that day, dropping the oldest past kMaxSizeHistory.
void RecordSize(SavedSegment& segment, LocalDate day, int64_t count);

std::string SavedSegmentsJson(const std::vector<SavedSegment>& segments);
Result<std::vector<SavedSegment>> ParseSavedSegments(std::string_view json);

}  // namespace pond::segments
