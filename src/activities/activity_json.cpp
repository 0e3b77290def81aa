#include "activities/activity_json.hpp"

#include <sys/random.h>

#include <array>
#include <charconv>

#include "core/json_reader.hpp"

namespace pond::activities {
namespace {

using json_fields::Reader;

constexpr std::array<std::string_view, 23> kFields = {
    "id",         "kind",          "name",          "starts_at",      "ends_at",     "stock",
    "per_member_limit", "sku",     "price_fen",     "list_price_fen", "group_size",  "group_hours",
    "helpers",    "bargain_hours", "helper_tag",    "prizes",         "none_weight", "snapshot_id",
    "purchase_required", "seed",   "points",        "template_id", "cancelled_at"};
constexpr std::array<std::string_view, 4> kPrizeFields = {"name", "stock", "weight", "template_id"};
constexpr int32_t kDefaultHours = 24;

Result<uint64_t> FreshSeed() {
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed)) {
    return Internal("the kernel gave no random bytes for a seed");
  }
  return seed;
}

Result<Activity> FromObject(const boost::json::object& o, bool with_id) {
  Status errors = InvalidArgument("the activity is not valid");
  Reader r(o, errors);
  r.RefuseUnknown(kFields, "an activity");
  Activity a;
  if (with_id) a.id = r.Int("id");
  if (!with_id && o.contains("id")) r.Bad("id", "is given by Pond");
  // Cancelling is its own request (POST .../cancel); a stored activity keeps when.
  if (with_id) a.cancelled_at = r.Time("cancelled_at");
  if (!with_id && o.contains("cancelled_at")) r.Bad("cancelled_at", "is set by cancelling the activity");
  const std::string kind = r.Text("kind");
  const std::optional<ActivityKind> known = KindFromName(kind);
  if (known) {
    a.kind = *known;
  } else {
    r.Bad("kind", std::string(kind.empty() ? "is required" : "must be") +
                      ": flash_sale, group_buy, bargain, lucky_draw or points_mall");
  }
  a.name = r.Text("name");
  if (a.name.empty() && known && !o.contains("name")) a.name = std::string(KindName(*known));
  const std::optional<Timestamp> starts = r.Time("starts_at"), ends = r.Time("ends_at");
  // Absent, null and "" are all "no instant"; a parse error was named first.
  if (!starts) r.Bad("starts_at", "is required");
  if (!ends) r.Bad("ends_at", "is required");
  if (starts) a.starts_at = *starts;
  if (ends) a.ends_at = *ends;
  a.stock = r.Int("stock");
  a.per_member_limit = r.Int32("per_member_limit", 1);
  a.sku = r.Text("sku");
  a.price = r.Fen("price_fen");
  a.list_price = r.Fen("list_price_fen");
  const bool grouped = known == ActivityKind::kGroupBuy, bargain = known == ActivityKind::kBargain;
  a.group_size = r.Int32("group_size");
  a.group_hours = r.Int32("group_hours", grouped ? kDefaultHours : 0);
  a.helpers = r.Int32("helpers");
  a.bargain_hours = r.Int32("bargain_hours", bargain ? kDefaultHours : 0);
  a.helper_tag = r.Text("helper_tag");
  if (bargain && !o.contains("helper_tag")) a.helper_tag = "bargain_helper";
  if (const boost::json::value* prizes = o.if_contains("prizes"); prizes && !prizes->is_null()) {
    if (!prizes->is_array()) {
      r.Bad("prizes", "must be an array of prizes");
    } else {
      for (size_t i = 0; i < prizes->as_array().size(); ++i) {
        const boost::json::value& v = prizes->as_array()[i];
        const std::string at = "prizes[" + std::to_string(i) + "]";
        if (!v.is_object()) {
          r.Bad(at, "must be an object");
          continue;
        }
        Reader p(v.as_object(), errors, at + ".");
        p.RefuseUnknown(kPrizeFields, "a prize");
        a.prizes.push_back(Prize{p.Text("name"), p.Int("stock"), p.Int("weight"), p.Int("template_id")});
      }
    }
  }
  a.none_weight = r.Int("none_weight");
  a.snapshot_id = r.Int("snapshot_id");
  a.purchase_required = r.Bool("purchase_required");
  a.points = r.Points("points");
  a.template_id = r.Int("template_id");
  if (const std::string seed = r.Text("seed"); !seed.empty()) {
    const auto [end, ec] = std::from_chars(seed.data(), seed.data() + seed.size(), a.seed, 16);
    if (seed.size() != 16 || ec != std::errc() || end != seed.data() + seed.size()) {
      r.Bad("seed", "must be 16 hex digits");
    }
  } else if (with_id) {
    r.Bad("seed", "is required in the stored form");
  } else {
    ASSIGN_OR_RETURN(a.seed, FreshSeed());
  }
  // Field checks only where the shape was right, so no field gets two reasons.
  Status checked = known ? CheckActivity(a) : Status::Ok();
  for (const FieldError& e : checked.field_errors()) r.Bad(e.field, e.reason);  // Bad keeps the first reason
  if (!errors.field_errors().empty()) return errors;
  return a;
}

}  // namespace

std::string Hex16(uint64_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[static_cast<size_t>(i)] = kHex[v & 15];
  return out;
}

Result<Activity> ParseActivity(std::string_view json, bool with_id) {
  return json_fields::ParseBody(json, [&](const boost::json::object& o) { return FromObject(o, with_id); });
}

void WriteActivity(JsonWriter& w, const Activity& a, const TimeZone& zone, bool with_seed) {
  w.BeginObject().Field("id", a.id).Field("kind", KindName(a.kind)).Field("name", a.name);
  w.Field("starts_at", FormatRfc3339(a.starts_at, zone)).Field("ends_at", FormatRfc3339(a.ends_at, zone));
  w.Field("per_member_limit", a.per_member_limit);
  // The fields of its kind only.
  if (a.kind != ActivityKind::kLuckyDraw) w.Field("stock", a.stock);
  if (!a.sku.empty()) w.Field("sku", a.sku);
  switch (a.kind) {
    case ActivityKind::kFlashSale:
      w.Field("price_fen", a.price.fen());
      break;
    case ActivityKind::kGroupBuy:
      w.Field("price_fen", a.price.fen()).Field("list_price_fen", a.list_price.fen());
      w.Field("group_size", a.group_size).Field("group_hours", a.group_hours);
      break;
    case ActivityKind::kBargain:
      w.Field("price_fen", a.price.fen()).Field("list_price_fen", a.list_price.fen());
      w.Field("helpers", a.helpers).Field("bargain_hours", a.bargain_hours).Field("helper_tag", a.helper_tag);
      break;
    case ActivityKind::kLuckyDraw:
      w.Key("prizes").BeginArray();
      for (const Prize& p : a.prizes) {
        w.BeginObject().Field("name", p.name).Field("stock", p.stock).Field("weight", p.weight);
        if (p.template_id != 0) w.Field("template_id", p.template_id);
        w.EndObject();
      }
      w.EndArray().Field("none_weight", a.none_weight);
      if (a.snapshot_id != 0) w.Field("snapshot_id", a.snapshot_id);
      w.Field("purchase_required", a.purchase_required);
      break;
    case ActivityKind::kPointsMall:
      w.Field("points", a.points);
      if (a.template_id != 0) w.Field("template_id", a.template_id);
      break;
  }
  if (a.cancelled_at) w.Field("cancelled_at", FormatRfc3339(*a.cancelled_at, zone));
  if (with_seed) w.Field("seed", Hex16(a.seed));
  w.EndObject();
}

std::string ActivitiesJson(const std::vector<Activity>& activities) {
  JsonWriter w;
  w.BeginObject().Key("activities").BeginArray();
  for (const Activity& a : activities) WriteActivity(w, a, TimeZone::Fixed(0), true);
  w.EndArray().EndObject();
  return w.Take();
}

Result<std::vector<Activity>> ParseActivities(std::string_view json) {
  return json_fields::ParseDocument<Activity>(json, "activities",
                                              [](const boost::json::object& o) { return FromObject(o, true); });
}

}  // namespace pond::activities
