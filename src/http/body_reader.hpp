// BodyReader: a JSON request body read field by field, with one reason per
// bad field and unknown fields refused. Internal to the http module (the
// route files share it).
#pragma once

#include <boost/json.hpp>

#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "core/status.hpp"
#include "http/auth.hpp"
#include "tags/tag_book.hpp"

namespace pond {

// Reads a JSON object body field by field; every problem is collected, so
// one answer names every bad field, and keys nobody asked for are errors.
class BodyReader {
 public:
  static Result<BodyReader> Parse(const std::string& body) {
    boost::json::error_code ec;
    boost::json::value v = boost::json::parse(body, ec);
    if (ec) return Unreadable("body", "is not JSON: " + ec.message());
    if (!v.is_object()) return Unreadable("body", "must be a JSON object");
    return BodyReader(std::move(v));
  }

  std::optional<std::string> Text(std::string_view key, bool required) {
    const boost::json::value* v = Take(key);
    if (!v) {
      if (required) Fail(std::string(key), "is required");
      return std::nullopt;
    }
    if (!v->is_string()) {
      Fail(std::string(key), "must be a string");
      return std::nullopt;
    }
    return std::string(v->as_string());
  }

  std::optional<int64_t> Int(std::string_view key, int64_t lo, int64_t hi) {
    const boost::json::value* v = Take(key);
    if (!v) return std::nullopt;
    if (!v->is_int64() || v->as_int64() < lo || v->as_int64() > hi) {
      Fail(std::string(key), "must be an integer from " + std::to_string(lo) + " to " +
                                               std::to_string(hi));
      return std::nullopt;
    }
    return v->as_int64();
  }

  // Whether the body has `key` (not null); marks nothing as read.
  bool Has(std::string_view key) const {
    const boost::json::value* v = value_.as_object().if_contains(key);
    return v != nullptr && !v->is_null();
  }

  const boost::json::value* Take(std::string_view key) {
    taken_.insert(std::string(key));
    return value_.as_object().if_contains(key);
  }

  // One reason a field: the first found (a name that is not a string is
  // not also reported empty).
  void Fail(std::string field, std::string reason) {
    for (const auto& e : bad_.field_errors()) {
      if (e.field == field) return;
    }
    bad_.AddFieldError(std::move(field), std::move(reason));
  }
  // Adds the field errors of `s`, a check of values read.
  void Fail(const Status& s) {
    for (const auto& e : s.field_errors()) Fail(e.field, e.reason);
  }

  // A "by" the client writes is taken and ignored: who did something comes
  // from the request's actor (engine/actor.hpp), never from a body.
  void IgnoreBy() { Take("by"); }

  // Every problem found, unknown keys included, or OK.
  Status Finish() {
    for (const auto& [key, value] : value_.as_object()) {
      if (!taken_.count(std::string(key))) Fail(std::string(key), "unknown field");
    }
    return bad_.field_errors().empty() ? Status::Ok() : bad_;
  }

 private:
  explicit BodyReader(boost::json::value v) : value_(std::move(v)) {}
  boost::json::value value_;
  std::set<std::string> taken_;
  Status bad_ = InvalidArgument("invalid request");
};

}  // namespace pond
