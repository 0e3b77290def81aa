// Reads the fields of a JSON object for the domain modules' parsers
// (coupon templates, issue rules, activities): one reason per bad field,
// unknown fields refused. Include it only from .cpp files that link
// Boost::json (DESIGN.md: Boost stays in the few files that need it).
#pragma once

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/money.hpp"
#include "core/points.hpp"
#include "core/status.hpp"
#include "core/time.hpp"

namespace pond::json_fields {

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
  int32_t Int32(std::string_view field, int32_t absent = 0) {
    const int64_t v = Int(field, absent);
    if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
      Bad(field, "is out of range");
      return 0;
    }
    return static_cast<int32_t>(v);
  }
  // An amount in fen: 0 to Money::kMaxFen (docs/api.md "Limits").
  Money Fen(std::string_view field, int64_t absent = 0) {
    const int64_t fen = Int(field, absent);
    if (fen < 0 || fen > Money::kMaxFen) {
      Bad(field, "must be between 0 and " + std::to_string(Money::kMaxFen) + " fen");
      return Money::Fen(absent);
    }
    return Money::Fen(fen);
  }
  // Points one operation moves: 0 to kMaxPointsPerOperation.
  int64_t Points(std::string_view field) {
    const int64_t points = Int(field);
    if (points < 0 || points > kMaxPointsPerOperation) {
      Bad(field, "must be between 0 and " + std::to_string(kMaxPointsPerOperation));
      return 0;
    }
    return points;
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
      Bad(field, t.status().message());
      return std::nullopt;
    }
    if (std::string problem = InstantRangeProblem(*t); !problem.empty()) {
      Bad(field, std::move(problem));
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
  // `what`: "a coupon template", named in the reason.
  template <size_t N>
  void RefuseUnknown(const std::array<std::string_view, N>& known, std::string_view what) {
    for (const auto& [key, value] : o_) {
      if (std::find(known.begin(), known.end(), std::string_view(key)) == known.end()) {
        Bad(key, "is not a field of " + std::string(what));
      }
    }
  }

 private:
  const boost::json::object& o_;
  Status& errors_;
  std::string prefix_;
};

// A request body: one JSON object read by from_object(object).
template <typename FromObject>
auto ParseBody(std::string_view json, FromObject from_object) -> decltype(from_object(boost::json::object())) {
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  if (ec) return Unreadable("body", "is not JSON: " + ec.message());
  if (!v.is_object()) return Unreadable("body", "must be a JSON object");
  return from_object(v.as_object());
}

// A stored setting {"<key>": [objects]}, each read by from_object(object).
template <typename T, typename FromObject>
Result<std::vector<T>> ParseDocument(std::string_view json, std::string_view key, FromObject from_object) {
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  const std::string what(key);
  if (ec || !v.is_object() || !v.as_object().contains(key) || !v.as_object().at(key).is_array()) {
    return InvalidArgument("stored " + what + ": not a {\"" + what + "\": [...]} document");
  }
  std::vector<T> out;
  for (const boost::json::value& e : v.as_object().at(key).as_array()) {
    if (!e.is_object()) return InvalidArgument("stored " + what + ": an entry is not an object");
    ASSIGN_OR_RETURN(T parsed, from_object(e.as_object()));
    out.push_back(std::move(parsed));
  }
  return out;
}

}  // namespace pond::json_fields
