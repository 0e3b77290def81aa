#include "ingest/event_parser.hpp"

#include <array>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <string>

#include "core/text.hpp"
#include "ingest/internal/event_json.hpp"

namespace pond {
namespace ingest_internal {
namespace {

namespace json = boost::json;

// 10^12 fen is ten billion yuan: no real order comes near it, and a sum of
// 1000 items of that size still fits an int64 with room to spare.
constexpr int64_t kMaxFen = 1'000'000'000'000;
constexpr size_t kMaxItems = 1000;
constexpr int64_t kMaxQty = 100'000;
constexpr size_t kShortText = kMaxIdChars;  // ids, cities, profile fields (core/text.hpp)
constexpr size_t kNameText = 128;  // master-data names ("农夫山泉 550ml×24 整箱")
constexpr size_t kEchoBytes = 40;  // how much of a bad value an error repeats

constexpr std::array<std::string_view, 7> kEventTypes = {"member", "order",   "refund",  "store",
                                                         "staff",  "product", "category"};
constexpr std::string_view kEventTypeList = "member, order, refund, store, staff, product, category";
constexpr std::string_view kChannelList =
    "store, miniprogram, official_account, wecom, tmall, jd, pdd, douyin, app, other";
constexpr std::string_view kGenderList = "female, male, unknown";
constexpr std::string_view kIdentityList = "phone, unionid, external_userid, pos_id, member_id";

// Where a field sits: "paid_fen" is {"", -1}, "member.phone" {"member", -1},
// "items[2].qty" {"items", 2}. Paths are only spelt out when an error names them.
struct Scope {
  std::string_view base;
  int index = -1;
};

struct Field {
  const json::value* value;  // nullptr when absent
  Scope scope;
  std::string_view key;
};

std::string PathOf(const Scope& scope, std::string_view key) {
  std::string out(scope.base);
  if (scope.index >= 0) out += "[" + std::to_string(scope.index) + "]";
  if (!key.empty()) {
    if (!out.empty()) out += '.';
    out += key;
  }
  return out;
}

std::string_view View(const json::string& s) { return {s.data(), s.size()}; }

// A bad value repeated in a reason, cut at a code point boundary so the
// error stays short and valid UTF-8.
std::string Echo(std::string_view value) {
  if (value.size() <= kEchoBytes) return std::string(value);
  size_t end = kEchoBytes;
  while (end > 0 && (static_cast<unsigned char>(value[end]) & 0xC0) == 0x80) --end;
  return std::string(value.substr(0, end)) + "...";
}

bool IsDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool IsMainlandMobile(std::string_view s) {
  return s.size() == 11 && s[0] == '1' && s[1] >= '3' && s[1] <= '9' && IsDigits(s);
}

// 11-digit mainland mobile, or E.164. "+86" before a mainland mobile is
// dropped so that one person reached both ways stays one member.
std::optional<std::string> NormalizePhone(std::string_view s) {
  if (IsMainlandMobile(s)) return std::string(s);
  if (s.size() < 7 || s.size() > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' || !IsDigits(s.substr(1))) {
    return std::nullopt;
  }
  if (s.substr(0, 3) == "+86" && IsMainlandMobile(s.substr(3))) return std::string(s.substr(3));
  return std::string(s);
}

bool IsOpaqueId(std::string_view s) {  // unionid, external_userid
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

bool IsPosId(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

enum class IntParse { kOk, kNotInteger, kTooLarge, kTooSmall };

IntParse DecimalInteger(std::string_view s, int64_t* out) {
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, *out);
  if (ec == std::errc::result_out_of_range) return s[0] == '-' ? IntParse::kTooSmall : IntParse::kTooLarge;
  if (ec != std::errc() || ptr != end) return IntParse::kNotInteger;
  return IntParse::kOk;
}

// JSON has one number type, so 6800.0 is the integer 6800; 68.5 is not.
IntParse ToInteger(const json::value& v, bool strings, int64_t* out) {
  switch (v.kind()) {
    case json::kind::int64:
      *out = v.get_int64();
      return IntParse::kOk;
    case json::kind::uint64:
      if (v.get_uint64() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return IntParse::kTooLarge;
      *out = static_cast<int64_t>(v.get_uint64());
      return IntParse::kOk;
    case json::kind::double_: {
      const double d = v.get_double();
      if (std::isinf(d)) return d > 0 ? IntParse::kTooLarge : IntParse::kTooSmall;
      if (d != std::trunc(d)) return IntParse::kNotInteger;
      if (d >= 0x1p63) return IntParse::kTooLarge;
      if (d < -0x1p63) return IntParse::kTooSmall;
      *out = static_cast<int64_t>(d);
      return IntParse::kOk;
    }
    case json::kind::string:
      return strings ? DecimalInteger(View(v.get_string()), out) : IntParse::kNotInteger;
    default:
      return IntParse::kNotInteger;
  }
}

std::optional<double> AsDouble(const json::value& v, bool strings) {
  switch (v.kind()) {
    case json::kind::int64:
      return static_cast<double>(v.get_int64());
    case json::kind::uint64:
      return static_cast<double>(v.get_uint64());
    case json::kind::double_:
      return v.get_double();
    case json::kind::string: {
      if (!strings) return std::nullopt;
      const std::string_view s = View(v.get_string());
      double d = 0;
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
      // Out-of-range text is still a number; the range check reports it.
      if (ec == std::errc::result_out_of_range) return std::numeric_limits<double>::infinity();
      if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
      return d;
    }
    default:
      return std::nullopt;
  }
}

struct TextRule {
  bool required = false;
  size_t max_chars = kShortText;
  bool empty_ok = true;
};
constexpr TextRule kRequiredId{.required = true, .max_chars = kShortText, .empty_ok = false};
constexpr TextRule kOptionalShort{.required = false, .max_chars = kShortText, .empty_ok = true};
constexpr TextRule kOptionalName{.required = false, .max_chars = kNameText, .empty_ok = true};
// Profile fields overwrite what the member has, so "" would erase silently.
constexpr TextRule kProfileText{.required = false, .max_chars = kShortText, .empty_ok = false};

struct IntRule {
  bool required = false;
  int64_t min = 0;
  int64_t max = std::numeric_limits<int64_t>::max();
  bool fen = false;  // money: its own wording, and "is too large" above kMaxFen
};
constexpr IntRule kPaidFen{.required = true, .min = 0, .max = kMaxFen, .fen = true};

// Reads fields off JSON objects into event structs, collecting every error.
class Checker {
 public:
  explicit Checker(const ParseOptions& options) : strings_(options.numbers_as_strings) {}

  std::vector<FieldError> TakeErrors() && { return std::move(errors_); }
  size_t ErrorCount() const { return errors_.size(); }

  void Fail(const Scope& scope, std::string_view key, std::string reason) {
    errors_.push_back({PathOf(scope, key), std::move(reason)});
  }
  void Fail(const Field& f, std::string reason) { Fail(f.scope, f.key, std::move(reason)); }

  // JSON null, and with CSV input an empty cell, mean the field is absent.
  Field At(const json::object& o, Scope scope, std::string_view key) const {
    auto it = o.find(key);
    const json::value* v = it == o.end() ? nullptr : &it->value();
    if (v && Absent(*v)) v = nullptr;
    return {v, scope, key};
  }
  bool Absent(const json::value& v) const {
    return v.is_null() || (strings_ && v.is_string() && v.get_string().empty());
  }

  bool Text(const Field& f, const TextRule& rule, std::string_view* out) {
    if (!f.value) {
      if (rule.required) Fail(f, "is required");
      return false;
    }
    if (!f.value->is_string()) return Fail(f, "must be a string"), false;
    const std::string_view s = View(f.value->get_string());
    if (s.empty() && !rule.empty_ok) return Fail(f, "must not be empty"), false;
    if (HasControl(s)) return Fail(f, "must not contain control characters"), false;
    if (s.size() > rule.max_chars && CodePoints(s) > rule.max_chars) {
      return Fail(f, "must be at most " + std::to_string(rule.max_chars) + " characters"), false;
    }
    *out = s;
    return true;
  }
  void Text(const Field& f, const TextRule& rule, std::string* out) {
    std::string_view s;
    if (Text(f, rule, &s)) out->assign(s);
  }
  void Text(const Field& f, const TextRule& rule, std::optional<std::string>* out) {
    std::string_view s;
    if (Text(f, rule, &s)) out->emplace(s);
  }

  bool Integer(const Field& f, const IntRule& rule, int64_t* out) {
    if (!f.value) {
      if (rule.required) Fail(f, "is required");
      return false;
    }
    auto too_small = [&] {
      return rule.min == 1 ? std::string("must be > 0") : "must be >= " + std::to_string(rule.min);
    };
    auto too_large = [&] { return rule.fen ? std::string("is too large") : "must be <= " + std::to_string(rule.max); };
    int64_t v = 0;
    switch (ToInteger(*f.value, strings_, &v)) {
      case IntParse::kNotInteger:
        return Fail(f, rule.fen ? "must be an integer number of fen" : "must be an integer"), false;
      case IntParse::kTooSmall:
        return Fail(f, too_small()), false;
      case IntParse::kTooLarge:
        return Fail(f, too_large()), false;
      case IntParse::kOk:
        break;
    }
    if (v < rule.min) return Fail(f, too_small()), false;
    if (v > rule.max) return Fail(f, too_large()), false;
    *out = v;
    return true;
  }
  bool Fen(const Field& f, const IntRule& rule, Money* out) {
    int64_t fen = 0;
    if (!Integer(f, rule, &fen)) return false;
    *out = Money::Fen(fen);
    return true;
  }

  void Coordinate(const Field& f, double limit, std::optional<double>* out) {
    if (!f.value) return;
    const std::optional<double> d = AsDouble(*f.value, strings_);
    if (!d) return Fail(f, "must be a number");
    if (!(*d >= -limit && *d <= limit)) {
      const std::string l = std::to_string(static_cast<int>(limit));
      return Fail(f, "must be between -" + l + " and " + l);
    }
    *out = *d;
  }

  template <typename E>
  bool Enum(const Field& f, std::optional<E> (*from_name)(std::string_view), std::string_view what,
            std::string_view expected, E* out) {
    if (!f.value) return false;
    if (!f.value->is_string()) return Fail(f, "must be a string"), false;
    const std::string_view s = View(f.value->get_string());
    const std::optional<E> e = from_name(s);
    if (!e) {
      Fail(f, "unknown " + std::string(what) + " '" + Echo(s) + "' (expected one of " + std::string(expected) + ")");
      return false;
    }
    *out = *e;
    return true;
  }

  bool Time(const Field& f, bool required, Timestamp* out) {
    if (!f.value) {
      if (required) Fail(f, "is required");
      return false;
    }
    if (!f.value->is_string()) return Fail(f, "must be a string"), false;
    Result<Timestamp> t = ParseRfc3339(View(f.value->get_string()));
    if (!t.ok()) return Fail(f, t.status().message()), false;
    // The upper bound that depends on now is the engine's (FutureProblem).
    if (std::string problem = InstantRangeProblem(*t); !problem.empty()) return Fail(f, std::move(problem)), false;
    *out = *t;
    return true;
  }

  void Member(const json::object& o, MemberRef* out) {
    const Field f = At(o, {}, "member");
    if (!f.value) return Fail(f, "is required");
    if (!f.value->is_object()) return Fail(f, "must be an object");
    const Scope scope{"member"};
    std::array<std::optional<std::string>, kIdentityKinds> found;
    bool any = false;
    for (const auto& kv : f.value->get_object()) {
      const std::string_view key = kv.key();
      if (Absent(kv.value())) continue;
      any = true;
      const Field id{&kv.value(), scope, key};
      if (key == "member_id") {
        int64_t member_id = 0;
        if (Integer(id, {.required = true, .min = 1}, &member_id)) out->member_id = member_id;
        continue;
      }
      const std::optional<IdentityKind> kind = IdentityKindFromName(key);
      if (!kind) {
        Fail(id, "unknown identity '" + Echo(key) + "' (expected one of " + std::string(kIdentityList) + ")");
        continue;
      }
      if (!id.value->is_string()) {
        Fail(id, "must be a string");
        continue;
      }
      const std::string_view s = View(id.value->get_string());
      switch (*kind) {
        case IdentityKind::kPhone:
          if (auto phone = NormalizePhone(s)) {
            found[0] = std::move(*phone);
          } else {
            Fail(id, "must be an 11-digit mainland mobile number or E.164 (+ and 6 to 15 digits)");
          }
          break;
        case IdentityKind::kUnionid:
        case IdentityKind::kExternalUserid:
          if (IsOpaqueId(s)) {
            found[static_cast<size_t>(*kind)].emplace(s);
          } else {
            Fail(id, "must be 1 to 128 characters of A-Z, a-z, 0-9, '_' and '-'");
          }
          break;
        case IdentityKind::kPosId:
          if (IsPosId(s)) {
            found[static_cast<size_t>(*kind)].emplace(s);
          } else {
            Fail(id, "must be 1 to 64 printable ASCII characters without spaces");
          }
          break;
      }
    }
    if (!any) Fail(f, "must have at least one identity (" + std::string(kIdentityList) + ")");
    // Identities in IdentityKind order, whatever order the client wrote.
    for (size_t k = 0; k < found.size(); ++k) {
      if (found[k]) out->identities.push_back({static_cast<IdentityKind>(k), std::move(*found[k])});
    }
  }

  // A field the event type does not have is an error: a misspelt "nmae"
  // would otherwise lose the name without a word.
  void RefuseUnknown(const json::object& o, const Scope& scope, std::initializer_list<std::string_view> known,
                     std::string_view what) {
    for (const auto& kv : o) {
      if (std::find(known.begin(), known.end(), kv.key()) == known.end()) {
        Fail(scope, kv.key(), "is not a field of " + std::string(what));
      }
    }
  }

  Event BuildMember(const json::object& o) {
    RefuseUnknown(o, {},
                  {"type", "member", "name", "gender", "birthday", "city", "home_store", "source", "owner_staff",
                   "registered_at"},
                  "a member event");
    MemberEvent e;
    Member(o, &e.member);
    MemberProfile& p = e.profile;
    Text(At(o, {}, "name"), kProfileText, &p.name);
    Gender gender = Gender::kUnknown;
    if (Enum(At(o, {}, "gender"), &GenderFromName, "gender", kGenderList, &gender)) p.gender = gender;
    Birthday(At(o, {}, "birthday"), &p.birthday);
    Text(At(o, {}, "city"), kProfileText, &p.city);
    Text(At(o, {}, "home_store"), kProfileText, &p.home_store);
    Text(At(o, {}, "source"), kProfileText, &p.source);
    Text(At(o, {}, "owner_staff"), kProfileText, &p.owner_staff);
    Timestamp registered;
    if (Time(At(o, {}, "registered_at"), false, &registered)) p.registered_at = registered;
    return e;
  }

  void Birthday(const Field& f, std::optional<LocalDate>* out) {
    if (!f.value) return;
    if (!f.value->is_string()) return Fail(f, "must be a string");
    Result<LocalDate> d = ParseDate(View(f.value->get_string()));
    if (!d.ok()) return Fail(f, d.status().message());
    if (d->year() < 1900) return Fail(f, "must not be before 1900");
    *out = *d;
  }

  Event BuildOrder(const json::object& o) {
    RefuseUnknown(o, {},
                  {"type", "order_id", "member", "channel", "store", "staff", "payment", "paid_at", "paid_fen", "items",
                   "coupons"},
                  "an order event");
    OrderEvent e;
    Text(At(o, {}, "order_id"), kRequiredId, &e.order_id);
    Member(o, &e.member);
    Enum(At(o, {}, "channel"), &ChannelFromName, "channel", kChannelList, &e.channel);
    Text(At(o, {}, "store"), kOptionalShort, &e.store);
    Text(At(o, {}, "staff"), kOptionalShort, &e.staff);
    Text(At(o, {}, "payment"), kOptionalShort, &e.payment);
    Time(At(o, {}, "paid_at"), true, &e.paid_at);
    const bool paid_ok = Fen(At(o, {}, "paid_fen"), kPaidFen, &e.paid);
    Items(o, paid_ok, &e);
    Coupons(o, &e);
    return e;
  }

  void Coupons(const json::object& o, OrderEvent* e) {
    constexpr size_t kMaxCoupons = 20;
    const Field f = At(o, {}, "coupons");
    if (!f.value) return;
    if (!f.value->is_array()) return Fail(f, "must be an array of coupon codes");
    const json::array& codes = f.value->get_array();
    if (codes.size() > kMaxCoupons) return Fail(f, "must have at most " + std::to_string(kMaxCoupons) + " codes");
    for (size_t i = 0; i < codes.size(); ++i) {
      const Scope scope{"coupons", static_cast<int>(i)};
      std::string_view code;
      if (!Text(Field{&codes[i], scope, ""}, kRequiredId, &code)) continue;
      if (std::find(e->coupons.begin(), e->coupons.end(), code) != e->coupons.end()) {
        Fail(scope, "", "repeats a code");
        continue;
      }
      e->coupons.emplace_back(code);
    }
  }

  void Items(const json::object& o, bool paid_ok, OrderEvent* e) {
    const Field f = At(o, {}, "items");
    if (!f.value) return;
    if (!f.value->is_array()) return Fail(f, "must be an array");
    const json::array& items = f.value->get_array();
    if (items.size() > kMaxItems) return Fail(f, "must have at most " + std::to_string(kMaxItems) + " items");
    const size_t before = ErrorCount();
    e->items.reserve(items.size());
    Money sum;
    for (size_t i = 0; i < items.size(); ++i) {
      const Scope scope{"items", static_cast<int>(i)};
      if (!items[i].is_object()) {
        Fail(scope, "", "must be an object");
        continue;
      }
      const json::object& io = items[i].get_object();
      RefuseUnknown(io, scope, {"sku", "category", "qty", "paid_fen"}, "an order item");
      OrderItem& item = e->items.emplace_back();
      Text(At(io, scope, "sku"), kRequiredId, &item.sku);
      Text(At(io, scope, "category"), kOptionalShort, &item.category);
      int64_t qty = 0;
      if (Integer(At(io, scope, "qty"), {.required = true, .min = 1, .max = kMaxQty}, &qty)) {
        item.qty = static_cast<int32_t>(qty);
      }
      Fen(At(io, scope, "paid_fen"), kPaidFen, &item.paid);
      sum += item.paid;
    }
    // The sum only means something when every amount in it was read.
    if (paid_ok && !items.empty() && ErrorCount() == before && sum != e->paid) {
      Fail(f, "sum of items[].paid_fen (" + std::to_string(sum.fen()) + ") must equal paid_fen (" +
                  std::to_string(e->paid.fen()) + ")");
    }
  }

  Event BuildRefund(const json::object& o) {
    RefuseUnknown(o, {}, {"type", "refund_id", "order_id", "amount_fen", "refunded_at"}, "a refund event");
    RefundEvent e;
    Text(At(o, {}, "refund_id"), kRequiredId, &e.refund_id);
    Text(At(o, {}, "order_id"), kRequiredId, &e.order_id);
    Fen(At(o, {}, "amount_fen"), {.required = true, .min = 1, .max = kMaxFen, .fen = true}, &e.amount);
    Time(At(o, {}, "refunded_at"), true, &e.refunded_at);
    return e;
  }

  Event BuildStore(const json::object& o) {
    RefuseUnknown(o, {}, {"type", "id", "name", "city", "lat", "lng"}, "a store");
    StoreInfo e;
    Text(At(o, {}, "id"), kRequiredId, &e.id);
    Text(At(o, {}, "name"), kOptionalName, &e.name);
    Text(At(o, {}, "city"), kOptionalShort, &e.city);
    const Field lat = At(o, {}, "lat");
    const Field lng = At(o, {}, "lng");
    Coordinate(lat, 90, &e.lat);
    Coordinate(lng, 180, &e.lng);
    // A store on the map needs both; one alone is a client bug worth naming.
    if (lat.value && !lng.value) Fail(lng, "is required when lat is given");
    if (lng.value && !lat.value) Fail(lat, "is required when lng is given");
    return e;
  }

  Event BuildStaff(const json::object& o) {
    RefuseUnknown(o, {}, {"type", "id", "name", "store"}, "a staff member");
    StaffInfo e;
    Text(At(o, {}, "id"), kRequiredId, &e.id);
    Text(At(o, {}, "name"), kOptionalName, &e.name);
    Text(At(o, {}, "store"), kOptionalShort, &e.store);
    return e;
  }

  Event BuildProduct(const json::object& o) {
    RefuseUnknown(o, {}, {"type", "sku", "name", "category", "price_fen"}, "a product");
    ProductInfo e;
    Text(At(o, {}, "sku"), kRequiredId, &e.sku);
    Text(At(o, {}, "name"), kOptionalName, &e.name);
    Text(At(o, {}, "category"), kOptionalShort, &e.category);
    Fen(At(o, {}, "price_fen"), {.required = false, .min = 0, .max = kMaxFen, .fen = true}, &e.price);
    return e;
  }

  Event BuildCategory(const json::object& o) {
    RefuseUnknown(o, {}, {"type", "id", "name", "parent"}, "a category");
    CategoryInfo e;
    Text(At(o, {}, "id"), kRequiredId, &e.id);
    Text(At(o, {}, "name"), kOptionalName, &e.name);
    Text(At(o, {}, "parent"), kOptionalShort, &e.parent);
    return e;
  }

 private:
  bool strings_;
  std::vector<FieldError> errors_;
};

}  // namespace

Status FieldsInvalid(std::vector<FieldError> errors) {
  const FieldError& first = errors.front();
  std::string message = "invalid event: " + (first.field.empty() ? first.reason : first.field + " " + first.reason);
  if (errors.size() > 1) message += " (and " + std::to_string(errors.size() - 1) + " more)";
  Status status = InvalidArgument(std::move(message));
  for (FieldError& e : errors) status.AddFieldError(std::move(e.field), std::move(e.reason));
  return status;
}

namespace {

Status Invalid(std::string field, std::string reason) {
  std::vector<FieldError> errors;
  errors.push_back({std::move(field), std::move(reason)});
  return FieldsInvalid(std::move(errors));
}

}  // namespace

std::optional<size_t> InvalidUtf8Offset(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    // Event text is mostly ASCII (keys, digits, ids): skip it eight bytes at a time.
    if (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, p + i, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    // Unicode 15 table 3-7: the lead byte fixes the length and the range of
    // the second byte, which excludes overlong forms, surrogates and > U+10FFFF.
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (i + len > n || p[i + 1] < lo || p[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
    }
    i += len;
  }
  return std::nullopt;
}

std::string InvalidUtf8Reason(size_t offset) { return "invalid UTF-8 at byte " + std::to_string(offset); }

bool IsEventType(std::string_view name) {
  for (std::string_view t : kEventTypes) {
    if (t == name) return true;
  }
  return false;
}

Result<Event> EventFromJson(const json::value& value, const ParseOptions& options) {
  if (!value.is_object()) return Invalid("", "must be a JSON object");
  const json::object& o = value.get_object();
  Checker c(options);
  const Field type = c.At(o, {}, "type");
  // Without a known type there are no rules to check the rest against.
  if (!type.value) return Invalid("type", "is required");
  if (!type.value->is_string()) return Invalid("type", "must be a string");
  const std::string_view name = View(type.value->get_string());
  Event event;
  if (name == "order") {
    event = c.BuildOrder(o);
  } else if (name == "member") {
    event = c.BuildMember(o);
  } else if (name == "refund") {
    event = c.BuildRefund(o);
  } else if (name == "store") {
    event = c.BuildStore(o);
  } else if (name == "staff") {
    event = c.BuildStaff(o);
  } else if (name == "product") {
    event = c.BuildProduct(o);
  } else if (name == "category") {
    event = c.BuildCategory(o);
  } else {
    return Invalid("type",
                   "unknown event type '" + Echo(name) + "' (expected one of " + std::string(kEventTypeList) + ")");
  }
  if (c.ErrorCount() > 0) return FieldsInvalid(std::move(c).TakeErrors());
  return event;
}

JsonTextParser::JsonTextParser() : parser_(json::storage_ptr(), json::parse_options(), scratch_, kScratchBytes) {}

std::optional<json::value> JsonTextParser::Parse(std::string_view text, json::storage_ptr storage,
                                                 std::string* reason) {
  parser_.reset(std::move(storage));
  boost::system::error_code ec;
  const size_t consumed = parser_.write(text.data(), text.size(), ec);
  if (ec) {
    *reason = "malformed JSON at byte " + std::to_string(consumed) + ": " + ec.message();
    // Drop the partial tree now, while the caller's storage is still alive.
    parser_.reset();
    return std::nullopt;
  }
  return parser_.release();
}

Result<Event> JsonTextParser::ParseEvent(std::string_view text, const ParseOptions& options) {
  if (auto bad = InvalidUtf8Offset(text)) return Invalid("", InvalidUtf8Reason(*bad));
  json::monotonic_resource memory(value_memory_, kValueBytes);
  std::string reason;
  const std::optional<json::value> value = Parse(text, &memory, &reason);
  if (!value) return Invalid("", std::move(reason));
  return EventFromJson(*value, options);
}

Status BodyInvalid(std::string reason) { return Invalid("", std::move(reason)); }

Result<MemberRef> MemberField(std::string_view json_text) {
  if (auto bad = InvalidUtf8Offset(json_text)) return Unreadable("body", InvalidUtf8Reason(*bad));
  boost::system::error_code ec;
  const json::value value = json::parse(json_text, ec);
  if (ec) return Unreadable("body", "is not JSON: " + ec.message());
  if (!value.is_object()) return Unreadable("body", "must be a JSON object");
  Checker c(ParseOptions{});
  MemberRef ref;
  c.Member(value.get_object(), &ref);
  if (c.ErrorCount() > 0) return FieldsInvalid(std::move(c).TakeErrors());
  return ref;
}

}  // namespace ingest_internal

namespace {

using ingest_internal::JsonTextParser;
namespace json = boost::json;

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

bool IsBlank(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

Status TooMany(size_t count, size_t max_events) {
  return ResourceExhausted("batch has " + std::to_string(count) + " events; at most " + std::to_string(max_events) +
                           " are accepted in one request")
      .With("max_events", std::to_string(max_events));
}

Result<std::vector<ParsedLine>> ParseArrayBody(std::string_view body, size_t max_events) {
  if (auto bad = ingest_internal::InvalidUtf8Offset(body)) {
    return Unreadable("body", ingest_internal::InvalidUtf8Reason(*bad));
  }
  // One arena for the whole tree: freed at once when the batch is done.
  json::monotonic_resource memory(body.size() * 2);
  auto parser = std::make_unique<JsonTextParser>();
  std::string reason;
  const std::optional<json::value> value = parser->Parse(body, &memory, &reason);
  if (!value) return Unreadable("body", std::move(reason));
  const json::array& elements = value->get_array();  // the body starts with '['
  if (elements.size() > max_events) return TooMany(elements.size(), max_events);
  std::vector<ParsedLine> out;
  out.reserve(elements.size());
  const ParseOptions options;
  for (size_t i = 0; i < elements.size(); ++i) {
    out.push_back({static_cast<int>(i + 1), ingest_internal::EventFromJson(elements[i], options)});
  }
  return out;
}

Result<std::vector<ParsedLine>> ParseNdjsonBody(std::string_view body, size_t max_events) {
  // Count first, so that an oversized batch is refused before any work.
  size_t count = 0;
  for (size_t pos = 0; pos <= body.size();) {
    size_t end = body.find('\n', pos);
    if (end == std::string_view::npos) end = body.size();
    count += !IsBlank(body.substr(pos, end - pos));
    pos = end + 1;
  }
  if (count > max_events) return TooMany(count, max_events);
  std::vector<ParsedLine> out;
  out.reserve(count);
  auto parser = std::make_unique<JsonTextParser>();
  const ParseOptions options;
  int line = 0;
  for (size_t pos = 0; pos <= body.size();) {
    size_t end = body.find('\n', pos);
    if (end == std::string_view::npos) end = body.size();
    std::string_view text = body.substr(pos, end - pos);
    pos = end + 1;
    ++line;
    if (IsBlank(text)) continue;
    if (text.back() == '\r') text.remove_suffix(1);
    out.push_back({line, parser->ParseEvent(text, options)});
  }
  return out;
}

}  // namespace

Result<Event> ParseEvent(std::string_view json_text, const ParseOptions& options) {
  JsonTextParser parser;
  return parser.ParseEvent(json_text, options);
}

Result<MemberRef> ParseMemberField(std::string_view json_text) { return ingest_internal::MemberField(json_text); }

Result<std::vector<ParsedLine>> ParseEventBatch(std::string_view body, size_t max_events) {
  // Windows tools write a byte order mark; it is not part of the first event.
  if (body.starts_with(kUtf8Bom)) body.remove_prefix(kUtf8Bom.size());
  const size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return Unreadable("body", "is empty: expected a JSON array of events or one JSON object per line");
  }
  if (body[first] == '[') return ParseArrayBody(body, max_events);
  if (body[first] == '{') return ParseNdjsonBody(body, max_events);
  return Unreadable("body", "must be a JSON array of events or one JSON object per line (ndjson)");
}

class NdjsonEventReader::Impl {
 public:
  explicit Impl(std::istream& in) : in_(in) {}

  bool Next(ParsedLine* out) {
    for (;;) {
      bool too_long = false;
      if (!ReadLine(&too_long)) return false;
      ++line_;
      if (too_long) {
        *out = {line_, ingest_internal::BodyInvalid("line is longer than " + std::to_string(kMaxLineBytes) + " bytes")};
        return true;
      }
      std::string_view text = line_text_;
      if (line_ == 1 && text.starts_with(kUtf8Bom)) text.remove_prefix(kUtf8Bom.size());
      if (IsBlank(text)) continue;
      if (text.back() == '\r') text.remove_suffix(1);
      *out = {line_, parser_.ParseEvent(text, ParseOptions{})};
      return true;
    }
  }

 private:
  // Reads one line into line_text_ in chunks, so the buffer grows with the
  // longest line seen and never past kMaxLineBytes; false at the end.
  bool ReadLine(bool* too_long) {
    line_text_.clear();
    bool extracted_any = false;
    for (;;) {
      // getline stores up to kChunkBytes - 1 bytes; when it fills the chunk
      // before a newline it sets failbit with the rest of the line unread.
      in_.getline(chunk_, kChunkBytes);
      const auto extracted = static_cast<size_t>(in_.gcount());
      const bool chunk_full = in_.fail() && !in_.eof() && extracted == kChunkBytes - 1;
      if (extracted == 0 && !chunk_full && !in_.good() && !extracted_any) return false;
      extracted_any = true;
      // Without eof and a full chunk, the newline was extracted (counted, not stored).
      const size_t stored = chunk_full || in_.eof() ? extracted : extracted - 1;
      if (line_text_.size() + stored > kMaxLineBytes) {
        *too_long = true;
      } else {
        line_text_.append(chunk_, stored);
      }
      if (!chunk_full) return true;
      in_.clear();
    }
  }

  static constexpr size_t kChunkBytes = size_t{16} << 10;

  std::istream& in_;
  int line_ = 0;
  std::string line_text_;  // reused: its capacity stays with the longest line
  char chunk_[kChunkBytes];
  JsonTextParser parser_;
};

NdjsonEventReader::NdjsonEventReader(std::istream& in) : impl_(std::make_unique<Impl>(in)) {}
NdjsonEventReader::~NdjsonEventReader() = default;
bool NdjsonEventReader::Next(ParsedLine* out) { return impl_->Next(out); }

std::optional<std::string> CanonicalPhone(std::string_view phone) { return ingest_internal::NormalizePhone(phone); }

}  // namespace pond
