// Api: Pond's HTTP/JSON interface (CONTRACT.md), mapped onto the engine.
//
// Routes: tenants, events, members (by every ref form, and a paged list),
// master data (stores, staff, products, categories), /healthz, /metrics and
// the OpenAPI document. Every mutating POST honours Idempotency-Key: the
// first answer is stored with the write, in the same commit, and replayed.
// Only this layer maps Status codes to HTTP statuses; what the client sees
// is kept apart from what is logged, and phone numbers are masked.
// Thread-safety: the handler may run on any number of io threads at once.
#pragma once

#include <cstddef>

#include "core/clock.hpp"
#include "engine/engine.hpp"
#include "http/auth.hpp"
#include "http/server.hpp"

namespace pond {

struct ApiOptions {
  size_t max_events_per_request = 100'000;  // more → 413
  // The engine's clock when the server runs on a manual one (--clock
  // manual), which POST /api/v1/clock moves; null on the system clock.
  ManualClock* manual_clock = nullptr;
};

// Builds the handler for an HttpServer. `engine` and `keys` outlive it.
HttpHandler MakeApiHandler(Engine& engine, KeyRing& keys, ApiOptions options = {});
// The routes that handler serves, as (method, pattern).
std::vector<std::pair<std::string, std::string>> ApiRoutes(Engine& engine, KeyRing& keys);

// The HTTP answer for a non-OK Status: RFC 7807 with its field errors.
HttpResponse ErrorResponse(const Status& status);

}  // namespace pond
