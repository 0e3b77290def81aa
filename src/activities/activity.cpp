#include "activities/activity.hpp"

#include <array>

namespace pond::activities {
namespace {

constexpr std::array<std::pair<ActivityKind, std::string_view>, 5> kKinds = {{
    {ActivityKind::kFlashSale, "flash_sale"},
    {ActivityKind::kGroupBuy, "group_buy"},
    {ActivityKind::kBargain, "bargain"},
    {ActivityKind::kLuckyDraw, "lucky_draw"},
    {ActivityKind::kPointsMall, "points_mall"},
}};

constexpr size_t kMaxName = 200;
constexpr int64_t kMaxStock = int64_t{1} << 40;
constexpr size_t kMaxPrizes = 100;
constexpr int32_t kMaxHours = 24 * 90;
constexpr int32_t kMaxHelpers = 1000;

}  // namespace

std::string_view KindName(ActivityKind kind) {
  for (const auto& [k, name] : kKinds) {
    if (k == kind) return name;
  }
  return "flash_sale";
}

std::optional<ActivityKind> KindFromName(std::string_view name) {
  for (const auto& [k, n] : kKinds) {
    if (n == name) return k;
  }
  return std::nullopt;
}

int64_t StockOf(const Activity& a) {
  if (a.kind != ActivityKind::kLuckyDraw) return a.stock;
  int64_t total = 0;
  for (const Prize& p : a.prizes) total += p.stock;
  return total;
}

Status CheckActivity(const Activity& a) {
  Status s = InvalidArgument("the activity is not valid");
  auto bad = [&](std::string field, std::string reason) { s.AddFieldError(std::move(field), std::move(reason)); };
  if (a.name.empty()) bad("name", "is required");
  if (a.name.size() > kMaxName) bad("name", "is longer than 200 bytes");
  // A cancelled activity may have ended as it began (cancelled before it started).
  if (a.ends_at < a.starts_at || (a.ends_at == a.starts_at && !a.cancelled_at)) bad("ends_at", "must be after starts_at");
  if (a.per_member_limit < 0) bad("per_member_limit", "must be >= 0 (0: no limit)");
  const bool sells = a.kind != ActivityKind::kLuckyDraw;
  if (sells && (a.stock < 1 || a.stock > kMaxStock)) bad("stock", "must be between 1 and 2^40");
  if (!sells && a.stock != 0) bad("stock", "is the prizes' stock for a lucky draw");
  const bool priced = a.kind == ActivityKind::kFlashSale || a.kind == ActivityKind::kGroupBuy ||
                      a.kind == ActivityKind::kBargain;
  if (priced && a.sku.empty()) bad("sku", "is required: the item on sale");
  if (priced && a.price.fen() < 0) bad("price_fen", "must be >= 0");
  if (!priced && a.price.fen() != 0) bad("price_fen", "is only for flash_sale, group_buy and bargain");
  // A field of another kind is an error, not ignored: it would not be
  // stored, and would silently not apply.
  auto only = [&](bool given, const char* field, ActivityKind kind) {
    if (given && a.kind != kind) bad(field, "applies only to " + std::string(KindName(kind)));
  };
  only(a.group_size != 0, "group_size", ActivityKind::kGroupBuy);
  only(a.group_hours != 0, "group_hours", ActivityKind::kGroupBuy);
  only(a.helpers != 0, "helpers", ActivityKind::kBargain);
  only(a.bargain_hours != 0, "bargain_hours", ActivityKind::kBargain);
  only(!a.helper_tag.empty(), "helper_tag", ActivityKind::kBargain);
  only(!a.prizes.empty(), "prizes", ActivityKind::kLuckyDraw);
  only(a.none_weight != 0, "none_weight", ActivityKind::kLuckyDraw);
  only(a.snapshot_id != 0, "snapshot_id", ActivityKind::kLuckyDraw);
  only(a.purchase_required, "purchase_required", ActivityKind::kLuckyDraw);
  only(a.points != 0, "points", ActivityKind::kPointsMall);
  only(a.template_id != 0, "template_id", ActivityKind::kPointsMall);
  if (a.list_price.fen() != 0 && a.kind != ActivityKind::kGroupBuy && a.kind != ActivityKind::kBargain) {
    bad("list_price_fen", "applies only to group_buy and bargain");
  }
  if (!a.sku.empty() && a.kind == ActivityKind::kLuckyDraw) bad("sku", "is not for a lucky_draw (its prizes are)");
  switch (a.kind) {
    case ActivityKind::kFlashSale:
      break;
    case ActivityKind::kGroupBuy:
      // DOMAIN.md §7: 2–3 people per group; bigger groups exist, a hundred does not.
      if (a.group_size < 2 || a.group_size > 100) bad("group_size", "must be between 2 and 100");
      if (a.group_hours < 1 || a.group_hours > kMaxHours) bad("group_hours", "must be between 1 and 2160");
      if (a.list_price.fen() < a.price.fen()) bad("list_price_fen", "must be >= price_fen");
      if (a.group_size >= 2 && a.stock >= 1 && a.stock < a.group_size) bad("stock", "must hold one group at least");
      break;
    case ActivityKind::kBargain:
      if (a.helpers < 1 || a.helpers > kMaxHelpers) bad("helpers", "must be between 1 and 1000");
      if (a.bargain_hours < 1 || a.bargain_hours > kMaxHours) bad("bargain_hours", "must be between 1 and 2160");
      // Each helper cuts one fen at least.
      if (a.helpers >= 1 && a.list_price.fen() - a.price.fen() < a.helpers) {
        bad("list_price_fen", "must exceed price_fen by at least one fen per helper");
      }
      if (a.helper_tag.empty()) bad("helper_tag", "is required: the tag helpers get");
      break;
    case ActivityKind::kLuckyDraw:
      if (a.prizes.empty() || a.prizes.size() > kMaxPrizes) bad("prizes", "must hold 1 to 100 prizes");
      for (size_t i = 0; i < a.prizes.size(); ++i) {
        const Prize& p = a.prizes[i];
        const std::string at = "prizes[" + std::to_string(i) + "].";
        if (p.name.empty() || p.name.size() > kMaxName) bad(at + "name", "must be 1 to 200 bytes");
        for (size_t j = 0; j < i; ++j) {
          if (!p.name.empty() && a.prizes[j].name == p.name) bad(at + "name", "is the name of another prize");
        }
        if (p.stock < 1 || p.stock > kMaxStock) bad(at + "stock", "must be between 1 and 2^40");
        if (p.weight < 1 || p.weight > kMaxStock) bad(at + "weight", "must be between 1 and 2^40");
        if (p.template_id < 0) bad(at + "template_id", "must be a coupon template id");
      }
      if (a.none_weight < 0 || a.none_weight > kMaxStock) bad("none_weight", "must be between 0 and 2^40");
      if (a.snapshot_id < 0) bad("snapshot_id", "must be a snapshot id");
      break;
    case ActivityKind::kPointsMall:
      if (a.points < 1) bad("points", "must be >= 1: what a claim costs");
      if (a.sku.empty() == (a.template_id == 0)) bad("template_id", "give either a coupon template_id or a gift sku");
      if (a.template_id < 0) bad("template_id", "must be a coupon template id");
      break;
  }
  return s.field_errors().empty() ? Status::Ok() : s;
}

}  // namespace pond::activities
