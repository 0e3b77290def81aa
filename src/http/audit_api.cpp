// The audit trail over HTTP (CONTRACT.md "Actors and the audit trail"):
// which action each route records, what it names as the target, the
// entries of reveals and exports (committed before the data leaves), and
// GET .../audit for admins.
#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include <boost/json.hpp>

#include "core/json_writer.hpp"
#include "engine/actor.hpp"
#include "http/api_support.hpp"
#include "members/member_book.hpp"

namespace pond {
namespace {

// "<area>.<verb>" of every route that changes a tenant, or reveals or
// exports its members' data. Questions that change nothing (segment
// counts and samples, coupon quotes) record nothing. `body`: whether the
// request's body is the detail (else the command or the route notes one).
struct Action {
  std::string_view name;
  bool body = true;
};
const std::map<std::pair<std::string_view, std::string_view>, Action>& Actions() {
  static const std::map<std::pair<std::string_view, std::string_view>, Action> actions = {
      {{"POST", "/api/v1/tenants/{tenant}/events"}, {"events.ingest", false}},  // its counts
      {{"POST", "/api/v1/tenants/{tenant}/stores"}, {"stores.put"}},
      {{"POST", "/api/v1/tenants/{tenant}/staff"}, {"staff.put"}},
      {{"POST", "/api/v1/tenants/{tenant}/products"}, {"products.put"}},
      {{"POST", "/api/v1/tenants/{tenant}/categories"}, {"categories.put"}},
      {{"GET", "/api/v1/tenants/{tenant}/members/{ref}"}, {"members.reveal", false}},
      {{"GET", "/api/v1/tenants/{tenant}/members"}, {"members.reveal", false}},
      {{"POST", "/api/v1/tenants/{tenant}/members/{ref}/points/redeem"}, {"points.redeem"}},
      {{"POST", "/api/v1/tenants/{tenant}/members/{ref}/points/adjust"}, {"points.adjust"}},
      {{"PUT", "/api/v1/tenants/{tenant}/loyalty/config"}, {"loyalty.configure"}},
      {{"PATCH", "/api/v1/tenants/{tenant}/loyalty/config"}, {"loyalty.configure"}},
      {{"POST", "/api/v1/tenants/{tenant}/scheduler/run"}, {"scheduler.run"}},
      {{"POST", "/api/v1/tenants/{tenant}/segments/export"}, {"segments.export", false}},
      {{"POST", "/api/v1/tenants/{tenant}/segments/snapshots"}, {"snapshots.create"}},
      {{"POST", "/api/v1/tenants/{tenant}/segments/saved"}, {"saved_segments.create"}},
      {{"DELETE", "/api/v1/tenants/{tenant}/segments/saved/{id}"}, {"saved_segments.delete"}},
      {{"POST", "/api/v1/tenants/{tenant}/tags"}, {"tags.create"}},
      {{"PUT", "/api/v1/tenants/{tenant}/tags/{name}"}, {"tags.update"}},
      {{"DELETE", "/api/v1/tenants/{tenant}/tags/{name}"}, {"tags.delete"}},
      {{"POST", "/api/v1/tenants/{tenant}/tags/{name}/members"}, {"tags.tag_members"}},
      {{"POST", "/api/v1/tenants/{tenant}/coupon-templates"}, {"coupon_templates.create"}},
      {{"POST", "/api/v1/tenants/{tenant}/coupon-templates/{id}/retire"}, {"coupon_templates.retire"}},
      {{"POST", "/api/v1/tenants/{tenant}/coupons"}, {"coupons.issue"}},
      {{"POST", "/api/v1/tenants/{tenant}/coupons/bulk"}, {"coupons.issue_bulk"}},
      {{"POST", "/api/v1/tenants/{tenant}/coupons/{code}/lock"}, {"coupons.lock"}},
      {{"POST", "/api/v1/tenants/{tenant}/coupons/{code}/unlock"}, {"coupons.unlock"}},
      {{"POST", "/api/v1/tenants/{tenant}/coupons/{code}/redeem"}, {"coupons.redeem"}},
      {{"POST", "/api/v1/tenants/{tenant}/coupons/{code}/revoke"}, {"coupons.revoke"}},
      {{"POST", "/api/v1/tenants/{tenant}/coupon-rules"}, {"coupon_rules.create"}},
      {{"POST", "/api/v1/tenants/{tenant}/coupon-rules/{id}/deactivate"}, {"coupon_rules.deactivate"}},
      {{"POST", "/api/v1/tenants/{tenant}/coupon-rules/{id}/activate"}, {"coupon_rules.activate"}},
      {{"POST", "/api/v1/tenants/{tenant}/member-day/claims"}, {"member_day.claim"}},
      {{"POST", "/api/v1/tenants/{tenant}/activities"}, {"activities.create"}},
      {{"POST", "/api/v1/tenants/{tenant}/activities/{id}/cancel"}, {"activities.cancel"}},
      {{"POST", "/api/v1/tenants/{tenant}/activities/{id}/claims"}, {"activities.claim"}},
      {{"POST", "/api/v1/tenants/{tenant}/activities/{id}/claims/{claim}/cuts"}, {"activities.cut"}},
  };
  return actions;
}

// What a capture names, as "<what>:<value>" (a member by phone masked).
std::string TargetOf(const HttpRequest& req) {
  std::string target;
  for (const auto& [name, value] : req.captures) {
    if (name == "tenant") continue;
    std::string what = name == "ref" ? "member" : name == "name" ? "tag" : name == "code" ? "coupon" : name;
    if (name == "id") {  // the area the route is about: ".../activities/{id}" → activity
      const size_t at = req.route.find("/{id}");
      const size_t from = req.route.rfind('/', at - 1) + 1;
      what = req.route.substr(from, at - from);
    }
    std::string shown = name == "ref" && value.starts_with("phone:") ? "phone:" + MaskPhone(value.substr(6)) : value;
    target = what + ":" + shown;  // the last capture is the most specific
  }
  return target;
}

constexpr size_t kMaxBodyDetail = 2048;

}  // namespace

AuditNote AuditNoteOf(const HttpRequest& req) {
  const auto& actions = Actions();
  auto it = actions.find({req.method, req.route});
  if (it == actions.end()) return {};
  AuditNote note{std::string(it->second.name), TargetOf(req), {}};
  if (it->second.body && req.body.size() <= kMaxBodyDetail) {
    boost::system::error_code ec;
    const boost::json::value body = boost::json::parse(req.body, ec);
    if (!ec && body.is_object()) note.detail = boost::json::serialize(body);
  }
  if (note.detail.empty()) note.detail = "{\"bytes\":" + std::to_string(req.body.size()) + "}";
  return note;
}

void AuditOf(TenantState& s, const AuditNote& note, int status, Timestamp now) {
  std::string noted = s.TakeAuditDetail();
  if (note.action.empty() || status >= 300) return;
  s.Audit(note.action, note.target, noted.empty() ? note.detail : std::move(noted), now);
}

void AuditThen(const std::shared_ptr<TenantEngine>& tenant, const HttpRequest& req, std::string detail,
               std::function<HttpResponse(const TenantState&, Timestamp)> read, Responder respond) {
  AuditNote note = AuditNoteOf(req);
  note.detail = std::move(detail);
  CommandContext context = ContextOf(req);
  auto answer = std::make_shared<HttpResponse>();
  tenant->Submit(TenantCommand{
      [note = std::move(note), read = std::move(read), answer](TenantState& s, Timestamp now) {
        AuditOf(s, note, 200, now);
        *answer = read(s, now);
        return Slice::kDone;
      },
      [answer, respond = std::move(respond), id = context.request_id](const Status& committed) {
        HttpResponse r = committed.ok() ? std::move(*answer) : ErrorResponse(committed);
        r.headers.emplace_back("X-Request-Id", id);  // the entry's request id, as a write's answer has
        respond(std::move(r));
      },
      std::move(context)});
}

void AddAuditRoutes(Router& router, const Ctx& ctx) {
  router.Add("GET", "/api/v1/tenants/{tenant}/audit", [ctx](HttpRequest&& req, const RouteParams& p,
                                                            Responder respond) {
    auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kAdmin, respond);
    if (!t) return;
    Status bad = InvalidArgument("invalid query");
    auto limit = IntParam(req, "limit", 100, 1, 1000);
    auto cursor = IntParam(req, "cursor", 0, 0, INT64_MAX);
    if (!limit.ok()) bad.AddFieldError("limit", limit.status().field_errors()[0].reason);
    if (!cursor.ok()) bad.AddFieldError("cursor", cursor.status().field_errors()[0].reason);
    std::optional<Timestamp> since, until;
    for (auto [name, into] : {std::pair{"since", &since}, std::pair{"until", &until}}) {
      if (const std::string* v = req.Query(name)) {
        auto at = ParseRfc3339(*v);
        if (at.ok()) {
          *into = *at;
        } else {
          bad.AddFieldError(name, at.status().message());
        }
      }
    }
    if (!bad.field_errors().empty()) return respond(ErrorResponse(bad));
    const std::string* actor = req.Query("actor");
    const std::string* action = req.Query("action");
    const std::string* target = req.Query("target");
    respond(Json(200, t->Read([&](const TenantState& s) {
      JsonWriter w;
      w.BeginObject().Key("entries").BeginArray();
      int64_t shown = 0, last = 0;
      bool more = false;
      const auto& entries = s.audit();
      // Newest first; the cursor is the id below which the next page starts.
      for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
        const AuditRow& e = *it;
        if (*cursor && e.id >= *cursor) continue;
        const Actor who{static_cast<Actor::Kind>(e.actor_kind), e.actor_id, e.actor_by};
        if (actor && ActorText(who) != *actor) continue;
        if (action && e.action != *action && !(action->ends_with(".") && e.action.starts_with(*action))) continue;
        if (target && e.target != *target) continue;
        if (since && e.at < *since) continue;
        if (until && e.at >= *until) continue;
        if (shown == *limit) {
          more = true;
          break;
        }
        w.BeginObject().Field("id", e.id).Field("at", FormatRfc3339(e.at, s.zone()));
        w.Key("actor").BeginObject().Field("kind", ActorKindName(who.kind));
        if (!e.actor_id.empty()) w.Field("id", e.actor_id);
        if (!e.actor_by.empty()) w.Field("by", e.actor_by);
        w.EndObject();
        w.Field("action", e.action).Field("target", e.target).Field("request_id", e.request_id);
        w.Key("detail").Raw(e.detail).EndObject();
        ++shown;
        last = e.id;
      }
      w.EndArray().Key("next_cursor");
      if (more) {
        w.Int(last);
      } else {
        w.Null();
      }
      w.EndObject();
      return w.Take();
    })));
  }, {"actor", "action", "target", "since", "until", "limit", "cursor"});
}

}  // namespace pond
