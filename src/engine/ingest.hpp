// Ingest: applies a batch of parsed event lines to a tenant with the
// per-line accounting of CONTRACT.md "Events": valid lines are applied even
// when others are rejected; a line whose natural key was seen is a
// duplicate; every rejected line names its fields and reasons.
// Used by the events endpoint and by `pond import`, so both behave alike.
// Pure functions over TenantState: call them on the tenant's writer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "engine/tenant_state.hpp"
#include "ingest/event_parser.hpp"

namespace pond {

struct RejectedLine {
  int line = 0;
  std::vector<FieldError> errors;
};

struct IngestResult {
  int64_t accepted = 0;
  int64_t duplicates = 0;
  std::vector<RejectedLine> rejected;  // in line order
};

// Applies the lines in order from `next` on, moving their events into the
// state and their outcomes into `result`; parse failures are reported as
// they are. Sliced: kMore, with `next` the first line left, once the
// writer's slice is spent (TenantState::SliceSpent).
Slice ApplyEventLines(TenantState& state, std::vector<ParsedLine>& lines, Timestamp now, IngestResult& result,
                      size_t& next);

// Adds `other` into `into` (for import runs that span many batches).
void Accumulate(IngestResult& into, IngestResult&& other);

// `{"accepted":N,"duplicates":N,"rejected":[{"line":3,"errors":[{"field","reason"}]}]}`
std::string IngestResultJson(const IngestResult& result);

// A Status as the field errors a client sees (a field-less status becomes
// one error with an empty field and its message).
std::vector<FieldError> ClientErrors(const Status& status);

}  // namespace pond
