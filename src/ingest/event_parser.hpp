// Event parser: turns the wire form of CONTRACT.md "Events (ingestion)" —
// one JSON object per event, sent as ndjson or as a JSON array — into the
// validated plain structs of events/event.hpp.
//
// Contract: input must be UTF-8 and every event a JSON object with a known
// `type`. A rejected event is an InvalidArgument Status whose field errors
// name every offending field as the client wrote it ("member.phone",
// "items[2].qty") with a reason a person can act on ("must be > 0"); errors
// about the text as a whole (invalid UTF-8, malformed JSON, not an object)
// use the field "" and give a 0-based byte offset into the line or element.
// Unknown fields are errors, at the top and inside `member` and `items`: a
// misspelt field would otherwise be lost without a word (a misspelt
// identity would even create a new member). Instants must lie in the range
// of core/time.hpp (2000-01-01 to 2100-01-01); the engine also refuses facts
// dated more than a day after its now.
//
// Thread-safety: the free functions are reentrant; a NdjsonEventReader is
// used by one thread at a time.
#pragma once

#include <cstddef>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "events/event.hpp"

namespace pond {

struct ParseOptions {
  // CSV cells arrive as strings: integer and coordinate fields then also
  // accept decimal strings ("6800"), and an empty string means absent.
  bool numbers_as_strings = false;
};

// Parses and validates one event object (one ndjson line, or one element of
// a JSON array). On failure: InvalidArgument carrying every field error found.
Result<Event> ParseEvent(std::string_view json_text, const ParseOptions& options = {});

// The "member" field of a request body (a JSON object), checked as events
// check theirs: `{"member":{"phone":"13800000001"}, ...}`. Errors name
// "member" or "member.phone"; other fields of the body are not looked at.
Result<MemberRef> ParseMemberField(std::string_view json_text);

// One event of a batch with its 1-based line (ndjson) or element (array)
// number. A reader's output starts as anything, e.g. `{0, Event{}}`.
struct ParsedLine {
  int line;
  Result<Event> event;
};

// Parses a request body: a JSON array of events when its first non-blank
// character is '[', else ndjson (blank lines skipped but counted). Each event
// succeeds or fails on its own. The body as a whole fails with InvalidArgument
// when it is empty, not UTF-8, or a malformed array, and with
// ResourceExhausted when it holds more than `max_events` events.
Result<std::vector<ParsedLine>> ParseEventBatch(std::string_view body, size_t max_events);

// Reads ndjson events from a stream (`pond import`), one line at a time so a
// file of any size needs memory for one line only.
class NdjsonEventReader {
 public:
  // Lines longer than this are rejected with an error for that line.
  static constexpr size_t kMaxLineBytes = size_t{1} << 20;

  explicit NdjsonEventReader(std::istream& in);
  ~NdjsonEventReader();
  NdjsonEventReader(const NdjsonEventReader&) = delete;
  NdjsonEventReader& operator=(const NdjsonEventReader&) = delete;

  // Parses the next non-blank line into `out`; false at the end of the stream.
  bool Next(ParsedLine* out);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// A phone as events store it: an 11-digit mainland mobile (also when given
// as +86...), or E.164; nullopt when it is neither. Lookups use it so that a
// member found by "+8613800000001" is the one stored as "13800000001".
std::optional<std::string> CanonicalPhone(std::string_view phone);

}  // namespace pond
