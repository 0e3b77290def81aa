// The activity routes (CONTRACT.md "Coupons and flash sales", extended):
// activities, claims on them, bargain cuts, and their reports.
#include "activities/activity_json.hpp"
#include "core/json_writer.hpp"
#include "engine/modules/activities_module.hpp"
#include "http/api_support.hpp"
#include "http/auth.hpp"
#include "http/body_reader.hpp"
#include "ingest/event_parser.hpp"

namespace pond {
namespace {

using activities::ActivityKind;

void WriteClaim(JsonWriter& w, const activities::Claim& c, const TenantState& s, Timestamp now) {
  const activities::ActivityBook& book = Activities(s).activity_book();
  const activities::Activity& a = *book.Find(c.activity_id);
  w.BeginObject().Field("claim_id", c.id).Field("activity_id", c.activity_id).Field("member_id", c.member);
  w.Field("at", FormatRfc3339(c.at, s.zone()));
  w.Field("state", activities::ClaimStateName(book.StateOf(c, now)));
  switch (a.kind) {
    case ActivityKind::kFlashSale:
      w.Field("price_fen", a.price.fen());
      break;
    case ActivityKind::kGroupBuy: {
      const activities::Claim& opener = *book.FindClaim(c.group);
      w.Field("price_fen", a.price.fen()).Field("group_id", c.group);
      w.Field("group_members", static_cast<int64_t>(opener.members.size())).Field("group_size", a.group_size);
      w.Field("deadline", FormatRfc3339(opener.deadline, s.zone()));
      break;
    }
    case ActivityKind::kBargain: {
      int64_t cut = 0;
      for (int64_t x : c.cuts) cut += x;
      w.Field("price_fen", a.list_price.fen() - cut).Field("target_fen", a.price.fen());
      w.Field("helpers", static_cast<int64_t>(c.helpers.size())).Field("helpers_needed", a.helpers);
      w.Key("cuts").BeginArray();
      for (size_t i = 0; i < c.cuts.size(); ++i) {
        w.BeginObject().Field("member_id", c.helpers[i]).Field("cut_fen", c.cuts[i]).EndObject();
      }
      w.EndArray().Field("deadline", FormatRfc3339(c.deadline, s.zone()));
      break;
    }
    case ActivityKind::kLuckyDraw:
      // Audit: roll = DrawRoll(seed, draw), shown with the seed once the draw
      // has ended — splitmix64 can be run backwards, so one roll shown while
      // it runs would give away the seed and every draw to come.
      w.Field("draw", c.draw);
      if (now >= a.ends_at) w.Field("roll", activities::Hex16(c.roll));
      if (c.prize >= 0) {
        w.Field("prize", a.prizes[static_cast<size_t>(c.prize)].name);
      } else {
        w.Key("prize").Null();
      }
      break;
    case ActivityKind::kPointsMall:
      w.Field("points", a.points);
      if (!a.sku.empty()) w.Field("sku", a.sku);
      break;
  }
  if (!c.coupon.empty()) w.Field("coupon", c.coupon);
  w.EndObject();
}

std::string ClaimJson(const activities::Claim& c, const TenantState& s, Timestamp now) {
  JsonWriter w;
  WriteClaim(w, c, s, now);
  return w.Take();
}

// The activity with its report: claims made and refused, stock, sell-out.
std::string ActivityJson(const activities::Activity& a, const TenantState& s, Timestamp now) {
  JsonWriter w;
  activities::WriteActivity(w, a, s.zone(), now >= a.ends_at);
  std::string out = w.Take();
  out.pop_back();
  const activities::Tally t = Activities(s).activity_book().TallyOf(a.id, now);
  int64_t refused = 0;
  for (const auto& [reason, n] : t.refused) refused += n;
  JsonWriter r;
  r.BeginObject().Field("claims", t.successes + refused).Field("successes", t.successes);
  r.Key("refused").BeginObject();
  for (const auto& [reason, n] : t.refused) r.Field(reason, n);
  r.EndObject().Field("taken", t.taken).Field("left", activities::StockOf(a) - t.taken);
  if (t.sold_out_at) {
    r.Field("sold_out_at", FormatRfc3339(*t.sold_out_at, s.zone()));
    r.Field("sold_out_after_seconds", (t.sold_out_at->micros() - a.starts_at.micros()) / 1'000'000);
  }
  if (a.kind == ActivityKind::kLuckyDraw) {
    r.Key("prizes_won").BeginObject();
    for (size_t i = 0; i < a.prizes.size(); ++i) r.Field(a.prizes[i].name, t.prizes_won[i]);
    r.EndObject();
  }
  if (a.kind == ActivityKind::kGroupBuy) {
    r.Key("groups").BeginObject().Field("open", t.groups_open).Field("complete", t.groups_complete);
    r.Field("failed", t.groups_failed).EndObject();
  }
  if (a.kind == ActivityKind::kBargain) {
    r.Key("bargains").BeginObject().Field("complete", t.bargains_complete).Field("helps", t.helps);
    r.Key("cuts_refused").BeginObject();
    for (const auto& [reason, n] : t.cuts_refused) r.Field(reason, n);
    r.EndObject().EndObject();
  }
  r.EndObject();
  // A commitment to the seed from the start: once the seed is shown, anyone
  // can check it is the one the results were drawn with all along.
  if (a.kind == ActivityKind::kLuckyDraw || a.kind == ActivityKind::kBargain) {
    out += ",\"seed_sha256\":\"" + Sha256Hex(activities::Hex16(a.seed)) + "\"";
  }
  return out + ",\"claimed\":" + std::to_string(t.successes) + ",\"report\":" + r.Take() + "}";
}

// {"member": {...}} and, to join a group, "group_id".
struct ClaimBody {
  MemberRef member;
  int64_t group = 0;
};

Result<ClaimBody> ParseClaimBody(const std::string& body, bool group) {
  ASSIGN_OR_RETURN(BodyReader r, BodyReader::Parse(body));
  ClaimBody out;
  if (group) out.group = r.Int("group_id", 1, int64_t{1} << 40).value_or(0);
  r.Take("member");
  auto member = ParseMemberField(body);
  if (member.ok()) {
    out.member = std::move(member).value();
  } else {
    r.Fail(member.status());
  }
  RETURN_IF_ERROR(r.Finish());
  return out;
}

void AddDefinitionRoutes(Router& router, const Ctx& ctx) {
  router.Add("POST", "/api/v1/tenants/{tenant}/activities",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kOperate, respond);
               if (!t) return;
               auto parsed = activities::ParseActivity(req.body);
               if (!parsed.ok()) return respond(ErrorResponse(parsed.status()));
               Write(t, req, std::move(respond), [a = std::move(parsed).value()](TenantState& s, Timestamp now) {
                 auto made = Activities(s).CreateActivity(a, now);
                 if (!made.ok()) return ErrorResponse(made.status());
                 return Json(201, ActivityJson(**made, s, now));
               });
             });
  router.Add("GET", "/api/v1/tenants/{tenant}/activities",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
               if (!t) return;
               const Timestamp now = ctx->engine.clock().Now();
               respond(Json(200, t->Read([&](const TenantState& s) {
                 std::string out = "{\"activities\":[";
                 for (const activities::Activity& a : Activities(s).activity_book().activities()) {
                   if (a.id > 1) out += ',';
                   out += ActivityJson(a, s, now);
                 }
                 return out + "]}";
               })));
             });
  router.Add("GET", "/api/v1/tenants/{tenant}/activities/{id}",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
               if (!t) return;
               const Timestamp now = ctx->engine.clock().Now();
               const std::optional<int64_t> id = PathId(p.Get("id"));
               auto body = t->Read([&](const TenantState& s) -> std::optional<std::string> {
                 const activities::Activity* a = id ? Activities(s).activity_book().Find(*id) : nullptr;
                 if (a == nullptr) return std::nullopt;
                 return ActivityJson(*a, s, now);
               });
               if (!body) return respond(ErrorResponse(NotFoundField("id", "no activity '" + p.Get("id") + "'")));
               respond(Json(200, std::move(*body)));
             });
}

void AddClaimRoutes(Router& router, const Ctx& ctx) {
  // A claim (CONTRACT.md): {"member": {...}}; a group buy's join adds
  // "group_id". 201 with the claim; 409 with the reason refused.
  router.Add("POST", "/api/v1/tenants/{tenant}/activities/{id}/claims",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kWrite, respond);
               if (!t) return;
               const std::optional<int64_t> id = PathId(p.Get("id"));
               if (!id) return respond(ErrorResponse(NotFoundField("id", "no activity '" + p.Get("id") + "'")));
               auto body = ParseClaimBody(req.body, true);
               if (!body.ok()) return respond(ErrorResponse(body.status()));
               Write(t, req, std::move(respond), [id = *id, body = *body](TenantState& s, Timestamp now) {
                 const MemberId member = s.members().Find(body.member);
                 if (!member) return ErrorResponse(NotFoundField("member", "no such member"));
                 auto claim = Activities(s).ClaimActivity(id, member, body.group, now);
                 if (!claim.ok()) return ErrorResponse(claim.status());
                 return Json(201, ClaimJson(**claim, s, now));
               });
             });
  // The claims of an activity in order, a page at a time: the audit trail
  // of a lucky draw (draw, roll, prize).
  router.Add("GET", "/api/v1/tenants/{tenant}/activities/{id}/claims",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
               if (!t) return;
               auto after = IntParam(req, "after", 0, 0, int64_t{1} << 40);
               auto limit = IntParam(req, "limit", 100, 1, 1000);
               if (!after.ok()) return respond(ErrorResponse(after.status()));
               if (!limit.ok()) return respond(ErrorResponse(limit.status()));
               const Timestamp now = ctx->engine.clock().Now();
               const std::optional<int64_t> id = PathId(p.Get("id"));
               auto body = t->Read([&](const TenantState& s) -> std::optional<std::string> {
                 if (!id || Activities(s).activity_book().Find(*id) == nullptr) return std::nullopt;
                 JsonWriter w;
                 w.BeginObject().Key("claims").BeginArray();
                 int64_t shown = 0, last = 0;
                 bool more = false;
                 for (const activities::Claim* c : Activities(s).activity_book().ClaimsOf(*id)) {
                   if (c->id <= *after) continue;
                   if (shown == *limit) {
                     more = true;
                     break;
                   }
                   WriteClaim(w, *c, s, now);
                   ++shown;
                   last = c->id;
                 }
                 w.EndArray();
                 if (more) w.Field("next_after", last);
                 w.EndObject();
                 return w.Take();
               });
               if (!body) return respond(ErrorResponse(NotFoundField("id", "no activity '" + p.Get("id") + "'")));
               respond(Json(200, std::move(*body)));
             }, {"after", "limit"});
  router.Add("GET", "/api/v1/tenants/{tenant}/activities/{id}/claims/{claim}",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
               if (!t) return;
               const Timestamp now = ctx->engine.clock().Now();
               const std::optional<int64_t> id = PathId(p.Get("id")), claim = PathId(p.Get("claim"));
               auto body = t->Read([&](const TenantState& s) -> std::optional<std::string> {
                 const activities::Claim* c = claim ? Activities(s).activity_book().FindClaim(*claim) : nullptr;
                 if (c == nullptr || !id || c->activity_id != *id) return std::nullopt;
                 return ClaimJson(*c, s, now);
               });
               if (!body) return respond(ErrorResponse(NotFoundField("claim", "no claim '" + p.Get("claim") + "' in this activity")));
               respond(Json(200, std::move(*body)));
             });
  // A helper's cut of a bargain: {"member": {...}} (a friend who is not a
  // member yet becomes one).
  router.Add("POST", "/api/v1/tenants/{tenant}/activities/{id}/claims/{claim}/cuts",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kWrite, respond);
               if (!t) return;
               const std::optional<int64_t> id = PathId(p.Get("id")), claim = PathId(p.Get("claim"));
               if (!id || !claim) return respond(ErrorResponse(NotFoundField("claim", "no bargain '" + p.Get("claim") + "'")));
               auto body = ParseClaimBody(req.body, false);
               if (!body.ok()) return respond(ErrorResponse(body.status()));
               Write(t, req, std::move(respond), [id = *id, claim = *claim, body = *body](TenantState& s, Timestamp now) {
                 const activities::Claim* c = Activities(s).activity_book().FindClaim(claim);
                 if (c == nullptr || c->activity_id != id) return ErrorResponse(NotFoundField("claim", "no bargain in this activity"));
                 auto helped = Activities(s).HelpBargain(claim, body.member, now);
                 if (!helped.ok()) return ErrorResponse(helped.status());
                 return Json(201, ClaimJson(**helped, s, now));
               });
             });
}

}  // namespace

void AddActivityRoutes(Router& router, const Ctx& ctx) {
  AddDefinitionRoutes(router, ctx);
  AddClaimRoutes(router, ctx);
  // Ends an activity early (claims from now on are refused "ended").
  AddIdAction(router, ctx, "/api/v1/tenants/{tenant}/activities/{id}/cancel", Access::kOperate,
              [](TenantState& s, int64_t id, Timestamp now) {
                auto a = Activities(s).CancelActivity(id, now);
                return a.ok() ? Json(200, ActivityJson(**a, s, now)) : ErrorResponse(a.status());
              });
}

}  // namespace pond
