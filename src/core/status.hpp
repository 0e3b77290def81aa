// Status and Result: expected failures as values.
//
// A Status carries a canonical code, a message for the log, optional
// key/value context (member_id, order_id...) and optional field errors
// (`items[2].qty` → "must be > 0") that the HTTP layer turns into RFC 7807
// `errors`. Result<T> is a value or a non-OK Status (abseil StatusOr).
// Values are plain data: safe to copy and move between threads.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace pond {

enum class StatusCode {
  kOk,
  kInvalidArgument,     // bad input: a field is missing, malformed or out of range
  kNotFound,            // the tenant, member or object does not exist
  kAlreadyExists,       // creating something that is there
  kFailedPrecondition,  // valid input, wrong state (refund above what was paid)
  kConflict,            // a competing write won (sold out, already redeemed)
  kResourceExhausted,   // over a size or rate limit
  kUnauthenticated,     // no or unknown credentials
  kPermissionDenied,    // credentials without the right role or tenant
  kUnavailable,         // the store or a peer cannot be reached now; retry is safe
  kInternal,            // a bug or corrupted state
};

std::string_view StatusCodeName(StatusCode code);

struct FieldError {
  std::string field;   // JSON path as the client wrote it: "items[2].qty"
  std::string reason;  // "must be > 0"
  bool operator==(const FieldError&) const = default;
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::vector<std::pair<std::string, std::string>>& context() const { return context_; }
  const std::vector<FieldError>& field_errors() const { return field_errors_; }

  // Adds key=value context; returns *this so calls chain.
  Status& With(std::string key, std::string value) &;
  Status&& With(std::string key, std::string value) &&;
  Status& AddFieldError(std::string field, std::string reason);

  // "InvalidArgument: message [k=v, ...]" for logs.
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::vector<std::pair<std::string, std::string>> context_;
  std::vector<FieldError> field_errors_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status Conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status Unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// A single invalid field as a Status.
Status FieldInvalid(std::string field, std::string reason);
// Input that could not be read at all (not JSON, not UTF-8, not the shape
// a request has): InvalidArgument naming `field` ("body"), which the HTTP
// layer answers 400 rather than 422 (docs/api.md "Errors").
Status Unreadable(std::string field, std::string reason);
bool IsUnreadable(const Status& s);

// NotFound naming the field that named the missing thing ("member",
// "template_id", the path's "ref" or "id"), with `message` as its reason.
Status NotFoundField(std::string field, std::string message);

// A refusal by a business rule: Conflict with the one-word `reason` the
// API answers 409 with (CONTRACT.md: sold_out, limit_reached, ...).
Status Refusal(std::string_view reason, std::string message);
// The `reason` of a refusal; empty for any other status.
std::string ReasonOf(const Status& s);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok() && "Result needs a value or an error");
  }
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const& {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  Status status() && { return ok() ? Status() : std::get<Status>(std::move(v_)); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

namespace internal {
inline Status AsStatus(Status s) { return s; }
// Context pairs for RETURN_IF_ERROR: a key and a value (text or a number),
// as many as given.
inline Status AddContext(Status s) { return s; }
template <typename Value, typename... Rest>
Status AddContext(Status s, std::string key, const Value& value, const Rest&... rest) {
  if constexpr (std::is_arithmetic_v<Value>) {
    s.With(std::move(key), std::to_string(value));
  } else {
    s.With(std::move(key), std::string(value));
  }
  return AddContext(std::move(s), rest...);
}
template <typename T>
Status AsStatus(Result<T>&& r) {
  return std::move(r).status();
}
}  // namespace internal

}  // namespace pond

#define POND_CONCAT_INNER(a, b) a##b
#define POND_CONCAT(a, b) POND_CONCAT_INNER(a, b)

// Returns the Status of `expr` from the enclosing function if it is not OK,
// with the context pairs given after it added:
//   RETURN_IF_ERROR(store.Load(loader), "tenant", record.id);
#define RETURN_IF_ERROR(expr, ...)                                                                   \
  do {                                                                                               \
    ::pond::Status pond_status_ = ::pond::internal::AsStatus((expr));                                \
    if (!pond_status_.ok()) {                                                                        \
      return ::pond::internal::AddContext(std::move(pond_status_) __VA_OPT__(, ) __VA_ARGS__);       \
    }                                                                                                \
  } while (false)

// `ASSIGN_OR_RETURN(auto x, F());` binds the value or returns the error.
#define ASSIGN_OR_RETURN(lhs, expr) ASSIGN_OR_RETURN_IMPL(POND_CONCAT(pond_result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return std::move(tmp).status(); \
  lhs = std::move(tmp).value()
