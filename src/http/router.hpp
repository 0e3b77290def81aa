// Router: maps (method, path pattern) to a route, for the HttpServer handler.
//
// A pattern is a path of segments that match exactly or, written `{name}`,
// capture one non-empty segment, percent-decoded, so an encoded "/" (%2F)
// stays inside its capture. When several patterns match, the one with a
// literal at the earliest differing segment wins ("/members/search" beats
// "/members/{ref}"), whatever the order of Add. No matching path answers a 404
// problem; a matching path without the method answers 405 with an Allow
// header. A query parameter the route does not name in `query` answers 422
// naming it: a misspelt filter would otherwise return everything.
//
// Thread-safety: Add routes before serving; Dispatch is const and safe to call
// concurrently. The router must outlive the requests it dispatches (captured
// names point into it).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/server.hpp"

namespace pond {

// The values captured by a pattern's `{name}` segments.
class RouteParams {
 public:
  using Params = std::vector<std::pair<std::string_view, std::string>>;

  RouteParams() = default;
  explicit RouteParams(Params params) : params_(std::move(params)) {}

  // The value captured by `{name}`; asking for a name the pattern lacks is a
  // programmer error (asserts; an empty string in release builds).
  const std::string& Get(std::string_view name) const;
  // All captures in pattern order.
  const Params& all() const { return params_; }

 private:
  Params params_;
};

class Router {
 public:
  using Params = RouteParams::Params;
  using Route = std::function<void(HttpRequest&&, const RouteParams&, Responder)>;

  // Registers `route` for `method` and `pattern` ("/api/v1/tenants/{tenant}"),
  // taking the query parameters `query` and no others. A malformed pattern
  // or a duplicate registration stops the process: both are programmer
  // errors caught at start-up.
  void Add(std::string_view method, std::string_view pattern, Route route,
           std::vector<std::string_view> query = {});

  // Calls the matching route, or answers 404/405 through `respond`.
  void Dispatch(HttpRequest&& req, Responder respond) const;

  // Every route as (method, pattern), in the order added; for the check
  // that the OpenAPI document describes exactly the routes served.
  std::vector<std::pair<std::string, std::string>> Routes() const;

 private:
  struct Segment {
    std::string text;  // the literal, or the capture's name
    bool capture = false;
  };
  struct Entry {
    std::string method;
    std::string pattern;  // as added: "/api/v1/tenants/{tenant}/tags/{name}"
    std::vector<Segment> segments;
    Route route;
    std::vector<std::string_view> query;  // names of the parameters it takes
  };
  std::vector<Entry> entries_;
};

}  // namespace pond
