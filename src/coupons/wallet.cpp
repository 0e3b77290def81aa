#include "coupons/wallet.hpp"

#include <algorithm>

namespace pond::coupons {

std::string_view StateName(CouponState state) {
  switch (state) {
    case CouponState::kIssued: return "issued";
    case CouponState::kLocked: return "locked";
    case CouponState::kRedeemed: return "redeemed";
    case CouponState::kExpired: return "expired";
    case CouponState::kRevoked: return "revoked";
  }
  return "issued";
}

uint64_t Wallet::OccasionHash(int64_t template_id, MemberId member, std::string_view occasion) {
  std::string key = std::to_string(template_id);
  key += '|';
  key += std::to_string(member);
  key += '|';
  key += occasion;
  return HashKey(key);
}

uint32_t Wallet::ByOccasion(int64_t template_id, MemberId member, std::string_view occasion) const {
  const uint32_t* i = by_occasion_.Find(OccasionHash(template_id, member, occasion), [&](uint32_t at) {
    const Coupon& c = coupons_[at];
    return c.template_id == template_id && c.member == member && c.occasion == occasion;
  });
  return i ? *i : kNone;
}

uint32_t Wallet::IndexOf(std::string_view code) const {
  const uint32_t* i = by_code_.Find(HashKey(code), [&](uint32_t at) { return coupons_[at].code == code; });
  return i ? *i : kNone;
}

int32_t Wallet::CountOf(int64_t template_id, MemberId member, std::span<const MemberId> merged,
                        std::optional<LocalDate> day) const {
  int32_t n = 0;
  auto count = [&](MemberId m) {
    ForEachOf(m, [&](uint32_t i) {
      const Coupon& c = coupons_[i];
      if (c.template_id != template_id) return;
      n += day ? c.issued_day == *day : c.state != CouponState::kRevoked;
    });
  };
  count(member);
  for (MemberId m : merged) count(m);
  return n;
}

Coupon* Wallet::Mutable(std::string_view code) {
  const uint32_t i = IndexOf(code);
  return i == kNone ? nullptr : &coupons_[i];
}

const Coupon* Wallet::Find(std::string_view code) const {
  const uint32_t i = IndexOf(code);
  return i == kNone ? nullptr : &coupons_[i];
}

int64_t Wallet::IssuedOf(int64_t template_id) const {
  auto it = issued_.find(template_id);
  return it == issued_.end() ? 0 : it->second;
}

int32_t Wallet::HeldBy(int64_t template_id, MemberId member) const { return CountOf(template_id, member, {}, {}); }

std::vector<const Coupon*> Wallet::CouponsOf(MemberId member, std::span<const MemberId> merged) const {
  std::vector<uint32_t> indexes;
  ForEachOf(member, [&](uint32_t i) { indexes.push_back(i); });
  for (MemberId m : merged) ForEachOf(m, [&](uint32_t i) { indexes.push_back(i); });
  std::sort(indexes.begin(), indexes.end());  // issue order
  std::vector<const Coupon*> out;
  for (uint32_t i : indexes) out.push_back(&coupons_[i]);
  return out;
}

void Wallet::Settle(Coupon& c, Timestamp now) {
  if (c.state == CouponState::kLocked && c.lock_until <= now) {
    c.state = CouponState::kIssued;
    c.order_id.clear();
    c.changed_at = c.lock_until;
  }
  if ((c.state == CouponState::kIssued || c.state == CouponState::kLocked) && c.valid_to <= now) {
    c.state = CouponState::kExpired;
    c.order_id.clear();
    c.changed_at = c.valid_to;
  }
}

Status Wallet::CanIssue(const CouponTemplate& t, MemberId member, Timestamp now,
                        std::span<const MemberId> merged) const {
  // Issues from before the retirement (a replay) stand.
  if (t.retired_at && *t.retired_at <= now) return Refusal("retired", "coupon template '" + t.name + "' is retired");
  const auto [from, to] = ValidityOf(t, now, zone_);
  if (to <= now) return Refusal("expired", "coupon template '" + t.name + "' is no longer valid");
  if (t.stock && IssuedOf(t.id) >= *t.stock) return Refusal("out_of_stock", "coupon template '" + t.name + "' is out of stock");
  if (t.per_member_limit > 0 && CountOf(t.id, member, merged, std::nullopt) >= t.per_member_limit) {
    return Refusal("limit_reached", "member " + std::to_string(member) + " holds " +
                                        std::to_string(t.per_member_limit) + " of '" + t.name + "' already");
  }
  if (t.per_day_limit > 0 && CountOf(t.id, member, merged, zone_.DateOf(now)) >= t.per_day_limit) {
    return Refusal("limit_reached", "member " + std::to_string(member) + " received " +
                                        std::to_string(t.per_day_limit) + " of '" + t.name + "' today already");
  }
  return Status::Ok();
}

Result<Wallet::Issued> Wallet::Issue(const CouponTemplate& t, MemberId member, std::string occasion, std::string code,
                                     Timestamp now, std::span<const MemberId> merged) {
  if (const uint32_t i = ByOccasion(t.id, member, occasion); i != kNone) return Issued{&coupons_[i], false};
  for (MemberId m : merged) {
    if (const uint32_t i = ByOccasion(t.id, m, occasion); i != kNone) return Issued{&coupons_[i], false};
  }
  if (code.empty() || IndexOf(code) != kNone) return FieldInvalid("code", "is empty or already used");
  RETURN_IF_ERROR(CanIssue(t, member, now, merged));
  const auto [from, to] = ValidityOf(t, now, zone_);
  const auto index = static_cast<uint32_t>(coupons_.size());
  Coupon& c = coupons_.emplace_back();
  c.code = std::move(code);
  c.template_id = t.id;
  c.member = member;
  c.occasion = std::move(occasion);
  c.issued_at = now;
  c.valid_from = from;
  c.valid_to = to;
  c.issued_day = zone_.DateOf(now);
  c.changed_at = now;
  by_code_.Insert(HashKey(c.code), index);
  by_occasion_.Insert(OccasionHash(t.id, member, c.occasion), index);
  ++issued_[t.id];
  const uint64_t member_hash = MemberHash(member);
  uint32_t* last = last_of_member_.Find(member_hash, [&](uint32_t i) { return coupons_[i].member == member; });
  previous_of_member_.push_back(last ? *last : kNone);
  if (last) {
    *last = index;
  } else {
    last_of_member_.Insert(member_hash, index);
  }
  due_.push({to.micros(), index});
  return Issued{&c, true};
}

Status Wallet::CheckUsable(const Coupon& c, std::string_view order_id, Timestamp now) {
  switch (c.state) {
    case CouponState::kRedeemed: return Refusal("already_redeemed", "coupon " + c.code + " is redeemed already");
    case CouponState::kExpired: return Refusal("expired", "coupon " + c.code + " has expired");
    case CouponState::kRevoked: return Refusal("revoked", "coupon " + c.code + " was revoked");
    case CouponState::kLocked:
      if (c.order_id != order_id) return Refusal("locked", "coupon " + c.code + " is held by another order");
      break;
    case CouponState::kIssued: break;
  }
  if (now < c.valid_from) return Refusal("not_started", "coupon " + c.code + " is not valid yet");
  return Status::Ok();
}

Result<const Coupon*> Wallet::Lock(std::string_view code, std::string_view order_id, Timestamp until, Timestamp now) {
  Coupon* c = Mutable(code);
  if (c == nullptr) return NotFoundField("code", "no coupon '" + std::string(code) + "'");
  if (order_id.empty()) return FieldInvalid("order_id", "is required");
  Settle(*c, now);
  RETURN_IF_ERROR(CheckUsable(*c, order_id, now));
  c->state = CouponState::kLocked;
  c->order_id = std::string(order_id);
  c->lock_until = until;
  c->changed_at = now;
  return c;
}

Result<const Coupon*> Wallet::Unlock(std::string_view code, std::string_view order_id, Timestamp now) {
  Coupon* c = Mutable(code);
  if (c == nullptr) return NotFoundField("code", "no coupon '" + std::string(code) + "'");
  Settle(*c, now);
  if (c->state != CouponState::kLocked || c->order_id != order_id) {
    return Refusal("not_locked", "coupon " + c->code + " is not held by order '" + std::string(order_id) + "'");
  }
  c->state = CouponState::kIssued;
  c->order_id.clear();
  c->changed_at = now;
  return c;
}

Result<const Coupon*> Wallet::Redeem(std::string_view code, std::string_view order_id, Timestamp now) {
  Coupon* c = Mutable(code);
  if (c == nullptr) return NotFoundField("code", "no coupon '" + std::string(code) + "'");
  if (order_id.empty()) return FieldInvalid("order_id", "is required");
  Settle(*c, now);
  if (c->state == CouponState::kRedeemed && c->order_id == order_id) return c;  // a replay: nothing changes
  RETURN_IF_ERROR(CheckUsable(*c, order_id, now));
  c->state = CouponState::kRedeemed;
  c->order_id = std::string(order_id);
  c->changed_at = now;
  std::vector<uint32_t>& of_order = by_order_[c->order_id];
  const uint32_t index = IndexOf(c->code);
  if (std::find(of_order.begin(), of_order.end(), index) == of_order.end()) of_order.push_back(index);
  return c;
}

Status Wallet::CanRedeem(std::string_view code, std::string_view order_id, Timestamp now) const {
  const Coupon* found = Find(code);
  if (found == nullptr) return NotFoundField("code", "no coupon '" + std::string(code) + "'");
  Coupon c = *found;
  Settle(c, now);  // a copy: the wallet is unchanged
  if (c.state == CouponState::kRedeemed && c.order_id == order_id) return Status::Ok();
  return CheckUsable(c, order_id, now);
}

std::vector<const Coupon*> Wallet::RedeemedBy(std::string_view order_id) const {
  std::vector<const Coupon*> out;
  if (auto it = by_order_.find(std::string(order_id)); it != by_order_.end()) {
    for (uint32_t i : it->second) {
      if (coupons_[i].state == CouponState::kRedeemed && coupons_[i].order_id == order_id) out.push_back(&coupons_[i]);
    }
  }
  return out;
}

Result<const Coupon*> Wallet::Restore(const CouponTemplate& t, std::string_view code, std::string_view order_id,
                                      Timestamp now) {
  Coupon* c = Mutable(code);
  if (c == nullptr) return NotFoundField("code", "no coupon '" + std::string(code) + "'");
  if (c->state != CouponState::kRedeemed || c->order_id != order_id) {
    return Refusal("not_redeemed", "coupon " + c->code + " was not redeemed by order '" + std::string(order_id) + "'");
  }
  if (!t.restore_on_refund) {
    return FailedPrecondition("coupon template '" + t.name + "' does not give coupons back on refunds");
  }
  c->state = CouponState::kIssued;
  c->order_id.clear();
  c->changed_at = now;
  Settle(*c, now);
  if (c->state == CouponState::kIssued) due_.push({c->valid_to.micros(), IndexOf(c->code)});
  return c;
}

Result<const Coupon*> Wallet::Revoke(std::string_view code, Timestamp now) {
  Coupon* c = Mutable(code);
  if (c == nullptr) return NotFoundField("code", "no coupon '" + std::string(code) + "'");
  Settle(*c, now);
  switch (c->state) {
    case CouponState::kRedeemed: return Refusal("already_redeemed", "coupon " + c->code + " is redeemed");
    case CouponState::kExpired: return Refusal("expired", "coupon " + c->code + " has expired");
    case CouponState::kRevoked: return c;  // again: nothing changes
    default: break;
  }
  c->state = CouponState::kRevoked;
  c->order_id.clear();
  c->changed_at = now;
  return c;
}

void Wallet::ExpireDue(Timestamp now, const std::function<void(const Coupon&)>& on_due) {
  while (!due_.empty() && due_.top().at <= now.micros()) {
    Coupon& c = coupons_[due_.top().index];
    due_.pop();
    Settle(c, now);
    if (on_due) on_due(c);
  }
}

}  // namespace pond::coupons
