#include "engine/ingest.hpp"

#include "core/json_writer.hpp"

namespace pond {

std::vector<FieldError> ClientErrors(const Status& status) {
  if (!status.field_errors().empty()) return status.field_errors();
  return {FieldError{"", status.message()}};
}

Slice ApplyEventLines(TenantState& state, std::vector<ParsedLine>& lines, Timestamp now, IngestResult& result,
                      size_t& next) {
  for (size_t steps = 0; next < lines.size(); ++next, ++steps) {
    if (steps > 0 && steps % 16 == 0 && state.SliceSpent()) return Slice::kMore;
    ParsedLine& l = lines[next];
    if (!l.event.ok()) {
      result.rejected.push_back({l.line, ClientErrors(l.event.status())});
      continue;
    }
    auto outcome = state.Apply(std::move(*l.event), now);
    if (!outcome.ok()) {
      result.rejected.push_back({l.line, ClientErrors(outcome.status())});
    } else if (*outcome == EventOutcome::kAccepted) {
      ++result.accepted;
    } else {
      ++result.duplicates;
    }
  }
  return Slice::kDone;
}

void Accumulate(IngestResult& into, IngestResult&& other) {
  into.accepted += other.accepted;
  into.duplicates += other.duplicates;
  for (auto& r : other.rejected) into.rejected.push_back(std::move(r));
}

std::string IngestResultJson(const IngestResult& result) {
  JsonWriter w;
  w.BeginObject().Field("accepted", result.accepted).Field("duplicates", result.duplicates);
  w.Key("rejected").BeginArray();
  for (const RejectedLine& r : result.rejected) {
    w.BeginObject().Field("line", r.line).Key("errors").BeginArray();
    for (const FieldError& e : r.errors) w.BeginObject().Field("field", e.field).Field("reason", e.reason).EndObject();
    w.EndArray().EndObject();
  }
  w.EndArray().EndObject();
  return w.Take();
}

}  // namespace pond
