// EventWriter: the inverse of the parser — an Event as one line of the JSON
// of CONTRACT.md "Events", times in `zone`. Parsing what it writes gives the
// same Event back (event_writer_test checks it). Used to export demo data
// for `pond import` and to feed benchmarks the same bytes a client sends.
// Stateless; safe from any thread.
#pragma once

#include <string>

#include "core/time.hpp"
#include "events/event.hpp"

namespace pond {

// Appends `event` as one compact JSON object (no newline) to `out`.
void AppendEventJson(const Event& event, const TimeZone& zone, std::string& out);

}  // namespace pond
