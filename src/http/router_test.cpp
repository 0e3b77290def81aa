#include "http/router.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>

namespace pond {
namespace {

HttpRequest Request(std::string method, std::string path, std::string raw_path = "") {
  HttpRequest req;
  req.method = std::move(method);
  req.path = std::move(path);
  req.raw_path = std::move(raw_path);
  return req;
}

// Dispatches synchronously and returns what the route or router answered.
HttpResponse Call(const Router& router, HttpRequest req) {
  std::optional<HttpResponse> out;
  router.Dispatch(std::move(req), [&](HttpResponse response) { out = std::move(response); });
  EXPECT_TRUE(out.has_value());
  return out.value_or(HttpResponse{});
}

// A route that answers "<name>" plus each capture as " key=value".
Router::Route Named(std::string name) {
  return [name](HttpRequest&&, const RouteParams& params, Responder respond) {
    HttpResponse response;
    response.body = name;
    for (const auto& [key, value] : params.all()) response.body += " " + std::string(key) + "=" + value;
    respond(std::move(response));
  };
}

std::string ProblemDetail(const HttpResponse& response) {
  EXPECT_EQ(response.content_type, "application/problem+json");
  return std::string(boost::json::parse(response.body).at("detail").as_string());
}

std::string Header(const HttpResponse& response, std::string_view name) {
  for (const auto& [k, v] : response.headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

TEST(RouterTest, MatchesExactPathsAndMethods) {
  Router router;
  router.Add("GET", "/healthz", Named("health"));
  router.Add("GET", "/", Named("root"));
  router.Add("POST", "/api/v1/tenants", Named("create-tenant"));
  router.Add("GET", "/api/v1/tenants", Named("list-tenants"));
  EXPECT_EQ(Call(router, Request("GET", "/healthz")).body, "health");
  EXPECT_EQ(Call(router, Request("GET", "/")).body, "root");
  EXPECT_EQ(Call(router, Request("POST", "/api/v1/tenants")).body, "create-tenant");
  EXPECT_EQ(Call(router, Request("GET", "/api/v1/tenants")).body, "list-tenants");
}

TEST(RouterTest, CapturesNamedSegments) {
  Router router;
  router.Add("GET", "/api/v1/tenants/{tenant}/members/{ref}", Named("member"));
  router.Add("POST", "/api/v1/tenants/{tenant}/coupons/{code}/redeem", Named("redeem"));
  EXPECT_EQ(Call(router, Request("GET", "/api/v1/tenants/acme/members/phone:13800000001")).body,
            "member tenant=acme ref=phone:13800000001");
  EXPECT_EQ(Call(router, Request("POST", "/api/v1/tenants/acme/coupons/C-9/redeem")).body,
            "redeem tenant=acme code=C-9");

  std::string tenant;
  router.Add("GET", "/t/{tenant}", [&](HttpRequest&&, const RouteParams& params, Responder respond) {
    tenant = params.Get("tenant");
    respond(HttpResponse{});
  });
  Call(router, Request("GET", "/t/acme"));
  EXPECT_EQ(tenant, "acme");
}

TEST(RouterTest, CapturesDecodeTheRawPathPerSegment) {
  Router router;
  router.Add("GET", "/members/{ref}", Named("member"));
  // An encoded '/' stays inside its segment; the decoded path alone would
  // have split it.
  EXPECT_EQ(Call(router, Request("GET", "/members/pos:S1/42", "/members/pos%3AS1%2F42")).body,
            "member ref=pos:S1/42");
  EXPECT_EQ(Call(router, Request("GET", "/members/pos:S1/42")).status, 404);
  EXPECT_EQ(Call(router, Request("GET", "/members/a b", "/members/a%20b")).body, "member ref=a b");
}

TEST(RouterTest, CapturesNeedANonEmptySegment) {
  Router router;
  router.Add("GET", "/members/{ref}", Named("member"));
  EXPECT_EQ(Call(router, Request("GET", "/members/")).status, 404);
  EXPECT_EQ(Call(router, Request("GET", "/members")).status, 404);
  EXPECT_EQ(Call(router, Request("GET", "/members/1/more")).status, 404);
}

TEST(RouterTest, LiteralBeatsCaptureWhateverTheOrder) {
  Router router;
  router.Add("GET", "/members/{ref}", Named("by-ref"));
  router.Add("GET", "/members/search", Named("search"));
  router.Add("GET", "/{a}/x", Named("capture-first"));
  router.Add("GET", "/members/{b}/x", Named("literal-first"));
  EXPECT_EQ(Call(router, Request("GET", "/members/search")).body, "search");
  EXPECT_EQ(Call(router, Request("GET", "/members/42")).body, "by-ref ref=42");
  EXPECT_EQ(Call(router, Request("GET", "/members/42/x")).body, "literal-first b=42");
  EXPECT_EQ(Call(router, Request("GET", "/other/x")).body, "capture-first a=other");
}

TEST(RouterTest, UnknownPathIs404) {
  Router router;
  router.Add("GET", "/api/v1/tenants/{tenant}", Named("tenant"));
  for (std::string path : {"/", "/api", "/api/v1/tenants", "/api/v1/tenants/acme/x", "/API/v1/tenants/acme", ""}) {
    HttpResponse response = Call(router, Request("GET", path));
    EXPECT_EQ(response.status, 404) << path;
    EXPECT_FALSE(ProblemDetail(response).empty());
  }
}

TEST(RouterTest, WrongMethodIs405WithAllow) {
  Router router;
  router.Add("POST", "/api/v1/tenants/{tenant}/events", Named("ingest"));
  router.Add("GET", "/api/v1/tenants/{tenant}/events", Named("list"));
  router.Add("GET", "/api/v1/tenants/{tenant}/other", Named("other"));
  HttpResponse response = Call(router, Request("DELETE", "/api/v1/tenants/acme/events"));
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(Header(response, "Allow"), "GET, POST");
  EXPECT_NE(ProblemDetail(response).find("DELETE"), std::string::npos);
}

TEST(RouterTest, BadEscapeInRawPathIs400) {
  Router router;
  router.Add("GET", "/members/{ref}", Named("member"));
  EXPECT_EQ(Call(router, Request("GET", "/members/x", "/members/%zz")).status, 400);
}

// A misspelt filter used to be ignored and everything answered.
TEST(RouterTest, QueryParametersARouteDoesNotTakeAre422NamingEach) {
  Router router;
  router.Add("GET", "/members", Named("members"), {"limit", "city"});
  router.Add("GET", "/plain", Named("plain"));
  HttpRequest ok = Request("GET", "/members");
  ok.query = {{"limit", "3"}, {"city", "深圳"}};
  EXPECT_EQ(Call(router, ok).body, "members");
  HttpRequest typo = Request("GET", "/members");
  typo.query = {{"limit", "3"}, {"tier", "gold"}, {"citty", "x"}, {"tier", "silver"}};
  const HttpResponse refused = Call(router, typo);
  EXPECT_EQ(refused.status, 422);
  const auto errors = boost::json::parse(refused.body).at("errors").as_array();
  ASSERT_EQ(errors.size(), 2u);  // each name once
  EXPECT_EQ(errors[0].at("field").as_string(), "tier");
  EXPECT_EQ(errors[1].at("field").as_string(), "citty");
  HttpRequest none = Request("GET", "/plain");
  none.query = {{"x", "1"}};
  EXPECT_EQ(Call(router, none).status, 422);
}

TEST(RouterDeathTest, MalformedOrDuplicatePatternsStopTheProcess) {
  Router router;
  router.Add("GET", "/members/{ref}", Named("member"));
  EXPECT_DEATH(router.Add("GET", "members", Named("x")), "");
  EXPECT_DEATH(router.Add("GET", "/members/{}", Named("x")), "");
  EXPECT_DEATH(router.Add("GET", "/members/x{ref}", Named("x")), "");
  EXPECT_DEATH(router.Add("GET", "/a/{id}/b/{id}", Named("x")), "");
  EXPECT_DEATH(router.Add("GET", "/members/{other}", Named("x")), "");
}

}  // namespace
}  // namespace pond
