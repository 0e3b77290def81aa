// Activities (DOMAIN.md §7, CONTRACT.md "Coupons and flash sales"): the
// promotions members take part in during a time window, each with stock —
// flash sale (秒杀), group buy (拼团), bargain (砍价), lucky draw and points
// mall (积分兑礼). An Activity is data; the ActivityBook (activity_book.hpp)
// keeps the claims made on it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/money.hpp"
#include "core/status.hpp"
#include "core/time.hpp"

namespace pond::activities {

enum class ActivityKind {
  kFlashSale,  // 秒杀: claim one unit at `price` while stock lasts
  kGroupBuy,   // 拼团: `group_size` members within `group_hours`, or no one buys
  kBargain,    // 砍价: helpers cut `list_price` down to `price`, `helpers` of them
  kLuckyDraw,  // a draw from `prizes` by a recorded seed
  kPointsMall  // 积分兑礼: `points` for the `sku` gift or a coupon of `template_id`
};
std::string_view KindName(ActivityKind kind);  // "flash_sale", "group_buy", ...
std::optional<ActivityKind> KindFromName(std::string_view name);

// A prize of a lucky draw: drawn with probability weight / total weight
// (the total includes `none_weight`, the chance of drawing nothing), while
// its stock lasts; a coupon of `template_id` when set.
struct Prize {
  std::string name;
  int64_t stock = 0;
  int64_t weight = 0;
  int64_t template_id = 0;
};

struct Activity {
  int64_t id = 0;
  ActivityKind kind = ActivityKind::kFlashSale;
  std::string name;
  Timestamp starts_at, ends_at;  // claims are taken in [starts_at, ends_at)
  // Set when an operator ended the activity early: ends_at became that
  // instant (claims made before it stand).
  std::optional<Timestamp> cancelled_at;
  // Units for sale (flash sale, group buy, bargain, points mall); a lucky
  // draw's stock is its prizes'.
  int64_t stock = 0;
  // Successful claims a member may make (a group buy's joins, a bargain's
  // starts, a lucky draw's draws); 0: any.
  int32_t per_member_limit = 1;
  std::string sku;
  Money price;        // what a unit costs the member: the sale, group or bargained price
  Money list_price;   // group buy, bargain: the price before
  int32_t group_size = 0;    // group buy: members a group needs, its opener included (2-3, DOMAIN.md §7)
  int32_t group_hours = 0;   // group buy: how long a group has to fill
  int32_t helpers = 0;       // bargain: the helpers whose cuts reach `price`
  int32_t bargain_hours = 0; // bargain: how long a bargain stays open
  std::string helper_tag;    // bargain: the manual tag helpers get, for later reach
  std::vector<Prize> prizes; // lucky draw
  int64_t none_weight = 0;   // lucky draw: the weight of drawing nothing
  int64_t snapshot_id = 0;   // lucky draw: only members of this frozen audience; 0: anyone
  bool purchase_required = false;  // lucky draw: only members who paid an order inside the window
  uint64_t seed = 0;         // lucky draw, bargain: the recorded seed results follow from
  int64_t points = 0;        // points mall: what a claim costs
  int64_t template_id = 0;   // points mall: the coupon a claim gives (else the `sku` gift)
};

// Checks every field of an activity against its kind; the error names
// each offending field (the names of the API: `price_fen`, `group_size`).
Status CheckActivity(const Activity& a);

// Units that may be taken in all: `stock`, or a lucky draw's prize stock.
int64_t StockOf(const Activity& a);

}  // namespace pond::activities
