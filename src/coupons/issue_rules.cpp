#include "coupons/issue_rules.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>

#include "core/json_reader.hpp"

namespace pond::coupons {
namespace {

using json_fields::Reader;

constexpr std::array<std::pair<Trigger, std::string_view>, 5> kTriggers = {{
    {Trigger::kPostPayment, "post_payment"},
    {Trigger::kFirstPurchase, "first_purchase"},
    {Trigger::kTierUpgrade, "tier_upgrade"},
    {Trigger::kBirthday, "birthday"},
    {Trigger::kMemberDay, "member_day"},
}};

bool ForOrders(Trigger t) { return t == Trigger::kPostPayment || t == Trigger::kFirstPurchase; }
constexpr std::array<std::string_view, 10> kFields = {"id",           "name",     "trigger",  "template_id", "active",
                                                      "min_paid_fen", "payments", "channels", "tiers",       "weekday"};
constexpr int32_t kWednesday = 3;  // DOMAIN.md §2: member day is every Wednesday

Result<IssueRule> FromObject(const boost::json::object& o, bool with_id) {
  Status errors = InvalidArgument("the issue rule is not valid");
  Reader r(o, errors);
  r.RefuseUnknown(kFields, "an issue rule");
  IssueRule rule;
  if (with_id) rule.id = r.Int("id");
  if (!with_id && o.contains("id")) r.Bad("id", "is given by Pond");
  rule.name = r.Text("name");
  if (rule.name.empty()) r.Bad("name", "is required");
  if (rule.name.size() > 200) r.Bad("name", "is longer than 200 bytes");
  const std::string trigger = r.Text("trigger");
  const auto known = std::find_if(kTriggers.begin(), kTriggers.end(), [&](const auto& t) { return t.second == trigger; });
  if (known == kTriggers.end()) {
    r.Bad("trigger", "must be post_payment, first_purchase, tier_upgrade, birthday or member_day");
  } else {
    rule.trigger = known->first;
  }
  rule.template_id = r.Int("template_id");
  if (rule.template_id <= 0) r.Bad("template_id", "is required: the template of the coupons it gives");
  rule.active = !o.contains("active") || r.Bool("active");
  rule.min_paid = r.Fen("min_paid_fen");
  rule.payments = r.List("payments");
  rule.channels = r.List("channels");
  rule.tiers = r.List("tiers");
  if (known != kTriggers.end() && !ForOrders(rule.trigger)) {
    for (std::string_view field : {"min_paid_fen", "payments", "channels"}) {
      if (o.contains(field)) r.Bad(field, "applies only to post_payment and first_purchase");
    }
  }
  if (known != kTriggers.end() && ForOrders(rule.trigger) && o.contains("tiers")) {
    r.Bad("tiers", "applies only to tier_upgrade, birthday and member_day");
  }
  const bool member_day = known != kTriggers.end() && rule.trigger == Trigger::kMemberDay;
  rule.weekday = r.Int32("weekday", member_day ? kWednesday : 0);
  if (member_day && (rule.weekday < 1 || rule.weekday > 7)) r.Bad("weekday", "must be 1 (Monday) to 7 (Sunday)");
  if (!member_day && o.contains("weekday")) r.Bad("weekday", "applies only to member_day");
  if (!errors.field_errors().empty()) return errors;
  return rule;
}

void List(JsonWriter& w, std::string_view key, const std::vector<std::string>& values) {
  w.Key(key).BeginArray();
  for (const std::string& v : values) w.String(v);
  w.EndArray();
}

}  // namespace

std::string_view TriggerName(Trigger trigger) {
  for (const auto& [t, name] : kTriggers) {
    if (t == trigger) return name;
  }
  return "post_payment";
}

Result<IssueRule> ParseRule(std::string_view json, bool with_id) {
  return json_fields::ParseBody(json, [&](const boost::json::object& o) { return FromObject(o, with_id); });
}

void WriteRule(JsonWriter& w, const IssueRule& r) {
  w.BeginObject().Field("id", r.id).Field("name", r.name).Field("trigger", TriggerName(r.trigger));
  w.Field("template_id", r.template_id).Field("active", r.active);
  if (!ForOrders(r.trigger)) {
    List(w, "tiers", r.tiers);
    if (r.trigger == Trigger::kMemberDay) w.Field("weekday", r.weekday);
  } else {
    w.Field("min_paid_fen", r.min_paid.fen());
    List(w, "payments", r.payments);
    List(w, "channels", r.channels);
  }
  w.EndObject();
}

std::string RulesJson(const std::vector<IssueRule>& rules) {
  JsonWriter w;
  w.BeginObject().Key("rules").BeginArray();
  for (const IssueRule& r : rules) WriteRule(w, r);
  w.EndArray().EndObject();
  return w.Take();
}

Result<std::vector<IssueRule>> ParseRules(std::string_view json) {
  return json_fields::ParseDocument<IssueRule>(json, "rules",
                                            [](const boost::json::object& o) { return FromObject(o, true); });
}

bool OrderQualifies(const IssueRule& r, Money paid, std::string_view payment, std::string_view channel) {
  auto admits = [](const std::vector<std::string>& list, std::string_view v) {
    return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
  };
  return paid >= r.min_paid && admits(r.payments, payment) && admits(r.channels, channel);
}

}  // namespace pond::coupons
