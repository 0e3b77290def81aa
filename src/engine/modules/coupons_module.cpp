#include "engine/modules/coupons_module.hpp"

#include <algorithm>
#include <array>

#include "core/id_list.hpp"
#include "core/log.hpp"
#include "coupons/template_json.hpp"
#include "journal/codec.hpp"

namespace pond {
namespace {

constexpr std::string_view kTemplatesSetting = "coupon_templates";
constexpr std::string_view kRulesSetting = "coupon_rules";
constexpr std::array<uint16_t, 1> kJournalKinds = {static_cast<uint16_t>(journal::Kind::kCouponEvent)};
constexpr std::array<std::string_view, 2> kSettings = {kTemplatesSetting, kRulesSetting};

}  // namespace

CouponsModule::CouponsModule(TenantState& tenant)
    : tenant_(tenant), wallet_(tenant.zone()), unused_field_(tenant.DefineSegmentNumber("coupons.unused", 0)) {}

void CouponsModule::PersistTemplates() {
  tenant_.Put(SettingRow{std::string(kTemplatesSetting), coupons::TemplatesJson(templates_)});
}

void CouponsModule::PersistRules() { tenant_.Put(SettingRow{std::string(kRulesSetting), coupons::RulesJson(rules_)}); }

Result<const coupons::CouponTemplate*> CouponsModule::CreateCouponTemplate(coupons::CouponTemplate t) {
  RETURN_IF_ERROR(coupons::CheckTemplate(t));
  t.id = static_cast<int64_t>(templates_.size()) + 1;
  templates_.push_back(std::move(t));
  PersistTemplates();
  return &templates_.back();
}

Result<const coupons::CouponTemplate*> CouponsModule::RetireCouponTemplate(int64_t id, Timestamp now) {
  if (FindCouponTemplate(id) == nullptr) return NotFoundField("id", "no coupon template " + std::to_string(id));
  coupons::CouponTemplate& t = templates_[static_cast<size_t>(id - 1)];
  if (t.retired_at) return &t;
  t.retired_at = now;
  PersistTemplates();
  return &t;
}

const coupons::CouponTemplate* CouponsModule::FindCouponTemplate(int64_t id) const {
  if (id < 1 || id > static_cast<int64_t>(templates_.size())) return nullptr;
  return &templates_[static_cast<size_t>(id - 1)];
}

void CouponsModule::RecordCoupon(CouponEventRow row) {
  row.id = next_event_++;
  tenant_.Journal(row);
}

Result<coupons::Wallet::Issued> CouponsModule::IssueCoupon(int64_t template_id, MemberId member, std::string occasion,
                                                         std::string code, Timestamp now) {
  const coupons::CouponTemplate* t = FindCouponTemplate(template_id);
  if (t == nullptr) return NotFoundField("template_id", "no coupon template " + std::to_string(template_id));
  const MemberId standing = tenant_.members().Standing(member);
  if (standing == 0) return NotFoundField("member", "no member " + std::to_string(member));
  ASSIGN_OR_RETURN(coupons::Wallet::Issued issued,
                   wallet_.Issue(*t, standing, occasion, code, now, tenant_.members().MergedInto(standing)));
  if (issued.fresh) {
    RecordCoupon({0, "issue", issued.coupon->code, template_id, standing, occasion, "", now, {}});
    Recount(standing);
    tenant_.Publish(CouponIssued{standing, template_id, issued.coupon->code, occasion, now});
  }
  return issued;
}

Result<const coupons::Coupon*> CouponsModule::LockCoupon(std::string_view code, std::string_view order_id,
                                                       Timestamp until, Timestamp now, const coupons::Cart* cart) {
  if (cart != nullptr) RETURN_IF_ERROR(CheckCouponTerms(code, *cart));
  ASSIGN_OR_RETURN(const coupons::Coupon* c, wallet_.Lock(code, order_id, until, now));
  RecordCoupon({0, "lock", c->code, 0, 0, "", std::string(order_id), now, until});
  return c;
}

Result<const coupons::Coupon*> CouponsModule::UnlockCoupon(std::string_view code, std::string_view order_id,
                                                         Timestamp now) {
  ASSIGN_OR_RETURN(const coupons::Coupon* c, wallet_.Unlock(code, order_id, now));
  RecordCoupon({0, "unlock", c->code, 0, 0, "", std::string(order_id), now, {}});
  return c;
}

Result<const coupons::Coupon*> CouponsModule::RedeemCoupon(std::string_view code, std::string_view order_id,
                                                         Timestamp now, const coupons::Cart* cart) {
  const coupons::Coupon* before = wallet_.Find(code);
  const bool replay = before != nullptr && before->state == coupons::CouponState::kRedeemed;
  // How the terms were checked rides on the row's occasion, so a restart
  // knows which redemptions still wait for their order.
  std::string checked = "cart";
  if (!replay && before != nullptr) {
    if (cart != nullptr) {
      RETURN_IF_ERROR(CheckCouponTerms(code, *cart));
    } else if (tenant_.orders().HasOrder(order_id)) {
      RETURN_IF_ERROR(CheckTermsOnKnownOrder(code, order_id));
      checked = "order";
    } else {
      checked = "unchecked";
    }
  }
  ASSIGN_OR_RETURN(const coupons::Coupon* c, wallet_.Redeem(code, order_id, now));
  if (!replay) {
    if (checked == "unchecked") unchecked_.insert(c->code);
    RecordCoupon({0, "redeem", c->code, 0, 0, std::move(checked), std::string(order_id), now, {}});
    Recount(c->member);
    tenant_.Publish(CouponRedeemed{c->member, c->code, std::string(order_id), now});
  }
  return c;
}

Status CouponsModule::CheckCouponTerms(std::string_view code, const coupons::Cart& cart) const {
  const coupons::Coupon* c = wallet_.Find(code);
  const coupons::CouponTemplate* t = c ? FindCouponTemplate(c->template_id) : nullptr;
  if (t == nullptr) return Status::Ok();  // the wallet says what is wrong
  const auto [gives, why] = coupons::CouponGives(*t, cart);
  if (gives.fen() > 0) return Status::Ok();
  const std::string field = why == "not for this store" ? "store" : why == "not for this channel" ? "channel"
                            : why == "below threshold"  ? "paid_fen" : "items";
  Status s = Refusal("terms_not_met", "the cart does not meet the coupon's terms: " + why);
  return std::move(s.AddFieldError(field, why));
}

Status CouponsModule::CheckTermsOnKnownOrder(std::string_view code, std::string_view order_id) const {
  const coupons::Coupon* c = wallet_.Find(code);
  const coupons::CouponTemplate* t = c ? FindCouponTemplate(c->template_id) : nullptr;
  if (t == nullptr) return Status::Ok();
  // Memory keeps an order's amount and channel, not its items or store:
  // terms on items are not checked here, and the store scope is left out.
  if (!t->scope.skus.empty() || !t->scope.categories.empty()) return Status::Ok();
  coupons::CouponTemplate unscoped = *t;
  unscoped.scope.stores.clear();
  const OrderRecord& order = tenant_.orders().Order(tenant_.orders().PositionOf(order_id));
  const coupons::Cart paid{.store = "", .channel = std::string(ChannelName(order.channel)),
                           .items = {coupons::CartItem{.sku = "", .categories = {}, .paid = order.paid}}};
  const std::string why = coupons::TermsProblemAfterPayment(unscoped, paid);
  if (why.empty()) return Status::Ok();
  Status s = Refusal("terms_not_met", "order '" + std::string(order_id) + "' does not meet the coupon's terms: " + why);
  return std::move(s.AddFieldError("order_id", why));
}

Result<const coupons::Coupon*> CouponsModule::RevokeCoupon(std::string_view code, Timestamp now) {
  const coupons::Coupon* before = wallet_.Find(code);
  const bool again = before != nullptr && before->state == coupons::CouponState::kRevoked;
  ASSIGN_OR_RETURN(const coupons::Coupon* c, wallet_.Revoke(code, now));
  if (!again) {
    RecordCoupon({0, "revoke", c->code, 0, 0, "", "", now, {}});
    Recount(c->member);
  }
  return c;
}

Result<const coupons::IssueRule*> CouponsModule::SetIssueRuleActive(int64_t id, bool active) {
  if (id < 1 || id > static_cast<int64_t>(rules_.size())) return NotFoundField("id", "no coupon rule " + std::to_string(id));
  coupons::IssueRule& rule = rules_[static_cast<size_t>(id - 1)];
  if (rule.active != active) {
    rule.active = active;
    PersistRules();
  }
  return &rule;
}

Result<const coupons::IssueRule*> CouponsModule::CreateIssueRule(coupons::IssueRule rule) {
  if (FindCouponTemplate(rule.template_id) == nullptr) return FieldInvalid("template_id", "no such coupon template");
  for (const std::string& tier : rule.tiers) {
    const auto& tiers = tenant_.loyalty().config().tiers;
    if (std::none_of(tiers.begin(), tiers.end(), [&](const TierRule& t) { return t.id == tier; })) {
      return FieldInvalid("tiers", "no tier '" + tier + "'");
    }
  }
  rule.id = static_cast<int64_t>(rules_.size()) + 1;
  rules_.push_back(std::move(rule));
  PersistRules();
  return &rules_.back();
}

namespace {

constexpr int64_t kRecentSeconds = 24 * 3600;  // older occasions are history being imported

bool Recent(Timestamp at, Timestamp now) { return now.seconds() - at.seconds() <= kRecentSeconds; }

}  // namespace

void CouponsModule::IssueByRule(const coupons::IssueRule& rule, MemberId member, std::string occasion, Timestamp now) {
  auto code = coupons::NewCouponCode();
  if (!code.ok()) {
    Log(LogLevel::kError, "no coupon code for a rule", {{"tenant", tenant_.record().id}, {"error", code.status().ToString()}});
    return;
  }
  // Out of stock or over a limit is the rule's answer, not a fault.
  (void)IssueCoupon(rule.template_id, member, std::move(occasion), std::move(code).value(), now);
}

void CouponsModule::IssueForOrder(MemberId member, const OrderEvent& e, Timestamp now) {
  if (rules_.empty() || !Recent(e.paid_at, now)) return;
  const bool first = tenant_.orders().Totals(member).count == 1;
  for (const coupons::IssueRule& rule : rules_) {
    if (!rule.active || !coupons::OrderQualifies(rule, e.paid, e.payment, ChannelName(e.channel))) continue;
    const std::string prefix = "rule:" + std::to_string(rule.id);
    if (rule.trigger == coupons::Trigger::kPostPayment) IssueByRule(rule, member, prefix + ":order:" + e.order_id, now);
    if (rule.trigger == coupons::Trigger::kFirstPurchase && first) IssueByRule(rule, member, prefix + ":first", now);
  }
}

void CouponsModule::IssueForTier(const TierChange& change, Timestamp now) {
  if (rules_.empty() || change.to <= change.from || !Recent(change.at, now)) return;
  const std::string& tier = tenant_.loyalty().config().tiers[static_cast<size_t>(change.to)].id;
  for (const coupons::IssueRule& rule : rules_) {
    if (!rule.active || rule.trigger != coupons::Trigger::kTierUpgrade) continue;
    if (!rule.tiers.empty() && std::find(rule.tiers.begin(), rule.tiers.end(), tier) == rule.tiers.end()) continue;
    IssueByRule(rule, tenant_.members().Standing(change.member), "rule:" + std::to_string(rule.id) + ":tier:" + tier,
                now);
  }
}

void CouponsModule::IssueForBirthday(MemberId m, LocalDate day) {
  const std::optional<LocalDate>& birthday = tenant_.members().Get(m)->profile.birthday;
  if (birthday_rules_.empty() || !birthday) return;
  int month = birthday->month(), dom = birthday->day();
  if (month == 2 && dom == 29 && !IsValidYmd(day.year(), 2, 29)) dom = 28;
  if (month != day.month() || dom != day.day()) return;
  const Account* account = tenant_.loyalty().Find(m);
  const std::string& tier = tenant_.loyalty().config().tiers[static_cast<size_t>(account ? account->tier : 0)].id;
  for (const size_t i : birthday_rules_) {
    const coupons::IssueRule& r = rules_[i];
    if (!r.tiers.empty() && std::find(r.tiers.begin(), r.tiers.end(), tier) == r.tiers.end()) continue;
    IssueByRule(r, m, "rule:" + std::to_string(r.id) + ":birthday:" + std::to_string(day.year()),
                tenant_.zone().StartOfDay(day));
  }
}

std::vector<const coupons::Coupon*> CouponsModule::CouponsOf(MemberId member) const {
  member = tenant_.members().Standing(member);
  // A coupon stays with the member it was issued to (the wallet replays as
  // it happened); the members merged into this one, and into those, hold
  // theirs for it.
  return wallet_.CouponsOf(member, tenant_.members().MergedInto(member));
}

Result<std::vector<coupons::Wallet::Issued>> CouponsModule::ClaimMemberDay(MemberId member, Timestamp now) {
  member = tenant_.members().Standing(member);
  if (member == 0) return NotFoundField("member", "no such member");
  const LocalDate day = tenant_.zone().DateOf(now);
  const Account* account = tenant_.loyalty().Find(member);
  const std::string& tier = tenant_.loyalty().config().tiers[static_cast<size_t>(account ? account->tier : 0)].id;
  std::vector<std::pair<std::string, bool>> issued_codes;  // codes, not pointers: each Issue may move the coupons
  Status refused = Refusal("not_member_day", "no member-day rule gives coupons today");
  for (const coupons::IssueRule& rule : rules_) {
    if (!rule.active || rule.trigger != coupons::Trigger::kMemberDay || rule.weekday != day.weekday()) continue;
    if (!rule.tiers.empty() && std::find(rule.tiers.begin(), rule.tiers.end(), tier) == rule.tiers.end()) {
      if (ReasonOf(refused) == "not_member_day") refused = Refusal("not_eligible", "no member-day coupon for tier " + tier);
      continue;
    }
    ASSIGN_OR_RETURN(std::string code, coupons::NewCouponCode());
    auto issued = IssueCoupon(rule.template_id, member, "rule:" + std::to_string(rule.id) + ":day:" + day.ToString(),
                              std::move(code), now);
    if (issued.ok()) {
      issued_codes.emplace_back(issued->coupon->code, issued->fresh);
    } else {
      refused = issued.status();
    }
  }
  if (issued_codes.empty()) return refused;
  std::vector<coupons::Wallet::Issued> out;
  for (const auto& [code, fresh] : issued_codes) out.push_back({wallet_.Find(code), fresh});
  return out;
}

Result<Slice> CouponsModule::IssueToSnapshot(int64_t template_id, int64_t snapshot_id,
                                          const std::function<Result<std::string>()>& next_code, Timestamp now,
                                          BulkIssue& bulk) {
  if (FindCouponTemplate(template_id) == nullptr) {
    return NotFoundField("template_id", "no coupon template " + std::to_string(template_id));
  }
  const SnapshotRow* snapshot = nullptr;
  for (const SnapshotRow& row : tenant_.snapshots()) {
    if (row.id == snapshot_id) snapshot = &row;
  }
  if (snapshot == nullptr) return NotFoundField("snapshot_id", "no snapshot " + std::to_string(snapshot_id));
  if (!bulk.begun) {
    // A bigger audience goes in parts (several snapshots): one request's
    // answer stays bounded.
    constexpr int64_t kMaxBulk = 1'000'000;
    if (snapshot->count > kMaxBulk) {
      return ResourceExhausted("snapshot " + std::to_string(snapshot_id) + " has " +
                               std::to_string(snapshot->count) + " members; one bulk issue takes at most 1000000");
    }
    bulk.begun = true;
    bulk.members = snapshot->count;
  }
  // The member list is read where the last slice stopped: decoding a
  // million ids at once was a 30 ms hold (the faults of an 8 MB array).
  IdListReader audience(snapshot->members, bulk.at, bulk.previous);
  const std::string occasion = "snapshot:" + std::to_string(snapshot_id);
  for (size_t steps = 0;; ++steps) {
    if (steps > 0 && steps % 64 == 0 && tenant_.SliceSpent()) return Slice::kLater;
    int64_t member = 0;
    ASSIGN_OR_RETURN(bool more, audience.Next(member));
    if (!more) return Slice::kDone;
    bulk.at = audience.at();
    bulk.previous = audience.previous();
    ASSIGN_OR_RETURN(std::string code, next_code());
    auto issued = IssueCoupon(template_id, member, occasion, std::move(code), now);
    if (issued.ok()) {
      ++(issued->fresh ? bulk.issued : bulk.already);
      continue;
    }
    const std::string reason = ReasonOf(issued.status());
    ++bulk.refused[reason.empty() ? "other" : reason];
  }
}

Status CouponsModule::CheckOrder(const OrderEvent& e) const {
  if (e.coupons.empty()) return Status::Ok();
  Status bad = InvalidArgument("the order's coupons cannot be redeemed");
  const MemberId member = tenant_.members().Find(e.member);
  if (member == 0) {
    return bad.AddFieldError("coupons", "need the order's member known before it: the coupons' holder");
  }
  for (size_t i = 0; i < e.coupons.size(); ++i) {
    const std::string field = "coupons[" + std::to_string(i) + "]";
    const coupons::Coupon* c = wallet_.Find(e.coupons[i]);
    if (c == nullptr) {
      bad.AddFieldError(field, "no such coupon");
    } else if (tenant_.members().Standing(c->member) != member) {
      bad.AddFieldError(field, "belongs to another member");
    } else if (Status s = wallet_.CanRedeem(e.coupons[i], e.order_id, e.paid_at); !s.ok()) {
      bad.AddFieldError(field, s.message());
    }
  }
  return bad.field_errors().empty() ? Status::Ok() : bad;
}

void CouponsModule::RedeemOrderCoupons(const OrderEvent& e) {
  for (const std::string& code : e.coupons) {
    // CheckOrderCoupons said yes and nothing changed since; CheckRedeemedTerms looks at the terms.
    const coupons::Coupon* before = wallet_.Find(code);
    if (before != nullptr && before->state == coupons::CouponState::kRedeemed) continue;
    if (auto r = wallet_.Redeem(code, e.order_id, e.paid_at); !r.ok()) {
      Log(LogLevel::kError, "a checked coupon did not redeem", {{"tenant", tenant_.record().id}, {"error", r.status().ToString()}});
      continue;
    }
    RecordCoupon({0, "redeem", code, 0, 0, "order", e.order_id, e.paid_at, {}});
    Recount(before->member);
    tenant_.Publish(CouponRedeemed{before->member, code, e.order_id, e.paid_at});
  }
}

void CouponsModule::CheckRedeemedTerms(const OrderEvent& e) {
  const std::vector<const coupons::Coupon*> redeemed = wallet_.RedeemedBy(e.order_id);
  if (redeemed.empty()) return;
  coupons::Cart paid{.store = e.store, .channel = std::string(ChannelName(e.channel)), .items = {}};
  for (const OrderItem& item : e.items) {
    coupons::CartItem& line = paid.items.emplace_back(coupons::CartItem{item.sku, {}, item.paid});
    tenant_.master().ForEachCategoryUp(item.category.empty() ? tenant_.master().CategoryOfProduct(item.sku) : item.category,
                              [&](const std::string& c) { line.categories.push_back(c); });
  }
  if (e.items.empty()) paid.items.push_back(coupons::CartItem{"", {}, e.paid});
  for (const coupons::Coupon* c : redeemed) {
    const bool listed = std::find(e.coupons.begin(), e.coupons.end(), c->code) != e.coupons.end();
    if (!listed && unchecked_.erase(c->code) == 0) continue;  // checked when it was redeemed
    const coupons::CouponTemplate* t = FindCouponTemplate(c->template_id);
    if (t == nullptr) continue;
    std::string why = coupons::TermsProblemAfterPayment(*t, paid);
    if (why.empty()) continue;
    violations_[c->code] = why;
    RecordCoupon({0, "violation", c->code, 0, 0, std::move(why), e.order_id, e.paid_at, {}});
  }
}

void CouponsModule::RestoreOrderCoupons(const std::string& order_id, Timestamp at) {
  for (const coupons::Coupon* c : wallet_.RedeemedBy(order_id)) {
    const coupons::CouponTemplate* t = FindCouponTemplate(c->template_id);
    if (t == nullptr || !t->restore_on_refund) continue;
    const std::string code = c->code;
    const MemberId holder = c->member;
    if (wallet_.Restore(*t, code, order_id, at).ok()) {
      RecordCoupon({0, "restore", code, 0, 0, "", order_id, at, {}});
      Recount(holder);
    }
  }
}

Status CouponsModule::ReplayCoupon(const CouponEventRow& row) {
  if (row.kind == "issue") {
    const coupons::CouponTemplate* t = FindCouponTemplate(row.template_id);
    if (t == nullptr) return NotFound("no coupon template " + std::to_string(row.template_id));
    return wallet_.Issue(*t, row.member, row.occasion, row.code, row.at).status();
  }
  if (row.kind == "lock") return wallet_.Lock(row.code, row.order_id, row.until, row.at).status();
  if (row.kind == "unlock") return wallet_.Unlock(row.code, row.order_id, row.at).status();
  if (row.kind == "redeem") {
    if (row.occasion == "unchecked") unchecked_.insert(row.code);  // Finish drops those whose order came
    return wallet_.Redeem(row.code, row.order_id, row.at).status();
  }
  if (row.kind == "violation") {
    violations_[row.code] = row.occasion;
    unchecked_.erase(row.code);
    return Status::Ok();
  }
  if (row.kind == "revoke") return wallet_.Revoke(row.code, row.at).status();
  if (row.kind == "restore") {
    const coupons::Coupon* c = wallet_.Find(row.code);
    const coupons::CouponTemplate* t = c ? FindCouponTemplate(c->template_id) : nullptr;
    if (t == nullptr) return NotFound("no coupon " + row.code);
    return wallet_.Restore(*t, row.code, row.order_id, row.at).status();
  }
  return InvalidArgument("unknown coupon change '" + row.kind + "'");
}

void CouponsModule::Recount(MemberId member) {
  const MemberId standing = tenant_.members().Standing(member);
  if (standing == 0) return;
  int64_t unused = 0;
  for (const coupons::Coupon* c : CouponsOf(standing)) {
    unused += c->state != coupons::CouponState::kRedeemed && c->state != coupons::CouponState::kRevoked &&
              c->valid_to > as_of_;
  }
  tenant_.SetSegmentNumber(unused_field_, standing, unused);
}

void CouponsModule::OnOrder(MemberId member, const OrderEvent& e, Timestamp now) {
  RedeemOrderCoupons(e);
  CheckRedeemedTerms(e);
  IssueForOrder(member, e, now);
}

void CouponsModule::On(const DomainEvent& event) {
  if (const auto* order = std::get_if<OrderApplied>(&event)) {
    OnOrder(order->member, order->row->order, order->now);
  } else if (const auto* refund = std::get_if<RefundApplied>(&event)) {
    if (refund->nothing_left) RestoreOrderCoupons(refund->row->refund.order_id, refund->row->refund.refunded_at);
  } else if (const auto* tier = std::get_if<TierChanged>(&event)) {
    // A tier reached by buying (or a refund's review) or at a review gives
    // the upgrade's coupons; one reached by a merge or new rules does not.
    if (tier->change.cause != "merge" && tier->change.cause != "config") IssueForTier(tier->change, tier->now);
  } else if (const auto* merged = std::get_if<MemberMerged>(&event)) {
    Recount(merged->survivor);
  }
}

std::span<const uint16_t> CouponsModule::journal_kinds() const { return kJournalKinds; }
std::span<const std::string_view> CouponsModule::settings() const { return kSettings; }

// Every stored change succeeded once against the same templates and times,
// so it succeeds again; a failure means a damaged store.
Status CouponsModule::Replay(const JournalRow& row) {
  CouponEventRow event;
  if (!journal::Decode(row.tick, row.key, row.payload, event)) return Internal("its bytes are not a well-formed encoding");
  RETURN_IF_ERROR(ReplayCoupon(event));
  next_event_ = std::max(next_event_, event.id + 1);
  return Status::Ok();
}

Status CouponsModule::LoadSetting(std::string_view name, std::string_view value) {
  // Each was validated before it was stored: only a damaged store fails here.
  if (name == kTemplatesSetting) {
    ASSIGN_OR_RETURN(templates_, coupons::ParseTemplates(value));
  } else {
    ASSIGN_OR_RETURN(rules_, coupons::ParseRules(value));
  }
  return Status::Ok();
}

void CouponsModule::FinishLoad(LocalDate last_day) {
  // An unchecked redemption whose order has come was checked when it came
  // (a violation has its own row).
  std::erase_if(unchecked_, [&](const std::string& code) {
    const coupons::Coupon* c = wallet_.Find(code);
    return c == nullptr || tenant_.orders().HasOrder(c->order_id);
  });
  if (last_day != LocalDate()) as_of_ = tenant_.zone().StartOfDay(last_day);
  if (wallet_.size() == 0) return;
  for (MemberId m = 1; m <= tenant_.members().size(); ++m) {
    if (tenant_.members().Standing(m) == m) Recount(m);
  }
}

void CouponsModule::BeginDay(LocalDate, Timestamp start) {
  // Expiry follows from the times: nothing to store. Whose coupons.unused
  // it lowers is counted again in the pass over the members.
  as_of_ = start;
  ended_.clear();
  next_ended_ = 0;
  wallet_.ExpireDue(start, [&](const coupons::Coupon& c) { ended_.push_back(tenant_.members().Standing(c.member)); });
  std::sort(ended_.begin(), ended_.end());
  ended_.erase(std::unique(ended_.begin(), ended_.end()), ended_.end());
  birthday_rules_.clear();
  for (size_t i = 0; i < rules_.size(); ++i) {
    if (rules_[i].active && rules_[i].trigger == coupons::Trigger::kBirthday) birthday_rules_.push_back(i);
  }
}

void CouponsModule::DayFor(MemberId m, LocalDate day, Timestamp) {
  IssueForBirthday(m, day);
  // Members come in ascending order.
  while (next_ended_ < ended_.size() && ended_[next_ended_] < m) ++next_ended_;
  if (next_ended_ < ended_.size() && ended_[next_ended_] == m) Recount(m);
}

}  // namespace pond
