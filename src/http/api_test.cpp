#include "http/api.hpp"
#include "http/openapi.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <iterator>
#include <set>
#include <future>

#include "engine/testing/memory_store.hpp"

namespace pond {
namespace {

namespace json = boost::json;

class ApiTest : public ::testing::Test {
 protected:
  ApiTest() : engine_(store_, clock_), keys_(store_), handler_(MakeApiHandler(engine_, keys_)) {}

  HttpResponse Call(std::string method, std::string path, std::string body = "",
                    std::vector<std::pair<std::string, std::string>> headers = {}, bool loopback = true) {
    HttpRequest req;
    req.method = std::move(method);
    const auto q = path.find('?');
    if (q != std::string::npos) {
      std::string query = path.substr(q + 1);
      path.resize(q);
      size_t start = 0;
      while (start <= query.size()) {
        size_t amp = query.find('&', start);
        if (amp == std::string::npos) amp = query.size();
        std::string kv = query.substr(start, amp - start);
        const auto eq = kv.find('=');
        req.query.emplace_back(*PercentDecode(kv.substr(0, eq), true),
                               *PercentDecode(eq == std::string::npos ? "" : kv.substr(eq + 1), true));
        start = amp + 1;
      }
    }
    req.path = std::move(path);
    req.body = std::move(body);
    req.headers = std::move(headers);
    req.remote_is_loopback = loopback;
    std::promise<HttpResponse> p;
    handler_(std::move(req), [&](HttpResponse r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  json::value Body(const HttpResponse& r) { return json::parse(r.body); }

  void CreateTenant() { ASSERT_EQ(Call("POST", "/api/v1/tenants", R"({"id":"acme","name":"Acme"})").status, 201); }

  testing::MemoryStore store_;
  ManualClock clock_{Timestamp::FromSeconds(1'795'000'000)};
  Engine engine_;
  KeyRing keys_;
  HttpHandler handler_;
};

constexpr const char* kOrder =
    R"({"type":"order","order_id":"POS-1","member":{"phone":"13800000001"},"channel":"store","store":"S001",)"
    R"("paid_at":"2026-03-04T19:20:00+08:00","paid_fen":6800,"items":[{"sku":"SKU-1","category":"food","qty":2,"paid_fen":6800}]})";

TEST_F(ApiTest, TenantCreationValidatesAndIsSafeToRetry) {
  auto r = Call("POST", "/api/v1/tenants", R"({"id":"Bad Id!","timezone":"Mars/Base"})");
  EXPECT_EQ(r.status, 422);
  auto errors = Body(r).at("errors").as_array();
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].at("field"), "id");
  EXPECT_EQ(errors[1].at("field"), "timezone");
  CreateTenant();
  EXPECT_EQ(Call("POST", "/api/v1/tenants", R"({"id":"acme","name":"Acme"})").status, 201);
  EXPECT_EQ(Call("POST", "/api/v1/tenants", R"({"id":"acme","name":"Other"})").status, 409);
  EXPECT_EQ(Body(Call("GET", "/api/v1/tenants/acme")).at("timezone"), "Asia/Shanghai");
  EXPECT_EQ(Call("POST", "/api/v1/tenants", "{not json").status, 400);
  // Times come back in the tenant's zone, on creation as on reading.
  auto ny = Body(Call("POST", "/api/v1/tenants", R"({"id":"ny","timezone":"America/New_York"})"));
  EXPECT_EQ(std::string(ny.at("created_at").as_string()).substr(19), "-05:00");
  EXPECT_EQ(Body(Call("GET", "/api/v1/tenants/ny")).at("created_at"), ny.at("created_at"));
}

TEST_F(ApiTest, EventsAreAppliedAndMembersReadableByEveryRef) {
  CreateTenant();
  auto r = Call("POST", "/api/v1/tenants/acme/events",
                std::string(kOrder) + "\n" +
                    R"({"type":"member","member":{"phone":"13800000001","unionid":"o6_abc"},"name":"王小明","gender":"female","birthday":"1995-11-22"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"accepted":2,"duplicates":0,"rejected":[]})");
  for (const char* ref : {"1", "phone:13800000001", "unionid:o6_abc"}) {
    auto m = Call("GET", std::string("/api/v1/tenants/acme/members/") + ref);
    ASSERT_EQ(m.status, 200) << ref;
    auto b = Body(m);
    EXPECT_EQ(b.at("member_id"), 1);
    EXPECT_EQ(b.at("identities").at("phone").at(0), "138****0001");  // masked
    EXPECT_EQ(b.at("name"), "王小明");
    EXPECT_EQ(b.at("orders").at("paid_fen"), 6800);
    EXPECT_EQ(b.at("source"), "order");
  }
  auto revealed = Body(Call("GET", "/api/v1/tenants/acme/members/1?reveal=phone"));
  EXPECT_EQ(revealed.at("identities").at("phone").at(0), "13800000001");
  EXPECT_EQ(Call("GET", "/api/v1/tenants/acme/members/phone:13900000000").status, 404);
  EXPECT_EQ(Body(Call("GET", "/api/v1/tenants/acme/members/phone:+8613800000001")).at("member_id"), 1);
  EXPECT_EQ(Call("GET", "/api/v1/tenants/acme/members/phone:12").status, 422);
  EXPECT_EQ(Call("GET", "/api/v1/tenants/acme/members/wechat:x").status, 422);
  EXPECT_EQ(Call("GET", "/api/v1/tenants/nope/members/1").status, 404);
}

TEST_F(ApiTest, BadLinesAreRejectedByFieldAndGoodLinesStillApply) {
  CreateTenant();
  auto r = Call("POST", "/api/v1/tenants/acme/events",
                std::string("[") + kOrder + "," + R"({"type":"order","order_id":"X","member":{},"paid_fen":-5})" + "," +
                    kOrder + "]");
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = Body(r);
  EXPECT_EQ(b.at("accepted"), 1);
  EXPECT_EQ(b.at("duplicates"), 1);
  ASSERT_EQ(b.at("rejected").as_array().size(), 1u);
  EXPECT_EQ(b.at("rejected").at(0).at("line"), 2);
  std::set<std::string> fields;
  for (const auto& e : b.at("rejected").at(0).at("errors").as_array()) fields.insert(std::string(e.at("field").as_string()));
  EXPECT_TRUE(fields.count("paid_fen"));
  EXPECT_TRUE(fields.count("member"));
  EXPECT_TRUE(fields.count("paid_at"));
}

// Who did something is the request's actor, never the body's "by"; every
// write's answer carries its request id.
TEST_F(ApiTest, WritesRunForTheRequestsActorAndAnswerWithItsRequestId) {
  CreateTenant();
  ASSERT_EQ(Call("POST", "/api/v1/tenants/acme/tags", R"({"name":"VIP","by":"someone else"})").status, 201);
  auto key = keys_.Create("acme", Role::kOperator, clock_.Now());
  ASSERT_TRUE(key.ok());
  ASSERT_EQ(Call("POST", "/api/v1/tenants/acme/events", kOrder).status, 200);
  auto tagged = Call("POST", "/api/v1/tenants/acme/tags/VIP/members", R"({"add":[1],"by":"E0007"})",
                     {{"authorization", "Bearer " + *key}, {"x-request-id", "req-42"}}, /*loopback=*/false);
  ASSERT_EQ(tagged.status, 200) << tagged.body;
  auto header = [](const HttpResponse& r, std::string_view name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return std::string();
  };
  EXPECT_EQ(header(tagged, "X-Request-Id"), "req-42");
  const auto ops = Body(Call("GET", "/api/v1/tenants/acme/tags/VIP/operations")).at("operations").as_array();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].at("by").as_string(), "key:" + KeyRing::IdOf(*key));
  EXPECT_EQ(Body(Call("GET", "/api/v1/tenants/acme/tags/VIP")).at("created_by"), "local");
  // A request id of ours when the client's is missing or not sane.
  auto untagged = Call("POST", "/api/v1/tenants/acme/tags/VIP/members", R"({"remove":[1]})", {{"x-request-id", "a b"}});
  EXPECT_EQ(header(untagged, "X-Request-Id").size(), 16u);
}

TEST_F(ApiTest, IdempotencyKeyReplaysTheFirstAnswer) {
  CreateTenant();
  std::vector<std::pair<std::string, std::string>> h = {{"idempotency-key", "k1"}};
  auto first = Call("POST", "/api/v1/tenants/acme/events", kOrder, h);
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(Body(first).at("accepted"), 1);
  auto replay = Call("POST", "/api/v1/tenants/acme/events", kOrder, h);
  EXPECT_EQ(replay.body, first.body);  // not "duplicates":1
  EXPECT_EQ(Body(Call("POST", "/api/v1/tenants/acme/events", kOrder)).at("duplicates"), 1);
  // The key was stored with the write, so a restart still replays it.
  Engine restarted(store_, clock_);
  ASSERT_TRUE(restarted.Start().ok());
  const Timestamp now = clock_.Now();
  auto found = restarted.Tenant("acme")->Read(
      [&](const TenantState& s) { return s.FindIdempotent("POST /api/v1/tenants/acme/events k1", now) != nullptr; });
  EXPECT_TRUE(found);
  restarted.Stop();

  // Answers are kept 7 days: the day run then drops them from the store,
  // and the key names a new request.
  clock_.AdvanceSeconds(7 * 86400 - 1);
  EXPECT_EQ(Call("POST", "/api/v1/tenants/acme/events", kOrder, h).body, first.body) << "still within 7 days";
  clock_.AdvanceSeconds(86400 + 1);
  ASSERT_EQ(Call("POST", "/api/v1/tenants/acme/scheduler/run", "").status, 200);
  Engine again(store_, clock_);
  ASSERT_TRUE(again.Start().ok());
  EXPECT_EQ(again.Tenant("acme")->Read(
                [&](const TenantState& s) { return s.FindIdempotent("POST /api/v1/tenants/acme/events k1", Timestamp()); }),
            nullptr)
      << "the day run dropped the old answer";
  again.Stop();
  EXPECT_EQ(Body(Call("POST", "/api/v1/tenants/acme/events", kOrder, h)).at("duplicates"), 1)
      << "after 7 days the key names a new request";
}

TEST_F(ApiTest, MergesAreVisibleOnTheSurvivorAndThroughTheMergedNumber) {
  CreateTenant();
  Call("POST", "/api/v1/tenants/acme/events",
       R"({"type":"member","member":{"phone":"13800000001"},"source":"store_qr"})"
       "\n"
       R"({"type":"member","member":{"unionid":"o6_x"},"source":"official_account"})");
  auto r = Call("POST", "/api/v1/tenants/acme/events",
                R"({"type":"member","member":{"phone":"13800000001","unionid":"o6_x"}})");
  EXPECT_EQ(Body(r).at("accepted"), 1);
  auto m = Body(Call("GET", "/api/v1/tenants/acme/members/2"));
  EXPECT_EQ(m.at("member_id"), 1);
  EXPECT_EQ(m.at("merged_member_id"), 2);
  EXPECT_EQ(m.at("merges").at(0).at("merged_member_id"), 2);
  EXPECT_EQ(m.at("merges").at(0).at("reason"), "phone+unionid");
  auto page = Body(Call("GET", "/api/v1/tenants/acme/members?limit=10"));
  EXPECT_EQ(page.at("members").as_array().size(), 1u);
}

TEST_F(ApiTest, MemberListPagesAndFilters) {
  CreateTenant();
  std::string body;
  for (int i = 0; i < 25; ++i) {
    body += R"({"type":"member","member":{"pos_id":"P)" + std::to_string(i) + R"("},"city":")" +
            (i % 2 ? "深圳" : "上海") + "\"}\n";
  }
  ASSERT_EQ(Body(Call("POST", "/api/v1/tenants/acme/events", body)).at("accepted"), 25);
  int64_t after = 0, seen = 0;
  for (int page = 0; page < 10; ++page) {
    auto b = Body(Call("GET", "/api/v1/tenants/acme/members?limit=4&city=%E6%B7%B1%E5%9C%B3&after=" + std::to_string(after)));
    for (const auto& m : b.at("members").as_array()) {
      EXPECT_EQ(m.at("city"), "深圳");
      ++seen;
    }
    if (b.at("next_after").is_null()) break;
    after = b.at("next_after").as_int64();
  }
  EXPECT_EQ(seen, 12);
  EXPECT_EQ(Call("GET", "/api/v1/tenants/acme/members?limit=0").status, 422);
  EXPECT_EQ(Call("GET", "/api/v1/tenants/acme/members?gender=x").status, 422);
}

TEST_F(ApiTest, MasterDataGoesThroughTheSameValidation) {
  CreateTenant();
  auto r = Call("POST", "/api/v1/tenants/acme/stores",
                R"([{"id":"S001","name":"深圳万象城店","city":"深圳","lat":22.54,"lng":113.95},{"name":"no id"}])");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r).at("accepted"), 1);
  EXPECT_EQ(Body(r).at("rejected").at(0).at("errors").at(0).at("field"), "id");
  auto stores = Body(Call("GET", "/api/v1/tenants/acme/stores"));
  EXPECT_EQ(stores.at("stores").at(0).at("name"), "深圳万象城店");
  EXPECT_EQ(Call("POST", "/api/v1/tenants/acme/stores", "[1,").status, 400);
}

TEST_F(ApiTest, KeysDecideOffLoopback) {
  CreateTenant();
  EXPECT_EQ(Call("GET", "/api/v1/tenants/acme", "", {}, /*loopback=*/false).status, 401);
  auto analyst = keys_.Create("acme", Role::kAnalyst, clock_.Now());
  auto other = keys_.Create("other", Role::kAdmin, clock_.Now());
  ASSERT_TRUE(analyst.ok() && other.ok());
  auto bearer = [](const std::string& k) { return std::vector<std::pair<std::string, std::string>>{{"authorization", "Bearer " + k}}; };
  EXPECT_EQ(Call("GET", "/api/v1/tenants/acme", "", bearer(*analyst), false).status, 200);
  EXPECT_EQ(Call("POST", "/api/v1/tenants/acme/events", kOrder, bearer(*analyst), false).status, 403);
  EXPECT_EQ(Call("GET", "/api/v1/tenants/acme", "", bearer(*other), false).status, 403);
  EXPECT_EQ(Call("GET", "/api/v1/tenants/acme", "", bearer("pond_nope"), false).status, 401);
  // Listing tenants needs a key for every tenant; creating one needs admin.
  EXPECT_EQ(Call("GET", "/api/v1/tenants", "", bearer(*analyst), false).status, 403);
  auto all_analyst = keys_.Create("*", Role::kAnalyst, clock_.Now());
  EXPECT_EQ(Call("GET", "/api/v1/tenants", "", bearer(*all_analyst), false).status, 200);
  EXPECT_EQ(Call("POST", "/api/v1/tenants", R"({"id":"x"})", bearer(*all_analyst), false).status, 403);
  // Only the hash is stored.
  for (const auto& k : *store_.ListApiKeys()) EXPECT_EQ(k.secret_hash.find(*analyst), std::string::npos);
}

TEST_F(ApiTest, OperationsEndpointsAnswer) {
  CreateTenant();
  Call("POST", "/api/v1/tenants/acme/events", kOrder);
  EXPECT_EQ(Body(Call("GET", "/healthz")).at("status"), "ok");
  auto m = Call("GET", "/metrics");
  EXPECT_NE(m.body.find("pond_events_accepted_total{tenant=\"acme\"} 1"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("pond_members{tenant=\"acme\"} 1"), std::string::npos);
  EXPECT_NE(m.body.find("pond_effects_delivered_total{tenant=\"acme\"} 0"), std::string::npos);
  EXPECT_NE(m.body.find("pond_exclusive_seconds_max{tenant=\"acme\"} 0."), std::string::npos);
  EXPECT_NE(m.body.find("pond_exclusive_wait_seconds_sum{tenant=\"acme\"} "), std::string::npos);
  // The holds' histogram: cumulative buckets that never fall, ending at
  // the count; the tenant's creation and the event were holds.
  auto value = [&](const std::string& series) {
    const size_t at = m.body.find(series + " ");
    EXPECT_NE(at, std::string::npos) << series;
    return at == std::string::npos ? -1.0 : std::stod(m.body.substr(at + series.size() + 1));
  };
  const std::string tenant = "{tenant=\"acme\"";
  const double count = value("pond_exclusive_hold_seconds_count" + tenant + "}");
  EXPECT_GE(count, 1);
  double before = 0;
  for (const char* le : {"0.001", "0.002", "0.005", "0.01", "0.02", "0.05", "0.1", "+Inf"}) {
    const double within = value("pond_exclusive_hold_seconds_bucket" + tenant + ",le=\"" + le + "\"}");
    EXPECT_GE(within, before) << le;
    before = within;
  }
  EXPECT_EQ(before, count);
  EXPECT_GE(value("pond_exclusive_hold_seconds_sum" + tenant + "}"), 0);
  EXPECT_TRUE(Body(Call("GET", "/api/v1/openapi.json")).as_object().contains("paths"));
}

// The OpenAPI document is what integrators read: every route served is in
// it and every operation in it is served (a new route without its
// documentation, or a documented one gone, fails here).
TEST_F(ApiTest, TheOpenApiDocumentDescribesExactlyTheRoutesServed) {
  std::set<std::string> served, documented;
  for (const auto& [method, pattern] : ApiRoutes(engine_, keys_)) served.insert(method + " " + pattern);
  const boost::json::value doc = boost::json::parse(OpenApiDocument());
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    for (const auto& [method, operation] : item.as_object()) {
      if (method == "parameters") continue;
      std::string upper(method);
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      documented.insert(upper + " " + std::string(path));
    }
  }
  std::vector<std::string> undocumented, unserved;
  std::set_difference(served.begin(), served.end(), documented.begin(), documented.end(),
                      std::back_inserter(undocumented));
  std::set_difference(documented.begin(), documented.end(), served.begin(), served.end(),
                      std::back_inserter(unserved));
  EXPECT_TRUE(undocumented.empty()) << ::testing::PrintToString(undocumented);
  EXPECT_TRUE(unserved.empty()) << ::testing::PrintToString(unserved);
  EXPECT_GT(served.size(), 50u);
}

}  // namespace
}  // namespace pond
