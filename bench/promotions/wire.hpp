// bench/promotions: the two wire formats the load generator speaks — HTTP/1.1
// to Pond and RESP (Redis serialization protocol) to Redis — as request
// builders and incremental reply parsers.
//
// Only what the benchmark needs: HTTP responses framed by Content-Length (Pond
// always sets it; chunked is refused), RESP replies of any type with arrays of
// scalars. A parser looks at the bytes received so far and either finds one
// whole reply at their start or asks for more; a reply's views point into
// those bytes, so they are valid until the caller consumes them.
// Pure functions, no state: safe from any thread.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace pond::bench {

enum class Wire { kHttp, kResp };

// One reply, as parsed from the receive buffer.
struct Reply {
  // HTTP: the status code and the body.
  int status = 0;
  std::string_view body;
  // RESP: the type byte ('+' simple, '-' error, ':' integer, '$' bulk, '*'
  // array) and the scalar values — an array's elements in order, or the one
  // scalar (a nil bulk string or nil element is an empty view).
  char type = 0;
  std::vector<std::string_view> values;
};

// How a parse of the bytes received so far went.
struct Parsed {
  enum Outcome { kWhole, kPartial, kMalformed } outcome = kPartial;
  size_t consumed = 0;  // kWhole: the bytes of the reply
  std::string error;    // kMalformed: what was wrong
};

// Finds one HTTP/1.1 response at the start of `in`.
Parsed ParseHttpResponse(std::string_view in, Reply& out);
// Finds one RESP reply at the start of `in`; nested arrays are refused.
Parsed ParseRespReply(std::string_view in, Reply& out);
// Dispatches on `wire`.
Parsed ParseReply(Wire wire, std::string_view in, Reply& out);

// Appends an HTTP/1.1 keep-alive request; `body` is sent with Content-Length
// when the method is not GET.
void AppendHttpRequest(std::string& out, std::string_view method, std::string_view path, std::string_view body = {},
                       std::string_view content_type = "application/json");
// Appends a RESP command: an array of bulk strings.
void AppendRespCommand(std::string& out, std::initializer_list<std::string_view> args);
void AppendRespCommand(std::string& out, const std::vector<std::string>& args);

}  // namespace pond::bench
