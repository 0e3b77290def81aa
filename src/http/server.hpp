// HttpServer: the generic HTTP/1.1 server every Pond endpoint runs on.
//
// It parses requests (percent-decoded path and query, lower-cased header
// names), enforces the size limits of CONTRACT.md "Conventions" (413 for a
// body, 431 for headers, 400 for malformed HTTP, all as RFC 7807
// problem+json) and hands each request to one HttpHandler. The handler runs on
// an io thread and answers through a Responder that it may call later from any
// thread, e.g. the tenant writer after a durable commit; the server never
// crashes on a throwing handler (500) or a dropped Responder (500). Requests on
// one connection are served one after another (keep-alive, no pipelining).
//
// Beast and Asio stay inside server.cpp (pimpl) so includers compile fast.
// Thread-safety: Start/Stop/port/address are called from one owning thread,
// never from a handler (Stop joins the io threads); Responders are safe from
// any thread, also after Stop or destruction (the response is then dropped).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.hpp"

namespace pond {

struct HttpRequest {
  std::string method;  // "GET", "POST"...
  // Decoded path without query: "/api/v1/tenants/acme/members/phone:138...".
  std::string path;
  // The path as sent, still percent-encoded; Router splits this one so that an
  // encoded "/" (%2F) stays inside its segment. Empty when a request is built
  // by hand (tests); Router then uses `path`.
  std::string raw_path;
  std::vector<std::pair<std::string, std::string>> query;    // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string remote_address;  // "127.0.0.1", "::1"
  bool remote_is_loopback = false;
  // Set by Router::Dispatch: the pattern of the route it matched and what
  // its captures took ({name} → value), for the audit trail.
  std::string route;
  std::vector<std::pair<std::string, std::string>> captures;

  // The first header with this (lower-case) name, nullptr if absent.
  const std::string* Header(std::string_view lower_name) const;
  // The first query parameter with this name, nullptr if absent.
  const std::string* Query(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // When set, the body is this file instead: the server streams it from
  // disk and deletes it (a temporary file made for this response).
  std::string file;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// Sends the response; call exactly once, from any thread. Later calls are
// ignored; dropping it uncalled answers 500.
using Responder = std::function<void(HttpResponse)>;
using HttpHandler = std::function<void(HttpRequest&&, Responder)>;

struct HttpServerOptions {
  // host:port where host is an IP literal or "localhost"; IPv6 as [::1]:8080;
  // port 0 picks a free port.
  std::string listen = "127.0.0.1:8080";
  int threads = 2;
  size_t max_body_bytes = 64 << 20;    // larger → 413, body not read, connection closed
  size_t max_header_bytes = 16 << 10;  // larger → 431
  // Deadline for receiving a request's headers, and for each read or write
  // making progress; stops slowloris clients from holding connections.
  std::chrono::seconds idle_timeout{60};
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();  // Stops.
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the io threads. InvalidArgument for a bad
  // listen string, Unavailable if the bind fails (the message names the
  // address); FailedPrecondition if called twice.
  Status Start();
  // The bound port; 0 before Start.
  int port() const;
  // The bound address as "127.0.0.1:PORT" or "[::1]:PORT".
  std::string address() const;
  // Stops accepting, closes connections and joins the io threads; pending
  // responses are dropped. Idempotent.
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// An RFC 7807 application/problem+json response:
// {"type":"about:blank","title","status","detail","errors":[{"field","reason"}]},
// with "reason" (out_of_stock, already_redeemed, ...) when a refusal has one.
// `errors` is always present so clients need not check for it.
HttpResponse ProblemResponse(int status, std::string_view title, std::string_view detail,
                             const std::vector<FieldError>& errors = {}, std::string_view reason = {});

// Decodes %XX escapes (and '+' as space when `plus_is_space`, the query
// convention); nullopt on a '%' not followed by two hex digits.
std::optional<std::string> PercentDecode(std::string_view in, bool plus_is_space);

}  // namespace pond
