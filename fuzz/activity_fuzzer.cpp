// Feeds arbitrary bytes to the activity parser (the body of POST
// .../activities); setting_parser_checks.hpp says what any input must give.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "activities/activity_json.hpp"
#include "core/points.hpp"
#include "setting_parser_checks.hpp"

using namespace pond::activities;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pond::fuzzing::CheckParsed(
      ParseActivity(std::string_view(reinterpret_cast<const char*>(data), size)),
      [](const Activity& a) {
        using pond::fuzzing::InBounds;
        pond::fuzzing::Check(InBounds(a.price) && InBounds(a.list_price) && InBounds(a.starts_at) &&
                             InBounds(a.ends_at) && a.points >= 0 && a.points <= pond::kMaxPointsPerOperation);
        return CheckActivity(a);
      },
      [](const Activity& a) { return ActivitiesJson({a}); },
      [](const std::string& text) -> pond::Result<Activity> {
        auto all = ParseActivities(text);
        if (!all.ok()) return all.status();
        if (all->size() != 1) return pond::Internal("one activity stored, another number read back");
        return all->front();
      });
  return 0;
}
