// The coupon routes (CONTRACT.md "Coupons and flash sales", extended):
// templates, issuing, redeeming, and the wallet's other moves.
#include "core/json_writer.hpp"
#include "core/text.hpp"
#include "engine/modules/coupons_module.hpp"
#include "coupons/coupon_report.hpp"
#include "coupons/issue_rules.hpp"
#include "coupons/quote.hpp"
#include "coupons/template_json.hpp"
#include "http/api_support.hpp"
#include "http/body_reader.hpp"
#include "ingest/event_parser.hpp"

namespace pond {
namespace {

constexpr int64_t kDefaultHoldSeconds = 15 * 60;  // a checkout holds a coupon this long by default

void WriteCoupon(JsonWriter& w, const coupons::Coupon& c, const TimeZone& zone) {
  w.BeginObject().Field("code", c.code).Field("template_id", c.template_id).Field("member_id", c.member);
  w.Field("state", coupons::StateName(c.state));
  w.Field("issued_at", FormatRfc3339(c.issued_at, zone));
  w.Field("valid_from", FormatRfc3339(c.valid_from, zone)).Field("valid_to", FormatRfc3339(c.valid_to, zone));
  if (!c.order_id.empty()) w.Field("order_id", c.order_id);
  if (c.state == coupons::CouponState::kLocked) w.Field("lock_until", FormatRfc3339(c.lock_until, zone));
  w.Field("changed_at", FormatRfc3339(c.changed_at, zone));
  w.EndObject();
}

std::string CouponJson(const coupons::Coupon& c, const TimeZone& zone) {
  JsonWriter w;
  WriteCoupon(w, c, zone);
  return w.Take();
}

// A coupon as the caller sees it now: a hold or validity that ran out since
// shows as such, though the wallet settles it only when next touched.
coupons::Coupon SeenAt(const coupons::Coupon& c, Timestamp now) { return coupons::Wallet::AsOf(c, now); }

std::string TemplateJson(const coupons::CouponTemplate& t, const TenantState& s) {
  JsonWriter w;
  coupons::WriteTemplate(w, t, s.zone());
  std::string out = w.Take();
  // The template's own fields, then how much of it is issued.
  out.pop_back();
  out += ",\"issued\":" + std::to_string(Coupons(s).wallet().IssuedOf(t.id)) + "}";
  return out;
}

// A checkout's cart as a request gives it: "store", "channel", "items":
// [{"sku", "category", "paid_fen"}] at their prices before coupons, and the
// total "paid_fen". An item without a category takes its product's; its
// categories are filled in up the tree on the writer or under the read lock.
struct CartRequest {
  coupons::Cart cart;
  std::vector<std::string> item_categories;  // as given, before the tree is applied
};

// Reads the cart's fields from `r`; `items_required` for a quote. False
// when the body names none of them (no cart given).
bool ReadCart(BodyReader& r, bool items_required, CartRequest* out) {
  constexpr size_t kMaxItems = 500;
  const bool given = r.Has("store") || r.Has("channel") || r.Has("items") || r.Has("paid_fen");
  out->cart.store = r.Text("store", false).value_or("");
  out->cart.channel = r.Text("channel", false).value_or("");
  const std::optional<int64_t> total = r.Int("paid_fen", 0, Money::kMaxFen);
  const boost::json::value* items = r.Take("items");
  if (items == nullptr && !items_required) {
    if (total) out->cart.items.push_back(coupons::CartItem{"", {}, Money::Fen(*total)});
    if (given && !total) r.Fail("paid_fen", "is required to check the coupon's terms (or give items)");
    out->item_categories.resize(out->cart.items.size());
    return given;
  }
  if (items == nullptr || !items->is_array() || items->as_array().empty() || items->as_array().size() > kMaxItems) {
    r.Fail("items", "must be an array of 1 to 500 items");
    return true;
  }
  int64_t sum = 0;
  for (size_t i = 0; i < items->as_array().size(); ++i) {
    const std::string at = "items[" + std::to_string(i) + "]";
    const boost::json::value& v = items->as_array()[i];
    if (!v.is_object()) {
      r.Fail(at, "must be an object");
      continue;
    }
    const boost::json::object& o = v.as_object();
    coupons::CartItem item;
    std::string category;
    for (const auto& [key, value] : o) {
      if (key == "sku" && value.is_string()) {
        item.sku = std::string(value.as_string());
      } else if (key == "category" && value.is_string()) {
        category = std::string(value.as_string());
      } else if (key == "paid_fen" && value.is_int64() && value.as_int64() >= 0 && value.as_int64() <= Money::kMaxFen) {
        item.paid = Money::Fen(value.as_int64());
      } else if (key == "sku" || key == "category") {
        r.Fail(at + "." + std::string(key), "must be a string");
      } else if (key == "paid_fen") {
        r.Fail(at + ".paid_fen", "must be a whole number of fen from 0 to " + std::to_string(Money::kMaxFen));
      } else {
        r.Fail(at + "." + std::string(key), "unknown field");
      }
    }
    if (!o.contains("paid_fen")) r.Fail(at + ".paid_fen", "is required");
    sum += item.paid.fen();
    out->cart.items.push_back(std::move(item));
    out->item_categories.push_back(std::move(category));
  }
  if (total && *total != sum) {
    r.Fail("paid_fen", "must equal the sum of items[].paid_fen (" + std::to_string(sum) + ")");
  }
  return true;
}

// Each item's category (or its product's) and every category above it.
void ApplyCategoryTree(CartRequest& c, const MasterData& master) {
  for (size_t i = 0; i < c.cart.items.size(); ++i) {
    coupons::CartItem& item = c.cart.items[i];
    item.categories.clear();
    const std::string& given = c.item_categories[i];
    master.ForEachCategoryUp(given.empty() ? master.CategoryOfProduct(item.sku) : given,
                             [&](const std::string& id) { item.categories.push_back(id); });
  }
}

// {"order_id": "..."}, to lock "hold_seconds", and the cart when the POS
// knows it (the coupon's terms are then checked on it).
struct OrderBody {
  std::string order_id;
  int64_t hold_seconds = kDefaultHoldSeconds;
  std::optional<CartRequest> cart;
};

Result<OrderBody> ParseOrderBody(const std::string& body, bool hold, bool cart) {
  ASSIGN_OR_RETURN(BodyReader r, BodyReader::Parse(body));
  OrderBody out;
  std::optional<std::string> order = r.Text("order_id", true);
  // An order id follows the rule of order events' ids (core/text.hpp).
  if (order) {
    if (std::string problem = IdProblem(*order); !problem.empty()) r.Fail("order_id", problem);
    out.order_id = *order;
  }
  if (hold) out.hold_seconds = r.Int("hold_seconds", 1, 86'400).value_or(kDefaultHoldSeconds);
  if (cart) {
    CartRequest c;
    if (ReadCart(r, false, &c)) out.cart = std::move(c);
  }
  RETURN_IF_ERROR(r.Finish());
  return out;
}

void AddTemplateRoutes(Router& router, const Ctx& ctx) {
  router.Add("POST", "/api/v1/tenants/{tenant}/coupon-templates",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kOperate, respond);
               if (!t) return;
               auto parsed = coupons::ParseTemplate(req.body);
               if (!parsed.ok()) return respond(ErrorResponse(parsed.status()));
               Write(t, req, std::move(respond), [tmpl = std::move(parsed).value()](TenantState& s, Timestamp) {
                 auto made = Coupons(s).CreateCouponTemplate(tmpl);
                 if (!made.ok()) return ErrorResponse(made.status());
                 return Json(201, TemplateJson(**made, s));
               });
             });
  router.Add("GET", "/api/v1/tenants/{tenant}/coupon-templates",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
               if (!t) return;
               respond(Json(200, t->Read([](const TenantState& s) {
                 std::string out = "{\"templates\":[";
                 for (const coupons::CouponTemplate& tmpl : Coupons(s).coupon_templates()) {
                   if (tmpl.id > 1) out += ',';
                   out += TemplateJson(tmpl, s);
                 }
                 return out + "]}";
               })));
             });
  router.Add("GET", "/api/v1/tenants/{tenant}/coupon-templates/{id}",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
               if (!t) return;
               const std::optional<int64_t> id = PathId(p.Get("id"));
               auto body = t->Read([&](const TenantState& s) -> std::optional<std::string> {
                 const coupons::CouponTemplate* tmpl = id ? Coupons(s).FindCouponTemplate(*id) : nullptr;
                 if (tmpl == nullptr) return std::nullopt;
                 return TemplateJson(*tmpl, s);
               });
               if (!body) return respond(ErrorResponse(NotFoundField("id", "no coupon template '" + p.Get("id") + "'")));
               respond(Json(200, std::move(*body)));
             });
}

void AddTemplateActions(Router& router, const Ctx& ctx) {
  AddIdAction(router, ctx, "/api/v1/tenants/{tenant}/coupon-templates/{id}/retire", Access::kOperate,
              [](TenantState& s, int64_t id, Timestamp now) {
                auto t = Coupons(s).RetireCouponTemplate(id, now);
                return t.ok() ? Json(200, TemplateJson(**t, s)) : ErrorResponse(t.status());
              });
  for (const bool active : {true, false}) {
    AddIdAction(router, ctx,
                std::string("/api/v1/tenants/{tenant}/coupon-rules/{id}/") + (active ? "activate" : "deactivate"),
                Access::kOperate, [active](TenantState& s, int64_t id, Timestamp) {
                  auto rule = Coupons(s).SetIssueRuleActive(id, active);
                  if (!rule.ok()) return ErrorResponse(rule.status());
                  JsonWriter w;
                  coupons::WriteRule(w, **rule);
                  return Json(200, w.Take());
                });
  }
}

// Issue rules (coupons/issue_rules.hpp): what occasions give which coupons.
void AddRuleRoutes(Router& router, const Ctx& ctx) {
  router.Add("POST", "/api/v1/tenants/{tenant}/coupon-rules",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kOperate, respond);
               if (!t) return;
               auto parsed = coupons::ParseRule(req.body);
               if (!parsed.ok()) return respond(ErrorResponse(parsed.status()));
               Write(t, req, std::move(respond), [rule = std::move(parsed).value()](TenantState& s, Timestamp) {
                 auto made = Coupons(s).CreateIssueRule(rule);
                 if (!made.ok()) return ErrorResponse(made.status());
                 JsonWriter w;
                 coupons::WriteRule(w, **made);
                 return Json(201, w.Take());
               });
             });
  // Member day (DOMAIN.md §2): {"member": {...}} claims today's coupons of
  // the member_day rules for the member's tier; 201 when any was new.
  router.Add("POST", "/api/v1/tenants/{tenant}/member-day/claims",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kWrite, respond);
               if (!t) return;
               auto reader = BodyReader::Parse(req.body);
               if (!reader.ok()) return respond(ErrorResponse(reader.status()));
               reader->Take("member");
               auto member = ParseMemberField(req.body);
               if (!member.ok()) reader->Fail(member.status());
               if (Status s = reader->Finish(); !s.ok()) return respond(ErrorResponse(s));
               Write(t, req, std::move(respond), [ref = *member](TenantState& s, Timestamp now) {
                 const MemberId id = s.members().Find(ref);
                 if (!id) return ErrorResponse(NotFoundField("member", "no such member"));
                 auto claimed = Coupons(s).ClaimMemberDay(id, now);
                 if (!claimed.ok()) return ErrorResponse(claimed.status());
                 bool fresh = false;
                 JsonWriter w;
                 w.BeginObject().Key("coupons").BeginArray();
                 for (const coupons::Wallet::Issued& issued : *claimed) {
                   fresh |= issued.fresh;
                   WriteCoupon(w, *issued.coupon, s.zone());
                 }
                 w.EndArray().EndObject();
                 return Json(fresh ? 201 : 200, w.Take());
               });
             });
  router.Add("GET", "/api/v1/tenants/{tenant}/coupon-rules",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
               if (t) respond(Json(200, t->Read([](const TenantState& s) { return coupons::RulesJson(Coupons(s).issue_rules()); })));
             });
}

void AddWalletRoutes(Router& router, const Ctx& ctx) {
  // Issue: {"template_id": N, "member": {...}}. With an Idempotency-Key
  // the key is the occasion, so even a retry that missed the stored answer
  // gets the same coupon.
  router.Add("POST", "/api/v1/tenants/{tenant}/coupons", [ctx](HttpRequest&& req, const RouteParams& p,
                                                               Responder respond) {
    auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kWrite, respond);
    if (!t) return;
    auto reader = BodyReader::Parse(req.body);
    if (!reader.ok()) return respond(ErrorResponse(reader.status()));
    const std::optional<int64_t> template_id = reader->Int("template_id", 1, int64_t{1} << 40);
    if (!template_id && !reader->Take("template_id")) reader->Fail("template_id", "is required");
    reader->Take("member");
    auto member = ParseMemberField(req.body);
    if (!member.ok()) reader->Fail(member.status());
    if (Status s = reader->Finish(); !s.ok()) return respond(ErrorResponse(s));
    auto code = coupons::NewCouponCode();
    if (!code.ok()) return respond(ErrorResponse(code.status()));
    const std::string* key = req.Header("idempotency-key");
    std::string occasion = "api:" + (key ? *key : *code);
    Write(t, req, std::move(respond),
          [ref = *member, id = *template_id, occasion = std::move(occasion), code = *code](TenantState& s,
                                                                                          Timestamp now) {
            const MemberId member_id = s.members().Find(ref);
            if (!member_id) return ErrorResponse(NotFoundField("member", "no such member"));
            auto issued = Coupons(s).IssueCoupon(id, member_id, occasion, code, now);
            if (!issued.ok()) return ErrorResponse(issued.status());
            return Json(issued->fresh ? 201 : 200, CouponJson(*issued->coupon, s.zone()));
          });
  });
  // In bulk to a frozen audience: {"template_id", "snapshot_id"}.
  router.Add("POST", "/api/v1/tenants/{tenant}/coupons/bulk", [ctx](HttpRequest&& req, const RouteParams& p,
                                                                    Responder respond) {
    auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kOperate, respond);
    if (!t) return;
    auto reader = BodyReader::Parse(req.body);
    if (!reader.ok()) return respond(ErrorResponse(reader.status()));
    const std::optional<int64_t> template_id = reader->Int("template_id", 1, int64_t{1} << 40);
    const std::optional<int64_t> snapshot_id = reader->Int("snapshot_id", 1, int64_t{1} << 40);
    if (!template_id && !reader->Take("template_id")) reader->Fail("template_id", "is required");
    if (!snapshot_id && !reader->Take("snapshot_id")) reader->Fail("snapshot_id", "is required");
    if (Status s = reader->Finish(); !s.ok()) return respond(ErrorResponse(s));
    // In slices (a 1 M-member audience would keep readers out for seconds);
    // the caller is answered once the last is durable.
    auto bulk = std::make_shared<CouponsModule::BulkIssue>();
    Write(t, req, std::move(respond),
          [tid = *template_id, sid = *snapshot_id, bulk](TenantState& s, Timestamp now) -> std::optional<HttpResponse> {
            auto slice = Coupons(s).IssueToSnapshot(tid, sid, coupons::NewCouponCode, now, *bulk);
            if (!slice.ok()) return ErrorResponse(slice.status());
            if (*slice == Slice::kLater) return std::nullopt;
            JsonWriter w;
            w.BeginObject().Field("template_id", tid).Field("snapshot_id", sid).Field("members", bulk->members);
            w.Field("issued", bulk->issued).Field("already", bulk->already).Key("refused").BeginObject();
            for (const auto& [reason, n] : bulk->refused) w.Field(reason, n);
            w.EndObject().EndObject();
            return Json(200, w.Take());
          },
          Slice::kLater);
  });
  router.Add("GET", "/api/v1/tenants/{tenant}/coupons/{code}",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
               if (!t) return;
               const Timestamp now = ctx->engine.clock().Now();
               auto body = t->Read([&](const TenantState& s) -> std::optional<std::string> {
                 const coupons::Coupon* c = Coupons(s).wallet().Find(p.Get("code"));
                 if (c == nullptr) return std::nullopt;
                 return CouponJson(SeenAt(*c, now), s.zone());
               });
               if (!body) return respond(ErrorResponse(NotFoundField("code", "no coupon '" + p.Get("code") + "'")));
               respond(Json(200, std::move(*body)));
             });
  router.Add("GET", "/api/v1/tenants/{tenant}/members/{ref}/coupons",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
               if (!t) return;
               auto ref = ParseMemberRef(p.Get("ref"));
               if (!ref.ok()) return respond(ErrorResponse(ref.status()));
               const Timestamp now = ctx->engine.clock().Now();
               auto body = t->Read([&](const TenantState& s) -> std::optional<std::string> {
                 const MemberId id = s.members().Find(*ref);
                 if (!id) return std::nullopt;
                 JsonWriter w;
                 w.BeginObject().Field("member_id", id).Key("coupons").BeginArray();
                 for (const coupons::Coupon* c : Coupons(s).CouponsOf(id)) WriteCoupon(w, SeenAt(*c, now), s.zone());
                 w.EndArray().EndObject();
                 return w.Take();
               });
               if (!body) return respond(ErrorResponse(NotFoundField("ref", "no member '" + p.Get("ref") + "'")));
               respond(Json(200, std::move(*body)));
             });
  // The moves of a coupon: redeem (CONTRACT.md), lock and unlock around a
  // checkout, revoke.
  enum class Move { kRedeem, kLock, kUnlock, kRevoke };
  for (const auto& [move, verb] : {std::pair{Move::kRedeem, "redeem"}, std::pair{Move::kLock, "lock"},
                                   std::pair{Move::kUnlock, "unlock"}, std::pair{Move::kRevoke, "revoke"}}) {
    const std::string path = std::string("/api/v1/tenants/{tenant}/coupons/{code}/") + verb;
    router.Add("POST", path, [ctx, move](HttpRequest&& req, const RouteParams& p, Responder respond) {
      auto t = TenantFor(ctx, req, p.Get("tenant"), move == Move::kRevoke ? Access::kOperate : Access::kWrite, respond);
      if (!t) return;
      OrderBody body;
      if (move != Move::kRevoke) {
        auto parsed = ParseOrderBody(req.body, move == Move::kLock, move != Move::kUnlock);
        if (!parsed.ok()) return respond(ErrorResponse(parsed.status()));
        body = std::move(parsed).value();
      } else if (!req.body.empty() && req.body != "{}") {
        return respond(ErrorResponse(Unreadable("body", "must be empty or {}")));
      }
      Write(t, req, std::move(respond), [move, code = p.Get("code"), body](TenantState& s, Timestamp now) mutable {
        const coupons::Cart* cart = nullptr;
        if (body.cart) {
          ApplyCategoryTree(*body.cart, s.master());
          cart = &body.cart->cart;
        }
        Result<const coupons::Coupon*> c =
            move == Move::kRedeem ? Coupons(s).RedeemCoupon(code, body.order_id, now, cart)
            : move == Move::kLock ? Coupons(s).LockCoupon(code, body.order_id, now.PlusSeconds(body.hold_seconds), now, cart)
            : move == Move::kUnlock ? Coupons(s).UnlockCoupon(code, body.order_id, now)
                                    : Coupons(s).RevokeCoupon(code, now);
        if (!c.ok()) return ErrorResponse(c.status());
        return Json(200, CouponJson(**c, s.zone()));
      });
    });
  }
}

// A quote: {"member", and the cart (ReadCart) with its items}.
struct QuoteRequest {
  MemberRef member;
  CartRequest cart;
};

Result<QuoteRequest> ParseQuote(const std::string& body) {
  ASSIGN_OR_RETURN(BodyReader r, BodyReader::Parse(body));
  QuoteRequest q;
  r.Take("member");
  auto member = ParseMemberField(body);
  if (member.ok()) {
    q.member = std::move(member).value();
  } else {
    r.Fail(member.status());
  }
  ReadCart(r, true, &q.cart);
  RETURN_IF_ERROR(r.Finish());
  return q;
}

void AddQuoteRoute(Router& router, const Ctx& ctx) {
  router.Add("POST", "/api/v1/tenants/{tenant}/coupons/quote", [ctx](HttpRequest&& req, const RouteParams& p,
                                                                     Responder respond) {
    auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
    if (!t) return;
    auto parsed = ParseQuote(req.body);
    if (!parsed.ok()) return respond(ErrorResponse(parsed.status()));
    const Timestamp now = ctx->engine.clock().Now();
    auto body = t->Read([&](const TenantState& s) -> std::optional<std::string> {
      const MemberId id = s.members().Find(parsed->member);
      if (!id) return std::nullopt;
      ApplyCategoryTree(parsed->cart, s.master());
      std::vector<std::pair<const coupons::Coupon*, const coupons::CouponTemplate*>> usable;
      std::vector<coupons::Coupon> seen;  // as of now: a lapsed hold frees the coupon, an ended window expires it
      for (const coupons::Coupon* c : Coupons(s).CouponsOf(id)) seen.push_back(SeenAt(*c, now));
      for (const coupons::Coupon& c : seen) {
        if (c.state == coupons::CouponState::kIssued) usable.emplace_back(&c, Coupons(s).FindCouponTemplate(c.template_id));
      }
      const coupons::Quote quote = coupons::QuoteCart(parsed->cart.cart, usable, now);
      int64_t total = 0;
      for (const coupons::CartItem& item : parsed->cart.cart.items) total += item.paid.fen();
      JsonWriter w;
      w.BeginObject().Field("member_id", id).Field("total_fen", total).Key("offers").BeginArray();
      for (const coupons::CouponOffer& o : quote.offers) {
        w.BeginObject().Field("code", o.coupon->code).Field("template_id", o.tmpl->id).Field("name", o.tmpl->name);
        w.Field("kind", coupons::KindName(o.tmpl->kind)).Field("stackable", o.tmpl->stackable);
        w.Field("gives_fen", o.gives.fen());
        if (!o.why.empty()) w.Field("why_not", o.why);
        w.Field("valid_to", FormatRfc3339(o.coupon->valid_to, s.zone())).EndObject();
      }
      w.EndArray().Key("best").BeginObject().Key("codes").BeginArray();
      for (const coupons::Coupon* c : quote.best) w.String(c->code);
      w.EndArray().Field("gives_fen", quote.best_gives.fen()).EndObject().EndObject();
      return w.Take();
    });
    if (!body) return respond(ErrorResponse(NotFoundField("member", "no such member")));
    respond(Json(200, std::move(*body)));
  });
}

void WriteTally(JsonWriter& w, std::string_view id_key, int64_t id, const coupons::CouponTally& t) {
  auto amounts = [&](std::string_view key, const coupons::Amounts& a) {
    w.Key(key).BeginObject().Field("count", a.count).Field("face_value_fen", a.face_value.fen());
    w.Field("cost_fen", a.cost.fen()).EndObject();
  };
  w.BeginObject().Field(id_key, id);
  amounts("issued", t.issued);
  amounts("unused", t.unused);
  amounts("redeemed", t.redeemed);
  amounts("expired", t.expired);
  amounts("revoked", t.revoked);
  amounts("violated", t.violated);
  amounts("unchecked", t.unchecked);
  w.EndObject();
}

// Issued, redeemed, expired and revoked coupons with their face value, per
// template, issue rule and activity (coupons/coupon_report.hpp).
void AddReportRoute(Router& router, const Ctx& ctx) {
  router.Add("GET", "/api/v1/tenants/{tenant}/reports/coupons",
             [ctx](HttpRequest&& req, const RouteParams& p, Responder respond) {
               auto t = TenantFor(ctx, req, p.Get("tenant"), Access::kRead, respond);
               if (!t) return;
               const Timestamp now = ctx->engine.clock().Now();
               respond(Json(200, t->Read([&](const TenantState& s) {
                 const coupons::RedemptionChecks checks{
                     [&](const std::string& code) { return Coupons(s).coupon_violations().count(code) > 0; },
                     [&](const std::string& code) { return Coupons(s).unchecked_coupons().count(code) > 0; }};
                 const coupons::CouponReport r = coupons::ReportCoupons(Coupons(s).wallet(), Coupons(s).coupon_templates(), now, checks);
                 JsonWriter w;
                 w.BeginObject().Field("as_of", FormatRfc3339(now, s.zone()));
                 for (const auto& [key, id_key, rows] :
                      {std::tuple{"templates", "template_id", &r.by_template}, std::tuple{"rules", "rule_id", &r.by_rule},
                       std::tuple{"activities", "activity_id", &r.by_activity}}) {
                   w.Key(key).BeginArray();
                   for (const auto& [id, tally] : *rows) WriteTally(w, id_key, id, tally);
                   w.EndArray();
                 }
                 w.EndObject();
                 return w.Take();
               })));
             });
}

}  // namespace

void AddCouponRoutes(Router& router, const Ctx& ctx) {
  AddReportRoute(router, ctx);
  AddTemplateRoutes(router, ctx);
  AddTemplateActions(router, ctx);
  AddRuleRoutes(router, ctx);
  AddQuoteRoute(router, ctx);  // before {code}: "quote" is not a code
  AddWalletRoutes(router, ctx);
}

}  // namespace pond
