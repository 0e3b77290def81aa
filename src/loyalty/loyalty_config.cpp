#include "loyalty/loyalty_config.hpp"

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <map>
#include <utility>
#include <variant>

#include "core/json_writer.hpp"
#include "core/points.hpp"
#include "events/event.hpp"

namespace pond {
namespace {

namespace json = boost::json;

constexpr std::array<std::string_view, 3> kGrowthBasisNames = {"lifetime", "rolling_months", "calendar_month"};
constexpr std::array<std::string_view, 3> kExpiryKindNames = {"end_of_year_after", "after_days", "never"};
constexpr std::array<std::string_view, 5> kBenefitKindNames = {"product", "activity", "welfare", "service", "alliance"};

constexpr size_t kEchoBytes = 40;  // how much of a bad value an error repeats

// "a, b, c": the allowed names an error lists.
template <size_t N>
std::string NameList(const std::array<std::string_view, N>& names) {
  std::string out;
  for (std::string_view name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

std::string ChannelList() {
  std::string out;
  for (int c = 0; c < kChannels; ++c) {
    if (c > 0) out += ", ";
    out += ChannelName(static_cast<Channel>(c));
  }
  return out;
}

// A bad value repeated in a reason, cut at a code point boundary so the
// error stays short and valid UTF-8.
std::string Echo(std::string_view value) {
  if (value.size() <= kEchoBytes) return std::string(value);
  size_t end = kEchoBytes;
  while (end > 0 && (static_cast<unsigned char>(value[end]) & 0xC0) == 0x80) --end;
  return std::string(value.substr(0, end)) + "...";
}

std::string Child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string Element(const std::string& path, size_t index) { return path + "[" + std::to_string(index) + "]"; }

// One InvalidArgument for the whole document, naming the first problem in
// the message (for logs) and every problem as a field error (for the client).
Status ConfigInvalid(std::vector<FieldError> errors) {
  const FieldError& first = errors.front();
  std::string message =
      "invalid loyalty configuration: " + (first.field.empty() ? first.reason : first.field + " " + first.reason);
  if (errors.size() > 1) message += " (and " + std::to_string(errors.size() - 1) + " more)";
  Status status = InvalidArgument(std::move(message));
  for (FieldError& e : errors) status.AddFieldError(std::move(e.field), std::move(e.reason));
  return status;
}

// ---- Validation ----

class RuleChecker {
 public:
  std::vector<FieldError> TakeErrors() && { return std::move(errors_); }

  // One reason a field: the first rule it breaks.
  void Fail(std::string field, std::string reason) {
    for (const FieldError& e : errors_) {
      if (e.field == field) return;
    }
    errors_.push_back({std::move(field), std::move(reason)});
  }

  void Range(std::string field, int64_t value, int64_t min, int64_t max) {
    if (value < min || value > max) {
      Fail(std::move(field), "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
  }
  // An amount in fen: 0 to Money::kMaxFen, as every input's (docs/api.md "Limits").
  void Fen(std::string field, Money value) { Range(std::move(field), value.fen(), 0, Money::kMaxFen); }

  void Tiers(const LoyaltyConfig& c) {
    if (c.tiers.empty() || c.tiers.size() > 20) Fail("tiers", "must have 1 to 20 tiers");
    std::map<std::string_view, size_t> seen;  // id → first index
    for (size_t i = 0; i < c.tiers.size(); ++i) {
      const TierRule& t = c.tiers[i];
      const std::string at = Element("tiers", i);
      if (t.id.empty()) {
        Fail(at + ".id", "must not be empty");
      } else if (!IsTierId(t.id)) {
        Fail(at + ".id", "must be at most 32 characters of a-z, 0-9 and '_'");
      } else if (auto [it, fresh] = seen.emplace(t.id, i); !fresh) {
        Fail(at + ".id", "duplicates " + Element("tiers", it->second) + ".id");
      }
      if (t.name.empty()) Fail(at + ".name", "must not be empty");
      if (t.name.size() > 64) Fail(at + ".name", "must be at most 64 bytes");
      if (i == 0 && t.threshold != 0) Fail(at + ".threshold", "must be 0: the first tier is where every member starts");
      if (i > 0 && t.threshold <= c.tiers[i - 1].threshold) {
        Fail(at + ".threshold", "must be greater than " + Element("tiers", i - 1) + ".threshold (" +
                                    std::to_string(c.tiers[i - 1].threshold) + ")");
      }
      if (i > 0) Range(at + ".threshold", t.threshold, 1, kMaxPoints);  // growth never exceeds kMaxPoints
      Range(at + ".points_rate_bp", t.points_rate_bp, 0, 1'000'000);
      Fen(at + ".member_day_off_fen", t.member_day_off);
      if (t.member_day_off > c.member_day.threshold) {
        Fail(at + ".member_day_off_fen",
             "must not exceed member_day.threshold_fen (" + std::to_string(c.member_day.threshold.fen()) + ")");
      }
    }
  }

  void Multipliers(const LoyaltyConfig& c) {
    for (const auto& [category, pct] : c.category_multiplier_pct) {
      if (category.empty()) Fail("category_multiplier_pct", "must not have an empty category id");
      Range(Child("category_multiplier_pct", category), pct, 0, 1000);
    }
    for (const auto& [channel, pct] : c.channel_multiplier_pct) {
      const std::string at = Child("channel_multiplier_pct", channel);
      // One reason a field: an unknown channel's percentage is not checked too.
      if (!ChannelFromName(channel)) {
        Fail(at, "is not a channel (expected one of " + ChannelList() + ")");
      } else {
        Range(at, pct, 0, 1000);
      }
    }
  }

  void Benefits(const LoyaltyConfig& c) {
    std::map<std::string_view, size_t> seen;  // id → first index
    for (size_t i = 0; i < c.benefits.size(); ++i) {
      const Benefit& b = c.benefits[i];
      const std::string at = Element("benefits", i);
      if (b.id.empty()) {
        Fail(at + ".id", "must not be empty");
      } else if (auto [it, fresh] = seen.emplace(b.id, i); !fresh) {
        Fail(at + ".id", "duplicates " + Element("benefits", it->second) + ".id");
      }
      if (b.name.empty()) Fail(at + ".name", "must not be empty");
      if (b.tiers.empty()) Fail(at + ".tiers", "must name at least one tier");
      for (size_t k = 0; k < b.tiers.size(); ++k) {
        if (c.TierIndex(b.tiers[k]) < 0) Fail(Element(at + ".tiers", k), "is not a configured tier id");
      }
    }
  }

 private:
  static bool IsTierId(std::string_view id) {
    return id.size() <= 32 && std::all_of(id.begin(), id.end(), [](char ch) {
             return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
           });
  }

  std::vector<FieldError> errors_;
};

std::vector<FieldError> RuleErrors(const LoyaltyConfig& c) {
  RuleChecker v;
  v.Range("growth_per_yuan", c.growth_per_yuan, 1, 10'000);
  v.Range("rolling_months", c.rolling_months, 1, 24);
  v.Range("review_grace_days", c.review_grace_days, 0, 90);
  v.Tiers(c);
  v.Multipliers(c);
  // Both expiry fields are checked whatever the kind: both are stored, and
  // switching the kind later must not bring back a bad value.
  v.Range("expiry.years", c.expiry.years, 0, 10);
  v.Range("expiry.days", c.expiry.days, 1, 3650);
  v.Range("expiring_soon_days", c.expiring_soon_days, 1, 365);
  v.Range("member_day.weekday", c.member_day.weekday, 1, 7);
  v.Fen("member_day.threshold_fen", c.member_day.threshold);
  v.Range("birthday.points_multiplier_pct", c.birthday.points_multiplier_pct, 100, 1000);
  v.Fen("birthday.coupon_off_fen", c.birthday.coupon_off);
  v.Range("birthday.coupon_valid_days", c.birthday.coupon_valid_days, 1, 366);
  v.Benefits(c);
  const LifecycleRule& l = c.lifecycle;
  v.Range("lifecycle.active_days", l.active_days, 1, 3650);
  if (l.lost_after_days <= l.active_days || l.lost_after_days > 3650) {
    v.Fail("lifecycle.lost_after_days",
           "must be greater than lifecycle.active_days (" + std::to_string(l.active_days) + ") and at most 3650");
  }
  v.Range("lifecycle.mature_orders", l.mature_orders, 1, 1000);
  v.Range("lifecycle.won_back_gap_days", l.won_back_gap_days, 1, 3650);
  v.Range("lifecycle.window_days", l.window_days, 1, 3650);
  return std::move(v).TakeErrors();
}

// ---- Parsing ----

// Where a document value goes. Each alternative has a Read overload.
using Target = std::variant<int64_t*, int*, bool*, Money*, std::string*, GrowthBasis*, ExpiryKind*, BenefitKind*,
                            std::vector<std::string>*, std::map<std::string, int>*, std::vector<TierRule>*,
                            std::vector<Benefit>*, ExpiryPolicy*, MemberDayRule*, BirthdayRule*, LifecycleRule*>;

struct Key {
  std::string_view name;
  Target target;
  bool required = false;
};
constexpr bool kRequired = true;

// Reads a document onto a configuration, collecting every structural error
// (wrong type, unknown key, missing required key) by JSON path. Values that
// cannot be read leave the target as it was.
class DocumentReader {
 public:
  std::vector<FieldError> TakeErrors() && { return std::move(errors_); }

  void Read(const json::value& v, const std::string& path, LoyaltyConfig* c) {
    ReadObject(v, path,
               {{"growth_per_yuan", &c->growth_per_yuan},
                {"basis", &c->basis},
                {"rolling_months", &c->rolling_months},
                {"review_grace_days", &c->review_grace_days},
                {"tiers", &c->tiers},
                {"category_multiplier_pct", &c->category_multiplier_pct},
                {"channel_multiplier_pct", &c->channel_multiplier_pct},
                {"expiry", &c->expiry},
                {"expiring_soon_days", &c->expiring_soon_days},
                {"member_day", &c->member_day},
                {"birthday", &c->birthday},
                {"benefits", &c->benefits},
                {"lifecycle", &c->lifecycle}});
  }

 private:
  // One reason a field: a top-level key "lifecycle.x" and lifecycle's own
  // "x" have the same path, and are reported once.
  void Fail(std::string path, std::string reason) {
    for (const FieldError& e : errors_) {
      if (e.field == path) return;
    }
    errors_.push_back({std::move(path), std::move(reason)});
  }

  // Reads the keys of an object present in the document; absent optional
  // keys keep their target's current value.
  void ReadObject(const json::value& v, const std::string& path, std::initializer_list<Key> keys) {
    if (!v.is_object()) return Fail(path, "must be an object");
    const json::object& o = v.get_object();
    for (const json::key_value_pair& kv : o) {
      const std::string_view name = kv.key();
      const std::string at = Child(path, name);
      const Key* key = std::find_if(keys.begin(), keys.end(), [&](const Key& k) { return k.name == name; });
      if (key == keys.end()) {
        Fail(at, "unknown field");
        continue;
      }
      std::visit([&](auto* target) { Read(kv.value(), at, target); }, key->target);
    }
    for (const Key& key : keys) {
      if (key.required && !o.contains(key.name)) Fail(Child(path, key.name), "is required");
    }
  }

  void Read(const json::value& v, const std::string& path, TierRule* t) {
    ReadObject(v, path,
               {{"id", &t->id, kRequired},
                {"name", &t->name, kRequired},
                {"threshold", &t->threshold, kRequired},
                {"points_rate_bp", &t->points_rate_bp},
                {"member_day_off_fen", &t->member_day_off}});
  }

  void Read(const json::value& v, const std::string& path, Benefit* b) {
    ReadObject(v, path,
               {{"id", &b->id, kRequired},
                {"name", &b->name, kRequired},
                {"kind", &b->kind, kRequired},
                {"tiers", &b->tiers, kRequired},
                {"description", &b->description}});
  }

  void Read(const json::value& v, const std::string& path, ExpiryPolicy* e) {
    ReadObject(v, path, {{"kind", &e->kind}, {"years", &e->years}, {"days", &e->days}});
  }

  void Read(const json::value& v, const std::string& path, MemberDayRule* m) {
    ReadObject(v, path, {{"enabled", &m->enabled}, {"weekday", &m->weekday}, {"threshold_fen", &m->threshold}});
  }

  void Read(const json::value& v, const std::string& path, BirthdayRule* b) {
    ReadObject(v, path,
               {{"points_multiplier_pct", &b->points_multiplier_pct},
                {"coupon_off_fen", &b->coupon_off},
                {"coupon_valid_days", &b->coupon_valid_days}});
  }

  void Read(const json::value& v, const std::string& path, LifecycleRule* l) {
    ReadObject(v, path,
               {{"active_days", &l->active_days},
                {"lost_after_days", &l->lost_after_days},
                {"mature_orders", &l->mature_orders},
                {"won_back_gap_days", &l->won_back_gap_days},
                {"window_days", &l->window_days}});
  }

  // A list in the document replaces the whole list. Every element gets a
  // slot, even one that cannot be read, so that rule errors found later
  // name the same index as the document.
  template <typename T>
  void Read(const json::value& v, const std::string& path, std::vector<T>* out) {
    if (!v.is_array()) return Fail(path, "must be an array");
    const json::array& a = v.get_array();
    out->assign(a.size(), T{});
    for (size_t i = 0; i < a.size(); ++i) Read(a[i], Element(path, i), &(*out)[i]);
  }

  // Multiplier maps: a map in the document replaces the whole map.
  void Read(const json::value& v, const std::string& path, std::map<std::string, int>* out) {
    if (!v.is_object()) return Fail(path, "must be an object");
    out->clear();
    for (const json::key_value_pair& kv : v.get_object()) {
      const std::string_view key = kv.key();
      int pct = 0;
      if (Integer(kv.value(), Child(path, key), &pct)) out->emplace(key, pct);
    }
  }

  void Read(const json::value& v, const std::string& path, std::string* out) {
    if (!v.is_string()) return Fail(path, "must be a string");
    out->assign(v.get_string().data(), v.get_string().size());
  }

  void Read(const json::value& v, const std::string& path, bool* out) {
    if (!v.is_bool()) return Fail(path, "must be true or false");
    *out = v.get_bool();
  }

  void Read(const json::value& v, const std::string& path, int64_t* out) { Integer(v, path, out); }
  void Read(const json::value& v, const std::string& path, int* out) { Integer(v, path, out); }

  void Read(const json::value& v, const std::string& path, Money* out) {
    int64_t fen = 0;
    if (Integer(v, path, &fen)) *out = Money::Fen(fen);
  }

  void Read(const json::value& v, const std::string& path, GrowthBasis* out) {
    Enum(v, path, "basis", kGrowthBasisNames, out);
  }
  void Read(const json::value& v, const std::string& path, ExpiryKind* out) {
    Enum(v, path, "expiry kind", kExpiryKindNames, out);
  }
  void Read(const json::value& v, const std::string& path, BenefitKind* out) {
    Enum(v, path, "benefit kind", kBenefitKindNames, out);
  }

  // JSON has one number type, so 6800.0 is the integer 6800; 68.5 is not.
  bool Integer(const json::value& v, const std::string& path, int64_t* out) {
    switch (v.kind()) {
      case json::kind::int64:
        *out = v.get_int64();
        return true;
      case json::kind::uint64:
        if (v.get_uint64() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) break;
        *out = static_cast<int64_t>(v.get_uint64());
        return true;
      case json::kind::double_: {
        const double d = v.get_double();
        if (d != std::trunc(d)) return Fail(path, "must be an integer"), false;
        if (d < -0x1p63 || d >= 0x1p63) break;
        *out = static_cast<int64_t>(d);
        return true;
      }
      default:
        return Fail(path, "must be an integer"), false;
    }
    return Fail(path, "is out of the 64-bit integer range"), false;
  }

  // Every int field's allowed range lies far inside int, so a value beyond
  // it is clamped and the rule check then names the field's real range.
  bool Integer(const json::value& v, const std::string& path, int* out) {
    int64_t wide = 0;
    if (!Integer(v, path, &wide)) return false;
    *out =
        static_cast<int>(std::clamp<int64_t>(wide, std::numeric_limits<int>::min(), std::numeric_limits<int>::max()));
    return true;
  }

  template <typename E, size_t N>
  void Enum(const json::value& v, const std::string& path, std::string_view what,
            const std::array<std::string_view, N>& names, E* out) {
    if (!v.is_string()) return Fail(path, "must be a string");
    const std::string_view name(v.get_string().data(), v.get_string().size());
    const auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) {
      return Fail(path,
                  "unknown " + std::string(what) + " '" + Echo(name) + "' (expected one of " + NameList(names) + ")");
    }
    *out = static_cast<E>(it - names.begin());
  }

  std::vector<FieldError> errors_;
};

// Whether `field` is `parent` or lies inside it ("tiers[1].id" in "tiers[1]").
bool IsWithin(std::string_view field, std::string_view parent) {
  return field.starts_with(parent) &&
         (field.size() == parent.size() || field[parent.size()] == '.' || field[parent.size()] == '[');
}

}  // namespace

std::string_view GrowthBasisName(GrowthBasis b) { return kGrowthBasisNames[static_cast<size_t>(b)]; }
std::string_view ExpiryKindName(ExpiryKind k) { return kExpiryKindNames[static_cast<size_t>(k)]; }
std::string_view BenefitKindName(BenefitKind k) { return kBenefitKindNames[static_cast<size_t>(k)]; }

int LoyaltyConfig::TierFor(int64_t basis_value) const {
  int tier = 0;
  for (size_t i = 0; i < tiers.size(); ++i) {
    if (tiers[i].threshold <= basis_value) tier = static_cast<int>(i);
  }
  return tier;
}

int LoyaltyConfig::TierIndex(std::string_view id) const {
  for (size_t i = 0; i < tiers.size(); ++i) {
    if (tiers[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

LoyaltyConfig DefaultLoyaltyConfig() {
  LoyaltyConfig c;  // the scalar defaults sit in the header's member initializers
  // DOMAIN.md §2: 普卡 0–2,999, 银卡 3,000–5,999, 金卡 6,000+; 1 / 1.5 / 2
  // points per yuan; member day 满68减6 / 减8 / 减10.
  c.tiers = {
      {"standard", "普卡", 0, 10'000, Money::Fen(600)},
      {"silver", "银卡", 3000, 15'000, Money::Fen(800)},
      {"gold", "金卡", 6000, 20'000, Money::Fen(1000)},
  };
  // DOMAIN.md §2: Miniso's benefits by tier, one or two of each kind.
  const std::vector<std::string> every_tier = {"standard", "silver", "gold"};
  c.benefits = {
      {"member_day", "会员日", BenefitKind::kActivity, every_tier,
       "每周三全场满68元立减，金卡减10元、银卡减8元、普卡减6元"},
      {"birthday_double_points", "生日双倍积分", BenefitKind::kWelfare, every_tier,
       "生日当天消费积分翻倍，并获赠8元无门槛券"},
      {"new_product_trial", "新品试用", BenefitKind::kProduct, {"silver", "gold"}, "新品首发抢先试用"},
      {"priority_entry", "优先入场", BenefitKind::kActivity, {"gold"}, "新品发售与门店活动优先入场"},
      {"free_bag", "免费购物袋", BenefitKind::kService, every_tier, "门店结账免费提供购物袋"},
      {"partner_perks", "联盟权益", BenefitKind::kAlliance, {"gold"}, "合作品牌的会员专属优惠"},
  };
  return c;
}

Status ValidateLoyaltyConfig(const LoyaltyConfig& config) {
  std::vector<FieldError> errors = RuleErrors(config);
  if (errors.empty()) return Status::Ok();
  return ConfigInvalid(std::move(errors));
}

std::string LoyaltyConfigJson(const LoyaltyConfig& c) {
  JsonWriter w;
  w.BeginObject();
  w.Field("growth_per_yuan", c.growth_per_yuan);
  w.Field("basis", GrowthBasisName(c.basis));
  w.Field("rolling_months", c.rolling_months);
  w.Field("review_grace_days", c.review_grace_days);
  w.Key("tiers").BeginArray();
  for (const TierRule& t : c.tiers) {
    w.BeginObject().Field("id", t.id).Field("name", t.name).Field("threshold", t.threshold);
    w.Field("points_rate_bp", t.points_rate_bp).Field("member_day_off_fen", t.member_day_off.fen()).EndObject();
  }
  w.EndArray();
  w.Key("category_multiplier_pct").BeginObject();
  for (const auto& [category, pct] : c.category_multiplier_pct) w.Field(category, pct);
  w.EndObject();
  w.Key("channel_multiplier_pct").BeginObject();
  for (const auto& [channel, pct] : c.channel_multiplier_pct) w.Field(channel, pct);
  w.EndObject();
  w.Key("expiry").BeginObject().Field("kind", ExpiryKindName(c.expiry.kind));
  w.Field("years", c.expiry.years).Field("days", c.expiry.days).EndObject();
  w.Field("expiring_soon_days", c.expiring_soon_days);
  w.Key("member_day").BeginObject().Field("enabled", c.member_day.enabled).Field("weekday", c.member_day.weekday);
  w.Field("threshold_fen", c.member_day.threshold.fen()).EndObject();
  w.Key("birthday").BeginObject().Field("points_multiplier_pct", c.birthday.points_multiplier_pct);
  w.Field("coupon_off_fen", c.birthday.coupon_off.fen());
  w.Field("coupon_valid_days", c.birthday.coupon_valid_days).EndObject();
  w.Key("benefits").BeginArray();
  for (const Benefit& b : c.benefits) {
    w.BeginObject().Field("id", b.id).Field("name", b.name).Field("kind", BenefitKindName(b.kind));
    w.Key("tiers").BeginArray();
    for (const std::string& tier : b.tiers) w.String(tier);
    w.EndArray();
    w.Field("description", b.description).EndObject();
  }
  w.EndArray();
  const LifecycleRule& l = c.lifecycle;
  w.Key("lifecycle").BeginObject().Field("active_days", l.active_days).Field("lost_after_days", l.lost_after_days);
  w.Field("mature_orders", l.mature_orders).Field("won_back_gap_days", l.won_back_gap_days);
  w.Field("window_days", l.window_days).EndObject();
  w.EndObject();
  return w.Take();
}

// The document is read over a base (the defaults, or the current rules for a
// patch): a key left out keeps the base's value. A list ("tiers",
// "benefits") or a multiplier map that is given replaces the base's whole.
Result<LoyaltyConfig> ParseLoyaltyConfig(std::string_view text, LoyaltyDocument kind, const LoyaltyConfig& current) {
  boost::system::error_code ec;
  const json::value doc = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) return Unreadable("body", "is not JSON: " + ec.message());
  if (!doc.is_object()) return Unreadable("body", "must be a JSON object");
  LoyaltyConfig config = kind == LoyaltyDocument::kPatch ? current : DefaultLoyaltyConfig();
  DocumentReader reader;
  reader.Read(doc, "", &config);
  std::vector<FieldError> errors = std::move(reader).TakeErrors();
  if (kind == LoyaltyDocument::kWhole) {
    // The keys of a whole document are the keys the configuration is written with.
    const json::value whole = json::parse(LoyaltyConfigJson(DefaultLoyaltyConfig()));
    for (const auto& kv : whole.as_object()) {
      if (!doc.as_object().contains(kv.key())) {
        errors.push_back({std::string(kv.key()), "is required: PUT replaces the whole configuration (PATCH changes "
                                                 "only the keys it names)"});
      }
    }
  }
  const size_t structural = errors.size();
  for (FieldError& rule : RuleErrors(config)) {
    // A value that could not be read holds a default or a placeholder; a
    // rule failing on it would only repeat the error already reported.
    const bool repeats = std::any_of(errors.begin(), errors.begin() + static_cast<std::ptrdiff_t>(structural),
                                     [&](const FieldError& e) { return IsWithin(rule.field, e.field); });
    if (!repeats) errors.push_back(std::move(rule));
  }
  if (!errors.empty()) return ConfigInvalid(std::move(errors));
  return config;
}

}  // namespace pond
