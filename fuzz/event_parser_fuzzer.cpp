// Feeds arbitrary bytes to every reader of outside event input — one event,
// a request body (ndjson or array), an ndjson file and a CSV file — and
// checks what any input must give: no crash or sanitizer report, rejections
// as InvalidArgument naming at least one field error, valid UTF-8 in every
// error (clients get them back as JSON), and line numbers that only grow.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>

#include "ingest/csv.hpp"
#include "ingest/event_parser.hpp"
#include "ingest/internal/event_json.hpp"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

bool InRange(pond::Timestamp t) { return pond::InstantRangeProblem(t).empty(); }
bool InRange(pond::Money m) { return m.fen() >= 0 && m.fen() <= pond::Money::kMaxFen; }

// An accepted event holds only amounts and instants inside the documented
// bounds (docs/api.md "Limits"): what the engine adds up cannot overflow
// and what it renders is valid RFC 3339.
void CheckBounds(const pond::Event& event) {
  if (const auto* o = std::get_if<pond::OrderEvent>(&event)) {
    Check(InRange(o->paid) && InRange(o->paid_at));
    for (const pond::OrderItem& item : o->items) Check(InRange(item.paid));
  } else if (const auto* r = std::get_if<pond::RefundEvent>(&event)) {
    Check(InRange(r->amount) && r->amount.fen() > 0 && InRange(r->refunded_at));
  } else if (const auto* m = std::get_if<pond::MemberEvent>(&event)) {
    Check(!m->profile.registered_at || InRange(*m->profile.registered_at));
  } else if (const auto* p = std::get_if<pond::ProductInfo>(&event)) {
    Check(InRange(p->price));
  }
}

void CheckResult(const pond::Result<pond::Event>& r) {
  if (r.ok()) return CheckBounds(*r);
  const pond::Status& s = r.status();
  Check(s.code() == pond::StatusCode::kInvalidArgument);
  Check(!s.field_errors().empty());
  Check(!pond::ingest_internal::InvalidUtf8Offset(s.message()));
  for (const pond::FieldError& e : s.field_errors()) {
    Check(!e.reason.empty());
    Check(!pond::ingest_internal::InvalidUtf8Offset(e.field));
    Check(!pond::ingest_internal::InvalidUtf8Offset(e.reason));
  }
}

template <typename Reader>
void Drain(Reader& reader) {
  pond::ParsedLine line{0, pond::Event{}};
  int last = 0;
  while (reader.Next(&line)) {
    Check(line.line > last);
    last = line.line;
    CheckResult(line.event);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  CheckResult(pond::ParseEvent(text));
  CheckResult(pond::ParseEvent(text, {.numbers_as_strings = true}));

  constexpr size_t kMaxEvents = 64;
  auto batch = pond::ParseEventBatch(text, kMaxEvents);
  if (batch.ok()) {
    Check(batch->size() <= kMaxEvents);
    int last = 0;
    for (const pond::ParsedLine& line : *batch) {
      Check(line.line > last);
      last = line.line;
      CheckResult(line.event);
    }
  } else {
    Check(batch.status().code() == pond::StatusCode::kInvalidArgument ||
          batch.status().code() == pond::StatusCode::kResourceExhausted);
  }

  std::istringstream ndjson{std::string(text)};
  pond::NdjsonEventReader ndjson_reader(ndjson);
  Drain(ndjson_reader);

  std::istringstream csv{std::string(text)};
  pond::CsvEventReader csv_reader(csv, "order");
  const pond::Status header = csv_reader.ReadHeader();
  if (header.ok()) {
    Drain(csv_reader);
  } else {
    Check(header.code() == pond::StatusCode::kInvalidArgument && !header.field_errors().empty());
  }
  return 0;
}
