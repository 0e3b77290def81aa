#include "segments/expr.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace pond::segments {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

NodePtr Parse(std::string_view text) {
  auto r = ParseExpr(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  if (!r.ok()) return nullptr;
  return std::move(r).value();
}

std::string Canonical(std::string_view text) {
  NodePtr node = Parse(text);
  return node ? ToText(*node) : "<error>";
}

std::string Detail(const Status& s, std::string_view key) {
  for (const auto& [k, v] : s.context()) {
    if (k == key) return v;
  }
  return {};
}

template <typename T>
const T& As(const Node& node) {
  EXPECT_TRUE(std::holds_alternative<T>(node.kind)) << ToText(node);
  static const T kEmpty{};
  return std::holds_alternative<T>(node.kind) ? std::get<T>(node.kind) : kEmpty;
}

// --- constructs --------------------------------------------------------------

TEST(ParseExpr, TextComparison) {
  NodePtr n = Parse(R"(city = "深圳")");
  ASSERT_TRUE(n);
  const auto& c = As<Compare>(*n);
  EXPECT_EQ(c.field.field, Field::kCity);
  EXPECT_EQ(c.op, CompareOp::kEq);
  EXPECT_TRUE(c.value.is_text);
  EXPECT_EQ(c.value.text, "深圳");
  EXPECT_EQ(c.value.position, 8u);
  EXPECT_EQ(n->position, 1u);
  EXPECT_EQ(ToText(*n), R"(city = "深圳")");
}

// A module's field is "module.field": a number, whose existence the
// tenant's index decides (segment_index_test.cpp).
TEST(ParseExpr, AModulesField) {
  NodePtr n = Parse("points > 1 and Coupons.Unused>=2");
  ASSERT_TRUE(n);
  const auto& c = As<Compare>(*As<And>(*n).children[1]);
  EXPECT_EQ(c.field.field, Field::kModule);
  EXPECT_EQ(c.field.name, "coupons.unused");
  EXPECT_EQ(As<And>(*n).children[1]->position, 16u);
  EXPECT_EQ(ToText(*n), "points > 1 and coupons.unused >= 2");
  auto text = ParseExpr(R"(coupons.unused = "two")");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(Detail(text.status(), "position"), "18");
  // A dot not followed by a letter is no part of a name.
  EXPECT_FALSE(ParseExpr("coupons. unused = 2").ok());
  EXPECT_FALSE(ParseExpr("coupons.1 = 2").ok());
}

TEST(ParseExpr, EveryOperatorOnANumberField) {
  const std::vector<std::pair<std::string, CompareOp>> ops = {{"=", CompareOp::kEq}, {"!=", CompareOp::kNe},
                                                              {"<", CompareOp::kLt}, {"<=", CompareOp::kLe},
                                                              {">", CompareOp::kGt}, {">=", CompareOp::kGe}};
  for (const auto& [text, op] : ops) {
    NodePtr n = Parse("points " + text + " 100");
    ASSERT_TRUE(n);
    const auto& c = As<Compare>(*n);
    EXPECT_EQ(c.op, op) << text;
    EXPECT_EQ(c.field.field, Field::kPoints);
    EXPECT_FALSE(c.value.is_text);
    EXPECT_EQ(c.value.hundredths, 10000);
    EXPECT_EQ(ToText(*n), "points " + text + " 100");
  }
  EXPECT_EQ(Canonical("points>=100"), "points >= 100");
  EXPECT_EQ(Canonical("points!=-5"), "points != -5");
}

TEST(ParseExpr, EveryField) {
  const std::vector<std::pair<std::string, Field>> text_fields = {{"tier", Field::kTier},
                                                                  {"lifecycle", Field::kLifecycle},
                                                                  {"gender", Field::kGender},
                                                                  {"city", Field::kCity},
                                                                  {"home_store", Field::kHomeStore},
                                                                  {"source", Field::kSource},
                                                                  {"owner_staff", Field::kOwnerStaff},
                                                                  {"rfm", Field::kRfm}};
  for (const auto& [name, field] : text_fields) {
    const std::string value = field == Field::kLifecycle ? "lost"
                              : field == Field::kGender  ? "female"
                              : field == Field::kRfm     ? "none"
                                                         : "x";
    NodePtr n = Parse(name + " = \"" + value + "\"");
    ASSERT_TRUE(n) << name;
    EXPECT_EQ(As<Compare>(*n).field.field, field);
    EXPECT_TRUE(IsTextField(field));
    EXPECT_EQ(FieldName(field), name);
  }
  const std::vector<std::pair<std::string, Field>> number_fields = {{"points", Field::kPoints},
                                                                    {"growth", Field::kGrowth},
                                                                    {"last_order_days", Field::kLastOrderDays},
                                                                    {"registered_days", Field::kRegisteredDays},
                                                                    {"birthday_month", Field::kBirthdayMonth},
                                                                    {"age", Field::kAge}};
  for (const auto& [name, field] : number_fields) {
    NodePtr n = Parse(name + " >= 3");
    ASSERT_TRUE(n) << name;
    EXPECT_EQ(As<Compare>(*n).field.field, field);
    EXPECT_EQ(As<Compare>(*n).field.days, 0);
    EXPECT_FALSE(IsTextField(field));
    EXPECT_EQ(FieldName(field), name);
  }
  EXPECT_FALSE(IsTextField(Field::kOrders));
  EXPECT_FALSE(IsTextField(Field::kSpend));
  EXPECT_FALSE(IsTextField(Field::kWeekendOrders));
  EXPECT_FALSE(IsTextField(Field::kMaxUnits));
  EXPECT_EQ(FieldName(Field::kOrders), "orders_Nd");
  EXPECT_EQ(FieldName(Field::kSpend), "spend_Nd");
  EXPECT_EQ(FieldName(Field::kWeekendOrders), "weekend_orders_Nd");
  EXPECT_EQ(FieldName(Field::kMaxUnits), "max_units_Nd");
}

TEST(ParseExpr, TextFieldsComeFirst) {
  // segment_index keeps a text field's column at the slot of its enum value.
  EXPECT_EQ(static_cast<int>(Field::kRfm), 7);
  for (int i = 0; i <= static_cast<int>(Field::kAge); ++i) {
    EXPECT_EQ(IsTextField(static_cast<Field>(i)), i <= static_cast<int>(Field::kRfm))
        << FieldName(static_cast<Field>(i));
  }
}

TEST(ParseExpr, RfmTakesItsFixedClasses) {
  for (std::string_view cls : {"none", "important_value", "important_develop", "important_keep", "important_retain",
                               "general_value", "general_develop", "general_keep", "general_retain"}) {
    NodePtr n = Parse("rfm = \"" + std::string(cls) + "\"");
    ASSERT_TRUE(n) << cls;
    const auto& c = As<Compare>(*n);
    EXPECT_EQ(c.field.field, Field::kRfm);
    EXPECT_EQ(c.field.days, 0);
    EXPECT_TRUE(c.value.is_text);
    EXPECT_EQ(c.value.text, cls);
    EXPECT_EQ(c.value.position, 7u);
  }
  NodePtr n = Parse(R"(rfm not in ("none", "general_retain"))");
  ASSERT_TRUE(n);
  EXPECT_EQ(As<In>(*n).field.field, Field::kRfm);
  EXPECT_TRUE(As<In>(*n).negated);
  EXPECT_EQ(As<In>(*n).values[1].position, 21u);
  EXPECT_EQ(ToText(*n), R"(rfm not in ("none", "general_retain"))");
  EXPECT_EQ(Canonical(R"(RFM!="important_keep")"), R"(rfm != "important_keep")");
  EXPECT_EQ(Canonical(R"(Rfm IN ("important_value","important_develop"))"),
            R"(rfm in ("important_value", "important_develop"))");
}

TEST(ParseExpr, WeekendOrdersAndMaxUnitsCarryTheirDays) {
  NodePtr n = Parse("weekend_orders_90d >= 2");
  ASSERT_TRUE(n);
  EXPECT_EQ(As<Compare>(*n).field.field, Field::kWeekendOrders);
  EXPECT_EQ(As<Compare>(*n).field.days, 90);
  EXPECT_EQ(As<Compare>(*n).value.hundredths, 200);
  EXPECT_EQ(ToText(*n), "weekend_orders_90d >= 2");
  n = Parse("max_units_30d > 5");
  ASSERT_TRUE(n);
  EXPECT_EQ(As<Compare>(*n).field.field, Field::kMaxUnits);
  EXPECT_EQ(As<Compare>(*n).field.days, 30);
  EXPECT_EQ(ToText(*n), "max_units_30d > 5");
  n = Parse("max_units_365d between 10 and 20");
  ASSERT_TRUE(n);
  EXPECT_EQ(As<Between>(*n).field.field, Field::kMaxUnits);
  EXPECT_EQ(As<Between>(*n).field.days, 365);
  EXPECT_EQ(As<Between>(*n).low.position, 24u);
  n = Parse("weekend_orders_7d not in (0, 1)");
  ASSERT_TRUE(n);
  EXPECT_EQ(As<In>(*n).field.field, Field::kWeekendOrders);
  EXPECT_EQ(As<In>(*n).field.days, 7);
  EXPECT_EQ(Canonical("weekend_orders_1d = 1"), "weekend_orders_1d = 1");
  EXPECT_EQ(Canonical("max_units_3650d = 1"), "max_units_3650d = 1");
  EXPECT_EQ(Canonical("Weekend_Orders_007D>=1 AND MAX_UNITS_30D<=0"), "weekend_orders_7d >= 1 and max_units_30d <= 0");
}

TEST(ParseExpr, WindowPrefixesDoNotOverlap) {
  // "weekend_orders_" ends in "orders_": each name still reads as its own field.
  NodePtr n = Parse("orders_30d > 1 and weekend_orders_30d > 1 and spend_30d > 1 and max_units_30d > 1");
  ASSERT_TRUE(n);
  const auto& a = As<And>(*n);
  ASSERT_EQ(a.children.size(), 4u);
  EXPECT_EQ(As<Compare>(*a.children[0]).field.field, Field::kOrders);
  EXPECT_EQ(As<Compare>(*a.children[1]).field.field, Field::kWeekendOrders);
  EXPECT_EQ(a.children[1]->position, 20u);
  EXPECT_EQ(As<Compare>(*a.children[2]).field.field, Field::kSpend);
  EXPECT_EQ(As<Compare>(*a.children[3]).field.field, Field::kMaxUnits);
  auto r = ParseExpr("weekend_orders_0d > 1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Detail(r.status(), "expected"), "weekend_orders_<N>d with N from 1 to 3650");
  r = ParseExpr("weekend_orders > 1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "at position 1: weekend_orders needs a window in days: weekend_orders_<N>d");
}

TEST(ParseExpr, BoughtTakesAnOptionalMinimumOfOrders) {
  NodePtr n = Parse(R"(bought("food", 90))");
  ASSERT_TRUE(n);
  EXPECT_EQ(As<Bought>(*n).min_orders, 1);
  n = Parse(R"(bought("food", 90, 3))");
  ASSERT_TRUE(n);
  EXPECT_EQ(As<Bought>(*n).category, "food");
  EXPECT_EQ(As<Bought>(*n).days, 90);
  EXPECT_EQ(As<Bought>(*n).min_orders, 3);
  EXPECT_EQ(n->position, 1u);
  EXPECT_EQ(ToText(*n), R"(bought("food", 90, 3))");
  EXPECT_EQ(Canonical(R"(bought("food", 90, 1000))"), R"(bought("food", 90, 1000))");
  // The default is not written, so texts saved before the third argument stay canonical.
  EXPECT_EQ(Canonical(R"(bought("food", 90, 1))"), R"(bought("food", 90))");
  EXPECT_EQ(Canonical(R"(BOUGHT ( "零食" ,30,002 ))"), R"(bought("零食", 30, 2))");
  EXPECT_EQ(Canonical(R"(bought("a", 7, 2.00))"), R"(bought("a", 7, 2))");
  n = Parse(R"(tier = "gold" and not bought("snacks", 30, 2))");
  ASSERT_TRUE(n);
  const Node& negated = *As<Not>(*As<And>(*n).children[1]).child;
  EXPECT_EQ(As<Bought>(negated).min_orders, 2);
  EXPECT_EQ(negated.position, 23u);
}

TEST(ParseExpr, WindowFieldsCarryTheirDays) {
  NodePtr n = Parse("orders_365d >= 4");
  ASSERT_TRUE(n);
  EXPECT_EQ(As<Compare>(*n).field.field, Field::kOrders);
  EXPECT_EQ(As<Compare>(*n).field.days, 365);
  n = Parse("spend_90d > 99.5");
  ASSERT_TRUE(n);
  EXPECT_EQ(As<Compare>(*n).field.field, Field::kSpend);
  EXPECT_EQ(As<Compare>(*n).field.days, 90);
  EXPECT_EQ(As<Compare>(*n).value.hundredths, 9950);
  EXPECT_EQ(ToText(*n), "spend_90d > 99.50");
  EXPECT_EQ(Canonical("orders_1d = 1"), "orders_1d = 1");
  EXPECT_EQ(Canonical("orders_3650d = 1"), "orders_3650d = 1");
  EXPECT_EQ(Canonical("orders_007d = 1"), "orders_7d = 1");
}

TEST(ParseExpr, NumbersAreHundredths) {
  auto value = [](std::string_view text) {
    NodePtr n = Parse("spend_30d = " + std::string(text));
    return n ? As<Compare>(*n).value.hundredths : -999;
  };
  EXPECT_EQ(value("0"), 0);
  EXPECT_EQ(value("-0"), 0);
  EXPECT_EQ(value("12"), 1200);
  EXPECT_EQ(value("12.3"), 1230);
  EXPECT_EQ(value("12.34"), 1234);
  EXPECT_EQ(value("-0.05"), -5);
  EXPECT_EQ(value("007.10"), 710);
  EXPECT_EQ(value("999999999999999.99"), 99999999999999999);
  EXPECT_EQ(value("-999999999999999.99"), -99999999999999999);
  EXPECT_EQ(Canonical("spend_30d = -0.5"), "spend_30d = -0.50");
  EXPECT_EQ(Canonical("spend_30d = 12.00"), "spend_30d = 12");
  EXPECT_EQ(Canonical("points > -1"), "points > -1");
  // A whole number written with zero decimals is still whole.
  EXPECT_EQ(Canonical("points > 1.00"), "points > 1");
}

TEST(ParseExpr, InAndNotIn) {
  NodePtr n = Parse(R"(city in ("上海", "杭州"))");
  ASSERT_TRUE(n);
  const auto& in = As<In>(*n);
  EXPECT_EQ(in.field.field, Field::kCity);
  EXPECT_FALSE(in.negated);
  ASSERT_EQ(in.values.size(), 2u);
  EXPECT_EQ(in.values[0].text, "上海");
  EXPECT_EQ(in.values[0].position, 10u);
  EXPECT_EQ(in.values[1].text, "杭州");
  EXPECT_EQ(in.values[1].position, 16u);

  n = Parse("birthday_month not in (1,2 ,3)");
  ASSERT_TRUE(n);
  EXPECT_TRUE(As<In>(*n).negated);
  EXPECT_EQ(As<In>(*n).values.size(), 3u);
  EXPECT_EQ(ToText(*n), "birthday_month not in (1, 2, 3)");
  EXPECT_EQ(Canonical(R"(tier in ("gold"))"), R"(tier in ("gold"))");
}

TEST(ParseExpr, BetweenAndNotBetween) {
  NodePtr n = Parse("age between 18 and 30");
  ASSERT_TRUE(n);
  const auto& b = As<Between>(*n);
  EXPECT_EQ(b.field.field, Field::kAge);
  EXPECT_FALSE(b.negated);
  EXPECT_EQ(b.low.hundredths, 1800);
  EXPECT_EQ(b.high.hundredths, 3000);
  EXPECT_EQ(b.low.position, 13u);
  EXPECT_EQ(b.high.position, 20u);

  n = Parse("spend_90d not between 0 and 99.9");
  ASSERT_TRUE(n);
  EXPECT_TRUE(As<Between>(*n).negated);
  EXPECT_EQ(ToText(*n), "spend_90d not between 0 and 99.90");
  // The `and` of between is not a conjunction.
  n = Parse(R"(points between 1 and 10 and tier = "gold")");
  ASSERT_TRUE(n);
  ASSERT_EQ(As<And>(*n).children.size(), 2u);
  As<Between>(*As<And>(*n).children[0]);
  // Equal ends are a one-value range.
  EXPECT_EQ(Canonical("points between 5 and 5"), "points between 5 and 5");
}

TEST(ParseExpr, TagAndBought) {
  NodePtr n = Parse(R"(tag("零食吃货"))");
  ASSERT_TRUE(n);
  EXPECT_EQ(As<Tag>(*n).name, "零食吃货");
  EXPECT_EQ(n->position, 1u);
  n = Parse(R"(bought("food", 90))");
  ASSERT_TRUE(n);
  EXPECT_EQ(As<Bought>(*n).category, "food");
  EXPECT_EQ(As<Bought>(*n).days, 90);
  EXPECT_EQ(Canonical(R"(BOUGHT ( "零食" ,3650 ))"), R"(bought("零食", 3650))");
  EXPECT_EQ(Canonical(R"(tag("a \"b\" \\ c"))"), R"(tag("a \"b\" \\ c"))");
  NodePtr escaped = Parse(R"(tag("a \"b\" \\ c"))");
  ASSERT_TRUE(escaped);
  EXPECT_EQ(As<Tag>(*escaped).name, R"(a "b" \ c)");
}

TEST(ParseExpr, EmptyStringIsAValueForFields) {
  // `city != ""` is every member with a city (a comparison never matches
  // members without a value).
  NodePtr n = Parse(R"(city != "")");
  ASSERT_TRUE(n);
  EXPECT_EQ(As<Compare>(*n).value.text, "");
  EXPECT_EQ(ToText(*n), R"(city != "")");
}

// --- precedence and structure ----------------------------------------------------

TEST(ParseExpr, AndBindsTighterThanOr) {
  NodePtr n = Parse(R"(tier = "gold" or tier = "silver" and points > 100)");
  ASSERT_TRUE(n);
  const auto& o = As<Or>(*n);
  ASSERT_EQ(o.children.size(), 2u);
  As<Compare>(*o.children[0]);
  const auto& a = As<And>(*o.children[1]);
  ASSERT_EQ(a.children.size(), 2u);
  EXPECT_EQ(a.children[0]->position, 18u);
  EXPECT_EQ(o.children[1]->position, 18u);

  n = Parse(R"((tier = "gold" or tier = "silver") and points > 100)");
  ASSERT_TRUE(n);
  const auto& a2 = As<And>(*n);
  ASSERT_EQ(a2.children.size(), 2u);
  As<Or>(*a2.children[0]);
  EXPECT_EQ(ToText(*n), R"((tier = "gold" or tier = "silver") and points > 100)");
}

TEST(ParseExpr, ChainsFlattenButParenthesesNest) {
  NodePtr n = Parse("age > 1 and age > 2 and age > 3");
  ASSERT_TRUE(n);
  EXPECT_EQ(As<And>(*n).children.size(), 3u);
  n = Parse("age > 1 or age > 2 or age > 3 or age > 4");
  ASSERT_TRUE(n);
  EXPECT_EQ(As<Or>(*n).children.size(), 4u);
  n = Parse("age > 1 or (age > 2 or age > 3)");
  ASSERT_TRUE(n);
  ASSERT_EQ(As<Or>(*n).children.size(), 2u);
  EXPECT_EQ(As<Or>(*As<Or>(*n).children[1]).children.size(), 2u);
  EXPECT_EQ(ToText(*n), "age > 1 or (age > 2 or age > 3)");
  // Redundant parentheses vanish.
  EXPECT_EQ(Canonical("((age > 1)) and (age > 2)"), "age > 1 and age > 2");
}

TEST(ParseExpr, NotBindsTighterThanAndAndNests) {
  NodePtr n = Parse(R"(not tier = "gold" and points > 1)");
  ASSERT_TRUE(n);
  const auto& a = As<And>(*n);
  ASSERT_EQ(a.children.size(), 2u);
  As<Compare>(*As<Not>(*a.children[0]).child);

  n = Parse(R"(not not tag("a"))");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->position, 1u);
  const auto& inner = As<Not>(*As<Not>(*n).child);
  EXPECT_EQ(As<Not>(*n).child->position, 5u);
  As<Tag>(*inner.child);
  EXPECT_EQ(inner.child->position, 9u);
  EXPECT_EQ(ToText(*n), R"(not not tag("a"))");

  EXPECT_EQ(Canonical(R"(not (tag("a") or tag("b")))"), R"(not (tag("a") or tag("b")))");
  // `not x in` negates the condition, `x not in` is the negated list: both
  // survive as written.
  EXPECT_EQ(Canonical(R"(not city in ("a"))"), R"(not city in ("a"))");
  EXPECT_EQ(Canonical(R"(city not in ("a"))"), R"(city not in ("a"))");
}

TEST(ParseExpr, NodePositionsPointAtTheirText) {
  NodePtr n = Parse(R"((age > 1 or age > 2) and not tag("x"))");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->position, 1u);  // the And starts at its first operand's '('
  const auto& a = As<And>(*n);
  EXPECT_EQ(a.children[0]->position, 2u);  // the Or inside the parentheses
  EXPECT_EQ(As<Or>(*a.children[0]).children[1]->position, 13u);
  EXPECT_EQ(a.children[1]->position, 26u);
  EXPECT_EQ(As<Compare>(*As<Or>(*a.children[0]).children[1]).value.position, 19u);
}

TEST(ParseExpr, KeywordsAndFieldsAreCaseInsensitive) {
  EXPECT_EQ(Canonical(R"(TIER = "Gold" AnD Orders_90D >= 3 OR NOT City IN ("A") or Age NOT BETWEEN 1 AND 2)"),
            R"(tier = "Gold" and orders_90d >= 3 or not city in ("A") or age not between 1 and 2)");
  EXPECT_EQ(Canonical(R"(Tag("X") and BOUGHT("Food", 7))"), R"(tag("X") and bought("Food", 7))");
}

TEST(ParseExpr, WhitespaceIsFree) {
  EXPECT_EQ(Canonical("\t(points>1)and\n(age<=2)\r\n"), "points > 1 and age <= 2");
  EXPECT_EQ(Canonical(R"(city="a"or city="b")"), R"(city = "a" or city = "b")");
}

TEST(ParseExpr, ChinesePositionsCountCharacters) {
  // tag( is 1-4, the name's quotes 5 and 10, ')' 11, and 13, city 17.
  NodePtr n = Parse(R"(tag("零食吃货") and city = "深圳")");
  ASSERT_TRUE(n);
  const auto& a = As<And>(*n);
  EXPECT_EQ(a.children[0]->position, 1u);
  EXPECT_EQ(a.children[1]->position, 17u);
  EXPECT_EQ(As<Compare>(*a.children[1]).value.position, 24u);

  auto r = ParseExpr(R"(tag("零食吃货") and ciyt = "x")");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Detail(r.status(), "position"), "17");
  r = ParseExpr(R"(city = "深圳" adn age > 1)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Detail(r.status(), "position"), "13");
}

TEST(ParseExpr, RetailExamplesFromTheDocs) {
  EXPECT_EQ(Canonical("orders_365d >= 4 and last_order_days <= 120"), "orders_365d >= 4 and last_order_days <= 120");
  EXPECT_EQ(Canonical(R"(tier = "gold" and bought("snacks", 90) and not bought("snacks", 30))"),
            R"(tier = "gold" and bought("snacks", 90) and not bought("snacks", 30))");
  EXPECT_EQ(Canonical(R"(birthday_month = 5 and home_store = "S001")"),
            R"(birthday_month = 5 and home_store = "S001")");
  EXPECT_EQ(Canonical(R"(lifecycle in ("decline", "lost") and spend_365d >= 500)"),
            R"(lifecycle in ("decline", "lost") and spend_365d >= 500)");
  EXPECT_EQ(Canonical(R"(bought("coffee", 30, 3) and rfm in ("important_value", "important_keep"))"),
            R"(bought("coffee", 30, 3) and rfm in ("important_value", "important_keep"))");
  EXPECT_EQ(Canonical("weekend_orders_90d >= 3 and max_units_365d >= 10"),
            "weekend_orders_90d >= 3 and max_units_365d >= 10");
  EXPECT_EQ(Canonical(R"(rfm = "important_retain" and last_order_days > 60)"),
            R"(rfm = "important_retain" and last_order_days > 60)");
}

// --- errors ----------------------------------------------------------------------

struct BadCase {
  std::string text;
  size_t position;
  std::string reason;  // words the message must contain
  std::string key;     // a detail that must contain `words` ("" for none)
  std::string words;
};

TEST(ParseExpr, BadExpressionsSayWhereAndWhy) {
  const std::vector<BadCase> cases = {
      // Fields.
      {R"(teir = "gold")", 1, "unknown field 'teir'", "hint", "did you mean tier?"},
      {R"(teir = "gold")", 1, "did you mean tier", "expected", "birthday_month"},
      {R"(tag("x") and gendr = "male")", 14, "unknown field 'gendr'", "hint", "gender"},
      {"order_90d > 1", 1, "unknown field", "hint", "orders_90d"},
      {R"(store = "S001")", 1, "unknown field 'store'", "hint", "home_store"},
      {"foo > 1", 1, "unknown field 'foo'", "expected", "tier, lifecycle, gender"},
      {"orders >= 4", 1, "orders needs a window", "hint", "orders_90d"},
      {"orders_0d > 1", 1, "1 to 3650 days", "expected", "orders_<N>d"},
      {"spend_99999d > 1", 1, "1 to 3650 days", "expected", "spend_<N>d"},
      {"orders_3651d > 1", 1, "1 to 3650 days", "", ""},
      {"weekend_orders_0d > 1", 1, "the window of weekend_orders_0d must be 1 to 3650 days", "hint",
       "for example: weekend_orders_365d for the last year"},
      {"max_units_3651d > 1", 1, "the window of max_units_3651d must be 1 to 3650 days", "expected",
       "max_units_<N>d with N from 1 to 3650"},
      {"max_units >= 2", 1, "max_units needs a window in days: max_units_<N>d", "hint",
       "for example: max_units_90d for the last 90 days"},
      {"weekend_order_30d > 1", 1, "unknown field 'weekend_order_30d'; did you mean weekend_orders_30d?", "hint",
       "did you mean weekend_orders_30d?"},
      {"max_unit_7d > 1", 1, "did you mean max_units_7d?", "expected", "weekend_orders_<N>d, max_units_<N>d"},
      {"weekend > 1", 1, "did you mean weekend_orders_90d?", "", ""},
      {"units > 1", 1, "did you mean max_units_90d?", "", ""},
      {R"(rmf = "none")", 1, "unknown field 'rmf'; did you mean rfm?", "expected", "owner_staff, rfm, points"},
      // Operators and values by field type.
      {R"(city > "x")", 6, "compares only with", "expected", "=, !=, in or not in"},
      {R"(city > "x")", 6, "=, !=, in and not in", "", ""},
      {R"(city between "a" and "b")", 6, "text field", "expected", "=, !=, in or not in"},
      {"city = 12", 8, "text field", "hint", R"(city = "12")"},
      {R"(points >= "100")", 11, "number field", "expected", "a number"},
      {R"(age in (18, "30"))", 13, "number field", "", ""},
      {"points > 1.5", 10, "whole number", "expected", "a whole number"},
      {"orders_30d >= 2.5", 15, "whole number", "", ""},
      {"max_units_30d >= 2.5", 18, "max_units_30d takes whole numbers, not 2.5", "hint", "only spend_<N>d"},
      {"weekend_orders_30d = 0.5", 22, "weekend_orders_30d takes whole numbers, not 0.5", "", ""},
      {R"(weekend_orders_30d = "2")", 22, "weekend_orders_30d is a number field", "hint",
       "for example: weekend_orders_30d >= 4"},
      {R"(rfm > "none")", 5, "rfm is a text field and compares only with =, !=, in and not in, not with >", "expected",
       "=, !=, in or not in"},
      {R"(rfm between "a" and "b")", 5, "rfm is a text field", "", ""},
      {"rfm = 1", 7, "rfm is a text field: put the value in double quotes", "hint", R"(rfm = "1")"},
      {"rfm = important_value", 7, "unexpected 'important_value'", "hint", R"(rfm = "important_value")"},
      {R"(rfm = "vip")", 7, R"(unknown RFM class "vip")", "expected",
       "one of none, important_value, important_develop, important_keep, important_retain, general_value, "
       "general_develop, general_keep, general_retain"},
      {R"(rfm = "重要价值客户")", 7, R"(unknown RFM class "重要价值客户"; did you mean "important_value"?)", "hint",
       "rfm is one of none, important_value"},
      {R"(rfm in ("none", "General_Retain"))", 17, R"(did you mean "general_retain"?)", "", ""},
      {R"(rfm = "important_vlaue")", 7, R"(did you mean "important_value"?)", "", ""},
      {"birthday_month = 13", 18, "1 to 12", "", ""},
      {"birthday_month in (0, 1)", 20, "1 to 12", "", ""},
      {R"(lifecycle = "流失")", 13, "unknown lifecycle stage", "", ""},
      {R"(lifecycle = "流失")", 13, R"(did you mean "lost")", "expected", "won_back"},
      {R"(gender = "fmale")", 10, "unknown gender", "expected", "male, female, unknown"},
      {"points between 10 and 1", 16, "low end", "hint", "points between 1 and 10"},
      {R"(city not = "x")", 10, "unexpected '='", "hint", "!="},
      {R"(tier = gold)", 8, "unexpected 'gold'", "hint", R"(tier = "gold")"},
      {R"(city == "x")", 7, "unexpected '='", "hint", "single ="},
      {"points <> 1", 9, "unexpected '>'", "hint", "!="},
      {"points 100", 8, "unexpected number 100 after the field points", "expected", ">="},
      {R"(city "x")", 6, "after the field city", "expected", "=, !=, in or not in"},
      {R"(tier in "gold")", 9, "unexpected", "hint", "parentheses"},
      {"city in ()", 10, "unexpected ')'", "expected", "double quotes"},
      {R"(city in ("a",))", 14, "unexpected ')'", "", ""},
      {"age between 1, 2", 14, "unexpected ','", "expected", "and"},
      // Numbers.
      {"spend_30d > 99.999", 13, "more than two digits after the point", "expected", "at most two decimals"},
      {"points > 12345678901234567", 10, "too large", "expected", "15 digits"},
      {"points > - 1", 10, "followed directly by a digit", "", ""},
      {"points >= 1e3", 11, "malformed number '1e3'", "hint", "exponent"},
      {"orders_90d > 3d", 14, "malformed number", "hint", "orders_90d"},
      {"points > 5.", 10, "a digit must follow the point", "", ""},
      {"points > .5", 10, "malformed number", "hint", "0.5"},
      // Functions.
      {R"(tag(""))", 5, "tag name is empty", "", ""},
      {R"(tag("a" and tier = "x")", 9, "unexpected 'and'", "expected", "')'"},
      {R"(tag 零食)", 5, "unexpected character '零'", "expected", "'(' after tag"},
      {R"(tag(零食))", 5, "unexpected character '零'", "expected", "the tag name in double quotes"},
      {R"(bought("", 90))", 8, "category is empty", "", ""},
      {R"(bought("food", 0))", 16, "1 to 3650 days", "", ""},
      {R"(bought("food", 3651))", 16, "1 to 3650 days", "", ""},
      {R"(bought("food", 1.5))", 16, "1 to 3650 days", "", ""},
      {R"(bought("food"))", 14, "unexpected ')'", "hint", "needs a window in days"},
      {R"(bought("food", "90"))", 16, "unexpected string", "expected", "a number of days"},
      {R"(bought("food", 90, 0))", 20,
       "the minimum number of orders in bought must be a whole number from 1 to 1000, not 0", "expected",
       "a whole number of orders from 1 to 1000"},
      {R"(bought("food", 90, 1001))", 20, "from 1 to 1000, not 1001", "hint", R"(bought("food", 90, 2))"},
      {R"(bought("food", 90, 1.5))", 20, "a whole number from 1 to 1000, not 1.5", "", ""},
      {R"(bought("food", 90, -2))", 20, "from 1 to 1000, not -2", "", ""},
      {R"(bought("food", 90, "2"))", 20, R"(unexpected string "2")", "expected",
       "a whole number of orders from 1 to 1000"},
      {R"(bought("food", 90, ))", 20, "unexpected ')'", "expected", "a whole number of orders from 1 to 1000"},
      {R"(bought("food", 90,)", 19, "unexpected end of the expression", "expected", "a whole number of orders"},
      {R"(bought("food", 90, 1e3))", 20, "malformed number '1e3'", "hint", "exponent"},
      {R"(bought("food", 90, 2, 3))", 21, "unexpected ','", "hint",
       "bought takes a category, a window in days and a minimum number of orders"},
      {R"(bought("food", 90 2))", 19, "unexpected number 2", "expected",
       "',' and the minimum number of orders, or ')'"},
      {R"(bought("food", 90, 2)", 21, "the '(' at position 7 is not closed", "expected", "')'"},
      {R"(bought("food", 90, 2 and tier = "x"))", 22, "unexpected 'and'", "expected", "')'"},
      // Structure.
      {"", 1, "empty", "expected", "a condition"},
      {"  \n ", 1, "empty", "", ""},
      {R"(tier = "gold" tier = "silver")", 15, "unexpected 'tier'", "expected", "and, or or the end of the expression"},
      {R"(tier = "gold" adn city = "x")", 15, "unexpected 'adn'", "hint", "did you mean and?"},
      {R"(tier = "gold" and)", 18, "unexpected end of the expression", "expected", "a condition"},
      {"not", 4, "unexpected end of the expression", "", ""},
      {R"((tier = "gold" or city = "杭州")", 30, "'(' at position 1 is not closed", "hint", "position 1"},
      {R"(city in ("a", "b")", 18, "'(' at position 9 is not closed", "expected", "',' or ')'"},
      {R"(tag("a")", 8, "not closed", "hint", "position 4"},
      {R"(tier = "gold"))", 14, "without a matching '('", "", ""},
      {"()", 2, "unexpected ')'", "expected", "a condition"},
      {"and age > 1", 1, "unexpected 'and'", "", ""},
      {R"("gold" = tier)", 1, "unexpected string \"gold\"", "hint", "starts with the field"},
      {R"((tier = "a" city = "b"))", 13, "unexpected 'city'", "expected", "and, or or ')'"},
      // Characters.
      {R"(city = "杭州)", 8, "unterminated string", "expected", "a closing \""},
      {R"(city = "a\n")", 10, "unknown escape '\\n'", "hint", R"(only \" and \\)"},
      {"city = \"a\tb\"", 10, "control character U+0009", "", ""},
      {"city = \"\xff\"", 9, "invalid UTF-8", "byte", "9"},
      {"city = \"深\xff\"", 10, "invalid UTF-8", "byte", "12"},
      {"tag(\"\xe9\xa3\")", 6, "invalid UTF-8", "", ""},
      {"city = \"\xed\xa0\x80\"", 9, "invalid UTF-8", "", ""},  // a surrogate
      {"city = \"\xc0\xaf\"", 9, "invalid UTF-8", "", ""},      // an overlong '/'
      {"\xff", 1, "invalid UTF-8", "expected", "UTF-8"},
      {R"(city = “深圳”)", 8, "unexpected character '“'", "hint", "ASCII double quote"},
      {R"(city = 深圳)", 8, "unexpected character '深'", "hint", "double quotes"},
      {R"(tier = "gold" && age > 1)", 15, "unexpected character '&'", "hint", "and, or"},
      {R"(tier = "gold" && age > 1)", 15, "unexpected character '&'", "expected", "and, or or the end"},
      {R"(tier = "gold" # note)", 15, "unexpected character '#'", "", ""},
      {"\xef\xbb\xbftier = \"a\"", 1, "invisible character U+FEFF", "", ""},
      {R"(! tier = "a")", 1, "unexpected character '!'", "hint", "not"},
      {R"(city = "a"　and age > 1)", 11, "U+3000", "", ""},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.text);
    auto r = ParseExpr(c.text);
    ASSERT_FALSE(r.ok());
    const Status& s = r.status();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(Detail(s, "position"), std::to_string(c.position));
    EXPECT_THAT(s.message(), StartsWith("at position " + std::to_string(c.position) + ": "));
    EXPECT_THAT(s.message(), HasSubstr(c.reason));
    EXPECT_FALSE(Detail(s, "expected").empty());
    if (!c.key.empty()) {
      EXPECT_THAT(Detail(s, c.key), HasSubstr(c.words)) << c.key;
    }
  }
}

// The whole of what a user reads for the errors of rfm, the new window
// fields and bought's third argument (docs/segments.md "Errors").
TEST(ParseExpr, NewErrorsReadInFull) {
  struct Case {
    std::string text, message, expected, hint;
  };
  const std::vector<Case> cases = {
      {R"(rfm = "vip")", R"(at position 7: unknown RFM class "vip")",
       "one of none, important_value, important_develop, important_keep, important_retain, general_value, "
       "general_develop, general_keep, general_retain",
       "rfm is one of none, important_value, important_develop, important_keep, important_retain, general_value, "
       "general_develop, general_keep, general_retain"},
      // The empty label of none is no suggestion for an empty value.
      {R"(rfm = "")", R"(at position 7: unknown RFM class "")",
       "one of none, important_value, important_develop, important_keep, important_retain, general_value, "
       "general_develop, general_keep, general_retain",
       "rfm is one of none, important_value, important_develop, important_keep, important_retain, general_value, "
       "general_develop, general_keep, general_retain"},
      {"weekend_orders >= 1", "at position 1: weekend_orders needs a window in days: weekend_orders_<N>d",
       "weekend_orders_<N>d with N from 1 to 3650", "for example: weekend_orders_90d for the last 90 days"},
      {"max_units_0d > 1", "at position 1: the window of max_units_0d must be 1 to 3650 days",
       "max_units_<N>d with N from 1 to 3650", "for example: max_units_365d for the last year"},
      {"weekend_order_30d > 1", "at position 1: unknown field 'weekend_order_30d'; did you mean weekend_orders_30d?",
       "a field: tier, lifecycle, gender, city, home_store, source, owner_staff, rfm, points, growth, orders_<N>d, "
       "spend_<N>d, weekend_orders_<N>d, max_units_<N>d, last_order_days, registered_days, birthday_month, age",
       "did you mean weekend_orders_30d?"},
      // The new fields do not steal the suggestions of the old ones.
      {"order_90d > 1", "at position 1: unknown field 'order_90d'; did you mean orders_90d?",
       "a field: tier, lifecycle, gender, city, home_store, source, owner_staff, rfm, points, growth, orders_<N>d, "
       "spend_<N>d, weekend_orders_<N>d, max_units_<N>d, last_order_days, registered_days, birthday_month, age",
       "did you mean orders_90d?"},
      {"max_units_30d >= 2.5", "at position 18: max_units_30d takes whole numbers, not 2.5", "a whole number",
       "only spend_<N>d takes decimals (yuan with fen)"},
      {R"(bought("food", 90, 0))",
       "at position 20: the minimum number of orders in bought must be a whole number from 1 to 1000, not 0",
       "a whole number of orders from 1 to 1000",
       R"(for example: bought("food", 90, 2) for two or more orders with food in the last 90 days)"},
      {R"(bought("food", 90, "2"))", R"(at position 20: unexpected string "2")",
       "a whole number of orders from 1 to 1000",
       R"(for example: bought("food", 90, 2) for two or more orders with food in the last 90 days)"},
      {R"(bought("food", 90, 2, 3))", "at position 21: unexpected ','", "')'",
       R"(bought takes a category, a window in days and a minimum number of orders: bought("food", 90, 2))"},
      {R"(bought("food", 90 2))", "at position 19: unexpected number 2", "',' and the minimum number of orders, or ')'",
       ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    auto r = ParseExpr(c.text);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(), c.message);
    EXPECT_EQ(Detail(r.status(), "expected"), c.expected);
    EXPECT_EQ(Detail(r.status(), "hint"), c.hint);
  }
}

TEST(ParseExpr, TheFirstProblemInReadingOrderIsReported) {
  auto r = ParseExpr("teir = \"gold\" and city = \"\xff");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Detail(r.status(), "position"), "1");
  r = ParseExpr(R"(city = 1 and city = "unterminated)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Detail(r.status(), "position"), "8");
}

TEST(ParseExpr, NestingIsLimited) {
  auto nested = [](int depth) {
    return std::string(static_cast<size_t>(depth), '(') + "age > 1" + std::string(static_cast<size_t>(depth), ')');
  };
  EXPECT_TRUE(ParseExpr(nested(kMaxDepth)).ok());
  auto r = ParseExpr(nested(kMaxDepth + 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Detail(r.status(), "position"), std::to_string(kMaxDepth + 1));
  EXPECT_THAT(r.status().message(), HasSubstr("deeper than 64"));

  std::string nots;
  for (int i = 0; i < kMaxDepth; ++i) nots += "not ";
  EXPECT_TRUE(ParseExpr(nots + "age > 1").ok());
  r = ParseExpr(nots + "not age > 1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Detail(r.status(), "position"), std::to_string(4 * kMaxDepth + 1));

  // Parentheses and not count together.
  std::string mixed;
  for (int i = 0; i < kMaxDepth / 2; ++i) mixed += "not (";
  EXPECT_TRUE(ParseExpr(mixed + "age > 1" + std::string(kMaxDepth / 2, ')')).ok());
  EXPECT_FALSE(ParseExpr("not " + mixed + "age > 1" + std::string(kMaxDepth / 2, ')') + ")").ok());
}

TEST(ParseExpr, LengthIsLimited) {
  const std::string head = R"(city = ")";
  std::string fits = head + std::string(kMaxExprBytes - head.size() - 1, 'a') + "\"";
  ASSERT_EQ(fits.size(), kMaxExprBytes);
  EXPECT_TRUE(ParseExpr(fits).ok());
  auto r = ParseExpr(head + std::string(kMaxExprBytes - head.size(), 'a') + "\"");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Detail(r.status(), "position"), std::to_string(kMaxExprBytes + 1));
  EXPECT_THAT(r.status().message(), HasSubstr("16384"));
  // Positions count characters: 深 is three bytes. After the 8 bytes of
  // `head`, the first byte past the limit (the 16385th) falls inside the
  // 5459th 深.
  std::string chinese;
  for (size_t i = 0; i < kMaxExprBytes / 3; ++i) chinese += "深";
  r = ParseExpr(head + chinese + "\"");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Detail(r.status(), "position"), std::to_string(8 + 5459));
}

TEST(ParseExpr, ConditionsAreLimited) {
  // "points > 0 or points > 1 or ...": each condition is 10 or more characters.
  auto chain = [](size_t n, std::vector<size_t>* starts) {
    std::string text;
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) text += " or ";
      starts->push_back(text.size() + 1);
      text += "points > " + std::to_string(i);
    }
    return text;
  };
  std::vector<size_t> starts;
  EXPECT_TRUE(ParseExpr(chain(kMaxConditions, &starts)).ok());
  starts.clear();
  auto r = ParseExpr(chain(kMaxConditions + 1, &starts));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Detail(r.status(), "position"), std::to_string(starts[kMaxConditions])) << "points at the first one too many";
  EXPECT_NE(r.status().message().find("101 conditions"), std::string::npos) << r.status().message();
  EXPECT_NE(Detail(r.status(), "hint").find("in (...)"), std::string::npos);
}

TEST(ParseExpr, CanonicalTextMustFitTheLimitToo) {
  // 99.5 is written 99.50: the canonical text grows by a byte per value.
  std::string text = "spend_30d in (";
  while (text.size() < kMaxExprBytes - 10) text += "99.5,";
  text += "1)";
  ASSERT_LE(text.size(), kMaxExprBytes);
  auto r = ParseExpr(text);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Detail(r.status(), "position"), "1");
  EXPECT_THAT(r.status().message(), HasSubstr("canonically"));
}

// --- ToText round trip -----------------------------------------------------------

// Random trees of the shapes the parser builds, with values it accepts.
class TreeGenerator {
 public:
  explicit TreeGenerator(uint32_t seed) : rng_(seed) {}

  NodePtr Tree(int depth) {
    const int pick = Int(0, depth > 0 ? 9 : 4);
    auto node = std::make_unique<Node>();
    switch (pick) {
      case 0:
        node->kind = MakeCompare();
        break;
      case 1:
        node->kind = MakeIn();
        break;
      case 2:
        node->kind = MakeBetween();
        break;
      case 3:
        node->kind = Tag{Text()};
        break;
      case 4:
        node->kind = Bought{Text(), Int(1, 3650), Int(0, 1) ? 1 : Int(1, 1000)};
        break;
      case 5:
      case 6: {
        And a;
        for (int i = Int(2, 4); i > 0; --i) a.children.push_back(Tree(depth - 1));
        node->kind = std::move(a);
        break;
      }
      case 7:
      case 8: {
        Or o;
        for (int i = Int(2, 4); i > 0; --i) o.children.push_back(Tree(depth - 1));
        node->kind = std::move(o);
        break;
      }
      default:
        node->kind = Not{Tree(depth - 1)};
        break;
    }
    if (pick == 3 || pick == 4) {
      // Tags and categories are never empty.
      if (auto* t = std::get_if<Tag>(&node->kind); t && t->name.empty()) t->name = "x";
      if (auto* b = std::get_if<Bought>(&node->kind); b && b->category.empty()) b->category = "food";
    }
    return node;
  }

 private:
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  std::string Text() {
    static const std::vector<std::string> kTexts = {
        "", "gold", "深圳", "零食吃货", "a \"quoted\" b", "back\\slash", "S001", "and", "or ( ) ,", "🍜 noodles", "Ü"};
    return kTexts[static_cast<size_t>(Int(0, static_cast<int>(kTexts.size()) - 1))];
  }

  FieldRef RandomField() {
    FieldRef f{static_cast<Field>(Int(0, static_cast<int>(Field::kAge))), 0};
    if (f.field == Field::kOrders || f.field == Field::kSpend || f.field == Field::kWeekendOrders ||
        f.field == Field::kMaxUnits) {
      f.days = Int(1, 3650);
    }
    return f;
  }

  Value RandomValue(const FieldRef& f) {
    Value v;
    if (IsTextField(f.field)) {
      v.is_text = true;
      static const std::vector<std::string> kStages = {"intro", "growth", "mature", "decline", "lost", "won_back"};
      static const std::vector<std::string> kGenders = {"male", "female", "unknown"};
      static const std::vector<std::string> kRfmClasses = {
          "none",          "important_value", "important_develop", "important_keep", "important_retain",
          "general_value", "general_develop", "general_keep",      "general_retain"};
      if (f.field == Field::kLifecycle) {
        v.text = kStages[static_cast<size_t>(Int(0, 5))];
      } else if (f.field == Field::kGender) {
        v.text = kGenders[static_cast<size_t>(Int(0, 2))];
      } else if (f.field == Field::kRfm) {
        v.text = kRfmClasses[static_cast<size_t>(Int(0, 8))];
      } else {
        v.text = Text();
      }
    } else if (f.field == Field::kBirthdayMonth) {
      v.hundredths = Int(1, 12) * 100;
    } else if (f.field == Field::kSpend) {
      v.hundredths = Int(-1000000, 1000000);
    } else {
      v.hundredths = int64_t{Int(-1000, 100000)} * 100;
    }
    return v;
  }

  Compare MakeCompare() {
    Compare c;
    c.field = RandomField();
    c.op =
        IsTextField(c.field.field) ? (Int(0, 1) ? CompareOp::kEq : CompareOp::kNe) : static_cast<CompareOp>(Int(0, 5));
    c.value = RandomValue(c.field);
    return c;
  }

  In MakeIn() {
    In in;
    in.field = RandomField();
    in.negated = Int(0, 1);
    for (int i = Int(1, 4); i > 0; --i) in.values.push_back(RandomValue(in.field));
    return in;
  }

  Between MakeBetween() {
    Between b;
    do b.field = RandomField();
    while (IsTextField(b.field.field));
    b.negated = Int(0, 1);
    b.low = RandomValue(b.field);
    b.high = RandomValue(b.field);
    if (b.low.hundredths > b.high.hundredths) std::swap(b.low, b.high);
    return b;
  }

  std::mt19937 rng_;
};

// Byte offset of a 1-based code point position.
size_t ByteOf(std::string_view text, size_t position) {
  size_t seen = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && ++seen == position) return i;
  }
  return text.size();
}

// Every condition's position points at its field, every value's at its
// literal, every call at its name.
void CheckPositions(std::string_view text, const Node& node) {
  const std::string_view at = text.substr(ByteOf(text, node.position));
  auto check_value = [&](const Value& v) {
    const std::string_view literal = text.substr(ByteOf(text, v.position));
    ASSERT_FALSE(literal.empty());
    EXPECT_EQ(literal[0] == '"', v.is_text) << text << " @" << v.position;
  };
  std::visit(
      [&](const auto& k) {
        using K = std::decay_t<decltype(k)>;
        if constexpr (std::is_same_v<K, Compare> || std::is_same_v<K, In> || std::is_same_v<K, Between>) {
          std::string name(FieldName(k.field.field));
          if (name.ends_with("Nd")) name.resize(name.size() - 2);  // orders_, weekend_orders_, ...
          EXPECT_THAT(at, StartsWith(name)) << text << " @" << node.position;
          if constexpr (std::is_same_v<K, Compare>) check_value(k.value);
          if constexpr (std::is_same_v<K, In>) {
            for (const Value& v : k.values) check_value(v);
          }
          if constexpr (std::is_same_v<K, Between>) {
            check_value(k.low);
            check_value(k.high);
          }
        } else if constexpr (std::is_same_v<K, Tag>) {
          EXPECT_THAT(at, StartsWith("tag(")) << text;
        } else if constexpr (std::is_same_v<K, Bought>) {
          EXPECT_THAT(at, StartsWith("bought(")) << text;
        } else if constexpr (std::is_same_v<K, Not>) {
          EXPECT_THAT(at, StartsWith("not ")) << text;
          CheckPositions(text, *k.child);
        } else {  // And, Or: where the first operand starts, or its '('
          EXPECT_TRUE(node.position == k.children[0]->position || at.starts_with("(")) << text;
          for (const NodePtr& child : k.children) CheckPositions(text, *child);
        }
      },
      node.kind);
}

TEST(ToText, RandomTreesRoundTrip) {
  TreeGenerator generator(20260304);
  for (int round = 0; round < 500; ++round) {
    NodePtr tree = generator.Tree(round % 5);
    const std::string text = ToText(*tree);
    auto parsed = ParseExpr(text);
    ASSERT_TRUE(parsed.ok()) << "round " << round << ": " << text << "\n" << parsed.status().ToString();
    EXPECT_EQ(ToText(**parsed), text) << "round " << round;
    CheckPositions(text, **parsed);
  }
}

TEST(ToText, ParsingCanonicalTextIsIdempotent) {
  for (std::string_view text : {
           R"(  (City="a"OR city = "b")AND points>=-15)",
           R"(((spend_7D>0.1)) or (((tag("x")))))",
           R"(not not(age<1 or age>2)and lifecycle="lost")",
       }) {
    const std::string canonical = Canonical(text);
    EXPECT_EQ(Canonical(canonical), canonical) << text;
  }
  EXPECT_EQ(Canonical(R"(  (City="a"OR city = "b")AND points>=-15)"),
            R"((city = "a" or city = "b") and points >= -15)");
  const std::string text = R"(not(tag("x")and bought("y",1)) or age between 1 and 2)";
  EXPECT_EQ(Canonical(text), R"(not (tag("x") and bought("y", 1)) or age between 1 and 2)");
  EXPECT_EQ(Canonical(Canonical(text)), Canonical(text));
}

TEST(ToText, ParenthesizesOnlyWhereNeeded) {
  // Hand-built: an Or inside an And inside an Or.
  auto leaf = [](int n) {
    auto node = std::make_unique<Node>();
    node->kind = Compare{FieldRef{Field::kAge, 0}, CompareOp::kGt, Value{false, {}, n * 100, 0}};
    return node;
  };
  Or inner;
  inner.children.push_back(leaf(1));
  inner.children.push_back(leaf(2));
  And mid;
  mid.children.push_back(std::make_unique<Node>(Node{std::move(inner), 0}));
  mid.children.push_back(leaf(3));
  Or outer;
  outer.children.push_back(std::make_unique<Node>(Node{std::move(mid), 0}));
  outer.children.push_back(std::make_unique<Node>(Node{Not{leaf(4)}, 0}));
  const Node root{std::move(outer), 0};
  EXPECT_EQ(ToText(root), "(age > 1 or age > 2) and age > 3 or not age > 4");
  EXPECT_EQ(Canonical(ToText(root)), ToText(root));
}

}  // namespace
}  // namespace pond::segments
