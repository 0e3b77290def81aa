// Pieces shared by the ndjson/array parser and the CSV reader, so that both
// run the one validator (CSV rows become JSON values, never a second set of
// rules). Only this module's .cpp files include it: it pulls in Boost.JSON.
#pragma once

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/event_parser.hpp"

namespace pond::ingest_internal {

// Byte offset of the first byte that is not well-formed UTF-8 (overlong
// forms, surrogates and code points above U+10FFFF included), or nullopt.
std::optional<size_t> InvalidUtf8Offset(std::string_view text);

// "invalid UTF-8 at byte 12".
std::string InvalidUtf8Reason(size_t offset);

// InvalidArgument carrying `errors` (at least one), the first in the message.
Status FieldsInvalid(std::vector<FieldError> errors);
// InvalidArgument about a text as a whole (field ""), e.g. a line too long.
Status BodyInvalid(std::string reason);
// ParseMemberField's work (event_parser.hpp).
Result<MemberRef> MemberField(std::string_view json_text);

// Whether `name` is one of the event types of CONTRACT.md.
bool IsEventType(std::string_view name);

// Validates one parsed event; all field errors of the event are collected.
Result<Event> EventFromJson(const boost::json::value& value, const ParseOptions& options);

// Parses complete JSON texts with one reusable Boost.JSON parser whose
// scratch space and value memory live in fixed buffers, so a typical event
// costs no heap allocation for the JSON tree.
class JsonTextParser {
 public:
  JsonTextParser();
  JsonTextParser(const JsonTextParser&) = delete;
  JsonTextParser& operator=(const JsonTextParser&) = delete;

  // Parses `text` (already checked to be UTF-8) into a value allocated from
  // `storage`, which must outlive the value. On malformed JSON returns
  // nullopt with `reason` "malformed JSON at byte N: <what>".
  std::optional<boost::json::value> Parse(std::string_view text, boost::json::storage_ptr storage, std::string* reason);

  // Checks UTF-8, parses `text` and validates it as an event.
  Result<Event> ParseEvent(std::string_view text, const ParseOptions& options);

 private:
  static constexpr size_t kScratchBytes = 4096;
  static constexpr size_t kValueBytes = 16384;
  unsigned char scratch_[kScratchBytes];
  unsigned char value_memory_[kValueBytes];
  boost::json::parser parser_;
};

}  // namespace pond::ingest_internal
