#include "segments/saved_segments.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "core/json_writer.hpp"

namespace pond::segments {

void RecordSize(SavedSegment& segment, LocalDate day, int64_t count) {
  auto& sizes = segment.sizes;
  if (!sizes.empty() && sizes.back().first == day) {
    sizes.back().second = count;
    return;
  }
  sizes.emplace_back(day, count);
  if (sizes.size() > kMaxSizeHistory) sizes.erase(sizes.begin(), sizes.end() - kMaxSizeHistory);
}

std::string SavedSegmentsJson(const std::vector<SavedSegment>& segments) {
  JsonWriter w;
  w.BeginObject().Key("segments").BeginArray();
  for (const SavedSegment& s : segments) {
    w.BeginObject().Field("id", s.id).Field("name", s.name).Field("expr", s.expr);
    w.Field("created_by", s.created_by).Field("created_at_us", s.created_at.micros());
    w.Key("sizes").BeginArray();
    for (const auto& [day, count] : s.sizes) w.BeginArray().String(day.ToString()).Int(count).EndArray();
    w.EndArray().EndObject();
  }
  w.EndArray().EndObject();
  return w.Take();
}

Result<std::vector<SavedSegment>> ParseSavedSegments(std::string_view text) {
  namespace json = boost::json;
  json::error_code ec;
  json::value v = json::parse(text, ec);
  const json::value* list = ec || !v.is_object() ? nullptr : v.as_object().if_contains("segments");
  if (!list || !list->is_array()) return InvalidArgument("saved segments: not a {\"segments\": [...]} document");
  std::vector<SavedSegment> out;
  for (const json::value& item : list->as_array()) {
    const json::object* o = item.if_object();
    if (!o) return InvalidArgument("saved segments: an entry is not an object");
    auto text_of = [&](std::string_view key) {
      const json::value* f = o->if_contains(key);
      return f && f->is_string() ? std::string(f->as_string()) : std::string();
    };
    auto int_of = [&](std::string_view key) {
      const json::value* f = o->if_contains(key);
      return f && f->is_int64() ? f->as_int64() : int64_t{0};
    };
    SavedSegment s{int_of("id"), text_of("name"), text_of("expr"), text_of("created_by"),
                   Timestamp::FromMicros(int_of("created_at_us")), {}};
    if (s.id <= 0 || s.expr.empty()) return InvalidArgument("saved segments: an entry without id or expr");
    if (const json::value* sizes = o->if_contains("sizes"); sizes && sizes->is_array()) {
      for (const json::value& p : sizes->as_array()) {
        const json::array* pair = p.if_array();
        if (!pair || pair->size() != 2 || !(*pair)[0].is_string() || !(*pair)[1].is_int64()) continue;
        auto day = ParseDate(std::string_view((*pair)[0].as_string()));
        if (day.ok()) s.sizes.emplace_back(*day, (*pair)[1].as_int64());
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace pond::segments
