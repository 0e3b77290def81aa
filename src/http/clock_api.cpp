// The clock tests can move (CONTRACT.md "Time that tests can move"):
// GET /api/v1/clock for everyone allowed to administer, and POST to move a
// manual clock forward. Moving answers only once every tenant has run the
// timed work due up to the new instant (RunDue: day runs, expiry, tier
// reviews, lifecycle), in time order.
#include <atomic>
#include <memory>
#include <string>

#include "core/json_writer.hpp"
#include "core/time.hpp"
#include "http/api_support.hpp"
#include "http/body_reader.hpp"

namespace pond {
namespace {

std::string ClockJson(const Ctx& ctx) {
  JsonWriter w;
  w.BeginObject()
      .Field("now", FormatRfc3339(ctx->engine.clock().Now(), TimeZone::Fixed(0)))
      .Field("mode", ctx->options.manual_clock ? "manual" : "system")
      .EndObject();
  return w.Take();
}

// The instant a POST asks for: {"advance":"P3DT2H"} or {"to":"RFC 3339"}.
Result<Timestamp> Target(const std::string& body, Timestamp now) {
  ASSIGN_OR_RETURN(BodyReader reader, BodyReader::Parse(body));
  const std::optional<std::string> advance = reader.Text("advance", false);
  const std::optional<std::string> to = reader.Text("to", false);
  RETURN_IF_ERROR(reader.Finish());
  if (advance.has_value() == to.has_value()) return FieldInvalid("advance", "give either advance or to");
  if (advance) {
    Result<int64_t> seconds = ParseDurationSeconds(*advance);
    if (!seconds.ok()) return FieldInvalid("advance", seconds.status().message());
    return now.PlusSeconds(*seconds);
  }
  Result<Timestamp> at = ParseRfc3339(*to);
  if (!at.ok()) return FieldInvalid("to", at.status().message());
  if (*at < now) return FieldInvalid("to", "is before the clock's " + FormatRfc3339(now, TimeZone::Fixed(0)) +
                                               ": the clock only moves forward");
  return *at;
}

}  // namespace

void AddClockRoutes(Router& router, const Ctx& ctx) {
  auto admin = [ctx](const HttpRequest& req, const Responder& respond) {
    auto who = ctx->keys.Authorize(req.Header("authorization"), req.remote_is_loopback, "", Access::kAdmin);
    if (!who.ok()) respond(ErrorResponse(who.status()));
    return who.ok();
  };
  router.Add("GET", "/api/v1/clock", [ctx, admin](HttpRequest&& req, const RouteParams&, Responder respond) {
    if (!admin(req, respond)) return;
    respond(Json(200, ClockJson(ctx)));
  });
  router.Add("POST", "/api/v1/clock", [ctx, admin](HttpRequest&& req, const RouteParams&, Responder respond) {
    if (!admin(req, respond)) return;
    ManualClock* clock = ctx->options.manual_clock;
    if (!clock) return respond(ErrorResponse(NotFound("the clock is the system's: only a server started with "
                                                      "--clock manual can move it")));
    Result<Timestamp> target = Target(req.body, clock->Now());
    if (!target.ok()) return respond(ErrorResponse(target.status()));
    clock->Set(*target);
    // Every tenant runs what fell due; the answer waits for the last one.
    auto tenants = ctx->engine.Tenants();
    if (tenants.empty()) return respond(Json(200, ClockJson(ctx)));
    auto left = std::make_shared<std::atomic<size_t>>(tenants.size());
    auto answer = std::make_shared<Responder>(std::move(respond));
    for (const auto& tenant : tenants) {
      tenant->Submit(TenantCommand{[](TenantState& s, Timestamp now) { return s.RunDue(now); },
                                   [ctx, left, answer](const Status&) {
                                     if (left->fetch_sub(1) == 1) (*answer)(Json(200, ClockJson(ctx)));
                                   },
                                   {Actor::System("clock"), {}}});
    }
  });
}

}  // namespace pond
