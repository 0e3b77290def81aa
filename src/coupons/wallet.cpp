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

std::string Wallet::Key(int64_t template_id, MemberId member, std::string_view rest) {
  std::string key = std::to_string(template_id);
  key += '|';
  key += std::to_string(member);
  key += '|';
  key += rest;
  return key;
}

int32_t Wallet::Sum(const std::unordered_map<std::string, int32_t>& counts, int64_t template_id, MemberId member,
                    std::span<const MemberId> merged, std::string_view rest) {
  int32_t sum = 0;
  auto add = [&](MemberId m) {
    if (auto it = counts.find(Key(template_id, m, rest)); it != counts.end()) sum += it->second;
  };
  add(member);
  for (MemberId m : merged) add(m);
  return sum;
}

Coupon* Wallet::Mutable(std::string_view code) {
  auto it = by_code_.find(std::string(code));
  return it == by_code_.end() ? nullptr : &coupons_[it->second];
}

const Coupon* Wallet::Find(std::string_view code) const {
  auto it = by_code_.find(std::string(code));
  return it == by_code_.end() ? nullptr : &coupons_[it->second];
}

int64_t Wallet::IssuedOf(int64_t template_id) const {
  auto it = issued_.find(template_id);
  return it == issued_.end() ? 0 : it->second;
}

int32_t Wallet::HeldBy(int64_t template_id, MemberId member) const {
  auto it = held_.find(Key(template_id, member, ""));
  return it == held_.end() ? 0 : it->second;
}

std::vector<const Coupon*> Wallet::CouponsOf(MemberId member) const {
  std::vector<const Coupon*> out;
  if (auto it = of_member_.find(member); it != of_member_.end()) {
    for (uint32_t i : it->second) out.push_back(&coupons_[i]);
  }
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
  if (t.per_member_limit > 0 && Sum(held_, t.id, member, merged, "") >= t.per_member_limit) {
    return Refusal("limit_reached", "member " + std::to_string(member) + " holds " +
                                        std::to_string(t.per_member_limit) + " of '" + t.name + "' already");
  }
  if (t.per_day_limit > 0 && Sum(issued_on_, t.id, member, merged, zone_.DateOf(now).ToString()) >= t.per_day_limit) {
    return Refusal("limit_reached", "member " + std::to_string(member) + " received " +
                                        std::to_string(t.per_day_limit) + " of '" + t.name + "' today already");
  }
  return Status::Ok();
}

Result<Wallet::Issued> Wallet::Issue(const CouponTemplate& t, MemberId member, std::string occasion, std::string code,
                                     Timestamp now, std::span<const MemberId> merged) {
  const std::string occasion_key = Key(t.id, member, occasion);
  if (auto it = by_occasion_.find(occasion_key); it != by_occasion_.end()) return Issued{&coupons_[it->second], false};
  for (MemberId m : merged) {
    if (auto it = by_occasion_.find(Key(t.id, m, occasion)); it != by_occasion_.end()) {
      return Issued{&coupons_[it->second], false};
    }
  }
  if (code.empty() || by_code_.contains(code)) return FieldInvalid("code", "is empty or already used");
  RETURN_IF_ERROR(CanIssue(t, member, now, merged));
  const auto [from, to] = ValidityOf(t, now, zone_);
  const std::string held_key = Key(t.id, member, "");
  const LocalDate day = zone_.DateOf(now);
  const std::string day_key = Key(t.id, member, day.ToString());
  const auto index = static_cast<uint32_t>(coupons_.size());
  Coupon c;
  c.code = std::move(code);
  c.template_id = t.id;
  c.member = member;
  c.occasion = std::move(occasion);
  c.issued_at = now;
  c.valid_from = from;
  c.valid_to = to;
  c.issued_day = day;
  c.changed_at = now;
  by_code_.emplace(c.code, index);
  by_occasion_.emplace(occasion_key, index);
  ++issued_[t.id];
  ++held_[held_key];
  ++issued_on_[day_key];
  of_member_[member].push_back(index);
  due_.emplace(to.micros(), index);
  coupons_.push_back(std::move(c));
  return Issued{&coupons_.back(), true};
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
  const auto index = static_cast<uint32_t>(c - coupons_.data());
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
  if (c->state == CouponState::kIssued) due_.emplace(c->valid_to.micros(), static_cast<uint32_t>(c - coupons_.data()));
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
  --held_[Key(c->template_id, c->member, "")];
  return c;
}

void Wallet::ExpireDue(Timestamp now, const std::function<void(const Coupon&)>& on_expired) {
  while (!due_.empty() && due_.top().first <= now.micros()) {
    Coupon& c = coupons_[due_.top().second];
    due_.pop();
    const CouponState before = c.state;
    Settle(c, now);
    if (c.state == CouponState::kExpired && before != CouponState::kExpired && on_expired) on_expired(c);
  }
}

}  // namespace pond::coupons
