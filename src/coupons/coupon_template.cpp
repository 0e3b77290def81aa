#include "coupons/coupon_template.hpp"

#include <sys/random.h>

#include <array>

namespace pond::coupons {
namespace {

constexpr std::array<std::pair<CouponKind, std::string_view>, 5> kKinds = {{
    {CouponKind::kCashOff, "cash_off"},
    {CouponKind::kNoThreshold, "no_threshold"},
    {CouponKind::kDiscount, "discount"},
    {CouponKind::kExchange, "exchange"},
    {CouponKind::kGift, "gift"},
}};

constexpr size_t kMaxName = 200;

}  // namespace

std::string_view KindName(CouponKind kind) {
  for (const auto& [k, name] : kKinds) {
    if (k == kind) return name;
  }
  return "cash_off";
}

std::optional<CouponKind> KindFromName(std::string_view name) {
  for (const auto& [k, n] : kKinds) {
    if (n == name) return k;
  }
  return std::nullopt;
}

Status CheckTemplate(const CouponTemplate& t) {
  Status s = InvalidArgument("the coupon template is not valid");
  auto bad = [&](std::string field, std::string reason) { s.AddFieldError(std::move(field), std::move(reason)); };
  if (t.name.empty()) bad("name", "is required");
  if (t.name.size() > kMaxName) bad("name", "is longer than 200 bytes");
  switch (t.kind) {
    case CouponKind::kCashOff:
      if (t.threshold.fen() <= 0) bad("threshold_fen", "must be > 0 for cash_off (use no_threshold otherwise)");
      if (t.off.fen() <= 0) bad("off_fen", "must be > 0");
      if (t.threshold.fen() > 0 && t.off.fen() > t.threshold.fen()) bad("off_fen", "must not exceed threshold_fen");
      break;
    case CouponKind::kNoThreshold:
      if (t.off.fen() <= 0) bad("off_fen", "must be > 0");
      if (t.threshold.fen() != 0) bad("threshold_fen", "must be 0 or absent for no_threshold");
      break;
    case CouponKind::kDiscount:
      if (t.percent_off < 1 || t.percent_off > 99) bad("percent_off", "must be between 1 and 99 (88折 is 12)");
      if (t.threshold.fen() < 0) bad("threshold_fen", "must be >= 0");
      break;
    case CouponKind::kExchange:
      if (t.sku.empty()) bad("sku", "is required for exchange: the item offered");
      if (t.exchange_price.fen() < 0) bad("exchange_price_fen", "must be >= 0");
      if (t.threshold.fen() < 0) bad("threshold_fen", "must be >= 0");
      break;
    case CouponKind::kGift:
      if (t.sku.empty()) bad("sku", "is required for gift: the item given");
      if (t.threshold.fen() < 0) bad("threshold_fen", "must be >= 0");
      break;
  }
  if (t.valid_days < 0) bad("valid_days", "must be > 0");
  if (t.valid_days > 3660) bad("valid_days", "must be at most 3660 (ten years)");
  if (t.valid_days > 0 && (t.valid_from || t.valid_to)) {
    bad("valid_days", "give either valid_days or valid_from/valid_to, not both");
  }
  if (t.valid_days == 0 && !t.valid_to) bad("valid_to", "is required without valid_days");
  if (t.valid_from && t.valid_to && *t.valid_to <= *t.valid_from) bad("valid_to", "must be after valid_from");
  if (t.stock && *t.stock < 0) bad("stock", "must be >= 0");
  if (t.per_member_limit < 0) bad("per_member_limit", "must be >= 0 (0: no limit)");
  if (t.per_day_limit < 0) bad("per_day_limit", "must be >= 0 (0: no limit)");
  if (t.face_value.fen() < 0) bad("face_value_fen", "must be >= 0");
  if (t.cost.fen() < 0) bad("cost_fen", "must be >= 0");
  return s.field_errors().empty() ? Status::Ok() : s;
}

std::pair<Timestamp, Timestamp> ValidityOf(const CouponTemplate& t, Timestamp issued, const TimeZone& zone) {
  if (t.valid_days > 0) {
    const LocalDate last = LocalDate::FromDays(zone.DateOf(issued).days() + t.valid_days - 1);
    return {issued, zone.StartOfDay(LocalDate::FromDays(last.days() + 1))};
  }
  return {t.valid_from.value_or(issued), *t.valid_to};
}

std::string CouponCode(const uint8_t (&random)[10]) {
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  std::string code;
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t byte : random) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      code.push_back(kAlphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  return code;
}

Result<std::string> NewCouponCode() {
  uint8_t bytes[10];
  if (getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    return Internal("no randomness for a coupon code");
  }
  return CouponCode(bytes);
}

}  // namespace pond::coupons
