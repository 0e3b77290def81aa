// The audience routes (docs/segments.md): segments — count, sample,
// export, snapshots, saved segments — and tags.
//
// Questions are parsed outside the tenant's lock and evaluated under its
// read lock; changes (tags, snapshots, saved segments) go through the
// tenant's writer like every write. An export writes its file on a thread
// of its own, taking the read lock a few thousand members at a time, so the
// writer is never held up for long however large the audience.
#include <boost/json.hpp>

#include <atomic>
#include <filesystem>
#include <random>
#include <set>
#include <future>
#include <thread>

#include "core/id_list.hpp"
#include "core/json_writer.hpp"
#include "core/log.hpp"
#include "exports/table_writer.hpp"
#include "engine/segment_reads.hpp"
#include "http/api_support.hpp"
#include "http/body_reader.hpp"
#include "segments/expr.hpp"

namespace pond {
namespace {

namespace json = boost::json;

// --- count and sample ------------------------------------------------------

void AddCountAndSample(Router& router, const Ctx& ctx) {
  // {"expr": "..."}, and for a sample also "size" (1-1000, default 20) and
  // "seed" (for a reproducible draw; random if absent).
  for (const bool sample : {false, true}) {
    const std::string path = std::string("/api/v1/tenants/{tenant}/segments/") + (sample ? "sample" : "count");
    router.Add("POST", path, [ctx, sample](HttpRequest&& req, const RouteParams& p, Responder respond) {
      auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
      if (!t) return;
      auto body = BodyReader::Parse(req.body);
      if (!body.ok()) return respond(ErrorResponse(body.status()));
      const std::optional<std::string> text = body->Text("expr", true);
      const std::optional<int64_t> size = sample ? body->Int("size", 1, 1000) : std::nullopt;
      const std::optional<int64_t> seed_given = sample ? body->Int("seed", 0, INT64_MAX) : std::nullopt;
      if (Status s = body->Finish(); !s.ok()) return respond(ErrorResponse(s));
      const auto start = std::chrono::steady_clock::now();
      auto expr = segments::ParseExpr(*text);
      if (!expr.ok()) return respond(ExpressionError(expr.status()));
      const Timestamp now = ctx->engine.clock().Now();
      const uint64_t seed = seed_given ? static_cast<uint64_t>(*seed_given) : sample ? std::random_device()() : 0;
      // On the reader pool, beneath ingest (engine/reader_pool.hpp).
      std::shared_ptr<const segments::Node> node = std::move(expr).value();
      ctx->readers->Run([t, expr = std::move(node), now, seed, sample, size, start, respond = std::move(respond)] {
        // A chunk of members at a time, letting the writer in between
        // (engine/segment_reads.hpp).
        Result<segments::SegmentIndex::Sample> answer = segments::SegmentIndex::Sample{};
        if (sample) {
          answer = SampleInChunks(*t, *expr, now, static_cast<size_t>(size.value_or(20)), seed);
        } else if (auto count = CountInChunks(*t, *expr, now); count.ok()) {
          answer->count = *count;
        } else {
          answer = count.status();
        }
        if (!answer.ok()) return respond(ExpressionError(answer.status()));
        JsonWriter w;
        w.BeginObject().Field("count", answer->count);
        if (sample) {
          w.Key("member_ids").BeginArray();
          for (MemberId m : answer->members) w.Int(m);
          w.EndArray().Field("seed", static_cast<int64_t>(seed));
        }
        w.Key("took_ms").Double(MillisSince(start)).EndObject();
        respond(Json(200, w.Take()));
      });
    });
  }
}

// --- export ----------------------------------------------------------------

// Exports running at once: each holds a file and, now and then, the read
// lock; more would only queue behind each other.
constexpr int kMaxConcurrentExports = 2;
std::atomic<int> g_exports_running{0};

// Members taken per read lock while an export writes.
constexpr size_t kExportChunk = 4096;

const std::string_view kExportColumns[] = {
    "member_id", "name",      "phone",  "gender", "city",   "home_store", "owner_staff", "source",
    "tier",      "lifecycle", "rfm",    "points", "growth", "orders",     "net_yuan",    "last_paid_on",
    "tags"};

// One member's row. Under the tenant's read lock.
Status WriteMemberRow(const TenantState& s, MemberId id, const segments::QueryContext& context, bool reveal_phones,
                      exports::TableWriter& out) {
  const Member& m = *s.members().Get(id);
  const MemberProfile& p = m.profile;
  std::string phone;
  for (const Identity& i : m.identities) {
    if (i.kind == IdentityKind::kPhone) {
      phone = reveal_phones ? i.value : MaskPhone(i.value);
      break;
    }
  }
  const LoyaltyBook& loyalty = s.loyalty();
  const Account* account = loyalty.Find(id);
  const PurchaseTotals& totals = s.orders().Totals(id);
  const std::string last_paid = totals.count ? s.zone().DateOf(totals.last_paid_at).ToString() : std::string();
  ASSIGN_OR_RETURN(std::vector<std::string> tags, s.segments().TagsOf(id, context));
  std::string tag_list;
  for (const std::string& tag : tags) tag_list += (tag_list.empty() ? "" : "|") + tag;
  auto text = [](const std::optional<std::string>& v) { return v ? std::string_view(*v) : std::string_view(); };
  const exports::Cell cells[] = {
      int64_t{id},
      text(p.name),
      std::string_view(phone),
      p.gender ? GenderName(*p.gender) : std::string_view(),
      text(p.city),
      text(p.home_store),
      text(p.owner_staff),
      text(p.source),
      std::string_view(loyalty.config().tiers[static_cast<size_t>(loyalty.TierOf(id))].id),
      StageName(s.StageOfMember(id)),
      RfmClassName(s.lifecycle().RfmOf(id).cls),
      int64_t{account ? account->balance : 0},
      int64_t{account ? account->growth : 0},
      int64_t{totals.count},
      totals.paid - totals.refunded,
      std::string_view(last_paid),
      std::string_view(tag_list),
  };
  return out.Row(cells);
}

// Writes the members to a new file in `format`: its path and its rows.
Result<std::pair<std::string, int64_t>> WriteExport(const std::shared_ptr<TenantEngine>& tenant,
                                                    const std::vector<MemberId>& members, std::string_view format,
                                                    bool reveal_phones, Timestamp now) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("pond-export-" + std::to_string(std::random_device()()) + "." + std::string(format)))
                               .string();
  ASSIGN_OR_RETURN(std::unique_ptr<exports::TableWriter> out, exports::OpenTableWriter(format, path, "members"));
  RETURN_IF_ERROR(out->Header(kExportColumns));
  int64_t rows = 0;
  for (size_t begin = 0; begin < members.size(); begin += kExportChunk) {
    const size_t end = std::min(members.size(), begin + kExportChunk);
    Status chunk = tenant->Read([&](const TenantState& s) -> Status {
      const segments::QueryContext context = s.SegmentContext(now);
      for (size_t i = begin; i < end; ++i) {
        // Merged since the audience was taken: its survivor is in it or not on its own.
        if (s.members().Standing(members[i]) != members[i]) continue;
        RETURN_IF_ERROR(WriteMemberRow(s, members[i], context, reveal_phones, *out));
        ++rows;
      }
      return Status::Ok();
    });
    RETURN_IF_ERROR(chunk);
  }
  RETURN_IF_ERROR(out->Finish());
  return std::pair(path, rows);
}

void AddExport(Router& router, const Ctx& ctx) {
  // {"expr": "..."} or {"snapshot_id": N}, and "format": "csv" (default) or "xlsx".
  router.Add("POST", "/api/v1/tenants/{tenant}/segments/export",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               Role role = Role::kAnalyst;
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kOperate, respond, &role);
               if (!t) return;
               const Result<bool> revealed = RevealPhones(req, role);
               if (!revealed.ok()) return respond(ErrorResponse(revealed.status()));
               const bool reveal = *revealed;
               auto body = BodyReader::Parse(req.body);
               if (!body.ok()) return respond(ErrorResponse(body.status()));
               const std::optional<std::string> text = body->Text("expr", false);
               const std::optional<int64_t> snapshot = body->Int("snapshot_id", 1, INT64_MAX);
               const std::string format = body->Text("format", false).value_or("csv");
               if (format != "csv" && format != "xlsx") body->Fail("format", "must be csv or xlsx");
               if (text.has_value() == snapshot.has_value()) body->Fail("expr", "give either expr or snapshot_id");
               if (Status s = body->Finish(); !s.ok()) return respond(ErrorResponse(s));
               segments::NodePtr expr;
               if (text) {
                 auto parsed = segments::ParseExpr(*text);
                 if (!parsed.ok()) return respond(ExpressionError(parsed.status()));
                 expr = std::move(parsed).value();
               }
               const Timestamp now = ctx->engine.clock().Now();
               auto members = t->Read([&](const TenantState& s) -> Result<std::vector<MemberId>> {
                 if (expr) return s.segments().Match(*expr, s.SegmentContext(now), SIZE_MAX);
                 for (const SnapshotRow& row : s.snapshots()) {
                   if (row.id == *snapshot) return DecodeIdList(row.members);
                 }
                 return NotFoundField("snapshot_id", "no snapshot " + std::to_string(*snapshot));
               });
               if (!members.ok()) return respond(ExpressionError(members.status()));
               if (g_exports_running.fetch_add(1) >= kMaxConcurrentExports) {
                 --g_exports_running;
                 HttpResponse busy = ProblemResponse(429, "Too many requests",
                                                     "two exports are running; retry when one has finished");
                 busy.headers.emplace_back("Retry-After", "10");
                 return respond(std::move(busy));
               }
               // The slot is let go when the export ends.
               struct Slot {
                 ~Slot() { --g_exports_running; }
               };
               auto slot = std::make_shared<Slot>();
               const std::string detail = "{\"members\":" + std::to_string(members->size()) + ",\"format\":\"" +
                                          format + "\",\"reveal\":" + (reveal ? "true" : "false") + "}";
               // The export is audited, durably, before a byte of it leaves:
               // its thread waits for the entry's commit. Only that thread
               // holds the engine (AuditThen's closures may not).
               auto audited = std::make_shared<std::promise<HttpResponse>>();
               std::thread([t, members = std::move(members).value(), format, reveal, now, slot,
                            audited = audited->get_future(), respond = std::move(respond)]() mutable {
                 HttpResponse r = audited.get();
                 if (r.status != 200) return respond(std::move(r));
                 auto written = WriteExport(t, members, format, reveal, now);
                 slot.reset();
                 if (!written.ok()) return respond(ErrorResponse(written.status()));
                 r.file = written->first;
                 r.content_type = format == "csv" ? "text/csv; charset=utf-8"
                                                  : "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
                 r.headers.emplace_back("Content-Disposition", "attachment; filename=\"members." + format + "\"");
                 r.headers.emplace_back("Pond-Count", std::to_string(written->second));
                 respond(std::move(r));
               }).detach();
               AuditThen(
                   t, req, detail, [](const TenantState&, Timestamp) { return HttpResponse{}; },
                   [audited](HttpResponse r) { audited->set_value(std::move(r)); });
             }, {"reveal"});
}

// --- snapshots and saved segments ------------------------------------------

void WriteSnapshot(JsonWriter& w, const SnapshotRow& row, const TimeZone& zone) {
  w.BeginObject().Field("id", row.id).Field("name", row.name).Field("expr", row.expr).Field("count", row.count);
  w.Field("created_by", row.by).Field("created_at", FormatRfc3339(row.at, zone));
}

void WriteSaved(JsonWriter& w, const segments::SavedSegment& saved, std::optional<int64_t> count, const TimeZone& zone) {
  w.BeginObject().Field("id", saved.id).Field("name", saved.name).Field("expr", saved.expr);
  if (count) w.Field("count", *count);
  w.Field("created_by", saved.created_by).Field("created_at", FormatRfc3339(saved.created_at, zone));
  w.Key("sizes").BeginArray();
  for (const auto& [day, n] : saved.sizes) w.BeginObject().Field("day", day.ToString()).Field("count", n).EndObject();
  w.EndArray().EndObject();
}

// A body {"name": ..., "expr": ...} for a snapshot or a saved segment.
struct NamedExpression {
  std::string name;
  segments::NodePtr expr;
};

// Answers the client itself and returns nullopt when the body is bad.
std::optional<NamedExpression> ParseNamedExpression(const HttpRequest& req, const Responder& respond) {
  auto body = BodyReader::Parse(req.body);
  if (!body.ok()) return respond(ErrorResponse(body.status())), std::nullopt;
  NamedExpression out;
  out.name = body->Text("name", false).value_or("");
  body->Fail(tags::CheckText("name", out.name, tags::kMaxTagNameBytes, true));
  const std::optional<std::string> text = body->Text("expr", true);
  body->IgnoreBy();
  if (Status s = body->Finish(); !s.ok()) return respond(ErrorResponse(s)), std::nullopt;
  auto expr = segments::ParseExpr(*text);
  if (!expr.ok()) return respond(ExpressionError(expr.status())), std::nullopt;
  out.expr = std::move(expr).value();
  return out;
}

// POST of a snapshot or a saved segment: the body parsed outside the lock,
// `create` run by the tenant's writer.
// The expression is evaluated a chunk of members per slice on the writer
// (TenantState::Evaluate; `list`: keep the members, not only their count),
// then `create` records it with what was found.
using CreateNamed = std::function<HttpResponse(TenantState&, const NamedExpression&, std::string who, Timestamp,
                                               const TenantState::Audience&)>;
void AddNamedExpressionPost(Router& router, const Ctx& ctx, std::string_view path, bool list, CreateNamed create) {
  router.Add("POST", path, [ctx, list, create](HttpRequest&& req, const RouteParams& p, Responder respond) {
    auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kOperate, respond);
    if (!t) return;
    auto named = ParseNamedExpression(req, respond);
    if (!named) return;
    auto shared = std::make_shared<NamedExpression>(std::move(*named));
    auto audience = std::make_shared<TenantState::Audience>(TenantState::Audience{.list = list});
    Write(
        t, req, std::move(respond),
        [shared, audience, create](TenantState& s, Timestamp now) -> std::optional<HttpResponse> {
          auto slice = s.Evaluate(*shared->expr, now, *audience);
          if (!slice.ok()) return ExpressionError(slice.status());
          if (*slice == Slice::kLater) return std::nullopt;
          return create(s, *shared, ActorText(s.context().actor), now, *audience);
        },
        Slice::kLater);
  });
}

void AddSnapshotsAndSaved(Router& router, const Ctx& ctx) {
  AddNamedExpressionPost(router, ctx, "/api/v1/tenants/{tenant}/segments/snapshots", true,
                         [](TenantState& s, const NamedExpression& named, std::string who, Timestamp now,
                            const TenantState::Audience& audience) {
                           auto row = s.CreateSnapshot(named.name, *named.expr, std::move(who), now, audience);
                           if (!row.ok()) return ExpressionError(row.status());
                           JsonWriter w;
                           WriteSnapshot(w, **row, s.zone());
                           w.EndObject();
                           return Json(201, w.Take());
                         });
  router.Add("GET", "/api/v1/tenants/{tenant}/segments/snapshots",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
               if (!t) return;
               respond(Json(200, t->Read([](const TenantState& s) {
                 JsonWriter w;
                 w.BeginObject().Key("snapshots").BeginArray();
                 for (const SnapshotRow& row : s.snapshots()) WriteSnapshot(w, row, s.zone()), w.EndObject();
                 w.EndArray().EndObject();
                 return w.Take();
               })));
             });
  // One snapshot with a page of its members: ?offset (default 0) and ?limit (1-10000, default 1000).
  router.Add("GET", "/api/v1/tenants/{tenant}/segments/snapshots/{id}",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
               if (!t) return;
               Status bad = InvalidArgument("invalid query");
               auto offset = IntParam(req, "offset", 0, 0, int64_t{1} << 40);
               auto limit = IntParam(req, "limit", 1000, 1, 10'000);
               for (const auto* r : {&offset, &limit}) {
                 if (!r->ok()) bad.AddFieldError(r->status().field_errors()[0].field, r->status().field_errors()[0].reason);
               }
               if (!bad.field_errors().empty()) return respond(ErrorResponse(bad));
               const std::string id = p.Get("id");
               auto body = t->Read([&](const TenantState& s) -> Result<std::string> {
                 for (const SnapshotRow& row : s.snapshots()) {
                   if (std::to_string(row.id) != id) continue;
                   ASSIGN_OR_RETURN(std::vector<int64_t> members, DecodeIdList(row.members));
                   JsonWriter w;
                   WriteSnapshot(w, row, s.zone());
                   w.Field("offset", *offset).Key("member_ids").BeginArray();
                   const auto first = static_cast<size_t>(std::min<int64_t>(*offset, static_cast<int64_t>(members.size())));
                   const size_t last = std::min(members.size(), first + static_cast<size_t>(*limit));
                   for (size_t i = first; i < last; ++i) w.Int(members[i]);
                   w.EndArray().EndObject();
                   return w.Take();
                 }
                 return NotFoundField("id", "no snapshot " + id);
               });
               respond(body.ok() ? Json(200, std::move(*body)) : ErrorResponse(body.status()));
             }, {"offset", "limit"});

  AddNamedExpressionPost(router, ctx, "/api/v1/tenants/{tenant}/segments/saved", false,
                         [](TenantState& s, const NamedExpression& named, std::string who, Timestamp now,
                            const TenantState::Audience& audience) {
                           auto saved = s.SaveSegment(named.name, *named.expr, std::move(who), now, audience);
                           if (!saved.ok()) return ExpressionError(saved.status());
                           JsonWriter w;
                           WriteSaved(w, **saved, (*saved)->sizes.back().second, s.zone());
                           return Json(201, w.Take());
                         });
  // Saved segments with their size now (counted as asked) and their history.
  auto list = [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
    auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
    if (!t) return;
    const std::string* id = nullptr;
    for (const auto& [name, value] : p.all()) {
      if (name == "id") id = &value;
    }
    const Timestamp now = ctx->engine.clock().Now();
    auto body = t->Read([&](const TenantState& s) -> Result<std::string> {
      JsonWriter w;
      if (!id) w.BeginObject().Key("segments").BeginArray();
      bool found = false;
      for (const segments::SavedSegment& saved : s.saved_segments()) {
        if (id && std::to_string(saved.id) != *id) continue;
        found = true;
        auto expr = segments::ParseExpr(saved.expr);
        auto count = expr.ok() ? s.segments().Count(**expr, s.SegmentContext(now)) : Result<int64_t>(expr.status());
        WriteSaved(w, saved, count.ok() ? std::optional(*count) : std::nullopt, s.zone());
      }
      if (id && !found) return NotFoundField("id", "no saved segment " + *id);
      if (!id) w.EndArray().EndObject();
      return w.Take();
    });
    respond(body.ok() ? Json(200, std::move(*body)) : ErrorResponse(body.status()));
  };
  router.Add("GET", "/api/v1/tenants/{tenant}/segments/saved", list);
  router.Add("GET", "/api/v1/tenants/{tenant}/segments/saved/{id}", list);
  router.Add("DELETE", "/api/v1/tenants/{tenant}/segments/saved/{id}",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kOperate, respond);
               if (!t) return;
               const std::string id = p.Get("id");
               const bool digits = !id.empty() && id.size() <= 18 && id.find_first_not_of("0123456789") == std::string::npos;
               if (!digits) return respond(ErrorResponse(NotFoundField("id", "no saved segment " + id)));
               Write(t, req, std::move(respond), [n = std::stoll(id)](TenantState& s, Timestamp) {
                 Status done = s.RemoveSegment(n);
                 return done.ok() ? Json(204, "") : ErrorResponse(done);
               });
             });
}

// --- tags ------------------------------------------------------------------

void WriteTag(JsonWriter& w, const tags::TagDefinition& d, std::optional<int64_t> count, const TimeZone& zone) {
  w.BeginObject().Field("name", d.name).Field("group", d.group).Field("kind", tags::TagKindName(d.kind));
  if (d.kind == tags::TagKind::kRule) w.Field("rule", d.rule);
  w.Field("description", d.description);
  if (count) w.Field("count", *count);
  w.Field("created_by", d.created_by).Field("created_at", FormatRfc3339(d.created_at, zone)).EndObject();
}

// The tag as it stands, with its holders counted now.
std::string TagJson(const TenantState& s, const tags::TagDefinition& d, Timestamp now) {
  auto count = s.segments().TagCount(d.name, s.SegmentContext(now));
  JsonWriter w;
  WriteTag(w, d, count.ok() ? std::optional(*count) : std::nullopt, s.zone());
  return w.Take();
}

// A tag body: name (POST only), group, kind ("manual" or "rule"; a new
// tag is manual unless it says, a changed one keeps its kind), rule,
// description; a "by" is ignored (the actor made it).
struct TagBody {
  tags::TagDefinition def;
  bool kind_given = false;
};
Result<TagBody> ParseTagBody(const std::string& text, std::optional<std::string> name) {
  ASSIGN_OR_RETURN(BodyReader body, BodyReader::Parse(text));
  TagBody out;
  tags::TagDefinition& d = out.def;
  d.name = name ? *name : body.Text("name", true).value_or("");
  d.group = body.Text("group", false).value_or("");
  const std::optional<std::string> kind = body.Text("kind", false);
  if (kind && *kind != "manual" && *kind != "rule") body.Fail("kind", "must be manual or rule");
  out.kind_given = kind.has_value();
  d.kind = kind == "rule" ? tags::TagKind::kRule : tags::TagKind::kManual;
  d.rule = body.Text("rule", false).value_or("");
  d.description = body.Text("description", false).value_or("");
  body.IgnoreBy();
  // Checked here too, so one answer names every bad field; a PUT without a
  // kind takes the stored tag's, which only the writer knows.
  tags::TagDefinition check = d;
  if (name && !out.kind_given) check.kind = d.rule.empty() ? tags::TagKind::kManual : tags::TagKind::kRule;
  body.Fail(tags::CheckDefinition(check));
  RETURN_IF_ERROR(body.Finish());
  return out;
}

// Members named in a tagging body: ids (42) or refs ("phone:138...").
Result<std::vector<MemberRef>> ParseRefs(const json::value& list, const std::string& field) {
  if (!list.is_array()) return FieldInvalid(field, "must be an array of member ids or refs");
  if (list.as_array().size() > 100'000) return FieldInvalid(field, "takes at most 100000 members a request");
  std::vector<MemberRef> out;
  Status bad = InvalidArgument("invalid members");
  for (size_t i = 0; i < list.as_array().size(); ++i) {
    const json::value& v = list.as_array()[i];
    const std::string at = field + "[" + std::to_string(i) + "]";
    if (v.is_int64() && v.as_int64() > 0) {
      out.push_back(MemberRef{.member_id = v.as_int64()});
      continue;
    }
    if (v.is_string()) {
      if (auto ref = ParseMemberRef(std::string(v.as_string())); ref.ok()) {
        out.push_back(std::move(*ref));
        continue;
      }
    }
    bad.AddFieldError(at, "must be a member id or a ref such as \"phone:13800000001\"");
  }
  if (!bad.field_errors().empty()) return bad;
  return out;
}

void AddTags(Router& router, const Ctx& ctx) {
  router.Add("GET", "/api/v1/tenants/{tenant}/tags", [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
    auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
    if (!t) return;
    const Timestamp now = ctx->engine.clock().Now();
    respond(Json(200, t->Read([&](const TenantState& s) {
      JsonWriter w;
      w.BeginObject().Key("tags").BeginArray();
      for (const auto& [name, d] : s.tags().definitions()) w.Raw(TagJson(s, d, now));
      w.EndArray().Key("system").BeginArray();
      for (const auto& [name, count] : s.segments().SystemTags()) {
        w.BeginObject().Field("name", name).Field("count", count).EndObject();
      }
      w.EndArray().EndObject();
      return w.Take();
    })));
  });
  // POST creates a tag; PUT replaces its group, rule and description (the kind stays).
  for (const bool create : {true, false}) {
    const std::string path = std::string("/api/v1/tenants/{tenant}/tags") + (create ? "" : "/{name}");
    router.Add(create ? "POST" : "PUT", path, [ctx, create](HttpRequest&& req, const RouteParams& p, Responder respond) {
      auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kOperate, respond);
      if (!t) return;
      auto body = ParseTagBody(req.body, create ? std::nullopt : std::optional(p.Get("name")));
      if (!body.ok()) return respond(ErrorResponse(body.status()));
      Write(t, req, std::move(respond), [body = *body, create](TenantState& s, Timestamp now) {
        tags::TagDefinition def = body.def;
        def.created_by = ActorText(s.context().actor);  // a changed tag keeps its maker (PutTag)
        const tags::TagDefinition* existing = s.tags().Find(def.name);
        if (existing && !body.kind_given) def.kind = existing->kind;
        Status done = s.PutTag(def, create, now);
        if (!done.ok()) return ExpressionError(done, "rule");
        return Json(create ? 201 : 200, TagJson(s, *s.tags().Find(def.name), now));
      });
    });
  }
  router.Add("GET", "/api/v1/tenants/{tenant}/tags/{name}",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
               if (!t) return;
               const Timestamp now = ctx->engine.clock().Now();
               auto body = t->Read([&](const TenantState& s) -> std::optional<std::string> {
                 if (const tags::TagDefinition* d = s.tags().Find(p.Get("name"))) return TagJson(s, *d, now);
                 if (!segments::SystemTag(p.Get("name"))) return std::nullopt;
                 auto count = s.segments().TagCount(p.Get("name"), s.SegmentContext(now));
                 if (!count.ok()) return std::nullopt;  // a value no member can have, such as tier:platinum
                 JsonWriter w;
                 w.BeginObject().Field("name", p.Get("name")).Field("kind", "system").Field("count", *count).EndObject();
                 return w.Take();
               });
               respond(body ? Json(200, std::move(*body)) : ErrorResponse(NotFoundField("name", "no tag '" + p.Get("name") + "'")));
             });
  router.Add("DELETE", "/api/v1/tenants/{tenant}/tags/{name}",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kOperate, respond);
               if (!t) return;
               Write(t, req, std::move(respond), [name = p.Get("name")](TenantState& s, Timestamp now) {
                 Status done = s.RemoveTag(name, now);
                 return done.ok() ? Json(204, "") : ErrorResponse(done);
               });
             });
  // {"add": [members]} or {"remove": [members]} or {"add_matching": expr} or
  // {"remove_matching": expr}, with a "note" (a "by" is ignored: the
  // operation is the actor's). Members are ids or refs;
  // an unknown one fails the whole request, naming it, and changes nothing.
  router.Add("POST", "/api/v1/tenants/{tenant}/tags/{name}/members",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kOperate, respond);
               if (!t) return;
               auto body = BodyReader::Parse(req.body);
               if (!body.ok()) return respond(ErrorResponse(body.status()));
               struct Request {
                 bool add = true;
                 std::vector<MemberRef> refs;
                 segments::NodePtr matching;
                 std::string note;
               };
               auto r = std::make_shared<Request>();
               int ways = 0;
               for (const char* key : {"add", "remove", "add_matching", "remove_matching"}) {
                 const json::value* v = body->Take(key);
                 if (!v) continue;
                 ++ways;
                 r->add = key[0] == 'a';
                 if (std::string_view(key).ends_with("matching")) {
                   if (!v->is_string()) {
                     body->Fail(key, "must be an expression");
                     continue;
                   }
                   auto expr = segments::ParseExpr(std::string(v->as_string()));
                   if (!expr.ok()) return respond(ExpressionError(expr.status(), key));
                   r->matching = std::move(expr).value();
                 } else if (auto refs = ParseRefs(*v, key); refs.ok()) {
                   r->refs = std::move(*refs);
                 } else {
                   for (const auto& e : refs.status().field_errors()) body->Fail(e.field, e.reason);
                 }
               }
               if (ways != 1) body->Fail("body", "give exactly one of add, remove, add_matching, remove_matching");
               body->IgnoreBy();
               r->note = body->Text("note", false).value_or("");
               if (Status s = body->Finish(); !s.ok()) return respond(ErrorResponse(s));
               Write(t, req, std::move(respond), [r, tag = p.Get("name")](TenantState& s, Timestamp now) {
                 // An unknown tag or a rule tag is answered before the members are looked at.
                 if (Status manual = s.CheckManualTag(tag); !manual.ok()) return ErrorResponse(manual);
                 std::vector<MemberId> members;
                 if (r->matching) {
                   auto matched = s.segments().Match(*r->matching, s.SegmentContext(now), SIZE_MAX);
                   if (!matched.ok()) return ExpressionError(matched.status(), r->add ? "add_matching" : "remove_matching");
                   members = std::move(*matched);
                 }
                 Status unknown = InvalidArgument("unknown members");
                 for (size_t i = 0; i < r->refs.size(); ++i) {
                   const MemberId m = s.members().Find(r->refs[i]);
                   if (!m) unknown.AddFieldError((r->add ? "add[" : "remove[") + std::to_string(i) + "]", "no such member");
                   members.push_back(m);
                 }
                 if (!unknown.field_errors().empty()) return ErrorResponse(unknown);
                 auto change = s.TagMembers(tag, r->add, std::move(members), ActorText(s.context().actor), r->note, now);
                 if (!change.ok()) return ErrorResponse(change.status());
                 JsonWriter w;
                 w.BeginObject().Field("tag", tag).Field(r->add ? "added" : "removed", change->changed);
                 w.Field("unchanged", change->unchanged);
                 if (change->operation) {
                   w.Field("operation", change->operation);
                 } else {
                   w.Key("operation").Null();
                 }
                 w.EndObject();
                 return Json(200, w.Take());
               });
             });
  // The manual tagging operations of a tag, newest first (?limit 1-1000, default 100).
  router.Add("GET", "/api/v1/tenants/{tenant}/tags/{name}/operations",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
               if (!t) return;
               auto limit = IntParam(req, "limit", 100, 1, 1000);
               if (!limit.ok()) return respond(ErrorResponse(limit.status()));
               auto body = t->Read([&](const TenantState& s) -> std::optional<std::string> {
                 if (!s.tags().Find(p.Get("name"))) return std::nullopt;
                 JsonWriter w;
                 w.BeginObject().Key("operations").BeginArray();
                 for (const tags::TagOperation* op : s.tags().OperationsOf(p.Get("name"), static_cast<size_t>(*limit))) {
                   w.BeginObject().Field("id", op->id).Field("action", op->add ? "add" : "remove");
                   w.Field("members", static_cast<int64_t>(op->members.size())).Field("by", op->by);
                   w.Field("at", FormatRfc3339(op->at, s.zone())).Field("note", op->note).EndObject();
                 }
                 w.EndArray().EndObject();
                 return w.Take();
               });
               respond(body ? Json(200, std::move(*body)) : ErrorResponse(NotFoundField("name", "no tag '" + p.Get("name") + "'")));
             }, {"limit"});
}

}  // namespace

HttpResponse ExpressionError(const Status& status, std::string_view field) {
  if (status.code() != StatusCode::kInvalidArgument) return ErrorResponse(status);
  const auto& context = status.context();
  const bool positioned = std::any_of(context.begin(), context.end(), [](const auto& kv) { return kv.first == "position"; });
  if (!positioned) return ErrorResponse(status);  // a field-level problem, not one in the expression
  JsonWriter w;
  w.BeginObject()
      .Field("type", "about:blank")
      .Field("title", "Invalid expression")
      .Field("status", 422)
      .Field("detail", status.message());
  for (const auto& [key, value] : context) {
    if (key == "position") {
      w.Field("position", static_cast<int64_t>(std::strtoll(value.c_str(), nullptr, 10)));
    } else if (key == "expected" || key == "hint") {
      w.Field(key, value);
    }
  }
  w.Key("errors").BeginArray().BeginObject().Field("field", field).Field("reason", status.message()).EndObject();
  w.EndArray().EndObject();
  HttpResponse r = Json(422, w.Take());
  r.content_type = "application/problem+json";
  return r;
}

double MillisSince(std::chrono::steady_clock::time_point start) {
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return std::round(ms * 1000) / 1000;
}

void AddAudienceRoutes(Router& router, const Ctx& ctx) {
  AddCountAndSample(router, ctx);
  AddExport(router, ctx);
  AddSnapshotsAndSaved(router, ctx);
  AddTags(router, ctx);
}

}  // namespace pond
