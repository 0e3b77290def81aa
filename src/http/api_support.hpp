// What the route files of the API (api.cpp, audience_api.cpp) share:
// the context every route holds, authorization, durable writes with
// Idempotency-Key, and the parsing of common request parts. Internal to
// the http module.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/engine.hpp"
#include "engine/reader_pool.hpp"
#include "http/api.hpp"
#include "http/auth.hpp"
#include "http/router.hpp"
#include "http/server.hpp"

namespace pond {

// Shared by every route: the engine, the keys and the limits, and the
// pool heavy reads run on (segment counts and samples).
struct ApiContext {
  Engine& engine;
  KeyRing& keys;
  ApiOptions options;
  std::unique_ptr<ReaderPool> readers = std::make_unique<ReaderPool>(2);
};
using Ctx = std::shared_ptr<ApiContext>;

HttpResponse Json(int status, std::string body);

// Authorizes and finds the tenant; answers the client itself when it fails.
std::shared_ptr<TenantEngine> TenantFor(const Ctx& ctx, const HttpRequest& req, const std::string& tenant,
                                        Access access, const Responder& respond, Role* role = nullptr);

// Who a request acts for (its key, or the local operator) and its request
// id (X-Request-Id when sane, else a new one); for a request TenantFor
// has authorized.
CommandContext ContextOf(const HttpRequest& req);

// Runs a write on the tenant's writer and answers after the durable commit,
// with the request's context (ContextOf) and its X-Request-Id header.
// `work` computes the answer from the state, or nothing while it has more
// to do in a later slice (TenantState::SliceSpent), `more` saying whether
// that slice keeps its place (kMore) or lets later commands go first
// (kLater); with an Idempotency-Key the answer is stored in the commit of
// the last slice and a replay returns it unchanged.
void Write(const std::shared_ptr<TenantEngine>& tenant, const HttpRequest& req, Responder respond,
           std::function<std::optional<HttpResponse>(TenantState&, Timestamp)> work, Slice more = Slice::kMore);

// {ref}: "42", "phone:138...", "unionid:...", "ext:...", "pos:...".
Result<MemberRef> ParseMemberRef(const std::string& ref);
// A query parameter that must be an integer in [lo, hi]; `fallback` if absent.
// An id in a path ({id}, {claim}): digits only, so "1x" and "01" name nothing.
std::optional<int64_t> PathId(const std::string& text);
Result<int64_t> IntParam(const HttpRequest& req, std::string_view name, int64_t fallback, int64_t lo, int64_t hi);
// Phones are shown whole only to admins who ask (?reveal=phone); another
// value of `reveal` is an error naming it.
Result<bool> RevealPhones(const HttpRequest& req, Role role);

// A bad expression: 422 naming `field` ("expr", "rule"), with where and
// what was expected (CONTRACT.md "Segments": "422 with the position and
// reason"). Other errors as ErrorResponse.
HttpResponse ExpressionError(const Status& status, std::string_view field = "expr");

// POST `pattern` (ending in .../{id}/<verb>) with an empty body or {}:
// `act` runs on the tenant's writer with the path's id (404 naming "id"
// when it is no id) and answers after the durable commit. For retire,
// deactivate, cancel and the like.
using IdAction = std::function<HttpResponse(TenantState&, int64_t id, Timestamp now)>;
void AddIdAction(Router& router, const Ctx& ctx, std::string_view pattern, Access access, IdAction act);

double MillisSince(std::chrono::steady_clock::time_point start);

// The routes of audience_api.cpp: segments (count, sample, export,
// snapshots, saved segments) and tags.
void AddAudienceRoutes(Router& router, const Ctx& ctx);
// The routes of coupon_api.cpp: coupon templates and the wallet.
void AddCouponRoutes(Router& router, const Ctx& ctx);
// The routes of activity_api.cpp: activities, claims, bargain cuts.
void AddActivityRoutes(Router& router, const Ctx& ctx);
// The routes of clock_api.cpp: the business clock, and moving a manual one.
void AddClockRoutes(Router& router, const Ctx& ctx);

// The audit trail (audit_api.cpp). What an entry takes from its request,
// read on the I/O thread before the command runs: the action the route
// records ("points.adjust"; "" for a route that records nothing), what it
// names as the target ("member:42") and the detail: the body when it is a
// JSON object of at most 2 KiB, else its size.
struct AuditNote {
  std::string action, target, detail;
};
AuditNote AuditNoteOf(const HttpRequest& req);
// Records the entry of a request that succeeded (status < 300), with the
// detail the command noted if it noted one (an ingest's counts); on the
// writer, in the command's commit.
void AuditOf(TenantState& s, const AuditNote& note, int status, Timestamp now);
// For reads that reveal or export personal data: records the request's
// audit entry (`detail`, a JSON object) and runs `read` on the state in
// the same command; `respond` gets read's answer once the entry is durable
// (a failed commit: 503). Neither may hold the tenant's engine: a
// command's closures end on the engine's own threads, which cannot
// destroy it.
void AuditThen(const std::shared_ptr<TenantEngine>& tenant, const HttpRequest& req, std::string detail,
               std::function<HttpResponse(const TenantState&, Timestamp)> read, Responder respond);
// GET .../audit.
void AddAuditRoutes(Router& router, const Ctx& ctx);

}  // namespace pond
