// Pond over its HTTP API (CONTRACT.md "Events", "Coupons and flash sales"),
// as a POS or a mini-program would call it: tenant "bench" on loopback, which
// needs no API key.
#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>

#include "promotions_bench.hpp"

namespace pond::bench {
namespace {

constexpr std::string_view kTenant = "/api/v1/tenants/bench";
// Member events go in batches, as an import would send them.
constexpr int64_t kMembersPerBatch = 5000;
constexpr int kSetupConnections = 2;

LoadOptions PondLoad(const BenchOptions& options, int connections) {
  return LoadOptions{
      .endpoint = options.pond, .wire = Wire::kHttp, .connections = connections, .deadline = options.deadline};
}

const boost::json::object* ParseObject(std::string_view body, boost::json::value& holder) {
  boost::system::error_code ec;
  holder = boost::json::parse(body, ec);
  return !ec && holder.is_object() ? &holder.as_object() : nullptr;
}

std::string StringField(std::string_view body, std::string_view name) {
  boost::json::value holder;
  const boost::json::object* o = ParseObject(body, holder);
  const boost::json::value* v = o ? o->if_contains(name) : nullptr;
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

int64_t IntField(std::string_view body, std::string_view name) {
  boost::json::value holder;
  const boost::json::object* o = ParseObject(body, holder);
  const boost::json::value* v = o ? o->if_contains(name) : nullptr;
  return v && v->is_int64() ? v->as_int64() : -1;
}

// "200", or the status and the refusal's reason: "409 sold_out".
std::string HttpOutcome(const Reply& reply) {
  std::string outcome = std::to_string(reply.status);
  if (reply.status >= 300) {
    const std::string reason = StringField(reply.body, "reason");
    if (!reason.empty()) outcome += " " + reason;
  }
  return outcome;
}

OwnedReply PondCall(const BenchOptions& options, std::string_view method, const std::string& path,
                    std::string_view body = {}, std::string_view content_type = "application/json") {
  std::string request;
  AppendHttpRequest(request, method, path, body, content_type);
  return Call(options.pond, Wire::kHttp, std::move(request), options.deadline);
}

std::string Describe(const OwnedReply& reply) {
  if (!reply.error.empty()) return reply.error;
  return "answered " + std::to_string(reply.status) + " " + reply.body.substr(0, 200);
}

// RFC 3339 in China Standard Time, the zone the contract's examples use.
std::string Rfc3339Cst(int64_t unix_seconds) {
  const std::time_t shifted = static_cast<std::time_t>(unix_seconds + 8 * 3600);
  std::tm tm{};
  gmtime_r(&shifted, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S+08:00", &tm);
  return text;
}

// Counters from /metrics for tenant "bench": how the writer grouped commits.
struct WriterCounters {
  int64_t commands = 0, commits = 0;
  double commit_seconds = 0;
};

WriterCounters ReadCounters(const BenchOptions& options) {
  WriterCounters counters;
  const OwnedReply reply = PondCall(options, "GET", "/metrics");
  std::istringstream lines(reply.body);
  std::string line;
  auto value_of = [&](std::string_view family) -> std::optional<double> {
    const std::string prefix = std::string(family) + "{tenant=\"bench\"} ";
    if (!line.starts_with(prefix)) return std::nullopt;
    return std::stod(line.substr(prefix.size()));
  };
  while (std::getline(lines, line)) {
    if (auto v = value_of("pond_commands_total")) counters.commands = static_cast<int64_t>(*v);
    if (auto v = value_of("pond_commits_total")) counters.commits = static_cast<int64_t>(*v);
    if (auto v = value_of("pond_commit_seconds_sum")) counters.commit_seconds = *v;
  }
  return counters;
}

std::string CommitNote(const WriterCounters& before, const WriterCounters& after) {
  const int64_t commits = after.commits - before.commits;
  if (commits <= 0) return {};
  char text[160];
  std::snprintf(text, sizeof text, "%lld group commits, %.1f writes each, %.2f ms each",
                static_cast<long long>(commits),
                static_cast<double>(after.commands - before.commands) / static_cast<double>(commits),
                (after.commit_seconds - before.commit_seconds) * 1e3 / static_cast<double>(commits));
  return text;
}

// The tenant, its members and the coupon template; an error text on failure.
std::string SetUp(const BenchOptions& options, const Workload& workload, int64_t& template_id) {
  OwnedReply tenant = PondCall(options, "POST", "/api/v1/tenants", R"({"id":"bench","name":"bench"})");
  if (tenant.status != 201) {
    return "creating tenant bench " + Describe(tenant) +
           (tenant.status == 409 ? " (the data directory must be new)" : "");
  }

  const size_t batches = static_cast<size_t>((workload.members + kMembersPerBatch - 1) / kMembersPerBatch);
  int64_t accepted = 0;
  const std::string events = std::string(kTenant) + "/events";
  LoadResult load = Drive(
      PondLoad(options, kSetupConnections), batches,
      [&](size_t batch, std::string& out) {
        std::string lines;
        const int64_t first = static_cast<int64_t>(batch) * kMembersPerBatch;
        for (int64_t m = first; m < std::min(workload.members, first + kMembersPerBatch); ++m) {
          lines += R"({"type":"member","member":{"phone":")" + Phone(m) + "\"}}\n";
        }
        AppendHttpRequest(out, "POST", events, lines, "application/x-ndjson");
      },
      [&](size_t, const Reply& reply) { accepted += reply.status == 200 ? IntField(reply.body, "accepted") : 0; });
  if (!load.error.empty()) return "loading members: " + load.error;
  if (accepted != workload.members) {
    return "loading members: " + std::to_string(accepted) + " of " + std::to_string(workload.members) + " accepted";
  }

  OwnedReply made = PondCall(options, "POST", std::string(kTenant) + "/coupon-templates",
                             R"({"name":"bench","kind":"no_threshold","off_fen":800,"valid_days":30})");
  template_id = made.status == 201 ? IntField(made.body, "id") : -1;
  if (template_id <= 0) return "creating the coupon template " + Describe(made);
  return {};
}

PhaseResult IssueCoupons(const BenchOptions& options, const Workload& workload, int64_t template_id,
                         std::vector<std::string>& codes) {
  PhaseResult phase{.phase = "issue", .system = "pond"};
  codes.assign(static_cast<size_t>(workload.members), {});
  const std::string path = std::string(kTenant) + "/coupons";
  const std::string head = R"({"template_id":)" + std::to_string(template_id) + R"(,"member":{"phone":")";
  phase.load = Drive(
      PondLoad(options, options.connections), codes.size(),
      [&](size_t i, std::string& out) {
        AppendHttpRequest(out, "POST", path, head + Phone(static_cast<int64_t>(i)) + "\"}}");
      },
      [&](size_t i, const Reply& reply) {
        ++phase.outcomes[HttpOutcome(reply)];
        if (reply.status == 201) codes[i] = StringField(reply.body, "code");
      });
  RequireAll(phase, "201", codes.size());
  return phase;
}

PhaseResult RedeemCoupons(const BenchOptions& options, const std::vector<std::string>& codes) {
  PhaseResult phase{.phase = "redeem", .system = "pond"};
  auto redeem_path = [&](size_t i) { return std::string(kTenant) + "/coupons/" + codes[i] + "/redeem"; };
  const WriterCounters before = ReadCounters(options);
  phase.load = Drive(
      PondLoad(options, options.connections), codes.size(),
      [&](size_t i, std::string& out) {
        AppendHttpRequest(out, "POST", redeem_path(i), R"({"order_id":")" + OrderId(i) + "\"}");
      },
      [&](size_t, const Reply& reply) { ++phase.outcomes[HttpOutcome(reply)]; });
  phase.note = CommitNote(before, ReadCounters(options));
  RequireAll(phase, "200", codes.size());

  // CONTRACT.md: the same order_id again -> 200 and nothing changes;
  // another order -> 409 already_redeemed.
  const size_t sample = std::min(codes.size(), static_cast<size_t>(kRedeemSample));
  auto sampled = [&](size_t k) { return k * codes.size() / sample; };
  Verify(
      PondLoad(options, options.connections), phase, "same order again answers 200 with that order", sample,
      [&](size_t k, std::string& out) {
        AppendHttpRequest(out, "POST", redeem_path(sampled(k)), R"({"order_id":")" + OrderId(sampled(k)) + "\"}");
      },
      [&](size_t k, const Reply& reply) {
        return reply.status == 200 && StringField(reply.body, "order_id") == OrderId(sampled(k));
      });
  Verify(
      PondLoad(options, options.connections), phase, "another order answers 409 already_redeemed", sample,
      [&](size_t k, std::string& out) {
        AppendHttpRequest(out, "POST", redeem_path(sampled(k)), R"({"order_id":"other-)" + OrderId(sampled(k)) + "\"}");
      },
      [&](size_t, const Reply& reply) { return HttpOutcome(reply) == "409 already_redeemed"; });
  Verify(
      PondLoad(options, options.connections), phase, "every coupon reads redeemed by its order", codes.size(),
      [&](size_t i, std::string& out) { AppendHttpRequest(out, "GET", std::string(kTenant) + "/coupons/" + codes[i]); },
      [&](size_t i, const Reply& reply) {
        return reply.status == 200 && StringField(reply.body, "state") == "redeemed" &&
               StringField(reply.body, "order_id") == OrderId(i);
      });
  return phase;
}

PhaseResult ClaimFlashSale(const BenchOptions& options, const Workload& workload, int64_t& activity_id) {
  PhaseResult phase{.phase = "claim", .system = "pond"};
  const std::string activity =
      R"({"kind":"flash_sale","name":"bench","sku":"SKU-1","price_fen":990,"stock":)" + std::to_string(workload.stock) +
      R"(,"per_member_limit":)" + std::to_string(workload.per_member_limit) + R"(,"starts_at":")" +
      Rfc3339Cst(workload.starts_at) + R"(","ends_at":")" + Rfc3339Cst(workload.ends_at) + "\"}";
  const OwnedReply made = PondCall(options, "POST", std::string(kTenant) + "/activities", activity);
  if (made.error.empty() && (made.status == 404 || made.status == 405)) {
    phase.available = false;
    phase.note = "not available: POST /activities answered " + std::to_string(made.status) +
                 " (this build of Pond has no flash sales)";
    return phase;
  }
  activity_id = made.status == 201 ? IntField(made.body, "id") : -1;
  if (activity_id <= 0) {
    phase.failures.push_back("creating the flash sale " + Describe(made));
    return phase;
  }
  const std::string activity_path = std::string(kTenant) + "/activities/" + std::to_string(activity_id);
  const std::string claims_path = activity_path + "/claims";
  std::vector<int32_t> wins_per_member(static_cast<size_t>(workload.members), 0);
  const WriterCounters before = ReadCounters(options);
  phase.load = Drive(
      PondLoad(options, options.connections), workload.claimants.size(),
      [&](size_t i, std::string& out) {
        AppendHttpRequest(out, "POST", claims_path, R"({"member":{"phone":")" + Phone(workload.claimants[i]) + "\"}}");
      },
      [&](size_t i, const Reply& reply) {
        ++phase.outcomes[HttpOutcome(reply)];
        if (reply.status == 201) ++wins_per_member[workload.claimants[i]];
      });
  phase.note = CommitNote(before, ReadCounters(options));
  if (!phase.load.error.empty()) phase.failures.push_back(phase.load.error);
  CheckClaims(phase, workload, wins_per_member, "201", {"409 sold_out", "409 limit_reached"});

  const OwnedReply read = PondCall(options, "GET", activity_path);
  const int64_t claimed = read.status == 200 ? IntField(read.body, "claimed") : -1;
  const int64_t won = phase.outcomes["201"];
  if (claimed != won) {
    phase.failures.push_back("GET activity says claimed " + std::to_string(claimed) + ", the client saw " +
                             std::to_string(won) + " won" + (claimed < 0 ? " (" + Describe(read) + ")" : ""));
  } else {
    phase.checks.push_back("GET activity claimed = " + std::to_string(claimed));
  }
  return phase;
}

// First line "activity ID CLAIMED" (ID 0: no sale), then "CODE ORDER" per coupon.
void WriteState(const std::string& path, const std::vector<std::string>& codes, int64_t activity_id, int64_t claimed) {
  std::ofstream out(path);
  out << "activity " << activity_id << " " << claimed << "\n";
  for (size_t i = 0; i < codes.size(); ++i) out << codes[i] << " " << OrderId(i) << "\n";
}

}  // namespace

std::vector<PhaseResult> RunPond(const BenchOptions& options, const Workload& workload) {
  int64_t template_id = 0;
  if (std::string error = SetUp(options, workload, template_id); !error.empty()) {
    return {PhaseResult{.phase = "setup", .system = "pond", .failures = {error}}};
  }
  std::vector<std::string> codes;
  std::vector<PhaseResult> phases;
  phases.push_back(IssueCoupons(options, workload, template_id, codes));
  if (!phases.back().failures.empty()) return phases;
  phases.push_back(RedeemCoupons(options, codes));
  int64_t activity_id = 0;
  phases.push_back(ClaimFlashSale(options, workload, activity_id));
  if (!options.state_file.empty()) {
    const PhaseResult& claims = phases.back();
    const auto won = claims.outcomes.find("201");
    WriteState(options.state_file, codes, claims.available ? activity_id : 0,
               won == claims.outcomes.end() ? 0 : won->second);
  }
  return phases;
}

PhaseResult RecheckPond(const BenchOptions& options) {
  PhaseResult phase{.phase = "after kill -9", .system = "pond"};
  std::ifstream in(options.state_file);
  std::string word;
  int64_t activity_id = 0, claimed = 0;
  if (!(in >> word >> activity_id >> claimed) || word != "activity") {
    phase.failures.push_back("cannot read " + options.state_file);
    return phase;
  }
  std::vector<std::pair<std::string, std::string>> coupons;
  std::string code, order;
  while (in >> code >> order) coupons.emplace_back(code, order);
  Verify(
      PondLoad(options, options.connections), phase, "every acknowledged redemption survived", coupons.size(),
      [&](size_t i, std::string& out) {
        AppendHttpRequest(out, "GET", std::string(kTenant) + "/coupons/" + coupons[i].first);
      },
      [&](size_t i, const Reply& reply) {
        return reply.status == 200 && StringField(reply.body, "state") == "redeemed" &&
               StringField(reply.body, "order_id") == coupons[i].second;
      });
  if (activity_id > 0) {
    const OwnedReply read =
        PondCall(options, "GET", std::string(kTenant) + "/activities/" + std::to_string(activity_id));
    const int64_t now_claimed = read.status == 200 ? IntField(read.body, "claimed") : -1;
    if (now_claimed != claimed) {
      phase.failures.push_back("claimed " + std::to_string(now_claimed) + " after the restart, " +
                               std::to_string(claimed) + " acknowledged before");
    } else {
      phase.checks.push_back("every acknowledged claim survived (" + std::to_string(claimed) + ")");
    }
  }
  return phase;
}

}  // namespace pond::bench
