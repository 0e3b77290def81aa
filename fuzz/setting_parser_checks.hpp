// What any input to a parser of settings given over the API (a loyalty
// configuration, a coupon template, an activity) must give, checked by its
// fuzz target: no crash or sanitizer report (the fuzzer's own check); a
// rejection is InvalidArgument naming at least one field, each field once;
// an accepted value passes its checks and survives the stored form's round
// trip unchanged (what the server stores is what it serves back).
#pragma once

#include <cstdlib>
#include <optional>
#include <set>
#include <string>

#include "core/money.hpp"
#include "core/status.hpp"
#include "core/time.hpp"

namespace pond::fuzzing {

inline void Check(bool ok) {
  if (!ok) std::abort();
}

// An accepted amount or instant lies inside the documented bounds
// (docs/api.md "Limits"), so nothing built on it can overflow or render
// outside RFC 3339.
inline bool InBounds(Money m) { return m.fen() >= 0 && m.fen() <= Money::kMaxFen; }
inline bool InBounds(Timestamp t) { return InstantRangeProblem(t).empty(); }
inline bool InBounds(const std::optional<Timestamp>& t) { return !t || InBounds(*t); }

// `valid(v)` is the value's own check; `stored(v)` its stored form and
// `reload(text)` the parse of that form, compared again as stored text.
template <typename T, typename Valid, typename Stored, typename Reload>
void CheckParsed(const Result<T>& parsed, Valid valid, Stored stored, Reload reload) {
  if (!parsed.ok()) {
    Check(parsed.status().code() == StatusCode::kInvalidArgument);
    Check(!parsed.status().field_errors().empty());
    std::set<std::string> fields;
    for (const FieldError& e : parsed.status().field_errors()) Check(fields.insert(e.field).second);
    return;
  }
  Check(valid(*parsed).ok());
  const std::string text = stored(*parsed);
  auto back = reload(text);
  Check(back.ok() && stored(*back) == text);
}

}  // namespace pond::fuzzing
