#include "segments/segment_index.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace pond::segments {
namespace {

// ---------------------------------------------------------------------------
// The model: members as plain records, expressions evaluated member by member
// straight from the rules written in segment_index.hpp.

// The category tree: chips under snacks under food; drinks under food; skincare under beauty.
const std::vector<std::pair<std::string, std::string>> kParents = {
    {"snacks", "food"}, {"drinks", "food"}, {"skincare", "beauty"}, {"chips", "snacks"}};

// Whether `category` is `ancestor` or lies under it.
bool Under(const std::string& category, const std::string& ancestor) {
  if (category == ancestor) return true;
  for (const auto& [child, parent] : kParents) {
    if (child == category) return Under(parent, ancestor);
  }
  return false;
}

struct ModelPurchase {
  int32_t order = 0;
  int32_t day = 0;
  int64_t net_fen = 0;
  int32_t units = 0;
  std::set<std::string> categories;
};

struct ModelMember {
  MemberId id = 0;
  bool standing = true;
  std::map<Field, std::string> text;  // absent = none
  int64_t points = 0, growth = 0;
  std::optional<LocalDate> registered, birthday;
  std::vector<ModelPurchase> purchases;
};

struct Model {
  std::map<MemberId, ModelMember> members;
  std::map<std::string, std::set<MemberId>> manual_tags;
  std::map<std::string, const Node*> rule_tags;

  std::optional<int64_t> Number(const ModelMember& m, const FieldRef& f, LocalDate today) const {
    const int32_t t = today.days();
    switch (f.field) {
      case Field::kPoints: return m.points * 100;
      case Field::kGrowth: return m.growth * 100;
      case Field::kOrders:
      case Field::kSpend:
      case Field::kWeekendOrders:
      case Field::kMaxUnits: {
        int64_t count = 0, spend = 0, weekend = 0, units = 0;
        for (const ModelPurchase& p : m.purchases) {
          if (p.net_fen > 0 && t - p.day < f.days && p.day <= t) {
            ++count, spend += p.net_fen, units = std::max<int64_t>(units, p.units);
            const int weekday = LocalDate::FromDays(p.day).weekday();
            weekend += weekday == 6 || weekday == 7;
          }
        }
        if (f.field == Field::kOrders) return count * 100;
        if (f.field == Field::kWeekendOrders) return weekend * 100;
        if (f.field == Field::kMaxUnits) return units * 100;
        return spend;
      }
      case Field::kLastOrderDays: {
        std::optional<int32_t> last;
        for (const ModelPurchase& p : m.purchases) {
          if (p.net_fen > 0 && (!last || p.day > *last)) last = p.day;
        }
        if (!last) return std::nullopt;
        return int64_t{t - *last} * 100;
      }
      case Field::kRegisteredDays:
        if (!m.registered) return std::nullopt;
        return int64_t{t - m.registered->days()} * 100;
      case Field::kBirthdayMonth:
        if (!m.birthday) return std::nullopt;
        return int64_t{m.birthday->month()} * 100;
      case Field::kAge: {
        if (!m.birthday) return std::nullopt;
        // Whole years: has this year's birthday come yet?
        int age = today.year() - m.birthday->year();
        if (std::pair(today.month(), today.day()) < std::pair(m.birthday->month(), m.birthday->day())) --age;
        return int64_t{age} * 100;
      }
      default: return std::nullopt;
    }
  }

  bool Matches(const ModelMember& m, const Node& node, LocalDate today) const {
    if (const auto* c = std::get_if<Compare>(&node.kind)) {
      if (IsTextField(c->field.field)) {
        auto it = m.text.find(c->field.field);
        if (it == m.text.end()) return false;
        return c->op == CompareOp::kEq ? it->second == c->value.text : it->second != c->value.text;
      }
      auto v = Number(m, c->field, today);
      if (!v) return false;
      const int64_t x = c->value.hundredths;
      switch (c->op) {
        case CompareOp::kEq: return *v == x;
        case CompareOp::kNe: return *v != x;
        case CompareOp::kLt: return *v < x;
        case CompareOp::kLe: return *v <= x;
        case CompareOp::kGt: return *v > x;
        case CompareOp::kGe: return *v >= x;
      }
    }
    if (const auto* in = std::get_if<In>(&node.kind)) {
      bool has = false, found = false;
      if (IsTextField(in->field.field)) {
        auto it = m.text.find(in->field.field);
        has = it != m.text.end();
        for (const Value& x : in->values) found = found || (has && it->second == x.text);
      } else {
        auto v = Number(m, in->field, today);
        has = v.has_value();
        for (const Value& x : in->values) found = found || (has && *v == x.hundredths);
      }
      return has && found != in->negated;
    }
    if (const auto* b = std::get_if<Between>(&node.kind)) {
      auto v = Number(m, b->field, today);
      if (!v) return false;
      return (*v >= b->low.hundredths && *v <= b->high.hundredths) != b->negated;
    }
    if (const auto* bought = std::get_if<Bought>(&node.kind)) {
      int orders = 0;
      for (const ModelPurchase& p : m.purchases) {
        if (p.net_fen > 0 && p.day <= today.days() && today.days() - p.day < bought->days &&
            std::any_of(p.categories.begin(), p.categories.end(),
                        [&](const std::string& c) { return Under(c, bought->category); })) {
          ++orders;
        }
      }
      return orders >= bought->min_orders;
    }
    if (const auto* tag = std::get_if<Tag>(&node.kind)) {
      if (auto system = SystemTag(tag->name)) {
        auto it = m.text.find(system->first);
        return it != m.text.end() && it->second == system->second;
      }
      if (auto rule = rule_tags.find(tag->name); rule != rule_tags.end()) return Matches(m, *rule->second, today);
      return manual_tags.at(tag->name).count(m.id) > 0;
    }
    if (const auto* a = std::get_if<And>(&node.kind)) {
      return std::all_of(a->children.begin(), a->children.end(),
                         [&](const NodePtr& c) { return Matches(m, *c, today); });
    }
    if (const auto* o = std::get_if<Or>(&node.kind)) {
      return std::any_of(o->children.begin(), o->children.end(),
                         [&](const NodePtr& c) { return Matches(m, *c, today); });
    }
    const auto& n = std::get<Not>(node.kind);
    return !Matches(m, *n.child, today);
  }

  std::vector<MemberId> Match(const Node& node, LocalDate today) const {
    std::vector<MemberId> out;
    for (const auto& [id, m] : members) {
      if (m.standing && Matches(m, node, today)) out.push_back(id);
    }
    return out;
  }
};

// ---------------------------------------------------------------------------
// Random members, events and expressions over small value pools, so that
// conditions match some members and miss others.

const std::vector<std::string> kTiers = {"standard", "silver", "gold"};
const std::vector<std::string> kStages = {"intro", "growth", "mature", "decline", "lost", "won_back"};
const std::vector<std::string> kGenders = {"female", "male", "unknown"};
const std::vector<std::string> kCities = {"深圳", "上海", "广州", ""};
const std::vector<std::string> kStores = {"S001", "S002", "S003", ""};
const std::vector<std::string> kCategories = {"food", "beauty", "toys", "home", "snacks", "drinks", "skincare", "chips"};
const std::vector<std::string> kRfmClasses = {"none", "important_value", "general_keep"};
const std::vector<std::string> kManualTags = {"vip", "新客"};
// Rule tags read manual tags, other rules, windows and system tags.
const std::vector<std::pair<std::string, std::string>> kRuleTags = {
    {"rich", R"(spend_90d >= 150 or tag("vip"))"},
    {"active", R"(orders_30d >= 1 and not tag("rich"))"},
    {"gold_fan", R"(tag("tier:gold") and (tag("active") or weekend_orders_90d >= 1))"},
};
const std::vector<std::string> kTagNames = {"vip", "新客", "rich", "active", "gold_fan", "tier:gold",
                                            "lifecycle:mature", "rfm:important_value", "home_store:S001"};
constexpr int32_t kToday = 20'000;  // a day in 2024

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Int(0, static_cast<int>(v.size()) - 1))];
  }

  std::vector<std::string> Values(Field f) {
    switch (f) {
      case Field::kTier: return kTiers;
      case Field::kLifecycle: return kStages;
      case Field::kGender: return kGenders;
      case Field::kCity: return {"深圳", "上海", "广州", "北京"};
      case Field::kHomeStore: return {"S001", "S002", "S003", "S404"};
      case Field::kRfm: return kRfmClasses;
      default: return {"store_qr", "order", "wecom"};
    }
  }

  Value Number(Field f) {
    Value v;
    switch (f) {
      case Field::kPoints:
      case Field::kGrowth: v.hundredths = Int(0, 30) * 10 * 100; break;
      case Field::kOrders:
      case Field::kWeekendOrders: v.hundredths = Int(0, 5) * 100; break;
      case Field::kMaxUnits: v.hundredths = Int(0, 12) * 100; break;
      case Field::kSpend: v.hundredths = Int(0, 40) * 1000 + (Int(0, 1) ? 50 : 0); break;
      case Field::kLastOrderDays:
      case Field::kRegisteredDays: v.hundredths = Int(0, 400) * 100; break;
      case Field::kBirthdayMonth: v.hundredths = Int(1, 12) * 100; break;
      default: v.hundredths = Int(15, 60) * 100; break;  // age
    }
    return v;
  }

  FieldRef RandomField() {
    FieldRef f{static_cast<Field>(Int(0, static_cast<int>(Field::kAge))), 0};
    if (f.field == Field::kOrders || f.field == Field::kSpend || f.field == Field::kWeekendOrders ||
        f.field == Field::kMaxUnits) {
      f.days = Pick(std::vector<int>{1, 7, 30, 90, 365});
    }
    return f;
  }

  Value Literal(const FieldRef& f) {
    if (!IsTextField(f.field)) return Number(f.field);
    Value v;
    v.is_text = true;
    v.text = Pick(Values(f.field));
    return v;
  }

  NodePtr Leaf() {
    auto node = std::make_unique<Node>();
    const int kind = Int(0, 10);
    if (kind == 0) {
      node->kind = Bought{Pick(kCategories), Pick(std::vector<int>{1, 30, 90, 365}), Int(1, 3)};
      return node;
    }
    if (kind == 10) {
      node->kind = Tag{Pick(kTagNames)};
      return node;
    }
    const FieldRef f = RandomField();
    if (kind <= 2) {
      In in{f, Int(0, 1) == 1, {}};
      for (int i = Int(1, 3); i > 0; --i) in.values.push_back(Literal(f));
      node->kind = std::move(in);
    } else if (kind == 3 && !IsTextField(f.field)) {
      Value lo = Literal(f), hi = Literal(f);
      if (lo.hundredths > hi.hundredths) std::swap(lo, hi);
      node->kind = Between{f, Int(0, 1) == 1, lo, hi};
    } else {
      const CompareOp op = IsTextField(f.field) ? static_cast<CompareOp>(Int(0, 1)) : static_cast<CompareOp>(Int(0, 5));
      node->kind = Compare{f, op, Literal(f)};
    }
    return node;
  }

  NodePtr Expr(int depth) {
    if (depth == 0 || Int(0, 2) == 0) return Leaf();
    auto node = std::make_unique<Node>();
    const int kind = Int(0, 2);
    if (kind == 2) {
      node->kind = Not{Expr(depth - 1)};
      return node;
    }
    std::vector<NodePtr> children;
    for (int i = Int(2, 4); i > 0; --i) children.push_back(Expr(depth - 1));
    if (kind == 0) {
      node->kind = And{std::move(children)};
    } else {
      node->kind = Or{std::move(children)};
    }
    return node;
  }

 private:
  std::mt19937 rng_;
};

// Who changes: members 1..members; a merge is drawn one time in
// `merge_one_in` it comes up (merged members never change again).
struct ChangeMix {
  int members = 300;
  int merge_one_in = 1;
};

// Applies one random change to both the index and the model.
void RandomChange(Generator& g, SegmentIndex& index, Model& model, int32_t& next_order, ChangeMix mix = {}) {
  const auto member = static_cast<MemberId>(g.Int(1, mix.members));
  ModelMember& m = model.members[member];
  m.id = member;
  if (!m.standing) return;  // merged away for good
  index.SetStanding(member, true);
  switch (g.Int(0, 9)) {
    case 0: {
      const auto f = static_cast<Field>(g.Int(0, 7));
      std::string v = f == Field::kTier        ? g.Pick(kTiers)
                      : f == Field::kLifecycle ? g.Pick(kStages)
                      : f == Field::kGender    ? g.Pick(kGenders)
                      : f == Field::kHomeStore ? g.Pick(kStores)
                      : f == Field::kRfm       ? g.Pick(kRfmClasses)
                                               : g.Pick(kCities);
      index.SetText(member, f, v);
      if (v.empty()) {
        m.text.erase(f);
      } else {
        m.text[f] = v;
      }
      break;
    }
    case 1:
      m.points = g.Int(0, 300) * 10;
      index.SetPoints(member, m.points);
      m.growth = g.Int(0, 300) * 10;
      index.SetGrowth(member, m.growth);
      break;
    case 2:
      m.registered = g.Int(0, 5) ? std::optional(LocalDate::FromDays(kToday - g.Int(0, 800))) : std::nullopt;
      index.SetRegistered(member, m.registered);
      m.birthday = g.Int(0, 5) ? std::optional(LocalDate::FromDays(kToday - g.Int(15 * 365, 60 * 365))) : std::nullopt;
      index.SetBirthday(member, m.birthday);
      break;
    case 3: {  // a refund of one of the member's orders
      if (m.purchases.empty()) break;
      ModelPurchase& p = m.purchases[static_cast<size_t>(g.Int(0, static_cast<int>(m.purchases.size()) - 1))];
      p.net_fen = std::max<int64_t>(0, p.net_fen - g.Int(1, 20'000));
      index.SetPurchaseNet(member, p.order, Money::Fen(p.net_fen));
      break;
    }
    case 8: {  // a manual tag on or off
      const std::string& tag = g.Pick(kManualTags);
      const bool on = g.Int(0, 1) == 1;
      const bool held = model.manual_tags[tag].count(member) > 0;
      EXPECT_EQ(index.SetTag(member, tag, on), on != held);
      on ? (void)model.manual_tags[tag].insert(member) : (void)model.manual_tags[tag].erase(member);
      break;
    }
    case 4: {  // a merge into another standing member
      const auto survivor = static_cast<MemberId>(g.Int(1, mix.members));
      if ((mix.merge_one_in > 1 && g.Int(1, mix.merge_one_in) != 1) || survivor == member || !model.members[survivor].standing) break;
      ModelMember& s = model.members[survivor];
      s.id = survivor;
      s.purchases.insert(s.purchases.end(), m.purchases.begin(), m.purchases.end());
      m.purchases.clear();
      m.standing = false;
      index.SetStanding(survivor, true);
      index.Merge(survivor, member);
      break;
    }
    default: {
      ModelPurchase p{next_order++, kToday - g.Int(0, 400), g.Int(0, 30'000), g.Int(1, 12), {}};
      std::vector<std::string_view> cats;
      for (int i = g.Int(0, 3); i > 0; --i) {
        cats.push_back(g.Pick(kCategories));
        p.categories.insert(std::string(cats.back()));
      }
      index.AddPurchase(member, p.order, LocalDate::FromDays(p.day), Money::Fen(p.net_fen), p.units, cats);
      m.purchases.push_back(std::move(p));
    }
  }
}

// Defines the manual and rule tags in both; the model's rules point into
// the returned nodes.
std::vector<NodePtr> DefineTags(SegmentIndex& index, Model& model) {
  for (const std::string& tag : kManualTags) {
    index.DefineTag(tag, nullptr);
    model.manual_tags[tag];
  }
  std::vector<NodePtr> rules;
  for (const auto& [name, text] : kRuleTags) {
    rules.push_back(std::move(ParseExpr(text)).value());
    EXPECT_TRUE(index.CheckRule(name, *rules.back(), QueryContext{LocalDate::FromDays(kToday), kTiers, kParents}).ok());
    index.DefineTag(name, std::move(ParseExpr(text)).value());
    model.rule_tags[name] = rules.back().get();
  }
  return rules;
}

TEST(SegmentIndexTest, RandomExpressionsMatchABruteForceModel) {
  Generator g(20261123);
  SegmentIndex index;
  Model model;
  const std::vector<NodePtr> rules = DefineTags(index, model);
  int32_t next_order = 0;
  int nonempty = 0, checked = 0;
  for (int round = 0; round < 40; ++round) {
    for (int i = 0; i < 150; ++i) RandomChange(g, index, model, next_order);
    // Laid out anew now and then: later changes land on the compacted history.
    if (round % 3 == 1) index.Compact();
    // The kept windows are ready for today most of the time (questions of
    // today read them), and now and then for another day (they walk).
    if (round % 5 == 0) index.StartDay(LocalDate::FromDays(kToday + (round % 10 == 0 ? 0 : g.Int(1, 50))));
    // Time passes too: the same members seen from a later day.
    for (int32_t shift : {0, g.Int(1, 200)}) {
      const QueryContext later{LocalDate::FromDays(kToday + shift), kTiers, kParents};
      for (int q = 0; q < 50; ++q) {
        // A few changes between questions: rule tags then answer from a
        // cache refreshed for just the members they touched.
        for (int i = g.Int(0, 3); i > 0; --i) RandomChange(g, index, model, next_order);
        NodePtr expr = g.Expr(3);
        const std::vector<MemberId> want = model.Match(*expr, later.today);
        auto got = index.Match(*expr, later, 1'000'000);
        ASSERT_TRUE(got.ok()) << got.status().ToString();
        ASSERT_EQ(*got, want) << "round " << round << ": " << ToText(*expr);
        auto count = index.Count(*expr, later);
        ASSERT_TRUE(count.ok());
        ASSERT_EQ(*count, static_cast<int64_t>(want.size()));
        nonempty += !want.empty() && want.size() < model.members.size();
        ++checked;
      }
    }
  }
  // The pools are small on purpose: most questions must split the members.
  EXPECT_GT(nonempty, checked / 3) << "the generated questions rarely discriminate";
}

// The index as a load builds it from `model`'s final state: every member's
// attributes, the purchases in order with their net after refunds, the
// tags, then Compact and StartDay.
void BuildFromFinalState(const Model& model, SegmentIndex& index, LocalDate today) {
  for (const auto& [name, members] : model.manual_tags) {
    index.DefineTag(name, nullptr);
    for (MemberId m : members) index.SetTag(m, name, true);
  }
  for (const auto& [name, text] : kRuleTags) index.DefineTag(name, std::move(ParseExpr(text)).value());
  std::vector<std::pair<const ModelPurchase*, MemberId>> purchases;
  for (const auto& [id, m] : model.members) {
    index.SetStanding(id, m.standing);
    for (const auto& [field, value] : m.text) index.SetText(id, field, value);
    index.SetPoints(id, m.points);
    index.SetGrowth(id, m.growth);
    index.SetRegistered(id, m.registered);
    index.SetBirthday(id, m.birthday);
    for (const ModelPurchase& p : m.purchases) purchases.emplace_back(&p, id);
  }
  std::sort(purchases.begin(), purchases.end(), [](const auto& a, const auto& b) { return a.first->order < b.first->order; });
  for (const auto& [p, member] : purchases) {
    std::vector<std::string_view> cats(p->categories.begin(), p->categories.end());
    index.AddPurchase(member, p->order, LocalDate::FromDays(p->day), Money::Fen(p->net_fen), p->units, cats);
  }
  index.Compact();
  index.StartDay(today);
}

// An index fed event by event as the writer feeds it while serving
// (KeepCurrent before each change, no day run) answers as one built from
// the final state does, and as the model does — on its day and on later
// ones. Enough purchases arrive for the writer's own layouts to run.
TEST(SegmentIndexTest, AnIndexFedLiveAnswersAsOneBuiltFromTheFinalState) {
  Generator g(20261207);
  SegmentIndex live;
  Model model;
  const std::vector<NodePtr> rules = DefineTags(live, model);
  const LocalDate today = LocalDate::FromDays(kToday);
  int32_t next_order = 0;
  int checked = 0, nonempty = 0;
  size_t most_waiting = 0;
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 80'000; ++i) {
      live.KeepCurrent(today);
      RandomChange(g, live, model, next_order, ChangeMix{.members = 3000, .merge_one_in = 20});
    }
    most_waiting = std::max(most_waiting, live.purchases_since_compaction());
    SegmentIndex rebuilt;
    BuildFromFinalState(model, rebuilt, today);
    EXPECT_EQ(live.standing_count(), rebuilt.standing_count());
    for (int32_t shift : {0, g.Int(1, 100)}) {
      const QueryContext context{LocalDate::FromDays(kToday + shift), kTiers, kParents};
      for (int q = 0; q < 50; ++q) {
        NodePtr expr = g.Expr(3);
        const std::vector<MemberId> want = model.Match(*expr, context.today);
        auto got_live = live.Match(*expr, context, 1'000'000);
        auto got_rebuilt = rebuilt.Match(*expr, context, 1'000'000);
        ASSERT_TRUE(got_live.ok() && got_rebuilt.ok()) << ToText(*expr);
        ASSERT_EQ(*got_live, *got_rebuilt) << "round " << round << ", live vs rebuilt: " << ToText(*expr);
        ASSERT_EQ(*got_live, want) << "round " << round << ", live vs model: " << ToText(*expr);
        ASSERT_EQ(*live.Count(*expr, context), *rebuilt.Count(*expr, context)) << ToText(*expr);
        nonempty += !want.empty() && want.size() < model.members.size();
        ++checked;
      }
    }
  }
  EXPECT_GT(nonempty, checked / 3) << "the generated questions rarely discriminate";
  // The writer laid the purchases out as they came (about 100 000 here):
  // no more than a quarter of those laid out ever waited for a layout.
  EXPECT_LT(live.purchases_since_compaction(), static_cast<size_t>(next_order));
  EXPECT_LE(most_waiting, std::max<size_t>(size_t{1} << 16, static_cast<size_t>(next_order) / 4) + 1);
}

// A day built and the purchases laid out a few members at a time (the day
// run's slices), with the writer changing members on both sides of each
// cursor between steps, answer as the model does — during the build
// (questions walk the old layout) and once both are swapped in — and as
// an index built from the final state at once.
TEST(SegmentIndexTest, ADayBuiltInStepsWithChangesBetweenAnswersAsOneBuiltAtOnce) {
  Generator g(20261208);
  SegmentIndex live;
  Model model;
  const std::vector<NodePtr> rules = DefineTags(live, model);
  int32_t next_order = 0;
  const ChangeMix mix{.members = 2000, .merge_one_in = 10};
  for (int i = 0; i < 30'000; ++i) {
    live.KeepCurrent(LocalDate::FromDays(kToday - 3));
    RandomChange(g, live, model, next_order, mix);
  }
  int checked = 0, steps = 0;
  for (int32_t day = kToday - 2; day <= kToday; ++day) {
    const QueryContext context{LocalDate::FromDays(day), kTiers, kParents};
    auto agree = [&](std::string_view when) {
      for (int q = 0; q < 20; ++q) {
        NodePtr expr = g.Expr(3);
        auto got = live.Match(*expr, context, 1'000'000);
        ASSERT_TRUE(got.ok()) << ToText(*expr);
        ASSERT_EQ(*got, model.Match(*expr, context.today)) << when << ", day " << day << ": " << ToText(*expr);
        ++checked;
      }
    };
    live.BeginCompact();
    live.BeginDay(LocalDate::FromDays(day));
    for (bool done = false; !done; ++steps) {
      // Both step every time (&, not &&), at different paces.
      done = live.StepCompact(static_cast<size_t>(g.Int(1, 300))) & live.StepDay(static_cast<size_t>(g.Int(1, 400)));
      for (int i = g.Int(0, 60); i > 0; --i) RandomChange(g, live, model, next_order, mix);
      if (g.Int(0, 3) == 0) agree("during the build");
    }
    agree("once built");
    EXPECT_LT(live.purchases_since_compaction(), static_cast<size_t>(next_order) / 10) << "laid out anew";
    SegmentIndex rebuilt;
    BuildFromFinalState(model, rebuilt, LocalDate::FromDays(day));
    for (int q = 0; q < 20; ++q) {
      NodePtr expr = g.Expr(3);
      ASSERT_EQ(*live.Count(*expr, context), *rebuilt.Count(*expr, context)) << ToText(*expr);
    }
  }
  EXPECT_GT(steps, 15);
  EXPECT_GT(checked, 60);
}

// A sample drawn over ranges of `range` members, as a read in chunks does:
// the ranges counted, ranks drawn, then the members at them range by range.
SegmentIndex::Sample DrawSample(const SegmentIndex& index, const Node& expr, const QueryContext& context, size_t size,
                                uint64_t seed, MemberId range) {
  std::vector<uint64_t> firsts;  // the rank of each range's first match
  SegmentIndex::Sample out;
  for (MemberId from = 0; from <= 40; from += range) {
    firsts.push_back(static_cast<uint64_t>(out.count));
    out.count += index.CountIn(expr, context, from, from + range).value();
  }
  const std::vector<uint64_t> ranks = SegmentIndex::SampleRanks(static_cast<uint64_t>(out.count), size, seed);
  for (size_t r = 0; r < firsts.size(); ++r) {
    const uint64_t end = r + 1 < firsts.size() ? firsts[r + 1] : static_cast<uint64_t>(out.count);
    std::vector<uint64_t> local;
    for (uint64_t rank : ranks) {
      if (rank >= firsts[r] && rank < end) local.push_back(rank - firsts[r]);
    }
    const auto from = static_cast<MemberId>(r) * range;
    const std::vector<MemberId> picked = index.AtRanksIn(expr, context, from, from + range, local).value();
    out.members.insert(out.members.end(), picked.begin(), picked.end());
  }
  return out;
}

TEST(SegmentIndexTest, SamplesAreDistinctMatchingReproducibleAndEvenlySpread) {
  SegmentIndex index;
  for (MemberId m = 1; m <= 30; ++m) {
    index.SetStanding(m, true);
    index.SetText(m, Field::kCity, m % 3 == 0 ? "深圳" : "上海");  // 10 members in 深圳
  }
  const QueryContext context{LocalDate::FromDays(kToday), kTiers};
  const NodePtr parsed = std::move(ParseExpr(R"(city = "深圳")")).value();
  const Node& city = *parsed;
  std::map<MemberId, int> chosen;
  std::set<std::vector<MemberId>> samples;
  constexpr int kDraws = 3000;
  for (uint64_t seed = 0; seed < kDraws; ++seed) {
    const SegmentIndex::Sample s = DrawSample(index, city, context, 3, seed, 64);
    EXPECT_EQ(s.count, 10);
    ASSERT_EQ(s.members.size(), 3u);
    EXPECT_TRUE(std::is_sorted(s.members.begin(), s.members.end()));
    EXPECT_EQ(std::set<MemberId>(s.members.begin(), s.members.end()).size(), 3u) << "distinct";
    for (MemberId m : s.members) {
      EXPECT_EQ(m % 3, 0) << "only matching members";
      ++chosen[m];
    }
    samples.insert(s.members);
    for (MemberId range : {1, 4, 7}) {
      EXPECT_EQ(DrawSample(index, city, context, 3, seed, range).members, s.members)
          << "same seed, same sample, however the ranges fall";
    }
  }
  // Each of the 10 is drawn with probability 3/10: 900 of 3000, sd ~25.
  ASSERT_EQ(chosen.size(), 10u);
  for (const auto& [m, n] : chosen) EXPECT_NEAR(n, 900, 125) << "member " << m;
  // Every one of the 120 sets of 3 turns up (each 25 times on average).
  EXPECT_EQ(samples.size(), 120u);
  EXPECT_EQ(DrawSample(index, city, context, 50, 1, 64).members.size(), 10u) << "asking for more gives all";
  const SegmentIndex::Sample none = DrawSample(index, city, context, 0, 1, 64);
  EXPECT_EQ(none.count, 10);
  EXPECT_TRUE(none.members.empty());
}

TEST(SegmentIndexTest, ValuesTheTenantDoesNotKnowAreErrorsWithTheirPosition) {
  SegmentIndex index;
  index.SetStanding(1, true);
  const QueryContext context{LocalDate::FromDays(kToday), kTiers};
  Node node;
  Value platinum;
  platinum.is_text = true;
  platinum.text = "platinum";
  platinum.position = 8;
  node.kind = Compare{{Field::kTier, 0}, CompareOp::kEq, platinum};
  auto count = index.Count(node, context);
  ASSERT_FALSE(count.ok());
  EXPECT_EQ(count.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(count.status().message().find("unknown tier \"platinum\""), std::string::npos);
  EXPECT_NE(count.status().message().find("position 8"), std::string::npos);
}

// A module's number field: members without a value read its `missing`
// value, or match no comparison when it has none (`not` includes them).
TEST(SegmentIndexTest, AModulesNumberFieldAnswersLikeABuiltInOne) {
  SegmentIndex index;
  for (MemberId m = 1; m <= 5; ++m) index.SetStanding(m, true);
  const int held = index.DefineNumberField("coupons.unused", 0);
  const int visits = index.DefineNumberField("visits.orders", std::nullopt);
  EXPECT_EQ(index.DefineNumberField("coupons.unused", 0), held) << "defined once";
  index.SetNumber(1, held, 2);
  index.SetNumber(2, held, 5);
  index.SetNumber(3, visits, 1);
  index.SetNumber(4, visits, 7);
  index.SetNumber(4, visits, std::nullopt);  // gone again
  index.SetStanding(2, false);               // merged away
  const QueryContext context{LocalDate::FromDays(kToday), kTiers};
  auto count = [&](std::string_view text) { return index.Count(**ParseExpr(text), context).value(); };
  EXPECT_EQ(count("coupons.unused = 0"), 3);  // 3, 4, 5: never given one
  EXPECT_EQ(count("coupons.unused >= 1"), 1);
  EXPECT_EQ(count("coupons.unused between 2 and 9 or visits.orders in (1, 7)"), 2);
  EXPECT_EQ(count("visits.orders >= 0"), 1);
  EXPECT_EQ(count("not visits.orders >= 0"), 3);
  EXPECT_EQ(count("visits.orders != 1"), 0);
  index.SetStanding(2, true);
  EXPECT_EQ(count("coupons.unused > 4"), 1);
}

TEST(SegmentIndexTest, MergedMembersLeaveEverySegmentAndTheirPurchasesCountForTheSurvivor) {
  SegmentIndex index;
  for (MemberId m : {1, 2}) {
    index.SetStanding(m, true);
    index.SetText(m, Field::kCity, "深圳");
  }
  const std::string_view food[] = {"food"};
  index.AddPurchase(2, 0, LocalDate::FromDays(kToday), Money::Fen(5'000), 1, food);
  index.Merge(1, 2);
  const QueryContext context{LocalDate::FromDays(kToday), kTiers};
  const NodePtr parsed = std::move(ParseExpr(R"(city = "深圳")")).value();
  const Node& city = *parsed;
  EXPECT_EQ(*index.Count(city, context), 1);
  Node bought;
  bought.kind = Bought{"food", 1, 1};
  EXPECT_EQ(*index.Match(bought, context, 10), std::vector<MemberId>{1});
}

TEST(SegmentIndexTest, TotalsTooBigForTheKeptWindowsAreCountedByWalking) {
  SegmentIndex index;
  index.StartDay(LocalDate::FromDays(kToday));
  const QueryContext context{LocalDate::FromDays(kToday), kTiers, kParents};
  index.SetStanding(1, true);
  index.SetStanding(2, true);
  const std::string_view none[] = {"food"};
  for (int32_t n = 0; n < 70'000; ++n) index.AddPurchase(1, n, LocalDate::FromDays(kToday), Money::Fen(1), 1, none);
  for (int32_t n = 70'000; n < 70'002; ++n) {
    index.AddPurchase(2, n, LocalDate::FromDays(kToday - 1), Money::Fen(int64_t{1'500'000'000}), 1, none);
  }
  auto count = [&](const char* text) { return *index.Count(*std::move(ParseExpr(text)).value(), context); };
  EXPECT_EQ(count("orders_7d = 70000"), 1);
  EXPECT_EQ(count("spend_30d = 30000000"), 1) << "30 M yuan does not fit the kept total";
  EXPECT_EQ(count("spend_30d >= 20000000"), 1);
  EXPECT_EQ(count("spend_30d < 20000000"), 1);
  EXPECT_EQ(count("spend_30d = 700"), 1);
  index.SetPurchaseNet(2, 70'000, Money::Fen(100));
  index.SetPurchaseNet(2, 70'001, Money::Fen(0));
  EXPECT_EQ(count("spend_30d = 1"), 1);
  index.StartDay(LocalDate::FromDays(kToday));
  EXPECT_EQ(count("spend_30d = 1"), 1);
  EXPECT_EQ(count("last_order_days = 1"), 1);
}

TEST(SegmentIndexTest, TagsAreManualRuleOrSystemAndRulesMayNotLoop) {
  SegmentIndex index;
  const QueryContext context{LocalDate::FromDays(kToday), kTiers, kParents};
  for (MemberId m = 1; m <= 4; ++m) {
    index.SetStanding(m, true);
    index.SetText(m, Field::kTier, m <= 2 ? "gold" : "standard");
  }
  const std::string_view snacks[] = {"chips"};  // under snacks, under food
  index.AddPurchase(3, 0, LocalDate::FromDays(kToday - 1), Money::Fen(900), 10, snacks);
  index.AddPurchase(3, 1, LocalDate::FromDays(kToday - 2), Money::Fen(900), 1, snacks);
  auto define = [&](const std::string& name, const std::string& text) {
    NodePtr rule = std::move(ParseExpr(text)).value();
    Status s = index.CheckRule(name, *rule, context);
    if (s.ok()) index.DefineTag(name, std::move(rule));
    return s;
  };
  EXPECT_TRUE(index.SetTag(1, "vip", true));
  EXPECT_FALSE(index.SetTag(1, "vip", true)) << "already held";
  ASSERT_TRUE(define("snacker", R"(bought("food", 7, 2) or tag("vip"))").ok());
  EXPECT_EQ(*index.TagCount("snacker", context), 2);
  EXPECT_EQ(*index.TagCount("tier:gold", context), 2);
  EXPECT_EQ(*index.TagsOf(1, context), (std::vector<std::string>{"snacker", "vip"}));
  EXPECT_EQ(*index.TagsOf(3, context), std::vector<std::string>{"snacker"});

  // The cached answer follows changes and the calendar.
  index.SetTag(1, "vip", false);
  EXPECT_EQ(*index.TagsOf(1, context), std::vector<std::string>{});
  const QueryContext week_later{LocalDate::FromDays(kToday + 6), kTiers, kParents};
  EXPECT_EQ(*index.TagCount("snacker", week_later), 0) << "the second order left the 7-day window";
  EXPECT_EQ(*index.TagCount("snacker", context), 1);

  Status loop = define("vip_snacker", R"(tag("snacker") and tag("vip_snacker"))");
  ASSERT_FALSE(loop.ok());
  EXPECT_NE(loop.message().find("at position 24: tag \"vip_snacker\" refers back to \"vip_snacker\""),
            std::string::npos) << loop.message();
  Status indirect = define("vip", R"(tag("snacker"))");
  EXPECT_NE(indirect.message().find("tag \"snacker\" refers back to \"vip\""), std::string::npos)
      << indirect.message();
  Status unknown = define("x", R"(points > 1 and tag("nobody"))");
  EXPECT_NE(unknown.message().find("at position 20: unknown tag \"nobody\""), std::string::npos) << unknown.message();
  Status tier = define("x", R"(tag("tier:platinum"))");
  EXPECT_NE(tier.message().find("unknown tier \"platinum\""), std::string::npos) << tier.message();

  const auto system = index.SystemTags();
  EXPECT_NE(std::find(system.begin(), system.end(), std::pair<std::string, int64_t>{"tier:standard", 2}),
            system.end());
  index.RemoveTag("vip");
  EXPECT_FALSE(index.HasTag("vip"));
  EXPECT_FALSE(index.TagCount("snacker", context).ok()) << "its rule reads a tag that is gone";
}

}  // namespace
}  // namespace pond::segments
