// Redis as the peer: the same check-and-write as Pond's, each one Lua script
// that Redis runs atomically (EVALSHA), made durable by the append-only file.
// With appendfsync always Redis fsyncs the file before it sends the replies
// of an event-loop pass, so a reply means on disk — the promise Pond's group
// commit makes. run.sh starts the server; README.md says why it is set so.
#include <algorithm>
#include <random>

#include "promotions_bench.hpp"

namespace pond::bench {
namespace {

// KEYS[1]: the coupon's hash {state, member, valid_to, order_id}.
// ARGV[1]: the order id. A coupon redeems once; the same order again is
// answered as a success and changes nothing (CONTRACT.md redeem).
constexpr std::string_view kRedeemScript = R"lua(
local c = redis.call('HMGET', KEYS[1], 'state', 'order_id', 'valid_to')
if not c[1] then return {0, 'not_found'} end
if c[1] == 'redeemed' then
  if c[2] == ARGV[1] then return {1, 'redeemed'} end
  return {0, 'already_redeemed'}
end
if c[1] ~= 'issued' then return {0, c[1]} end
local now = tonumber(redis.call('TIME')[1])
if now >= tonumber(c[3]) then return {0, 'expired'} end
redis.call('HSET', KEYS[1], 'state', 'redeemed', 'order_id', ARGV[1], 'changed_at', now)
return {1, 'redeemed'}
)lua";

// KEYS[1]: units left; KEYS[2]: hash member -> units claimed; KEYS[3]: the
// claims, a stream whose entry id is the claim id.
// ARGV: member, per-member limit, starts_at, ends_at (Unix seconds).
// The checks in the contract's order of refusals.
constexpr std::string_view kClaimScript = R"lua(
local now = tonumber(redis.call('TIME')[1])
if now < tonumber(ARGV[3]) then return {0, 'not_started'} end
if now >= tonumber(ARGV[4]) then return {0, 'ended'} end
if tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0') >= tonumber(ARGV[2]) then return {0, 'limit_reached'} end
if tonumber(redis.call('GET', KEYS[1]) or '0') <= 0 then return {0, 'sold_out'} end
redis.call('DECR', KEYS[1])
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
return {1, redis.call('XADD', KEYS[3], '*', 'member', ARGV[1])}
)lua";

constexpr std::string_view kStockKey = "sale:stock";
constexpr std::string_view kClaimedKey = "sale:claimed";
constexpr std::string_view kClaimsKey = "sale:claims";
constexpr int64_t kValidSeconds = 30 * 86400;  // the template's valid_days

LoadOptions RedisLoad(const BenchOptions& options) {
  return LoadOptions{
      .endpoint = options.redis, .wire = Wire::kResp, .connections = options.connections, .deadline = options.deadline};
}

OwnedReply RedisCall(const BenchOptions& options, std::initializer_list<std::string_view> args) {
  std::string request;
  AppendRespCommand(request, args);
  return Call(options.redis, Wire::kResp, std::move(request), options.deadline);
}

std::string Describe(const OwnedReply& reply) {
  if (!reply.error.empty()) return reply.error;
  std::string text(1, reply.type);
  for (const std::string& v : reply.values) text += " " + v;
  return text;
}

// A script's {1, detail} or {0, reason} as "redeemed", "claimed", "sold_out"...
std::string ScriptOutcome(const Reply& reply, std::string_view success) {
  if (reply.type == '*' && reply.values.size() == 2) {
    return reply.values[0] == "1" ? std::string(success) : std::string(reply.values[1]);
  }
  if (reply.type == '-') return "error " + std::string(reply.values.empty() ? "" : reply.values[0]);
  return "unexpected reply";
}

// Coupon codes as Pond makes them: 16 characters of Crockford's base 32.
std::string CouponCode(std::mt19937_64& random) {
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  std::string code(16, ' ');
  for (char& c : code) c = kAlphabet[random() % 32];
  return code;
}

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Durable as asked, emptied, scripts loaded; an error text on failure.
std::string Prepare(const BenchOptions& options, std::string_view fsync, std::string& redeem_sha,
                    std::string& claim_sha) {
  const OwnedReply aof = RedisCall(options, {"CONFIG", "GET", "appendonly"});
  if (aof.values.size() != 2 || aof.values[1] != "yes") {
    return "Redis must run with appendonly yes, or its acknowledgements are not durable (" + Describe(aof) + ")";
  }
  for (const OwnedReply& r :
       {RedisCall(options, {"CONFIG", "SET", "appendfsync", fsync}), RedisCall(options, {"FLUSHALL", "SYNC"})}) {
    if (r.type != '+') return "preparing Redis: " + Describe(r);
  }
  const OwnedReply redeem = RedisCall(options, {"SCRIPT", "LOAD", kRedeemScript});
  const OwnedReply claim = RedisCall(options, {"SCRIPT", "LOAD", kClaimScript});
  if (redeem.type != '$' || claim.type != '$')
    return "loading the scripts: " + Describe(redeem) + " / " + Describe(claim);
  redeem_sha = redeem.values[0];
  claim_sha = claim.values[0];
  return {};
}

// One coupon per member, as Pond's issue leaves them; untimed (a plain HSET
// is not the work of Pond's issue, which checks the template and limits).
std::string IssueCoupons(const BenchOptions& options, const Workload& workload, std::vector<std::string>& codes) {
  std::mt19937_64 random(options.seed);
  codes.resize(static_cast<size_t>(workload.members));
  for (std::string& code : codes) code = CouponCode(random);
  const std::string valid_to = std::to_string(UnixNow() + kValidSeconds);
  int64_t stored = 0;
  LoadResult load = Drive(
      RedisLoad(options), codes.size(),
      [&](size_t i, std::string& out) {
        AppendRespCommand(out, {"HSET", "coupon:" + codes[i], "state", "issued", "member",
                                Phone(static_cast<int64_t>(i)), "valid_to", valid_to});
      },
      [&](size_t, const Reply& reply) { stored += reply.type == ':' && reply.values[0] == "3" ? 1 : 0; });
  if (!load.error.empty()) return "issuing coupons: " + load.error;
  if (stored != workload.members) return "issuing coupons: " + std::to_string(stored) + " stored";
  return {};
}

PhaseResult RedeemCoupons(const BenchOptions& options, const std::vector<std::string>& codes, const std::string& sha,
                          const std::string& system) {
  PhaseResult phase{.phase = "redeem", .system = system};
  auto redeem = [&](size_t i, const std::string& order, std::string& out) {
    AppendRespCommand(out, {"EVALSHA", sha, "1", "coupon:" + codes[i], order});
  };
  phase.load = Drive(
      RedisLoad(options), codes.size(), [&](size_t i, std::string& out) { redeem(i, OrderId(i), out); },
      [&](size_t, const Reply& reply) { ++phase.outcomes[ScriptOutcome(reply, "redeemed")]; });
  RequireAll(phase, "redeemed", codes.size());

  const size_t sample = std::min(codes.size(), static_cast<size_t>(kRedeemSample));
  auto sampled = [&](size_t k) { return k * codes.size() / sample; };
  Verify(
      RedisLoad(options), phase, "same order again answers redeemed", sample,
      [&](size_t k, std::string& out) { redeem(sampled(k), OrderId(sampled(k)), out); },
      [&](size_t, const Reply& reply) { return ScriptOutcome(reply, "redeemed") == "redeemed"; });
  Verify(
      RedisLoad(options), phase, "another order answers already_redeemed", sample,
      [&](size_t k, std::string& out) { redeem(sampled(k), "other-" + OrderId(sampled(k)), out); },
      [&](size_t, const Reply& reply) { return ScriptOutcome(reply, "redeemed") == "already_redeemed"; });
  Verify(
      RedisLoad(options), phase, "every coupon reads redeemed by its order", codes.size(),
      [&](size_t i, std::string& out) {
        AppendRespCommand(out, {"HMGET", "coupon:" + codes[i], "state", "order_id"});
      },
      [&](size_t i, const Reply& reply) {
        return reply.values.size() == 2 && reply.values[0] == "redeemed" && reply.values[1] == OrderId(i);
      });
  return phase;
}

PhaseResult ClaimFlashSale(const BenchOptions& options, const Workload& workload, const std::string& sha,
                           const std::string& system) {
  PhaseResult phase{.phase = "claim", .system = system};
  const OwnedReply stocked = RedisCall(options, {"SET", kStockKey, std::to_string(workload.stock)});
  if (stocked.type != '+') {
    phase.failures.push_back("stocking the sale: " + Describe(stocked));
    return phase;
  }
  const std::string limit = std::to_string(workload.per_member_limit);
  const std::string starts_at = std::to_string(workload.starts_at), ends_at = std::to_string(workload.ends_at);
  std::vector<int32_t> wins_per_member(static_cast<size_t>(workload.members), 0);
  phase.load = Drive(
      RedisLoad(options), workload.claimants.size(),
      [&](size_t i, std::string& out) {
        AppendRespCommand(out, {"EVALSHA", sha, "3", kStockKey, kClaimedKey, kClaimsKey, Phone(workload.claimants[i]),
                                limit, starts_at, ends_at});
      },
      [&](size_t i, const Reply& reply) {
        const std::string outcome = ScriptOutcome(reply, "claimed");
        ++phase.outcomes[outcome];
        if (outcome == "claimed") ++wins_per_member[workload.claimants[i]];
      });
  if (!phase.load.error.empty()) phase.failures.push_back(phase.load.error);
  CheckClaims(phase, workload, wins_per_member, "claimed", {"sold_out", "limit_reached"});

  // The server's own view: nothing left, one stream entry per claim won.
  const std::string won = std::to_string(phase.outcomes["claimed"]);
  const OwnedReply left = RedisCall(options, {"GET", kStockKey});
  const OwnedReply logged = RedisCall(options, {"XLEN", kClaimsKey});
  const bool sold_out = left.values.size() == 1 && left.values[0] == "0";
  const bool all_logged = logged.values.size() == 1 && logged.values[0] == won;
  if (sold_out && all_logged) {
    phase.checks.push_back("stock key 0, claims stream holds " + won);
  } else {
    phase.failures.push_back("stock key " + Describe(left) + ", claims stream " + Describe(logged) + ", client saw " +
                             won + " won");
  }
  return phase;
}

}  // namespace

std::vector<PhaseResult> RunRedis(const BenchOptions& options, const Workload& workload, std::string_view fsync) {
  const std::string system = "redis " + std::string(fsync);
  std::string redeem_sha, claim_sha;
  std::vector<std::string> codes;
  std::string error = Prepare(options, fsync, redeem_sha, claim_sha);
  if (error.empty()) error = IssueCoupons(options, workload, codes);
  if (!error.empty()) return {PhaseResult{.phase = "setup", .system = system, .failures = {error}}};
  return {RedeemCoupons(options, codes, redeem_sha, system), ClaimFlashSale(options, workload, claim_sha, system)};
}

}  // namespace pond::bench
