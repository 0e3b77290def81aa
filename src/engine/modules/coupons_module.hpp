// The coupons module: templates, issue rules and the wallet
// (coupons/wallet.hpp), every wallet change recorded as a CouponEventRow
// and replayed on load. It reacts to orders (redeems the coupons an order
// lists, checks the terms of those redeemed for it, issues what the
// post-payment and first-purchase rules give), to refunds (gives coupons
// back where the template says so) and to tier upgrades; its day expires
// coupons and issues birthday coupons. It adds the segment field
// `coupons.unused`.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "coupons/coupon_template.hpp"
#include "coupons/issue_rules.hpp"
#include "coupons/quote.hpp"
#include "coupons/wallet.hpp"
#include "engine/module.hpp"
#include "engine/tenant_state.hpp"

namespace pond {

class CouponsModule final : public Module {
 public:
  explicit CouponsModule(TenantState& tenant);
  std::string_view name() const override { return "coupons"; }

  // Adds a template (checked; its id is given here). Templates do not change
  // once created: the wallet's history is replayed against them.
  Result<const coupons::CouponTemplate*> CreateCouponTemplate(coupons::CouponTemplate t);
  const coupons::CouponTemplate* FindCouponTemplate(int64_t id) const;
  // Retires a template: nothing more is issued from it (refused "retired");
  // coupons issued stay valid. Retiring again changes nothing.
  Result<const coupons::CouponTemplate*> RetireCouponTemplate(int64_t id, Timestamp now);
  const std::vector<coupons::CouponTemplate>& coupon_templates() const { return templates_; }
  // The wallet's operations (wallet.hpp), each recorded as a CouponEventRow
  // when it changed something. NotFound for an unknown template or member.
  Result<coupons::Wallet::Issued> IssueCoupon(int64_t template_id, MemberId member, std::string occasion,
                                              std::string code, Timestamp now);
  // Lock and redeem check the coupon's terms (threshold, scope) on `cart`
  // when the caller gives it (the checkout's items before coupons): a
  // Refusal terms_not_met naming the field. A redemption without a cart is
  // checked against its order when Pond has it (threshold and channel), and
  // otherwise when the order event arrives: a coupon that broke its terms
  // then is a violation in the coupon report, not a silent success.
  Result<const coupons::Coupon*> LockCoupon(std::string_view code, std::string_view order_id, Timestamp until,
                                            Timestamp now, const coupons::Cart* cart = nullptr);
  Result<const coupons::Coupon*> UnlockCoupon(std::string_view code, std::string_view order_id, Timestamp now);
  Result<const coupons::Coupon*> RedeemCoupon(std::string_view code, std::string_view order_id, Timestamp now,
                                              const coupons::Cart* cart = nullptr);
  // Redeemed coupons that broke their terms (code → why), and those redeemed
  // with nothing yet to check them against (no cart, order not seen).
  const std::unordered_map<std::string, std::string>& coupon_violations() const { return violations_; }
  const std::unordered_set<std::string>& unchecked_coupons() const { return unchecked_; }
  Result<const coupons::Coupon*> RevokeCoupon(std::string_view code, Timestamp now);
  // Issues a coupon of the template to every member of a snapshot (each
  // once: the occasion is the snapshot), codes from `next_code`. Members
  // the stock or a limit refuses are counted, not errors; running it again
  // issues only to those still without.
  // Sliced: call again with the same `bulk` while it returns kLater.
  struct BulkIssue {
    int64_t members = 0, issued = 0, already = 0;
    std::map<std::string, int64_t> refused;  // by reason
    bool begun = false;
    size_t at = 0;          // where the snapshot's member list is read up to (IdListReader)
    int64_t previous = 0;   // the member read last
  };
  Result<Slice> IssueToSnapshot(int64_t template_id, int64_t snapshot_id,
                                const std::function<Result<std::string>()>& next_code, Timestamp now,
                                BulkIssue& bulk);
  const coupons::Wallet& wallet() const { return wallet_; }
  // The coupons a standing member holds, with those of the members merged
  // into it, in issue order.
  std::vector<const coupons::Coupon*> CouponsOf(MemberId member) const;
  // A member's member-day coupons (issue rules with trigger member_day for
  // today's weekday in the tenant's zone and the member's tier), each once
  // a day. Refused not_member_day, not_eligible (tier), or the wallet's
  // refusal when none is issued.
  Result<std::vector<coupons::Wallet::Issued>> ClaimMemberDay(MemberId member, Timestamp now);
  // Adds an issue rule (coupons/issue_rules.hpp); its template must exist.
  Result<const coupons::IssueRule*> CreateIssueRule(coupons::IssueRule rule);
  const std::vector<coupons::IssueRule>& issue_rules() const { return rules_; }
  // Turns an issue rule on or off (an inactive rule issues nothing).
  Result<const coupons::IssueRule*> SetIssueRuleActive(int64_t id, bool active);

  // --- Module --------------------------------------------------------
  // An order's coupons: each must be its member's and redeemable when it
  // was paid (errors name coupons[i]).
  Status CheckOrder(const OrderEvent& order) const override;
  void On(const DomainEvent& event) override;
  std::span<const uint16_t> journal_kinds() const override;
  std::span<const std::string_view> settings() const override;
  Status Replay(const JournalRow& row) override;
  Status LoadSetting(std::string_view name, std::string_view value) override;
  void FinishLoad(LocalDate last_day) override;
  void BeginDay(LocalDate day, Timestamp start) override;
  void DayFor(MemberId m, LocalDate day, Timestamp start) override;

 private:
  void OnOrder(MemberId member, const OrderEvent& e, Timestamp now);
  // Redeems what the order lists (CheckOrder said yes), then checks on
  // the order as paid the terms of every coupon it redeemed — listed on
  // it, or redeemed for it before it arrived without a cart.
  void RedeemOrderCoupons(const OrderEvent& e);
  void CheckRedeemedTerms(const OrderEvent& e);
  Status CheckCouponTerms(std::string_view code, const coupons::Cart& cart) const;
  // The terms a redemption without a cart can be checked on: its order, when known.
  Status CheckTermsOnKnownOrder(std::string_view code, std::string_view order_id) const;
  void RestoreOrderCoupons(const std::string& order_id, Timestamp at);
  // The coupons the issue rules give for an order (post_payment,
  // first_purchase) and for a tier reached (tier_upgrade). Occasions older
  // than a day at `now` (imports of history) give nothing.
  void IssueForOrder(MemberId member, const OrderEvent& e, Timestamp now);
  void IssueForTier(const TierChange& change, Timestamp now);
  void IssueForBirthday(MemberId m, LocalDate day);
  void IssueByRule(const coupons::IssueRule& rule, MemberId member, std::string occasion, Timestamp now);
  void RecordCoupon(CouponEventRow row);
  Status ReplayCoupon(const CouponEventRow& row);
  // coupons.unused of the standing member holding `member`'s coupons: its
  // coupons and those merged into it neither redeemed nor revoked whose
  // validity has not ended by the start of the current day (`as_of_`).
  void Recount(MemberId member);
  void PersistTemplates();
  void PersistRules();

  TenantState& tenant_;
  std::vector<coupons::CouponTemplate> templates_;  // id = position + 1
  std::vector<coupons::IssueRule> rules_;            // id = position + 1
  coupons::Wallet wallet_;
  int64_t next_event_ = 1;
  std::unordered_map<std::string, std::string> violations_;  // code → why
  std::unordered_set<std::string> unchecked_;
  // The birthday rules active as the day run began, by position: rules
  // made between its slices may move the vector.
  std::vector<size_t> birthday_rules_;
  std::vector<MemberId> ended_;  // holders of coupons whose validity ended as the day began, ascending
  size_t next_ended_ = 0;        // the day pass's place in ended_
  int unused_field_;   // the segment index's slot of coupons.unused
  Timestamp as_of_;    // the start of the current day
};

inline CouponsModule& Coupons(TenantState& tenant) { return tenant.module<CouponsModule>(); }
inline const CouponsModule& Coupons(const TenantState& tenant) { return tenant.module<CouponsModule>(); }

}  // namespace pond
