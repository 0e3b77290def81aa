// Feeds arbitrary bytes to the activity parser (the body of POST
// .../activities) and checks what any input must give: no crash or
// sanitizer report; a rejection is InvalidArgument naming at least one
// field, each field once; an accepted activity passes CheckActivity and
// survives the stored form's round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "activities/activity_json.hpp"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto a = pond::activities::ParseActivity(text);
  if (!a.ok()) {
    Check(a.status().code() == pond::StatusCode::kInvalidArgument);
    Check(!a.status().field_errors().empty());
    std::set<std::string> fields;
    for (const pond::FieldError& e : a.status().field_errors()) Check(fields.insert(e.field).second);
    return 0;
  }
  Check(pond::activities::CheckActivity(*a).ok());
  const std::string stored = pond::activities::ActivitiesJson({*a});
  auto back = pond::activities::ParseActivities(stored);
  Check(back.ok() && back->size() == 1 && pond::activities::ActivitiesJson(*back) == stored);
  return 0;
}
