// Issue rules: coupons a tenant gives on an occasion, as data (DOMAIN.md
// §2 and §7: "paid ≥ 35 yuan with WeChat Pay → a 12 %-off coupon valid 7
// days", a welcome coupon on the first purchase, one on reaching a tier).
// The engine checks each rule where its occasion happens and issues through
// the wallet, once per member and occasion (the occasion is part of the
// coupon: "rule:3:order:POS-1", "rule:4:first", "rule:5:tier:gold").
//
//   {"name":"支付后返券","trigger":"post_payment","template_id":1,
//    "min_paid_fen":3500,"payments":["wechat_pay"],"channels":["store"],"active":true}
//
// Triggers: post_payment (every order that qualifies), first_purchase (a
// member's first order), tier_upgrade (reaching one of `tiers`, or any
// higher tier when empty), birthday (as the member's birthday begins, for
// members of `tiers` or all; 29 February is kept on 28 February in other
// years), member_day (claimed by the member on `weekday`, 1 Monday to 7
// Sunday, default Wednesday, for members of `tiers` or all; once a day:
// DOMAIN.md §2 "every Wednesday, 满68减10 (gold) / 减8 (silver) / 减6").
// Orders that arrive more than a day after they were paid — imports of
// history — issue nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_writer.hpp"
#include "core/money.hpp"
#include "core/status.hpp"

namespace pond::coupons {

enum class Trigger { kPostPayment, kFirstPurchase, kTierUpgrade, kBirthday, kMemberDay };
std::string_view TriggerName(Trigger trigger);

struct IssueRule {
  int64_t id = 0;
  std::string name;
  Trigger trigger = Trigger::kPostPayment;
  int64_t template_id = 0;
  bool active = true;
  Money min_paid;                      // post_payment, first_purchase: the order paid at least this
  std::vector<std::string> payments;   // ... with one of these payment methods (empty: any)
  std::vector<std::string> channels;   // ... in one of these channels (empty: any)
  std::vector<std::string> tiers;      // tier_upgrade: the tiers that count (empty: any higher tier);
                                       // birthday, member_day: the tiers whose members get it (empty: all)
  int32_t weekday = 0;                 // member_day: 1 (Monday) to 7 (Sunday)
};

// Parses and checks a rule; every bad field is named once. "id" only in the
// stored form (`with_id`).
Result<IssueRule> ParseRule(std::string_view json, bool with_id = false);
void WriteRule(JsonWriter& w, const IssueRule& r);
// The stored setting: {"rules":[...]}.
std::string RulesJson(const std::vector<IssueRule>& rules);
Result<std::vector<IssueRule>> ParseRules(std::string_view json);

// Whether an order of `paid` by `payment` in `channel` meets the rule's
// order conditions.
bool OrderQualifies(const IssueRule& r, Money paid, std::string_view payment, std::string_view channel);

}  // namespace pond::coupons
