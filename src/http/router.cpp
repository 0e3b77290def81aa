#include "http/router.hpp"

#include <algorithm>
#include <cassert>
#include <cstdlib>

#include "core/log.hpp"

namespace pond {
namespace {

// "/a/b/" → {"a", "b", ""}; "/" → {""}. The leading '/' is checked by callers.
std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

[[noreturn]] void BadRoute(std::string_view why, std::string_view method, std::string_view pattern) {
  Log(LogLevel::kError, "bad route", {{"why", std::string(why)},
                                      {"method", std::string(method)},
                                      {"pattern", std::string(pattern)}});
  std::abort();
}

}  // namespace

const std::string& RouteParams::Get(std::string_view name) const {
  for (const auto& [key, value] : params_) {
    if (key == name) return value;
  }
  assert(false && "RouteParams::Get: the pattern has no such capture");
  static const std::string kEmpty;
  return kEmpty;
}

void Router::Add(std::string_view method, std::string_view pattern, Route route,
                 std::vector<std::string_view> query) {
  if (method.empty()) BadRoute("empty method", method, pattern);
  if (pattern.empty() || pattern.front() != '/') BadRoute("a pattern starts with '/'", method, pattern);
  Entry entry{std::string(method), std::string(pattern), {}, std::move(route), std::move(query)};
  for (std::string_view text : SplitPath(pattern)) {
    Segment segment;
    if (text.find_first_of("{}") != std::string_view::npos) {
      if (text.size() < 3 || text.front() != '{' || text.back() != '}' ||
          text.substr(1, text.size() - 2).find_first_of("{}") != std::string_view::npos) {
        BadRoute("a capture is a whole segment {name}", method, pattern);
      }
      text = text.substr(1, text.size() - 2);
      segment.capture = true;
      for (const Segment& earlier : entry.segments) {
        if (earlier.capture && earlier.text == text) BadRoute("capture name used twice", method, pattern);
      }
    }
    segment.text = std::string(text);
    entry.segments.push_back(std::move(segment));
  }
  for (const Entry& other : entries_) {
    bool same = other.method == entry.method && other.segments.size() == entry.segments.size() &&
                std::equal(other.segments.begin(), other.segments.end(), entry.segments.begin(),
                           [](const Segment& a, const Segment& b) {
                             return a.capture == b.capture && (a.capture || a.text == b.text);
                           });
    if (same) BadRoute("registered twice", method, pattern);
  }
  entries_.push_back(std::move(entry));
}

std::vector<std::pair<std::string, std::string>> Router::Routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Entry& entry : entries_) {
    std::string pattern;
    for (const Segment& segment : entry.segments) {
      pattern += "/" + (segment.capture ? "{" + segment.text + "}" : segment.text);
    }
    out.emplace_back(entry.method, std::move(pattern));
  }
  return out;
}

void Router::Dispatch(HttpRequest&& req, Responder respond) const {
  // Split the encoded path so "%2F" cannot create a segment boundary, then
  // decode each segment (the server has already rejected bad escapes).
  bool encoded = !req.raw_path.empty();
  std::string_view source = encoded ? req.raw_path : req.path;
  if (source.empty() || source.front() != '/') {
    return respond(ProblemResponse(404, "Not Found", "no endpoint at this path"));
  }
  std::vector<std::string_view> segments = SplitPath(source);
  std::vector<std::string> decoded;  // owns decoded segments; reserved so views stay valid
  decoded.reserve(segments.size());
  if (encoded) {
    for (std::string_view& segment : segments) {
      if (segment.find('%') == std::string_view::npos) continue;
      auto value = PercentDecode(segment, false);
      if (!value) {
        return respond(ProblemResponse(400, "Bad Request", "invalid percent-encoding in the request",
                                       {{"path", "invalid percent-encoding"}}));
      }
      segment = decoded.emplace_back(std::move(*value));
    }
  }

  auto matches = [&](const Entry& entry) {
    if (entry.segments.size() != segments.size()) return false;
    // From the end: routes share their leading "api/v1/tenants/{tenant}"
    // and differ last, so most entries are told apart at the first compare.
    for (size_t i = segments.size(); i-- > 0;) {
      const Segment& want = entry.segments[i];
      if (want.capture ? segments[i].empty() : segments[i] != want.text) return false;
    }
    return true;
  };
  // A literal at the earliest differing segment is more specific.
  auto more_specific = [](const Entry& a, const Entry& b) {
    for (size_t i = 0; i < a.segments.size(); ++i) {
      if (a.segments[i].capture != b.segments[i].capture) return !a.segments[i].capture;
    }
    return false;
  };

  const Entry* best = nullptr;
  std::vector<std::string_view> allowed;
  for (const Entry& entry : entries_) {
    if (!matches(entry)) continue;
    if (entry.method != req.method) {
      allowed.push_back(entry.method);
    } else if (best == nullptr || more_specific(entry, *best)) {
      best = &entry;
    }
  }

  if (best == nullptr && allowed.empty()) {
    return respond(ProblemResponse(404, "Not Found", "no endpoint at this path"));
  }
  if (best == nullptr) {
    std::sort(allowed.begin(), allowed.end());
    allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
    std::string allow;
    for (std::string_view method : allowed) {
      if (!allow.empty()) allow += ", ";
      allow += method;
    }
    HttpResponse response = ProblemResponse(
        405, "Method Not Allowed", "this endpoint does not accept " + req.method + "; it accepts " + allow);
    response.headers.emplace_back("Allow", std::move(allow));
    return respond(std::move(response));
  }

  std::vector<FieldError> unknown;
  for (const auto& [name, value] : req.query) {
    if (std::find(best->query.begin(), best->query.end(), name) != best->query.end()) continue;
    if (std::any_of(unknown.begin(), unknown.end(), [&](const FieldError& e) { return e.field == name; })) continue;
    std::string known;
    for (std::string_view q : best->query) known += (known.empty() ? "" : ", ") + std::string(q);
    unknown.push_back({name, known.empty() ? "is not a parameter of this endpoint (it takes none)"
                                           : "is not a parameter of this endpoint (it takes " + known + ")"});
  }
  if (!unknown.empty()) {
    return respond(ProblemResponse(422, "Invalid input", "unknown query parameter '" + unknown[0].field + "'",
                                   unknown));
  }

  Params params;
  for (size_t i = 0; i < segments.size(); ++i) {
    if (best->segments[i].capture) params.emplace_back(best->segments[i].text, std::string(segments[i]));
  }
  req.route = best->pattern;
  req.captures.assign(params.begin(), params.end());
  best->route(std::move(req), RouteParams(std::move(params)), std::move(respond));
}

}  // namespace pond
