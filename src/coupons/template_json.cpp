#include "coupons/template_json.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <limits>

namespace pond::coupons {
namespace {

constexpr std::array<std::string_view, 19> kFields = {
    "id",        "name",           "kind",    "threshold_fen",    "off_fen",           "percent_off",
    "sku",       "exchange_price_fen", "scope", "valid_days",     "valid_from",        "valid_to",
    "stock",     "per_member_limit", "per_day_limit", "stackable", "restore_on_refund", "face_value_fen",
    "cost_fen"};
constexpr std::array<std::string_view, 4> kScopeFields = {"categories", "skus", "stores", "channels"};

// Reads the fields of one object, collecting a reason per bad field.
class Reader {
 public:
  Reader(const boost::json::object& o, Status& errors, std::string prefix = "")
      : o_(o), errors_(errors), prefix_(std::move(prefix)) {}

  // One reason a field: the first found (a kind that is not a string is
  // not also reported unknown).
  void Bad(std::string_view field, std::string reason) {
    const std::string name = prefix_ + std::string(field);
    for (const FieldError& e : errors_.field_errors()) {
      if (e.field == name) return;
    }
    errors_.AddFieldError(name, std::move(reason));
  }

  std::string Text(std::string_view field) {
    const boost::json::value* v = o_.if_contains(field);
    if (v == nullptr || v->is_null()) return {};
    if (!v->is_string()) {
      Bad(field, "must be a string");
      return {};
    }
    return std::string(v->as_string());
  }
  int64_t Int(std::string_view field, int64_t absent = 0) {
    const boost::json::value* v = o_.if_contains(field);
    if (v == nullptr || v->is_null()) return absent;
    if (v->is_int64()) return v->as_int64();
    if (v->is_uint64() && v->as_uint64() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return static_cast<int64_t>(v->as_uint64());
    }
    Bad(field, "must be a whole number");
    return absent;
  }
  int32_t Int32(std::string_view field) {
    const int64_t v = Int(field);
    if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
      Bad(field, "is out of range");
      return 0;
    }
    return static_cast<int32_t>(v);
  }
  bool Bool(std::string_view field) {
    const boost::json::value* v = o_.if_contains(field);
    if (v == nullptr || v->is_null()) return false;
    if (!v->is_bool()) {
      Bad(field, "must be true or false");
      return false;
    }
    return v->as_bool();
  }
  std::optional<Timestamp> Time(std::string_view field) {
    const std::string text = Text(field);
    if (text.empty()) return std::nullopt;
    auto t = ParseRfc3339(text);
    if (!t.ok()) {
      Bad(field, "must be an RFC 3339 time with an offset: " + t.status().message());
      return std::nullopt;
    }
    return *t;
  }
  std::vector<std::string> List(std::string_view field) {
    std::vector<std::string> out;
    const boost::json::value* v = o_.if_contains(field);
    if (v == nullptr || v->is_null()) return out;
    if (!v->is_array()) {
      Bad(field, "must be an array of strings");
      return out;
    }
    for (const boost::json::value& e : v->as_array()) {
      if (!e.is_string() || e.as_string().empty()) {
        Bad(field, "must be an array of non-empty strings");
        return {};
      }
      out.emplace_back(e.as_string());
    }
    return out;
  }
  template <size_t N>
  void RefuseUnknown(const std::array<std::string_view, N>& known) {
    for (const auto& [key, value] : o_) {
      if (std::find(known.begin(), known.end(), std::string_view(key)) == known.end()) {
        Bad(key, "is not a field of a coupon template");
      }
    }
  }

 private:
  const boost::json::object& o_;
  Status& errors_;
  std::string prefix_;
};

Result<CouponTemplate> FromObject(const boost::json::object& o, bool with_id) {
  Status errors = InvalidArgument("the coupon template is not valid");
  Reader r(o, errors);
  r.RefuseUnknown(kFields);
  CouponTemplate t;
  if (with_id) t.id = r.Int("id");
  if (!with_id && o.contains("id")) r.Bad("id", "is given by Pond");
  t.name = r.Text("name");
  const std::string kind = r.Text("kind");
  const std::optional<CouponKind> known = KindFromName(kind);
  if (known) {
    t.kind = *known;
  } else {
    r.Bad("kind", kind.empty() ? "is required: cash_off, no_threshold, discount, exchange or gift"
                               : "must be cash_off, no_threshold, discount, exchange or gift");
  }
  t.threshold = Money::Fen(r.Int("threshold_fen"));
  t.off = Money::Fen(r.Int("off_fen"));
  t.percent_off = r.Int32("percent_off");
  t.sku = r.Text("sku");
  t.exchange_price = Money::Fen(r.Int("exchange_price_fen"));
  if (const boost::json::value* scope = o.if_contains("scope"); scope && !scope->is_null()) {
    if (!scope->is_object()) {
      r.Bad("scope", "must be an object");
    } else {
      Reader s(scope->as_object(), errors, "scope.");
      s.RefuseUnknown(kScopeFields);
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
  t.face_value = Money::Fen(r.Int("face_value_fen", t.off.fen()));
  t.cost = Money::Fen(r.Int("cost_fen", t.face_value.fen()));
  // Field checks only where the shape was right, so no field gets two
  // reasons; without a kind there are no rules to check the amounts by.
  Status checked = known ? CheckTemplate(t) : Status::Ok();
  for (const FieldError& e : checked.field_errors()) {
    const bool named = std::any_of(errors.field_errors().begin(), errors.field_errors().end(),
                                   [&](const FieldError& x) { return x.field == e.field; });
    if (!named) errors.AddFieldError(e.field, e.reason);
  }
  if (!errors.field_errors().empty()) return errors;
  return t;
}

}  // namespace

Result<CouponTemplate> ParseTemplate(std::string_view json, bool with_id) {
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  if (ec) return FieldInvalid("body", "is not JSON: " + ec.message());
  if (!v.is_object()) return FieldInvalid("body", "must be a JSON object");
  return FromObject(v.as_object(), with_id);
}

void WriteTemplate(JsonWriter& w, const CouponTemplate& t, const TimeZone& zone) {
  auto list = [&](std::string_view key, const std::vector<std::string>& values) {
    w.Key(key).BeginArray();
    for (const std::string& v : values) w.String(v);
    w.EndArray();
  };
  w.BeginObject().Field("id", t.id).Field("name", t.name).Field("kind", KindName(t.kind));
  w.Field("threshold_fen", t.threshold.fen()).Field("off_fen", t.off.fen()).Field("percent_off", t.percent_off);
  w.Field("sku", t.sku).Field("exchange_price_fen", t.exchange_price.fen());
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
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  if (ec || !v.is_object() || !v.as_object().contains("templates") || !v.as_object().at("templates").is_array()) {
    return InvalidArgument("coupon templates: not a {\"templates\": [...]} document");
  }
  std::vector<CouponTemplate> out;
  for (const boost::json::value& t : v.as_object().at("templates").as_array()) {
    if (!t.is_object()) return InvalidArgument("coupon templates: an entry is not an object");
    ASSIGN_OR_RETURN(CouponTemplate parsed, FromObject(t.as_object(), true));
    out.push_back(std::move(parsed));
  }
  return out;
}

}  // namespace pond::coupons
