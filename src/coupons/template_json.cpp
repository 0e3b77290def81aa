#include "coupons/template_json.hpp"

#include "core/json_reader.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <limits>

namespace pond::coupons {
namespace {

using json_fields::Reader;

constexpr std::array<std::string_view, 20> kFields = {
    "id",        "name",           "kind",    "threshold_fen",    "off_fen",           "percent_off",
    "sku",       "exchange_price_fen", "scope", "valid_days",     "valid_from",        "valid_to",
    "stock",     "per_member_limit", "per_day_limit", "stackable", "restore_on_refund", "face_value_fen",
    "cost_fen",  "retired_at"};
constexpr std::array<std::string_view, 4> kScopeFields = {"categories", "skus", "stores", "channels"};

Result<CouponTemplate> FromObject(const boost::json::object& o, bool with_id) {
  Status errors = InvalidArgument("the coupon template is not valid");
  Reader r(o, errors);
  r.RefuseUnknown(kFields, "a coupon template");
  CouponTemplate t;
  if (with_id) t.id = r.Int("id");
  if (!with_id && o.contains("id")) r.Bad("id", "is given by Pond");
  // Retiring is its own request (POST .../retire); a stored template keeps when.
  if (with_id) t.retired_at = r.Time("retired_at");
  if (!with_id && o.contains("retired_at")) r.Bad("retired_at", "is set by retiring the template");
  t.name = r.Text("name");
  const std::string kind = r.Text("kind");
  const std::optional<CouponKind> known = KindFromName(kind);
  if (known) {
    t.kind = *known;
  } else {
    r.Bad("kind", kind.empty() ? "is required: cash_off, no_threshold, discount, exchange or gift"
                               : "must be cash_off, no_threshold, discount, exchange or gift");
  }
  t.threshold = r.Fen("threshold_fen");
  t.off = r.Fen("off_fen");
  t.percent_off = r.Int32("percent_off");
  t.sku = r.Text("sku");
  t.exchange_price = r.Fen("exchange_price_fen");
  if (const boost::json::value* scope = o.if_contains("scope"); scope && !scope->is_null()) {
    if (!scope->is_object()) {
      r.Bad("scope", "must be an object");
    } else {
      Reader s(scope->as_object(), errors, "scope.");
      s.RefuseUnknown(kScopeFields, "a coupon template");
      t.scope = Scope{s.List("categories"), s.List("skus"), s.List("stores"), s.List("channels")};
    }
  }
  t.valid_days = r.Int32("valid_days");
  t.valid_from = r.Time("valid_from");
  t.valid_to = r.Time("valid_to");
  if (o.contains("stock") && !o.at("stock").is_null()) t.stock = r.Int("stock");
  t.per_member_limit = r.Int32("per_member_limit");
  t.per_day_limit = r.Int32("per_day_limit");
  t.stackable = r.Bool("stackable");
  t.restore_on_refund = r.Bool("restore_on_refund");
  t.face_value = r.Fen("face_value_fen", t.off.fen());
  t.cost = r.Fen("cost_fen", t.face_value.fen());
  // Field checks only where the shape was right, so no field gets two
  // reasons; without a kind there are no rules to check the amounts by.
  Status checked = known ? CheckTemplate(t) : Status::Ok();
  for (const FieldError& e : checked.field_errors()) r.Bad(e.field, e.reason);  // Bad keeps the first reason
  if (!errors.field_errors().empty()) return errors;
  return t;
}

}  // namespace

Result<CouponTemplate> ParseTemplate(std::string_view json, bool with_id) {
  return json_fields::ParseBody(json, [&](const boost::json::object& o) { return FromObject(o, with_id); });
}

void WriteTemplate(JsonWriter& w, const CouponTemplate& t, const TimeZone& zone) {
  auto list = [&](std::string_view key, const std::vector<std::string>& values) {
    w.Key(key).BeginArray();
    for (const std::string& v : values) w.String(v);
    w.EndArray();
  };
  w.BeginObject().Field("id", t.id).Field("name", t.name).Field("kind", KindName(t.kind));
  // The amounts of its kind only: a cash-off template has no percent.
  w.Field("threshold_fen", t.threshold.fen());
  if (t.kind == CouponKind::kCashOff || t.kind == CouponKind::kNoThreshold) w.Field("off_fen", t.off.fen());
  if (t.kind == CouponKind::kDiscount) w.Field("percent_off", t.percent_off);
  if (t.kind == CouponKind::kExchange || t.kind == CouponKind::kGift) w.Field("sku", t.sku);
  if (t.kind == CouponKind::kExchange) w.Field("exchange_price_fen", t.exchange_price.fen());
  w.Key("scope").BeginObject();
  list("categories", t.scope.categories);
  list("skus", t.scope.skus);
  list("stores", t.scope.stores);
  list("channels", t.scope.channels);
  w.EndObject();
  if (t.valid_days > 0) w.Field("valid_days", t.valid_days);
  if (t.valid_from) w.Field("valid_from", FormatRfc3339(*t.valid_from, zone));
  if (t.valid_to) w.Field("valid_to", FormatRfc3339(*t.valid_to, zone));
  if (t.stock) w.Field("stock", *t.stock);
  w.Field("per_member_limit", t.per_member_limit).Field("per_day_limit", t.per_day_limit);
  w.Field("stackable", t.stackable).Field("restore_on_refund", t.restore_on_refund);
  w.Field("face_value_fen", t.face_value.fen()).Field("cost_fen", t.cost.fen());
  if (t.retired_at) w.Field("retired_at", FormatRfc3339(*t.retired_at, zone));
  w.EndObject();
}

std::string TemplatesJson(const std::vector<CouponTemplate>& templates) {
  JsonWriter w;
  w.BeginObject().Key("templates").BeginArray();
  for (const CouponTemplate& t : templates) WriteTemplate(w, t, TimeZone::Fixed(0));
  w.EndArray().EndObject();
  return w.Take();
}

Result<std::vector<CouponTemplate>> ParseTemplates(std::string_view json) {
  return json_fields::ParseDocument<CouponTemplate>(json, "templates",
                                                 [](const boost::json::object& o) { return FromObject(o, true); });
}

}  // namespace pond::coupons
