// bench/promotions: a closed-loop load generator on one thread.
//
// Drive() opens `connections` keep-alive TCP connections to one server and
// sends `count` requests over them, each connection one request at a time
// (send, wait for the whole reply, send the next: a closed loop, so the
// offered load is what the server can answer). Request i is built when a
// connection becomes free, in index order, and its reply is handed to the
// caller before the connection takes the next index. Each request's latency
// runs from the moment it is written to the moment its whole reply is parsed.
//
// A connection the server closes, a malformed reply or the deadline ends the
// run with an error; what was answered until then is still reported.
// Not thread-safe: one Drive at a time per thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "wire.hpp"

namespace pond::bench {

struct Endpoint {
  std::string host = "127.0.0.1";  // an IPv4 literal
  int port = 0;
};

struct LoadOptions {
  Endpoint endpoint;
  Wire wire = Wire::kHttp;
  int connections = 64;
  std::chrono::steady_clock::time_point deadline;
};

// Appends request `i` to `out`.
using RequestBuilder = std::function<void(size_t i, std::string& out)>;
// Sees the reply to request `i`; its views die when it returns.
using ReplyHandler = std::function<void(size_t i, const Reply& reply)>;

struct LoadResult {
  size_t answered = 0;
  double seconds = 0;                 // from the first send to the last reply
  std::vector<int64_t> latencies_ns;  // one per answered request, sorted
  std::string error;                  // non-empty: the run stopped early

  double RequestsPerSecond() const;
  // Nearest-rank percentile (0 < p <= 100) in milliseconds; 0 without replies.
  double PercentileMs(double p) const;
  double MaxMs() const;
};

LoadResult Drive(const LoadOptions& options, size_t count, const RequestBuilder& build, const ReplyHandler& on_reply);

// A reply that owns its bytes, for the few one-off calls of setup and checks.
struct OwnedReply {
  int status = 0;
  std::string body;
  char type = 0;
  std::vector<std::string> values;
  std::string error;  // non-empty: no reply (connection refused, malformed, deadline)
};

// Sends one request (already encoded) on a fresh connection and waits for its reply.
OwnedReply Call(const Endpoint& endpoint, Wire wire, std::string request,
                std::chrono::steady_clock::time_point deadline);

}  // namespace pond::bench
