#include "core/status.hpp"

namespace pond {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "InvalidArgument";
    case StatusCode::kNotFound: return "NotFound";
    case StatusCode::kAlreadyExists: return "AlreadyExists";
    case StatusCode::kFailedPrecondition: return "FailedPrecondition";
    case StatusCode::kConflict: return "Conflict";
    case StatusCode::kResourceExhausted: return "ResourceExhausted";
    case StatusCode::kUnauthenticated: return "Unauthenticated";
    case StatusCode::kPermissionDenied: return "PermissionDenied";
    case StatusCode::kUnavailable: return "Unavailable";
    case StatusCode::kInternal: return "Internal";
  }
  return "Unknown";
}

Status& Status::With(std::string key, std::string value) & {
  context_.emplace_back(std::move(key), std::move(value));
  return *this;
}

Status&& Status::With(std::string key, std::string value) && {
  context_.emplace_back(std::move(key), std::move(value));
  return std::move(*this);
}

Status& Status::AddFieldError(std::string field, std::string reason) {
  field_errors_.push_back({std::move(field), std::move(reason)});
  return *this;
}

std::string Status::ToString() const {
  std::string out(StatusCodeName(code_));
  if (!message_.empty()) out += ": " + message_;
  for (const auto& fe : field_errors_) out += " {" + fe.field + ": " + fe.reason + "}";
  if (!context_.empty()) {
    out += " [";
    for (size_t i = 0; i < context_.size(); ++i) {
      if (i) out += ", ";
      out += context_[i].first + "=" + context_[i].second;
    }
    out += "]";
  }
  return out;
}

Status FieldInvalid(std::string field, std::string reason) {
  Status s = InvalidArgument(field + " " + reason);
  s.AddFieldError(std::move(field), std::move(reason));
  return s;
}

Status NotFoundField(std::string field, std::string message) {
  Status s = NotFound(message);
  s.AddFieldError(std::move(field), std::move(message));
  return s;
}

Status Unreadable(std::string field, std::string reason) {
  return FieldInvalid(std::move(field), std::move(reason)).With("input", "unreadable");
}

bool IsUnreadable(const Status& s) {
  if (s.code() != StatusCode::kInvalidArgument) return false;
  if (s.field_errors().empty()) return true;
  for (const auto& [key, value] : s.context()) {
    if (key == "input" && value == "unreadable") return true;
  }
  return false;
}

Status Refusal(std::string_view reason, std::string message) {
  return Conflict(std::move(message)).With("reason", std::string(reason));
}

std::string ReasonOf(const Status& s) {
  for (const auto& [key, value] : s.context()) {
    if (key == "reason") return value;
  }
  return "";
}

}  // namespace pond
