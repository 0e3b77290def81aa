#include "http/api.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>

#include "core/hash_index.hpp"
#include "core/json_writer.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "engine/ingest.hpp"
#include "http/api_support.hpp"
#include "http/body_reader.hpp"
#include "http/openapi.hpp"
#include "http/render.hpp"
#include "http/router.hpp"
#include "ingest/event_parser.hpp"

namespace pond {
namespace {

namespace json = boost::json;

// The stored answer for a request that repeats an Idempotency-Key: the
// first answer when the body is the same, 422 when the key was used for a
// different request (answers stored before digests were kept replay as is).
HttpResponse Replay(const IdempotencyRow& row, uint64_t request_digest) {
  if (row.request_digest != 0 && row.request_digest != request_digest) {
    return ErrorResponse(FieldInvalid("Idempotency-Key", "was used for a different request body"));
  }
  return Json(row.status, row.body);
}

}  // namespace

HttpResponse Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// Another node holds the tenant's lease (several nodes on one PostgreSQL):
// 409 naming it, in the body and in Pond-Owner, so a client or a proxy can
// go there instead.
HttpResponse NotOwnerResponse(const std::string& tenant, const Engine::Owner& owner) {
  JsonWriter w;
  w.BeginObject()
      .Field("type", "about:blank")
      .Field("title", "Served by another node")
      .Field("status", 409)
      .Field("detail", "tenant '" + tenant + "' is served by node " + owner.node +
                           (owner.address.empty() ? std::string() : " at " + owner.address))
      .Field("reason", "not_owner");
  w.Key("owner").BeginObject().Field("node", owner.node).Field("address", owner.address).EndObject();
  w.Key("errors").BeginArray().EndArray().EndObject();
  HttpResponse r;
  r.status = 409;
  r.content_type = "application/problem+json";
  r.body = w.Take();
  if (!owner.address.empty()) r.headers.emplace_back("Pond-Owner", owner.address);
  return r;
}

std::shared_ptr<TenantEngine> TenantFor(const Ctx& ctx, const HttpRequest& req, const std::string& tenant,
                                        Access access, const Responder& respond, Role* role) {
  auto who = ctx->keys.Authorize(req.Header("authorization"), req.remote_is_loopback, tenant, access);
  if (!who.ok()) {
    respond(ErrorResponse(who.status()));
    return nullptr;
  }
  if (role) *role = *who;
  auto t = ctx->engine.Tenant(tenant);
  if (t) return t;
  if (ctx->engine.Loading(tenant)) {
    // Expected while a tenant loads, so not logged as a failure.
    HttpResponse r = ProblemResponse(503, "Unavailable", "tenant '" + tenant + "' is loading; retry shortly");
    r.headers.emplace_back("Retry-After", "1");
    respond(std::move(r));
  } else if (auto owner = ctx->engine.OwnerOf(tenant)) {
    respond(NotOwnerResponse(tenant, *owner));
  } else {
    respond(ErrorResponse(NotFoundField("tenant", "no tenant '" + tenant + "'").With("tenant", tenant)));
  }
  return nullptr;
}

CommandContext ContextOf(const HttpRequest& req) {
  CommandContext c;
  // Authorized before (TenantFor): a key names its id, no key is the local operator.
  const std::string* auth = req.Header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  c.actor = auth && auth->starts_with(kBearer) ? Actor::Key(KeyRing::IdOf(std::string_view(*auth).substr(kBearer.size())))
                                               : Actor::Local();
  // The client's X-Request-Id when it is a sane one, else one of ours.
  const std::string* given = req.Header("x-request-id");
  const bool sane = given && !given->empty() && given->size() <= 100 &&
                    std::all_of(given->begin(), given->end(), [](char ch) { return ch > ' ' && ch < 127; });
  if (sane) {
    c.request_id = *given;
  } else {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(rng()));
    c.request_id = hex;
  }
  return c;
}

void Write(const std::shared_ptr<TenantEngine>& tenant, const HttpRequest& req, Responder respond,
           std::function<std::optional<HttpResponse>(TenantState&, Timestamp)> work, Slice more) {
  std::string key;
  const uint64_t digest = HashKey(req.body);
  if (const std::string* k = req.Header("idempotency-key")) {
    if (k->empty() || k->size() > 200) {
      respond(ErrorResponse(FieldInvalid("Idempotency-Key", "must be 1-200 characters")));
      return;
    }
    // Looked up on the writer, not here: a reader may see a stored answer
    // whose commit has not finished (and may yet fail), and a replay must
    // not answer before the original is durable.
    key = req.method + " " + req.path + " " + *k;
  }
  auto answer = std::make_shared<HttpResponse>();
  CommandContext context = ContextOf(req);
  tenant->Submit(TenantCommand{
      [answer, key, digest, audited = AuditNoteOf(req), work = std::move(work), more, begun = false](
          TenantState& s, Timestamp now) mutable {
        const IdempotencyRow* row = key.empty() || begun ? nullptr : s.FindIdempotent(key, now);
        begun = true;
        if (row) {
          *answer = Replay(*row, digest);
          answer->headers.emplace_back("Idempotent-Replayed", "true");
          return Slice::kDone;
        }
        std::optional<HttpResponse> done = work(s, now);
        if (!done) return more;
        *answer = std::move(*done);
        AuditOf(s, audited, answer->status, now);
        if (!key.empty() && answer->status < 500) {
          s.RememberIdempotent({key, answer->status, answer->body, now, digest});
        }
        return Slice::kDone;
      },
      [answer, respond = std::move(respond), request_id = context.request_id](const Status& committed) {
        HttpResponse r = committed.ok() ? std::move(*answer) : ErrorResponse(committed);
        r.headers.emplace_back("X-Request-Id", request_id);
        respond(std::move(r));
      },
      context});
}

Result<MemberRef> ParseMemberRef(const std::string& ref) {
  MemberRef out;
  const auto colon = ref.find(':');
  if (colon == std::string::npos) {
    int64_t id = 0;
    const bool digits = !ref.empty() && ref.size() <= 18 &&
                        std::all_of(ref.begin(), ref.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || (id = std::stoll(ref)) <= 0) {
      return FieldInvalid("ref", "must be a member_id or phone:, unionid:, ext:, pos: followed by the identity");
    }
    out.member_id = id;
    return out;
  }
  const std::string prefix = ref.substr(0, colon), value = ref.substr(colon + 1);
  std::optional<IdentityKind> kind;
  if (prefix == "phone") kind = IdentityKind::kPhone;
  if (prefix == "unionid") kind = IdentityKind::kUnionid;
  if (prefix == "ext" || prefix == "external_userid") kind = IdentityKind::kExternalUserid;
  if (prefix == "pos" || prefix == "pos_id") kind = IdentityKind::kPosId;
  if (!kind) return FieldInvalid("ref", "unknown identity kind '" + prefix + "' (phone, unionid, ext, pos)");
  if (value.empty()) return FieldInvalid("ref", "is missing the identity after '" + prefix + ":'");
  if (*kind == IdentityKind::kPhone) {
    auto phone = CanonicalPhone(value);
    if (!phone) return FieldInvalid("ref", "is not a phone number (11-digit mainland mobile or E.164)");
    out.identities.push_back({*kind, std::move(*phone)});
    return out;
  }
  out.identities.push_back({*kind, value});
  return out;
}

std::optional<int64_t> PathId(const std::string& text) {
  if (text.empty() || text.size() > 15 || text[0] == '0') return std::nullopt;
  int64_t v = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return std::nullopt;
    v = v * 10 + (ch - '0');
  }
  return v;
}

Result<int64_t> IntParam(const HttpRequest& req, std::string_view name, int64_t fallback, int64_t lo, int64_t hi) {
  const std::string* v = req.Query(name);
  if (!v) return fallback;
  const bool digits = !v->empty() && v->size() <= 18 &&
                      std::all_of(v->begin(), v->end(), [](char c) { return c >= '0' && c <= '9'; });
  const int64_t n = digits ? std::stoll(*v) : -1;
  if (!digits || n < lo || n > hi) {
    return FieldInvalid(std::string(name), "must be an integer from " + std::to_string(lo) + " to " +
                                               std::to_string(hi));
  }
  return n;
}

void AddIdAction(Router& router, const Ctx& ctx, std::string_view pattern, Access access, IdAction act) {
  router.Add("POST", pattern, [ctx, access, act](HttpRequest&& req, const RouteParams& p, Responder respond) {
    auto t = TenantFor(ctx, req, p.Get("tenant"), access, respond);
    if (!t) return;
    if (!req.body.empty() && req.body != "{}") return respond(ErrorResponse(Unreadable("body", "must be empty or {}")));
    const std::optional<int64_t> id = PathId(p.Get("id"));
    if (!id) return respond(ErrorResponse(NotFoundField("id", "no '" + p.Get("id") + "' here")));
    Write(t, req, std::move(respond), [act, id = *id](TenantState& s, Timestamp now) { return act(s, id, now); });
  });
}

Result<bool> RevealPhones(const HttpRequest& req, Role role) {
  const std::string* reveal = req.Query("reveal");
  if (reveal == nullptr) return false;
  if (*reveal != "phone") return FieldInvalid("reveal", "must be phone: the only personal field shown masked");
  return role == Role::kAdmin;
}

namespace {

// Parses a batch body (ndjson or a JSON array) and applies it.
void IngestBody(const Ctx& ctx, const std::shared_ptr<TenantEngine>& tenant, const HttpRequest& req,
                Responder respond, std::string_view body) {
  auto lines = ParseEventBatch(body, ctx->options.max_events_per_request);
  if (!lines.ok()) {
    respond(ErrorResponse(lines.status()));
    return;
  }
  auto parsed = std::make_shared<std::vector<ParsedLine>>(std::move(lines).value());
  // The command holds the metrics, not the TenantEngine: a command must never
  // own its writer, or the writer could end up joining itself.
  TenantMetrics* metrics = &tenant->metrics();
  // In slices: a 100 000-event POST would keep readers out for a second.
  auto result = std::make_shared<IngestResult>();
  Write(tenant, req, std::move(respond),
        [parsed, metrics, result, next = size_t{0}](TenantState& s, Timestamp now) mutable
        -> std::optional<HttpResponse> {
          if (ApplyEventLines(s, *parsed, now, *result, next) == Slice::kMore) return std::nullopt;
          metrics->events_accepted += result->accepted;
          metrics->events_duplicate += result->duplicates;
          metrics->events_rejected += static_cast<int64_t>(result->rejected.size());
          s.NoteAuditDetail("{\"accepted\":" + std::to_string(result->accepted) + ",\"duplicates\":" +
                            std::to_string(result->duplicates) + ",\"rejected\":" +
                            std::to_string(result->rejected.size()) + "}");
          return Json(200, IngestResultJson(*result));
        });
}

// Master data POSTs take one object or an array of them; each becomes an
// event of `type` so it is validated and applied exactly like ingestion.
void IngestMasterData(const Ctx& ctx, const std::shared_ptr<TenantEngine>& tenant, const HttpRequest& req,
                      Responder respond, std::string_view type) {
  json::error_code ec;
  json::value v = json::parse(req.body, ec);
  if (ec || !(v.is_object() || v.is_array())) {
    respond(ErrorResponse(Unreadable("body", "must be a JSON object or an array of objects")));
    return;
  }
  std::string ndjson;
  auto add = [&](json::value& item) {
    if (item.is_object()) item.as_object()["type"] = type;
    ndjson += json::serialize(item);
    ndjson.push_back('\n');
  };
  if (v.is_array()) {
    for (json::value& item : v.as_array()) add(item);
  } else {
    add(v);
  }
  IngestBody(ctx, tenant, req, std::move(respond), ndjson);
}

void AddTenantRoutes(Router& router, const Ctx& ctx) {
  router.Add("POST", "/api/v1/tenants", [ctx](HttpRequest&& req, const RouteParams&, Responder respond) {
    if (auto who = ctx->keys.Authorize(req.Header("authorization"), req.remote_is_loopback, "", Access::kAdmin);
        !who.ok()) {
      return respond(ErrorResponse(who.status()));
    }
    auto reader = BodyReader::Parse(req.body);
    if (!reader.ok()) return respond(ErrorResponse(reader.status()));
    TenantRecord t;
    t.id = reader->Text("id", true).value_or("");
    t.name = reader->Text("name", false).value_or("");
    t.timezone = reader->Text("timezone", false).value_or("");
    if (Status bad = reader->Finish(); !bad.ok()) return respond(ErrorResponse(bad));
    auto created = ctx->engine.CreateTenant(t);
    if (!created.ok()) return respond(ErrorResponse(created.status()));
    auto tenant = ctx->engine.Tenant(created->tenant.id);
    respond(Json(201, tenant->Read([](const TenantState& s) { return TenantJson(s); })));
  });
  router.Add("GET", "/api/v1/tenants", [ctx](HttpRequest&& req, const RouteParams&, Responder respond) {
    if (auto who = ctx->keys.Authorize(req.Header("authorization"), req.remote_is_loopback, "", Access::kRead);
        !who.ok()) {
      return respond(ErrorResponse(who.status()));
    }
    JsonWriter w;
    w.BeginObject().Key("tenants").BeginArray();
    for (const auto& t : ctx->engine.Tenants()) w.Raw(t->Read([](const TenantState& s) { return TenantJson(s); }));
    w.EndArray().EndObject();
    respond(Json(200, w.Take()));
  });
  // Deleting a tenant removes all its data for good: the request must name
  // it twice (?confirm=<tenant>), and it is logged as an audit line.
  router.Add("DELETE", "/api/v1/tenants/{tenant}", [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
    auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kAdmin, respond);
    if (!t) return;
    t.reset();
    const std::string* confirm = req.Query("confirm");
    if (confirm == nullptr || *confirm != p.Get("tenant")) {
      return respond(ErrorResponse(FieldInvalid("confirm", "must repeat the tenant id: deleting removes all its data")));
    }
    if (Status s = ctx->engine.DeleteTenant(p.Get("tenant")); !s.ok()) return respond(ErrorResponse(s));
    Log(LogLevel::kInfo, "audit: tenant deleted", {{"tenant", p.Get("tenant")}, {"remote", req.remote_address}});
    HttpResponse r;
    r.status = 204;
    respond(std::move(r));
  }, {"confirm"});
  router.Add("GET", "/api/v1/tenants/{tenant}", [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
    auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
    if (!t) return;
    respond(Json(200, t->Read([](const TenantState& s) { return TenantSummaryJson(s); })));
  });
}

// API keys, made and revoked on a running server (admin keys of every
// tenant, or loopback): the secret is answered once and stored as a hash.
void AddKeyRoutes(Router& router, const Ctx& ctx) {
  auto admin = [ctx](const HttpRequest& req, const Responder& respond) {
    auto who = ctx->keys.Authorize(req.Header("authorization"), req.remote_is_loopback, "", Access::kAdmin);
    if (!who.ok()) respond(ErrorResponse(who.status()));
    return who.ok();
  };
  auto key_json = [](JsonWriter& w, const ApiKeyRecord& k) {
    w.BeginObject().Field("id", k.id).Field("tenant", k.tenant).Field("role", RoleName(k.role));
    w.Field("created_at", FormatRfc3339(k.created_at, TimeZone::Fixed(0))).EndObject();
  };
  router.Add("POST", "/api/v1/keys", [ctx, admin, key_json](HttpRequest&& req, const RouteParams&, Responder respond) {
    if (!admin(req, respond)) return;
    auto reader = BodyReader::Parse(req.body);
    if (!reader.ok()) return respond(ErrorResponse(reader.status()));
    const std::string tenant = reader->Text("tenant", false).value_or("*");
    const std::string role_name = reader->Text("role", true).value_or("");
    const std::optional<Role> role = RoleFromName(role_name);
    if (!role_name.empty() && !role) reader->Fail("role", "must be admin, operator, analyst or integration");
    if (tenant != "*") {
      auto known = ctx->engine.store().ListTenants();
      if (!known.ok()) return respond(ErrorResponse(known.status()));
      if (std::none_of(known->begin(), known->end(), [&](const TenantRecord& t) { return t.id == tenant; })) {
        reader->Fail("tenant", "no tenant '" + tenant + "' (or * for every tenant)");
      }
    }
    if (Status bad = reader->Finish(); !bad.ok()) return respond(ErrorResponse(bad));
    auto secret = ctx->keys.Create(tenant, *role, ctx->engine.clock().Now());
    if (!secret.ok()) return respond(ErrorResponse(secret.status()));
    Log(LogLevel::kInfo, "audit: api key created", {{"key_id", KeyRing::IdOf(*secret)}, {"tenant", tenant},
                                                     {"role", role_name}, {"remote", req.remote_address}});
    JsonWriter w;
    w.BeginObject().Field("id", KeyRing::IdOf(*secret)).Field("key", *secret).Field("tenant", tenant);
    w.Field("role", role_name).EndObject();
    respond(Json(201, w.Take()));
  });
  router.Add("GET", "/api/v1/keys", [ctx, admin, key_json](HttpRequest&& req, const RouteParams&, Responder respond) {
    if (!admin(req, respond)) return;
    JsonWriter w;
    w.BeginObject().Key("keys").BeginArray();
    for (const ApiKeyRecord& k : ctx->keys.List()) key_json(w, k);
    w.EndArray().EndObject();
    respond(Json(200, w.Take()));
  });
  router.Add("DELETE", "/api/v1/keys/{id}", [ctx, admin](HttpRequest&& req, const RouteParams& p, Responder respond) {
    if (!admin(req, respond)) return;
    Status revoked = ctx->keys.Revoke(p.Get("id"));
    if (revoked.code() == StatusCode::kNotFound) revoked = NotFoundField("id", "no key '" + p.Get("id") + "'");
    if (!revoked.ok()) return respond(ErrorResponse(revoked));
    Log(LogLevel::kInfo, "audit: api key revoked", {{"key_id", p.Get("id")}, {"remote", req.remote_address}});
    HttpResponse r;
    r.status = 204;
    respond(std::move(r));
  });
}

void AddEventRoutes(Router& router, const Ctx& ctx) {
  router.Add("POST", "/api/v1/tenants/{tenant}/events",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kWrite, respond);
               if (!t) return;
               IngestBody(ctx, t, req, std::move(respond), req.body);
             });
  struct Kind {
    const char* path;
    const char* type;
  };
  for (Kind k : {Kind{"stores", "store"}, Kind{"staff", "staff"}, Kind{"products", "product"},
                 Kind{"categories", "category"}}) {
    const std::string path = std::string("/api/v1/tenants/{tenant}/") + k.path;
    router.Add("POST", path, [ctx, k](HttpRequest&& req, const RouteParams& p, Responder respond) {
      auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kWrite, respond);
      if (!t) return;
      IngestMasterData(ctx, t, req, std::move(respond), k.type);
    });
    router.Add("GET", path, [ctx, k](HttpRequest&& req, const RouteParams& p, Responder respond) {
      auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
      if (!t) return;
      respond(Json(200, t->Read([&](const TenantState& s) { return MasterDataJson(s.master(), k.type); })));
    });
  }
}

void AddMemberRoutes(Router& router, const Ctx& ctx) {
  router.Add("GET", "/api/v1/tenants/{tenant}/members/{ref}",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               Role role = Role::kAnalyst;
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond, &role);
               if (!t) return;
               auto ref = ParseMemberRef(p.Get("ref"));
               if (!ref.ok()) return respond(ErrorResponse(ref.status()));
               const Result<bool> reveal = RevealPhones(req, role);
               if (!reveal.ok()) return respond(ErrorResponse(reveal.status()));
               auto read = [ref = *ref, reveal = *reveal, text = p.Get("ref")](const TenantState& s, Timestamp now) {
                 const MemberId id = s.members().Find(ref);
                 if (!id) return ErrorResponse(NotFoundField("ref", "no member '" + text + "'"));
                 return Json(200, MemberJson(s, id, ref.member_id.value_or(0), reveal, now));
               };
               // A phone shown whole is audited first (the entry is durable before it leaves).
               if (*reveal) return AuditThen(t, req, R"({"reveal":"phone"})", read, std::move(respond));
               const Timestamp now = ctx->engine.clock().Now();
               respond(t->Read([&](const TenantState& s) { return read(s, now); }));
             }, {"reveal"});
  router.Add("GET", "/api/v1/tenants/{tenant}/members", [ctx](HttpRequest&& req, const RouteParams& p,
                                                              Responder respond) {
    Role role = Role::kAnalyst;
    auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond, &role);
    if (!t) return;
    MemberFilter filter;
    Status bad = InvalidArgument("invalid query");
    auto limit = IntParam(req, "limit", 50, 1, 1000);
    auto after = IntParam(req, "after", 0, 0, int64_t{1} << 40);
    if (!limit.ok()) bad.AddFieldError("limit", limit.status().field_errors()[0].reason);
    if (!after.ok()) bad.AddFieldError("after", after.status().field_errors()[0].reason);
    for (auto [name, into] : {std::pair{"city", &filter.city}, {"home_store", &filter.home_store},
                              {"source", &filter.source}, {"owner_staff", &filter.owner_staff}}) {
      if (const std::string* v = req.Query(name)) *into = *v;
    }
    if (const std::string* g = req.Query("gender")) {
      filter.gender = GenderFromName(*g);
      if (!filter.gender) bad.AddFieldError("gender", "must be female, male or unknown");
    }
    if (const std::string* h = req.Query("has_orders")) {
      if (*h != "true" && *h != "false") bad.AddFieldError("has_orders", "must be true or false");
      filter.has_orders = *h == "true";
    }
    const Result<bool> reveal = RevealPhones(req, role);
    if (!reveal.ok()) bad.AddFieldError("reveal", reveal.status().field_errors()[0].reason);
    if (!bad.field_errors().empty()) return respond(ErrorResponse(bad));
    auto read = [filter, after = *after, limit = *limit, reveal = *reveal](const TenantState& s, Timestamp now) {
      return Json(200, MemberPageJson(s, filter, after, limit, reveal, now));
    };
    if (*reveal) {
      return AuditThen(t, req, R"({"reveal":"phone","after":)" + std::to_string(*after) + R"(,"limit":)" +
                                   std::to_string(*limit) + "}",
                       read, std::move(respond));
    }
    const Timestamp now = ctx->engine.clock().Now();
    respond(t->Read([&](const TenantState& s) { return read(s, now); }));
  }, {"limit", "after", "city", "home_store", "source", "owner_staff", "gender", "has_orders", "reveal"});
}

// A points request: {"points": N, "<text_field>": "..."}; every problem is
// named by field.
struct PointsRequest {
  int64_t points = 0;
  std::string text;
};

// Redemptions spend (points > 0); adjustments add or remove (points != 0).
Result<PointsRequest> ParsePointsRequest(const std::string& body, std::string_view text_field, bool spend) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return Unreadable("body", "must be a JSON object");
  PointsRequest out;
  Status bad = InvalidArgument("invalid points request");
  bool has_points = false, has_text = false;
  for (const auto& [key, value] : v.as_object()) {
    if (key == "points") {
      has_points = true;
      if (!value.is_int64()) {
        bad.AddFieldError("points", "must be an integer");
      } else if (out.points = value.as_int64(); spend ? out.points <= 0 : out.points == 0) {
        bad.AddFieldError("points", spend ? "must be > 0" : "must not be 0");
      }
    } else if (key == text_field) {
      has_text = true;
      // A redemption id is an id (core/text.hpp); a reason is free text for people.
      const bool id = text_field == "redemption_id";
      std::string problem = !value.is_string() ? "must be a string"
                            : id               ? IdProblem(std::string_view(value.as_string()))
                            : value.as_string().empty() || value.as_string().size() > 200
                                ? "must be a string of 1-200 characters"
                                : "";
      if (!problem.empty()) {
        bad.AddFieldError(std::string(text_field), std::move(problem));
      } else {
        out.text = std::string(value.as_string());
      }
    } else {
      bad.AddFieldError(std::string(key), "unknown field");
    }
  }
  if (!has_points) bad.AddFieldError("points", "is required");
  if (!has_text) bad.AddFieldError(std::string(text_field), "is required");
  if (!bad.field_errors().empty()) return bad;
  return out;
}

void AddLoyaltyRoutes(Router& router, const Ctx& ctx) {
  router.Add("GET", "/api/v1/tenants/{tenant}/members/{ref}/loyalty",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
               if (!t) return;
               auto ref = ParseMemberRef(p.Get("ref"));
               if (!ref.ok()) return respond(ErrorResponse(ref.status()));
               auto limit = IntParam(req, "ledger_limit", 20, 1, 500);
               auto before = IntParam(req, "ledger_before", 0, 0, int64_t{1} << 60);
               Status bad = InvalidArgument("invalid query");
               for (const auto* r : {&limit, &before}) {
                 if (r->ok()) continue;
                 const FieldError& e = r->status().field_errors()[0];
                 bad.AddFieldError(e.field, e.reason);
               }
               if (!bad.field_errors().empty()) return respond(ErrorResponse(bad));
               const Timestamp now = ctx->engine.clock().Now();
               auto body = t->Read([&](const TenantState& s) -> std::optional<std::string> {
                 const MemberId id = s.members().Find(*ref);
                 if (!id) return std::nullopt;
                 return LoyaltyJson(s, id, now, *before, *limit);
               });
               if (!body) return respond(ErrorResponse(NotFoundField("ref", "no member '" + p.Get("ref") + "'")));
               respond(Json(200, std::move(*body)));
             }, {"ledger_limit", "ledger_before"});
  // Redeem (redemption_id makes it idempotent) and adjust (with a reason).
  for (const bool redeem : {true, false}) {
    const std::string path =
        std::string("/api/v1/tenants/{tenant}/members/{ref}/points/") + (redeem ? "redeem" : "adjust");
    router.Add("POST", path, [ctx, redeem](HttpRequest&& req, const RouteParams& p, Responder respond) {
      auto t = TenantFor(ctx, req, p.Get("tenant"), redeem ? Access::kWrite : Access::kOperate, respond);
      if (!t) return;
      auto ref = ParseMemberRef(p.Get("ref"));
      if (!ref.ok()) return respond(ErrorResponse(ref.status()));
      auto body = ParsePointsRequest(req.body, redeem ? "redemption_id" : "reason", redeem);
      if (!body.ok()) return respond(ErrorResponse(body.status()));
      const std::string ref_text = p.Get("ref");
      Write(t, req, std::move(respond), [ref = *ref, body = *body, redeem, ref_text](TenantState& s, Timestamp now) {
        const MemberId id = s.members().Find(ref);
        if (!id) return ErrorResponse(NotFoundField("ref", "no member '" + ref_text + "'"));
        auto entry = redeem ? s.Redeem(id, body.points, body.text, now) : s.Adjust(id, body.points, body.text, now);
        if (!entry.ok()) return ErrorResponse(entry.status());
        return Json(200, LedgerEntryJson(s, *entry, s.loyalty().Find(id)->balance));
      });
    });
  }
  router.Add("GET", "/api/v1/tenants/{tenant}/loyalty/tiers",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
               if (t) respond(Json(200, t->Read([](const TenantState& s) { return TierDistributionJson(s); })));
             });
  router.Add("GET", "/api/v1/tenants/{tenant}/lifecycle",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
               if (t) respond(Json(200, t->Read([](const TenantState& s) { return LifecycleDistributionJson(s); })));
             });
  router.Add("GET", "/api/v1/tenants/{tenant}/lifecycle/transitions",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
               if (!t) return;
               Status bad = InvalidArgument("invalid query");
               std::optional<LocalDate> dates[2];
               for (int i = 0; i < 2; ++i) {
                 const char* name = i == 0 ? "from" : "to";
                 const std::string* v = req.Query(name);
                 auto d = v ? ParseDate(*v) : Result<LocalDate>(FieldInvalid(name, "is required"));
                 if (d.ok()) {
                   dates[i] = *d;
                 } else {
                   bad.AddFieldError(name, "must be a date YYYY-MM-DD");
                 }
               }
               if (dates[0] && dates[1] && *dates[1] < *dates[0]) bad.AddFieldError("to", "must not be before from");
               if (!bad.field_errors().empty()) return respond(ErrorResponse(bad));
               respond(Json(200, t->Read([&](const TenantState& s) {
                 return LifecycleTransitionsJson(s, *dates[0], *dates[1]);
               })));
             }, {"from", "to"});
  // Runs the tenant's due timed work now (it also runs every minute).
  router.Add("POST", "/api/v1/tenants/{tenant}/scheduler/run",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kAdmin, respond);
               if (!t) return;
               Write(t, req, std::move(respond), [](TenantState& s, Timestamp now) -> std::optional<HttpResponse> {
                 if (s.RunDue(now) == Slice::kLater) return std::nullopt;
                 JsonWriter w;
                 w.BeginObject().Field("last_day", s.last_day_run().ToString()).EndObject();
                 return Json(200, w.Take());
               }, Slice::kLater);
             });
  router.Add("GET", "/api/v1/tenants/{tenant}/loyalty/config",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
               if (!t) return;
               respond(Json(200, t->Read([](const TenantState& s) {
                 return LoyaltyConfigJson(s.loyalty().config());
               })));
             });
  // PUT replaces the whole configuration and needs every key (a client
  // GETs, edits and PUTs the document back); PATCH changes the keys it
  // names, read over the rules as they stand when it is applied.
  for (const char* method : {"PUT", "PATCH"}) {
    const bool whole = std::string_view(method) == "PUT";
    router.Add(method, "/api/v1/tenants/{tenant}/loyalty/config",
               [ctx, whole](HttpRequest&& req, const RouteParams& p, Responder respond) {
                 auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kAdmin, respond);
                 if (!t) return;
                 // Checked here too, so a bad document never waits for the writer.
                 auto checked = ParseLoyaltyConfig(req.body, whole ? LoyaltyDocument::kWhole : LoyaltyDocument::kPatch);
                 if (!checked.ok()) return respond(ErrorResponse(checked.status()));
                 // In slices: every member is re-tiered (TenantState::ChangeLoyaltyConfig).
                 auto change = std::make_shared<std::optional<TenantState::LoyaltyChange>>();
                 Write(
                     t, req, std::move(respond),
                     [body = req.body, whole, change](TenantState& s, Timestamp now) -> std::optional<HttpResponse> {
                       if (!*change) {  // the first slice: a patch reads the rules as they stand now
                         auto config = ParseLoyaltyConfig(body, whole ? LoyaltyDocument::kWhole : LoyaltyDocument::kPatch,
                                                          s.loyalty().config());
                         if (!config.ok()) return ErrorResponse(config.status());
                         change->emplace(TenantState::LoyaltyChange{std::move(config).value()});
                       }
                       if (s.ChangeLoyaltyConfig(**change, now) == Slice::kLater) return std::nullopt;
                       return Json(200, LoyaltyConfigJson(s.loyalty().config()));
                     },
                     Slice::kLater);
               });
  }
}

void AddOperationRoutes(Router& router, const Ctx& ctx) {
  router.Add("GET", "/healthz", [ctx](HttpRequest&&, const RouteParams&, Responder respond) {
    Status store = ctx->engine.store().Ping();
    // A node still loading its tenants at start is alive but not ready.
    const bool starting = ctx->engine.starting();
    JsonWriter w;
    w.BeginObject().Field("status", !store.ok() ? "unavailable" : starting ? "starting" : "ok");
    w.Field("store", store.ok() ? "ok" : "unreachable");
    w.Field("tenants", static_cast<int64_t>(ctx->engine.Tenants().size())).EndObject();
    if (!store.ok()) Log(LogLevel::kWarn, "health check: store unreachable", {{"error", store.ToString()}});
    HttpResponse r = Json(store.ok() && !starting ? 200 : 503, w.Take());
    if (starting) r.headers.emplace_back("Retry-After", "1");
    respond(std::move(r));
  });
  router.Add("GET", "/metrics", [ctx](HttpRequest&&, const RouteParams&, Responder respond) {
    HttpResponse r = Json(200, MetricsText(ctx->engine));
    r.content_type = "text/plain; version=0.0.4";
    respond(std::move(r));
  });
  router.Add("GET", "/api/v1/openapi.json", [](HttpRequest&&, const RouteParams&, Responder respond) {
    respond(Json(200, std::string(OpenApiDocument())));
  });
}

}  // namespace

HttpResponse ErrorResponse(const Status& status) {
  int code = 500;
  std::string_view title = "Internal error";
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      // Field-level problems in well-formed input are 422; input that could
      // not be read at all is 400.
      code = IsUnreadable(status) ? 400 : 422;
      title = code == 400 ? "Bad request" : "Invalid input";
      break;
    case StatusCode::kNotFound: code = 404, title = "Not found"; break;
    case StatusCode::kAlreadyExists: code = 409, title = "Already exists"; break;
    case StatusCode::kFailedPrecondition: code = 409, title = "Not possible now"; break;
    case StatusCode::kConflict: code = 409, title = "Conflict"; break;
    case StatusCode::kResourceExhausted: code = 413, title = "Too large"; break;
    case StatusCode::kUnauthenticated: code = 401, title = "Unauthenticated"; break;
    case StatusCode::kPermissionDenied: code = 403, title = "Forbidden"; break;
    case StatusCode::kUnavailable: code = 503, title = "Unavailable"; break;
    case StatusCode::kOk:
    case StatusCode::kInternal: break;
  }
  if (code >= 500) {
    // The client gets no internals (paths, SQL, DSNs); the log gets them all.
    Log(LogLevel::kError, "request failed", {{"status", status.ToString()}});
    return ProblemResponse(code, title, code == 503 ? "the service is unavailable; retry later" : "internal error");
  }
  // A refusal says why in one word (CONTRACT.md: 409 with `reason`).
  const std::string reason = ReasonOf(status);
  HttpResponse r = ProblemResponse(code, title, status.message(), status.field_errors(), reason);
  if (code == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

namespace {

std::shared_ptr<Router> MakeApiRouter(Engine& engine, KeyRing& keys, ApiOptions options) {
  auto ctx = std::make_shared<ApiContext>(ApiContext{engine, keys, options});
  auto router = std::make_shared<Router>();
  AddTenantRoutes(*router, ctx);
  AddKeyRoutes(*router, ctx);
  AddEventRoutes(*router, ctx);
  AddMemberRoutes(*router, ctx);
  AddLoyaltyRoutes(*router, ctx);
  AddAudienceRoutes(*router, ctx);
  AddCouponRoutes(*router, ctx);
  AddActivityRoutes(*router, ctx);
  AddClockRoutes(*router, ctx);
  AddAuditRoutes(*router, ctx);
  AddOperationRoutes(*router, ctx);
  return router;
}

}  // namespace

HttpHandler MakeApiHandler(Engine& engine, KeyRing& keys, ApiOptions options) {
  auto router = MakeApiRouter(engine, keys, options);
  return [router](HttpRequest&& req, Responder respond) { router->Dispatch(std::move(req), std::move(respond)); };
}

std::vector<std::pair<std::string, std::string>> ApiRoutes(Engine& engine, KeyRing& keys) {
  return MakeApiRouter(engine, keys, {})->Routes();
}

}  // namespace pond
